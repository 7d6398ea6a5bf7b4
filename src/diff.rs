//! Semantic diff of two snapshots: who gains and who loses what, where, classified as
//! escalation, reduction or neutral, with how far each role change reaches.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::model::{Kind, Permission};
use crate::snapshot::{MemberEntry, PermissionValue, RoleEntry, ScopeEntry, Snapshot, SpaceEntry};

/// Whether a change widens access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Escalation,
    Reduction,
    Neutral,
}

/// How many members a role change reaches, in its space and in downstream spaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reach {
    pub members: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub downstream: Vec<DownstreamReach>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DownstreamReach {
    pub space: String,
    pub members: usize,
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub class: Class,
    /// `space`, `role_added`, `role_removed`, `role_permission`, `member_added`,
    /// `member_removed`, `member_role`, `member_scope`, `enterprise_admin`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    /// Why the new effective value is what it is, when a rule decided it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reach: Option<Reach>,
    /// The change in one sentence.
    pub summary: String,
}

/// The changes of one space (or of an enterprise's admins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpaceDiff {
    pub space: String,
    /// `added`, `removed` or `changed`.
    pub status: &'static str,
    pub changes: Vec<Change>,
}

/// The whole diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub spaces: Vec<SpaceDiff>,
    pub escalations: usize,
    pub reductions: usize,
    pub neutral: usize,
}

fn text(v: &PermissionValue) -> String {
    match v {
        PermissionValue::Word(w) => w.clone(),
        PermissionValue::List(l) => format!("[{}]", l.join(", ")),
    }
}

/// How much a value grants, for comparing two values of one permission.
fn rank(p: Permission, v: &PermissionValue) -> u8 {
    match (p.kind(), v) {
        (Kind::Reports, PermissionValue::Word(w)) if w == "all" => 2,
        (Kind::Reports, PermissionValue::List(l)) => u8::from(!l.is_empty()),
        (_, PermissionValue::Word(w)) => match w.as_str() {
            "edit" | "on" => 2,
            "view" => 1,
            _ => 0,
        },
        (_, PermissionValue::List(l)) => u8::from(!l.is_empty()),
    }
}

/// Whether going from `old` to `new` widens, narrows or neither.
fn classify(p: Permission, old: &PermissionValue, new: &PermissionValue) -> Class {
    if p == Permission::LandingPage || p == Permission::ReportIssues {
        return Class::Neutral;
    }
    let list = |v: &PermissionValue| match v {
        PermissionValue::List(l) => l.iter().cloned().collect::<BTreeSet<_>>(),
        _ => BTreeSet::new(),
    };
    if let (PermissionValue::List(_), PermissionValue::List(_)) = (old, new) {
        let (o, n) = (list(old), list(new));
        return match (n.is_superset(&o), o.is_superset(&n)) {
            (true, false) => Class::Escalation,
            (false, true) => Class::Reduction,
            (true, true) => Class::Neutral,
            (false, false) => Class::Escalation, // something was added, something removed
        };
    }
    match rank(p, new).cmp(&rank(p, old)) {
        std::cmp::Ordering::Greater => Class::Escalation,
        std::cmp::Ordering::Less => Class::Reduction,
        std::cmp::Ordering::Equal => Class::Neutral,
    }
}

fn reason(role: &RoleEntry, key: &str) -> Option<String> {
    let r = role.reasons.get(key)?;
    let declared = text(&r.declared);
    Some(if let Some(by) = &r.implied_by {
        format!("implied by `{by} = edit`")
    } else if let Some(by) = &r.hidden_by {
        format!("declared `{declared}`, hidden by `{by} = off`")
    } else if let Some(plan) = &r.requires_plan {
        format!("declared `{declared}`, needs plan `{plan}`")
    } else if let Some(req) = &r.requires {
        format!("declared `{declared}`, needs `{req}`")
    } else {
        return None;
    })
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

fn grants_anything(role: &RoleEntry) -> bool {
    Permission::ALL.iter().any(|&p| {
        !matches!(
            p,
            Permission::LandingPage | Permission::ReportIssues | Permission::FullOrganizationAccess
        ) && role
            .permissions
            .get(p.key())
            .is_some_and(|v| rank(p, v) > 0)
    })
}

/// Compares two roles' grants: escalation if the new grants anything the old does not.
fn compare_roles(old: &RoleEntry, new: &RoleEntry) -> Class {
    let mut wider = false;
    let mut narrower = false;
    for &p in Permission::ALL {
        let (Some(o), Some(n)) = (old.permissions.get(p.key()), new.permissions.get(p.key()))
        else {
            continue;
        };
        match classify(p, o, n) {
            Class::Escalation => wider = true,
            Class::Reduction => narrower = true,
            Class::Neutral => {}
        }
    }
    if wider {
        Class::Escalation
    } else if narrower {
        Class::Reduction
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
        (ScopeEntry::Locations(_), ScopeEntry::All(_)) => Class::Escalation,
        (ScopeEntry::All(_), ScopeEntry::Locations(_)) => Class::Reduction,
        (ScopeEntry::Locations(o), ScopeEntry::Locations(n)) => {
            match (covers(o, n), covers(n, o)) {
                (true, true) => Class::Neutral,
                (true, false) => Class::Reduction,
                _ => Class::Escalation,
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
pub fn diff(old: &Snapshot, new: &Snapshot) -> Diff {
    let mut spaces = Vec::new();
    let ids: BTreeSet<&str> = old
        .spaces
        .iter()
        .chain(&new.spaces)
        .map(|s| s.id.as_str())
        .collect();
    for id in ids {
        let o = old.spaces.iter().find(|s| s.id == id);
        let n = new.spaces.iter().find(|s| s.id == id);
        let (status, changes) = match (o, n) {
            (None, Some(n)) => {
                let admins = n
                    .members
                    .iter()
                    .filter(|m| m.role == crate::model::builtin::ADMIN)
                    .count();
                let mut c = vec![change(
                    if n.members.is_empty() {
                        Class::Neutral
                    } else {
                        Class::Escalation
                    },
                    "space",
                    format!(
                        "space `{id}` added with {} members ({admins} admins)",
                        n.members.len()
                    ),
                )];
                c.extend(n.members.iter().map(|m| member_added(new, n, m)));
                ("added", c)
            }
            (Some(o), None) => (
                "removed",
                vec![change(
                    if o.members.is_empty() {
                        Class::Neutral
                    } else {
                        Class::Reduction
                    },
                    "space",
                    format!(
                        "space `{id}` removed: its {} members lose all access in it",
                        o.members.len()
                    ),
                )],
            ),
            (Some(o), Some(n)) => ("changed", space_changes(old, new, o, n)),
            (None, None) => continue,
        };
        if !changes.is_empty() {
            spaces.push(SpaceDiff {
                space: id.to_owned(),
                status,
                changes,
            });
        }
    }
    let admin_changes = enterprise_admins(old, new);
    if !admin_changes.is_empty() {
        spaces.push(SpaceDiff {
            space: "(enterprises)".to_owned(),
            status: "changed",
            changes: admin_changes,
        });
    }
    let count = |c: Class| {
        spaces
            .iter()
            .flat_map(|s| &s.changes)
            .filter(|x| x.class == c)
            .count()
    };
    Diff {
        escalations: count(Class::Escalation),
        reductions: count(Class::Reduction),
        neutral: count(Class::Neutral),
        spaces,
    }
}

fn member_added(snapshot: &Snapshot, space: &SpaceEntry, m: &MemberEntry) -> Change {
    let role = space.roles.iter().find(|r| r.id == m.role);
    let admin = m.role == crate::model::builtin::ADMIN;
    let class = if admin || role.is_some_and(grants_anything) {
        Class::Escalation
    } else {
        Class::Neutral
    };
    let _ = snapshot;
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

fn space_changes<'a>(
    old_snap: &Snapshot,
    new_snap: &Snapshot,
    o: &'a SpaceEntry,
    n: &'a SpaceEntry,
) -> Vec<Change> {
    let mut out = Vec::new();
    let settings: [(&str, Option<String>, Option<String>); 6] = [
        ("plan", Some(o.plan.clone()), Some(n.plan.clone())),
        ("server", o.server.clone(), n.server.clone()),
        ("upstream", o.upstream.clone(), n.upstream.clone()),
        ("enterprise", o.enterprise.clone(), n.enterprise.clone()),
        ("environment", o.environment.clone(), n.environment.clone()),
        ("two_factor", o.two_factor.clone(), n.two_factor.clone()),
    ];
    for (key, a, b) in settings {
        if a != b {
            let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
            let class = if key == "two_factor" && a.as_deref() == Some("required") {
                Class::Escalation
            } else {
                Class::Neutral
            };
            let mut c = change(
                class,
                "space",
                format!("`{key}` changed from {} to {}", shown(&a), shown(&b)),
            );
            c.permission = Some(key.to_owned());
            c.old = Some(shown(&a));
            c.new = Some(shown(&b));
            out.push(c);
        }
    }
    // Roles (declared here or received: a received role's changes are reported upstream).
    let own = |s: &'a SpaceEntry| -> BTreeMap<&'a str, &'a RoleEntry> {
        s.roles
            .iter()
            .filter(|r| r.from_upstream.is_none())
            .map(|r| (r.id.as_str(), r))
            .collect()
    };
    let (or, nr) = (own(o), own(n));
    for (id, role) in &nr {
        match or.get(id) {
            None => {
                let mut c = change(
                    if grants_anything(role) {
                        Class::Escalation
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
                    let (Some(a), Some(b)) = (
                        old_role.permissions.get(p.key()),
                        role.permissions.get(p.key()),
                    ) else {
                        continue;
                    };
                    if a == b {
                        continue;
                    }
                    let class = classify(p, a, b);
                    let verb = match class {
                        Class::Escalation => "raised",
                        Class::Reduction => "lowered",
                        Class::Neutral => "changed",
                    };
                    let r = reach(new_snap, n, id);
                    let mut c = change(
                        class,
                        "role_permission",
                        format!(
                            "role `{id}`: `{p}` {verb} from `{}` to `{}`",
                            text(a),
                            text(b)
                        ),
                    );
                    c.role = Some((*id).to_owned());
                    c.permission = Some(p.key().to_owned());
                    c.old = Some(text(a));
                    c.new = Some(text(b));
                    c.reason = reason(role, p.key());
                    c.reach = Some(r);
                    out.push(c);
                }
            }
        }
    }
    for id in or.keys().filter(|id| !nr.contains_key(*id)) {
        let mut c = change(
            Class::Reduction,
            "role_removed",
            format!("role `{id}` removed"),
        );
        c.role = Some((*id).to_owned());
        c.reach = Some(reach(old_snap, o, id));
        out.push(c);
    }
    // Members.
    let members = |s: &'a SpaceEntry| -> BTreeMap<&'a str, &'a MemberEntry> {
        s.members.iter().map(|m| (m.name.as_str(), m)).collect()
    };
    // Location intervals of the new version, for scope comparisons.
    let intervals: HashMap<&str, (u32, u32)> = n
        .locations
        .iter()
        .map(|l| (l.id.as_str(), (l.enter, l.exit)))
        .collect();
    let (om, nm) = (members(o), members(n));
    for (name, m) in &nm {
        match om.get(name) {
            None => out.push(member_added(new_snap, n, m)),
            Some(before) => {
                if before.role != m.role || before.role_from_upstream != m.role_from_upstream {
                    let old_role = o.roles.iter().find(|r| r.id == before.role);
                    let new_role = n.roles.iter().find(|r| r.id == m.role);
                    let class = if m.role == crate::model::builtin::ADMIN {
                        Class::Escalation
                    } else {
                        match (old_role, new_role) {
                            (Some(a), Some(b)) => compare_roles(a, b),
                            _ => Class::Neutral,
                        }
                    };
                    let mut c = change(
                        class,
                        "member_role",
                        format!("`{name}` moved from role `{}` to `{}`", before.role, m.role),
                    );
                    c.member = Some((*name).to_owned());
                    c.old = Some(before.role.clone());
                    c.new = Some(m.role.clone());
                    out.push(c);
                }
                if before.scope != m.scope {
                    let class = scope_class(&intervals, &before.scope, &m.scope);
                    let verb = match class {
                        Class::Escalation => "widened",
                        Class::Reduction => "narrowed",
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
                    c.member = Some((*name).to_owned());
                    c.old = Some(scope_text(&before.scope));
                    c.new = Some(scope_text(&m.scope));
                    out.push(c);
                }
            }
        }
    }
    for (name, m) in om.iter().filter(|(name, _)| !nm.contains_key(*name)) {
        let mut c = change(
            Class::Reduction,
            "member_removed",
            format!("`{name}` removed (was role `{}`)", m.role),
        );
        c.member = Some((*name).to_owned());
        c.old = Some(m.role.clone());
        out.push(c);
    }
    out
}

fn enterprise_admins(old: &Snapshot, new: &Snapshot) -> Vec<Change> {
    let admins = |s: &Snapshot| -> BTreeSet<(String, String)> {
        s.enterprises
            .iter()
            .flat_map(|e| e.admins.iter().map(|a| (e.id.clone(), a.clone())))
            .collect()
    };
    let (o, n) = (admins(old), admins(new));
    let mut out = Vec::new();
    for (e, a) in n.difference(&o) {
        let mut c = change(
            Class::Escalation,
            "enterprise_admin",
            format!("`{a}` is a new enterprise admin of `{e}`"),
        );
        c.member = Some(a.clone());
        c.new = Some(e.clone());
        out.push(c);
    }
    for (e, a) in o.difference(&n) {
        let mut c = change(
            Class::Reduction,
            "enterprise_admin",
            format!("`{a}` is no longer an enterprise admin of `{e}`"),
        );
        c.member = Some(a.clone());
        c.old = Some(e.clone());
        out.push(c);
    }
    out
}

impl Diff {
    fn reach_text(r: &Reach) -> String {
        let mut s = format!(
            "{} member{}",
            r.members,
            if r.members == 1 { "" } else { "s" }
        );
        for d in &r.downstream {
            s.push_str(&format!(", {} in `{}`", d.members, d.space));
        }
        s
    }

    /// Grouped by space, escalations first within each space.
    pub fn human(&self, color: bool) -> String {
        let paint = |c: Class, s: &str| {
            if !color {
                return s.to_owned();
            }
            let code = match c {
                Class::Escalation => "31",
                Class::Reduction => "32",
                Class::Neutral => "2",
            };
            format!("\x1b[{code}m{s}\x1b[0m")
        };
        let mut out = String::new();
        for s in &self.spaces {
            out.push_str(&format!("space `{}` ({})\n", s.space, s.status));
            let mut changes: Vec<&Change> = s.changes.iter().collect();
            changes.sort_by_key(|c| c.class);
            for c in changes {
                let tag = match c.class {
                    Class::Escalation => "ESCALATION",
                    Class::Reduction => "reduction ",
                    Class::Neutral => "neutral   ",
                };
                out.push_str(&format!("  {} {}", paint(c.class, tag), c.summary));
                if let Some(r) = &c.reason {
                    out.push_str(&format!(" ({r})"));
                }
                if let Some(r) = &c.reach {
                    out.push_str(&format!("; reaches {}", Self::reach_text(r)));
                }
                out.push('\n');
            }
        }
        if self.spaces.is_empty() {
            out.push_str("no changes in access\n");
        }
        out.push_str(&format!(
            "{} escalations, {} reductions, {} neutral\n",
            self.escalations, self.reductions, self.neutral
        ));
        out
    }

    /// A table ready to paste as a pull-request comment.
    pub fn markdown(&self) -> String {
        let mut out = String::from("### charter: access changes\n\n");
        if self.spaces.is_empty() {
            out.push_str("No changes in access.\n");
            return out;
        }
        out.push_str(&format!(
            "**{}** escalation{}, {} reduction{}, {} neutral.\n\n",
            self.escalations,
            if self.escalations == 1 { "" } else { "s" },
            self.reductions,
            if self.reductions == 1 { "" } else { "s" },
            self.neutral
        ));
        out.push_str("| space | change | class | reach |\n| --- | --- | --- | --- |\n");
        for s in &self.spaces {
            let mut changes: Vec<&Change> = s.changes.iter().collect();
            changes.sort_by_key(|c| c.class);
            for c in changes {
                let class = match c.class {
                    Class::Escalation => "⚠️ **escalation**",
                    Class::Reduction => "reduction",
                    Class::Neutral => "neutral",
                };
                let mut summary = c.summary.replace('|', "\\|");
                if let Some(r) = &c.reason {
                    summary.push_str(&format!(" ({r})"));
                }
                let reach = c.reach.as_ref().map(Self::reach_text).unwrap_or_default();
                out.push_str(&format!(
                    "| `{}` | {summary} | {class} | {reach} |\n",
                    s.space
                ));
            }
        }
        out
    }
}
