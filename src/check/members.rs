//! Members: unreachable members, unused roles, enterprise admins who cannot reach the
//! console (who may come to hold what is `escalation.rs`).

use std::collections::HashSet;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{RoleRef, SpaceId};

use super::Facts;
use crate::model::Permission as P;
use crate::model::builtin::ADMIN;

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
