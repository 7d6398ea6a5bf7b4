//! Linked spaces: one level deep, no cycles, same server (unless the link is remote, as HQ's
//! `DomainLink.remote_base_url` allows) and enterprise; roles received from upstream are not
//! redefined downstream, and the reports they list exist downstream.

use crate::diagnostic::suggest::cycle_text;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Space, SpaceId};
use crate::model::{Environment, Permission};
use crate::source::Span;

use super::Facts;
use super::cycles::cycle_diagnostic;

/// E0205: each cycle of `upstream` links.
pub fn upstream_cycle(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for cycle in &facts.space_cycles {
        let names: Vec<&str> = cycle.iter().map(|&s| ir.spaces[s].id.as_str()).collect();
        let message = if cycle.len() == 1 {
            format!("space `{}` is its own upstream", names[0])
        } else {
            format!("linked spaces form a cycle: {}", cycle_text(&names))
        };
        let d = cycle_diagnostic(Code::UpstreamCycle, message, cycle, |s| {
            let space = &ir.spaces[s];
            space.upstream.map(|(up, span)| {
                (
                    span,
                    format!(
                        "`{}` takes its roles from `{}` here",
                        space.id,
                        ir.space(up).id
                    ),
                )
            })
        });
        out.push(d.with_help(
            "roles flow one way, from a parent space to its children: remove one `upstream`",
        ));
    }
}

/// A space's link to its upstream.
struct Link<'a> {
    space_id: SpaceId,
    space: &'a Space,
    up_id: SpaceId,
    up: &'a Space,
    up_span: Span,
}

/// Every link of a space not on a cycle (a cycle is reported once, E0205).
fn links<'a>(facts: &'a Facts) -> impl Iterator<Item = Link<'a>> {
    let ir = facts.ir;
    ir.spaces.iter().enumerate().filter_map(move |(i, space)| {
        let (up_id, up_span) = space.upstream?;
        if facts.space_on_cycle[i] {
            return None;
        }
        Some(Link {
            space_id: SpaceId(i as u32),
            space,
            up_id,
            up: ir.space(up_id),
            up_span,
        })
    })
}

/// E0204: linked spaces are one level deep.
pub fn upstream_chain(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for Link {
        space,
        up_id,
        up,
        up_span,
        ..
    } in links(facts)
    {
        // An upstream on a cycle is reported with the cycle (E0205); a chain through it would
        // advise linking into the cycle.
        let Some((further, further_span)) =
            up.upstream.filter(|_| !facts.space_on_cycle[up_id.index()])
        else {
            continue;
        };
        out.push(
            Diagnostic::new(
                Code::UpstreamChain,
                format!(
                    "linked spaces are one level deep, but `{}` -> `{}` -> `{}` is two",
                    space.id,
                    up.id,
                    ir.space(further).id
                ),
            )
            .with_label(
                up_span,
                format!("`{}` is linked to `{}` here", space.id, up.id),
            )
            .with_label(
                further_span,
                format!(
                    "and `{}` is itself linked to `{}` here",
                    up.id,
                    ir.space(further).id
                ),
            )
            .with_help(format!(
                "link `{}` directly to `{}`, or remove the `upstream` of `{}`",
                space.id,
                ir.space(further).id,
                up.id
            )),
        );
    }
}

/// The servers of a link's two spaces, as written.
fn servers<'a>(link: &Link<'a>) -> (Option<&'a str>, Option<&'a str>) {
    (
        link.space.server.as_ref().map(|(s, _)| s.as_str()),
        link.up.server.as_ref().map(|(s, _)| s.as_str()),
    )
}

/// E0206: linked spaces live on one server, unless the link is remote.
pub fn upstream_server(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for link in links(facts) {
        let (server, up_server) = servers(&link);
        if server == up_server || link.space.upstream_remote.is_some() {
            continue;
        }
        let Link {
            space, up, up_span, ..
        } = link;
        let mut d = Diagnostic::new(
            Code::UpstreamServer,
            format!(
                "`{}` is on server `{}` but its upstream `{}` is on `{}`",
                space.id,
                server.unwrap_or("(none)"),
                up.id,
                up_server.unwrap_or("(none)")
            ),
        )
        .with_label(up_span, "linked here");
        if let Some((_, span)) = &up.server {
            d = d.with_label(*span, format!("`{}` is on this server", up.id));
        }
        if let Some((_, span)) = &space.server {
            d = d.with_label(*span, format!("`{}` is on this server", space.id));
        }
        out.push(d.with_help(format!(
            "set the same `server` on both, or write `upstream {} remote` for a link to another server (HQ's remote link)",
            up.id
        )));
    }
}

/// W0214: `upstream ID remote` names a space on the same server, where a local link does.
pub fn remote_upstream_same_server(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for link in links(facts) {
        let Some(remote_span) = link.space.upstream_remote else {
            continue;
        };
        let (server, up_server) = servers(&link);
        if server != up_server {
            continue;
        }
        let (space, up) = (link.space, link.up);
        let on = match server {
            Some(s) => format!("both are on server `{s}`"),
            None => "neither declares a `server`".to_owned(),
        };
        let mut d = Diagnostic::new(
            Code::RemoteUpstreamSameServer,
            format!(
                "`{}` links to `{}` as a remote upstream, but {on}",
                space.id, up.id
            ),
        )
        .with_label(remote_span, "remote link here");
        for s in [up, space] {
            if let Some((_, span)) = &s.server {
                d = d.with_label(*span, format!("`{}` is on this server", s.id));
            }
        }
        out.push(d.with_help(format!(
            "a remote link is for a space on another server: drop `remote` (`upstream {}`)",
            up.id
        )));
    }
}

/// E0213: linked spaces belong to one enterprise account.
pub fn upstream_enterprise(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for Link {
        space, up, up_span, ..
    } in links(facts)
    {
        let enterprise = space
            .enterprise
            .as_ref()
            .map(|(e, _)| ir.enterprises[e.index()].id.as_str());
        let up_enterprise = up
            .enterprise
            .as_ref()
            .map(|(e, _)| ir.enterprises[e.index()].id.as_str());
        if enterprise == up_enterprise {
            continue;
        }
        let shown = |e: Option<&str>| match e {
            Some(e) => format!("enterprise `{e}`"),
            None => "no enterprise".to_owned(),
        };
        let mut d = Diagnostic::new(
            Code::UpstreamEnterprise,
            format!(
                "`{}` is in {} but its upstream `{}` is in {}",
                space.id,
                shown(enterprise),
                up.id,
                shown(up_enterprise)
            ),
        )
        .with_label(up_span, "linked here");
        for (s, e) in [(up, &up.enterprise), (space, &space.enterprise)] {
            if let Some((_, span)) = e {
                d = d.with_label(*span, format!("`{}`'s enterprise", s.id));
            }
        }
        out.push(d.with_help(
            "linked spaces belong to one enterprise account: set the same `enterprise` on both",
        ));
    }
}

/// A live space should take its roles from a template or live space: a `test` or `training`
/// upstream means production access is defined where changes are tried out.
pub fn live_from_test_upstream(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for link in links(facts) {
        live_from_test(link.space, link.up, link.up_span, out);
    }
}

fn live_from_test(space: &Space, up: &Space, up_span: Span, out: &mut Vec<Diagnostic>) {
    let (
        Some((Environment::Live, live_span)),
        Some((up_env @ (Environment::Test | Environment::Training), env_span)),
    ) = (space.environment, up.environment)
    else {
        return;
    };
    out.push(
        Diagnostic::new(
            Code::LiveFromTestUpstream,
            format!(
                "live space `{}` takes its roles from `{}`, a {} space",
                space.id,
                up.id,
                up_env.as_str()
            ),
        )
        .with_label(up_span, "linked here")
        .with_label(live_span, format!("`{}` is live", space.id))
        .with_label(env_span, format!("`{}` is a {} space", up.id, up_env.as_str()))
        .with_help(format!(
            "link `{}` to a template or live space, so production roles change only where they are reviewed",
            space.id
        )),
    );
}

/// E0211: a downstream space may not redefine a role it receives.
pub fn upstream_role_redefined(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for Link {
        space_id,
        space,
        up,
        ..
    } in links(facts)
    {
        // By id, in a map: both spaces may hold many thousands of roles.
        let own: std::collections::HashMap<&str, &crate::ir::Role> = space
            .roles
            .iter()
            .filter(|r| r.is_declared())
            .map(|r| (r.id.as_str(), r))
            .collect();
        for received in ir.received_roles(space_id) {
            let role = ir.role(received);
            let Some(own) = own.get(role.id.as_str()) else {
                continue;
            };
            let mut d = Diagnostic::new(
                Code::UpstreamRoleRedefined,
                format!(
                    "`{}` redefines role `{}`, which it receives from `{}`",
                    space.id, role.id, up.id
                ),
            );
            d = d.with_label_at(own.id_span, "redefined here");
            d = d.with_label_at(role.id_span, format!("received from `{}`", up.id));
            out.push(d.with_help(format!(
                "roles from an upstream space are read-only: rename the role in `{}` or change it in `{}`",
                space.id, up.id
            )));
        }
    }
}

/// E0212: the reports a received role lists exist downstream.
pub fn upstream_report_missing(facts: &Facts, out: &mut Vec<Diagnostic>) {
    let ir = facts.ir;
    for Link {
        space_id,
        space,
        up,
        up_span,
        ..
    } in links(facts)
    {
        for received in ir.received_roles(space_id) {
            let role = ir.role(received);
            for (permission, item) in &role.list_items {
                if *permission != Permission::Reports || space.find_report(&item.name).is_some() {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Code::UpstreamReportMissing,
                        format!(
                            "`{}` receives role `{}` from `{}`, which lists report `{}` that `{}` does not declare",
                            space.id, role.id, up.id, item.name, space.id
                        ),
                    )
                    .with_label(up_span, format!("`{}` receives `{}` here", space.id, role.id))
                    .with_label(item.span, format!("report `{}` is listed here", item.name))
                    .with_help(format!(
                        "declare `report {}` in `{}`, or remove it from role `{}`",
                        item.name, space.id, role.id
                    )),
                );
            }
        }
    }
}
