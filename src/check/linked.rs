//! Linked spaces: one level deep, no cycles, same server; roles received from upstream are not
//! redefined downstream, and the reports they list exist downstream.

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, SpaceId};
use crate::model::Permission;

pub fn check(ir: &Ir, out: &mut Vec<Diagnostic>) {
    // Edge downstream -> upstream.
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..ir.spaces.len()).map(|i| graph.add_node(i)).collect();
    for (i, s) in ir.spaces.iter().enumerate() {
        if let Some((up, _)) = s.upstream {
            graph.add_edge(nodes[i], nodes[up.index()], ());
        }
    }
    let mut on_cycle = vec![false; ir.spaces.len()];
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let first = scc.iter().map(|n| graph[*n]).min().unwrap_or(0);
        let mut path = vec![first];
        let mut cur = first;
        while let Some((up, _)) = ir.spaces[cur].upstream {
            if up.index() == first || path.len() > scc.len() {
                break;
            }
            path.push(up.index());
            cur = up.index();
        }
        for &s in &path {
            on_cycle[s] = true;
        }
        let names: Vec<&str> = path.iter().map(|&s| ir.spaces[s].id.as_str()).collect();
        let message = if self_loop {
            format!("space `{}` is its own upstream", names[0])
        } else {
            format!(
                "linked spaces form a cycle: {}",
                crate::diagnostic::suggest::cycle_text(&names)
            )
        };
        let mut d = Diagnostic::new(Code::UpstreamCycle, message);
        for &s in path.iter().take(crate::diagnostic::suggest::CYCLE_LABELS) {
            let space = &ir.spaces[s];
            if let Some((up, span)) = space.upstream {
                d = d.with_label(
                    span,
                    format!(
                        "`{}` takes its roles from `{}` here",
                        space.id,
                        ir.space(up).id
                    ),
                );
            }
        }
        out.push(d.with_help(
            "roles flow one way, from a parent space to its children: remove one `upstream`",
        ));
    }

    for (i, space) in ir.spaces.iter().enumerate() {
        let Some((up_id, up_span)) = space.upstream else {
            continue;
        };
        if on_cycle[i] {
            continue;
        }
        let up = ir.space(up_id);
        // An upstream on a cycle is reported with the cycle (E0205); a chain through it would
        // advise linking into the cycle.
        if let Some((further, further_span)) = up.upstream.filter(|_| !on_cycle[up_id.index()]) {
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
        let server = space.server.as_ref().map(|(s, _)| s.as_str());
        let up_server = up.server.as_ref().map(|(s, _)| s.as_str());
        if server != up_server {
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
            out.push(d.with_help(
                "linked spaces must live on the same server: set the same `server` on both",
            ));
        }
        let enterprise = space
            .enterprise
            .as_ref()
            .map(|(e, _)| ir.enterprises[e.index()].id.as_str());
        let up_enterprise = up
            .enterprise
            .as_ref()
            .map(|(e, _)| ir.enterprises[e.index()].id.as_str());
        if enterprise != up_enterprise {
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
        environments(space, up, up_span, out);
        received_roles(ir, SpaceId(i as u32), out);
    }
}

/// A live space should take its roles from a template or live space: a `test` or `training`
/// upstream means production access is defined where changes are tried out.
fn environments(
    space: &crate::ir::Space,
    up: &crate::ir::Space,
    up_span: crate::source::Span,
    out: &mut Vec<Diagnostic>,
) {
    use crate::model::Environment;
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

/// A downstream space may not redefine a received role, and holds only reports it declares.
fn received_roles(ir: &Ir, space_id: SpaceId, out: &mut Vec<Diagnostic>) {
    let space = ir.space(space_id);
    let Some((up_id, up_span)) = space.upstream else {
        return;
    };
    let up = ir.space(up_id);
    for received in ir.received_roles(space_id) {
        let role = ir.role(received);
        if let Some(own) = space
            .roles
            .iter()
            .find(|r| r.is_declared() && r.id == role.id)
        {
            let mut d = Diagnostic::new(
                Code::UpstreamRoleRedefined,
                format!(
                    "`{}` redefines role `{}`, which it receives from `{}`",
                    space.id, role.id, up.id
                ),
            );
            if let Some(span) = own.id_span {
                d = d.with_label(span, "redefined here");
            }
            if let Some(span) = role.id_span {
                d = d.with_label(span, format!("received from `{}`", up.id));
            }
            out.push(d.with_help(format!(
                "roles from an upstream space are read-only: rename the role in `{}` or change it in `{}`",
                space.id, up.id
            )));
        }
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
