//! Location types form a forest; every location's type fits its parent location's type.

use crate::diagnostic::suggest::cycle_text;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{LocTypeId, Location, Space};

use super::Facts;
use super::cycles::cycle_diagnostic;

/// E0201: each cycle of `location_types`, with its path.
pub fn location_type_cycle(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for (space, cycles) in facts.ir.spaces.iter().zip(&facts.type_cycles) {
        for cycle in cycles {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&t| space.location_types[t].id.as_str())
                .collect();
            let d = cycle_diagnostic(
                Code::LocationTypeCycle,
                format!("location types form a cycle: {}", cycle_text(&names)),
                cycle,
                |t| {
                    let ty = &space.location_types[t];
                    ty.parent.map(|(p, span)| {
                        (
                            span,
                            format!(
                                "`{}` is in `{}` here",
                                ty.id,
                                space.location_types[p.index()].id
                            ),
                        )
                    })
                },
            );
            out.push(d.with_help(format!(
                "location types form a tree: make one of them a root type (write `{}` without `in`)",
                names[0]
            )));
        }
    }
}

/// A location whose type is known and not on a cycle (a cycle is reported once, E0201).
struct Typed<'a> {
    space_index: usize,
    space: &'a Space,
    loc: &'a Location,
    ty: LocTypeId,
    parent: Option<&'a Location>,
}

/// Every such location.
fn typed_locations<'a>(facts: &'a Facts) -> impl Iterator<Item = Typed<'a>> {
    facts
        .ir
        .spaces
        .iter()
        .zip(&facts.type_on_cycle)
        .enumerate()
        .flat_map(|(space_index, (space, cyclic))| {
            space.locations.iter().filter_map(move |loc| {
                let ty = loc.ty.filter(|t| !cyclic[t.index()])?;
                let parent = loc.parent.map(|p| &space.locations[p.index()]);
                Some(Typed {
                    space_index,
                    space,
                    loc,
                    ty,
                    parent,
                })
            })
        })
}

fn type_name(space: &Space, t: LocTypeId) -> &str {
    space.location_types[t.index()].id.as_str()
}

/// E0203: a root location must have a root type.
pub fn root_location_type(facts: &Facts, out: &mut Vec<Diagnostic>) {
    for Typed {
        space,
        loc,
        ty,
        parent,
        ..
    } in typed_locations(facts)
    {
        let declared_parent = space.location_types[ty.index()].parent.map(|(p, _)| p);
        let (None, Some(expected)) = (parent, declared_parent) else {
            continue;
        };
        out.push(
            Diagnostic::new(
                Code::RootLocationType,
                format!(
                    "root location `{}` is a `{}`, which is not a root type",
                    loc.id,
                    type_name(space, ty)
                ),
            )
            .with_label(
                loc.ty_span,
                format!(
                    "a `{}` goes inside a `{}`",
                    type_name(space, ty),
                    type_name(space, expected)
                ),
            )
            .with_help(format!(
                "move `{}` inside a `{}`, or give it a root type",
                loc.id,
                type_name(space, expected)
            )),
        );
    }
}

/// E0202: each location's type must be a child type of its parent's type.
pub fn location_type_mismatch(facts: &Facts, out: &mut Vec<Diagnostic>) {
    // Per space, per type: its child types (looked up once per mismatch, so not a scan).
    let child_types: Vec<Vec<Vec<&str>>> = facts
        .ir
        .spaces
        .iter()
        .map(|space| {
            let mut children = vec![Vec::new(); space.location_types.len()];
            for t in &space.location_types {
                if let Some((p, _)) = t.parent {
                    children[p.index()].push(t.id.as_str());
                }
            }
            children
        })
        .collect();
    for Typed {
        space_index,
        space,
        loc,
        ty,
        parent,
    } in typed_locations(facts)
    {
        let Some(parent_loc) = parent else { continue };
        let Some(parent_ty) = parent_loc.ty else {
            continue;
        };
        let declared_parent = space.location_types[ty.index()].parent.map(|(p, _)| p);
        if declared_parent == Some(parent_ty) {
            continue;
        }
        let type_name = |t| type_name(space, t);
        let fits = match declared_parent {
            Some(p) => format!("a `{}` goes inside a `{}`", type_name(ty), type_name(p)),
            None => format!("`{}` is a root type", type_name(ty)),
        };
        let children = &child_types[space_index][parent_ty.index()];
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
                crate::diagnostic::suggest::one_of(children),
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
