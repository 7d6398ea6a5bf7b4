//! A snapshot's space → HQ's four exchange files (HQ-FORMATS.md): the role file, the
//! mobile-worker workbook (`users`, `groups`), the web-user workbook (`users`) and the
//! locations workbook (`types`, one sheet per type).

use super::headers;
use super::workbook::Sheet;
use crate::model::builtin::{ADMIN, MOBILE_WORKER_DEFAULT};
use crate::snapshot::{MemberKindEntry, SpaceEntry};

/// The files' names in an export directory (and what `drift --hq DIR` reads).
pub const ROLES_FILE: &str = "roles.json";
pub const MOBILE_WORKERS_FILE: &str = "mobile-workers.xlsx";
pub const WEB_USERS_FILE: &str = "web-users.xlsx";
pub const LOCATIONS_FILE: &str = "locations.xlsx";

/// The user data key HQ keeps a worker's Login-As users in (space-separated usernames).
pub const LOGIN_AS_DATA: &str = "data: login_as_user";

/// A space's four files: the role file's JSON text and three workbooks' sheets, plus what
/// HQ's formats cannot say (warnings for the user).
pub struct Export {
    pub roles: String,
    pub mobile_workers: Vec<Sheet>,
    pub web_users: Vec<Sheet>,
    pub locations: Vec<Sheet>,
    pub warnings: Vec<String>,
}

fn numbered(base: &str, n: usize) -> impl Iterator<Item = String> + '_ {
    (1..=n).map(move |i| format!("{base} {i}"))
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Every file of `space`.
pub fn export(space: &SpaceEntry) -> Export {
    let mut warnings = Vec::new();
    let roles = serde_json::to_string_pretty(&super::roles::role_file(space)).unwrap_or_default();
    let role_name = |id: &str| {
        space
            .roles
            .iter()
            .find(|r| r.id == id)
            .map_or_else(|| id.to_owned(), |r| r.name.clone())
    };
    // Role names must be unique: the workbooks name roles by name.
    let mut names: Vec<(String, &str)> = space
        .roles
        .iter()
        .filter(|r| super::roles::is_exported(r))
        .map(|r| (r.name.to_lowercase(), r.id.as_str()))
        .collect();
    names.sort();
    for w in names.windows(2) {
        if w[0].0 == w[1].0 {
            warnings.push(format!(
                "roles `{}` and `{}` have the same name `{}`: HQ needs unique role names, and the workbooks name roles by name",
                w[0].1, w[1].1, w[0].0
            ));
        }
    }
    for t in &space.location_types {
        if t.id.chars().count() > 31
            || t.id.eq_ignore_ascii_case(super::headers::TYPES)
            || t.id.eq_ignore_ascii_case("history")
        {
            warnings.push(format!(
                "location type `{}` cannot be a sheet name (HQ titles each type's sheet with its code; Excel allows 31 characters and reserves `history`, and `types` is the types sheet): its sheet is left out",
                t.id
            ));
        }
    }
    for r in space
        .roles
        .iter()
        .filter(|r| super::roles::is_exported(r) && r.name.eq_ignore_ascii_case("Admin"))
    {
        warnings.push(format!("role `{}` is named `{}`: HQ's workbooks name roles by name, and `Admin` is HQ's own role", r.id, r.name));
    }
    for r in space.roles.iter().filter(|r| {
        super::roles::is_exported(r)
            && super::policy::declared(r, crate::model::Permission::Data)
                == crate::model::Value::Level(crate::model::Level::View)
    }) {
        warnings.push(format!(
            "role `{}` has `data = view`: HQ has no view-only Data permission; the role object carries `{}: true`, which HQ ignores (in HQ the role gets no Data access)",
            r.id,
            crate::model::hq::VIEW_DATA
        ));
    }
    let listed = || space.members.iter().filter(|m| super::policy::is_listed(m));
    let group_name = |id: &str| {
        space
            .groups
            .iter()
            .find(|g| g.id == id)
            .and_then(|g| g.name.clone())
            .unwrap_or_else(|| id.to_owned())
    };

    // Mobile workers.
    let workers: Vec<_> = listed()
        .filter(|m| m.kind == MemberKindEntry::MobileWorker)
        .collect();
    let most_groups = workers.iter().map(|m| m.groups.len()).max().unwrap_or(0);
    let most_locations = workers
        .iter()
        .map(|m| m.assigned().len())
        .max()
        .unwrap_or(0);
    let any_login_as = workers.iter().any(|m| !m.login_as.is_empty());
    // The download's first columns, `username` to `is_active` (the rest are read only or
    // numbered).
    let mut header = strings(&headers::MOBILE_DOWNLOAD[..8]);
    if any_login_as {
        header.push(LOGIN_AS_DATA.to_owned());
    }
    header.extend(numbered("group", most_groups));
    header.extend(numbered("location_code", most_locations));
    let mut rows = Vec::new();
    for m in &workers {
        if m.role == ADMIN {
            warnings.push(format!("mobile worker `{}` holds `admin`, which HQ gives web users only: written with role `Admin`, which HQ's upload refuses", m.name));
        }
        let role = if m.role == MOBILE_WORKER_DEFAULT {
            role_name(MOBILE_WORKER_DEFAULT)
        } else {
            role_name(&m.role)
        };
        let mut row = vec![
            m.name.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            role,
            String::new(),
            "True".to_owned(),
        ];
        if any_login_as {
            row.push(m.login_as.join(" "));
        }
        row.extend(
            (0..most_groups).map(|i| m.groups.get(i).map(|g| group_name(g)).unwrap_or_default()),
        );
        row.extend((0..most_locations).map(|i| m.assigned().get(i).cloned().unwrap_or_default()));
        rows.push(row);
    }
    let users = Sheet::from_rows(headers::USERS, &header, &rows);
    let group_rows: Vec<Vec<String>> = space
        .groups
        .iter()
        .map(|g| vec![String::new(), group_name(&g.id), "no".into(), "yes".into()])
        .collect();
    let groups = Sheet::from_rows(
        headers::GROUPS,
        &strings(&["id", "name", "case-sharing?", "reporting?"]),
        &group_rows,
    );

    // Web users.
    let web: Vec<_> = listed()
        .filter(|m| m.kind == MemberKindEntry::WebUser)
        .collect();
    let most_locations = web.iter().map(|m| m.assigned().len()).max().unwrap_or(0);
    let mut header = strings(&[
        "username",
        "first_name",
        "last_name",
        "email",
        "role",
        "status",
        "remove",
    ]);
    header.extend(numbered("location_code", most_locations));
    let mut rows = Vec::new();
    for m in &web {
        let mut row = vec![
            m.name.clone(),
            String::new(),
            String::new(),
            String::new(),
            role_name(&m.role),
            "Active User".to_owned(),
            String::new(),
        ];
        row.extend((0..most_locations).map(|i| m.assigned().get(i).cloned().unwrap_or_default()));
        rows.push(row);
    }
    let web_users = Sheet::from_rows(headers::USERS, &header, &rows);

    // Locations: the types, then one sheet per type (rows in tree order, parents first).
    let type_rows: Vec<Vec<String>> = space
        .location_types
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.id.clone(),
                t.parent.clone().unwrap_or_default(),
                String::new(),
                "no".into(),
                "no".into(),
            ]
        })
        .collect();
    let mut locations = vec![Sheet::from_rows(
        headers::TYPES,
        &strings(headers::TYPE_COLUMNS),
        &type_rows,
    )];
    let sheet_name_ok = |id: &str| {
        id.chars().count() <= 31
            && !id.eq_ignore_ascii_case(super::headers::TYPES)
            && !id.eq_ignore_ascii_case("history")
    };
    for t in space.location_types.iter().filter(|t| sheet_name_ok(&t.id)) {
        let rows: Vec<Vec<String>> = space
            .locations
            .iter()
            .filter(|l| l.ty == t.id)
            .map(|l| {
                vec![
                    String::new(),
                    l.id.clone(),
                    l.name.clone().unwrap_or_else(|| l.id.clone()),
                    l.parent.clone().unwrap_or_default(),
                ]
            })
            .collect();
        locations.push(Sheet::from_rows(
            &t.id,
            &strings(headers::LOCATION_COLUMNS),
            &rows,
        ));
    }
    Export {
        roles,
        mobile_workers: vec![users, groups],
        web_users: vec![web_users],
        locations,
        warnings,
    }
}
