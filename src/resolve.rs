//! Stage 2: AST → IR. Interns names into ids, builds each space's tables, and reports
//! duplicates, undeclared names, unknown permissions and invalid values.
//!
//! Resolution keeps going after errors: an unresolved reference becomes `None` (or is dropped)
//! so that later checks still run on everything that did resolve.

mod declarations;
pub mod question;

use std::collections::{HashMap, HashSet};

use crate::ast::{self, Ident, SpaceStmt};
use crate::diagnostic::suggest::{did_you_mean, nearest, one_of};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::*;
use crate::model::builtin::{ADMIN, BUILTIN_ROLES, BuiltinRole, MOBILE_WORKER_DEFAULT};
use crate::model::{Environment, ItemKind, Kind, Permission, Plan, RoleValues, ValueError};
use crate::question::ResolvedQuery;
use crate::source::Span;

/// Pseudo-permission for the Enterprise Console's aggregated reports (queries only).
pub const ENTERPRISE_REPORTS: &str = "enterprise_reports";

/// Resolves every parsed file into one IR.
pub fn resolve(files: Vec<ast::File>) -> (Ir, Vec<Diagnostic>) {
    let mut r = Resolver::default();
    for file in files {
        r.add_file(file);
    }
    r.finish()
}

/// Incremental resolution: [`Resolver::add_file`] resolves a file's declarations as soon as it
/// is parsed (its syntax tree is then dropped), [`Resolver::finish`] resolves what crosses
/// spaces (enterprises, upstreams, member roles). Only one file's syntax tree is alive at a
/// time, so peak memory follows the IR, not the IR plus every tree.
#[derive(Default)]
pub struct Resolver {
    diagnostics: Vec<Diagnostic>,
    ir: Ir,
    pending: Vec<PendingSpace>,
    enterprise_scope: Scope,
    space_scope: Scope,
    test_scope: HashMap<String, Span>,
    /// `test` blocks as parsed, lowered by [`Resolver::finish`] once every name is known.
    tests: Vec<ast::TestDecl>,
    /// Each enterprise's `permissions` block (its first), resolved by [`Resolver::finish`]
    /// once every space is known.
    enterprise_permissions: Vec<(String, ast::EnterprisePermissionsDecl)>,
}

/// Ids declared in one scope, for duplicate reports.
#[derive(Default)]
struct Scope {
    seen: HashMap<String, Span>,
}

impl Scope {
    /// Records `id`; returns false (after reporting) when it was already declared.
    fn declare(&mut self, r: &mut Resolver, what: &str, name: &str, span: Span) -> bool {
        if let Some(first) = self.seen.get(name) {
            r.push(
                Diagnostic::new(
                    Code::Duplicate,
                    format!("{what} `{name}` is declared twice"),
                )
                .with_label(span, "declared again here")
                .with_label(*first, "first declared here")
                .with_help(format!("rename one of them or remove the repeated {what}")),
            );
            return false;
        }
        self.seen.insert(name.to_owned(), span);
        true
    }
}

/// An entry repeated in one list (`admins`, `features`, `login_as`, ...).
fn listed_twice(what: &str, name: &str, again: Span, first: Span) -> Diagnostic {
    Diagnostic::new(Code::Duplicate, format!("{what} `{name}` is listed twice"))
        .with_label(again, "listed again here")
        .with_label(first, "first listed here")
        .with_help("remove the repeated entry")
}

/// A singleton statement (`plan`, `server`, ...) given twice.
fn repeated(what: &str, again: Span, first: Span, help: &str) -> Diagnostic {
    Diagnostic::new(
        Code::RepeatedStatement,
        format!("`{what}` is given more than once"),
    )
    .with_label(again, "given again here")
    .with_label(first, "first given here")
    .with_help(help.to_owned())
}

/// A permission key that is not in the catalogue, with the nearest spelling.
pub fn unknown_permission<'a>(
    key: &Ident,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let help = if let Some(n) = crate::model::hq::lookup(&key.name) {
        match n.value {
            Some(v) => format!(
                "`{}` is CommCare HQ's name for it: write `{} = {v}`",
                key.name,
                n.key.key()
            ),
            None => format!(
                "`{}` is CommCare HQ's name for it: write `{}`",
                key.name,
                n.key.key()
            ),
        }
    } else {
        match nearest(&key.name, candidates) {
            Some(k) => format!("did you mean `{k}`?"),
            None => "see the permission table in docs/language.md".to_owned(),
        }
    };
    Diagnostic::new(
        Code::UnknownPermission,
        format!("unknown permission `{}`", key.name),
    )
    .with_label(key.span, "not a permission")
    .with_help(help)
}

/// An undeclared name, with the nearest declared spelling.
pub fn unknown_name<'a>(
    what: &str,
    id: &Ident,
    scope: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Diagnostic {
    let suggestion = did_you_mean(&id.name, candidates.clone());
    let help = if !suggestion.is_empty() {
        suggestion
    } else if crate::diagnostic::suggest::exhausted()
        || !crate::diagnostic::suggest::spend(candidates.clone().into_iter().count())
    {
        // Past the run's suggestion budget (very many unknown names): no listing either.
        format!("no {what} of this name is declared {scope}: check the spelling")
    } else {
        let mut names: Vec<&str> = candidates.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        // A name that contains the one written (`supervisor` in `district-supervisor`).
        let containing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| id.name.len() >= 3 && n.contains(id.name.as_str()))
            .collect();
        let plural = |n: usize| {
            if n == 1 {
                what.to_owned()
            } else {
                format!("{what}s")
            }
        };
        match (containing.len(), names.len()) {
            (1..=3, _) => format!("did you mean {}?", one_of(&containing)),
            (_, 0) => format!("declare it first: no {what} is declared {scope}"),
            (_, n) if n <= 8 => format!("the {} {scope}: {}", plural(n), one_of(&names)),
            (_, n) => {
                let some: Vec<String> = names[..5].iter().map(|n| format!("`{n}`")).collect();
                format!(
                    "{n} {} are declared {scope}, among them {} and {}",
                    plural(n),
                    some[..4].join(", "),
                    some[4]
                )
            }
        }
    };
    Diagnostic::new(Code::UnknownName, format!("unknown {what} `{}`", id.name))
        .with_label(id.span, format!("no {what} of this name {scope}"))
        .with_help(help)
}

/// One file's declarations, resolved without looking at any other file: its enterprises and
/// spaces with their own tables and what they report of themselves, and its `test` blocks as
/// parsed. A pure function of the file ([`declare`]), so files are resolved on all cores and
/// the editor keeps a file's declarations while another file is edited.
#[derive(Clone, Debug)]
pub struct FileDeclarations {
    items: Vec<Declared>,
}

#[derive(Clone, Debug)]
enum Declared {
    Enterprise {
        enterprise: Enterprise,
        /// Its first `permissions` block, resolved once every space is known.
        permissions: Option<ast::EnterprisePermissionsDecl>,
        diagnostics: Vec<Diagnostic>,
    },
    Space {
        space: Box<Space>,
        pending: PendingSpace,
        diagnostics: Vec<Diagnostic>,
    },
    Test(ast::TestDecl),
}

/// Resolves one file's declarations: enterprises, and each space's own tables (locations,
/// roles, members' own fields); tests are kept as parsed. Names that cross files (a space's
/// enterprise and upstream, members' roles, tests) wait for [`Resolver::finish`]. Suggestions
/// spend the budget of the file's thread ([`crate::parse_file`] starts it).
pub fn declare(file: ast::File) -> FileDeclarations {
    let mut r = Resolver::default();
    let mut items = Vec::with_capacity(file.items.len());
    for item in file.items {
        items.push(match item {
            ast::Item::Enterprise(e) => {
                let admins = r.enterprise_admins(&e);
                r.pend_enterprise_permissions(&e.id.name, e.permissions);
                Declared::Enterprise {
                    permissions: r.enterprise_permissions.pop().map(|(_, p)| p),
                    enterprise: Enterprise {
                        id: e.id.name,
                        name: e.name.map(|n| n.value),
                        span: e.span,
                        id_span: e.id.span,
                        admins,
                        permissions: None,
                    },
                    diagnostics: std::mem::take(&mut r.diagnostics),
                }
            }
            ast::Item::Space(decl) => {
                let (space, pending) = r.space(decl);
                r.duplicate_members(&space);
                Declared::Space {
                    space: Box::new(space),
                    pending,
                    diagnostics: std::mem::take(&mut r.diagnostics),
                }
            }
            ast::Item::Test(t) => Declared::Test(t),
        });
    }
    FileDeclarations { items }
}

/// Everything a space declaration holds, gathered before members are resolved.
#[derive(Clone, Debug)]
struct PendingSpace {
    /// `upstream ID [remote]`: the id, and the span of `remote` if written.
    upstream: Option<(Ident, Option<Span>)>,
    enterprise: Option<Ident>,
    /// The `role` of each member (aligned with the space's members), resolved last because a
    /// space holds its upstream's roles.
    member_roles: Vec<Option<Ident>>,
    /// `grant` statements whose registry resolved: the target spaces, resolved once every
    /// space is known.
    grants: Vec<(ast::Ident, RegistryId, Span, Vec<Ident>)>,
}

impl Resolver {
    fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    /// Resolves one file's declarations and merges them ([`declare`], then
    /// [`Resolver::add_declarations`]).
    pub fn add_file(&mut self, file: ast::File) {
        self.add_declarations(declare(file));
    }

    /// Merges one file's declarations, in source order: an enterprise, space or test declared
    /// by an earlier file is reported, and the repeated declaration (with what it reported of
    /// itself) dropped.
    pub fn add_declarations(&mut self, file: FileDeclarations) {
        for item in file.items {
            match item {
                Declared::Enterprise {
                    enterprise,
                    permissions,
                    mut diagnostics,
                } => {
                    let mut scope = std::mem::take(&mut self.enterprise_scope);
                    if scope.declare(self, "enterprise", &enterprise.id, enterprise.id_span) {
                        self.diagnostics.append(&mut diagnostics);
                        if let Some(p) = permissions {
                            self.enterprise_permissions.push((enterprise.id.clone(), p));
                        }
                        self.ir.enterprises.push(enterprise);
                    }
                    self.enterprise_scope = scope;
                }
                Declared::Space {
                    space,
                    pending,
                    mut diagnostics,
                } => {
                    let mut scope = std::mem::take(&mut self.space_scope);
                    if scope.declare(self, "space", &space.id, space.id_span) {
                        self.diagnostics.append(&mut diagnostics);
                        self.ir.spaces.push(*space);
                        self.pending.push(pending);
                    }
                    self.space_scope = scope;
                }
                Declared::Test(t) => {
                    if let Some(first) = self.test_scope.get(&t.name.value) {
                        self.push(
                            Diagnostic::new(
                                Code::Duplicate,
                                format!("test `{}` is declared twice", t.name.value),
                            )
                            .with_label(t.name.span, "declared again here")
                            .with_label(*first, "first declared here")
                            .with_help(
                                "give each test its own name, so failures can be told apart",
                            ),
                        );
                    } else {
                        self.test_scope.insert(t.name.value.clone(), t.name.span);
                    }
                    self.tests.push(t);
                }
            }
        }
    }

    /// Resolves what crosses spaces and returns the IR, spaces sorted by id.
    pub fn finish(mut self) -> (Ir, Vec<Diagnostic>) {
        let mut ir = std::mem::take(&mut self.ir);
        ir.enterprises.sort_by(|a, b| a.id.cmp(&b.id));
        let mut spaces: Vec<(Space, PendingSpace)> = std::mem::take(&mut ir.spaces)
            .into_iter()
            .zip(std::mem::take(&mut self.pending))
            .collect();
        spaces.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let (sorted, pending): (Vec<Space>, Vec<PendingSpace>) = spaces.into_iter().unzip();
        ir.spaces = sorted;

        // Cross-space references.
        let enterprise_ids: HashMap<String, u32> = ir
            .enterprises
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i as u32))
            .collect();
        for (i, p) in pending.iter().enumerate() {
            if let Some(id) = &p.enterprise {
                match enterprise_ids.get(&id.name).copied() {
                    Some(e) => ir.spaces[i].enterprise = Some((EnterpriseId(e), id.span)),
                    None => self.push(unknown_name(
                        "enterprise",
                        id,
                        "in this policy",
                        ir.enterprises.iter().map(|e| e.id.as_str()),
                    )),
                }
            }
            if let Some((id, remote)) = &p.upstream {
                match ir.find_space(&id.name) {
                    Some(up) => {
                        ir.spaces[i].upstream = Some((up, id.span));
                        ir.spaces[i].upstream_remote = *remote;
                    }
                    None => self.push(unknown_name(
                        "space",
                        id,
                        "in this policy",
                        ir.spaces.iter().map(|s| s.id.as_str()),
                    )),
                }
            }
        }
        self.grants(&mut ir, &pending);
        self.resolve_enterprise_permissions(&mut ir);
        let granted = granted_registries(&ir);
        // Names that need the roles a space holds (its own and its upstream's).
        for (i, p) in pending.into_iter().enumerate() {
            let space = SpaceId(i as u32);
            let roles: Vec<Option<RoleRef>> = {
                let index = RoleIndex::new(&ir, space);
                self.role_references(&ir, space, &index, &granted[i]);
                let members = &ir.spaces[i].members;
                p.member_roles
                    .into_iter()
                    .zip(members)
                    .map(|(role, m)| self.member_role(&index, m, role))
                    .collect()
            };
            for (m, role) in ir.spaces[i].members.iter_mut().zip(roles) {
                m.role = role;
            }
        }
        ir.tests = self.tests(&ir);
        (ir, self.diagnostics)
    }

    fn enterprise_admins(&mut self, e: &ast::EnterpriseDecl) -> Vec<(String, Span)> {
        let mut out: Vec<(String, Span)> = Vec::new();
        for (i, (span, list)) in e.admins.iter().enumerate() {
            if i > 0 {
                self.push(repeated(
                    "admins",
                    *span,
                    e.admins[0].0,
                    "list every admin in one `admins [...]`",
                ));
                continue;
            }
            // Repeats found through a map: a list may be long.
            let mut first: HashMap<&str, Span> = HashMap::with_capacity(list.len());
            for admin in list {
                if let Some(at) = first.get(admin.value.as_str()) {
                    self.push(listed_twice("admin", &admin.value, admin.span, *at));
                } else {
                    first.insert(&admin.value, admin.span);
                    out.push((admin.value.clone(), admin.span));
                }
            }
        }
        out
    }

    fn space(&mut self, decl: ast::SpaceDecl) -> (Space, PendingSpace) {
        let mut space = Space {
            id: decl.id.name.clone(),
            name: decl.name.as_ref().map(|n| n.value.clone()),
            span: decl.span,
            id_span: decl.id.span,
            enterprise: None,
            plan: Plan::Community,
            plan_span: None,
            server: None,
            upstream: None,
            upstream_remote: None,
            environment: None,
            two_factor: None,
            location_types_span: None,
            locations_span: None,
            location_types: Vec::new(),
            locations: Vec::new(),
            groups: Vec::new(),
            reports: Vec::new(),
            features: Default::default(),
            features_span: None,
            applications: Vec::new(),
            registries: Vec::new(),
            profiles: Vec::new(),
            grants: Vec::new(),
            roles: Vec::new(),
            members: Vec::new(),
            lookup: NameLookup::default(),
        };
        let mut member_decls: Vec<ast::MemberDecl> = Vec::new();
        let mut pending = PendingSpace {
            member_roles: Vec::new(),
            upstream: None,
            enterprise: None,
            grants: Vec::new(),
        };
        let mut singletons: HashMap<&'static str, Span> = HashMap::new();
        let mut once = |r: &mut Resolver, what: &'static str, span: Span, help: &str| -> bool {
            if let Some(first) = singletons.get(what) {
                r.push(repeated(what, span, *first, help));
                false
            } else {
                singletons.insert(what, span);
                true
            }
        };
        let mut groups = Scope::default();
        let mut reports = Scope::default();
        let mut applications = Scope::default();
        let mut registries = Scope::default();
        let mut profiles = Scope::default();
        let mut grant_decls = Vec::new();
        let mut location_types_decl = None;
        let mut location_roots = None;

        let mut role_decls: Vec<ast::RoleDecl> = Vec::new();
        for mut stmt in decl.stmts {
            // Members and roles are taken whole; the location tree is moved out below.
            let stmt = match stmt {
                SpaceStmt::Member(m) => {
                    member_decls.push(m);
                    continue;
                }
                SpaceStmt::Role(r) => {
                    role_decls.push(r);
                    continue;
                }
                _ => &mut stmt,
            };
            match stmt {
                SpaceStmt::Enterprise { keyword, id } => {
                    if once(
                        self,
                        "enterprise",
                        *keyword,
                        "a space belongs to at most one enterprise",
                    ) {
                        pending.enterprise = Some(id.clone());
                    }
                }
                SpaceStmt::Plan { keyword, value } => {
                    if once(
                        self,
                        "plan",
                        *keyword,
                        "a space has one plan; keep one `plan` line",
                    ) {
                        match Plan::parse(&value.name) {
                            Some(plan) => {
                                space.plan = plan;
                                space.plan_span = Some(value.span);
                            }
                            None => {
                                self.invalid_value("plan", value, &Plan::WORDS);
                                // Assume the highest plan so the typo does not cascade into
                                // plan-gate errors; the build fails on the typo anyway.
                                space.plan = Plan::Enterprise;
                            }
                        }
                    }
                }
                SpaceStmt::Server { keyword, value } => {
                    if once(
                        self,
                        "server",
                        *keyword,
                        "a space lives on one server; keep one `server` line",
                    ) {
                        space.server = Some((value.name.clone(), value.span));
                    }
                }
                SpaceStmt::Upstream {
                    keyword,
                    id,
                    remote,
                } => {
                    if once(
                        self,
                        "upstream",
                        *keyword,
                        "a space has at most one upstream: linked spaces are one level deep",
                    ) {
                        pending.upstream = Some((id.clone(), *remote));
                    }
                }
                SpaceStmt::Environment { keyword, value } => {
                    if once(self, "environment", *keyword, "keep one `environment` line") {
                        match Environment::parse(&value.name) {
                            Some(env) => space.environment = Some((env, value.span)),
                            None => self.invalid_value("environment", value, &Environment::WORDS),
                        }
                    }
                }
                SpaceStmt::Security { keyword, settings } => {
                    if once(
                        self,
                        "security",
                        *keyword,
                        "put every security setting in one `security { ... }`",
                    ) {
                        space.two_factor = self.security(settings);
                    }
                }
                SpaceStmt::LocationTypes { keyword, types } => {
                    if once(
                        self,
                        "location_types",
                        *keyword,
                        "declare every location type in one block",
                    ) {
                        space.location_types_span = Some(*keyword);
                        location_types_decl = Some(std::mem::take(types));
                    }
                }
                SpaceStmt::Locations { keyword, roots } => {
                    if once(
                        self,
                        "locations",
                        *keyword,
                        "declare the whole location tree in one block",
                    ) {
                        space.locations_span = Some(*keyword);
                        location_roots = Some(std::mem::take(roots));
                    }
                }
                SpaceStmt::Group { id, name } => {
                    if groups.declare(self, "group", &id.name, id.span) {
                        space.groups.push(named(id, name));
                    }
                }
                SpaceStmt::Report { id, name } => {
                    if reports.declare(self, "report", &id.name, id.span) {
                        space.reports.push(named(id, name));
                    }
                }
                SpaceStmt::Features { keyword, flags } => {
                    if once(
                        self,
                        "features",
                        *keyword,
                        "list every feature flag in one `features [...]`",
                    ) {
                        space.features = self.features(flags);
                        space.features_span = Some(*keyword);
                    }
                }
                SpaceStmt::Application { id, name } => {
                    if applications.declare(self, "application", &id.name, id.span) {
                        space.applications.push(named(id, name));
                    }
                }
                SpaceStmt::Profile { id, name } => {
                    if profiles.declare(self, "profile", &id.name, id.span) {
                        space.profiles.push(named(id, name));
                    }
                }
                SpaceStmt::Registry(r) => {
                    if registries.declare(self, "registry", &r.id.name, r.id.span) {
                        let registry = self.registry(r);
                        space.registries.push(registry);
                    }
                }
                SpaceStmt::Grant {
                    keyword,
                    registry,
                    to,
                } => grant_decls.push((*keyword, registry.clone(), std::mem::take(to))),
                SpaceStmt::Role(_) | SpaceStmt::Member(_) => {}
            }
        }
        if let Some(types) = location_types_decl {
            space.location_types = self.location_types(&types);
        }
        let mut location_ids = HashMap::new();
        if let Some(roots) = location_roots {
            (space.locations, location_ids) = self.locations(&space.location_types, roots);
        }
        space.roles = self.roles(&role_decls);
        space.lookup = NameLookup::build(location_ids, &space);
        pending.grants = self.grant_registries(&space, grant_decls);
        space.members.reserve(member_decls.len());
        pending.member_roles.reserve(member_decls.len());
        let mut login_as = Vec::new();
        for mut m in member_decls {
            login_as.push(std::mem::take(&mut m.login_as));
            let (member, role) = self.member(&space, m);
            space.members.push(member);
            pending.member_roles.push(role);
        }
        self.login_as(&mut space, login_as);
        (space, pending)
    }

    fn invalid_value(&mut self, what: &str, value: &Ident, valid: &[&str]) {
        let suggestion = nearest(&value.name, valid.iter().copied());
        let help = match suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("`{what}` is one of {}", one_of(valid)),
        };
        self.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("`{}` is not a valid {what}", value.name),
            )
            .with_label(value.span, format!("expected {}", one_of(valid)))
            .with_help(help),
        );
    }

    fn security(&mut self, settings: &[ast::Setting]) -> Option<(bool, Span)> {
        let mut keys = Scope::default();
        let mut two_factor = None;
        for s in settings {
            if !keys.declare(self, "security setting", &s.key.name, s.key.span) {
                continue;
            }
            if s.key.name != "two_factor" {
                let help = match nearest(&s.key.name, ["two_factor"]) {
                    Some(k) => format!("did you mean `{k}`?"),
                    None => "the security settings are: `two_factor`".to_owned(),
                };
                self.push(
                    Diagnostic::new(
                        Code::UnknownPermission,
                        format!("unknown security setting `{}`", s.key.name),
                    )
                    .with_label(s.key.span, "not a security setting")
                    .with_help(help),
                );
                continue;
            }
            match &s.value {
                ast::Value::Word(w) if w.name == "required" => two_factor = Some((true, s.span)),
                ast::Value::Word(w) if w.name == "optional" => two_factor = Some((false, s.span)),
                ast::Value::Word(w) => {
                    self.invalid_value("`two_factor` value", w, &["required", "optional"])
                }
                ast::Value::List { span, .. } => self.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        "`two_factor` takes `required` or `optional`, not a list",
                    )
                    .with_label(*span, "a list")
                    .with_help("write `two_factor = required` or `two_factor = optional`"),
                ),
            }
        }
        two_factor
    }

    fn location_types(&mut self, decls: &[ast::LocationTypeDecl]) -> Vec<LocationType> {
        let mut scope = Scope::default();
        let mut kept: Vec<&ast::LocationTypeDecl> = Vec::new();
        for d in decls {
            if scope.declare(self, "location type", &d.id.name, d.id.span) {
                kept.push(d);
            }
        }
        let names: Vec<&str> = kept.iter().map(|d| d.id.name.as_str()).collect();
        // By name: a linear search per type was quadratic in the number of types.
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        kept.iter()
            .map(|d| {
                let parent =
                    d.parent
                        .as_ref()
                        .and_then(|p| match index.get(p.name.as_str()).copied() {
                            Some(i) => Some((LocTypeId(i as u32), p.span)),
                            None => {
                                self.push(unknown_name(
                                    "location type",
                                    p,
                                    "in this space",
                                    names.iter().copied(),
                                ));
                                None
                            }
                        });
                LocationType {
                    id: d.id.name.clone(),
                    span: d.id.span,
                    parent,
                }
            })
            .collect()
    }

    /// The location tree in preorder, and its name index (which also finds duplicates).
    fn locations(
        &mut self,
        types: &[LocationType],
        roots: Vec<ast::LocationDecl>,
    ) -> (Vec<Location>, HashMap<String, LocId>) {
        let mut ids: HashMap<String, LocId> = HashMap::new();
        let mut out: Vec<Location> = Vec::new();
        // Iterative preorder walk: (declaration, parent, index of the parent's entry).
        let mut stack: Vec<(ast::LocationDecl, Option<LocId>)> =
            roots.into_iter().rev().map(|r| (r, None)).collect();
        let mut open: Vec<usize> = Vec::new(); // entries whose subtree is still being emitted
        while let Some((mut decl, parent)) = stack.pop() {
            // Close every open subtree that is not an ancestor of this location.
            while let Some(&top) = open.last() {
                if Some(LocId(top as u32)) == parent {
                    break;
                }
                out[top].subtree_end = out.len() as u32;
                open.pop();
            }
            if let Some(first) = ids.get(&decl.id.name) {
                self.push(
                    Diagnostic::new(
                        Code::Duplicate,
                        format!("location `{}` is declared twice", decl.id.name),
                    )
                    .with_label(decl.id.span, "declared again here")
                    .with_label(out[first.index()].span, "first declared here")
                    .with_help("rename one of them or remove the repeated location"),
                );
                continue;
            }
            ids.insert(decl.id.name.clone(), LocId(out.len() as u32));
            let ty = types
                .iter()
                .position(|t| t.id == decl.ty.name)
                .map(|i| LocTypeId(i as u32));
            if ty.is_none() {
                self.push(unknown_name(
                    "location type",
                    &decl.ty,
                    "in this space",
                    types.iter().map(|t| t.id.as_str()),
                ));
            }
            let id = LocId(out.len() as u32);
            let children = std::mem::take(&mut decl.children);
            out.push(Location {
                id: decl.id.name,
                name: decl.name.map(|n| n.value),
                span: decl.id.span,
                ty,
                ty_span: decl.ty.span,
                parent,
                subtree_end: 0,
            });
            open.push(id.index());
            stack.extend(children.into_iter().rev().map(|c| (c, Some(id))));
        }
        let end = out.len() as u32;
        for top in open {
            out[top].subtree_end = end;
        }
        (out, ids)
    }

    fn roles(&mut self, declared: &[ast::RoleDecl]) -> Vec<Role> {
        let mut roles: Vec<Role> = BUILTIN_ROLES
            .iter()
            .filter(|b| b.id == ADMIN || !declared.iter().any(|d| d.id.name == b.id))
            .map(|b| Role {
                id: b.id.to_owned(),
                name: b.name.to_owned(),
                origin: RoleOrigin::Builtin,
                span: None,
                id_span: None,
                declared: b.values(),
                explicit: vec![None; Permission::ALL.len()],
                list_items: Vec::new(),
            })
            .collect();
        let mut scope = Scope::default();
        for d in declared {
            if d.id.name == ADMIN {
                self.push(
                    Diagnostic::new(Code::AdminRedefined, "the `admin` role cannot be redefined")
                        .with_label(d.id.span, "`admin` is built in")
                        .with_help("`admin` always holds every permission; declare a custom role with another id"),
                );
                continue;
            }
            if !scope.declare(self, "role", &d.id.name, d.id.span) {
                continue;
            }
            let (declared, explicit, list_items) = self.role_values(d);
            let builtin = BuiltinRole::find(&d.id.name);
            roles.push(Role {
                id: d.id.name.clone(),
                name: d
                    .name
                    .as_ref()
                    .map(|n| n.value.clone())
                    .or_else(|| builtin.map(|b| b.name.to_owned()))
                    .unwrap_or_else(|| d.id.name.clone()),
                origin: RoleOrigin::Declared {
                    redefines_builtin: builtin.is_some(),
                },
                span: Some(d.span),
                id_span: Some(d.id.span),
                declared,
                explicit,
                list_items,
            });
        }
        roles
    }

    /// Parses a role's settings over the custom defaults.
    fn role_values(
        &mut self,
        d: &ast::RoleDecl,
    ) -> (RoleValues, Vec<Option<Span>>, Vec<(Permission, Name)>) {
        let mut values = RoleValues::default();
        let mut list_items = Vec::new();
        let mut explicit = vec![None; Permission::ALL.len()];
        let mut keys = Scope::default();
        for s in &d.settings {
            let Some(permission) = Permission::from_key(&s.key.name) else {
                self.push(unknown_permission(&s.key, Permission::keys()));
                continue;
            };
            if !keys.declare(self, "permission", &s.key.name, s.key.span) {
                continue;
            }
            let parsed = match &s.value {
                ast::Value::Word(w) => permission
                    .parse_word(&w.name)
                    .map_err(|e| (e, w.span, Some(&w.name))),
                ast::Value::List { items, span } => {
                    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
                    permission.parse_list(&names).map_err(|e| (e, *span, None))
                }
            };
            match parsed {
                Ok(v) => {
                    if let ast::Value::List { items, .. } = &s.value {
                        list_items.extend(items.iter().map(|i| {
                            let name = Name {
                                name: i.name.clone(),
                                span: i.span,
                            };
                            (permission, name)
                        }));
                    }
                    values.set(permission, v);
                    explicit[permission as usize] = Some(s.span);
                }
                Err((e, span, word)) => {
                    let kind = permission.kind();
                    let message = match (e, word) {
                        (ValueError::NotAValue, Some(w)) => {
                            format!("`{w}` is not a value of `{}`", permission.key())
                        }
                        _ => format!(
                            "`{}` takes {}, not a list",
                            permission.key(),
                            kind.describe_values()
                        ),
                    };
                    let help = if let Some(s) =
                        word.and_then(|w| crate::model::hq::synonym(kind, w))
                    {
                        format!("did you mean `{s}`?")
                    } else if let (Kind::Items(_), Some(w)) = (kind, word) {
                        // One report is still a list.
                        format!("a list of reports is written in brackets: `[{w}]`")
                    } else {
                        match word.and_then(|w| nearest(w, kind.words().iter().copied())) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => {
                                format!("`{}` takes {}", permission.key(), kind.describe_values())
                            }
                        }
                    };
                    let label = if permission.kind() == Kind::RoleList {
                        "expected a list of role ids".to_owned()
                    } else {
                        format!("expected {}", permission.kind().describe_values())
                    };
                    self.push(
                        Diagnostic::new(Code::InvalidValue, message)
                            .with_label(span, label)
                            .with_help(help),
                    );
                }
            }
        }
        (values, explicit, list_items)
    }

    /// The id lists of the space's own declared roles: reports, applications, registries,
    /// profiles and `assignable_by` roles must name what the space declares.
    fn role_references(&mut self, ir: &Ir, space: SpaceId, index: &RoleIndex, granted: &[String]) {
        let s = ir.space(space);
        let mut problems = Vec::new();
        // Built once per kind the roles name, so a long list costs one lookup an item.
        let mut ids: Vec<(ItemKind, HashSet<&str>)> = Vec::new();
        for role in s.roles.iter().filter(|r| r.is_declared()) {
            for (permission, item) in &role.list_items {
                let ident = || Ident {
                    name: item.name.clone(),
                    span: item.span,
                };
                if *permission == Permission::AssignableBy {
                    if !index.names.contains_key(item.name.as_str()) {
                        problems.push(unknown_name(
                            "role",
                            &ident(),
                            "in this space",
                            index.names.keys().copied(),
                        ));
                    }
                    continue;
                }
                let Some(kind) = permission.kind().item_kind().filter(|k| k.is_declared()) else {
                    continue;
                };
                let at = match ids.iter().position(|(k, _)| *k == kind) {
                    Some(at) => at,
                    None => {
                        ids.push((kind, item_ids(s, kind, granted).collect()));
                        ids.len() - 1
                    }
                };
                let known = &ids[at].1;
                if !known.contains(item.name.as_str()) {
                    let scope = if kind == ItemKind::Registries {
                        "in this space or granted to it"
                    } else {
                        "in this space"
                    };
                    let candidates = item_ids(s, kind, granted);
                    problems.push(unknown_name(kind.noun(), &ident(), scope, candidates));
                }
            }
        }
        self.diagnostics.extend(problems);
    }

    /// A member's locations and groups (names of its own space); its role is resolved later by
    /// [`Resolver::member_role`], so the role statement is returned.
    fn member(&mut self, s: &Space, m: ast::MemberDecl) -> (Member, Option<Ident>) {
        self.check_member_name(&m);
        let mut roles = m.role.into_iter();
        let role = roles.next();
        for again in roles {
            if let Some(first) = &role {
                self.push(repeated(
                    "role",
                    again.span,
                    first.span,
                    "a member holds one role in a space",
                ));
            }
        }
        if role.is_none() && m.kind == ast::MemberKind::WebUser {
            self.push(
                Diagnostic::new(Code::MissingRole, format!("web user `{}` has no role", m.name.value))
                    .with_label(m.name.span, "no `role` given")
                    .with_help("give the member a role: `{ role read-only }`; only mobile workers get a default role"),
            );
        }
        let mut locations = Vec::new();
        for (i, (span, list)) in m.locations.iter().enumerate() {
            if i > 0 {
                self.push(repeated(
                    "locations",
                    *span,
                    m.locations[0].0,
                    "list every location in one `locations [...]`",
                ));
                continue;
            }
            // Repeats dropped through a set: a list may name every location of the space.
            let mut listed = HashSet::with_capacity(list.len());
            for l in list {
                match s.find_location(&l.name) {
                    Some(id) if listed.insert(id) => locations.push((id, l.span)),
                    Some(_) => {}
                    None => self.push(unknown_name(
                        "location",
                        l,
                        "in this space",
                        s.locations.iter().map(|l| l.id.as_str()),
                    )),
                }
            }
        }
        let mut groups = Vec::new();
        for (i, (span, list)) in m.groups.iter().enumerate() {
            if i > 0 {
                self.push(repeated(
                    "groups",
                    *span,
                    m.groups[0].0,
                    "list every group in one `groups [...]`",
                ));
                continue;
            }
            for g in list {
                match s.find_group(&g.name) {
                    Some(id) => groups.push(id),
                    None => self.push(unknown_name(
                        "group",
                        g,
                        "in this space",
                        s.groups.iter().map(|g| g.id.as_str()),
                    )),
                }
            }
        }
        let declares_locations = m.locations.iter().any(|(_, l)| !l.is_empty());
        let member = Member {
            kind: match m.kind {
                ast::MemberKind::WebUser => MemberKind::WebUser,
                ast::MemberKind::MobileWorker => MemberKind::MobileWorker,
            },
            name: m.name.value,
            span: m.span,
            name_span: m.name.span,
            role: None,
            role_span: role.as_ref().map(|r| r.span),
            locations,
            declares_locations,
            groups,
            login_as: Vec::new(),
            login_as_default: None,
        };
        (member, role)
    }

    /// A member's name: no invisible or control character (it could pass for another member in
    /// every listing); a web user's is an email address.
    fn check_member_name(&mut self, m: &ast::MemberDecl) {
        let name = &m.name.value;
        // Offsets inside the quotes are exact when the string has no escapes.
        let exact = (m.name.span.end - m.name.span.start) as usize == name.len() + 2;
        let at = |i: usize, c: char| {
            if exact {
                let start = m.name.span.start as usize + 1 + i;
                Span::new(m.name.span.source, start, start + c.len_utf8())
            } else {
                m.name.span
            }
        };
        if let Some((i, c)) = name.char_indices().find(|&(_, c)| is_invisible(c)) {
            self.push(
                Diagnostic::new(
                    Code::InvisibleCharacter,
                    format!(
                        "member name `{}` contains an invisible character (U+{:04X})",
                        name.escape_debug(),
                        c as u32
                    ),
                )
                .with_label(at(i, c), format!("U+{:04X} here", c as u32))
                .with_help(
                    "remove it: a name with invisible characters can pass for another member in every listing",
                ),
            );
            return;
        }
        if name.is_empty() || name.starts_with(' ') || name.ends_with(' ') {
            self.push(
                Diagnostic::new(
                    Code::InvisibleCharacter,
                    if name.is_empty() {
                        "member name is empty".to_owned()
                    } else {
                        format!("member name `{name}` starts or ends with a space")
                    },
                )
                .with_label(m.name.span, "this name")
                .with_help(
                    "write the name without surrounding spaces: `asha` and `asha ` would look alike in every listing",
                ),
            );
            return;
        }
        if m.kind == ast::MemberKind::MobileWorker
            && let Some(c) = name.chars().find(|c| !is_username_char(*c))
        {
            self.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("mobile worker username {name:?} contains {c:?}"),
                )
                .with_label(m.name.span, "not a username")
                .with_help(
                    "a username is letters, digits and `.`, `_`, `-`, `+`, `@` (as CommCare allows)",
                ),
            );
            return;
        }
        if m.kind == ast::MemberKind::WebUser && !is_email(name) {
            let help = if name.is_empty() {
                "a web user is named by the email address they sign in with".to_owned()
            } else if !name.contains('@') {
                format!(
                    "a web user is named by the email address they sign in with; a mobile worker is named by a username: `mobile_worker {}`",
                    if is_slug(name) {
                        name.as_str()
                    } else {
                        "USERNAME"
                    }
                )
            } else {
                "write it as `local@domain`, without spaces".to_owned()
            };
            self.push(
                Diagnostic::new(
                    Code::NotAnEmail,
                    if name.is_empty() {
                        "web user name is empty".to_owned()
                    } else {
                        format!("web user `{name}` is not an email address")
                    },
                )
                .with_label(m.name.span, "expected `local@domain`")
                .with_help(help),
            );
        }
    }

    /// A member's role among the roles its space holds; a mobile worker without one holds
    /// `mobile-worker-default`.
    fn member_role(
        &mut self,
        index: &RoleIndex,
        m: &Member,
        role: Option<Ident>,
    ) -> Option<RoleRef> {
        match role {
            Some(r) => match index.names.get(r.name.as_str()) {
                Some(rr) => Some(*rr),
                None => {
                    self.push(unknown_name(
                        "role",
                        &r,
                        "in this space",
                        index.names.keys().copied(),
                    ));
                    None
                }
            },
            None if m.kind == MemberKind::MobileWorker => {
                index.names.get(MOBILE_WORKER_DEFAULT).copied()
            }
            None => None,
        }
    }

    /// Duplicate members, across web users and mobile workers of one space (both are named by a
    /// string in queries, so they share one namespace). Names compare ignoring ASCII case:
    /// `Neema@x.org` and `neema@x.org` are one person.
    fn duplicate_members(&mut self, space: &Space) {
        let mut seen: HashMap<Folded<'_>, (&str, Span)> =
            HashMap::with_capacity(space.members.len());
        for m in &space.members {
            if let Some((first_name, first)) = seen.get(&Folded(&m.name)) {
                let same_case = *first_name == m.name;
                self.push(
                    Diagnostic::new(
                        Code::Duplicate,
                        if same_case {
                            format!("member `{}` is declared twice in `{}`", m.name, space.id)
                        } else {
                            format!(
                                "member `{}` is declared twice in `{}` (as `{first_name}`: names compare ignoring case)",
                                m.name, space.id
                            )
                        },
                    )
                    .with_label(m.name_span, "declared again here")
                    .with_label(*first, "first declared here")
                    .with_help("a person holds one role in a space: merge the two declarations"),
                );
            } else {
                seen.insert(Folded(&m.name), (&m.name, m.name_span));
            }
        }
    }

    /// The `test` blocks, lowered once: each assertion's names resolved (or reported), and
    /// members no space declares reported.
    fn tests(&mut self, ir: &Ir) -> Vec<Test> {
        // The members the assertions name, found in one pass over every member (no string is
        // built per member: a policy holds hundreds of thousands, an assertion a few).
        let mut named: HashMap<Folded<'_>, bool> = HashMap::new();
        for a in self.tests.iter().flat_map(|t| &t.assertions) {
            for member in asserted_members(a) {
                named.insert(Folded(&member.value), false);
            }
        }
        if !named.is_empty() {
            for m in ir.spaces.iter().flat_map(|s| &s.members) {
                if let Some(found) = named.get_mut(&Folded(&m.name)) {
                    *found = true;
                }
            }
        }
        let declared = |name: &str| named.get(&Folded(name)).copied().unwrap_or(false);
        let mut undeclared = Vec::new();
        for a in self.tests.iter().flat_map(|t| &t.assertions) {
            for member in asserted_members(a) {
                if !declared(&member.value) {
                    undeclared.push(member.clone());
                }
            }
        }
        for member in undeclared {
            self.undeclared_member(ir, &member);
        }
        let tests = std::mem::take(&mut self.tests);
        tests
            .into_iter()
            .map(|test| {
                let assertions = test
                    .assertions
                    .into_iter()
                    .map(|a| Assertion {
                        query: self.query(ir, &a.query),
                        expected: a.expected.into_iter().flatten().map(|s| s.value).collect(),
                        span: a.span,
                    })
                    .collect();
                Test {
                    name: test.name.value,
                    span: test.span,
                    assertions,
                }
            })
            .collect()
    }

    /// An assertion about a member no space declares tests nothing (a `cannot` passes, and so
    /// does a typo): a warning with the nearest declared name.
    fn undeclared_member(&mut self, ir: &Ir, member: &ast::Str) {
        let everyone = ir
            .spaces
            .iter()
            .flat_map(|s| &s.members)
            .map(|m| m.name.as_str());
        let help = match nearest(&member.value, everyone) {
            Some(n) => format!("did you mean `{n}`?"),
            None => "declare the member in a space, or fix the name".to_owned(),
        };
        self.push(
            Diagnostic::new(
                Code::UndeclaredMember,
                format!("no space declares a member named `{}`", member.value),
            )
            .with_label(member.span, "not a member of any space")
            .with_help(help),
        );
    }

    /// Resolves a query's names (space, permission, level, location, report); `None` after
    /// reporting the ones that do not exist.
    fn query(&mut self, ir: &Ir, q: &ast::Query) -> Option<ResolvedQuery> {
        match question::resolve_query(ir, q) {
            Ok(q) => Some(q),
            Err(mut problems) => {
                self.diagnostics.append(&mut problems);
                None
            }
        }
    }
}

/// The members an assertion names: its subject, or a `who` answer's list.
fn asserted_members(a: &ast::Assertion) -> Vec<&ast::Str> {
    match &a.query {
        ast::Query::Can { member, .. } | ast::Query::Why { member, .. } => vec![member],
        ast::Query::What { member, .. } => vec![member],
        ast::Query::Who { .. } => a.expected.iter().flatten().collect(),
    }
}

/// A name compared and hashed ignoring ASCII case (member names), without building the
/// lower-cased string.
#[derive(Clone, Copy, Debug)]
struct Folded<'a>(&'a str);

impl PartialEq for Folded<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Folded<'_> {}

impl std::hash::Hash for Folded<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut folded = [0u8; 32];
        for chunk in self.0.as_bytes().chunks(folded.len()) {
            for (f, b) in folded.iter_mut().zip(chunk) {
                *f = b.to_ascii_lowercase();
            }
            state.write(&folded[..chunk.len()]);
        }
        state.write_u8(0xff);
    }
}

/// A declared name of a space's table (groups, reports, applications, profiles).
fn named(id: &Ident, name: &Option<ast::Str>) -> Named {
    Named {
        id: id.name.clone(),
        name: name.as_ref().map(|n| n.value.clone()),
        span: id.span,
    }
}

/// Control, format (zero-width, bidi), and other characters that show as nothing or as a
/// space; a member name with one could pass for another member.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
            | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}'
            | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}' | '\u{08E2}' | '\u{110BD}'
            | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}')
}

/// `[a-z][a-z0-9_-]*`, the form of an identifier.
fn is_slug(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `local@domain`: one `@`, something on either side, no spaces, quotes, backslashes or markup
/// characters (a name is shown in Markdown and terminals), a domain of dot-separated labels.
fn is_email(name: &str) -> bool {
    let forbidden = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\\' | '`' | '<' | '>' | '|' | ',' | ';' | '(' | ')' | '[' | ']' | ':'
            )
    };
    match name.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !name.contains(forbidden)
                && domain.split('.').all(|label| !label.is_empty())
        }
        None => false,
    }
}

/// A character CommCare allows in a mobile worker's username.
fn is_username_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@')
}

/// Role names visible in a space, built once per space (members are many, roles few).
pub(crate) struct RoleIndex<'a> {
    names: HashMap<&'a str, RoleRef>,
}

impl<'a> RoleIndex<'a> {
    fn new(ir: &'a Ir, space: SpaceId) -> RoleIndex<'a> {
        let names = ir
            .roles_of(space)
            .into_iter()
            .map(|r| (ir.role(r).id.as_str(), r))
            .collect();
        RoleIndex { names }
    }
}

/// The ids a role's list of `kind` may name in a space: what the space declares, and for
/// registries also those other spaces grant to it (HQ's accepted invitations).
fn item_ids<'a>(
    s: &'a Space,
    kind: ItemKind,
    granted: &'a [String],
) -> impl Iterator<Item = &'a str> + Clone {
    let declared: &'a [crate::ir::Named] = match kind {
        ItemKind::Reports => &s.reports,
        ItemKind::Applications => &s.applications,
        ItemKind::Profiles => &s.profiles,
        _ => &[],
    };
    let registries = match kind {
        ItemKind::Registries => (&s.registries[..], granted),
        _ => (&[][..], &[][..]),
    };
    declared
        .iter()
        .map(|n| n.id.as_str())
        .chain(registries.0.iter().map(|r| r.id.as_str()))
        .chain(registries.1.iter().map(String::as_str))
}

/// For each space, the ids of the registries other spaces grant to it, in one pass.
fn granted_registries(ir: &Ir) -> Vec<Vec<String>> {
    let mut granted = vec![Vec::new(); ir.spaces.len()];
    for other in &ir.spaces {
        for g in &other.grants {
            let id = &other.registry(g.registry).id;
            for (to, _) in &g.to {
                if let Some(list) = granted.get_mut(to.index()) {
                    list.push(id.clone());
                }
            }
        }
    }
    granted
}
