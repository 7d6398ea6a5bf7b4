//! Role rules: admin-only edit of roles, plan gates, and the lints about permissions that have
//! no effect or open a security hole. Each declared role is checked where it is declared.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, RoleOrigin, Space, SpaceId};
use crate::model::{Feature, Gate, Items, LandingPage, Level, Needs, Permission as P, Plan, Value};
use crate::source::Span;

use super::Facts;

fn plan_error(feature: &str, needs: Plan, space: &Space, span: Span) -> Diagnostic {
    let mut d = Diagnostic::new(
        Code::PlanTooLow,
        format!(
            "{feature} needs the `{}` plan, but `{}` is on `{}`",
            needs.as_str(),
            space.id,
            space.plan.as_str()
        ),
    )
    .with_label(span, format!("needs `plan {}` or higher", needs.as_str()));
    d = d.with_label_at(space.plan_span, "the space's plan");
    let how = if space.plan_span.is_some() {
        "raise the space's plan"
    } else {
        "add a `plan` line (the default is `community`)"
    };
    d.with_help(format!(
        "{how} to `{}` or higher, or remove this",
        needs.as_str()
    ))
}

/// E0209: every feature, setting and permission the space's plan does not have.
pub fn plan_too_low(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for i in 0..facts.ir.spaces.len() {
        space_plan_gates(facts.ir, SpaceId(i as u32), out);
    }
    for r in facts.declared_roles() {
        let (space, role) = (r.space, r.role);
        let Some(id_span) = role.id_span else {
            continue;
        };
        let custom = Feature::CustomRoles.plan();
        if space.plan < custom {
            let what = if matches!(
                role.origin,
                RoleOrigin::Declared {
                    redefines_builtin: true
                }
            ) {
                format!("redefining the built-in role `{}`", role.id)
            } else {
                format!("custom role `{}`", role.id)
            };
            out.push(plan_error(&what, custom, space, id_span));
        }
        let refused =
            |g: &Gate| matches!(g.needs, Needs::Plan(plan) if g.refused && space.plan < plan);
        for (p, gate, span) in gated_lines(role, refused) {
            let Needs::Plan(plan) = gate.needs else {
                continue;
            };
            out.push(plan_error(&gated_text(p, gate), plan, space, span));
        }
        let restricted = Feature::RestrictedRoles.plan();
        if let Some(span) = role
            .explicit(P::FullOrganizationAccess)
            .filter(|_| !role.declared.switch(P::FullOrganizationAccess) && space.plan < restricted)
        {
            out.push(plan_error(
                "a location-restricted role (`full_organization_access = off`)",
                restricted,
                space,
                span,
            ));
        }
    }
}

fn space_plan_gates(ir: &Ir, space_id: SpaceId, out: &mut Vec<Diagnostic>) {
    let space = ir.space(space_id);
    for (feature, what, span) in [
        (
            Feature::LocationTypes,
            "`location_types`",
            space.location_types_span,
        ),
        (Feature::Locations, "`locations`", space.locations_span),
    ] {
        if let Some(span) = span.filter(|_| space.plan < feature.plan()) {
            out.push(plan_error(what, feature.plan(), space, span));
        }
    }
    if let Some((up, span)) = space.upstream {
        let linked = Feature::LinkedSpaces.plan();
        if space.plan < linked {
            out.push(plan_error(
                "linking spaces (`upstream`)",
                linked,
                space,
                span,
            ));
        }
        let up = ir.space(up);
        if up.plan < linked && up.id != space.id {
            let mut d = Diagnostic::new(
                Code::PlanTooLow,
                format!(
                    "linking spaces needs the `{}` plan on both spaces, but upstream `{}` is on `{}`",
                    linked.as_str(),
                    up.id,
                    up.plan.as_str()
                ),
            )
            .with_label(span, format!("`{}` is linked here", up.id));
            d = d.with_label_at(up.plan_span, format!("`{}`'s plan", up.id));
            out.push(d.with_help(format!(
                "raise `{}` to `plan {}` or higher",
                up.id,
                linked.as_str()
            )));
        }
        // A received location-restricted role needs `advanced` here: said at the link, before
        // any member holds it (E0210 and the location plan gate would otherwise chase each other).
        let restricted = Feature::RestrictedRoles.plan();
        if space.plan < restricted {
            for received in ir.received_roles(space_id) {
                let role = ir.role(received);
                if role.declared.switch(P::FullOrganizationAccess) {
                    continue;
                }
                let mut d = Diagnostic::new(
                    Code::PlanTooLow,
                    format!(
                        "`{}` receives role `{}` from `{}`, which is location-restricted (`full_organization_access = off`): that needs the `{}` plan, but `{}` is on `{}`",
                        space.id,
                        role.id,
                        up.id,
                        restricted.as_str(),
                        space.id,
                        space.plan.as_str()
                    ),
                )
                .with_label(span, format!("`{}` receives `{}` here", space.id, role.id));
                d = d.with_label_at(
                    role.explicit(P::FullOrganizationAccess),
                    "location-restricted here",
                );
                out.push(d.with_help(format!(
                    "raise `{}` to `plan {}` or higher, or give role `{}` full organization access in `{}`",
                    space.id, restricted.as_str(), role.id, up.id
                )));
            }
        }
    }
}

/// E0207: only `admin` edits roles and permissions.
pub fn roles_and_permissions_edit(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let role = r.role;
        let Some(span) = role
            .explicit(P::RolesAndPermissions)
            .filter(|_| role.declared.level(P::RolesAndPermissions) == Level::Edit)
        else {
            continue;
        };
        out.push(
            Diagnostic::new(Code::RolesAndPermissionsEdit, format!("role `{}` cannot edit roles and permissions", role.id))
                .with_label(span, "only `admin` may hold `roles_and_permissions = edit`")
                .with_help("use `roles_and_permissions = view`; members who must edit roles need the `admin` role"),
        );
    }
}

/// W0201: a permission that full organization access being off hides.
pub fn hidden_permission(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (role, declared) = (r.role, &r.role.declared);
        if declared.switch(P::FullOrganizationAccess) {
            continue;
        }
        let foa_span = role.explicit(P::FullOrganizationAccess);
        for p in P::hidden_without_full_access() {
            let Some(span) = role.explicit(p) else {
                continue;
            };
            if *declared.get(p) == p.default_value()
                || matches!(declared.get(p), Value::Level(Level::None))
            {
                continue;
            }
            let mut d = Diagnostic::new(
                Code::HiddenPermission,
                format!(
                    "`{p}` has no effect in role `{}`: full organization access is off",
                    role.id
                ),
            )
            .with_label(span, "hidden, so always `none`/`off`");
            d = d.with_label_at(foa_span, "full organization access is off here");
            out.push(d.with_help(format!(
                "remove this line: without full organization access `{p}` is hidden"
            )));
        }
        // HQ's normalize() lowers these rather than hiding them (`edit_apps` off, `view_apps` kept).
        for p in P::ALL
            .iter()
            .copied()
            .filter(|p| !p.is_hidden_without_full_access())
        {
            let (Some(cap), Some(span)) = (p.cap_without_full_access(), role.explicit(p)) else {
                continue;
            };
            let level = declared.level(p);
            if level <= cap {
                continue;
            }
            let (level, cap) = (level.as_str(), cap.as_str());
            let mut d = Diagnostic::new(
                Code::HiddenPermission,
                format!(
                    "`{p} = {level}` is lowered to `{cap}` in role `{}`: full organization access is off",
                    role.id
                ),
            )
            .with_label(span, format!("effectively `{p} = {cap}`"));
            d = d.with_label_at(foa_span, "full organization access is off here");
            out.push(d.with_help(format!(
                "write `{p} = {cap}`: without full organization access `{p}` is at most `{cap}`"
            )));
        }
    }
}

/// W0202: API access on a location-restricted role.
pub fn api_bypasses_locations(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (role, declared) = (r.role, &r.role.declared);
        if declared.switch(P::FullOrganizationAccess) {
            continue;
        }
        let Some(span) = r.turns_on(P::AccessApis) else {
            continue;
        };
        let mut d = Diagnostic::new(
            Code::ApiBypassesLocations,
            format!("role `{}` is location-restricted but `access_apis = on` exposes all of the space's data", role.id),
        )
        .with_label(span, "the API ignores the location restriction");
        d = d.with_label_at(
            role.explicit(P::FullOrganizationAccess),
            "location-restricted here",
        );
        out.push(d.with_help("turn `access_apis` off for location-restricted roles, unless every holder may see all data"));
    }
}

/// W0204: a sub-permission that `mobile_workers = edit` already grants.
pub fn sub_permission_redundant(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (role, declared) = (r.role, &r.role.declared);
        if declared.level(P::MobileWorkers) != Level::Edit {
            continue;
        }
        for (sub, _) in crate::model::rules::sub_permissions() {
            let Some(span) = r.turns_on(sub) else {
                continue;
            };
            let mut d = Diagnostic::new(
                Code::SubPermissionRedundant,
                format!(
                    "`{sub}` is redundant in role `{}`: `mobile_workers = edit` already allows it",
                    role.id
                ),
            )
            .with_label(span, "already granted");
            d = d.with_label_at(role.explicit(P::MobileWorkers), "granted by this");
            out.push(d.with_help("remove this line"));
        }
    }
}

/// W0203: a sub-permission whose parent is not `edit`.
pub fn sub_permission_no_effect(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (role, declared) = (r.role, &r.role.declared);
        if declared.level(P::MobileWorkers) == Level::Edit {
            continue; // granted by `mobile_workers = edit` (W0204)
        }
        for (sub, parent) in crate::model::rules::sub_permissions() {
            let Some(span) = r.turns_on(sub) else {
                continue;
            };
            if r.effective.values.level(parent) == Level::Edit {
                continue;
            }
            let hidden = declared.level(parent) == Level::Edit;
            let why = if hidden {
                format!("`{parent}` is hidden by full organization access")
            } else {
                format!("`{parent}` is not `edit`")
            };
            out.push(
                Diagnostic::new(
                    Code::SubPermissionNoEffect,
                    format!("`{sub}` has no effect in role `{}`: {why}", role.id),
                )
                .with_label(span, format!("needs `{parent} = edit`"))
                .with_help(format!("set `{parent} = edit`, or remove this line")),
            );
        }
    }
}

/// W0205: downloading reports with no report to download.
pub fn download_without_reports(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (role, declared) = (r.role, &r.role.declared);
        for &p in P::ALL.iter().filter(|p| p.needs_report()) {
            let Some(span) = r.turns_on(p).filter(|_| *declared.reports() == Items::None) else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    Code::DownloadWithoutReports,
                    format!(
                        "`{p}` has no effect in role `{}`: it reaches no report",
                        role.id
                    ),
                )
                .with_label(span, "nothing to download")
                .with_help("grant `reports = all` or a list of reports, or remove this line"),
            );
        }
    }
}

/// "`p`", or "`p = value`" when only that value is gated.
fn gated_text(p: P, gate: Gate) -> String {
    match gate.value {
        Some(value) => format!("`{p} = {value}`"),
        None => format!("`{p}`"),
    }
}

/// The lines of a role that set a gated permission to a value its gate holds back, for the
/// gates `closed` says the space does not open.
fn gated_lines<'r>(
    role: &'r crate::ir::Role,
    closed: impl Fn(&Gate) -> bool + 'r,
) -> impl Iterator<Item = (P, Gate, Span)> + 'r {
    P::ALL.iter().filter_map(move |&p| {
        let gate = p.gate().filter(|g| closed(g))?;
        let span = role
            .explicit(p)
            .filter(|_| p.gated(gate, role.declared.get(p)))?;
        Some((p, gate, span))
    })
}

/// W0213: a permission that needs a feature flag the space does not turn on.
pub fn feature_off(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (space, role) = (r.space, r.role);
        let ctx = space.rule_context();
        for (p, gate, span) in gated_lines(role, |g| !ctx.has(g.needs)) {
            let Needs::Feature(flag) = gate.needs else {
                continue;
            };
            let flag = flag.as_str();
            let what = gated_text(p, gate);
            out.push(
                Diagnostic::new(
                    Code::FeatureOff,
                    format!(
                        "{what} grants nothing in `{}`: it needs the feature flag `{flag}`, which the space does not turn on",
                        space.id
                    ),
                )
                .with_label(span, format!("needs `features [{flag}]`"))
                .with_help(format!(
                    "add `{flag}` to the space's `features [...]`, or remove this line"
                )),
            );
        }
    }
}

/// W0206: a permission the space's plan ignores (it grants nothing there).
pub fn api_needs_plan(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (space, role) = (r.space, r.role);
        let lacks_plan =
            |g: &Gate| matches!(g.needs, Needs::Plan(plan) if !g.refused && space.plan < plan);
        for (p, gate, span) in gated_lines(role, lacks_plan) {
            let Needs::Plan(plan) = gate.needs else {
                continue;
            };
            let plan = plan.as_str();
            out.push(
                Diagnostic::new(
                    Code::ApiNeedsPlan,
                    format!(
                        "`{p}` grants nothing in `{}`: the `{}` plan has no {}",
                        space.id,
                        space.plan.as_str(),
                        gate.lacks
                    ),
                )
                .with_label(span, format!("needs `plan {plan}` or higher"))
                .with_help(format!(
                    "raise the space's plan to `{plan}`, or remove this line"
                )),
            );
        }
    }
}

/// W0207: a landing page the role cannot open.
pub fn landing_page_unreachable(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for r in facts.declared_roles() {
        let (role, effective) = (r.role, r.effective);
        let Some(span) = role.explicit(P::LandingPage) else {
            continue;
        };
        let ctx = r.space.rule_context();
        let (unreachable, needs) = match role.declared.landing_page() {
            LandingPage::WebApps => (!effective.values.switch(P::WebApps), "`web_apps = on`"),
            LandingPage::Reports => (
                !ctx.reaches_some_report(effective.values.reports()),
                "a reachable report",
            ),
            _ => (false, ""),
        };
        if unreachable {
            let page = role.declared.landing_page().as_str();
            out.push(
                Diagnostic::new(
                    Code::LandingPageUnreachable,
                    format!("role `{}` lands on `{page}`, which it cannot open", role.id),
                )
                .with_label(span, format!("needs {needs}"))
                .with_help(format!("grant {needs}, or choose another `landing_page`")),
            );
        }
    }
}
