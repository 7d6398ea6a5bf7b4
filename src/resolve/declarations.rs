//! The declarations of SPEC §2b: feature flags, applications, registries, profiles, Login-As
//! lists, registry grants and Enterprise Permissions.
//!
//! What stays inside one space (flags, tables, `login_as`, a grant's registry) is resolved with
//! the space; what names other spaces (grant targets, Enterprise Permissions) by
//! [`Resolver::finish`], once every space, its enterprise and its server are known. Every lookup
//! is a hash lookup: lists are checked in time linear in their length.

use std::collections::HashMap;

use super::{Resolver, listed_twice, repeated, unknown_name};
use crate::ast::{self, Ident};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::*;
use crate::model::{DEFAULT_LOGIN_AS, FeatureFlag, FeatureFlags};
use crate::source::Span;

/// The first occurrence of each key among `items`; a later one is reported as listed twice.
fn first_of_each<'a, T>(
    r: &mut Resolver,
    what: &str,
    items: &'a [T],
    key: impl Fn(&T) -> (String, Span),
) -> Vec<&'a T> {
    let mut seen: HashMap<String, Span> = HashMap::with_capacity(items.len());
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (k, span) = key(item);
        if let Some(first) = seen.get(&k) {
            r.push(listed_twice(what, &k, span, *first));
        } else {
            seen.insert(k, span);
            out.push(item);
        }
    }
    out
}

fn ident_key(i: &Ident) -> (String, Span) {
    (i.name.clone(), i.span)
}

/// Why a declared space cannot be named in a cross-space declaration (E0109).
fn out_of_reach(id: &Ident, message: String, label: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::OutOfReach, message)
        .with_label(id.span, label)
        .with_help(help.to_owned())
}

fn server_of(s: &Space) -> Option<&str> {
    s.server.as_ref().map(|(v, _)| v.as_str())
}

fn describe_server(s: &Space) -> String {
    match server_of(s) {
        Some(v) => format!("on server `{v}`"),
        None => "on no declared server".to_owned(),
    }
}

/// `target` names space `named`, which is not on the server of `other` (called `whom`).
fn other_server(
    target: &Ident,
    named: &Space,
    whom: &str,
    other: &Space,
    help: &str,
) -> Diagnostic {
    out_of_reach(
        target,
        format!(
            "space `{}` is {}, but {whom} is {}",
            named.id,
            describe_server(named),
            describe_server(other)
        ),
        "on another server".to_owned(),
        help,
    )
}

impl Resolver {
    /// `features [...]`: each word a flag of HQ's; a repeated flag is a duplicate (E0101).
    pub(super) fn features(&mut self, flags: &[Ident]) -> FeatureFlags {
        let mut out = FeatureFlags::default();
        for flag in first_of_each(self, "feature", flags, ident_key) {
            match FeatureFlag::parse(&flag.name) {
                Some(f) => out.insert(f),
                None => self.invalid_value("feature", flag, &FeatureFlag::WORDS),
            }
        }
        out
    }

    /// `registry ID "Name" { case_types [...] }`; a repeated case type is a duplicate.
    pub(super) fn registry(&mut self, r: &ast::RegistryDecl) -> Registry {
        let case_types = first_of_each(self, "case type", &r.case_types, ident_key)
            .into_iter()
            .map(|c| c.name.clone())
            .collect();
        Registry {
            id: r.id.name.clone(),
            name: r.name.as_ref().map(|n| n.value.clone()),
            span: r.id.span,
            case_types,
        }
    }

    /// Each `grant`'s registry among the space's own; one `grant` per registry (E0105).
    pub(super) fn grant_registries(
        &mut self,
        space: &Space,
        decls: Vec<(Span, Ident, Vec<Ident>)>,
    ) -> Vec<(Ident, RegistryId, Span, Vec<Ident>)> {
        let mut granted: HashMap<RegistryId, Span> = HashMap::new();
        let mut out = Vec::with_capacity(decls.len());
        for (keyword, registry, to) in decls {
            let Some(id) = space.find_registry(&registry.name) else {
                self.push(unknown_name(
                    "registry",
                    &registry,
                    "in this space",
                    space.registries.iter().map(|r| r.id.as_str()),
                ));
                continue;
            };
            if let Some(first) = granted.get(&id) {
                self.push(repeated(
                    &format!("grant {}", registry.name),
                    keyword,
                    *first,
                    "list every space the registry is granted to in one `grant ... to [...]`",
                ));
                continue;
            }
            granted.insert(id, keyword);
            out.push((registry, id, keyword, to));
        }
        out
    }

    /// Each mobile worker's `login_as [...]`: web users of the same space, names compared
    /// ignoring ASCII case as member names are, or [`DEFAULT_LOGIN_AS`].
    pub(super) fn login_as(&mut self, space: &mut Space, lists: Vec<Vec<(Span, Vec<ast::Str>)>>) {
        if lists.iter().all(Vec::is_empty) {
            return;
        }
        let mut members: HashMap<String, MemberId> = HashMap::with_capacity(space.members.len());
        for (i, m) in space.members.iter().enumerate() {
            members
                .entry(m.name.to_ascii_lowercase())
                .or_insert(MemberId(i as u32));
        }
        let web_users = || {
            space
                .members
                .iter()
                .filter(|m| m.kind == MemberKind::WebUser)
                .map(|m| m.name.as_str())
        };
        // Per worker: its index, the web users it names, and where it names `default`.
        type Named = (usize, Vec<(MemberId, Span)>, Option<Span>);
        let mut resolved: Vec<Named> = Vec::new();
        for (i, statements) in lists.iter().enumerate() {
            let Some((first_span, names)) = statements.first() else {
                continue;
            };
            for (again, _) in &statements[1..] {
                self.push(repeated(
                    "login_as",
                    *again,
                    *first_span,
                    "list every web user in one `login_as [...]`",
                ));
            }
            let mut out = Vec::new();
            let mut default = None;
            let unique = first_of_each(self, "web user", names, |n| {
                (n.value.to_ascii_lowercase(), n.span)
            });
            for name in unique {
                // HQ's `default`: whoever may log in as the default user (no email is `default`).
                if name.value.eq_ignore_ascii_case(DEFAULT_LOGIN_AS) {
                    default = Some(name.span);
                    continue;
                }
                let id = members.get(&name.value.to_ascii_lowercase()).copied();
                match id.filter(|m| space.member(*m).kind == MemberKind::WebUser) {
                    Some(m) => out.push((m, name.span)),
                    None => {
                        let ident = Ident {
                            name: name.value.clone(),
                            span: name.span,
                        };
                        let mut d = unknown_name("web user", &ident, "in this space", web_users());
                        if id.is_some() {
                            d = d.with_help(format!(
                                "`{}` is a mobile worker: only web users log in as a mobile worker",
                                name.value
                            ));
                        }
                        self.push(d);
                    }
                }
            }
            resolved.push((i, out, default));
        }
        for (i, out, default) in resolved {
            space.members[i].login_as = out;
            space.members[i].login_as_default = default;
        }
    }

    /// The first `permissions` block of an enterprise, kept until every space is known; a
    /// second one is reported (HQ keeps one Enterprise Permissions per billing account).
    pub(super) fn pend_enterprise_permissions(
        &mut self,
        enterprise: &str,
        blocks: Vec<ast::EnterprisePermissionsDecl>,
    ) {
        let mut blocks = blocks.into_iter();
        let Some(first) = blocks.next() else {
            return;
        };
        for again in blocks {
            self.push(repeated(
                "permissions",
                again.keyword,
                first.keyword,
                "an enterprise has one Enterprise Permissions: list every space in one `permissions { ... }`",
            ));
        }
        self.enterprise_permissions
            .push((enterprise.to_owned(), first));
    }

    /// Enterprise Permissions: the source and every listed space are spaces of the enterprise,
    /// on the source's server, and the source is not among the listed spaces.
    pub(super) fn resolve_enterprise_permissions(&mut self, ir: &mut Ir) {
        for (enterprise, decl) in std::mem::take(&mut self.enterprise_permissions) {
            let Ok(e) = ir
                .enterprises
                .binary_search_by(|x| x.id.as_str().cmp(&enterprise))
            else {
                continue;
            };
            let e = EnterpriseId(e as u32);
            let source = self.enterprise_space(ir, e, &decl.source);
            let mut spaces = Vec::with_capacity(decl.spaces.len());
            for target in first_of_each(self, "space", &decl.spaces, ident_key) {
                let Some(t) = self.enterprise_space(ir, e, target) else {
                    continue;
                };
                let Some(s) = source else {
                    continue;
                };
                let (from, to) = (ir.space(s), ir.space(t));
                if s == t {
                    self.push(out_of_reach(
                        target,
                        format!("`{}` is the source of these Enterprise Permissions and cannot also be one of their spaces", target.name),
                        "the source space".to_owned(),
                        "its members are members of it already: remove it from `spaces [...]`",
                    ));
                } else if server_of(from) != server_of(to) {
                    self.push(other_server(
                        target,
                        to,
                        &format!("the source `{}`", from.id),
                        from,
                        "Enterprise Permissions share members between spaces of one server: set the same `server` on both",
                    ));
                } else {
                    spaces.push((t, target.span));
                }
            }
            if let Some(s) = source {
                ir.enterprises[e.index()].permissions = Some(EnterprisePermissions {
                    span: decl.keyword,
                    source: (s, decl.source.span),
                    spaces,
                });
            }
        }
    }

    /// A space of enterprise `e` named in its `permissions` block: an undeclared space is
    /// E0102, a space of another enterprise (or of none) E0109.
    fn enterprise_space(&mut self, ir: &Ir, e: EnterpriseId, id: &Ident) -> Option<SpaceId> {
        let enterprise = &ir.enterprises[e.index()].id;
        let Some(s) = ir.find_space(&id.name) else {
            self.push(unknown_name(
                "space",
                id,
                &format!("in enterprise `{enterprise}`"),
                ir.spaces
                    .iter()
                    .filter(|s| s.enterprise.is_some_and(|(x, _)| x == e))
                    .map(|s| s.id.as_str()),
            ));
            return None;
        };
        match ir.space(s).enterprise {
            Some((x, _)) if x == e => Some(s),
            other => {
                let (message, label) = match other {
                    Some((x, _)) => {
                        let theirs = &ir.enterprises[x.index()].id;
                        (
                            format!(
                                "space `{}` belongs to enterprise `{theirs}`, not `{enterprise}`",
                                id.name
                            ),
                            format!("a space of `{theirs}`"),
                        )
                    }
                    None => (
                        format!(
                            "space `{}` belongs to no enterprise, not to `{enterprise}`",
                            id.name
                        ),
                        "a space of no enterprise".to_owned(),
                    ),
                };
                self.push(out_of_reach(
                    id,
                    message,
                    label,
                    &format!(
                        "Enterprise Permissions share members between the spaces of one enterprise account: name a space of `{enterprise}`, or set `enterprise {enterprise}` in `{}`",
                        id.name
                    ),
                ));
                None
            }
        }
    }

    /// Each grant's target spaces: declared, not the granting space, on its server.
    pub(super) fn grants(&mut self, ir: &mut Ir, pending: &[super::PendingSpace]) {
        for (i, p) in pending.iter().enumerate() {
            let from = SpaceId(i as u32);
            let mut grants = Vec::with_capacity(p.grants.len());
            for (registry, id, keyword, to) in &p.grants {
                let mut targets = Vec::with_capacity(to.len());
                for target in first_of_each(self, "space", to, ident_key) {
                    let Some(t) = ir.find_space(&target.name) else {
                        self.push(unknown_name(
                            "space",
                            target,
                            "in this policy",
                            ir.spaces.iter().map(|s| s.id.as_str()),
                        ));
                        continue;
                    };
                    let (granter, reader) = (ir.space(from), ir.space(t));
                    if t == from {
                        self.push(out_of_reach(
                            target,
                            format!(
                                "registry `{}` is granted by `{}` to itself",
                                registry.name, granter.id
                            ),
                            "the granting space".to_owned(),
                            "a space always reads its own data: remove it from the list",
                        ));
                    } else if server_of(granter) != server_of(reader) {
                        self.push(other_server(
                            target,
                            reader,
                            &format!("`{}`", granter.id),
                            granter,
                            "a registry's data is shared within one server: grant it to spaces on the same `server`",
                        ));
                    } else {
                        targets.push((t, target.span));
                    }
                }
                grants.push(Grant {
                    span: *keyword,
                    registry: *id,
                    registry_span: registry.span,
                    to: targets,
                });
            }
            ir.spaces[i].grants = grants;
        }
    }
}
