//! Semantic diff of two snapshots. The verdict comes from comparing effective access
//! ([`access`]: every query one version allows and the other denies, with its cause); the list
//! of edits (roles, members, locations, space settings, with how far each reaches) explains it.

pub mod access;
pub mod render;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{Items, Level, Permission, Value};
use crate::query::Index;
use crate::query::explain::reason_text;
use crate::query::index::{RoleIx, SpaceIx};
use crate::snapshot::{MemberEntry, ScopeEntry, Snapshot, SpaceEntry};

pub use access::AccessChange;

/// Which way an edit goes, read off the text: whether it widens access is the verdict's
/// business ([`Diff::escalations`]), not the edit's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Widens,
    Narrows,
    Neutral,
}

/// How many members a role change reaches, in its space and in downstream spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    pub members: usize,
    pub downstream: Vec<DownstreamReach>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownstreamReach {
    pub space: String,
    pub members: usize,
}

/// One edit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub class: Class,
    /// `space`, `role_added`, `role_removed`, `role_permission`, `member_added`,
    /// `member_removed`, `member_role`, `member_scope`, `location_added`, `location_moved`,
    /// `location_removed`, `report_added`, `report_removed`, `enterprise_admin`.
    pub kind: &'static str,
    pub role: Option<String>,
    pub member: Option<String>,
    pub permission: Option<String>,
    pub old: Option<String>,
    pub new: Option<String>,
    /// Why the new effective value is what it is, when a rule decided it.
    pub reason: Option<String>,
    pub reach: Option<Reach>,
    /// The change in one sentence.
    pub summary: String,
}

/// The edits of one space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpaceDiff {
    pub space: String,
    /// `added`, `removed` or `changed`.
    pub status: &'static str,
    pub changes: Vec<Change>,
}

/// The edits of one enterprise account (its admins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnterpriseDiff {
    pub enterprise: String,
    pub changes: Vec<Change>,
}

/// The whole diff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    /// How many entries `gained` has (one line each in human output): `--fail-on escalation`
    /// fails exactly when this is not 0.
    pub escalations: usize,
    /// How many entries `lost` has.
    pub reductions: usize,
    /// How many edits (`spaces` and `enterprises`) there are.
    pub changes: usize,
    /// Every query NEW allows that OLD denied: per member, channel, places and cause, the
    /// grants gained.
    pub gained: Vec<AccessChange>,
    /// Every query OLD allowed that NEW denies.
    pub lost: Vec<AccessChange>,
    pub spaces: Vec<SpaceDiff>,
    pub enterprises: Vec<EnterpriseDiff>,
}

/// How much a value grants, for comparing two values of one permission: `none < view < edit`
/// (a switch on is `edit`), a list by whether it names anything.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Level(l) => match l {
            Level::None => 0,
            Level::View => 1,
            Level::Edit => 2,
        },
        Value::Switch(on) => 2 * u8::from(*on),
        Value::Items(Items::All) => 2,
        Value::Items(Items::Some(ids)) | Value::Roles(ids) => u8::from(!ids.is_empty()),
        Value::LoginAs(l) => *l as u8,
        Value::Items(Items::None) | Value::LandingPage(_) => 0,
    }
}

/// Whether going from `old` to `new` widens, narrows or neither, as written.
fn classify(p: Permission, old: &Value, new: &Value) -> Class {
    if p == Permission::LandingPage || p == Permission::ReportIssues {
        return Class::Neutral;
    }
    fn list(v: &Value) -> Option<BTreeSet<&String>> {
        match v {
            Value::Items(Items::Some(ids)) | Value::Roles(ids) => Some(ids.iter().collect()),
            _ => None,
        }
    }
    if let (Some(o), Some(n)) = (list(old), list(new)) {
        return match (n.is_superset(&o), o.is_superset(&n)) {
            (true, false) => Class::Widens,
            (false, true) => Class::Narrows,
            (true, true) => Class::Neutral,
            (false, false) => Class::Widens, // something was added, something removed
        };
    }
    match rank(new).cmp(&rank(old)) {
        std::cmp::Ordering::Greater => Class::Widens,
        std::cmp::Ordering::Less => Class::Narrows,
        std::cmp::Ordering::Equal => Class::Neutral,
    }
}

/// Members of `space` (and of the spaces downstream of it, for a role they receive) holding
/// role `role`.
fn reach(snapshot: &Snapshot, space: &SpaceEntry, role: &str) -> Reach {
    let members = space
        .members
        .iter()
        .filter(|m| m.role == role && m.role_from_upstream.is_none())
        .count();
    let downstream = space
        .downstream
        .iter()
        .filter_map(|d| snapshot.spaces.iter().find(|s| &s.id == d))
        .map(|d| DownstreamReach {
            space: d.id.clone(),
            members: d
                .members
                .iter()
                .filter(|m| m.role == role && m.role_from_upstream.as_deref() == Some(&space.id))
                .count(),
        })
        .collect();
    Reach {
        members,
        downstream,
    }
}

fn grants_anything(role: &RoleIx) -> bool {
    Permission::ALL.iter().any(|&p| {
        !matches!(
            p,
            Permission::LandingPage | Permission::ReportIssues | Permission::FullOrganizationAccess
        ) && rank(role.value(p)) > 0
    })
}

/// Compares two roles' grants: escalation if the new grants anything the old does not.
fn compare_roles(old: &RoleIx, new: &RoleIx) -> Class {
    let mut wider = false;
    let mut narrower = false;
    for &p in Permission::ALL {
        match classify(p, old.value(p), new.value(p)) {
            Class::Widens => wider = true,
            Class::Narrows => narrower = true,
            Class::Neutral => {}
        }
    }
    if wider {
        Class::Widens
    } else if narrower {
        Class::Narrows
    } else {
        Class::Neutral
    }
}

fn scope_text(s: &ScopeEntry) -> String {
    match s {
        ScopeEntry::All(_) => "all locations".to_owned(),
        ScopeEntry::Locations(ids) => format!("[{}]", ids.join(", ")),
    }
}

/// Whether scope `new` reaches a location `old` does not (with the space's DFS labels).
fn scope_class(intervals: &HashMap<&str, (u32, u32)>, old: &ScopeEntry, new: &ScopeEntry) -> Class {
    let interval = |id: &String| intervals.get(id.as_str()).copied();
    let covers = |outer: &[String], inner: &[String]| {
        inner.iter().all(|i| {
            let Some((ie, _)) = interval(i) else {
                return true;
            };
            outer
                .iter()
                .any(|o| interval(o).is_some_and(|(oe, ox)| oe <= ie && ie < ox))
        })
    };
    match (old, new) {
        (ScopeEntry::All(_), ScopeEntry::All(_)) => Class::Neutral,
        (ScopeEntry::Locations(_), ScopeEntry::All(_)) => Class::Widens,
        (ScopeEntry::All(_), ScopeEntry::Locations(_)) => Class::Narrows,
        (ScopeEntry::Locations(o), ScopeEntry::Locations(n)) => {
            match (covers(o, n), covers(n, o)) {
                (true, true) => Class::Neutral,
                (true, false) => Class::Narrows,
                _ => Class::Widens,
            }
        }
    }
}

fn change(class: Class, kind: &'static str, summary: String) -> Change {
    Change {
        class,
        kind,
        role: None,
        member: None,
        permission: None,
        old: None,
        new: None,
        reason: None,
        reach: None,
        summary,
    }
}

/// The semantic diff from `old` to `new`.
pub fn diff(old_ix: &Index, new_ix: &Index) -> Diff {
    let (old, new) = (&old_ix.snapshot, &new_ix.snapshot);
    let by_id = |s: &'_ Snapshot| -> BTreeMap<String, usize> {
        s.spaces
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect()
    };
    let (old_ids, new_ids) = (by_id(old), by_id(new));
    let ids: BTreeSet<&String> = old_ids.keys().chain(new_ids.keys()).collect();
    let mut spaces = Vec::new();
    for id in ids {
        let o = old_ids
            .get(id)
            .map(|&i| (&old.spaces[i], &old_ix.spaces[i]));
        let n = new_ids
            .get(id)
            .map(|&i| (&new.spaces[i], &new_ix.spaces[i]));
        let (status, changes) = match (o, n) {
            (None, Some((n, nix))) => {
                let admins = n.members.iter().filter(|m| m.holds_admin()).count();
                let mut c = vec![change(
                    if n.members.is_empty() {
                        Class::Neutral
                    } else {
                        Class::Widens
                    },
                    "space",
                    format!(
                        "space `{id}` added with {} ({admins} {})",
                        count(n.members.len(), "member"),
                        if admins == 1 { "admin" } else { "admins" }
                    ),
                )];
                c.extend(n.members.iter().map(|m| member_added(n, nix, m)));
                ("added", c)
            }
            (Some((o, _)), None) => (
                "removed",
                vec![change(
                    if o.members.is_empty() {
                        Class::Neutral
                    } else {
                        Class::Narrows
                    },
                    "space",
                    format!(
                        "space `{id}` removed: its {} lose all access in it",
                        count(o.members.len(), "member")
                    ),
                )],
            ),
            (Some(o), Some(n)) => ("changed", space_changes(old, new, o, n)),
            (None, None) => continue,
        };
        if !changes.is_empty() {
            spaces.push(SpaceDiff {
                space: id.clone(),
                status,
                changes,
            });
        }
    }
    let enterprises = enterprise_admins(old, new);
    let gained = access::gained(old_ix, new_ix);
    let lost = access::lost(old_ix, new_ix);
    Diff {
        escalations: gained.len(),
        reductions: lost.len(),
        changes: spaces.iter().map(|s| s.changes.len()).sum::<usize>()
            + enterprises.iter().map(|e| e.changes.len()).sum::<usize>(),
        gained,
        lost,
        spaces,
        enterprises,
    }
}

/// "1 member", "3 members".
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The index of role `id` of `space`.
fn role_ix<'a>(space: &SpaceEntry, ix: &'a SpaceIx, id: &str) -> Option<&'a RoleIx> {
    let r = space.roles.iter().position(|r| r.id == id)?;
    ix.roles.get(r)
}

fn member_added(space: &SpaceEntry, ix: &SpaceIx, m: &MemberEntry) -> Change {
    let role = role_ix(space, ix, &m.role);
    let admin = m.holds_admin();
    let class = if admin || role.is_some_and(grants_anything) {
        Class::Widens
    } else {
        Class::Neutral
    };
    let mut c = change(
        class,
        "member_added",
        format!(
            "{} `{}` added with role `{}`{} at {}",
            if admin { "admin" } else { m.kind.words() },
            m.name,
            m.role,
            m.role_from_upstream
                .as_ref()
                .map(|u| format!(" (from `{u}`)"))
                .unwrap_or_default(),
            scope_text(&m.scope)
        ),
    );
    c.member = Some(m.name.clone());
    c.role = Some(m.role.clone());
    c.new = Some(scope_text(&m.scope));
    c
}

/// The upstream as the statement reads: `global`, or `global remote` for a remote link.
fn upstream_words(s: &SpaceEntry) -> Option<String> {
    let up = s.upstream.as_ref()?;
    Some(if s.upstream_remote {
        format!("{up} remote")
    } else {
        up.clone()
    })
}

fn space_changes<'a>(
    old_snap: &Snapshot,
    new_snap: &Snapshot,
    (o, oix): (&'a SpaceEntry, &'a SpaceIx),
    (n, nix): (&'a SpaceEntry, &'a SpaceIx),
) -> Vec<Change> {
    let mut out = Vec::new();
    let settings: [(&str, Option<String>, Option<String>); 6] = [
        ("plan", Some(o.plan.clone()), Some(n.plan.clone())),
        ("server", o.server.clone(), n.server.clone()),
        ("upstream", upstream_words(o), upstream_words(n)),
        ("enterprise", o.enterprise.clone(), n.enterprise.clone()),
        ("environment", o.environment.clone(), n.environment.clone()),
        ("two_factor", o.two_factor.clone(), n.two_factor.clone()),
    ];
    for (key, a, b) in settings {
        if a != b {
            let shown = |v: &Option<String>| match v {
                Some(v) => format!("`{v}`"),
                None => "(none)".to_owned(),
            };
            let class = if key == "two_factor" && a.as_deref() == Some("required") {
                Class::Widens
            } else {
                Class::Neutral
            };
            let mut c = change(
                class,
                "space",
                format!("`{key}` changed from {} to {}", shown(&a), shown(&b)),
            );
            c.permission = Some(key.to_owned());
            let raw = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
            c.old = Some(raw(&a));
            c.new = Some(raw(&b));
            out.push(c);
        }
    }
    // Feature flags (their effect on roles is reported with the roles) and registry grants:
    // a new grant lets another space read this one's registry data.
    let flags = |s: &SpaceEntry| s.features.iter().cloned().collect::<BTreeSet<String>>();
    let (of, nf) = (flags(o), flags(n));
    for (flag, on) in nf
        .difference(&of)
        .map(|f| (f, true))
        .chain(of.difference(&nf).map(|f| (f, false)))
    {
        let mut c = change(
            Class::Neutral,
            "space",
            format!(
                "feature flag `{flag}` turned {}",
                if on { "on" } else { "off" }
            ),
        );
        c.permission = Some("features".to_owned());
        out.push(c);
    }
    let grants = |s: &SpaceEntry| -> BTreeSet<(String, String)> {
        s.grants
            .iter()
            .flat_map(|g| g.to.iter().map(|t| (g.registry.clone(), t.clone())))
            .collect()
    };
    let (og, ng) = (grants(o), grants(n));
    for ((registry, to), added) in ng
        .difference(&og)
        .map(|g| (g, true))
        .chain(og.difference(&ng).map(|g| (g, false)))
    {
        let (class, summary) = if added {
            (
                Class::Widens,
                format!(
                    "registry `{registry}` is now shared with `{to}`: its readers there see this space's data"
                ),
            )
        } else {
            (
                Class::Narrows,
                format!("registry `{registry}` is no longer shared with `{to}`"),
            )
        };
        let mut c = change(class, "space", summary);
        c.permission = Some("grant".to_owned());
        out.push(c);
    }
    // Roles (declared here or received: a received role's changes are reported upstream).
    let own = |s: &'a SpaceEntry, ix: &'a SpaceIx| -> BTreeMap<&'a str, &'a RoleIx> {
        s.roles
            .iter()
            .zip(&ix.roles)
            .filter(|(r, _)| r.from_upstream.is_none())
            .map(|(r, values)| (r.id.as_str(), values))
            .collect()
    };
    let (or, nr) = (own(o, oix), own(n, nix));
    for (id, role) in &nr {
        match or.get(id) {
            None => {
                let mut c = change(
                    if grants_anything(role) {
                        Class::Widens
                    } else {
                        Class::Neutral
                    },
                    "role_added",
                    format!("role `{id}` added"),
                );
                c.role = Some((*id).to_owned());
                c.reach = Some(reach(new_snap, n, id));
                out.push(c);
            }
            Some(old_role) => {
                for &p in Permission::ALL {
                    let (a, b) = (old_role.value(p), role.value(p));
                    if a == b {
                        continue;
                    }
                    let class = classify(p, a, b);
                    let verb = match class {
                        Class::Widens => "raised",
                        Class::Narrows => "lowered",
                        Class::Neutral => "changed",
                    };
                    let r = reach(new_snap, n, id);
                    let mut c = change(
                        class,
                        "role_permission",
                        format!(
                            "role `{id}`: `{p}` {verb} from `{}` to `{}`",
                            a.to_source(),
                            b.to_source()
                        ),
                    );
                    c.role = Some((*id).to_owned());
                    c.permission = Some(p.key().to_owned());
                    c.old = Some(a.to_source());
                    c.new = Some(b.to_source());
                    c.reason = role.reason(p).map(reason_text);
                    c.reach = Some(r);
                    out.push(c);
                }
            }
        }
    }
    for id in or.keys().filter(|id| !nr.contains_key(*id)) {
        let mut c = change(
            Class::Narrows,
            "role_removed",
            format!("role `{id}` removed"),
        );
        c.role = Some((*id).to_owned());
        c.reach = Some(reach(old_snap, o, id));
        out.push(c);
    }
    out.extend(location_changes(o, n));
    let report_ids = |s: &'a SpaceEntry| -> BTreeSet<&'a str> {
        s.reports.iter().map(|r| r.id.as_str()).collect()
    };
    let (orep, nrep) = (report_ids(o), report_ids(n));
    for id in nrep.difference(&orep) {
        out.push(change(
            Class::Widens,
            "report_added",
            format!("report `{id}` added"),
        ));
    }
    for id in orep.difference(&nrep) {
        out.push(change(
            Class::Narrows,
            "report_removed",
            format!("report `{id}` removed"),
        ));
    }
    // Members.
    // Names compare ignoring ASCII case, as in the verdict.
    let members = |s: &'a SpaceEntry| -> BTreeMap<String, &'a MemberEntry> {
        s.members
            .iter()
            .map(|m| (m.name.to_ascii_lowercase(), m))
            .collect()
    };
    // Location intervals of the new version, for scope comparisons.
    let intervals: HashMap<&str, (u32, u32)> = n
        .locations
        .iter()
        .map(|l| (l.id.as_str(), (l.enter, l.exit)))
        .collect();
    let (om, nm) = (members(o), members(n));
    for (key, m) in &nm {
        let name = m.name.as_str();
        match om.get(key) {
            None => out.push(member_added(n, nix, m)),
            Some(before) => {
                if before.role != m.role || before.role_from_upstream != m.role_from_upstream {
                    let old_role = role_ix(o, oix, &before.role);
                    let new_role = role_ix(n, nix, &m.role);
                    let class = if m.holds_admin() {
                        Class::Widens
                    } else {
                        match (old_role, new_role) {
                            (Some(a), Some(b)) => compare_roles(a, b),
                            _ => Class::Neutral,
                        }
                    };
                    let summary = if before.role == m.role {
                        let from = |u: &Option<String>| match u {
                            Some(u) => format!("upstream `{u}`"),
                            None => format!("`{}` itself", n.id),
                        };
                        format!(
                            "`{name}`'s role `{}` now comes from {}, was from {}",
                            m.role,
                            from(&m.role_from_upstream),
                            from(&before.role_from_upstream)
                        )
                    } else {
                        format!("`{name}` moved from role `{}` to `{}`", before.role, m.role)
                    };
                    let mut c = change(class, "member_role", summary);
                    c.member = Some(name.to_owned());
                    c.old = Some(before.role.clone());
                    c.new = Some(m.role.clone());
                    out.push(c);
                }
                if before.scope != m.scope {
                    let class = scope_class(&intervals, &before.scope, &m.scope);
                    let verb = match class {
                        Class::Widens => "widened",
                        Class::Narrows => "narrowed",
                        Class::Neutral => "changed",
                    };
                    let mut c = change(
                        class,
                        "member_scope",
                        format!(
                            "`{name}`'s scope {verb} from {} to {}",
                            scope_text(&before.scope),
                            scope_text(&m.scope)
                        ),
                    );
                    c.member = Some(name.to_owned());
                    c.old = Some(scope_text(&before.scope));
                    c.new = Some(scope_text(&m.scope));
                    out.push(c);
                }
                if let Some(c) = login_as_edit(name, &before.login_as, &m.login_as) {
                    out.push(c);
                }
            }
        }
    }
    for m in om
        .iter()
        .filter(|(key, _)| !nm.contains_key(*key))
        .map(|(_, m)| m)
    {
        let name = m.name.as_str();
        let mut c = change(
            Class::Narrows,
            "member_removed",
            format!("`{name}` removed (was role `{}`)", m.role),
        );
        c.member = Some(name.to_owned());
        c.old = Some(m.role.clone());
        out.push(c);
    }
    out
}

/// Locations added, removed, or moved to another parent.
fn location_changes(o: &SpaceEntry, n: &SpaceEntry) -> Vec<Change> {
    let parents = |s: &SpaceEntry| -> BTreeMap<String, Option<String>> {
        s.locations
            .iter()
            .map(|l| (l.id.clone(), l.parent.clone()))
            .collect()
    };
    let (op, np) = (parents(o), parents(n));
    let under = |p: &Option<String>| match p {
        Some(p) => format!("under `{p}`"),
        None => "at the top".to_owned(),
    };
    let mut out = Vec::new();
    for (id, parent) in &np {
        match op.get(id) {
            None => {
                let mut c = change(
                    Class::Widens,
                    "location_added",
                    format!("location `{id}` added {}", under(parent)),
                );
                c.new = parent.clone();
                out.push(c);
            }
            Some(before) if before != parent => {
                let mut c = change(
                    Class::Neutral,
                    "location_moved",
                    format!(
                        "location `{id}` moved from {} to {}",
                        under(before),
                        under(parent)
                    ),
                );
                c.old = before.clone();
                c.new = parent.clone();
                out.push(c);
            }
            Some(_) => {}
        }
    }
    for (id, parent) in op.iter().filter(|(id, _)| !np.contains_key(*id)) {
        let mut c = change(
            Class::Narrows,
            "location_removed",
            format!("location `{id}` removed (was {})", under(parent)),
        );
        c.old = parent.clone();
        out.push(c);
    }
    out
}

fn enterprise_admins(old: &Snapshot, new: &Snapshot) -> Vec<EnterpriseDiff> {
    let admins = |s: &Snapshot| -> BTreeSet<(String, String)> {
        s.enterprises
            .iter()
            .flat_map(|e| e.admins.iter().map(|a| (e.id.clone(), a.clone())))
            .collect()
    };
    let (o, n) = (admins(old), admins(new));
    let mut by_enterprise: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for (e, a) in n.difference(&o) {
        let mut c = change(
            Class::Widens,
            "enterprise_admin",
            format!("`{a}` is a new enterprise admin of `{e}`"),
        );
        c.member = Some(a.clone());
        by_enterprise.entry(e.clone()).or_default().push(c);
    }
    for (e, a) in o.difference(&n) {
        let mut c = change(
            Class::Narrows,
            "enterprise_admin",
            format!("`{a}` is no longer an enterprise admin of `{e}`"),
        );
        c.member = Some(a.clone());
        by_enterprise.entry(e.clone()).or_default().push(c);
    }
    by_enterprise
        .into_iter()
        .map(|(enterprise, changes)| EnterpriseDiff {
            enterprise,
            changes,
        })
        .collect()
}

/// A mobile worker's `login_as` list changed: who may now (or no longer) log in as it with
/// `login_as = limited`. Names compare ignoring ASCII case.
fn login_as_edit(name: &str, before: &[String], after: &[String]) -> Option<Change> {
    let has = |list: &[String], n: &String| list.iter().any(|x| x.eq_ignore_ascii_case(n));
    let added: Vec<&String> = after.iter().filter(|n| !has(before, n)).collect();
    let removed: Vec<&String> = before.iter().filter(|n| !has(after, n)).collect();
    if added.is_empty() && removed.is_empty() {
        return None;
    }
    let quoted = |v: &[&String]| {
        v.iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("now names {}", quoted(&added)));
    }
    if !removed.is_empty() {
        parts.push(format!("no longer names {}", quoted(&removed)));
    }
    let class = if added.is_empty() {
        Class::Narrows
    } else {
        Class::Widens
    };
    let mut c = change(
        class,
        "member_login_as",
        format!("`{name}`'s `login_as` {}", parts.join(" and ")),
    );
    c.member = Some(name.to_owned());
    c.old = Some(format!("[{}]", before.join(", ")));
    c.new = Some(format!("[{}]", after.join(", ")));
    Some(c)
}
