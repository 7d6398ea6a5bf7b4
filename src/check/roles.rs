//! Role rules: admin-only edit of roles, plan gates, and the lints about permissions that have
//! no effect or open a security hole. Each declared role is checked where it is declared.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, Role, RoleId, RoleRef, Space, SpaceId};
use crate::model::rules::{Context, Effective};
use crate::model::{LandingPage, Level, Permission as P, Plan, Reports, Value};
use crate::source::Span;

pub fn check(ir: &Ir, out: &mut Vec<Diagnostic>) {
    for (i, space) in ir.spaces.iter().enumerate() {
        let space_id = SpaceId(i as u32);
        space_plan_gates(ir, space_id, out);
        for (r, role) in space
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_declared())
        {
            let role_ref = RoleRef {
                space: space_id,
                role: RoleId(r as u32),
            };
            role_rules(space, role, &ir.effective(space_id, role_ref), out);
        }
    }
}

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
    if let Some(plan_span) = space.plan_span {
        d = d.with_label(plan_span, "the space's plan");
    }
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

fn space_plan_gates(ir: &Ir, space_id: SpaceId, out: &mut Vec<Diagnostic>) {
    let space = ir.space(space_id);
    if let Some(span) = space
        .location_types_span
        .filter(|_| space.plan < Plan::Advanced)
    {
        out.push(plan_error("`location_types`", Plan::Advanced, space, span));
    }
    if let Some(span) = space.locations_span.filter(|_| space.plan < Plan::Advanced) {
        out.push(plan_error("`locations`", Plan::Advanced, space, span));
    }
    if let Some((up, span)) = space.upstream {
        if space.plan < Plan::Pro {
            out.push(plan_error(
                "linking spaces (`upstream`)",
                Plan::Pro,
                space,
                span,
            ));
        }
        let up = ir.space(up);
        if up.plan < Plan::Pro && up.id != space.id {
            let mut d = Diagnostic::new(
                Code::PlanTooLow,
                format!(
                    "linking spaces needs the `pro` plan on both spaces, but upstream `{}` is on `{}`",
                    up.id,
                    up.plan.as_str()
                ),
            )
            .with_label(span, format!("`{}` is linked here", up.id));
            if let Some(plan_span) = up.plan_span {
                d = d.with_label(plan_span, format!("`{}`'s plan", up.id));
            }
            out.push(d.with_help(format!("raise `{}` to `plan pro` or higher", up.id)));
        }
        // A received location-restricted role needs `advanced` here: said at the link, before
        // any member holds it (E0210 and the location plan gate would otherwise chase each other).
        if space.plan < Plan::Advanced {
            for received in ir.received_roles(space_id) {
                let role = ir.role(received);
                if role.declared.switch(P::FullOrganizationAccess) {
                    continue;
                }
                let mut d = Diagnostic::new(
                    Code::PlanTooLow,
                    format!(
                        "`{}` receives role `{}` from `{}`, which is location-restricted (`full_organization_access = off`): that needs the `advanced` plan, but `{}` is on `{}`",
                        space.id,
                        role.id,
                        up.id,
                        space.id,
                        space.plan.as_str()
                    ),
                )
                .with_label(span, format!("`{}` receives `{}` here", space.id, role.id));
                if let Some(foa) = role.explicit(P::FullOrganizationAccess) {
                    d = d.with_label(foa, "location-restricted here");
                }
                out.push(d.with_help(format!(
                    "raise `{}` to `plan advanced` or higher, or give role `{}` full organization access in `{}`",
                    space.id, role.id, up.id
                )));
            }
        }
    }
}

fn role_rules(space: &Space, role: &Role, effective: &Effective, out: &mut Vec<Diagnostic>) {
    let Some(id_span) = role.id_span else { return };
    let ctx = space.rule_context();
    let set = |p: P| role.explicit(p);
    let declared = &role.declared;
    let foa_off = !declared.switch(P::FullOrganizationAccess);
    let foa_span = set(P::FullOrganizationAccess);

    // Errors.
    if let Some(span) = set(P::RolesAndPermissions)
        .filter(|_| declared.level(P::RolesAndPermissions) == Level::Edit)
    {
        out.push(
            Diagnostic::new(Code::RolesAndPermissionsEdit, format!("role `{}` cannot edit roles and permissions", role.id))
                .with_label(span, "only `admin` may hold `roles_and_permissions = edit`")
                .with_help("use `roles_and_permissions = view`; members who must edit roles need the `admin` role"),
        );
    }
    if space.plan < Plan::Standard {
        let what = if matches!(
            role.origin,
            crate::ir::RoleOrigin::Declared {
                redefines_builtin: true
            }
        ) {
            format!("redefining the built-in role `{}`", role.id)
        } else {
            format!("custom role `{}`", role.id)
        };
        out.push(plan_error(&what, Plan::Standard, space, id_span));
    }
    if let Some(span) = set(P::ManageSharedExports)
        .filter(|_| declared.switch(P::ManageSharedExports) && space.plan < Plan::Pro)
    {
        out.push(plan_error(
            "`manage_shared_exports`",
            Plan::Pro,
            space,
            span,
        ));
    }
    if let Some(span) = set(P::LandingPage)
        .filter(|_| declared.landing_page() == LandingPage::Downloads && space.plan < Plan::Pro)
    {
        out.push(plan_error(
            "`landing_page = downloads`",
            Plan::Pro,
            space,
            span,
        ));
    }
    if let Some(span) = foa_span.filter(|_| foa_off && space.plan < Plan::Advanced) {
        out.push(plan_error(
            "a location-restricted role (`full_organization_access = off`)",
            Plan::Advanced,
            space,
            span,
        ));
    }

    // Warnings.
    if foa_off {
        for p in crate::model::HIDDEN_WITHOUT_FULL_ACCESS {
            let Some(span) = set(p) else { continue };
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
            if let Some(f) = foa_span {
                d = d.with_label(f, "full organization access is off here");
            }
            out.push(d.with_help(format!(
                "remove this line: without full organization access `{p}` is hidden"
            )));
        }
        if let Some(span) = set(P::AccessApis).filter(|_| declared.switch(P::AccessApis)) {
            let mut d = Diagnostic::new(
                Code::ApiBypassesLocations,
                format!("role `{}` is location-restricted but `access_apis = on` exposes all of the space's data", role.id),
            )
            .with_label(span, "the API ignores the location restriction");
            if let Some(f) = foa_span {
                d = d.with_label(f, "location-restricted here");
            }
            out.push(d.with_help("turn `access_apis` off for location-restricted roles, unless every holder may see all data"));
        }
    }
    for (sub, parent) in crate::model::rules::sub_permissions() {
        let Some(span) = set(sub).filter(|_| declared.switch(sub)) else {
            continue;
        };
        if declared.level(P::MobileWorkers) == Level::Edit {
            let mut d = Diagnostic::new(
                Code::SubPermissionRedundant,
                format!(
                    "`{sub}` is redundant in role `{}`: `mobile_workers = edit` already allows it",
                    role.id
                ),
            )
            .with_label(span, "already granted");
            if let Some(m) = set(P::MobileWorkers) {
                d = d.with_label(m, "granted by this");
            }
            out.push(d.with_help("remove this line"));
        } else if effective.values.level(parent) != Level::Edit {
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
    if let Some(span) = set(P::DownloadAndEmailReports).filter(|_| {
        declared.switch(P::DownloadAndEmailReports) && *declared.reports() == Reports::None
    }) {
        out.push(
            Diagnostic::new(
                Code::DownloadWithoutReports,
                format!(
                    "`download_and_email_reports` has no effect in role `{}`: it reaches no report",
                    role.id
                ),
            )
            .with_label(span, "nothing to download")
            .with_help("grant `reports = all` or a list of reports, or remove this line"),
        );
    }
    if let Some(span) =
        set(P::AccessApis).filter(|_| declared.switch(P::AccessApis) && space.plan < Plan::Pro)
    {
        out.push(
            Diagnostic::new(
                Code::ApiNeedsPlan,
                format!(
                    "`access_apis` grants nothing in `{}`: the `{}` plan has no API access",
                    space.id,
                    space.plan.as_str()
                ),
            )
            .with_label(span, "needs `plan pro` or higher")
            .with_help("raise the space's plan to `pro`, or remove this line"),
        );
    }
    landing_page(role, effective, &ctx, out);
}

fn landing_page(role: &Role, effective: &Effective, ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(span) = role.explicit(P::LandingPage) else {
        return;
    };
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
