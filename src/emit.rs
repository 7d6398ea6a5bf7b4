//! Stage 4: IR → [`Snapshot`]. Runs only on a policy without errors.

use std::collections::BTreeMap;

use crate::ir::{Ir, MemberKind, RoleOrigin, RoleRef, SpaceId};
use crate::model::rules::Effective;
use crate::model::rules::Reason;
use crate::model::{LandingPage, Permission, Value};
use crate::snapshot::format::sha256;
use crate::snapshot::*;
use crate::source::SourceSet;

/// Builds the snapshot of a checked policy. Its `content_digest` is empty until it is written
/// (`snapshot::format::write` signs it).
pub fn emit(ir: &Ir, sources: &SourceSet) -> Snapshot {
    let mut snapshot = head(ir, sources);
    snapshot.spaces = spaces(ir).collect();
    snapshot
}

/// The snapshot without its spaces: versions, source digest, enterprises.
pub fn head(ir: &Ir, sources: &SourceSet) -> Snapshot {
    Snapshot {
        format_version: FORMAT_VERSION,
        compiler_version: env!("CARGO_PKG_VERSION").to_owned(),
        source_digest: source_digest(sources),
        content_digest: String::new(),
        signature: None,
        enterprises: ir
            .enterprises
            .iter()
            .enumerate()
            .map(|(e, ent)| EnterpriseEntry {
                id: ent.id.clone(),
                name: ent.name.clone(),
                admins: ent.admins.iter().map(|(a, _)| a.clone()).collect(),
                spaces: ir
                    .spaces
                    .iter()
                    .filter(|s| s.enterprise.is_some_and(|(id, _)| id.index() == e))
                    .map(|s| s.id.clone())
                    .collect(),
                permissions: ent
                    .permissions
                    .as_ref()
                    .map(|p| EnterprisePermissionsEntry {
                        source: ir.space(p.source.0).id.clone(),
                        spaces: p
                            .spaces
                            .iter()
                            .map(|(s, _)| ir.space(*s).id.clone())
                            .collect(),
                    }),
            })
            .collect(),
        spaces: Vec::new(),
        index: None,
    }
}

/// Each space's snapshot entry, made when asked for: [`emit`] collects them, a build streams
/// them to the file one by one (`pipeline::write_snapshot`).
pub fn spaces(ir: &Ir) -> impl ExactSizeIterator<Item = SpaceEntry> + '_ {
    (0..ir.spaces.len()).map(|i| space_entry(ir, SpaceId(i as u32)))
}

/// Digest of every file's relative path and contents, in path order, so that it does not
/// depend on where the policy is checked out or in which order files were found.
fn source_digest(sources: &SourceSet) -> String {
    let mut files: Vec<_> = sources.files().map(|(_, f)| f).collect();
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    let mut bytes = Vec::new();
    for f in files {
        bytes.extend_from_slice(f.relative.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(f.text.len().to_string().as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(f.text.as_bytes());
    }
    sha256(&bytes)
}

fn value(v: &Value) -> PermissionValue {
    match v {
        Value::Items(crate::model::Items::Some(ids)) | Value::Roles(ids) => {
            PermissionValue::List(ids.clone())
        }
        other => PermissionValue::Word(other.to_source()),
    }
}

/// A role's snapshot entry as held in space `id`.
fn role_entry(ir: &Ir, id: SpaceId, r: &RoleRef, effective: &Effective) -> RoleEntry {
    let role = ir.role(*r);
    let mut permissions = BTreeMap::new();
    let mut reasons = BTreeMap::new();
    for &p in Permission::ALL {
        permissions.insert(p.key().to_owned(), value(effective.values.get(p)));
        if let Some(reason) = effective.reason(p) {
            let mut entry = ReasonEntry {
                declared: value(role.declared.get(p)),
                implied_by: None,
                hidden_by: None,
                requires_plan: None,
                requires_feature: None,
                requires: None,
            };
            match reason {
                Reason::ImpliedBy(q) => entry.implied_by = Some(q.key().to_owned()),
                Reason::HiddenBy(q) => entry.hidden_by = Some(q.key().to_owned()),
                Reason::RequiresPlan(plan) => entry.requires_plan = Some(plan.as_str().to_owned()),
                Reason::RequiresFeature(flag) => {
                    entry.requires_feature = Some(flag.as_str().to_owned())
                }
                Reason::Requires(q) => entry.requires = Some(q.key().to_owned()),
            }
            reasons.insert(p.key().to_owned(), entry);
        }
    }
    RoleEntry {
        id: role.id.clone(),
        name: role.name.clone(),
        origin: match role.origin {
            RoleOrigin::Builtin => "builtin",
            RoleOrigin::Declared {
                redefines_builtin: true,
            } => "redefined",
            RoleOrigin::Declared {
                redefines_builtin: false,
            } => "custom",
        }
        .to_owned(),
        from_upstream: (r.space != id).then(|| ir.space(r.space).id.clone()),
        from_enterprise: None,
        permissions,
        reasons,
    }
}

/// A member's snapshot entry, `s` being the space that declares it.
fn member_entry<'a>(
    ir: &Ir,
    s: &crate::ir::Space,
    id: SpaceId,
    m: &crate::ir::Member,
    effective: impl Fn(RoleRef) -> Option<&'a Effective>,
) -> Option<MemberEntry> {
    let r = m.role?;
    let effective = effective(r)?;
    let assigned: Vec<String> = m
        .locations
        .iter()
        .map(|(l, _)| s.locations[l.index()].id.clone())
        .collect();
    // A restricted member's scope is its assigned locations; only a member with full
    // access needs them listed apart (a mobile worker's facility).
    let (scope, locations) = if effective.values.switch(Permission::FullOrganizationAccess) {
        (ScopeEntry::All("all".to_owned()), assigned)
    } else {
        (ScopeEntry::Locations(assigned), Vec::new())
    };
    let landing = match (effective.values.landing_page(), m.kind) {
        (LandingPage::Default, MemberKind::MobileWorker) | (LandingPage::WebApps, _) => {
            LandingPageEntry::WebApps
        }
        (LandingPage::Default, MemberKind::WebUser) | (LandingPage::Dashboard, _) => {
            LandingPageEntry::Dashboard
        }
        (LandingPage::Reports, _) => LandingPageEntry::Reports,
        (LandingPage::Downloads, _) => LandingPageEntry::Downloads,
    };
    Some(MemberEntry {
        name: m.name.clone(),
        kind: match m.kind {
            MemberKind::WebUser => MemberKindEntry::WebUser,
            MemberKind::MobileWorker => MemberKindEntry::MobileWorker,
        },
        role: ir.role(r).id.clone(),
        role_from_upstream: (r.space != id).then(|| ir.space(r.space).id.clone()),
        enterprise_source: None,
        scope,
        locations,
        groups: m
            .groups
            .iter()
            .map(|g| s.groups[g.index()].id.clone())
            .collect(),
        login_as: m
            .login_as
            .iter()
            .map(|(w, _)| s.member(*w).name.clone())
            .chain(
                m.login_as_default
                    .map(|_| crate::model::DEFAULT_LOGIN_AS.to_owned()),
            )
            .collect(),
        landing_page: landing,
    })
}

/// One space's snapshot entry.
pub fn space_entry(ir: &Ir, id: SpaceId) -> SpaceEntry {
    let s = ir.space(id);
    let held = ir.held_roles(id);
    let mut roles: Vec<RoleEntry> = held
        .roles
        .iter()
        .zip(&held.effective)
        .map(|(r, effective)| role_entry(ir, id, r, effective))
        .collect();
    // HQ's Enterprise Permissions: the source's web users are members here with their
    // source role (and their source membership wins over one declared here).
    let enterprise = ir.enterprise_members(id);
    let replaced: std::collections::HashSet<String> = enterprise
        .iter()
        .map(|(m, _)| m.name.to_ascii_lowercase())
        .collect();
    let mut members: Vec<MemberEntry> = s
        .members
        .iter()
        .filter(|m| !replaced.contains(&m.name.to_ascii_lowercase()))
        .filter_map(|m| member_entry(ir, s, id, m, |r| held.get(r)))
        .collect();
    // Each role received once, in the members' order; found again through a map (an
    // enterprise may give a space many members and roles).
    let mut received: std::collections::HashMap<RoleRef, usize> = std::collections::HashMap::new();
    let held_here: Vec<(RoleRef, Effective)> = enterprise
        .iter()
        .filter_map(|(_, r)| {
            if received.contains_key(r) {
                return None;
            }
            received.insert(*r, received.len());
            Some((*r, ir.effective(id, *r)))
        })
        .collect();
    for (r, effective) in &held_here {
        let source = &ir.space(r.space).id;
        let mut entry = role_entry(ir, id, r, effective);
        entry.id = format!("{source}/{}", entry.id);
        entry.from_upstream = None;
        entry.from_enterprise = Some(source.clone());
        roles.push(entry);
    }
    for (m, r) in &enterprise {
        let source_space = ir.space(r.space);
        let at = received.get(r).copied();
        let Some(mut entry) = member_entry(ir, source_space, r.space, m, |_| {
            at.map(|i| &held_here[i].1)
        }) else {
            continue;
        };
        entry.role = format!("{}/{}", source_space.id, entry.role);
        entry.role_from_upstream = None;
        entry.enterprise_source = Some(source_space.id.clone());
        // The source's locations and groups do not exist here.
        entry.locations.clear();
        entry.groups.clear();
        entry.login_as.clear();
        members.push(entry);
    }
    let mut downstream: Vec<String> = ir
        .spaces
        .iter()
        .filter(|d| d.upstream.is_some_and(|(u, _)| u == id))
        .map(|d| d.id.clone())
        .collect();
    downstream.sort();
    SpaceEntry {
        id: s.id.clone(),
        name: s.name.clone(),
        enterprise: s
            .enterprise
            .map(|(e, _)| ir.enterprises[e.index()].id.clone()),
        plan: s.plan.as_str().to_owned(),
        server: s.server.as_ref().map(|(v, _)| v.clone()),
        upstream: s.upstream.map(|(u, _)| ir.space(u).id.clone()),
        upstream_remote: s.upstream.is_some() && s.upstream_remote.is_some(),
        downstream,
        environment: s.environment.map(|(e, _)| e.as_str().to_owned()),
        two_factor: s
            .two_factor
            .map(|(req, _)| if req { "required" } else { "optional" }.to_owned()),
        features: s.features.iter().map(|f| f.as_str().to_owned()).collect(),
        location_types: s
            .location_types
            .iter()
            .map(|t| LocationTypeEntry {
                id: t.id.clone(),
                parent: t
                    .parent
                    .map(|(p, _)| s.location_types[p.index()].id.clone()),
            })
            .collect(),
        locations: s
            .locations
            .iter()
            .enumerate()
            .map(|(i, l)| LocationEntry {
                id: l.id.clone(),
                name: l.name.clone(),
                ty: l
                    .ty
                    .map(|t| s.location_types[t.index()].id.clone())
                    .unwrap_or_default(),
                parent: l.parent.map(|p| s.locations[p.index()].id.clone()),
                enter: i as u32,
                exit: l.subtree_end,
            })
            .collect(),
        groups: named(&s.groups),
        reports: named(&s.reports),
        applications: named(&s.applications),
        registries: s
            .registries
            .iter()
            .map(|r| RegistryEntry {
                id: r.id.clone(),
                name: r.name.clone(),
                case_types: r.case_types.clone(),
            })
            .collect(),
        profiles: named(&s.profiles),
        grants: s
            .grants
            .iter()
            .map(|g| GrantEntry {
                registry: s.registry(g.registry).id.clone(),
                to: g.to.iter().map(|(t, _)| ir.space(*t).id.clone()).collect(),
            })
            .collect(),
        roles,
        members,
    }
}

/// A table of declared names (groups, reports, applications, profiles).
fn named(table: &[crate::ir::Named]) -> Vec<NamedEntry> {
    table
        .iter()
        .map(|n| NamedEntry {
            id: n.id.clone(),
            name: n.name.clone(),
        })
        .collect()
}
