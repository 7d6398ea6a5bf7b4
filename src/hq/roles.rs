//! HQ role objects (`role_to_dict`, HQ-FORMATS.md §1), both ways.
//!
//! A file holds `{"user_roles": [role, ...]}` as HQ's linked-project endpoint returns it, or a
//! bare list of role objects. `export` adds a `charter` object beside `user_roles` with what
//! HQ's files do not carry (the space's plan, server, enterprise, upstream, features, the
//! declared reports, applications, registries, profiles and groups with their names, and each
//! role's charter id); HQ ignores it, and `import` reads it when present.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use super::import::{Place, Problems};
use crate::model::hq::{self as fields, FieldValue};
use crate::model::{Permission, RoleValues, Value};
use crate::snapshot::{RoleEntry, SpaceEntry};

/// The `charter` object's format.
pub const META_FORMAT: u64 = 1;

/// The couch id an exported role gets: stable, derived from the space and the role id (HQ's
/// ids are 32 hex digits); `admin` is HQ's static Admin role.
pub fn couch_id(space: &str, role: &str) -> String {
    if role == crate::model::builtin::ADMIN {
        return role.to_owned();
    }
    let digest = Sha256::digest(format!("charter-role:{space}/{role}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// One role as a role object: its declared values, every permission field, `doc_type`.
pub fn role_object(space: &SpaceEntry, role: &RoleEntry) -> Json {
    let declared = |p| super::policy::declared(role, p);
    let mut permissions = Map::new();
    permissions.insert("doc_type".into(), json!("HqPermissions"));
    for &p in Permission::ALL {
        for (field, v) in fields::encode(p, &declared(p)) {
            let v = match v {
                FieldValue::Bool(b) => json!(b),
                FieldValue::List(ids) => json!(ids),
            };
            permissions.insert(field.into(), v);
        }
    }
    let landing = match declared(Permission::LandingPage) {
        Value::LandingPage(page) => fields::landing_page_field(page),
        _ => None,
    };
    let assignable_by: Vec<String> = match declared(Permission::AssignableBy) {
        Value::Roles(ids) => ids.iter().map(|r| couch_id(&space.id, r)).collect(),
        _ => Vec::new(),
    };
    let upstream_id = role
        .from_upstream
        .as_deref()
        .map(|up| couch_id(up, &role.id));
    json!({
        "name": role.name,
        "default_landing_page": landing,
        "is_non_admin_editable": declared(Permission::NonAdminEditable) == Value::Switch(true),
        "is_archived": false,
        "upstream_id": upstream_id,
        "is_commcare_user_default": role.id == crate::model::builtin::MOBILE_WORKER_DEFAULT,
        "assignable_by": assignable_by,
        "_id": couch_id(&space.id, &role.id),
        "permissions": Json::Object(permissions),
    })
}

/// Whether a space's role is written to its role file: every role HQ would list for the
/// domain (built-in presets, custom roles, roles synced from upstream), not `admin` (HQ's
/// static role) nor an Enterprise Permissions source's roles.
pub fn is_exported(role: &RoleEntry) -> bool {
    role.id != crate::model::builtin::ADMIN && role.from_enterprise.is_none()
}

/// The role file of a space: its roles and the `charter` object.
pub fn role_file(space: &SpaceEntry) -> Json {
    let roles: Vec<&RoleEntry> = space.roles.iter().filter(|r| is_exported(r)).collect();
    let ids: BTreeMap<String, &str> = roles
        .iter()
        .map(|r| (couch_id(&space.id, &r.id), r.id.as_str()))
        .collect();
    let mut header = space.clone();
    header.roles.clear();
    header.members.clear();
    header.locations.clear();
    header.location_types.clear();
    header.downstream.clear();
    json!({
        "user_roles": roles.iter().map(|r| role_object(space, r)).collect::<Vec<_>>(),
        "charter": {
            "format": META_FORMAT,
            "space": header,
            "roles": ids,
        },
    })
}

/// A role object as read.
#[derive(Clone, Debug)]
pub struct HqRole {
    /// Its position in `user_roles` (for messages).
    pub index: usize,
    pub name: String,
    pub couch_id: Option<String>,
    pub upstream_id: Option<String>,
    pub is_mobile_default: bool,
    /// Declared values; `assignable_by` still holds couch ids.
    pub values: RoleValues,
}

/// A role file as read.
#[derive(Clone, Debug, Default)]
pub struct RoleFile {
    pub roles: Vec<HqRole>,
    /// The `charter` object's space header (no roles, members or locations).
    pub space: Option<SpaceEntry>,
    /// The `charter` object's couch id → charter role id.
    pub ids: BTreeMap<String, String>,
}

/// Reads a role file's JSON. Problems are reported to `problems` with the role and field.
pub fn read(text: &str, problems: &mut Problems) -> Option<RoleFile> {
    let json: Json = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => {
            problems.error(
                Place::Json {
                    line: e.line(),
                    column: e.column(),
                },
                format!("not valid JSON: {e}"),
            );
            return None;
        }
    };
    let mut file = RoleFile::default();
    let list = match &json {
        Json::Array(list) => list,
        Json::Object(o) => {
            if let Some(meta) = o.get("charter") {
                read_meta(meta, &mut file, problems);
            }
            match o.get("user_roles") {
                Some(Json::Array(list)) => list,
                _ => {
                    problems.error(
                        Place::Field("user_roles".into()),
                        "expected `{\"user_roles\": [...]}` or a list of role objects".into(),
                    );
                    return None;
                }
            }
        }
        _ => {
            problems.error(
                Place::Field(String::new()),
                "expected `{\"user_roles\": [...]}` or a list of role objects".into(),
            );
            return None;
        }
    };
    for (index, role) in list.iter().enumerate() {
        if let Some(r) = read_role(index, role, problems) {
            file.roles.push(r);
        }
    }
    Some(file)
}

fn read_meta(meta: &Json, file: &mut RoleFile, problems: &mut Problems) {
    let place = |f: &str| Place::Field(format!("charter.{f}"));
    if meta.get("format").and_then(Json::as_u64) != Some(META_FORMAT) {
        problems.warning(
            place("format"),
            format!("not format {META_FORMAT} of charter's own object: it is ignored"),
        );
        return;
    }
    match meta
        .get("space")
        .map(|s| serde_json::from_value::<SpaceEntry>(s.clone()))
    {
        Some(Ok(space)) => file.space = Some(space),
        Some(Err(e)) => problems.warning(place("space"), format!("ignored: {e}")),
        None => {}
    }
    if let Some(Json::Object(ids)) = meta.get("roles") {
        for (couch, id) in ids {
            if let Some(id) = id.as_str() {
                file.ids.insert(couch.clone(), id.to_owned());
            }
        }
    }
}

fn read_role(index: usize, role: &Json, problems: &mut Problems) -> Option<HqRole> {
    let at = |field: &str| Place::Role {
        index,
        field: field.to_owned(),
    };
    let Some(obj) = role.as_object() else {
        problems.error(at(""), "not a role object".into());
        return None;
    };
    let Some(name) = obj.get("name").and_then(Json::as_str) else {
        problems.error(at("name"), "a role object needs a `name`".into());
        return None;
    };
    let name = name.trim().to_owned();
    if obj.get("is_archived").and_then(Json::as_bool) == Some(true) {
        problems.warning(
            at("is_archived"),
            format!("role `{name}` is archived: not imported"),
        );
        return None;
    }
    let text = |f: &str| obj.get(f).and_then(Json::as_str).map(str::to_owned);
    let mut values = RoleValues::default();
    let empty = Map::new();
    let permissions = match obj.get("permissions") {
        Some(Json::Object(p)) => p,
        _ => {
            problems.warning(
                at("permissions"),
                format!("role `{name}` has no `permissions` object: HQ's defaults are used"),
            );
            &empty
        }
    };
    let known = |f: &str| {
        f == "doc_type" || fields::FIELDS.contains(&f) || crate::model::hq::lookup(f).is_some()
    };
    for f in permissions.keys().filter(|f| !known(f)) {
        problems.warning(
            at(&format!("permissions.{f}")),
            format!("`{f}` is not an HQ permission charter knows: ignored"),
        );
    }
    let field = |f: &str| -> Option<FieldValue> {
        match permissions.get(f)? {
            Json::Bool(b) => Some(FieldValue::Bool(*b)),
            Json::Array(items) => Some(FieldValue::List(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
            )),
            _ => None,
        }
    };
    for (f, v) in permissions {
        if let Json::Array(items) = v
            && items.iter().any(|i| !i.is_string())
        {
            problems.warning(
                at(&format!("permissions.{f}")),
                "items that are not strings are left out".into(),
            );
        }
        if !matches!(v, Json::Bool(_) | Json::Array(_)) && f != "doc_type" {
            problems.warning(
                at(&format!("permissions.{f}")),
                "expected true, false or a list: read as absent".into(),
            );
        }
    }
    let mut missing: Vec<&str> = Vec::new();
    for &p in Permission::ALL {
        if fields::is_role_field(p) {
            continue;
        }
        match fields::decode(p, field) {
            Some(v) => values.set(p, v),
            None if p.entry().hq.iter().any(|(f, _)| fields::FIELDS.contains(f)) => {
                missing.push(p.key());
            }
            None => {}
        }
    }
    if !missing.is_empty() {
        problems.warning(
            at("permissions"),
            format!(
                "role `{name}` has no field for {}: HQ's defaults are used",
                missing
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    match obj.get("default_landing_page") {
        None | Some(Json::Null) => {}
        Some(v) => match fields::landing_page_from_field(v.as_str()) {
            Some(page) => values.set(Permission::LandingPage, Value::LandingPage(page)),
            None => problems.warning(
                at("default_landing_page"),
                format!("`{v}` is not a landing page HQ has: the default is used"),
            ),
        },
    }
    if obj.get("is_non_admin_editable").and_then(Json::as_bool) == Some(true) {
        values.set(Permission::NonAdminEditable, Value::Switch(true));
    }
    if let Some(Json::Array(ids)) = obj.get("assignable_by")
        && ids.iter().any(|i| !i.is_string())
    {
        problems.warning(
            at("assignable_by"),
            "items that are not strings are left out".into(),
        );
    }
    let assignable: Vec<String> = match obj.get("assignable_by") {
        Some(Json::Array(ids)) => ids
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    values.set(Permission::AssignableBy, Value::Roles(assignable));
    Some(HqRole {
        index,
        name,
        couch_id: text("_id"),
        upstream_id: text("upstream_id"),
        is_mobile_default: obj.get("is_commcare_user_default").and_then(Json::as_bool)
            == Some(true),
        values,
    })
}
