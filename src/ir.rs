//! The resolved policy: interned ids, flat `Vec` tables, spans kept for diagnostics.
//!
//! Invariants: every id indexes the table it names (a `LocId` indexes its space's
//! `locations`); `locations` are stored in preorder with `subtree_end`, so "A is at or below B"
//! is two comparisons; `spaces` are sorted by id, so output does not depend on file order.
//! No syntax types: what the IR needs of the syntax tree (member kinds, list items, `test`
//! assertions) is lowered into its own types by `resolve`.

use std::collections::HashMap;

use crate::model::builtin::ADMIN;
use crate::model::rules::{self, Context, Effective};
use crate::model::{Environment, FeatureFlags, Permission, Plan, RoleValues};
use crate::question::ResolvedQuery;
use crate::source::Span;

macro_rules! ids {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize { self.0 as usize }
        }
    )*};
}
ids!(
    EnterpriseId,
    SpaceId,
    RoleId,
    LocId,
    LocTypeId,
    GroupId,
    ReportId,
    ApplicationId,
    RegistryId,
    ProfileId,
    MemberId
);

/// A whole policy after name resolution.
#[derive(Debug, Default)]
pub struct Ir {
    pub enterprises: Vec<Enterprise>,
    pub spaces: Vec<Space>,
    pub tests: Vec<Test>,
}

/// A `test` block, its assertions lowered once (names resolved) when the policy compiles.
#[derive(Debug)]
pub struct Test {
    pub name: String,
    pub span: Span,
    pub assertions: Vec<Assertion>,
}

/// One `assert` of a test.
#[derive(Debug)]
pub struct Assertion {
    /// `None` when a name did not resolve: reported when compiling, so a policy with such an
    /// assertion has errors and its tests are not run.
    pub query: Option<ResolvedQuery>,
    /// For `who` assertions: the members expected, as written.
    pub expected: Vec<String>,
    pub span: Span,
}

/// An id as written in the policy, with its span (a list item: `reports = [visits]`).
#[derive(Debug, Clone)]
pub struct Name {
    pub name: String,
    pub span: Span,
}

/// How a member is identified: a web user by email, a mobile worker by username.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberKind {
    WebUser,
    MobileWorker,
}

#[derive(Debug, Clone)]
pub struct Enterprise {
    pub id: String,
    pub name: Option<String>,
    pub span: Span,
    pub id_span: Span,
    pub admins: Vec<(String, Span)>,
    /// `permissions { source S spaces [...] }`: at most one per enterprise (HQ keeps one per
    /// billing account).
    pub permissions: Option<EnterprisePermissions>,
}

/// Enterprise Permissions (HQ's `EnterprisePermissions`): every member of `source` is a member
/// of each of `spaces` with its source role. Resolved: every space is a space of the
/// enterprise, on the source's server, and none is the source.
#[derive(Debug, Clone)]
pub struct EnterprisePermissions {
    /// The `permissions` keyword.
    pub span: Span,
    pub source: (SpaceId, Span),
    /// In the order written, without repeats.
    pub spaces: Vec<(SpaceId, Span)>,
}

/// `registry ID "Name" { case_types [...] }`: a data registry the space owns.
#[derive(Debug, Clone)]
pub struct Registry {
    pub id: String,
    pub name: Option<String>,
    pub span: Span,
    /// The registry's schema: the case types it shares, in the order written, without repeats.
    pub case_types: Vec<String>,
}

/// `grant REGISTRY to [SPACES]` (HQ's `RegistryGrant(from_domain, to_domains)`): the listed
/// spaces may read the granting space's data of the registry's case types.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The `grant` keyword.
    pub span: Span,
    pub registry: RegistryId,
    pub registry_span: Span,
    /// In the order written, without repeats; never the granting space.
    pub to: Vec<(SpaceId, Span)>,
}

/// A declared name with its span: groups, reports.
#[derive(Debug, Clone)]
pub struct Named {
    pub id: String,
    pub name: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct LocationType {
    pub id: String,
    pub span: Span,
    pub parent: Option<(LocTypeId, Span)>,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub id: String,
    pub name: Option<String>,
    pub span: Span,
    /// `None` when the type name did not resolve (already reported).
    pub ty: Option<LocTypeId>,
    pub ty_span: Span,
    pub parent: Option<LocId>,
    /// One past the last descendant in preorder.
    pub subtree_end: u32,
}

/// Where a role's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleOrigin {
    /// A built-in role with its built-in values.
    Builtin,
    /// Declared in the policy (a custom role, or a redefined built-in).
    Declared { redefines_builtin: bool },
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub origin: RoleOrigin,
    /// The `role` declaration; `None` for built-ins.
    pub span: Option<Span>,
    pub id_span: Option<Span>,
    pub declared: RoleValues,
    /// For each permission, the `key = value` setting that set it explicitly.
    pub explicit: Vec<Option<Span>>,
    /// Ids written in list values (`reports = [a]`, `assignable_by [b]`), with their spans.
    pub list_items: Vec<(Permission, Name)>,
}

impl Role {
    pub fn is_admin(&self) -> bool {
        self.id == ADMIN
    }

    pub fn is_declared(&self) -> bool {
        matches!(self.origin, RoleOrigin::Declared { .. })
    }

    pub fn explicit(&self, p: Permission) -> Option<Span> {
        self.explicit[p as usize]
    }
}

/// A role as held in some space: possibly one received from the space's upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleRef {
    pub space: SpaceId,
    pub role: RoleId,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub kind: MemberKind,
    pub name: String,
    pub span: Span,
    pub name_span: Span,
    /// `None` only when the role name did not resolve (already reported).
    pub role: Option<RoleRef>,
    pub role_span: Option<Span>,
    pub locations: Vec<(LocId, Span)>,
    /// Whether the member has a `locations [...]` statement (even one that did not resolve).
    pub declares_locations: bool,
    pub groups: Vec<GroupId>,
    /// A mobile worker's `login_as [...]` (HQ's `login_as_user`): web users of the same space
    /// who may log in as this worker, in the order written, without repeats.
    pub login_as: Vec<(MemberId, Span)>,
    /// `"default"` in that list (HQ's default Login-As user): web users whose role has
    /// `login_as_default_user` may log in as this worker with `login_as = limited`.
    pub login_as_default: Option<Span>,
}

#[derive(Debug, Clone)]
pub struct Space {
    pub id: String,
    pub name: Option<String>,
    pub span: Span,
    pub id_span: Span,
    pub enterprise: Option<(EnterpriseId, Span)>,
    pub plan: Plan,
    pub plan_span: Option<Span>,
    pub server: Option<(String, Span)>,
    pub upstream: Option<(SpaceId, Span)>,
    /// The span of `remote` in `upstream ID remote`: the upstream lives on another server,
    /// linked through HQ's `DomainLink.remote_base_url`. Set only with `upstream`.
    pub upstream_remote: Option<Span>,
    pub environment: Option<(Environment, Span)>,
    /// `security { two_factor = required }`.
    pub two_factor: Option<(bool, Span)>,
    pub location_types_span: Option<Span>,
    pub locations_span: Option<Span>,
    pub location_types: Vec<LocationType>,
    pub locations: Vec<Location>,
    pub groups: Vec<Named>,
    pub reports: Vec<Named>,
    /// `features [...]`: the HQ feature flags the space turns on.
    pub features: FeatureFlags,
    /// The `features` statement, when there is one.
    pub features_span: Option<Span>,
    /// `application ID "Name"`, in source order.
    pub applications: Vec<Named>,
    /// `registry ID "Name" { case_types [...] }`, in source order.
    pub registries: Vec<Registry>,
    /// `profile ID "Name"` (HQ user profiles), in source order.
    pub profiles: Vec<Named>,
    /// `grant REGISTRY to [SPACES]`, one per registry, in source order.
    pub grants: Vec<Grant>,
    /// Built-ins (unless redefined) in catalogue order, then declared roles in source order.
    pub roles: Vec<Role>,
    pub members: Vec<Member>,
    /// Name → id lookups for the tables above (filled once, after they are built).
    pub lookup: NameLookup,
}

/// Hash lookups by name; spaces hold up to hundreds of thousands of locations and members.
#[derive(Debug, Default, Clone)]
pub struct NameLookup {
    pub locations: std::collections::HashMap<String, LocId>,
    pub groups: std::collections::HashMap<String, GroupId>,
    pub reports: std::collections::HashMap<String, ReportId>,
    pub applications: std::collections::HashMap<String, ApplicationId>,
    pub registries: std::collections::HashMap<String, RegistryId>,
    pub profiles: std::collections::HashMap<String, ProfileId>,
}

/// Id → position of a table of declared names.
fn positions<'a, T>(
    ids: impl Iterator<Item = &'a String>,
    id: fn(u32) -> T,
) -> std::collections::HashMap<String, T> {
    ids.enumerate()
        .map(|(i, name)| (name.clone(), id(i as u32)))
        .collect()
}

impl NameLookup {
    /// The lookups of a space whose tables are built.
    pub fn build(locations: std::collections::HashMap<String, LocId>, s: &Space) -> NameLookup {
        NameLookup {
            locations,
            groups: positions(s.groups.iter().map(|g| &g.id), GroupId),
            reports: positions(s.reports.iter().map(|r| &r.id), ReportId),
            applications: positions(s.applications.iter().map(|a| &a.id), ApplicationId),
            registries: positions(s.registries.iter().map(|r| &r.id), RegistryId),
            profiles: positions(s.profiles.iter().map(|p| &p.id), ProfileId),
        }
    }
}

impl Space {
    pub fn role(&self, id: RoleId) -> &Role {
        &self.roles[id.index()]
    }

    pub fn find_location(&self, id: &str) -> Option<LocId> {
        self.lookup.locations.get(id).copied()
    }

    pub fn find_report(&self, id: &str) -> Option<ReportId> {
        self.lookup.reports.get(id).copied()
    }

    pub fn find_group(&self, id: &str) -> Option<GroupId> {
        self.lookup.groups.get(id).copied()
    }

    pub fn find_application(&self, id: &str) -> Option<ApplicationId> {
        self.lookup.applications.get(id).copied()
    }

    pub fn find_registry(&self, id: &str) -> Option<RegistryId> {
        self.lookup.registries.get(id).copied()
    }

    pub fn find_profile(&self, id: &str) -> Option<ProfileId> {
        self.lookup.profiles.get(id).copied()
    }

    pub fn registry(&self, id: RegistryId) -> &Registry {
        &self.registries[id.index()]
    }

    pub fn member(&self, id: MemberId) -> &Member {
        &self.members[id.index()]
    }

    pub fn rule_context(&self) -> Context {
        Context {
            plan: self.plan,
            report_count: self.reports.len(),
            features: self.features,
        }
    }
}

impl Ir {
    pub fn space(&self, id: SpaceId) -> &Space {
        &self.spaces[id.index()]
    }

    pub fn role(&self, r: RoleRef) -> &Role {
        self.space(r.space).role(r.role)
    }

    pub fn find_space(&self, id: &str) -> Option<SpaceId> {
        self.spaces
            .binary_search_by(|s| s.id.as_str().cmp(id))
            .ok()
            .map(|i| SpaceId(i as u32))
    }

    /// The roles a space holds: its own, plus the declared roles received from its upstream
    /// (which shadow the space's untouched built-ins of the same id).
    pub fn roles_of(&self, space: SpaceId) -> Vec<RoleRef> {
        let s = self.space(space);
        let received: Vec<RoleRef> = self.received_roles(space);
        // By id, in sets: a space may hold many thousands of roles.
        let received_ids: std::collections::HashSet<&str> = received
            .iter()
            .map(|rr| self.role(*rr).id.as_str())
            .collect();
        let declared_ids: std::collections::HashSet<&str> = s
            .roles
            .iter()
            .filter(|r| r.is_declared())
            .map(|r| r.id.as_str())
            .collect();
        let mut out: Vec<RoleRef> = s
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_declared() || !received_ids.contains(r.id.as_str()))
            .map(|(i, _)| RoleRef {
                space,
                role: RoleId(i as u32),
            })
            .collect();
        // A downstream role of the same id is an error (E0211); keep the downstream's.
        out.extend(
            received
                .into_iter()
                .filter(|rr| !declared_ids.contains(self.role(*rr).id.as_str())),
        );
        out
    }

    /// The declared roles of the space's upstream, which it holds read-only.
    pub fn received_roles(&self, space: SpaceId) -> Vec<RoleRef> {
        let Some((up, _)) = self.space(space).upstream else {
            return Vec::new();
        };
        if up == space {
            return Vec::new();
        }
        self.space(up)
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_declared() && !r.is_admin())
            .map(|(i, _)| RoleRef {
                space: up,
                role: RoleId(i as u32),
            })
            .collect()
    }

    /// Whether `space` has the item a role's list names: its report, application or profile,
    /// or a registry it owns or another space grants to it.
    pub fn holds_item(&self, space: SpaceId, kind: crate::model::ItemKind, id: &str) -> bool {
        use crate::model::ItemKind;
        let s = self.space(space);
        match kind {
            ItemKind::Reports => s.find_report(id).is_some(),
            ItemKind::Applications => s.find_application(id).is_some(),
            ItemKind::Profiles => s.find_profile(id).is_some(),
            ItemKind::Registries => {
                s.find_registry(id).is_some()
                    || self.spaces.iter().any(|o| {
                        o.grants.iter().any(|g| {
                            o.registry(g.registry).id == id && g.to.iter().any(|(t, _)| *t == space)
                        })
                    })
            }
            ItemKind::TableauReports | ItemKind::AnalyticsRoles => true,
        }
    }

    /// A role's effective values as held in `space` (whose plan and reports apply).
    pub fn effective(&self, space: SpaceId, role: RoleRef) -> Effective {
        let held_in = self.space(space);
        let mut declared = self.role(role).declared.clone();
        if role.space != space {
            // Ids the holding space lacks (reports: E0212 for an upstream's) reach nothing here.
            for &p in Permission::ALL {
                let Some(kind) = p.kind().item_kind().filter(|k| k.is_declared()) else {
                    continue;
                };
                if let crate::model::Value::Items(crate::model::Items::Some(ids)) =
                    declared.get(p).clone()
                {
                    let kept: Vec<&str> = ids
                        .iter()
                        .filter(|id| self.holds_item(space, kind, id))
                        .map(String::as_str)
                        .collect();
                    if let Ok(v) = p.parse_list(&kept) {
                        declared.set(p, v);
                    }
                }
            }
        }
        rules::evaluate(&declared, &held_in.rule_context())
    }
}

/// The roles a space holds, with their effective values in that space.
#[derive(Debug)]
pub struct HeldRoles {
    pub roles: Vec<RoleRef>,
    pub effective: Vec<Effective>,
    /// Position in `roles` (looked up once per member: not a linear search).
    at: HashMap<RoleRef, usize>,
}

impl HeldRoles {
    pub fn get(&self, role: RoleRef) -> Option<&Effective> {
        self.at.get(&role).map(|&i| &self.effective[i])
    }

    /// Adds `role` (held in `space` by other means, e.g. Enterprise Permissions) unless held.
    pub fn add(&mut self, ir: &Ir, space: SpaceId, role: RoleRef) -> usize {
        if let Some(&i) = self.at.get(&role) {
            return i;
        }
        self.roles.push(role);
        self.effective.push(ir.effective(space, role));
        self.at.insert(role, self.roles.len() - 1);
        self.roles.len() - 1
    }
}

impl Ir {
    /// Every role `space` holds with its effective values, computed once per use site.
    /// The web users Enterprise Permissions make members of space `id`, with their source role
    /// (the source space's own role reference), in the source's order.
    pub fn enterprise_members(&self, id: SpaceId) -> Vec<(&Member, RoleRef)> {
        let ir = self;
        let mut out = Vec::new();
        for e in &ir.enterprises {
            let Some(p) = &e.permissions else { continue };
            if !p.spaces.iter().any(|(t, _)| *t == id) {
                continue;
            }
            let source = ir.space(p.source.0);
            let held = ir.held_roles(p.source.0);
            for m in source
                .members
                .iter()
                .filter(|m| m.kind == MemberKind::WebUser)
            {
                // A location-restricted source role reaches nothing here: its locations are the
                // source's, and HQ blocks every view for a restricted user with none in the space.
                let Some(r) = m.role.filter(|r| {
                    held.get(*r).is_some_and(|e| {
                        e.values
                            .switch(crate::model::Permission::FullOrganizationAccess)
                    })
                }) else {
                    continue;
                };
                out.push((m, r));
            }
        }
        out
    }

    pub fn held_roles(&self, space: SpaceId) -> HeldRoles {
        let roles = self.roles_of(space);
        let effective = roles.iter().map(|r| self.effective(space, *r)).collect();
        let at = roles.iter().enumerate().map(|(i, r)| (*r, i)).collect();
        HeldRoles {
            roles,
            effective,
            at,
        }
    }
}
