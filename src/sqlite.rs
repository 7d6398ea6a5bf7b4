//! `charter export sqlite`: a compiled snapshot as a SQLite database for auditors' SQL
//! (docs/sqlite.md). The only user of `rusqlite`.
//!
//! Tables hold what the snapshot holds, with the query index's decoded values: a role's
//! declared and effective value of every permission and the reason they differ, members with
//! their scope, locations with their DFS interval (`enter`, `exit`: B is at or below A when
//! `A.enter <= B.enter < A.exit`). What Login-As gives is a table of its own (whom a member may
//! log in as, and the Web Apps permissions that gives where), since it is worked out from the
//! workers' roles. The view `grants(member, space, permission, level, location, via)` puts
//! it together: one row per level a member holds (edit also as view), at a location (and
//! below) or everywhere (`location` NULL), through its role, the API or Login-As.

use std::path::Path;

use rusqlite::{Connection, params};

use crate::model::{Level, Permission, Value};
use crate::query::Index;
use crate::query::explain::reason_text;
use crate::question::Want;
use crate::snapshot::{MemberKindEntry, ScopeEntry};

const SCHEMA: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE enterprises (id TEXT PRIMARY KEY, name TEXT);
CREATE TABLE enterprise_admins (enterprise TEXT NOT NULL REFERENCES enterprises(id), admin TEXT NOT NULL);
CREATE TABLE spaces (
  id TEXT PRIMARY KEY, name TEXT, enterprise TEXT REFERENCES enterprises(id), plan TEXT NOT NULL,
  server TEXT, upstream TEXT, environment TEXT, two_factor TEXT, features TEXT NOT NULL
);
CREATE TABLE locations (
  space TEXT NOT NULL REFERENCES spaces(id), id TEXT NOT NULL, name TEXT, type TEXT NOT NULL,
  parent TEXT, enter INTEGER NOT NULL, exit INTEGER NOT NULL, PRIMARY KEY (space, id)
);
CREATE TABLE permissions (
  key TEXT PRIMARY KEY, label TEXT NOT NULL, location_scoped INTEGER NOT NULL,
  hidden_without_full_access INTEGER NOT NULL, setting INTEGER NOT NULL
);
CREATE TABLE roles (
  space TEXT NOT NULL REFERENCES spaces(id), id TEXT NOT NULL, name TEXT NOT NULL,
  origin TEXT NOT NULL, from_upstream TEXT, from_enterprise TEXT, PRIMARY KEY (space, id)
);
CREATE TABLE role_permissions (
  space TEXT NOT NULL, role TEXT NOT NULL, permission TEXT NOT NULL REFERENCES permissions(key),
  declared TEXT NOT NULL, effective TEXT NOT NULL,
  -- none | view | edit for levels; use for a switch that is on, or a list or `all` that reaches something
  level TEXT NOT NULL,
  reason_kind TEXT, reason TEXT,
  PRIMARY KEY (space, role, permission), FOREIGN KEY (space, role) REFERENCES roles(space, id)
);
CREATE TABLE members (
  space TEXT NOT NULL REFERENCES spaces(id), name TEXT NOT NULL, kind TEXT NOT NULL,
  role TEXT NOT NULL, restricted INTEGER NOT NULL, api_bypass INTEGER NOT NULL,
  enterprise_source TEXT, landing_page TEXT NOT NULL, PRIMARY KEY (space, name),
  FOREIGN KEY (space, role) REFERENCES roles(space, id)
);
CREATE TABLE member_locations (
  space TEXT NOT NULL, member TEXT NOT NULL, location TEXT NOT NULL,
  FOREIGN KEY (space, member) REFERENCES members(space, name),
  FOREIGN KEY (space, location) REFERENCES locations(space, id)
);
CREATE TABLE member_groups (space TEXT NOT NULL, member TEXT NOT NULL, "group" TEXT NOT NULL);
CREATE TABLE login_as_users (space TEXT NOT NULL, worker TEXT NOT NULL, web_user TEXT NOT NULL);
CREATE TABLE login_as_grants (
  space TEXT NOT NULL, member TEXT NOT NULL, permission TEXT NOT NULL, level TEXT NOT NULL,
  location TEXT, worker TEXT
);
-- edit implies view: each level held, and the levels it implies.
CREATE TABLE implied_levels (level TEXT NOT NULL, implies TEXT NOT NULL);
INSERT INTO implied_levels VALUES ('edit', 'edit'), ('edit', 'view'), ('view', 'view'), ('use', 'use'), ('use', 'view');
CREATE VIEW grants AS
  -- Through the member's role: everywhere, or at each assigned location of a restricted member
  -- for a location-scoped permission.
  SELECT m.name AS member, m.space AS space, rp.permission AS permission, il.implies AS level,
         CASE WHEN m.restricted AND p.location_scoped THEN ml.location END AS location,
         'role' AS via
  FROM members m
  JOIN role_permissions rp ON rp.space = m.space AND rp.role = m.role AND rp.level <> 'none'
  JOIN permissions p ON p.key = rp.permission AND p.setting = 0
  JOIN implied_levels il ON il.level = rp.level
  LEFT JOIN member_locations ml
    ON ml.space = m.space AND ml.member = m.name AND m.restricted AND p.location_scoped
  WHERE NOT (m.restricted AND p.location_scoped AND ml.location IS NULL)
  UNION ALL
  -- Through the API: a restricted member with access_apis reads and changes data everywhere.
  SELECT m.name, m.space, 'data', il.implies, NULL, 'api'
  FROM members m
  JOIN role_permissions api ON api.space = m.space AND api.role = m.role
   AND api.permission = 'access_apis' AND api.level <> 'none'
  JOIN role_permissions d ON d.space = m.space AND d.role = m.role
   AND d.permission = 'data' AND d.level <> 'none'
  JOIN implied_levels il ON il.level = d.level
  WHERE m.restricted
  UNION ALL
  -- Through Login-As: the worker's Web Apps permissions, where the worker is.
  SELECT g.member, g.space, g.permission, il.implies, g.location, 'login_as'
  FROM login_as_grants g JOIN implied_levels il ON il.level = g.level;
"#;

/// Why a database could not be written.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error(e.to_string())
    }
}

/// The level a value gives (`use` for a switch-like value that grants).
fn level_word(p: Permission, v: &Value) -> &'static str {
    let level = v.level();
    if level == Level::None {
        return "none";
    }
    match p.kind() {
        crate::model::Kind::Level | crate::model::Kind::AdminOnlyEdit => level.as_str(),
        _ => "use",
    }
}

fn reason_kind(r: &crate::snapshot::ValueReason) -> &'static str {
    use crate::model::rules::Reason;
    match r.cause {
        Reason::ImpliedBy(_) => "implied_by",
        Reason::HiddenBy(_) => "hidden_by",
        Reason::RequiresPlan(_) => "requires_plan",
        Reason::RequiresFeature(_) => "requires_feature",
        Reason::Requires(_) => "requires",
    }
}

/// Writes the database of `index` to `path`: built in a temporary file beside it, then
/// renamed, so a failure leaves no half-written database.
pub fn write(index: &Index, path: &Path) -> Result<(), Error> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".charter-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|e| Error(format!("cannot create a file in `{}`: {e}", dir.display())))?;
    {
        let mut db = Connection::open(tmp.path())?;
        fill(index, &mut db)?;
        db.close().map_err(|(_, e)| Error(e.to_string()))?;
    }
    tmp.persist(path)
        .map_err(|e| Error(format!("cannot write `{}`: {}", path.display(), e.error)))?;
    Ok(())
}

/// Creates the schema and fills it, in one transaction.
pub fn fill(index: &Index, db: &mut Connection) -> Result<(), Error> {
    db.execute_batch(SCHEMA)?;
    let tx = db.transaction()?;
    let snap = &index.snapshot;
    {
        let mut meta = tx.prepare("INSERT INTO meta VALUES (?1, ?2)")?;
        meta.execute(params!["format_version", snap.format_version.to_string()])?;
        meta.execute(params!["compiler_version", snap.compiler_version])?;
        meta.execute(params!["source_digest", snap.source_digest])?;
        meta.execute(params!["content_digest", snap.content_digest])?;
        let mut perm = tx.prepare("INSERT INTO permissions VALUES (?1, ?2, ?3, ?4, ?5)")?;
        for &p in Permission::ALL {
            perm.execute(params![
                p.key(),
                p.entry().label,
                p.is_location_scoped(),
                p.is_hidden_without_full_access(),
                p.is_setting()
            ])?;
        }
        let mut ent = tx.prepare("INSERT INTO enterprises VALUES (?1, ?2)")?;
        let mut admin = tx.prepare("INSERT INTO enterprise_admins VALUES (?1, ?2)")?;
        for e in &snap.enterprises {
            ent.execute(params![e.id, e.name])?;
            for a in &e.admins {
                admin.execute(params![e.id, a])?;
            }
        }
        let mut space =
            tx.prepare("INSERT INTO spaces VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
        let mut loc = tx.prepare("INSERT INTO locations VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
        let mut role = tx.prepare("INSERT INTO roles VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        let mut rp =
            tx.prepare("INSERT INTO role_permissions VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
        let mut member =
            tx.prepare("INSERT INTO members VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
        let mut ml = tx.prepare("INSERT INTO member_locations VALUES (?1, ?2, ?3)")?;
        let mut mg = tx.prepare("INSERT INTO member_groups VALUES (?1, ?2, ?3)")?;
        let mut lau = tx.prepare("INSERT INTO login_as_users VALUES (?1, ?2, ?3)")?;
        let mut lag = tx.prepare("INSERT INTO login_as_grants VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for (s, entry) in snap.spaces.iter().enumerate() {
            let ix = &index.spaces[s];
            space.execute(params![
                entry.id,
                entry.name,
                entry.enterprise,
                entry.plan,
                entry.server,
                entry.upstream,
                entry.environment,
                entry.two_factor,
                entry.features.join(" ")
            ])?;
            for l in &entry.locations {
                loc.execute(params![
                    entry.id, l.id, l.name, l.ty, l.parent, l.enter, l.exit
                ])?;
            }
            for (r, re) in entry.roles.iter().enumerate() {
                role.execute(params![
                    entry.id,
                    re.id,
                    re.name,
                    re.origin,
                    re.from_upstream,
                    re.from_enterprise
                ])?;
                let rix = &ix.roles[r];
                for &p in Permission::ALL {
                    let effective = rix.value(p);
                    let reason = rix.reason(p);
                    rp.execute(params![
                        entry.id,
                        re.id,
                        p.key(),
                        rix.declared(p).to_source(),
                        effective.to_source(),
                        level_word(p, effective),
                        reason.map(reason_kind),
                        reason.map(reason_text)
                    ])?;
                }
            }
            for (m, me) in entry.members.iter().enumerate() {
                let rix = &ix.roles[ix.members[m].role as usize];
                let restricted = matches!(me.scope, ScopeEntry::Locations(_));
                let api_bypass = restricted
                    && rix.holds(Permission::AccessApis, Want::View)
                    && rix.holds(Permission::Data, Want::View);
                let kind = match me.kind {
                    MemberKindEntry::WebUser => "web_user",
                    MemberKindEntry::MobileWorker => "mobile_worker",
                };
                let landing = serde_json::to_value(me.landing_page)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                member.execute(params![
                    entry.id,
                    me.name,
                    kind,
                    me.role,
                    restricted,
                    api_bypass,
                    me.enterprise_source,
                    landing
                ])?;
                for l in me.assigned() {
                    ml.execute(params![entry.id, me.name, l])?;
                }
                for g in &me.groups {
                    mg.execute(params![entry.id, me.name, g])?;
                }
                for u in &me.login_as {
                    lau.execute(params![entry.id, me.name, u])?;
                }
                if let Some(what) = index.what(&me.name, s as u32)
                    && let Some(login_as) = what.login_as
                {
                    for g in &login_as.grants {
                        let level = g.level_word();
                        match &g.at {
                            None => {
                                lag.execute(params![
                                    entry.id,
                                    me.name,
                                    g.permission.key(),
                                    level,
                                    None::<String>,
                                    None::<String>
                                ])?;
                            }
                            Some(at) => {
                                for (l, worker) in at {
                                    lag.execute(params![
                                        entry.id,
                                        me.name,
                                        g.permission.key(),
                                        level,
                                        l,
                                        worker
                                    ])?;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}
