//! The grant comparison behind `diff`'s verdict (SPEC §4): every query that one version allows
//! and the other denies, over the whole query space (member × permission × level × location ×
//! channel, every report, `enterprise_reports`), each explained by its cause.
//!
//! The "allows" half of every comparison is [`Index::decide_member`], the evaluator `query`
//! uses, so `diff` and `query` cannot disagree about a member's grants; what this module adds is
//! the mapping between the two versions' locations and an enumeration that stays proportional
//! to what changed. A location that only one version has is answered, in the other, as its
//! nearest ancestor that both have (a new facility under `lko` is reached by whoever reached
//! `lko`); below no shared ancestor, by whoever held the permission everywhere.

use std::collections::HashMap;

use crate::model::Value;
use crate::model::{Kind, Permission};
use crate::query::Index;
use crate::query::index::LocationScope;
use crate::query::index::RoleIx;
use crate::question::{Asked, Channel, Request, Want};
use crate::snapshot::{MemberEntry, RoleEntry, SpaceEntry};

/// Queries gained (an escalation) or lost (a reduction).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Gained,
    Lost,
}

/// One location of an [`AccessChange`]; `and_below` covers its whole subtree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocationReach {
    pub id: String,
    pub and_below: bool,
}

/// Why access changed, in the words of the edit that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// `space_added`, `space_removed`, `member_added`, `member_removed`, `role_assignment`,
    /// `upstream`, `role_value`, `plan`, `member_locations`, `location_moved`,
    /// `location_added`, `location_removed`, `report_added`, `report_removed`, `enterprise`,
    /// `server`, `enterprise_admin`, `console_access`, `login_as` (a change of the worker
    /// the member logs in as).
    pub kind: &'static str,
    pub text: String,
}

/// One permission at one level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// A permission key, `report ID`, or `enterprise_reports`.
    pub permission: String,
    /// `view`, `edit` or `use`.
    pub level: &'static str,
}

/// The queries one member gained or lost through one channel, at the same places and for the
/// same cause: every (grant, location) pair of the entry is one such query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessChange {
    pub space: String,
    pub member: String,
    pub grants: Vec<Grant>,
    /// `web` or `api`.
    pub channel: &'static str,
    /// The query without `at` ("anywhere in the space") changed too.
    pub anywhere: bool,
    /// At every location of the space (of the version that allows it).
    pub everywhere: bool,
    /// Otherwise, at these locations.
    pub locations: Vec<LocationReach>,
    pub cause: Cause,
    /// The change as a person reads it.
    pub summary: String,
}

/// What a member holds for one question, before locations are asked about.
enum Reach<'a> {
    Denied,
    /// At every location (full organization access, a space-wide permission, the API).
    Everywhere,
    /// At these locations and below (indexes into the version's locations), none below
    /// another, sorted by DFS `enter`: membership is a binary search.
    Restricted(std::borrow::Cow<'a, [u32]>),
}

/// Every question of the enumerated query space that one member can be asked, without `at`.
fn questions(space: u32, entry: &SpaceEntry) -> Vec<(Request, String, &'static str)> {
    let mut out = Vec::new();
    for channel in [Channel::Web, Channel::Api] {
        for &p in Permission::ALL
            .iter()
            .filter(|p| !p.query_levels().is_empty())
        {
            let wants: &[Want] = match p.kind() {
                Kind::Level | Kind::AdminOnlyEdit => &[Want::View, Want::Edit],
                Kind::Switch | Kind::SwitchOrItems(_) | Kind::Items(_) | Kind::LoginAs => {
                    &[Want::View]
                }
                Kind::LandingPage | Kind::RoleList => &[],
            };
            for &want in wants {
                let level = match (p.kind(), want) {
                    (kind, _) if kind.is_switch_like() => "use",
                    (_, Want::View) => "view",
                    (_, Want::Edit) => "edit",
                };
                out.push((
                    Request {
                        space,
                        want,
                        asked: Asked::Key(p),
                        at: None,
                        channel,
                    },
                    p.key().to_owned(),
                    level,
                ));
            }
        }
        for (r, report) in entry.reports.iter().enumerate() {
            out.push((
                Request {
                    space,
                    want: Want::View,
                    asked: Asked::Report(r as u32),
                    at: None,
                    channel,
                },
                format!("report {}", report.id),
                "view",
            ));
        }
    }
    out
}

/// How member `m` of `space` holds `q`: by its own role within its locations, and in Web Apps
/// by Login-As of the workers it may log in as, at theirs.
fn reach<'a>(ix: &'a Index, q: &Request, m: u32) -> Reach<'a> {
    if !ix.decide_member(q, m).allowed() {
        return Reach::Denied;
    }
    let s = &ix.spaces[q.space as usize];
    let scoped = q.is_location_scoped();
    let member = &s.members[m as usize];
    let own = match q.channel {
        Channel::Web => ix.decide_own(q, m).allowed(),
        _ => true,
    };
    let mut roots: Vec<u32> = Vec::new();
    if own {
        match (&member.scope, scoped, q.channel) {
            (LocationScope::Locations(mine), true, Channel::Web) => roots.extend(mine),
            // Through the API, or by a role that holds everywhere, or space-wide.
            _ => return Reach::Everywhere,
        }
    }
    if q.channel == Channel::Web {
        if let Some(la) = ix.login_as_reach(q.space, m) {
            match la.locations(q.asked, q.want) {
                None => return Reach::Everywhere,
                Some(_) if !scoped => return Reach::Everywhere,
                Some(theirs) => roots.extend(theirs.iter().map(|r| r.location)),
            }
        }
    }
    if !own && roots.is_empty() && !scoped {
        return Reach::Everywhere;
    }
    Reach::Restricted(std::borrow::Cow::Owned(maximal(s, roots)))
}

/// `roots` without those below another, sorted by DFS `enter`.
fn maximal(s: &crate::query::index::SpaceIx, mut roots: Vec<u32>) -> Vec<u32> {
    roots.sort_by_key(|&r| {
        (
            s.locations[r as usize].enter,
            std::cmp::Reverse(s.locations[r as usize].exit),
        )
    });
    let mut out: Vec<u32> = Vec::with_capacity(roots.len());
    for r in roots {
        let l = &s.locations[r as usize];
        if out
            .last()
            .is_none_or(|&last| l.enter >= s.locations[last as usize].exit)
        {
            out.push(r);
        }
    }
    out
}

/// Whether location `x` is at or below one of `roots` (as [`maximal`] leaves them).
fn covered(s: &crate::query::index::SpaceIx, roots: &[u32], x: u32) -> bool {
    let e = s.locations[x as usize].enter;
    let i = roots.partition_point(|&r| s.locations[r as usize].enter <= e);
    i > 0 && e < s.locations[roots[i - 1] as usize].exit
}

/// One space as both versions have it: `b` is the version whose grants are enumerated (NEW for
/// escalations), `a` the other.
struct SpacePair<'x> {
    a: &'x Index,
    b: &'x Index,
    sa: Option<u32>,
    sb: u32,
    /// For each location of `b`: the same location in `a`, else its nearest ancestor that `a`
    /// has, else `None`.
    mapped: Vec<Option<u32>>,
    /// For each location of `b`: its subtree in `b` is within its subtree in `a` (by ids).
    within: Vec<bool>,
    /// `a`'s members by lower-cased name (member names compare ignoring ASCII case).
    a_members: HashMap<String, u32>,
}

impl<'x> SpacePair<'x> {
    fn new(a: &'x Index, b: &'x Index, sb: u32) -> SpacePair<'x> {
        let eb = &b.snapshot.spaces[sb as usize];
        let sa = a.space_ids.get(&eb.id).copied();
        let locs_b = &b.spaces[sb as usize].locations;
        let n = locs_b.len();
        let mut mapped = vec![None; n];
        let mut within = vec![false; n];
        let mut a_members = HashMap::new();
        if let Some(sa) = sa {
            let ia = &a.spaces[sa as usize];
            let ea = &a.snapshot.spaces[sa as usize];
            // Parents come before children in preorder.
            for (l, loc) in locs_b.iter().enumerate() {
                mapped[l] = ia
                    .location_ids
                    .get(&eb.locations[l].id)
                    .copied()
                    .or_else(|| {
                        loc.parent
                            .and_then(|p| mapped.get(p as usize).copied().flatten())
                    });
            }
            // Bottom-up: every child exists in `a` with this parent, and so on below it.
            for l in (0..n).rev() {
                within[l] = ia.location_ids.contains_key(&eb.locations[l].id);
            }
            for l in (0..n).rev() {
                if let Some(p) = locs_b[l].parent {
                    let same_parent = ia
                        .location_ids
                        .get(&eb.locations[l].id)
                        .and_then(|&x| ea.locations[x as usize].parent.as_deref())
                        == Some(eb.locations[p as usize].id.as_str());
                    if !(within[l] && same_parent) {
                        if let Some(w) = within.get_mut(p as usize) {
                            *w = false;
                        }
                    }
                }
            }
            a_members = ea
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name.to_ascii_lowercase(), i as u32))
                .collect();
        }
        SpacePair {
            a,
            b,
            sa,
            sb,
            mapped,
            within,
            a_members,
        }
    }

    /// Whether `a` location `x` is at or below one of `roots` (in `a`).
    fn under_a(&self, x: u32, roots: &[u32]) -> bool {
        let Some(sa) = self.sa else { return false };
        covered(&self.a.spaces[sa as usize], roots, x)
    }

    /// Whether `a` allows, at `b` location `l`, what `ra` says.
    fn a_allows_at(&self, ra: &Reach<'_>, l: u32) -> bool {
        match ra {
            Reach::Denied => false,
            Reach::Everywhere => true,
            Reach::Restricted(roots) => self
                .mapped
                .get(l as usize)
                .copied()
                .flatten()
                .is_some_and(|x| self.under_a(x, roots)),
        }
    }

    /// `b` locations at or below `l`, in preorder.
    fn subtree(&self, l: u32) -> std::ops::Range<u32> {
        let locs = &self.b.spaces[self.sb as usize].locations;
        match locs.get(l as usize) {
            Some(loc) => loc.enter.min(locs.len() as u32)..loc.exit.min(locs.len() as u32),
            None => 0..0,
        }
    }

    /// `b` locations where `rb` holds and `ra` does not, in preorder.
    fn gained_locations(&self, ra: &Reach<'_>, rb: &Reach<'_>) -> Vec<u32> {
        let all = self.b.spaces[self.sb as usize].locations.len() as u32;
        match (ra, rb) {
            (_, Reach::Denied) | (Reach::Everywhere, _) => Vec::new(),
            (Reach::Denied, Reach::Everywhere) => (0..all).collect(),
            (Reach::Restricted(_), Reach::Everywhere) => {
                (0..all).filter(|&l| !self.a_allows_at(ra, l)).collect()
            }
            (_, Reach::Restricted(roots)) => {
                // Unchanged subtrees already reached in `a` cost one check each.
                let mut out: Vec<u32> = roots
                    .iter()
                    .filter(|&&r| {
                        !(self.within.get(r as usize).copied().unwrap_or(false)
                            && self.a_allows_at(ra, r))
                    })
                    .flat_map(|&r| self.subtree(r))
                    .filter(|&l| !self.a_allows_at(ra, l))
                    .collect();
                out.sort_unstable();
                out.dedup();
                out
            }
        }
    }

    /// Preorder indexes as subtree roots where a whole subtree is listed.
    fn compress(&self, locs: &[u32]) -> Vec<LocationReach> {
        let entry = &self.b.snapshot.spaces[self.sb as usize];
        let mut out = Vec::new();
        let mut k = 0;
        while k < locs.len() {
            let l = locs[k];
            let size = self.subtree(l).len();
            let whole = size > 1 && locs.get(k + size - 1) == Some(&(l + size as u32 - 1));
            out.push(LocationReach {
                id: entry.locations[l as usize].id.clone(),
                and_below: whole,
            });
            k += if whole { size } else { 1 };
        }
        out
    }
}

/// The queries `b` allows and `a` denies, explained with `old`/`new` as `dir` says.
fn compare(a: &Index, b: &Index, dir: Direction) -> Vec<AccessChange> {
    let (old, new) = match dir {
        Direction::Gained => (a, b),
        Direction::Lost => (b, a),
    };
    let mut out = Vec::new();
    for sb in 0..b.spaces.len() as u32 {
        let pair = SpacePair::new(a, b, sb);
        let eb = &b.snapshot.spaces[sb as usize];
        let questions = questions(sb, eb);
        for (mb, member) in eb.members.iter().enumerate() {
            let ma = pair
                .a_members
                .get(&member.name.to_ascii_lowercase())
                .copied();
            let ctx = Context {
                dir,
                pair: &pair,
                mb: mb as u32,
                ma,
            };
            // One entry per channel, places and cause; a member has few of them.
            let mut groups: Vec<AccessChange> = Vec::new();
            for (qb, permission, level) in &questions {
                let rb = reach(b, qb, mb as u32);
                if matches!(rb, Reach::Denied) {
                    continue;
                }
                let ra = match (pair.sa, ma) {
                    (Some(sa), Some(ma)) => match qb.asked {
                        Asked::Report(r) => a.spaces[sa as usize]
                            .report_ids
                            .get(&eb.reports[r as usize].id)
                            .map_or(Reach::Denied, |&r| {
                                reach(
                                    a,
                                    &Request {
                                        space: sa,
                                        asked: Asked::Report(r),
                                        ..*qb
                                    },
                                    ma,
                                )
                            }),
                        _ => reach(a, &Request { space: sa, ..*qb }, ma),
                    },
                    _ => Reach::Denied,
                };
                let anywhere = matches!(ra, Reach::Denied);
                let locs = pair.gained_locations(&ra, &rb);
                if !anywhere && locs.is_empty() {
                    continue;
                }
                let all = eb.locations.len();
                let everywhere = all > 0 && locs.len() == all;
                let locations = if everywhere {
                    Vec::new()
                } else {
                    pair.compress(&locs)
                };
                let cause = ctx.cause(qb, &locs, everywhere);
                let channel = if qb.channel == Channel::Api {
                    "api"
                } else {
                    "web"
                };
                let grant = Grant {
                    permission: permission.clone(),
                    level,
                };
                match groups.iter_mut().find(|g| {
                    g.channel == channel
                        && g.anywhere == anywhere
                        && g.everywhere == everywhere
                        && g.locations == locations
                        && g.cause == cause
                }) {
                    Some(g) => g.grants.push(grant),
                    None => groups.push(AccessChange {
                        space: eb.id.clone(),
                        member: member.name.clone(),
                        grants: vec![grant],
                        channel,
                        anywhere,
                        everywhere,
                        locations,
                        cause,
                        summary: String::new(),
                    }),
                }
            }
            for mut g in groups {
                g.summary = summary(dir, &g);
                out.push(g);
            }
        }
        out.extend(assignments(&pair, dir));
        // The Enterprise Console's aggregates of this space.
        let before: std::collections::HashSet<String> = pair
            .sa
            .map(|sa| {
                a.console_viewers(sa)
                    .iter()
                    .map(|v| v.to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        for viewer in b.console_viewers(sb) {
            if before.contains(&viewer.to_ascii_lowercase()) {
                continue;
            }
            let mut g = AccessChange {
                space: eb.id.clone(),
                member: viewer.clone(),
                grants: vec![Grant {
                    permission: crate::resolve::ENTERPRISE_REPORTS.to_owned(),
                    level: "view",
                }],
                channel: "web",
                anywhere: true,
                everywhere: false,
                locations: Vec::new(),
                cause: console_cause(old, new, dir, &eb.id, viewer),
                summary: String::new(),
            };
            g.summary = summary(dir, &g);
            out.push(g);
        }
    }
    out
}

/// Whether member `m` (not an admin) of space `s` may assign role `r` (SPEC §3): the role is
/// `non_admin_editable` and the member manages users (`web_users = edit` or `mobile_workers =
/// edit`), or the role lists the member's role in `assignable_by`. Admins assign every role;
/// that is part of being `admin` and not counted here.
pub fn can_assign(ix: &Index, s: u32, m: u32, r: u32) -> bool {
    let space = &ix.spaces[s as usize];
    let entry = &ix.snapshot.spaces[s as usize];
    let Some(member) = space.members.get(m as usize) else {
        return false;
    };
    let (Some(holder), Some(holder_entry), Some(target), Some(target_entry)) = (
        space.roles.get(member.role as usize),
        entry.roles.get(member.role as usize),
        space.roles.get(r as usize),
        entry.roles.get(r as usize),
    ) else {
        return false;
    };
    if holder_entry.id == crate::model::builtin::ADMIN
        || target_entry.id == crate::model::builtin::ADMIN
    {
        return false;
    }
    let opened = target.holds(Permission::NonAdminEditable, Want::View)
        && crate::model::rules::manages_users(|p| holder.holds(p, Want::Edit));
    let listed = matches!(
        target.value(Permission::AssignableBy),
        Value::Roles(ids) if ids.contains(&holder_entry.id)
    );
    opened || listed
}

/// Roles a member newly may assign: one entry per member and cause, each role a grant.
fn assignments(pair: &SpacePair<'_>, dir: Direction) -> Vec<AccessChange> {
    let (a, b) = (pair.a, pair.b);
    let eb = &b.snapshot.spaces[pair.sb as usize];
    let ea = pair.sa.map(|sa| &a.snapshot.spaces[sa as usize]);
    let a_roles: HashMap<&str, u32> = ea
        .map(|e| {
            e.roles
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.as_str(), i as u32))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for (mb, member) in eb.members.iter().enumerate() {
        let ma = pair
            .a_members
            .get(&member.name.to_ascii_lowercase())
            .copied();
        let mut groups: Vec<AccessChange> = Vec::new();
        for (rb, role) in eb.roles.iter().enumerate() {
            if !can_assign(b, pair.sb, mb as u32, rb as u32) {
                continue;
            }
            let ra = a_roles.get(role.id.as_str()).copied();
            let before = match (pair.sa, ma, ra) {
                (Some(sa), Some(ma), Some(ra)) => can_assign(a, sa, ma, ra),
                _ => false,
            };
            if before {
                continue;
            }
            let cause = assignment_cause(pair, dir, mb as u32, ma, (rb as u32, role), ra);
            let grant = Grant {
                permission: format!("role {}", role.id),
                level: "assign",
            };
            match groups.iter_mut().find(|g| g.cause == cause) {
                Some(g) => g.grants.push(grant),
                None => groups.push(AccessChange {
                    space: eb.id.clone(),
                    member: member.name.clone(),
                    grants: vec![grant],
                    channel: "web",
                    anywhere: true,
                    everywhere: false,
                    locations: Vec::new(),
                    cause,
                    summary: String::new(),
                }),
            }
        }
        for mut g in groups {
            g.summary = summary(dir, &g);
            out.push(g);
        }
    }
    out
}

/// Why a member may now assign `role` (of `b`): the member's own role changed, the role is
/// new, or one of the values that decide it changed.
fn assignment_cause(
    pair: &SpacePair<'_>,
    dir: Direction,
    mb: u32,
    ma: Option<u32>,
    (rb, role): (u32, &RoleEntry),
    ra: Option<u32>,
) -> Cause {
    let ctx = Context { dir, pair, mb, ma };
    let eb = &pair.b.snapshot.spaces[pair.sb as usize];
    let (Some(sa), Some(ma)) = (pair.sa, ma) else {
        // A new space or a new member: the causes of any grant.
        let q = Request {
            space: pair.sb,
            want: Want::View,
            asked: Asked::EnterpriseReports,
            at: None,
            channel: Channel::Web,
        };
        return ctx.cause(&q, &[], false);
    };
    let ea = &pair.a.snapshot.spaces[sa as usize];
    let (om, nm) = ctx.ordered(&ea.members[ma as usize], &eb.members[mb as usize]);
    if om.role != nm.role {
        return cause("role_assignment", role_change(om, nm));
    }
    let Some(ra) = ra else {
        return match dir {
            Direction::Gained => cause("role_added", format!("new role `{}`", role.id)),
            Direction::Lost => cause("role_removed", format!("role `{}` removed", role.id)),
        };
    };
    let (orole, nrole) = ctx.ordered(
        &pair.a.spaces[sa as usize].roles[ra as usize],
        &pair.b.spaces[pair.sb as usize].roles[rb as usize],
    );
    for key in [Permission::NonAdminEditable, Permission::AssignableBy] {
        let (ov, nv) = (orole.value(key), nrole.value(key));
        if ov != nv {
            return cause(
                "role_value",
                format!(
                    "role `{}`: `{key}` changed from `{}` to `{}`",
                    role.id,
                    ov.to_source(),
                    nv.to_source()
                ),
            );
        }
    }
    // The member's own role now manages users.
    let (oholder, nholder) = ctx.ordered(role_of(pair.a, sa, ma), role_of(pair.b, pair.sb, mb));
    for key in [Permission::WebUsers, Permission::MobileWorkers] {
        let (ov, nv) = (effective(oholder, key), effective(nholder, key));
        if ov != nv {
            return cause(
                "role_value",
                format!(
                    "role `{}`: `{key}` changed from `{}` to `{}`",
                    nm.role,
                    value_text(ov),
                    value_text(nv)
                ),
            );
        }
    }
    cause("other", "effective access changed".to_owned())
}

/// Every query NEW allows that OLD denied, by space and member name.
pub fn gained(old: &Index, new: &Index) -> Vec<AccessChange> {
    sorted(compare(old, new, Direction::Gained))
}

/// Every query OLD allowed that NEW denies, by space and member name.
pub fn lost(old: &Index, new: &Index) -> Vec<AccessChange> {
    sorted(compare(new, old, Direction::Lost))
}

/// Stable: within a member, the catalogue's order.
fn sorted(mut changes: Vec<AccessChange>) -> Vec<AccessChange> {
    changes.sort_by(|a, b| (&a.space, &a.member).cmp(&(&b.space, &b.member)));
    changes
}

/// The entry as a person reads it: "`priya@acme.org` can now view `data` at `pat-01` (...)".
fn summary(dir: Direction, c: &AccessChange) -> String {
    let verb = match dir {
        Direction::Gained => "can now",
        Direction::Lost => "can no longer",
    };
    let mut what: Vec<String> = Vec::new();
    for (k, g) in c.grants.iter().enumerate() {
        // `view` then `edit` of one permission read as one.
        if k > 0 && g.level == "edit" && c.grants[k - 1].permission == g.permission {
            what.pop();
            what.push(format!("view and edit `{}`", g.permission));
            continue;
        }
        what.push(if let Some(r) = g.permission.strip_prefix("report ") {
            format!("view report `{r}`")
        } else if let Some(r) = g.permission.strip_prefix("role ") {
            format!("assign role `{r}`")
        } else {
            format!("{} `{}`", g.level, g.permission)
        });
    }
    let api = if c.channel == "api" {
        " through the API"
    } else {
        ""
    };
    format!(
        "`{}` {verb} {}{api}{} ({})",
        c.member,
        what.join(", "),
        where_text(&c.locations, c.everywhere, c.anywhere),
        c.cause.text
    )
}

/// " at `a`, `b` and below", " at every location", or nothing (space-wide: the query without
/// `at` changed, and at every location).
pub fn where_text(locations: &[LocationReach], everywhere: bool, anywhere: bool) -> String {
    if everywhere {
        return if anywhere {
            String::new()
        } else {
            " at every location".to_owned()
        };
    }
    if locations.is_empty() {
        return String::new();
    }
    const SHOWN: usize = 5;
    let mut parts: Vec<String> = locations
        .iter()
        .take(SHOWN)
        .map(|l| {
            if l.and_below {
                format!("`{}` and below", l.id)
            } else {
                format!("`{}`", l.id)
            }
        })
        .collect();
    if locations.len() > SHOWN {
        parts.push(format!("{} more", locations.len() - SHOWN));
    }
    format!(" at {}", parts.join(", "))
}

/// A value as written, `(unset)` for a role that is not there.
fn value_text(v: Option<&Value>) -> String {
    v.map_or_else(|| "(unset)".to_owned(), Value::to_source)
}

fn effective(role: Option<&RoleIx>, p: Permission) -> Option<&Value> {
    role.map(|r| r.value(p))
}

/// The value as written, where a rule changed it; else the effective value.
fn declared(role: Option<&RoleIx>, p: Permission) -> Option<&Value> {
    role.map(|r| r.declared(p))
}

/// The role member `m` of space `s` holds.
fn role_of(ix: &Index, s: u32, m: u32) -> Option<&RoleIx> {
    let r = ix.spaces[s as usize].members.get(m as usize)?.role;
    ix.spaces[s as usize].roles.get(r as usize)
}

fn cause(kind: &'static str, text: String) -> Cause {
    Cause { kind, text }
}

/// One member in both versions, with `a`/`b` as in [`SpacePair`].
struct Context<'x> {
    dir: Direction,
    pair: &'x SpacePair<'x>,
    mb: u32,
    ma: Option<u32>,
}

impl Context<'_> {
    /// `(old, new)` of a pair given as `(a, b)`.
    fn ordered<T>(&self, a: T, b: T) -> (T, T) {
        match self.dir {
            Direction::Gained => (a, b),
            Direction::Lost => (b, a),
        }
    }

    /// Why the member gained (or lost) `q` at locations `locs` (of `b`); the first edit, in
    /// this order, that explains it.
    fn cause(&self, q: &Request, locs: &[u32], everywhere: bool) -> Cause {
        let p = self.pair;
        let b_space = &p.b.snapshot.spaces[p.sb as usize];
        let space = &b_space.id;
        let Some(sa) = p.sa else {
            return match self.dir {
                Direction::Gained => cause("space_added", format!("space `{space}` added")),
                Direction::Lost => cause("space_removed", format!("space `{space}` removed")),
            };
        };
        let a_space = &p.a.snapshot.spaces[sa as usize];
        let b_member = &b_space.members[self.mb as usize];
        let Some(ma) = self.ma else {
            let role = &b_member.role;
            return match self.dir {
                Direction::Gained => cause(
                    "member_added",
                    format!("added to `{space}` with role `{role}`"),
                ),
                Direction::Lost => cause(
                    "member_removed",
                    format!("removed from `{space}` (was role `{role}`)"),
                ),
            };
        };
        let a_member = &a_space.members[ma as usize];
        let (om, nm) = self.ordered(a_member, b_member);
        let (os, ns) = self.ordered(a_space, b_space);
        if om.role != nm.role {
            return cause("role_assignment", role_change(om, nm));
        }
        if om.role_from_upstream != nm.role_from_upstream {
            let shown = |u: &Option<String>| match u {
                Some(u) => format!("`{u}`"),
                None => format!("`{}` itself", ns.id),
            };
            return cause(
                "upstream",
                format!(
                    "role `{}` now comes from {}, was from {}",
                    nm.role,
                    shown(&nm.role_from_upstream),
                    shown(&om.role_from_upstream)
                ),
            );
        }
        let (orole, nrole) = self.ordered(role_of(p.a, sa, ma), role_of(p.b, p.sb, self.mb));
        // Granted in `b` by Login-As of a worker: the member's own value of the permission
        // does not decide it, its Login-As does.
        let worker = self.login_as_worker(q, locs.first().copied());
        // The values that decide this question: the permission itself, the API switch, full
        // organization access (the scope), in that order; under Login-As, `login_as` and the
        // Web Apps it is used through.
        let mut keys: Vec<Permission> = match (q.asked, worker) {
            (_, Some(_)) => vec![Permission::LoginAs, Permission::WebApps],
            (Asked::Key(p), None) => vec![p],
            (Asked::Report(_), None) => vec![Permission::Reports],
            (Asked::EnterpriseReports, None) => vec![],
        };
        if q.channel == Channel::Api {
            keys.push(Permission::AccessApis);
        }
        keys.push(Permission::FullOrganizationAccess);
        if worker.is_none()
            && q.channel == Channel::Web
            && crate::query::login_as::gives_in_web_apps(q.asked)
        {
            // Lost in `a` through Login-As changes too (`b` grants by the member's own role).
            keys.extend([Permission::LoginAs, Permission::WebApps]);
        }
        for key in keys {
            let (ov, nv) = (effective(orole, key), effective(nrole, key));
            if ov == nv {
                continue;
            }
            if declared(orole, key) == declared(nrole, key) && os.plan != ns.plan {
                return cause(
                    "plan",
                    format!(
                        "`{}` changed plan from `{}` to `{}`, so `{key}` is now `{}`",
                        ns.id,
                        os.plan,
                        ns.plan,
                        value_text(nv)
                    ),
                );
            }
            let from = nm
                .role_from_upstream
                .as_ref()
                .map(|u| format!(" from `{u}`"))
                .unwrap_or_default();
            return cause(
                "role_value",
                format!(
                    "role `{}`{from}: `{key}` changed from `{}` to `{}`",
                    nm.role,
                    value_text(ov),
                    value_text(nv)
                ),
            );
        }
        if let Asked::Report(r) = q.asked {
            let id = &b_space.reports[r as usize].id;
            if !p.a.spaces[sa as usize].report_ids.contains_key(id) {
                return match self.dir {
                    Direction::Gained => cause(
                        "report_added",
                        format!("new report `{id}`, reached by `reports = all`"),
                    ),
                    Direction::Lost => cause("report_removed", format!("report `{id}` removed")),
                };
            }
        }
        if om.scope != nm.scope {
            let shown = |m: &MemberEntry| match &m.scope {
                crate::snapshot::ScopeEntry::All(_) => "all".to_owned(),
                crate::snapshot::ScopeEntry::Locations(ids) => format!("[{}]", ids.join(", ")),
            };
            return cause(
                "member_locations",
                format!("locations changed from {} to {}", shown(om), shown(nm)),
            );
        }
        if let Some(k) = worker {
            if let Some(c) = self.worker_cause(q, k) {
                return c;
            }
        }
        let by_location = match locs
            .first()
            .copied()
            .or((everywhere && !b_space.locations.is_empty()).then_some(0))
        {
            Some(l) => self.location_cause(l),
            None => cause("other", "effective access changed".to_owned()),
        };
        match worker {
            Some(k) if by_location.kind == "other" => {
                let k = &b_space.members[k as usize];
                cause(
                    "login_as",
                    match self.dir {
                        Direction::Gained => format!(
                            "through Login-As of `{}`, now among the workers the member may log in as",
                            k.name
                        ),
                        Direction::Lost => format!(
                            "through Login-As of `{}`, no longer among the workers the member may log in as",
                            k.name
                        ),
                    },
                )
            }
            _ => by_location,
        }
    }

    /// The worker through whom `b` grants `q` by Login-As, at `b` location `at` (or without a
    /// location), if Login-As is how `b` grants it.
    fn login_as_worker(&self, q: &Request, at: Option<u32>) -> Option<u32> {
        let p = self.pair;
        let q = Request { at, ..*q };
        match p.b.decide_member(&q, self.mb) {
            crate::query::Decision::ViaLoginAs { worker, .. } => Some(worker),
            _ => None,
        }
    }

    /// What changed about worker `k` (of `b`) that Login-As now gives (or took away) `q`.
    fn worker_cause(&self, q: &Request, k: u32) -> Option<Cause> {
        let p = self.pair;
        let sa = p.sa?;
        let (eb, ea) = (
            &p.b.snapshot.spaces[p.sb as usize],
            &p.a.snapshot.spaces[sa as usize],
        );
        let kb = &eb.members[k as usize];
        let me = &eb.members[self.mb as usize].name;
        let through = |text: String| {
            cause(
                "login_as",
                format!("through Login-As of `{}`: {text}", kb.name),
            )
        };
        let Some(&ka) = p.a_members.get(&kb.name.to_ascii_lowercase()) else {
            return Some(match self.dir {
                Direction::Gained => through(format!("new mobile worker with role `{}`", kb.role)),
                Direction::Lost => {
                    through(format!("mobile worker removed (was role `{}`)", kb.role))
                }
            });
        };
        let kam = &ea.members[ka as usize];
        let (ok, nk) = self.ordered(kam, kb);
        if ok.role != nk.role || ok.kind != nk.kind {
            return Some(through(format!(
                "its role changed from `{}` to `{}`",
                ok.role, nk.role
            )));
        }
        let (orole, nrole) = self.ordered(role_of(p.a, sa, ka), role_of(p.b, p.sb, k));
        let keys = match q.asked {
            Asked::Key(p) => vec![p, Permission::FullOrganizationAccess],
            _ => vec![Permission::FullOrganizationAccess],
        };
        for key in keys {
            let (ov, nv) = (effective(orole, key), effective(nrole, key));
            if ov != nv {
                return Some(through(format!(
                    "role `{}`: `{key}` changed from `{}` to `{}`",
                    nk.role,
                    value_text(ov),
                    value_text(nv)
                )));
            }
        }
        if ok.scope != nk.scope || ok.assigned() != nk.assigned() {
            return Some(through(format!(
                "its locations changed from [{}] to [{}]",
                ok.assigned().join(", "),
                nk.assigned().join(", ")
            )));
        }
        let names = |m: &MemberEntry| m.login_as.iter().any(|n| n.eq_ignore_ascii_case(me));
        if names(ok) != names(nk) {
            return Some(through(if names(nk) {
                format!("its `login_as` now names `{me}`")
            } else {
                format!("its `login_as` no longer names `{me}`")
            }));
        }
        None
    }

    /// Why location `l` (of `b`) is reached now: it, or an ancestor, moved, or it is new.
    fn location_cause(&self, l: u32) -> Cause {
        let p = self.pair;
        let Some(sa) = p.sa else {
            return cause("other", "effective access changed".to_owned());
        };
        let (ib, eb) = (
            &p.b.spaces[p.sb as usize],
            &p.b.snapshot.spaces[p.sb as usize],
        );
        let (ia, ea) = (&p.a.spaces[sa as usize], &p.a.snapshot.spaces[sa as usize]);
        let id = |l: u32| eb.locations[l as usize].id.as_str();
        let mut cur = Some(l);
        // Walks up `b`'s tree: its depth is bounded by the location count.
        while let Some(l) = cur {
            let pb = ib.locations[l as usize].parent;
            let pb_id = pb.map(id);
            match ia.location_ids.get(id(l)) {
                None => {
                    let under = pb_id.map(|p| format!(" under `{p}`")).unwrap_or_default();
                    return match self.dir {
                        Direction::Gained => {
                            cause("location_added", format!("new location `{}`{under}", id(l)))
                        }
                        Direction::Lost => cause(
                            "location_removed",
                            format!("location `{}`{under} removed", id(l)),
                        ),
                    };
                }
                Some(&x) => {
                    let pa_id = ea.locations[x as usize].parent.as_deref();
                    if pa_id != pb_id {
                        let (po, pn) = self.ordered(pa_id, pb_id);
                        let under = |p: Option<&str>, top: &str| match p {
                            Some(p) => format!("under `{p}`"),
                            None => top.to_owned(),
                        };
                        return cause(
                            "location_moved",
                            format!(
                                "`{}` moved {}, was {}",
                                id(l),
                                under(pn, "to the top"),
                                under(po, "at the top")
                            ),
                        );
                    }
                    cur = pb;
                }
            }
        }
        cause("other", "effective access changed".to_owned())
    }
}

/// Why `viewer` reaches (or no longer reaches) the console's aggregates of `space`.
fn console_cause(old: &Index, new: &Index, dir: Direction, space: &str, viewer: &str) -> Cause {
    let entry = |ix: &Index| {
        ix.snapshot
            .spaces
            .iter()
            .find(|s| s.id == space)
            .map(|s| (s.enterprise.clone(), s.server.clone()))
    };
    let (Some((oe, osv)), Some((ne, nsv))) = (entry(old), entry(new)) else {
        return match dir {
            Direction::Gained => cause("space_added", format!("space `{space}` added")),
            Direction::Lost => cause("space_removed", format!("space `{space}` removed")),
        };
    };
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
    if oe != ne {
        return cause(
            "enterprise",
            format!(
                "`{space}` moved from enterprise `{}` to `{}`",
                shown(&oe),
                shown(&ne)
            ),
        );
    }
    if osv != nsv {
        return cause(
            "server",
            format!(
                "`{space}` moved from server `{}` to `{}`",
                shown(&osv),
                shown(&nsv)
            ),
        );
    }
    let is_admin = |ix: &Index| {
        ix.snapshot.enterprises.iter().any(|e| {
            Some(&e.id) == ne.as_ref() && e.admins.iter().any(|a| a.eq_ignore_ascii_case(viewer))
        })
    };
    if is_admin(old) != is_admin(new) {
        let e = shown(&ne);
        return cause(
            "enterprise_admin",
            if is_admin(new) {
                format!("`{viewer}` became an enterprise admin of `{e}`")
            } else {
                format!("`{viewer}` is no longer an enterprise admin of `{e}`")
            },
        );
    }
    cause(
        "console_access",
        format!(
            "`{viewer}` {} `admin` of a space of `{}` on server `{}`",
            match dir {
                Direction::Gained => "became",
                Direction::Lost => "is no longer",
            },
            shown(&ne),
            shown(&nsv)
        ),
    )
}

/// "role changed from `a` to `b`", naming Enterprise Permissions when they give the new role.
fn role_change(om: &crate::snapshot::MemberEntry, nm: &crate::snapshot::MemberEntry) -> String {
    let through = match &nm.enterprise_source {
        Some(source) => format!(", through Enterprise Permissions from `{source}`"),
        None => String::new(),
    };
    format!("role changed from `{}` to `{}`{through}", om.role, nm.role)
}
