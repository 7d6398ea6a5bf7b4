//! The access matrix of `charter report matrix`: per space, roles × permissions (effective
//! values, with the reason a value differs from the declared one) and members × permissions
//! (the member's `what` answer: its role's values, its scope, what the API and Login-As add).
//! Every cell is a query answer, so the matrix cannot disagree with `query`.
//!
//! Renderers: JSON (typed values), CSV, Markdown, and one self-contained HTML page (no network,
//! no external assets; sorting and filtering in the page; printable).

use std::fmt::Write as _;

use crate::model::{Items, Permission, Value};
use crate::query::Index;
use crate::query::explain::reason_text;
use crate::snapshot::{MemberKindEntry, ScopeEntry};

/// Every space's matrix.
#[derive(Clone, Debug)]
pub struct Matrix {
    pub spaces: Vec<SpaceMatrix>,
}

#[derive(Clone, Debug)]
pub struct SpaceMatrix {
    pub id: String,
    pub name: Option<String>,
    /// The columns: every permission a member can hold (not the role settings).
    pub permissions: Vec<Permission>,
    pub roles: Vec<RoleRow>,
    pub members: Vec<MemberRow>,
}

#[derive(Clone, Debug)]
pub struct RoleRow {
    pub id: String,
    pub name: String,
    /// `builtin`, `custom`, `redefined`; with the upstream or Enterprise Permissions source.
    pub origin: String,
    pub members: usize,
    pub cells: Vec<Cell>,
}

#[derive(Clone, Debug)]
pub struct MemberRow {
    pub name: String,
    pub kind: MemberKindEntry,
    pub role: String,
    /// `None`: all locations; else the assigned locations `(id, name)`, and below.
    pub scope: Option<Vec<(String, String)>>,
    /// A restricted member whose role has `access_apis`: the API reaches every location.
    pub api_bypass: bool,
    pub cells: Vec<Cell>,
}

/// One effective value and what qualifies it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub value: Value,
    /// Why the value differs from the declared one (`reason_text`), or where it holds.
    pub notes: Vec<String>,
}

/// The matrix of every space of the index (or of `space`).
pub fn matrix(index: &Index, space: Option<u32>) -> Matrix {
    let permissions: Vec<Permission> = Permission::ALL
        .iter()
        .copied()
        .filter(|p| !p.is_setting())
        .collect();
    let spaces = (0..index.snapshot.spaces.len() as u32)
        .filter(|s| space.is_none_or(|only| only == *s))
        .map(|s| space_matrix(index, s, &permissions))
        .collect();
    Matrix { spaces }
}

fn space_matrix(index: &Index, s: u32, permissions: &[Permission]) -> SpaceMatrix {
    let entry = &index.snapshot.spaces[s as usize];
    let ix = &index.spaces[s as usize];
    let mut holders = std::collections::HashMap::<&str, usize>::new();
    for m in &entry.members {
        *holders.entry(m.role.as_str()).or_default() += 1;
    }
    let roles = entry
        .roles
        .iter()
        .enumerate()
        .map(|(r, role)| {
            let rix = &ix.roles[r];
            let origin = match (&role.from_upstream, &role.from_enterprise) {
                (Some(up), _) => format!("{} (from {up})", role.origin),
                (_, Some(src)) => format!("{} (Enterprise Permissions from {src})", role.origin),
                _ => role.origin.clone(),
            };
            RoleRow {
                id: role.id.clone(),
                name: role.name.clone(),
                origin,
                members: holders.get(role.id.as_str()).copied().unwrap_or(0),
                cells: permissions
                    .iter()
                    .map(|&p| Cell {
                        value: rix.value(p).clone(),
                        notes: rix.reason(p).map(reason_text).into_iter().collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    let location_name = |id: &str| {
        entry
            .locations
            .iter()
            .find(|l| l.id == id)
            .and_then(|l| l.name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    let members = entry
        .members
        .iter()
        .enumerate()
        .filter_map(|(mi, m)| {
            let role_ix = &ix.roles[ix.members[mi].role as usize];
            let what = index.what(&m.name, s)?;
            let scope = match &what.scope {
                ScopeEntry::All(_) => None,
                ScopeEntry::Locations(ids) => Some(
                    ids.iter()
                        .map(|id| (id.clone(), location_name(id)))
                        .collect::<Vec<_>>(),
                ),
            };
            let api = what
                .api
                .as_ref()
                .filter(|a| a.data > crate::model::Level::None);
            let api_bypass = scope.is_some() && api.is_some();
            let cells = permissions
                .iter()
                .map(|&p| {
                    let value = what
                        .permissions
                        .iter()
                        .find(|(q, _)| *q == p)
                        .map_or_else(|| p.default_off(), |(_, v)| v.clone());
                    let mut notes = Vec::new();
                    if let Some(r) = role_ix.reason(p) {
                        notes.push(reason_text(r));
                    }
                    if let Some(locs) = &scope
                        && p.is_location_scoped()
                        && value.level() > crate::model::Level::None
                    {
                        let names: Vec<&str> = locs.iter().map(|(_, n)| n.as_str()).collect();
                        notes.push(format!("at {} and below", names.join(", ")));
                    }
                    if p == Permission::Data
                        && let Some(a) = api
                        && scope.is_some()
                    {
                        notes.push(format!(
                            "{} at every location through the API",
                            a.data.as_str()
                        ));
                    }
                    if let Some(login_as) = &what.login_as {
                        for g in login_as.grants.iter().filter(|g| g.permission == p) {
                            let want = g.level_word();
                            let at = match &g.at {
                                None => "everywhere".to_owned(),
                                Some(at) => at
                                    .iter()
                                    .map(|(loc, worker)| {
                                        format!("at {} as {worker}", location_name(loc))
                                    })
                                    .collect::<Vec<_>>()
                                    .join(", "),
                            };
                            notes.push(format!("{want} through Login-As {at}"));
                        }
                    }
                    Cell { value, notes }
                })
                .collect();
            Some(MemberRow {
                name: m.name.clone(),
                kind: m.kind,
                role: what.role.clone(),
                scope,
                api_bypass,
                cells,
            })
        })
        .collect();
    SpaceMatrix {
        id: entry.id.clone(),
        name: entry.name.clone(),
        permissions: permissions.to_vec(),
        roles,
        members,
    }
}

/// A value as JSON: a word, or a list of ids.
fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Items(Items::Some(ids)) | Value::Roles(ids) => serde_json::json!(ids),
        other => serde_json::json!(other.to_source()),
    }
}

/// A value as text in a table cell.
fn value_text(v: &Value) -> String {
    match v {
        Value::Items(Items::Some(ids)) | Value::Roles(ids) => ids.join(", "),
        other => other.to_source(),
    }
}

/// Whether a value grants something (for colouring and for `granted` in JSON).
fn grants(v: &Value) -> bool {
    v.level() > crate::model::Level::None
}

fn scope_text(scope: &Option<Vec<(String, String)>>) -> String {
    match scope {
        None => "all".to_owned(),
        Some(locs) => locs
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

impl Matrix {
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let spaces: Vec<serde_json::Value> = self
            .spaces
            .iter()
            .map(|s| {
                let keys: Vec<&str> = s.permissions.iter().map(|p| p.key()).collect();
                let cells = |cells: &[Cell]| -> serde_json::Map<String, serde_json::Value> {
                    keys.iter()
                        .zip(cells)
                        .map(|(k, c)| {
                            let mut cell = json!({"value": value_json(&c.value), "granted": grants(&c.value)});
                            if !c.notes.is_empty() {
                                cell["notes"] = json!(c.notes);
                            }
                            ((*k).to_owned(), cell)
                        })
                        .collect()
                };
                json!({
                    "space": s.id,
                    "name": s.name,
                    "permissions": keys,
                    "roles": s.roles.iter().map(|r| json!({
                        "role": r.id, "name": r.name, "origin": r.origin, "members": r.members,
                        "cells": cells(&r.cells),
                    })).collect::<Vec<_>>(),
                    "members": s.members.iter().map(|m| json!({
                        "member": m.name,
                        "kind": match m.kind { MemberKindEntry::WebUser => "web_user", MemberKindEntry::MobileWorker => "mobile_worker" },
                        "role": m.role,
                        "scope": match &m.scope { None => json!("all"), Some(l) => json!(l.iter().map(|(id, _)| id).collect::<Vec<_>>()) },
                        "restricted": m.scope.is_some(),
                        "api_bypass": m.api_bypass,
                        "cells": cells(&m.cells),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({ "spaces": spaces })
    }

    /// One CSV table: a row per role and per member of every space.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let keys: Vec<&str> = Permission::ALL
            .iter()
            .filter(|p| !p.is_setting())
            .map(|p| p.key())
            .collect();
        let mut header = vec![
            "space",
            "row",
            "id",
            "role",
            "scope",
            "restricted",
            "api_bypass",
        ];
        header.extend(&keys);
        header.push("notes");
        out.push_str(&csv_row(header.iter().map(|h| (*h).to_owned())));
        for s in &self.spaces {
            let notes = |cells: &[Cell]| -> String {
                s.permissions
                    .iter()
                    .zip(cells)
                    .flat_map(|(p, c)| c.notes.iter().map(move |n| format!("{}: {n}", p.key())))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            for r in &s.roles {
                let mut row = vec![
                    s.id.clone(),
                    "role".into(),
                    r.id.clone(),
                    r.id.clone(),
                    String::new(),
                    String::new(),
                    String::new(),
                ];
                row.extend(r.cells.iter().map(|c| value_text(&c.value)));
                row.push(notes(&r.cells));
                out.push_str(&csv_row(row.into_iter()));
            }
            for m in &s.members {
                let mut row = vec![
                    s.id.clone(),
                    "member".into(),
                    m.name.clone(),
                    m.role.clone(),
                    scope_text(&m.scope),
                    if m.scope.is_some() { "yes" } else { "no" }.into(),
                    if m.api_bypass { "yes" } else { "no" }.into(),
                ];
                row.extend(m.cells.iter().map(|c| value_text(&c.value)));
                row.push(notes(&m.cells));
                out.push_str(&csv_row(row.into_iter()));
            }
        }
        out
    }

    /// Markdown: per space, a roles table and a members table (a note marker `*` on a value
    /// with notes, listed under the table).
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        for s in &self.spaces {
            let title = s
                .name
                .as_deref()
                .map_or_else(|| s.id.clone(), |n| format!("{n} (`{}`)", s.id));
            let _ = writeln!(out, "## {title}\n");
            let keys: Vec<&str> = s.permissions.iter().map(|p| p.key()).collect();
            let mut notes: Vec<String> = Vec::new();
            let mut cell = |who: &str, p: &str, c: &Cell| -> String {
                let text = md_escape(&value_text(&c.value));
                if c.notes.is_empty() {
                    text
                } else {
                    notes.push(format!(
                        "- {who}, `{p}`: {}",
                        md_escape(&c.notes.join("; "))
                    ));
                    format!("{text}*")
                }
            };
            let _ = writeln!(
                out,
                "### Roles\n\n| role | members | {} |",
                keys.join(" | ")
            );
            let _ = writeln!(out, "|---|---|{}", "---|".repeat(keys.len()));
            for r in &s.roles {
                let cells: Vec<String> = keys
                    .iter()
                    .zip(&r.cells)
                    .map(|(k, c)| cell(&r.id, k, c))
                    .collect();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    md_escape(&r.id),
                    r.members,
                    cells.join(" | ")
                );
            }
            let _ = writeln!(
                out,
                "\n### Members\n\n| member | role | scope | {} |",
                keys.join(" | ")
            );
            let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(keys.len()));
            for m in &s.members {
                let cells: Vec<String> = keys
                    .iter()
                    .zip(&m.cells)
                    .map(|(k, c)| cell(&m.name, k, c))
                    .collect();
                let mut scope = md_escape(&scope_text(&m.scope));
                if m.api_bypass {
                    scope.push_str(" (API: everywhere)");
                }
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    md_escape(&m.name),
                    md_escape(&m.role),
                    scope,
                    cells.join(" | ")
                );
            }
            if !notes.is_empty() {
                let _ = writeln!(out, "\n{}", notes.join("\n"));
            }
            out.push('\n');
        }
        out
    }

    /// One self-contained HTML page.
    pub fn to_html(&self) -> String {
        let mut body = String::new();
        for s in &self.spaces {
            let title = s
                .name
                .as_deref()
                .map_or_else(|| s.id.clone(), |n| format!("{n} ({})", s.id));
            let _ = write!(
                body,
                "<section id=\"space-{}\"><h2>{}</h2>",
                html(&s.id),
                html(&title)
            );
            let head = |first: &[&str]| -> String {
                let mut h = String::from("<thead><tr>");
                for f in first {
                    let _ = write!(
                        h,
                        "<th scope=\"col\" aria-sort=\"none\"><button type=\"button\">{}</button></th>",
                        html(f)
                    );
                }
                for p in &s.permissions {
                    let _ = write!(
                        h,
                        "<th scope=\"col\" class=\"perm\" aria-sort=\"none\" title=\"{}\"><button type=\"button\">{}</button></th>",
                        html(p.entry().label),
                        html(p.key())
                    );
                }
                h.push_str("</tr></thead>");
                h
            };
            let td = |c: &Cell| -> String {
                let class = if grants(&c.value) { "on" } else { "off" };
                let extra = if c
                    .notes
                    .iter()
                    .any(|n| n.contains("Login-As") || n.contains("API"))
                {
                    " via"
                } else {
                    ""
                };
                let title = if c.notes.is_empty() {
                    String::new()
                } else {
                    format!(" title=\"{}\"", html(&c.notes.join("; ")))
                };
                let mark = if c.notes.is_empty() {
                    ""
                } else {
                    "<sup>*</sup>"
                };
                format!(
                    "<td class=\"{class}{extra}\"{title}>{}{mark}</td>",
                    html(&value_text(&c.value))
                )
            };
            let _ = write!(
                body,
                "<h3>Roles</h3><div class=\"tools\"><input type=\"search\" class=\"filter\" placeholder=\"Filter roles\" aria-label=\"Filter roles of {}\"></div>",
                html(&s.id)
            );
            let _ = write!(
                body,
                "<div class=\"scroll\"><table class=\"matrix roles\">{}<tbody>",
                head(&["role", "name", "origin", "members"])
            );
            for r in &s.roles {
                let _ = write!(
                    body,
                    "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"num\">{}</td>",
                    html(&r.id),
                    html(&r.name),
                    html(&r.origin),
                    r.members
                );
                for c in &r.cells {
                    body.push_str(&td(c));
                }
                body.push_str("</tr>");
            }
            body.push_str("</tbody></table></div>");
            let _ = write!(
                body,
                "<h3>Members</h3><div class=\"tools\"><input type=\"search\" class=\"filter\" placeholder=\"Filter members\" aria-label=\"Filter members of {}\"><label><input type=\"checkbox\" class=\"only-restricted\"> restricted only</label></div>",
                html(&s.id)
            );
            let _ = write!(
                body,
                "<div class=\"scroll\"><table class=\"matrix members\">{}<tbody>",
                head(&["member", "kind", "role", "scope"])
            );
            for m in &s.members {
                let restricted = m.scope.is_some();
                let mut scope = html(&scope_text(&m.scope));
                if restricted {
                    scope = format!("<span class=\"badge restricted\">restricted</span> {scope}");
                }
                if m.api_bypass {
                    scope.push_str(" <span class=\"badge api\" title=\"access_apis: the API reads and changes data at every location, whatever the restriction\">API bypass</span>");
                }
                let kind = match m.kind {
                    MemberKindEntry::WebUser => "web user",
                    MemberKindEntry::MobileWorker => "mobile worker",
                };
                let _ = write!(
                    body,
                    "<tr data-restricted=\"{restricted}\"><th scope=\"row\">{}</th><td>{kind}</td><td>{}</td><td>{scope}</td>",
                    html(&m.name),
                    html(&m.role)
                );
                for c in &m.cells {
                    body.push_str(&td(c));
                }
                body.push_str("</tr>");
            }
            body.push_str("</tbody></table></div></section>");
        }
        format!("{HTML_HEAD}{body}{HTML_TAIL}")
    }
}

fn csv_row(cells: impl Iterator<Item = String>) -> String {
    let cells: Vec<String> = cells
        .map(|c| {
            // A cell that a spreadsheet would run as a formula is quoted and prefixed.
            let c = if c.starts_with(['=', '+', '-', '@']) {
                format!("'{c}")
            } else {
                c
            };
            if c.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", c.replace('"', "\"\""))
            } else {
                c
            }
        })
        .collect();
    format!("{}\r\n", cells.join(","))
}

fn md_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
}

/// Text for HTML content and attribute values.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const HTML_HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>charter access matrix</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.scroll { overflow: auto; max-height: 80vh; border: 1px solid #ddd; }
table.matrix { border-collapse: collapse; font-size: 12px; }
.matrix th, .matrix td { border: 1px solid #e3e3e3; padding: 2px 6px; white-space: nowrap; }
.matrix thead th { position: sticky; top: 0; background: #f4f4f4; z-index: 1; }
.matrix thead th.perm button { writing-mode: vertical-rl; transform: rotate(180deg); }
.matrix th button { all: unset; cursor: pointer; }
.matrix th[aria-sort="ascending"]::after { content: "▲"; font-size: 9px; }
.matrix th[aria-sort="descending"]::after { content: "▼"; font-size: 9px; }
.matrix tbody th { position: sticky; left: 0; background: #fff; text-align: left; }
td.on { background: #e6f4ea; } td.off { color: #999; } td.via { background: #fff4d6; }
td.num { text-align: right; }
.badge { font-size: 10px; padding: 0 4px; border-radius: 3px; }
.badge.restricted { background: #e8eefc; } .badge.api { background: #fde2e1; color: #8a1c1c; }
.tools { margin: .5em 0; display: flex; gap: 1em; align-items: center; }
.legend span { margin-right: 1em; }
@media print { .tools { display: none; } .scroll { overflow: visible; max-height: none; border: 0; }
  .matrix thead th { position: static; } body { margin: 0; font-size: 10px; } section { break-before: page; } }
</style>
</head>
<body>
<h1>Access matrix</h1>
<p class="legend"><span class="badge restricted">restricted</span> location-restricted member (scope: its locations and below)
<span class="badge api">API bypass</span> <code>access_apis</code> reaches data at every location
<span>* hover a value for why it differs from the role's declaration, where it holds, or what the API and Login-As add</span></p>
"#;

const HTML_TAIL: &str = r#"<script>
"use strict";
// Sorting: a click on a header sorts its table's rows by that column (numbers as numbers),
// again to reverse. Filtering: rows whose text contains the filter text (and, for members,
// only restricted ones when asked).
document.querySelectorAll("table.matrix").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.querySelector("button").addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent.trim(), y = b.cells[col].textContent.trim();
        var nx = Number(x), ny = Number(y);
        var c = (x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
document.querySelectorAll("section").forEach(function (section) {
  section.querySelectorAll(".tools").forEach(function (tools) {
    var table = tools.nextElementSibling.querySelector("table");
    var input = tools.querySelector("input.filter");
    var only = tools.querySelector("input.only-restricted");
    function apply() {
      var q = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        var show = r.textContent.toLowerCase().indexOf(q) !== -1;
        if (only && only.checked) { show = show && r.getAttribute("data-restricted") === "true"; }
        r.hidden = !show;
      });
    }
    input.addEventListener("input", apply);
    if (only) { only.addEventListener("change", apply); }
  });
});
</script>
</body>
</html>
"#;
