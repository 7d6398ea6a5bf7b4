//! HQ's exchange files → one space entry (declared values), ready for [`super::policy`].
//!
//! Every cell that cannot be mapped is reported with its file, sheet, row and column (or the
//! role and field of the role file), never dropped silently: an error when the files are
//! inconsistent (a role name that matches nothing, a parent site code that does not exist),
//! a warning when something is left out on purpose (an archived role, a deleted location, a
//! column with no access meaning).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Maps and sets over a workbook's names, hashed with a seed drawn per process: the workbook is
/// untrusted, and names crafted to collide under a fixed hash would make them quadratic.
/// Nothing here is iterated into the output, so the seed changes none of it.
type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type Set<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

use super::headers::{self, Header};
use super::policy::is_slug;
use super::roles::{HqRole, RoleFile};
use super::workbook::{self, Sheet, column_name};
use crate::model::builtin::{ADMIN, BUILTIN_ROLES, BuiltinRole, MOBILE_WORKER_DEFAULT};
use crate::model::{FeatureFlag, ItemKind, Items, Kind, Needs, Permission, Value};
use crate::snapshot::{
    LandingPageEntry, LocationEntry, LocationTypeEntry, MemberEntry, MemberKindEntry, NamedEntry,
    PermissionValue, RoleEntry, ScopeEntry, SpaceEntry,
};

/// The role file's largest size.
const JSON_LIMIT: u64 = 64 << 20;

/// Where in an input a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    File,
    Json {
        line: usize,
        column: usize,
    },
    /// A path in the JSON (`user_roles`, `charter.space`).
    Field(String),
    Role {
        index: usize,
        field: String,
    },
    Sheet(String),
    /// 0-based row and column.
    Cell {
        sheet: String,
        row: u32,
        column: u32,
        header: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem with an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub file: String,
    pub place: Place,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", self.file)?;
        match &self.place {
            Place::File => {}
            Place::Json { line, column } => write!(f, ":{line}:{column}")?,
            Place::Field(path) if path.is_empty() => {}
            Place::Field(path) => write!(f, ": `{path}`")?,
            Place::Role { index, field } if field.is_empty() => write!(f, ": user_roles[{index}]")?,
            Place::Role { index, field } => write!(f, ": user_roles[{index}].{field}")?,
            Place::Sheet(s) => write!(f, ", sheet `{s}`")?,
            Place::Cell {
                sheet,
                row,
                column,
                header,
            } => {
                write!(
                    f,
                    ", sheet `{sheet}`, row {}, column {}",
                    row + 1,
                    column_name(*column)
                )?;
                if let Some(h) = header {
                    write!(f, " (`{h}`)")?;
                }
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// The problems found so far; `file` names the input being read.
#[derive(Debug, Default)]
pub struct Problems {
    pub file: String,
    pub list: Vec<Problem>,
}

impl Problems {
    fn push(&mut self, severity: Severity, place: Place, message: String) {
        self.list.push(Problem {
            severity,
            file: self.file.clone(),
            place,
            message,
        });
    }
    pub fn error(&mut self, place: Place, message: String) {
        self.push(Severity::Error, place, message);
    }
    pub fn warning(&mut self, place: Place, message: String) {
        self.push(Severity::Warning, place, message);
    }
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|p| p.severity == Severity::Error)
    }
}

/// What to import: the files (each optional) and the space's facts HQ's files do not hold.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    pub roles: Option<&'a Path>,
    pub mobile_workers: Option<&'a Path>,
    pub web_users: Option<&'a Path>,
    pub locations: Option<&'a Path>,
    pub space: String,
    pub plan: Option<String>,
    pub server: Option<String>,
    /// The space's facts HQ's files do not carry, when they are known (`drift`: the policy's
    /// own space): preferred to the role file's `charter` object.
    pub base: Option<&'a SpaceEntry>,
    /// The upstream space's roles, when known (`drift`): a role object synced from upstream
    /// is matched to the upstream's role by name, and compared with it.
    pub upstream_roles: Option<&'a [RoleEntry]>,
}

/// The inputs as read: the role file's JSON text and each workbook's sheets.
#[derive(Clone, Debug, Default)]
pub struct Files {
    pub roles: Option<(String, String)>,
    pub mobile_workers: Option<(String, Vec<Sheet>)>,
    pub web_users: Option<(String, Vec<Sheet>)>,
    pub locations: Option<(String, Vec<Sheet>)>,
}

/// The imported space, and every problem met (an error among them: the space is incomplete).
#[derive(Debug)]
pub struct Imported {
    pub space: SpaceEntry,
    pub problems: Vec<Problem>,
}

/// Reads the request's files (a file that cannot be read is an error naming it).
pub fn read_files(req: &Request<'_>, problems: &mut Problems) -> Files {
    let mut files = Files::default();
    let name = |p: &Path| p.display().to_string();
    if let Some(p) = req.roles {
        problems.file = name(p);
        match workbook::read_file(p, JSON_LIMIT) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => files.roles = Some((name(p), text)),
                Err(_) => problems.error(Place::File, "it is not UTF-8 text".into()),
            },
            Err(e) => problems.error(Place::File, e.to_string()),
        }
    }
    for (path, slot) in [
        (req.mobile_workers, &mut files.mobile_workers),
        (req.web_users, &mut files.web_users),
        (req.locations, &mut files.locations),
    ] {
        let Some(p) = path else { continue };
        problems.file = name(p);
        match workbook::read(p) {
            Ok(sheets) => *slot = Some((name(p), sheets)),
            Err(e) => problems.error(Place::File, e.to_string()),
        }
    }
    files
}

/// Imports a space from files already read.
pub fn import(req: &Request<'_>, files: &Files, mut problems: Problems) -> Imported {
    let mut i = Importer {
        space: SpaceEntry {
            id: req.space.clone(),
            name: None,
            enterprise: None,
            plan: "enterprise".into(),
            server: None,
            upstream: None,
            upstream_remote: false,
            downstream: Vec::new(),
            environment: None,
            two_factor: None,
            features: Vec::new(),
            location_types: Vec::new(),
            locations: Vec::new(),
            groups: Vec::new(),
            reports: Vec::new(),
            applications: Vec::new(),
            registries: Vec::new(),
            profiles: Vec::new(),
            grants: Vec::new(),
            roles: Vec::new(),
            members: Vec::new(),
        },
        problems: &mut problems,
        role_names: Vec::new(),
        site_codes: Map::default(),
        group_names: Map::default(),
        has_meta: false,
        member_names: Set::default(),
        items: Map::default(),
        role_exact: Map::default(),
        role_lower: Map::default(),
    };
    let role_file = files.roles.as_ref().and_then(|(file, text)| {
        i.problems.file = file.clone();
        super::roles::read(text, i.problems)
    });
    i.header(req, role_file.as_ref());
    if let Some((file, sheets)) = &files.locations {
        i.problems.file = file.clone();
        i.locations(sheets);
    }
    if let Some((file, sheets)) = &files.mobile_workers {
        i.problems.file = file.clone();
        i.groups(sheets);
    }
    if let Some((file, _)) = &files.roles {
        i.problems.file = file.clone();
    }
    i.roles(
        role_file.as_ref(),
        req.upstream_roles,
        req.base.map(|b| &b.roles[..]),
    );
    if let Some((file, sheets)) = &files.web_users {
        i.problems.file = file.clone();
        i.users(sheets, MemberKindEntry::WebUser);
    }
    if let Some((file, sheets)) = &files.mobile_workers {
        i.problems.file = file.clone();
        i.users(sheets, MemberKindEntry::MobileWorker);
    }
    let space = i.space;
    Imported {
        space,
        problems: problems.list,
    }
}

/// A slug for an HQ name: lower-case, runs of other characters as `-`; one not starting
/// with a letter gets `prefix`.
pub fn slug(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-').to_owned();
    if trimmed.starts_with(|c: char| c.is_ascii_lowercase()) {
        trimmed
    } else if trimmed.is_empty() {
        prefix.trim_end_matches('-').to_owned()
    } else {
        format!("{prefix}{trimmed}")
    }
}

struct Importer<'p> {
    space: SpaceEntry,
    problems: &'p mut Problems,
    /// HQ role name → charter role id, every role members may hold.
    role_names: Vec<(String, String)>,
    /// Lower-cased site code → location id.
    site_codes: Map<String, String>,
    /// HQ group name → group id.
    group_names: Map<String, String>,
    /// Whether the role file carried charter's own object.
    has_meta: bool,
    /// Lower-cased member names seen.
    member_names: Set<String>,
    /// The items roles may name, by id and by name → id: the declared ones, and those
    /// declared on the way.
    items: Map<(ItemKind, String), String>,
    /// Role name → id, exactly and lower-cased (built from `role_names` on first use).
    role_exact: Map<String, String>,
    role_lower: Map<String, (String, String)>,
}

/// A header row: lower-level column index → header text.
struct Columns<'s> {
    sheet: &'s str,
    header_row: u32,
    cells: &'s [(u32, String)],
}

impl<'s> Columns<'s> {
    fn find(&self, name: &str) -> Option<u32> {
        self.cells.iter().find(|(_, h)| h == name).map(|(c, _)| *c)
    }
    fn header(&self, col: u32) -> Option<&'s str> {
        self.cells
            .iter()
            .find(|(c, _)| *c == col)
            .map(|(_, h)| h.as_str())
    }
    fn at(&self, row: u32, col: u32) -> Place {
        Place::Cell {
            sheet: self.sheet.to_owned(),
            row,
            column: col,
            header: self.header(col).map(str::to_owned),
        }
    }
    fn header_place(&self) -> Place {
        Place::Cell {
            sheet: self.sheet.to_owned(),
            row: self.header_row,
            column: 0,
            header: None,
        }
    }
}

/// A cell of a row by column.
fn cell(row: &[(u32, String)], col: Option<u32>) -> Option<&str> {
    let col = col?;
    row.binary_search_by_key(&col, |(c, _)| *c)
        .ok()
        .map(|i| row[i].1.as_str())
}

/// HQ's yes/no cells (`excel.py`): yes, y, true, 1 are yes.
fn is_yes(text: Option<&str>) -> bool {
    text.is_some_and(|t| matches!(t.to_ascii_lowercase().as_str(), "yes" | "y" | "true" | "1"))
}

/// HQ's inactive cells: no, false, 0.
fn is_no(text: Option<&str>) -> bool {
    text.is_some_and(|t| matches!(t.to_ascii_lowercase().as_str(), "no" | "n" | "false" | "0"))
}

impl Importer<'_> {
    /// The space's facts: the flags, else charter's own object, else the defaults.
    fn header(&mut self, req: &Request<'_>, file: Option<&RoleFile>) {
        let meta = req.base.or_else(|| file.and_then(|f| f.space.as_ref()));
        if let Some(meta) = meta {
            self.has_meta = true;
            let id = std::mem::take(&mut self.space.id);
            self.space = meta.clone();
            self.space.id = id;
            self.space.roles.clear();
            self.space.members.clear();
            self.space.locations.clear();
            self.space.location_types.clear();
            self.space.downstream.clear();
            for g in &self.space.groups {
                let name = g.name.clone().unwrap_or_else(|| g.id.clone());
                self.group_names.insert(name, g.id.clone());
            }
        }
        if let Some(plan) = &req.plan {
            self.space.plan = plan.clone();
        }
        if let Some(server) = &req.server {
            self.space.server = Some(server.clone());
        }
        self.sanitize_header();
        let sp = &self.space;
        for (kind, list) in [
            (ItemKind::Reports, &sp.reports),
            (ItemKind::Applications, &sp.applications),
            (ItemKind::Profiles, &sp.profiles),
        ] {
            for e in list {
                self.items.insert((kind, e.id.clone()), e.id.clone());
                if let Some(n) = &e.name {
                    self.items
                        .entry((kind, n.clone()))
                        .or_insert_with(|| e.id.clone());
                }
            }
        }
        for r in &sp.registries {
            self.items
                .insert((ItemKind::Registries, r.id.clone()), r.id.clone());
        }
    }

    /// The header as untrusted input: every word written where the language takes an id or
    /// a keyword must be one, or it is dropped with a warning (a string there could otherwise
    /// write statements into the policy).
    fn sanitize_header(&mut self) {
        let mut dropped: Vec<String> = Vec::new();
        let sp = &mut self.space;
        if crate::model::Plan::parse(&sp.plan).is_none() {
            dropped.push(format!(
                "plan `{}` (plan `enterprise` is used)",
                sp.plan.escape_debug()
            ));
            sp.plan = "enterprise".into();
        }
        let word = |dropped: &mut Vec<String>,
                    field: &str,
                    v: &mut Option<String>,
                    ok: &dyn Fn(&str) -> bool| {
            if let Some(w) = v.as_deref().filter(|w| !ok(w)) {
                dropped.push(format!("{field} `{}`", w.escape_debug()));
                *v = None;
            }
        };
        word(&mut dropped, "enterprise", &mut sp.enterprise, &is_slug);
        word(&mut dropped, "server", &mut sp.server, &is_slug);
        word(&mut dropped, "upstream", &mut sp.upstream, &is_slug);
        word(&mut dropped, "environment", &mut sp.environment, &|w| {
            crate::model::Environment::parse(w).is_some()
        });
        word(&mut dropped, "two_factor", &mut sp.two_factor, &|w| {
            matches!(w, "required" | "optional")
        });
        if sp.upstream.is_none() {
            sp.upstream_remote = false;
        }
        let keep = |dropped: &mut Vec<String>,
                    field: &str,
                    ids: &mut Vec<String>,
                    ok: &dyn Fn(&str) -> bool| {
            ids.retain(|id| {
                let good = ok(id);
                if !good {
                    dropped.push(format!("{field} `{}`", id.escape_debug()));
                }
                good
            });
        };
        keep(&mut dropped, "feature", &mut sp.features, &|w| {
            FeatureFlag::parse(w).is_some()
        });
        for list in [
            &mut sp.groups,
            &mut sp.reports,
            &mut sp.applications,
            &mut sp.profiles,
        ] {
            list.retain(|e| {
                let good = is_slug(&e.id);
                if !good {
                    dropped.push(format!("id `{}`", e.id.escape_debug()));
                }
                good
            });
        }
        sp.registries.retain(|r| {
            let good = is_slug(&r.id);
            if !good {
                dropped.push(format!("registry `{}`", r.id.escape_debug()));
            }
            good
        });
        for r in &mut sp.registries {
            keep(&mut dropped, "case type", &mut r.case_types, &is_slug);
        }
        sp.grants.retain(|g| {
            let good = is_slug(&g.registry) && g.to.iter().all(|t| is_slug(t));
            if !good {
                dropped.push(format!("grant of `{}`", g.registry.escape_debug()));
            }
            good
        });
        self.group_names.retain(|_, id| is_slug(id));
        for d in dropped {
            self.problems.warning(
                Place::Field("charter.space".into()),
                format!("{d} is not a word the policy language takes there: left out"),
            );
        }
    }

    fn locations(&mut self, sheets: &[Sheet]) {
        let Some(types) = sheets.iter().find(|s| s.name == headers::TYPES) else {
            self.problems.error(
                Place::File,
                format!("the locations workbook has no `{}` sheet", headers::TYPES),
            );
            return;
        };
        let Some(cols) = self.exact_columns(types, headers::TYPE_COLUMNS, &[]) else {
            return;
        };
        let (code_col, parent_col, delete_col) = (
            cols.find("code"),
            cols.find("parent_code"),
            cols.find("Delete(Y/N)"),
        );
        let mut type_ids: Map<String, String> = Map::default();
        let mut parents = Vec::new();
        for (r, row) in types.split_header().map_or(&[][..], |(_, rows)| rows) {
            let Some(code) = cell(row, code_col) else {
                self.problems.error(
                    cols.at(*r, code_col.unwrap_or(0)),
                    "a location type needs a `code`".into(),
                );
                continue;
            };
            if is_yes(cell(row, delete_col)) {
                self.problems.warning(
                    cols.at(*r, delete_col.unwrap_or(0)),
                    format!("location type `{code}` is marked for deletion: not imported"),
                );
                continue;
            }
            let id = self.id_for(code, "type-", &cols, *r, code_col);
            if type_ids.insert(code.to_lowercase(), id.clone()).is_some() {
                self.problems.error(
                    cols.at(*r, code_col.unwrap_or(0)),
                    format!("location type `{code}` is listed twice"),
                );
                continue;
            }
            parents.push((id, cell(row, parent_col).map(str::to_owned), *r));
        }
        for (id, parent, r) in parents {
            let parent = match parent {
                None => None,
                Some(p) => match type_ids.get(&p.to_lowercase()) {
                    Some(pid) => Some(pid.clone()),
                    None => {
                        self.problems.error(
                            cols.at(r, parent_col.unwrap_or(0)),
                            format!("parent type `{p}` is not a type of the `types` sheet"),
                        );
                        None
                    }
                },
            };
            self.space
                .location_types
                .push(LocationTypeEntry { id, parent });
        }
        // Locations, from the sheet of each type, in sheet then row order.
        struct Row {
            id: String,
            name: Option<String>,
            ty: String,
            parent: Option<(String, Place)>,
        }
        let mut rows: Vec<Row> = Vec::new();
        let mut first_row: Map<String, (String, u32)> = Map::default();
        let mut ids_taken: Set<String> = Set::default();
        for sheet in sheets.iter().filter(|s| s.name != headers::TYPES) {
            let Some(ty) = type_ids.get(&sheet.name.to_lowercase()).cloned() else {
                self.problems.warning(
                    Place::Sheet(sheet.name.clone()),
                    format!(
                        "no location type has the code `{}` in the `types` sheet: its rows are not imported",
                        sheet.name
                    ),
                );
                continue;
            };
            let Some(cols) =
                self.exact_columns(sheet, headers::LOCATION_COLUMNS, headers::LOCATION_OPTIONAL)
            else {
                continue;
            };
            let site = cols.find("site_code");
            let name_col = cols.find("name");
            let parent_col = cols.find("parent_site_code");
            let delete = cols.find("Delete(Y/N)");
            for (r, row) in sheet.split_header().map_or(&[][..], |(_, rows)| rows) {
                let Some(code) = cell(row, site) else {
                    self.problems.error(
                        cols.at(*r, site.unwrap_or(0)),
                        "a location needs a `site_code`".into(),
                    );
                    continue;
                };
                if is_yes(cell(row, delete)) {
                    self.problems.warning(
                        cols.at(*r, delete.unwrap_or(0)),
                        format!("location `{code}` is marked for deletion: not imported"),
                    );
                    continue;
                }
                let lower = code.to_lowercase();
                if let Some((sheet0, r0)) = first_row.get(&lower) {
                    self.problems.error(
                        cols.at(*r, site.unwrap_or(0)),
                        format!(
                            "site code `{code}` repeats the one of sheet `{sheet0}`, row {} (HQ compares site codes ignoring case)",
                            r0 + 1
                        ),
                    );
                    continue;
                }
                first_row.insert(lower.clone(), (sheet.name.clone(), *r));
                if !lower
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    self.problems.warning(
                        cols.at(*r, site.unwrap_or(0)),
                        format!("site code `{code}` has characters HQ does not allow (letters, digits, `-`, `_`)"),
                    );
                }
                let id = self.id_for(&lower, "loc-", &cols, *r, site);
                if ids_taken.contains(&id) {
                    let other = self
                        .site_codes
                        .iter()
                        .find(|(_, v)| **v == id)
                        .map(|(k, _)| k.clone())
                        .unwrap_or_default();
                    self.problems.error(
                        cols.at(*r, site.unwrap_or(0)),
                        format!("site code `{code}` and site code `{other}` both become the id `{id}`: rename one in HQ"),
                    );
                    continue;
                }
                ids_taken.insert(id.clone());
                self.site_codes.insert(lower, id.clone());
                let name = cell(row, name_col).filter(|n| *n != id).map(str::to_owned);
                let parent = cell(row, parent_col)
                    .map(|p| (p.to_lowercase(), cols.at(*r, parent_col.unwrap_or(0))));
                rows.push(Row {
                    id,
                    name,
                    ty: ty.clone(),
                    parent,
                });
            }
        }
        // The tree in preorder, children in row order; an unknown parent is an error.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
        let index: Map<&str, usize> = rows
            .iter()
            .enumerate()
            .map(|(n, r)| (r.id.as_str(), n))
            .collect();
        let mut roots = Vec::new();
        let mut parent_of = vec![None; rows.len()];
        for (n, r) in rows.iter().enumerate() {
            match &r.parent {
                None => roots.push(n),
                Some((code, place)) => {
                    match self.site_codes.get(code).and_then(|id| index.get(id.as_str())) {
                        Some(&p) => {
                            children[p].push(n);
                            parent_of[n] = Some(p);
                        }
                        None => self.problems.error(
                            place.clone(),
                            format!(
                                "parent site code `{code}` of location `{}` is not a location of the workbook",
                                r.id
                            ),
                        ),
                    }
                }
            }
        }
        let mut seen = vec![false; rows.len()];
        let mut stack: Vec<usize> = roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            seen[n] = true;
            let r = &rows[n];
            self.space.locations.push(LocationEntry {
                id: r.id.clone(),
                name: r.name.clone(),
                ty: r.ty.clone(),
                parent: parent_of[n].map(|p| rows[p].id.clone()),
                enter: 0,
                exit: 0,
            });
            stack.extend(children[n].iter().rev());
        }
        for (n, r) in rows.iter().enumerate() {
            if !seen[n] && parent_of[n].is_some() {
                if let Some((_, place)) = &r.parent {
                    self.problems.error(
                        place.clone(),
                        format!(
                            "location `{}` is its own ancestor (a cycle of parent site codes)",
                            r.id
                        ),
                    );
                }
            }
        }
    }

    /// Whether every header of the row is written once: with two `role` columns, which one
    /// HQ reads is not something to guess (an error at the second).
    fn no_repeated_headers(&mut self, cols: &Columns<'_>) -> bool {
        let mut seen: Map<&str, u32> = Map::default();
        let mut ok = true;
        for (c, h) in cols.cells {
            if let Some(first) = seen.insert(h.as_str(), *c) {
                self.problems.error(
                    cols.at(cols.header_row, *c),
                    format!(
                        "column `{h}` is also column {}: which one HQ reads is not known",
                        column_name(first)
                    ),
                );
                ok = false;
            }
        }
        ok
    }

    /// A charter id for an HQ code: as it is when it is a slug, else slugged (a warning).
    fn id_for(
        &mut self,
        code: &str,
        prefix: &str,
        cols: &Columns<'_>,
        row: u32,
        col: Option<u32>,
    ) -> String {
        let lower = code.to_lowercase();
        if is_slug(&lower) {
            return lower;
        }
        let id = slug(&lower, prefix);
        self.problems.warning(
            cols.at(row, col.unwrap_or(0)),
            format!("`{code}` is not a charter id (a letter, then letters, digits, `-`, `_`): written as `{id}`"),
        );
        id
    }

    /// The header row of a sheet that must have exactly `required` (and may have `optional`
    /// prefixes): an error for a missing or unknown header.
    fn exact_columns<'s>(
        &mut self,
        sheet: &'s Sheet,
        required: &[&str],
        optional: &[&str],
    ) -> Option<Columns<'s>> {
        let Some((header, _)) = sheet.split_header() else {
            self.problems.error(
                Place::Sheet(sheet.name.clone()),
                "the sheet is empty: it needs a header row".into(),
            );
            return None;
        };
        let cols = Columns {
            sheet: &sheet.name,
            header_row: sheet.rows[0].0,
            cells: header,
        };
        let mut ok = self.no_repeated_headers(&cols);
        for want in required {
            if cols.find(want).is_none() {
                self.problems.error(
                    cols.header_place(),
                    format!(
                        "the header row has no `{want}` column (HQ requires exactly: {})",
                        required.join(", ")
                    ),
                );
                ok = false;
            }
        }
        for (c, h) in header {
            let base = Header::parse(h).base();
            if !required.contains(&h.as_str()) && !optional.contains(&base) {
                self.problems.error(
                    cols.at(cols.header_row, *c),
                    format!("`{h}` is not a column HQ's importer accepts"),
                );
                ok = false;
            }
        }
        ok.then_some(cols)
    }

    fn groups(&mut self, sheets: &[Sheet]) {
        let Some(sheet) = sheets.iter().find(|s| s.name == headers::GROUPS) else {
            return;
        };
        let Some((header, rows)) = sheet.split_header() else {
            return;
        };
        let cols = Columns {
            sheet: &sheet.name,
            header_row: sheet.rows[0].0,
            cells: header,
        };
        if !self.no_repeated_headers(&cols) {
            return;
        }
        let Some(name_col) = cols.find("name") else {
            self.problems.error(
                cols.header_place(),
                "the groups sheet has no `name` column".into(),
            );
            return;
        };
        for (c, h) in header {
            if !headers::GROUP_COLUMNS.contains(&Header::parse(h).base()) {
                self.problems.error(
                    cols.at(cols.header_row, *c),
                    format!("`{h}` is not a column of HQ's groups sheet"),
                );
            }
        }
        let mut taken: Set<String> = self.space.groups.iter().map(|g| g.id.clone()).collect();
        for (r, row) in rows {
            let Some(name) = cell(row, Some(name_col)) else {
                self.problems.warning(
                    cols.at(*r, name_col),
                    "a group row without a name: not imported".into(),
                );
                continue;
            };
            if self.group_names.contains_key(name) {
                continue;
            }
            let mut id = slug(name, "group-");
            if taken.contains(&id) {
                let base = id.clone();
                id = (2..)
                    .map(|n| format!("{base}-{n}"))
                    .find(|i| !taken.contains(i))
                    .unwrap_or(base);
            }
            taken.insert(id.clone());
            self.group_names.insert(name.to_owned(), id.clone());
            self.space.groups.push(NamedEntry {
                name: (name != id).then(|| name.to_owned()),
                id,
            });
        }
    }

    fn roles(
        &mut self,
        file: Option<&RoleFile>,
        upstream_roles: Option<&[RoleEntry]>,
        base_roles: Option<&[RoleEntry]>,
    ) {
        self.role_names.push(("Admin".into(), ADMIN.into()));
        let hq_roles: &[HqRole] = file.map_or(&[], |f| &f.roles);
        // Couch id → charter id, for `assignable_by`.
        let mut by_couch: BTreeMap<String, String> = BTreeMap::new();
        by_couch.insert(ADMIN.into(), ADMIN.into());
        // Ids given out; a built-in id once only (two objects cannot both be "Read Only").
        let mut used: Set<String> = Set::default();
        used.insert(ADMIN.into());
        let reserved = |id: &str| BuiltinRole::find(id).is_some();
        // The next suffix to try per base, so n roles of one name cost n, not n².
        let mut suffixes: Map<String, usize> = Map::default();
        let mut fresh = |used: &Set<String>, base: &str| {
            let n = suffixes.entry(base.to_owned()).or_insert(1);
            let mut id = if *n == 1 {
                base.to_owned()
            } else {
                format!("{base}-{n}")
            };
            while used.contains(&id) || reserved(&id) {
                *n += 1;
                id = format!("{base}-{n}");
            }
            id
        };
        let mut entries: Vec<(RoleEntry, &HqRole, bool)> = Vec::new();
        let mut names_seen: Map<String, usize> = Map::default();
        for r in hq_roles {
            let at = |f: &str| Place::Role {
                index: r.index,
                field: f.to_owned(),
            };
            if let Some(&first) = names_seen.get(&r.name.to_lowercase()) {
                self.problems.warning(at("name"), format!("role name `{}` repeats user_roles[{first}] (HQ's names are unique ignoring case): imported as a role of its own", r.name));
            } else {
                names_seen.insert(r.name.to_lowercase(), r.index);
            }
            if r.name.chars().any(char::is_control) {
                self.problems.warning(at("name"), format!("role name `{}` holds line breaks or other control characters: written with spaces", r.name.escape_debug()));
            }
            let builtin = if r.is_mobile_default {
                BuiltinRole::find(MOBILE_WORKER_DEFAULT)
            } else {
                BUILTIN_ROLES
                    .iter()
                    .find(|b| b.name.eq_ignore_ascii_case(&r.name))
            };
            if builtin.is_some_and(|b| b.id == ADMIN) {
                self.problems.warning(
                    at("name"),
                    "`Admin` is HQ's static role, never a role object: not imported".into(),
                );
                continue;
            }
            let builtin = builtin.filter(|b| !used.contains(b.id));
            // A role synced from the upstream space: the upstream's role of that name.
            let synced = r.upstream_id.as_ref().and_then(|_| {
                upstream_roles?
                    .iter()
                    .find(|u| u.name.eq_ignore_ascii_case(&r.name))
            });
            let meta_id = r
                .couch_id
                .as_ref()
                .and_then(|c| file.and_then(|f| f.ids.get(c)))
                .filter(|id| {
                    is_slug(id)
                        && !used.contains(*id)
                        && (!reserved(id) || builtin.is_some_and(|b| b.id == *id))
                });
            // In `drift`, the policy's own role of that name keeps its id.
            let known = base_roles.and_then(|roles| {
                roles
                    .iter()
                    .filter(|b| b.from_upstream.is_none() && b.from_enterprise.is_none())
                    .find(|b| b.name.eq_ignore_ascii_case(&r.name) && !used.contains(&b.id))
                    .filter(|b| b.id != ADMIN)
                    .map(|b| b.id.clone())
            });
            let id = match (synced, meta_id, known, builtin) {
                (Some(u), _, _, _) => u.id.clone(),
                (None, Some(id), _, _) => id.clone(),
                (None, None, Some(id), _) => id,
                (None, None, None, Some(b)) => b.id.to_owned(),
                (None, None, None, None) => fresh(&used, &slug(&r.name, "role-")),
            };
            used.insert(id.clone());
            if let Some(c) = &r.couch_id {
                by_couch.insert(c.clone(), id.clone());
            }
            self.role_names.push((r.name.clone(), id.clone()));
            let from_upstream = match (&r.upstream_id, &self.space.upstream) {
                (Some(_), Some(up)) => Some(up.clone()),
                (Some(_), None) => {
                    self.problems.warning(at("upstream_id"), format!("role `{}` is synced from an upstream space, which the files do not name: declared here", r.name));
                    None
                }
                _ => None,
            };
            if from_upstream.is_some() && upstream_roles.is_some() && synced.is_none() {
                self.problems.warning(at("upstream_id"), format!("role `{}` is synced from upstream, but the upstream space has no role of that name", r.name));
            }
            let builtin_here = BuiltinRole::find(&id);
            let origin = match builtin_here {
                Some(b) if from_upstream.is_none() && r.values == b.values() => "builtin",
                Some(_) => "redefined",
                None => "custom",
            };
            entries.push((
                RoleEntry {
                    id,
                    name: r.name.clone(),
                    origin: origin.into(),
                    from_upstream,
                    from_enterprise: None,
                    permissions: BTreeMap::new(),
                    reasons: BTreeMap::new(),
                },
                r,
                synced.is_some(),
            ));
        }
        // Values, with ids mapped: `assignable_by` couch ids, item lists to declared ids.
        for (mut entry, r, synced) in entries {
            let index = r.index;
            for &p in Permission::ALL {
                let value = self.map_value(p, r.values.get(p), &by_couch, index, &entry.name);
                entry
                    .permissions
                    .insert(p.key().to_owned(), permission_value(&value));
            }
            // A synced copy that no longer matches the upstream's role is what HQ enforces in
            // this space: it becomes a role of its own, so its holders' access is compared.
            if synced
                && let Some(up) = upstream_roles.and_then(|u| u.iter().find(|u| u.id == entry.id))
            {
                let differs: Vec<&str> = Permission::ALL
                    .iter()
                    .filter(|&&p| p != Permission::AssignableBy)
                    .filter(|&&p| {
                        entry.permissions.get(p.key()).map(|v| v.decode(p))
                            != Some(super::policy::declared(up, p))
                    })
                    .map(|p| p.key())
                    .collect();
                if !differs.is_empty() {
                    let old = entry.id.clone();
                    let id = fresh(&used, &format!("{old}-copy"));
                    used.insert(id.clone());
                    self.problems.warning(
                        Place::Role { index, field: "permissions".into() },
                        format!("role `{}` is synced from upstream but differs from the upstream's `{old}` ({}): HQ enforces this copy here, so it is imported as role `{id}`", entry.name, differs.join(", ")),
                    );
                    for (_, rid) in self
                        .role_names
                        .iter_mut()
                        .filter(|(n, rid)| *rid == old && *n == entry.name)
                    {
                        *rid = id.clone();
                    }
                    entry.id = id;
                    entry.from_upstream = None;
                    entry.origin = "custom".into();
                }
            }
            self.space.roles.push(entry);
        }
        if !self.has_meta {
            self.infer_features();
        }
    }

    /// A role value with HQ's ids mapped to charter's: role couch ids, and item ids (declared
    /// as reports, applications, ... when the space does not already).
    fn map_value(
        &mut self,
        p: Permission,
        value: &Value,
        by_couch: &BTreeMap<String, String>,
        index: usize,
        role: &str,
    ) -> Value {
        match value {
            Value::Roles(couch) => {
                let mut ids = Vec::new();
                for c in couch {
                    match by_couch.get(c) {
                        Some(id) => ids.push(id.clone()),
                        None => self.problems.warning(
                            Place::Role {
                                index,
                                field: "assignable_by".into(),
                            },
                            format!(
                                "role `{role}`: `{c}` is the id of no role of the file: left out"
                            ),
                        ),
                    }
                }
                Value::Roles(ids)
            }
            Value::Items(Items::Some(items)) => {
                let kind = match p.kind() {
                    Kind::Items(k) | Kind::SwitchOrItems(k) => k,
                    _ => return value.clone(),
                };
                let ids = items
                    .iter()
                    .map(|item| self.item_id(kind, item))
                    .collect::<Vec<_>>();
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                p.parse_list(&ids).unwrap_or_else(|_| value.clone())
            }
            _ => value.clone(),
        }
    }

    /// The charter id of an item an HQ role names; declared in the space if it is of a
    /// declared kind and not yet there.
    fn item_id(&mut self, kind: ItemKind, item: &str) -> String {
        if let Some(id) = self.items.get(&(kind, item.to_owned())) {
            return id.clone();
        }
        let prefix = match kind {
            ItemKind::Reports => "report-",
            ItemKind::Applications => "app-",
            ItemKind::Profiles => "profile-",
            ItemKind::Registries => "registry-",
            ItemKind::TableauReports => "tableau-",
            ItemKind::AnalyticsRoles => "analytics-",
        };
        let id = if is_slug(item) {
            item.to_owned()
        } else {
            slug(item, prefix)
        };
        let name = (id != item).then(|| item.to_owned());
        let declared_here = self.items.contains_key(&(kind, id.clone()));
        // With the space's declarations known (charter's object, or the policy in `drift`), a
        // registry may be another space's, granted to this one: kept as it is. Other items
        // the roles name are declared, as HQ's roles name what the project has.
        let declare = kind.is_declared()
            && !declared_here
            && !(self.has_meta && kind == ItemKind::Registries);
        if declare {
            if self.has_meta {
                self.problems.warning(
                    Place::Field("user_roles".into()),
                    format!(
                        "a role names {} `{item}`, which the policy does not declare: declared",
                        kind.noun()
                    ),
                );
            }
            match kind {
                ItemKind::Reports => self.space.reports.push(NamedEntry {
                    id: id.clone(),
                    name,
                }),
                ItemKind::Applications => self.space.applications.push(NamedEntry {
                    id: id.clone(),
                    name,
                }),
                ItemKind::Profiles => self.space.profiles.push(NamedEntry {
                    id: id.clone(),
                    name,
                }),
                ItemKind::Registries => {
                    self.space.registries.push(crate::snapshot::RegistryEntry {
                        id: id.clone(),
                        name,
                        case_types: Vec::new(),
                    })
                }
                ItemKind::TableauReports | ItemKind::AnalyticsRoles => {}
            }
        }
        self.items.insert((kind, id.clone()), id.clone());
        self.items.insert((kind, item.to_owned()), id.clone());
        id
    }

    /// Without charter's own object, the feature flags the roles use are turned on: HQ's
    /// files do not say which flags the project has, and a flag left off would silently
    /// withhold what the roles grant. Each is a warning to review.
    fn infer_features(&mut self) {
        let mut flags: Vec<FeatureFlag> = Vec::new();
        for role in &self.space.roles {
            for &p in Permission::ALL {
                let Some(gate) = p.gate() else { continue };
                let Needs::Feature(flag) = gate.needs else {
                    continue;
                };
                let Some(v) = role.permissions.get(p.key()) else {
                    continue;
                };
                if p.gated(gate, &v.decode(p)) && !flags.contains(&flag) {
                    flags.push(flag);
                    self.problems.warning(
                        Place::Field("user_roles".into()),
                        format!(
                            "role `{}` uses `{}`, which needs HQ's `{}` feature flag: `features` turns it on; remove it if the project does not have the flag",
                            role.name,
                            p.key(),
                            flag.as_str()
                        ),
                    );
                }
            }
        }
        let mut words: Vec<&str> = flags.iter().map(|f| f.as_str()).collect();
        for f in &self.space.features {
            if !words.contains(&f.as_str()) {
                words.push(f);
            }
        }
        // Catalogue order, as a snapshot lists them.
        self.space.features = FeatureFlag::ALL
            .iter()
            .map(|f| f.as_str())
            .filter(|f| words.contains(f))
            .map(str::to_owned)
            .collect();
    }

    fn users(&mut self, sheets: &[Sheet], kind: MemberKindEntry) {
        let mobile = kind == MemberKindEntry::MobileWorker;
        let Some(sheet) = sheets
            .iter()
            .find(|s| s.name == headers::USERS)
            .or_else(|| sheets.first().filter(|_| mobile))
        else {
            self.problems.error(
                Place::File,
                format!("the workbook has no `{}` sheet", headers::USERS),
            );
            return;
        };
        let Some((header, rows)) = sheet.split_header() else {
            self.problems.error(
                Place::Sheet(sheet.name.clone()),
                "the sheet is empty: it needs a header row".into(),
            );
            return;
        };
        let cols = Columns {
            sheet: &sheet.name,
            header_row: sheet.rows[0].0,
            cells: header,
        };
        let mut ok = self.no_repeated_headers(&cols);
        for (c, h) in header {
            let accepted = if mobile {
                headers::mobile_accepts(h)
            } else {
                headers::web_accepts(h)
            };
            if !accepted {
                self.problems.error(
                    cols.at(cols.header_row, *c),
                    format!(
                        "`{h}` is not a column HQ's {} importer accepts",
                        kind.words()
                    ),
                );
                ok = false;
            }
        }
        let required: &[&str] = if mobile {
            &["username"]
        } else {
            &["username", "role"]
        };
        for want in required {
            if cols.find(want).is_none() {
                self.problems.error(
                    cols.header_place(),
                    format!("the header row has no `{want}` column, which HQ requires"),
                );
                ok = false;
            }
        }
        if !ok {
            return;
        }
        let username = cols.find("username");
        let role_col = cols.find("role");
        // Columns with no meaning for access: named once, if they hold anything.
        let meaningful = |h: &str| {
            let parsed = Header::parse(h);
            matches!(
                parsed.base(),
                "username"
                    | "role"
                    | "location_code"
                    | "location-sms-code"
                    | "group"
                    | "web_user"
                    | "is_active"
                    | "remove"
                    | "status"
                    | "domain"
                    | "user_profile"
            ) || parsed == Header::Keyed("data", "login_as_user")
        };
        let mut ignored: Vec<&str> = header
            .iter()
            .filter(|(c, h)| {
                !meaningful(h) && rows.iter().any(|(_, row)| cell(row, Some(*c)).is_some())
            })
            .map(|(_, h)| h.as_str())
            .collect();
        ignored.dedup();
        if !ignored.is_empty() {
            self.problems.warning(
                Place::Sheet(sheet.name.clone()),
                format!(
                    "columns with no bearing on access are not imported: {}",
                    ignored.join(", ")
                ),
            );
        }
        // `web_user` cells: HQ's upload invites (or updates) that web user with the worker's
        // role and primary location.
        let mut invited: Vec<(String, String, Option<String>, Place)> = Vec::new();
        // Roles without Full Organization Access, found once (a sheet may hold many workers).
        let restricted_roles: std::collections::HashSet<String> = self
            .space
            .roles
            .iter()
            .filter(|x| {
                x.permissions.get(Permission::FullOrganizationAccess.key())
                    == Some(&PermissionValue::Word("off".into()))
            })
            .map(|x| x.id.clone())
            .collect();
        for (r, row) in rows {
            let Some(name) = cell(row, username) else {
                self.problems.warning(
                    cols.at(*r, username.unwrap_or(0)),
                    "a row without a username: not imported".into(),
                );
                continue;
            };
            if let Some(domain) = cell(row, cols.find("domain")).filter(|d| *d != self.space.id) {
                self.problems.warning(
                    cols.at(*r, cols.find("domain").unwrap_or(0)),
                    format!(
                        "`{name}` belongs to space `{domain}`, not `{}`: not imported",
                        self.space.id
                    ),
                );
                continue;
            }
            if is_yes(cell(row, cols.find("remove"))) {
                self.problems.warning(
                    cols.at(*r, cols.find("remove").unwrap_or(0)),
                    format!("`{name}` is marked for removal: not imported"),
                );
                continue;
            }
            if mobile && is_no(cell(row, cols.find("is_active"))) {
                self.problems.warning(
                    cols.at(*r, cols.find("is_active").unwrap_or(0)),
                    format!("`{name}` is inactive (cannot log in): not imported"),
                );
                continue;
            }
            if !mobile && cell(row, cols.find("status")) == Some("Invited") {
                self.problems.warning(cols.at(*r, cols.find("status").unwrap_or(0)), format!("`{name}` has a pending invitation: imported as a member, with the access it gets once accepted"));
            }
            if !self.member_names.insert(name.to_lowercase()) {
                self.problems.error(
                    cols.at(*r, username.unwrap_or(0)),
                    format!("`{name}` is listed twice (member names are compared ignoring case)"),
                );
                continue;
            }
            let role = match cell(row, role_col) {
                None if mobile => MOBILE_WORKER_DEFAULT.to_owned(),
                None => {
                    self.problems.error(
                        cols.at(*r, role_col.unwrap_or(0)),
                        format!("web user `{name}` has no role"),
                    );
                    continue;
                }
                Some(role) => match self.role_by_name(role, cols.at(*r, role_col.unwrap_or(0))) {
                    Some(id) if mobile && id == ADMIN => {
                        self.problems.warning(
                            cols.at(*r, role_col.unwrap_or(0)),
                            format!("mobile worker `{name}` is an Admin, which HQ gives web users only (its upload refuses it): imported as written"),
                        );
                        id
                    }
                    Some(id) => id,
                    None => {
                        let mut names: Vec<&str> = self
                            .role_names
                            .iter()
                            .take(12)
                            .map(|(n, _)| n.as_str())
                            .collect();
                        if self.role_names.len() > 12 {
                            names.push("...");
                        }
                        self.problems.error(
                            cols.at(*r, role_col.unwrap_or(0)),
                            format!(
                                "`{role}` is the name of no role of the role file (roles: {})",
                                names.join(", ")
                            ),
                        );
                        continue;
                    }
                },
            };
            let mut locations = Vec::new();
            let mut groups = Vec::new();
            let mut login_as: Vec<String> = Vec::new();
            let mut bad = false;
            for (c, text) in row {
                let Some(h) = cols.header(*c) else {
                    self.problems
                        .warning(cols.at(*r, *c), "a cell under no header: ignored".into());
                    continue;
                };
                match Header::parse(h) {
                    Header::Numbered("location_code" | "location-sms-code", _) | Header::Plain("location_code" | "location-sms-code") => {
                        match self.site_codes.get(&text.to_lowercase()) {
                            Some(id) if !locations.contains(id) => locations.push(id.clone()),
                            Some(_) => {}
                            None => {
                                self.problems.error(cols.at(*r, *c), format!("site code `{text}` is not a location of the locations workbook"));
                                bad = true;
                            }
                        }
                    }
                    Header::Numbered("group", _) | Header::Plain("group") if mobile => match self.group_names.get(text.as_str()) {
                        Some(id) if !groups.contains(id) => groups.push(id.clone()),
                        Some(_) => {}
                        None => {
                            self.problems.error(cols.at(*r, *c), format!("group `{text}` is not a group of the `groups` sheet"));
                            bad = true;
                        }
                    },
                    Header::Plain("web_user") if mobile => login_as.push(text.clone()),
                    Header::Keyed("data", "login_as_user") if mobile => login_as.extend(text.split_whitespace().map(str::to_owned)),
                    Header::Plain("user_profile") => self.problems.warning(cols.at(*r, *c), format!("user profile `{text}` of `{name}`: charter does not model members' profiles; not imported")),
                    _ => {}
                }
            }
            if bad {
                continue;
            }
            let restricted_role = restricted_roles.contains(role.as_str());
            if restricted_role && locations.is_empty() {
                self.problems.warning(
                    cols.at(*r, username.unwrap_or(0)),
                    format!("`{name}` holds `{role}`, which is restricted to locations, and has none: such a user cannot reach the space (left out)"),
                );
                continue;
            }
            if mobile
                && let Some(c) = cols.find("web_user")
                && let Some(web) = cell(row, Some(c))
            {
                invited.push((
                    web.to_owned(),
                    role.clone(),
                    locations.first().cloned(),
                    cols.at(*r, c),
                ));
            }
            let mut seen = Set::default();
            login_as.retain(|n| seen.insert(n.to_lowercase()));
            self.space.members.push(MemberEntry {
                name: name.to_owned(),
                kind,
                role,
                role_from_upstream: None,
                enterprise_source: None,
                scope: ScopeEntry::Locations(locations),
                locations: Vec::new(),
                groups,
                login_as,
                landing_page: LandingPageEntry::Dashboard,
            });
        }
        for (web, role, primary, place) in invited {
            if self.member_names.insert(web.to_lowercase()) {
                self.problems.warning(place, format!("HQ's upload invites `{web}` as a web user with the worker's role `{role}` and primary location: imported as such"));
                self.space.members.push(MemberEntry {
                    name: web,
                    kind: MemberKindEntry::WebUser,
                    role,
                    role_from_upstream: None,
                    enterprise_source: None,
                    scope: ScopeEntry::Locations(primary.into_iter().collect()),
                    locations: Vec::new(),
                    groups: Vec::new(),
                    login_as: Vec::new(),
                    landing_page: LandingPageEntry::Dashboard,
                });
            } else {
                self.problems.warning(place, format!("HQ's upload would also give web user `{web}` the worker's role `{role}` and primary location; the web user is imported as the web-user workbook lists it"));
            }
        }
    }

    /// The role a workbook's `role` cell names: exactly, else ignoring case (a warning).
    fn role_by_name(&mut self, name: &str, place: Place) -> Option<String> {
        if self.role_exact.is_empty() {
            for (n, id) in &self.role_names {
                self.role_exact
                    .entry(n.clone())
                    .or_insert_with(|| id.clone());
                self.role_lower
                    .entry(n.to_lowercase())
                    .or_insert_with(|| (n.clone(), id.clone()));
            }
        }
        if let Some(id) = self.role_exact.get(name) {
            return Some(id.clone());
        }
        let (hq, id) = self.role_lower.get(&name.to_lowercase())?.clone();
        self.problems.warning(
            place,
            format!("role `{name}` matches role `{hq}` only ignoring case (HQ's upload needs the exact name)"),
        );
        Some(id)
    }
}

fn permission_value(v: &Value) -> PermissionValue {
    match v {
        Value::Items(Items::Some(ids)) | Value::Roles(ids) => PermissionValue::List(ids.clone()),
        other => PermissionValue::Word(other.to_source()),
    }
}
