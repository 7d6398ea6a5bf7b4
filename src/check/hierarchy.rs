//! Location types form a forest; every location's type fits its parent location's type.

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Ir, Space};

pub fn check(ir: &Ir, out: &mut Vec<Diagnostic>) {
    for space in &ir.spaces {
        let cyclic = type_cycles(space, out);
        location_types(space, &cyclic, out);
    }
}

/// Reports each cycle of `location_types` with its path; returns the types on a cycle.
fn type_cycles(space: &Space, out: &mut Vec<Diagnostic>) -> Vec<bool> {
    // Edge child -> parent type.
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..space.location_types.len())
        .map(|i| graph.add_node(i))
        .collect();
    for (i, t) in space.location_types.iter().enumerate() {
        if let Some((parent, _)) = t.parent {
            graph.add_edge(nodes[i], nodes[parent.index()], ());
        }
    }
    let mut on_cycle = vec![false; space.location_types.len()];
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let first = scc.iter().map(|n| graph[*n]).min().unwrap_or(0);
        let is_cycle = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if !is_cycle {
            continue;
        }
        // Walk the parent links from the earliest type to list the cycle in order.
        let mut path = vec![first];
        let mut cur = first;
        while let Some((p, _)) = space.location_types[cur].parent {
            if p.index() == first {
                break;
            }
            path.push(p.index());
            cur = p.index();
            if path.len() > scc.len() {
                break;
            }
        }
        for &t in &path {
            on_cycle[t] = true;
        }
        let names: Vec<&str> = path
            .iter()
            .map(|&t| space.location_types[t].id.as_str())
            .collect();
        let shown = crate::diagnostic::suggest::cycle_text(&names);
        let mut d = Diagnostic::new(
            Code::LocationTypeCycle,
            format!("location types form a cycle: {shown}"),
        );
        for &t in path.iter().take(crate::diagnostic::suggest::CYCLE_LABELS) {
            let ty = &space.location_types[t];
            if let Some((p, span)) = ty.parent {
                d = d.with_label(
                    span,
                    format!(
                        "`{}` is in `{}` here",
                        ty.id,
                        space.location_types[p.index()].id
                    ),
                );
            }
        }
        out.push(d.with_help(format!(
            "location types form a tree: make one of them a root type (write `{}` without `in`)",
            names[0]
        )));
    }
    on_cycle
}

/// Each location's type must be a child type of its parent's type; roots must have root types.
fn location_types(space: &Space, cyclic: &[bool], out: &mut Vec<Diagnostic>) {
    // The location tree as a petgraph graph: edge parent -> child.
    let mut tree: DiGraph<usize, ()> =
        DiGraph::with_capacity(space.locations.len(), space.locations.len());
    let nodes: Vec<NodeIndex> = (0..space.locations.len())
        .map(|i| tree.add_node(i))
        .collect();
    for (i, l) in space.locations.iter().enumerate() {
        if let Some(p) = l.parent {
            tree.add_edge(nodes[p.index()], nodes[i], ());
        }
    }
    let type_name = |t: crate::ir::LocTypeId| space.location_types[t.index()].id.as_str();
    for node in tree.node_indices() {
        let loc = &space.locations[tree[node]];
        let Some(ty) = loc.ty else { continue };
        if cyclic[ty.index()] {
            continue;
        }
        let declared_parent = space.location_types[ty.index()].parent.map(|(p, _)| p);
        let parent = tree
            .neighbors_directed(node, petgraph::Direction::Incoming)
            .next();
        match parent.map(|p| &space.locations[tree[p]]) {
            None => {
                if let Some(expected) = declared_parent {
                    out.push(
                        Diagnostic::new(
                            Code::RootLocationType,
                            format!(
                                "root location `{}` is a `{}`, which is not a root type",
                                loc.id,
                                type_name(ty)
                            ),
                        )
                        .with_label(
                            loc.ty_span,
                            format!(
                                "a `{}` goes inside a `{}`",
                                type_name(ty),
                                type_name(expected)
                            ),
                        )
                        .with_help(format!(
                            "move `{}` inside a `{}`, or give it a root type",
                            loc.id,
                            type_name(expected)
                        )),
                    );
                }
            }
            Some(parent_loc) => {
                let Some(parent_ty) = parent_loc.ty else {
                    continue;
                };
                if declared_parent == Some(parent_ty) {
                    continue;
                }
                let fits = match declared_parent {
                    Some(p) => format!("a `{}` goes inside a `{}`", type_name(ty), type_name(p)),
                    None => format!("`{}` is a root type", type_name(ty)),
                };
                let children: Vec<&str> = space
                    .location_types
                    .iter()
                    .filter(|t| t.parent.is_some_and(|(p, _)| p == parent_ty))
                    .map(|t| t.id.as_str())
                    .collect();
                let help = if children.is_empty() {
                    format!(
                        "`{}` has no child types; move `{}` elsewhere",
                        type_name(parent_ty),
                        loc.id
                    )
                } else {
                    format!(
                        "inside a `{}` only {} may appear; move `{}` or change its type",
                        type_name(parent_ty),
                        crate::diagnostic::suggest::one_of(&children),
                        loc.id
                    )
                };
                out.push(
                    Diagnostic::new(
                        Code::LocationTypeMismatch,
                        format!(
                            "location `{}` is a `{}`, which cannot be inside `{}` (a `{}`)",
                            loc.id,
                            type_name(ty),
                            parent_loc.id,
                            type_name(parent_ty)
                        ),
                    )
                    .with_label(loc.ty_span, fits)
                    .with_label(
                        parent_loc.ty_span,
                        format!("`{}` is a `{}`", parent_loc.id, type_name(parent_ty)),
                    )
                    .with_help(help),
                );
            }
        }
    }
}
