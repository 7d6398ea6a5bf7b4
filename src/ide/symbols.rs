//! Every name of a policy version: where each is declared and where it is used, for go to
//! definition, find references and hover.
//!
//! Built from the kept syntax trees (which hold every name with its span) and the IR (which
//! says what each name resolved to): a name is looked up in the IR's tables by the same scopes
//! `resolve` uses (a space's own tables; a space's roles include its upstream's), so a name the
//! compiler could not resolve has no target here either. A declaration that the compiler
//! refused (a duplicate) is not a declaration of the first one's target.

use std::collections::HashMap;

use super::Analysis;
use crate::ast::{self, PermissionRef, Query, SpaceStmt, Value};
use crate::ir::{
    ApplicationId, GroupId, Ir, LocId, LocTypeId, MemberId, ProfileId, RegistryId, ReportId,
    RoleRef, SpaceId,
};
use crate::model::{ItemKind, Kind, Permission};
use crate::source::{SourceId, Span};

/// What a name names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Enterprise(u32),
    Space(SpaceId),
    Role(RoleRef),
    LocationType(SpaceId, LocTypeId),
    Location(SpaceId, LocId),
    Group(SpaceId, GroupId),
    Report(SpaceId, ReportId),
    Application(SpaceId, ApplicationId),
    Registry(SpaceId, RegistryId),
    Profile(SpaceId, ProfileId),
    Member(SpaceId, MemberId),
    Permission(Permission),
    /// A `test` block, by its index in `Ir::tests`.
    Test(u32),
}

/// One occurrence of a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub span: Span,
    pub target: Target,
    pub declaration: bool,
    /// For a permission key inside a role: that role, in the space that declares it.
    pub role: Option<RoleRef>,
}

/// The symbol table of one version.
#[derive(Debug, Default)]
pub struct Symbols {
    /// Sorted by span.
    occurrences: Vec<Occurrence>,
    by_target: HashMap<Target, Vec<u32>>,
}

impl Symbols {
    pub fn new(analysis: &Analysis) -> Symbols {
        let ir = &analysis.compiled.ir;
        let mut b = Builder {
            ir,
            out: Vec::new(),
            spaces: HashMap::new(),
        };
        for p in analysis.parsed.iter().flatten() {
            b.file(&p.ast);
        }
        let mut occurrences = b.out;
        occurrences.sort_by_key(|o| o.span);
        occurrences.dedup();
        let mut by_target: HashMap<Target, Vec<u32>> = HashMap::new();
        for (i, o) in occurrences.iter().enumerate() {
            by_target.entry(o.target).or_default().push(i as u32);
        }
        Symbols {
            occurrences,
            by_target,
        }
    }

    /// The occurrence whose span holds `offset` in `file` (its end included, so that a cursor
    /// just after a name still finds it).
    pub fn at(&self, file: SourceId, offset: u32) -> Option<&Occurrence> {
        let i = self
            .occurrences
            .partition_point(|o| (o.span.source, o.span.end) < (file, offset));
        self.occurrences
            .get(i)
            .filter(|o| o.span.source == file && o.span.start <= offset)
    }

    /// Every occurrence of `target`, in source order.
    pub fn of(&self, target: Target) -> impl Iterator<Item = &Occurrence> {
        self.by_target
            .get(&target)
            .into_iter()
            .flatten()
            .map(|&i| &self.occurrences[i as usize])
    }

    /// Where `target` is declared (nothing for a built-in role or a permission).
    pub fn declarations(&self, target: Target) -> impl Iterator<Item = &Occurrence> {
        self.of(target).filter(|o| o.declaration)
    }

    /// Every occurrence, in source order.
    pub fn all(&self) -> &[Occurrence] {
        &self.occurrences
    }
}

/// A space's name tables that the IR does not keep as hash maps.
#[derive(Default)]
struct SpaceNames<'ir> {
    roles: HashMap<&'ir str, RoleRef>,
    location_types: HashMap<&'ir str, LocTypeId>,
    /// Lower-cased: member names compare ignoring ASCII case.
    members: HashMap<String, MemberId>,
}

struct Builder<'ir> {
    ir: &'ir Ir,
    out: Vec<Occurrence>,
    spaces: HashMap<SpaceId, SpaceNames<'ir>>,
}

impl<'ir> Builder<'ir> {
    fn push(&mut self, span: Span, target: Target, declaration: bool) {
        self.out.push(Occurrence {
            span,
            target,
            declaration,
            role: None,
        });
    }

    fn names(&mut self, s: SpaceId) -> &SpaceNames<'ir> {
        let ir = self.ir;
        self.spaces.entry(s).or_insert_with(|| {
            let space = ir.space(s);
            SpaceNames {
                roles: ir
                    .roles_of(s)
                    .into_iter()
                    .map(|r| (ir.role(r).id.as_str(), r))
                    .collect(),
                location_types: space
                    .location_types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (t.id.as_str(), LocTypeId(i as u32)))
                    .collect(),
                members: space
                    .members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (m.name.to_ascii_lowercase(), MemberId(i as u32)))
                    .collect(),
            }
        })
    }

    /// `id` declares `found`'s target if the IR kept this declaration (its span), not another.
    fn declared(&mut self, id: &ast::Ident, found: Option<(Span, Target)>) {
        if let Some((span, target)) = found
            && span == id.span
        {
            self.push(id.span, target, true);
        }
    }

    fn space_ref(&mut self, id: &ast::Ident) -> Option<SpaceId> {
        let s = self.ir.find_space(&id.name)?;
        self.push(id.span, Target::Space(s), false);
        Some(s)
    }

    fn enterprise_ref(&mut self, id: &ast::Ident) {
        if let Some(e) = self.ir.enterprises.iter().position(|e| e.id == id.name) {
            self.push(id.span, Target::Enterprise(e as u32), false);
        }
    }

    fn role_ref(&mut self, s: SpaceId, id: &ast::Ident) {
        if let Some(&r) = self.names(s).roles.get(id.name.as_str()) {
            self.push(id.span, Target::Role(r), false);
        }
    }

    fn location_ref(&mut self, s: SpaceId, id: &ast::Ident) {
        if let Some(l) = self.ir.space(s).find_location(&id.name) {
            self.push(id.span, Target::Location(s, l), false);
        }
    }

    fn location_type_ref(&mut self, s: SpaceId, id: &ast::Ident) {
        if let Some(&t) = self.names(s).location_types.get(id.name.as_str()) {
            self.push(id.span, Target::LocationType(s, t), false);
        }
    }

    fn member_ref(&mut self, s: SpaceId, name: &ast::Str) {
        if let Some(&m) = self.names(s).members.get(&name.value.to_ascii_lowercase()) {
            self.push(name.span, Target::Member(s, m), false);
        }
    }

    /// A registry named in `s`: its own, or one another space grants to it.
    fn registry_ref(&mut self, s: SpaceId, id: &ast::Ident) {
        if let Some(r) = self.ir.space(s).find_registry(&id.name) {
            return self.push(id.span, Target::Registry(s, r), false);
        }
        let found = self.ir.spaces.iter().enumerate().find_map(|(o, other)| {
            let r = other.find_registry(&id.name)?;
            other
                .grants
                .iter()
                .any(|g| g.registry == r && g.to.iter().any(|(t, _)| *t == s))
                .then_some(Target::Registry(SpaceId(o as u32), r))
        });
        if let Some(t) = found {
            self.push(id.span, t, false);
        }
    }

    fn item_ref(&mut self, s: SpaceId, kind: ItemKind, id: &ast::Ident) {
        let space = self.ir.space(s);
        let target = match kind {
            ItemKind::Reports => space.find_report(&id.name).map(|r| Target::Report(s, r)),
            ItemKind::Applications => space
                .find_application(&id.name)
                .map(|a| Target::Application(s, a)),
            ItemKind::Profiles => space.find_profile(&id.name).map(|p| Target::Profile(s, p)),
            ItemKind::Registries => return self.registry_ref(s, id),
            ItemKind::TableauReports | ItemKind::AnalyticsRoles => None,
        };
        if let Some(t) = target {
            self.push(id.span, t, false);
        }
    }

    fn file(&mut self, file: &ast::File) {
        for item in &file.items {
            match item {
                ast::Item::Enterprise(e) => self.enterprise(e),
                ast::Item::Space(s) => self.space(s),
                ast::Item::Test(t) => self.test(t),
            }
        }
    }

    fn enterprise(&mut self, e: &ast::EnterpriseDecl) {
        let Some(i) = self
            .ir
            .enterprises
            .iter()
            .position(|d| d.id == e.id.name && d.span == e.span)
        else {
            return;
        };
        self.push(e.id.span, Target::Enterprise(i as u32), true);
        for p in &e.permissions {
            self.space_ref(&p.source);
            for s in &p.spaces {
                self.space_ref(s);
            }
        }
    }

    fn space(&mut self, decl: &ast::SpaceDecl) {
        // A space declared twice: the second is not in the IR; its names are not the first's.
        let Some(s) = self
            .ir
            .find_space(&decl.id.name)
            .filter(|&s| self.ir.space(s).span == decl.span)
        else {
            return;
        };
        self.push(decl.id.span, Target::Space(s), true);
        let ir = self.ir;
        let space = ir.space(s);
        for stmt in &decl.stmts {
            match stmt {
                SpaceStmt::Enterprise { id, .. } => self.enterprise_ref(id),
                SpaceStmt::Upstream { id, .. } => {
                    self.space_ref(id);
                }
                SpaceStmt::LocationTypes { types, .. } => {
                    for t in types {
                        let found = self
                            .names(s)
                            .location_types
                            .get(t.id.name.as_str())
                            .copied();
                        self.declared(
                            &t.id,
                            found.map(|id| {
                                (
                                    space.location_types[id.index()].span,
                                    Target::LocationType(s, id),
                                )
                            }),
                        );
                        if let Some(parent) = &t.parent {
                            self.location_type_ref(s, parent);
                        }
                    }
                }
                SpaceStmt::Locations { roots, .. } => {
                    // Iterative: nesting is bounded by the parser, but a walk needs no stack.
                    let mut pending: Vec<&ast::LocationDecl> = roots.iter().rev().collect();
                    while let Some(l) = pending.pop() {
                        self.location_type_ref(s, &l.ty);
                        let found = space.find_location(&l.id.name);
                        self.declared(
                            &l.id,
                            found.map(|id| {
                                (space.locations[id.index()].span, Target::Location(s, id))
                            }),
                        );
                        pending.extend(l.children.iter().rev());
                    }
                }
                // A table's declaration is the one the IR kept (same span): not a duplicate.
                SpaceStmt::Group { id, .. } => {
                    let found = space.find_group(&id.name);
                    self.declared(
                        id,
                        found.map(|g| (space.groups[g.index()].span, Target::Group(s, g))),
                    );
                }
                SpaceStmt::Report { id, .. } => {
                    let found = space.find_report(&id.name);
                    self.declared(
                        id,
                        found.map(|r| (space.reports[r.index()].span, Target::Report(s, r))),
                    );
                }
                SpaceStmt::Application { id, .. } => {
                    let found = space.find_application(&id.name);
                    self.declared(
                        id,
                        found.map(|a| {
                            (
                                space.applications[a.index()].span,
                                Target::Application(s, a),
                            )
                        }),
                    );
                }
                SpaceStmt::Profile { id, .. } => {
                    let found = space.find_profile(&id.name);
                    self.declared(
                        id,
                        found.map(|p| (space.profiles[p.index()].span, Target::Profile(s, p))),
                    );
                }
                SpaceStmt::Registry(r) => {
                    let found = space.find_registry(&r.id.name);
                    self.declared(
                        &r.id,
                        found.map(|g| (space.registries[g.index()].span, Target::Registry(s, g))),
                    );
                }
                SpaceStmt::Grant { registry, to, .. } => {
                    if let Some(r) = space.find_registry(&registry.name) {
                        self.push(registry.span, Target::Registry(s, r), false);
                    }
                    for t in to {
                        self.space_ref(t);
                    }
                }
                SpaceStmt::Role(r) => self.role(s, r),
                SpaceStmt::Member(m) => self.member(s, m),
                SpaceStmt::Plan { .. }
                | SpaceStmt::Server { .. }
                | SpaceStmt::Environment { .. }
                | SpaceStmt::Security { .. }
                | SpaceStmt::Features { .. } => {}
            }
        }
    }

    fn role(&mut self, s: SpaceId, decl: &ast::RoleDecl) {
        let space = self.ir.space(s);
        let Some(i) = space
            .roles
            .iter()
            .position(|r| r.id_span == Some(decl.id.span))
        else {
            return;
        };
        let role = RoleRef {
            space: s,
            role: crate::ir::RoleId(i as u32),
        };
        self.push(decl.id.span, Target::Role(role), true);
        for setting in &decl.settings {
            let Some(p) = Permission::from_key(&setting.key.name) else {
                continue;
            };
            self.out.push(Occurrence {
                span: setting.key.span,
                target: Target::Permission(p),
                declaration: false,
                role: Some(role),
            });
            let Value::List { items, .. } = &setting.value else {
                continue;
            };
            for item in items {
                match p.kind() {
                    Kind::RoleList => self.role_ref(s, item),
                    kind => {
                        if let Some(k) = kind.item_kind() {
                            self.item_ref(s, k, item);
                        }
                    }
                }
            }
        }
    }

    fn member(&mut self, s: SpaceId, decl: &ast::MemberDecl) {
        let space = self.ir.space(s);
        let member = self
            .names(s)
            .members
            .get(&decl.name.value.to_ascii_lowercase())
            .copied()
            .filter(|&m| space.member(m).name_span == decl.name.span);
        if let Some(m) = member {
            self.push(decl.name.span, Target::Member(s, m), true);
        }
        if let Some(role) = decl.role.first() {
            match member.and_then(|m| space.member(m).role) {
                Some(r) => self.push(role.span, Target::Role(r), false),
                None => self.role_ref(s, role),
            }
        }
        for (_, list) in &decl.locations {
            for l in list {
                self.location_ref(s, l);
            }
        }
        for (_, list) in &decl.groups {
            for g in list {
                if let Some(id) = space.find_group(&g.name) {
                    self.push(g.span, Target::Group(s, id), false);
                }
            }
        }
        for (_, list) in &decl.login_as {
            for name in list {
                self.member_ref(s, name);
            }
        }
    }

    fn test(&mut self, t: &ast::TestDecl) {
        if let Some(i) = self.ir.tests.iter().position(|d| d.span == t.span) {
            self.push(t.name.span, Target::Test(i as u32), true);
        }
        for a in &t.assertions {
            let (member, question, space) = match &a.query {
                Query::Can {
                    member, question, ..
                }
                | Query::Why {
                    member, question, ..
                } => (Some(member), Some(question), &question.space),
                Query::Who { question } => (None, Some(question), &question.space),
                Query::What { member, space } => (Some(member), None, space),
            };
            let Some(s) = self.space_ref(space) else {
                continue;
            };
            if let Some(m) = member {
                self.member_ref(s, m);
            }
            if let Some(q) = question {
                match &q.permission {
                    PermissionRef::Key(k) => {
                        if let Some(p) = Permission::from_key(&k.name) {
                            self.push(k.span, Target::Permission(p), false);
                        }
                    }
                    PermissionRef::Report { id, .. } => self.item_ref(s, ItemKind::Reports, id),
                }
                if let Some(at) = &q.at {
                    self.location_ref(s, at);
                }
            }
            if let Some(expected) = &a.expected {
                for m in expected {
                    self.member_ref(s, m);
                }
            }
        }
    }
}
