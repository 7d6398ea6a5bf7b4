//! Policy text from snapshot entries: what `import hq` writes, and how `drift` puts a space
//! imported from HQ beside the rest of a compiled policy. The text goes through `fmt`, so it
//! is canonical.
//!
//! A role's values are read as declared (the reason's `declared`, else the value): the
//! entries of a compiled snapshot and the entries `import` builds from HQ's role objects
//! (declared values, no reasons) write the same way.

use std::fmt::Write as _;

use crate::model::builtin::{BuiltinRole, MOBILE_WORKER_DEFAULT};
use crate::model::{Permission, Value};
use crate::snapshot::{
    EnterpriseEntry, LocationEntry, MemberEntry, MemberKindEntry, RoleEntry, SpaceEntry,
};
use crate::source::SourceId;

/// Whether `word` is a slug (`[a-z][a-z0-9_-]*`), writable as an id.
pub fn is_slug(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// `text` as a policy string: quoted, `"` and `\` escaped; line breaks and other control
/// characters (which a string cannot hold) become spaces.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The declared value of `p` in a role entry.
pub fn declared(role: &RoleEntry, p: Permission) -> Value {
    match role.reasons.get(p.key()) {
        Some(r) => r.declared.decode(p),
        None => role.value(p),
    }
}

/// Whether the policy declares this role (rather than receiving it: built in, from the
/// upstream space, from an Enterprise Permissions source).
pub fn is_declared(role: &RoleEntry) -> bool {
    role.origin != "builtin" && role.from_upstream.is_none() && role.from_enterprise.is_none()
}

/// Whether the policy lists this member in the space (not an Enterprise Permissions member).
pub fn is_listed(member: &MemberEntry) -> bool {
    member.enterprise_source.is_none()
}

/// One enterprise declaration.
pub fn write_enterprise(e: &EnterpriseEntry) -> String {
    let mut out = format!("enterprise {}", e.id);
    name(&mut out, e.name.as_deref(), &e.id);
    out.push_str(" {\n");
    let admins: Vec<String> = e.admins.iter().map(|a| quote(a)).collect();
    let _ = writeln!(out, "admins [{}]", admins.join(", "));
    if let Some(p) = &e.permissions {
        let _ = writeln!(
            out,
            "permissions {{\nsource {}\nspaces [{}]\n}}",
            p.source,
            p.spaces.join(", ")
        );
    }
    out.push_str("}\n");
    out
}

/// One space declaration, every statement the entry holds.
pub fn write_space(s: &SpaceEntry) -> String {
    let mut out = format!("space {}", s.id);
    name(&mut out, s.name.as_deref(), &s.id);
    out.push_str(" {\n");
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    if let Some(e) = &s.enterprise {
        line(format!("enterprise {e}"));
    }
    line(format!("plan {}", s.plan));
    if let Some(server) = &s.server {
        line(format!("server {server}"));
    }
    if let Some(u) = &s.upstream {
        let remote = if s.upstream_remote { " remote" } else { "" };
        line(format!("upstream {u}{remote}"));
    }
    if let Some(e) = &s.environment {
        line(format!("environment {e}"));
    }
    if let Some(t) = &s.two_factor {
        line(format!("security {{ two_factor = {t} }}"));
    }
    if !s.features.is_empty() {
        line(format!("features [{}]", s.features.join(", ")));
    }
    if !s.location_types.is_empty() {
        let mut types = String::from("location_types {\n");
        for t in &s.location_types {
            types.push_str(&t.id);
            if let Some(p) = &t.parent {
                let _ = write!(types, " in {p}");
            }
            types.push('\n');
        }
        types.push('}');
        line(types);
    }
    if !s.locations.is_empty() {
        line(locations(&s.locations));
    }
    for (keyword, entries) in [
        ("group", &s.groups),
        ("report", &s.reports),
        ("application", &s.applications),
        ("profile", &s.profiles),
    ] {
        for e in entries {
            let mut text = format!("{keyword} {}", e.id);
            name(&mut text, e.name.as_deref(), &e.id);
            line(text);
        }
    }
    for r in &s.registries {
        let mut text = format!("registry {}", r.id);
        name(&mut text, r.name.as_deref(), &r.id);
        if !r.case_types.is_empty() {
            let _ = write!(text, " {{ case_types [{}] }}", r.case_types.join(", "));
        }
        line(text);
    }
    for g in &s.grants {
        line(format!("grant {} to [{}]", g.registry, g.to.join(", ")));
    }
    for r in s.roles.iter().filter(|r| is_declared(r)) {
        line(role(r));
    }
    for m in s.members.iter().filter(|m| is_listed(m)) {
        line(member(m));
    }
    out.push_str("}\n");
    out
}

/// A whole policy file: the enterprises, then the spaces, canonically formatted.
pub fn write_file(enterprises: &[&EnterpriseEntry], spaces: &[&SpaceEntry]) -> String {
    let mut text = String::new();
    for e in enterprises {
        text.push_str(&write_enterprise(e));
        text.push('\n');
    }
    for s in spaces {
        text.push_str(&write_space(s));
        text.push('\n');
    }
    canonical(text)
}

/// `text` as `fmt` writes it (unchanged if it does not parse, which the caller's check then
/// reports with its spans).
pub fn canonical(text: String) -> String {
    crate::syntax::format(SourceId(0), &text).unwrap_or(text)
}

/// ` "Name"` unless the name is the id's own (a declaration without a name gets its id).
fn name(out: &mut String, name: Option<&str>, id: &str) {
    if let Some(n) = name.filter(|n| *n != id) {
        out.push(' ');
        out.push_str(&quote(n));
    }
}

/// The location tree from entries in preorder (children follow their parent).
fn locations(entries: &[LocationEntry]) -> String {
    // Children of each location, in entry order; roots under `None`.
    let index: rustc_hash::FxHashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    let mut roots = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        match e.parent.as_deref().and_then(|p| index.get(p)) {
            Some(&p) => children[p].push(i),
            None => roots.push(i),
        }
    }
    let mut out = String::from("locations {\n");
    // An explicit stack: a deep tree must not overflow the call stack.
    let mut stack: Vec<(usize, bool)> = roots.iter().rev().map(|&r| (r, false)).collect();
    while let Some((i, closing)) = stack.pop() {
        if closing {
            out.push_str("}\n");
            continue;
        }
        let e = &entries[i];
        let _ = write!(out, "{} {}", e.ty, e.id);
        name(&mut out, e.name.as_deref(), &e.id);
        if children[i].is_empty() {
            out.push('\n');
        } else {
            out.push_str(" {\n");
            stack.push((i, true));
            stack.extend(children[i].iter().rev().map(|&c| (c, false)));
        }
    }
    out.push('}');
    out
}

fn role(r: &RoleEntry) -> String {
    let mut out = format!("role {}", r.id);
    let builtin_name = BuiltinRole::find(&r.id).map(|b| b.name);
    if Some(r.name.as_str()) != builtin_name {
        name(&mut out, Some(&r.name), &r.id);
    }
    out.push_str(" {\n");
    for &p in Permission::ALL {
        let v = declared(r, p);
        if v != p.default_value() {
            let _ = writeln!(out, "{} = {}", p.key(), v.to_source());
        }
    }
    out.push('}');
    out
}

fn member(m: &MemberEntry) -> String {
    let mut out = match m.kind {
        MemberKindEntry::WebUser => format!("web_user {}", quote(&m.name)),
        MemberKindEntry::MobileWorker if is_slug(&m.name) => format!("mobile_worker {}", m.name),
        MemberKindEntry::MobileWorker => format!("mobile_worker {}", quote(&m.name)),
    };
    let mut body = Vec::new();
    let default_role = m.kind == MemberKindEntry::MobileWorker && m.role == MOBILE_WORKER_DEFAULT;
    if !default_role {
        body.push(format!("role {}", m.role));
    }
    let assigned = m.assigned();
    if !assigned.is_empty() {
        body.push(format!("locations [{}]", assigned.join(", ")));
    }
    if !m.groups.is_empty() {
        body.push(format!("groups [{}]", m.groups.join(", ")));
    }
    if !m.login_as.is_empty() {
        let names: Vec<String> = m.login_as.iter().map(|n| quote(n)).collect();
        body.push(format!("login_as [{}]", names.join(", ")));
    }
    if !body.is_empty() {
        let _ = write!(out, " {{\n{}\n}}", body.join("\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceSet;

    fn build_clean(sources: &SourceSet, what: &str) -> crate::snapshot::Snapshot {
        let compiled = crate::compile(sources);
        assert!(!compiled.has_errors(), "{what}: {:?}", compiled.diagnostics);
        crate::build(sources, &compiled)
    }

    /// Every bundled example written back from its snapshot builds the same snapshot (the
    /// source digest and the `test` blocks aside).
    #[test]
    fn bundled_policies_write_back_to_the_same_snapshot() {
        for dir in ["acme", "national-health", "two-enterprises", "hq-catalogue"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("policies")
                .join(dir);
            let (sources, _) = SourceSet::load(&path).unwrap();
            let before = build_clean(&sources, dir);
            let text = write_file(
                &before.enterprises.iter().collect::<Vec<_>>(),
                &before.spaces.iter().collect::<Vec<_>>(),
            );
            let mut again = SourceSet::default();
            again.add("written.charter", text.clone());
            let after = build_clean(&again, &text);
            assert_eq!(before.enterprises, after.enterprises, "{dir}");
            assert_eq!(before.spaces, after.spaces, "{dir}");
        }
    }
}
