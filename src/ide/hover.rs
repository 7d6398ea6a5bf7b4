//! What a name at a position is, in Markdown: a permission inside a role with its effective
//! value and the reason (`hidden_by`, `implied_by`, `requires_plan`, `requires_feature`,
//! `requires`, `from_upstream`), a member with its role, scope and a short `what`, and any other
//! id with its declaration.

use std::fmt::Write as _;

use super::Analysis;
use super::symbols::{Occurrence, Target};
use crate::ir::{Ir, RoleRef, SpaceId};
use crate::model::rules::Reason;
use crate::model::{Permission, Value};
use crate::query::explain::reason_text;
use crate::snapshot::{ScopeEntry, ValueReason};
use crate::source::{SourceId, Span};

/// Values listed in a hover before "and N more".
const LISTED: usize = 12;

/// The hover at `offset` of `file`: the name's span and its description.
pub fn hover(analysis: &Analysis, file: SourceId, offset: u32) -> Option<(Span, String)> {
    let occurrence = *analysis.symbols().at(file, offset)?;
    let ir = &analysis.compiled.ir;
    let mut out = String::new();
    match occurrence.target {
        Target::Permission(p) => permission(&mut out, ir, p, occurrence),
        Target::Role(r) => role(&mut out, ir, r),
        Target::Member(s, m) => member(&mut out, analysis, s, m),
        Target::Space(s) => space(&mut out, ir, s),
        Target::Enterprise(e) => {
            let e = &ir.enterprises[e as usize];
            let _ = writeln!(out, "**enterprise** `{}`{}", e.id, quoted(&e.name));
            let spaces: Vec<String> = ir
                .spaces
                .iter()
                .filter(|s| {
                    s.enterprise
                        .is_some_and(|(id, _)| ir.enterprises[id.index()].id == e.id)
                })
                .map(|s| format!("`{}`", s.id))
                .collect();
            let _ = writeln!(out, "\nspaces: {}", listed(&spaces));
        }
        Target::Location(s, l) => {
            let space = ir.space(s);
            let loc = &space.locations[l.index()];
            let ty = loc
                .ty
                .map_or("?", |t| space.location_types[t.index()].id.as_str());
            let _ = writeln!(out, "**location** `{}`{} ({ty})", loc.id, quoted(&loc.name));
            let mut path = vec![format!("`{}`", loc.id)];
            let mut at = loc.parent;
            while let Some(p) = at {
                path.push(format!("`{}`", space.locations[p.index()].id));
                at = space.locations[p.index()].parent;
            }
            path.reverse();
            let below = loc.subtree_end as usize - l.index() - 1;
            let _ = writeln!(
                out,
                "\nin space `{}`: {} ({below} location{} below)",
                space.id,
                path.join(" > "),
                if below == 1 { "" } else { "s" }
            );
        }
        Target::LocationType(s, t) => {
            let space = ir.space(s);
            let ty = &space.location_types[t.index()];
            let _ = writeln!(out, "**location type** `{}` in space `{}`", ty.id, space.id);
            match ty.parent {
                Some((p, _)) => {
                    let _ = writeln!(out, "\nwithin `{}`", space.location_types[p.index()].id);
                }
                None => out.push_str("\na root type\n"),
            }
        }
        Target::Group(s, g) => named(&mut out, ir, s, "group", &ir.space(s).groups[g.index()]),
        Target::Report(s, r) => named(&mut out, ir, s, "report", &ir.space(s).reports[r.index()]),
        Target::Application(s, a) => named(
            &mut out,
            ir,
            s,
            "application",
            &ir.space(s).applications[a.index()],
        ),
        Target::Profile(s, p) => {
            named(&mut out, ir, s, "profile", &ir.space(s).profiles[p.index()])
        }
        Target::Registry(s, r) => {
            let reg = ir.space(s).registry(r);
            let _ = writeln!(
                out,
                "**registry** `{}`{} in space `{}`",
                reg.id,
                quoted(&reg.name),
                ir.space(s).id
            );
            if !reg.case_types.is_empty() {
                let _ = writeln!(out, "\ncase types: {}", reg.case_types.join(", "));
            }
        }
        Target::Test(t) => {
            let test = &ir.tests[t as usize];
            let _ = writeln!(
                out,
                "**test** \"{}\": {} assertion{}",
                test.name,
                test.assertions.len(),
                if test.assertions.len() == 1 { "" } else { "s" }
            );
        }
    }
    if let Some(decl) = analysis.symbols().declarations(occurrence.target).next()
        && decl.span != occurrence.span
    {
        declared_at(&mut out, analysis, decl.span);
    }
    Some((occurrence.span, out))
}

fn quoted(name: &Option<String>) -> String {
    name.as_ref().map_or(String::new(), |n| format!(" \"{n}\""))
}

fn listed(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    let mut s = items[..items.len().min(LISTED)].join(", ");
    if items.len() > LISTED {
        let _ = write!(s, " and {} more", items.len() - LISTED);
    }
    s
}

fn named(out: &mut String, ir: &Ir, s: SpaceId, what: &str, n: &crate::ir::Named) {
    let _ = writeln!(
        out,
        "**{what}** `{}`{} in space `{}`",
        n.id,
        quoted(&n.name),
        ir.space(s).id
    );
}

/// "declared in `file`, line N", with the declaration's line.
fn declared_at(out: &mut String, analysis: &Analysis, span: Span) {
    let file = analysis.sources.get(span.source);
    let (line, _) = file.lines.line_col(&file.text, span.start);
    let start = file.lines.line_start(line - 1, file.text.len());
    let end = file.text[start..]
        .find('\n')
        .map_or(file.text.len(), |i| start + i);
    let text: String = file.text[start..end].trim().chars().take(200).collect();
    let _ = write!(
        out,
        "\n---\ndeclared in `{}`, line {line}:\n```charter\n{text}\n```\n",
        file.relative
    );
}

/// The reason word the snapshot writes for a changed value.
fn reason_word(r: Reason) -> &'static str {
    match r {
        Reason::ImpliedBy(_) => "implied_by",
        Reason::HiddenBy(_) => "hidden_by",
        Reason::RequiresPlan(_) => "requires_plan",
        Reason::RequiresFeature(_) => "requires_feature",
        Reason::Requires(_) => "requires",
    }
}

/// One line: the effective value of `p` for `role` held in `space`, and why it differs from
/// the declared one.
fn effective_line(ir: &Ir, space: SpaceId, role: RoleRef, p: Permission) -> String {
    let effective = ir.effective(space, role);
    let value = effective.values.get(p).to_source();
    match effective.reason(p) {
        None => format!("effective `{value}`"),
        Some(cause) => format!(
            "effective `{value}` ({}: {})",
            reason_word(cause),
            reason_text(&ValueReason {
                declared: ir.role(role).declared.get(p).clone(),
                cause,
            })
        ),
    }
}

fn permission(out: &mut String, ir: &Ir, p: Permission, at: Occurrence) {
    let entry = p.entry();
    let _ = writeln!(out, "**`{}`**: {}", p.key(), entry.label);
    let words = p.kind().words();
    if !words.is_empty() {
        let _ = writeln!(out, "\nvalues: {}", words.join(", "));
    }
    if p.is_hidden_without_full_access() {
        out.push_str("\nhidden without `full_organization_access`\n");
    }
    if p.is_location_scoped() {
        out.push_str("\nlimited to the member's locations when the role is location-restricted\n");
    }
    let Some(role) = at.role else {
        return;
    };
    let r = ir.role(role);
    let _ = writeln!(
        out,
        "\nin role `{}` of space `{}`: {}",
        r.id,
        ir.space(role.space).id,
        effective_line(ir, role.space, role, p)
    );
    // Where the role is received (from_upstream), its value may differ: the downstream's plan
    // and features, and the items it holds, decide there.
    for (i, s) in ir.spaces.iter().enumerate() {
        let down = SpaceId(i as u32);
        if down != role.space && ir.received_roles(down).contains(&role) {
            let _ = writeln!(
                out,
                "\nfrom_upstream in `{}`: {}",
                s.id,
                effective_line(ir, down, role, p)
            );
        }
    }
}

fn role(out: &mut String, ir: &Ir, r: RoleRef) {
    let role = ir.role(r);
    let origin = if role.is_declared() {
        "role"
    } else {
        "built-in role"
    };
    let _ = writeln!(
        out,
        "**{origin}** `{}` \"{}\" of space `{}`",
        role.id,
        role.name,
        ir.space(r.space).id
    );
    let effective = ir.effective(r.space, r);
    let granted: Vec<String> = Permission::ALL
        .iter()
        .filter(|&&p| !p.is_setting() && *effective.values.get(p) != p.default_value())
        .map(|&p| format!("`{} = {}`", p.key(), effective.values.get(p).to_source()))
        .collect();
    let _ = writeln!(out, "\ngrants: {}", listed(&granted));
    let holders: usize = ir
        .spaces
        .iter()
        .map(|s| s.members.iter().filter(|m| m.role == Some(r)).count())
        .sum();
    let _ = writeln!(
        out,
        "\nheld by {holders} member{}",
        if holders == 1 { "" } else { "s" }
    );
}

fn space(out: &mut String, ir: &Ir, s: SpaceId) {
    let space = ir.space(s);
    let _ = writeln!(out, "**space** `{}`{}", space.id, quoted(&space.name));
    let _ = write!(out, "\nplan `{}`", space.plan.as_str());
    if let Some((server, _)) = &space.server {
        let _ = write!(out, ", server `{server}`");
    }
    if let Some((e, _)) = space.enterprise {
        let _ = write!(out, ", enterprise `{}`", ir.enterprises[e.index()].id);
    }
    if let Some((up, _)) = space.upstream {
        let _ = write!(out, ", upstream `{}`", ir.space(up).id);
    }
    let _ = writeln!(
        out,
        "\n\n{} roles, {} locations, {} members",
        space.roles.iter().filter(|r| r.is_declared()).count(),
        space.locations.len(),
        space.members.len()
    );
}

fn member(out: &mut String, analysis: &Analysis, s: SpaceId, m: crate::ir::MemberId) {
    let ir = &analysis.compiled.ir;
    let space = ir.space(s);
    let member = space.member(m);
    let kind = match member.kind {
        crate::ir::MemberKind::WebUser => "web user",
        crate::ir::MemberKind::MobileWorker => "mobile worker",
    };
    let _ = writeln!(
        out,
        "**{kind}** \"{}\" in space `{}`",
        member.name, space.id
    );
    if let Some(r) = member.role {
        let upstream = if r.space != s {
            format!(" (from_upstream `{}`)", ir.space(r.space).id)
        } else {
            String::new()
        };
        let _ = writeln!(out, "\nrole `{}`{upstream}", ir.role(r).id);
    }
    // `what`, as `charter query` answers it (the index is built once per version).
    let what = analysis
        .index()
        .filter(|ix| {
            ix.snapshot
                .spaces
                .get(s.index())
                .is_some_and(|e| e.id == space.id)
        })
        .and_then(|ix| ix.what(&member.name, s.0));
    let Some(what) = what else {
        if analysis.compiled.has_errors() {
            out.push_str("\n(what they can do is shown once the policy has no errors)\n");
        }
        return;
    };
    let scope = match &what.scope {
        ScopeEntry::All(_) => "every location".to_owned(),
        ScopeEntry::Locations(ids) => {
            let ids: Vec<String> = ids.iter().map(|l| format!("`{l}`")).collect();
            format!("at or below {}", listed(&ids))
        }
    };
    let _ = writeln!(out, "\nscope: {scope}");
    let can: Vec<String> = what
        .permissions
        .iter()
        .filter(|(p, v)| !p.is_setting() && *v != p.default_value() && *v != Value::Switch(false))
        .map(|(p, v)| format!("`{} = {}`", p.key(), v.to_source()))
        .collect();
    let _ = writeln!(out, "\ncan: {}", listed(&can));
    if let Some(api) = &what.api {
        let _ = writeln!(
            out,
            "\nAPI access: data `{}` everywhere (the API ignores the location restriction)",
            api.data.as_str()
        );
    }
    if let Some(login_as) = &what.login_as {
        let _ = writeln!(
            out,
            "\nLogin-As: {} mobile worker{}",
            login_as.workers.len(),
            if login_as.workers.len() == 1 { "" } else { "s" }
        );
    }
}
