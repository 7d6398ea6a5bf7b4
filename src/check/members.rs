//! Members and who may assign what: unreachable members, unused roles, privilege escalation
//! paths, enterprise admins who cannot reach the console.

use std::collections::HashSet;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, RoleRef, SpaceId};

use super::Facts;
use crate::model::builtin::ADMIN;
use crate::model::rules::Effective;
use crate::model::{Level, Permission as P};

/// E0210: a member of a location-restricted role with no location.
pub fn unreachable_member(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for (i, space) in ir.spaces.iter().enumerate() {
        let roles = ir.held_roles(SpaceId(i as u32));
        for m in &space.members {
            let Some(role_ref) = m.role else { continue };
            let Some(effective) = roles.get(role_ref) else {
                continue;
            };
            // A `locations` list whose ids did not resolve was reported already (E0102).
            if !effective.values.switch(P::FullOrganizationAccess) && !m.declares_locations {
                let role = ir.role(role_ref);
                let mut d = Diagnostic::new(
                    Code::UnreachableMember,
                    format!("`{}` cannot reach `{}`: role `{}` is location-restricted and no location is assigned", m.name, space.id, role.id),
                )
                .with_label(m.name_span, "no `locations [...]`");
                d = d.with_label_at(
                    role.explicit(P::FullOrganizationAccess),
                    "location-restricted here",
                );
                out.push(d.with_help("assign locations with `locations [id]`, or give a role with full organization access"));
            }
        }
    }
}

/// W0208: a declared role no member holds (a role an upstream space passes down is used).
pub fn unused_role(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    let held: HashSet<RoleRef> = ir
        .spaces
        .iter()
        .flat_map(|s| s.members.iter().filter_map(|m| m.role))
        .collect();
    let upstreams: HashSet<SpaceId> = ir
        .spaces
        .iter()
        .filter_map(|s| s.upstream.map(|(up, _)| up))
        .collect();
    for r in facts.declared_roles() {
        if upstreams.contains(&r.space_id) {
            continue; // every declared role is received by a downstream space
        }
        let (space, role) = (r.space, r.role);
        let role_ref = RoleRef {
            space: r.space_id,
            role: r.role_id,
        };
        if held.contains(&role_ref) {
            continue;
        }
        let Some(span) = role.id_span else { continue };
        out.push(
            Diagnostic::new(
                Code::UnusedRole,
                format!(
                    "role `{}` is not held by any member of `{}`",
                    role.id, space.id
                ),
            )
            .with_label(span, "unused")
            .with_help("assign it to a member, or remove it"),
        );
    }
}

/// W0209: a role that holders of another role may assign, granting more than they hold.
pub fn escalation_path(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for i in 0..ir.spaces.len() {
        let space_id = SpaceId(i as u32);
        escalation(ir, space_id, &ir.held_roles(space_id), out);
    }
}

/// What `grantee` grants beyond what `assigner` holds, in `key = value` form.
fn exceeds(grantee: &Effective, assigner: &Effective) -> Vec<String> {
    let mut out = Vec::new();
    for &p in P::ALL {
        if p.is_setting() || p.entry().benign {
            continue;
        }
        let (g, a) = (grantee.values.get(p), assigner.values.get(p));
        let more = g.exceeds(a);
        if more && g != a {
            out.push(format!("{p} = {}", g.to_source()));
        }
    }
    out
}

fn escalation(ir: &Ir, space_id: SpaceId, roles: &crate::ir::HeldRoles, out: &mut Vec<Diagnostic>) {
    let space = ir.space(space_id);
    // Held roles by id, for `assignable_by` lists (not a scan per listed id).
    let by_id: std::collections::HashMap<&str, RoleRef> = roles
        .roles
        .iter()
        .rev()
        .map(|a| (ir.role(*a).id.as_str(), *a))
        .collect();
    for (r, role) in space.roles.iter().enumerate() {
        if !role.is_declared() {
            continue;
        }
        let role_ref = RoleRef {
            space: space_id,
            role: crate::ir::RoleId(r as u32),
        };
        let Some(granted) = roles.get(role_ref) else {
            continue;
        };
        let mut assigners: Vec<(RoleRef, Option<crate::source::Span>)> = Vec::new();
        if let Some(span) = role
            .explicit(P::NonAdminEditable)
            .filter(|_| role.declared.switch(P::NonAdminEditable))
        {
            for (i, a) in roles.roles.iter().enumerate() {
                let e = &roles.effective[i];
                let manages_users =
                    crate::model::rules::manages_users(|p| e.values.level(p) == Level::Edit);
                if manages_users && ir.role(*a).id != ADMIN {
                    assigners.push((*a, Some(span)));
                }
            }
        }
        if let Some(span) = role.explicit(P::AssignableBy) {
            for id in role.declared.assignable_by() {
                if let Some(a) = by_id.get(id.as_str()).filter(|_| id != ADMIN) {
                    assigners.push((*a, Some(span)));
                }
            }
        }
        assigners.sort();
        assigners.dedup_by_key(|(a, _)| *a);
        for (assigner, span) in assigners {
            if assigner == role_ref {
                continue;
            }
            let Some(held) = roles.get(assigner) else {
                continue;
            };
            let extra = exceeds(granted, held);
            if extra.is_empty() {
                continue;
            }
            let assigner_id = &ir.role(assigner).id;
            let Some(span) = span else { continue };
            out.push(
                Diagnostic::new(
                    Code::EscalationPath,
                    format!(
                        "holders of `{assigner_id}` can assign role `{}`, which grants more than `{assigner_id}` holds: {}",
                        role.id,
                        extra.join(", ")
                    ),
                )
                .with_label(span, format!("lets `{assigner_id}` hand out `{}`", role.id))
                .with_help(format!(
                    "make `{}` assignable by admins only, or lower it to what `{assigner_id}` holds",
                    role.id
                )),
            );
        }
    }
}

/// W0210: an enterprise admin who is `admin` of none of the enterprise's spaces.
pub fn enterprise_admin_no_console(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    // One pass over the members: (enterprise, lower-cased name) of every web user who is
    // `admin` of a space of an enterprise (n admins of n spaces must not cost n²).
    let console: std::collections::HashSet<(usize, String)> = ir
        .spaces
        .iter()
        .filter_map(|s| s.enterprise.map(|(id, _)| (s, id.index())))
        .flat_map(|(s, e)| {
            s.members
                .iter()
                .filter(|m| {
                    m.kind == crate::ir::MemberKind::WebUser
                        && m.role.is_some_and(|r| ir.role(r).id == ADMIN)
                })
                .map(move |m| (e, m.name.to_ascii_lowercase()))
        })
        .collect();
    for (e, enterprise) in ir.enterprises.iter().enumerate() {
        for (admin, span) in &enterprise.admins {
            let reaches = console.contains(&(e, admin.to_ascii_lowercase()));
            if !reaches {
                out.push(
                    Diagnostic::new(
                        Code::EnterpriseAdminNoConsole,
                        format!("enterprise admin `{admin}` is `admin` of no space of `{}`, so cannot reach the Enterprise Console", enterprise.id),
                    )
                    .with_label(*span, "cannot reach the console")
                    .with_help(format!("add `web_user \"{admin}\" {{ role admin }}` to a space with `enterprise {}`", enterprise.id)),
                );
            }
        }
    }
}
