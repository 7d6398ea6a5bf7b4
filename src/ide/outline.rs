//! A file's outline: enterprises, spaces with their roles, location tree, members and other
//! declarations, and tests, from its syntax tree.

use crate::ast::{self, SpaceStmt};
use crate::source::Span;

/// What an outline entry declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutlineKind {
    Enterprise,
    Space,
    Role,
    LocationTypes,
    LocationType,
    Locations,
    Location,
    Member,
    Group,
    Report,
    Application,
    Registry,
    Profile,
    Test,
}

/// One entry: its name, a detail (the display name, the member kind), the span of the whole
/// declaration and of its name, and what it holds.
#[derive(Clone, Debug)]
pub struct OutlineEntry {
    pub name: String,
    pub detail: Option<String>,
    pub kind: OutlineKind,
    pub span: Span,
    pub selection: Span,
    pub children: Vec<OutlineEntry>,
}

fn leaf(kind: OutlineKind, id: &ast::Ident, name: &Option<ast::Str>) -> OutlineEntry {
    OutlineEntry {
        name: id.name.clone(),
        detail: name.as_ref().map(|n| n.value.clone()),
        kind,
        span: id.span,
        selection: id.span,
        children: Vec::new(),
    }
}

/// The outline of one parsed file.
pub fn outline(file: &ast::File) -> Vec<OutlineEntry> {
    file.items
        .iter()
        .map(|item| match item {
            ast::Item::Enterprise(e) => OutlineEntry {
                span: e.span,
                ..leaf(OutlineKind::Enterprise, &e.id, &e.name)
            },
            ast::Item::Space(s) => OutlineEntry {
                span: s.span,
                children: s.stmts.iter().filter_map(space_stmt).collect(),
                ..leaf(OutlineKind::Space, &s.id, &s.name)
            },
            ast::Item::Test(t) => OutlineEntry {
                name: t.name.value.clone(),
                detail: Some(format!("{} assertions", t.assertions.len())),
                kind: OutlineKind::Test,
                span: t.span,
                selection: t.name.span,
                children: Vec::new(),
            },
        })
        .collect()
}

fn space_stmt(stmt: &SpaceStmt) -> Option<OutlineEntry> {
    Some(match stmt {
        SpaceStmt::Role(r) => OutlineEntry {
            span: r.span,
            ..leaf(OutlineKind::Role, &r.id, &r.name)
        },
        SpaceStmt::Member(m) => OutlineEntry {
            name: m.name.value.clone(),
            detail: Some(m.kind.keyword().to_owned()),
            kind: OutlineKind::Member,
            span: m.span,
            selection: m.name.span,
            children: Vec::new(),
        },
        SpaceStmt::Group { id, name } => leaf(OutlineKind::Group, id, name),
        SpaceStmt::Report { id, name } => leaf(OutlineKind::Report, id, name),
        SpaceStmt::Application { id, name } => leaf(OutlineKind::Application, id, name),
        SpaceStmt::Profile { id, name } => leaf(OutlineKind::Profile, id, name),
        SpaceStmt::Registry(r) => leaf(OutlineKind::Registry, &r.id, &r.name),
        SpaceStmt::LocationTypes { keyword, types } => OutlineEntry {
            name: "location_types".to_owned(),
            detail: None,
            kind: OutlineKind::LocationTypes,
            span: types.last().map_or(*keyword, |t| {
                keyword.to(t.parent.as_ref().unwrap_or(&t.id).span)
            }),
            selection: *keyword,
            children: types
                .iter()
                .map(|t| OutlineEntry {
                    detail: t.parent.as_ref().map(|p| format!("in {}", p.name)),
                    ..leaf(OutlineKind::LocationType, &t.id, &None)
                })
                .collect(),
        },
        SpaceStmt::Locations { keyword, roots } => {
            let children: Vec<OutlineEntry> = roots.iter().map(location).collect();
            OutlineEntry {
                name: "locations".to_owned(),
                detail: None,
                kind: OutlineKind::Locations,
                span: children.last().map_or(*keyword, |c| keyword.to(c.span)),
                selection: *keyword,
                children,
            }
        }
        _ => return None,
    })
}

/// A location and its children. Nesting is bounded by the parser's depth limit.
fn location(l: &ast::LocationDecl) -> OutlineEntry {
    let children: Vec<OutlineEntry> = l.children.iter().map(location).collect();
    OutlineEntry {
        name: l.id.name.clone(),
        detail: Some(match &l.name {
            Some(n) => format!("{} \"{}\"", l.ty.name, n.value),
            None => l.ty.name.clone(),
        }),
        kind: OutlineKind::Location,
        span: children
            .last()
            .map_or(l.ty.span.to(l.id.span), |c| l.ty.span.to(c.span)),
        selection: l.id.span,
        children,
    }
}
