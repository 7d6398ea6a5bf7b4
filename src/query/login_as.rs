//! Login-As in queries (SPEC §2b): a web user whose role has `login_as` and Web Apps may log in
//! as mobile workers in Web Apps, and there do what each worker's role allows at the worker's
//! locations (HQ's `login_as_user_query`, `HQ-PERMISSIONS.md` §5):
//!
//! - `login_as = all`: every mobile worker of the space; `limited`: the workers whose
//!   `login_as [...]` names the user, and with `login_as_default_user` those naming `default`;
//! - a location-restricted user sees only workers assigned to a location at or below one of
//!   its own;
//! - what a worker gives is its Web Apps permissions (catalogue flag `in_web_apps`, the table
//!   W0209 reads too), at the worker's scope.
//!
//! Who one may log in as is worked out on first use per member and kept: an unrestricted
//! `login_as = all` shares one space-wide answer, so n such users cost one pass over the
//! workers, not n.

use std::sync::OnceLock;

use super::index::{LocationScope, SpaceIx};
use crate::model::{DEFAULT_LOGIN_AS, LoginAs, Permission, Value};
use crate::question::{Asked, Want};
use crate::snapshot::{MemberKindEntry, SpaceEntry};

/// Where the holders of one worker role, among the workers a user may log in as, act.
#[derive(Debug, Clone)]
pub struct RoleReach {
    pub role: u32,
    /// A worker of this role whose scope is `all`: it acts at every location.
    pub everywhere: Option<u32>,
    /// The first worker of this role (for a question asked without a location).
    pub first: u32,
    /// The maximal locations of the restricted workers of this role, by DFS `enter`, each with
    /// a worker assigned there: the location and all below.
    pub roots: Vec<Root>,
}

/// One location a worker acts at and below.
#[derive(Debug, Clone, Copy)]
pub struct Root {
    pub enter: u32,
    pub exit: u32,
    pub location: u32,
    pub worker: u32,
}

/// Whom one user may log in as, and what that gives.
#[derive(Debug, Clone, Default)]
pub struct LoginAsReach {
    /// The workers (member indexes, ascending).
    pub workers: Vec<u32>,
    /// One entry per role some of them hold that gives something in Web Apps.
    pub by_role: Vec<RoleReach>,
    /// Per Web Apps question (permission, level): where it is granted, as
    /// [`LoginAsReach::locations`] answers; built once with the reach.
    merged: Vec<(Permission, Want, Option<Vec<Root>>)>,
}

/// How Login-As reaches a question: through `worker`, at or below `within` (the worker's
/// location covering the question's), or everywhere / without a location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Through {
    pub worker: u32,
    pub within: Option<u32>,
}

/// The Login-As facts of one space, built with the index.
#[derive(Debug, Default)]
pub struct LoginAsSpace {
    /// The mobile workers, ascending.
    workers: Vec<u32>,
    /// Per member `w`, the workers whose `login_as` names it: `named[named_start[w]..
    /// named_start[w + 1]]`, ascending.
    named_start: Vec<u32>,
    named: Vec<u32>,
    /// The workers whose `login_as` names `default` (HQ's default Login-As user), ascending.
    default_named: Vec<u32>,
    /// Every assigned location of every worker as (DFS enter, worker), sorted: the workers at a
    /// restricted user's locations are a few binary searches away.
    placed: Vec<(u32, u32)>,
    /// What an unrestricted `login_as = all` reaches: every worker.
    everyone: OnceLock<LoginAsReach>,
    /// Per member, on first use.
    own: Vec<OnceLock<LoginAsReach>>,
}

impl LoginAsSpace {
    pub fn new(entry: &SpaceEntry, ix: &SpaceIx) -> LoginAsSpace {
        let workers: Vec<u32> = (0..entry.members.len() as u32)
            .filter(|&m| entry.members[m as usize].kind == MemberKindEntry::MobileWorker)
            .collect();
        if workers.is_empty() {
            return LoginAsSpace::default();
        }
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut placed: Vec<(u32, u32)> = Vec::new();
        let mut default_named = Vec::new();
        for &k in &workers {
            let worker = &entry.members[k as usize];
            if worker
                .login_as
                .iter()
                .any(|n| n.eq_ignore_ascii_case(DEFAULT_LOGIN_AS))
            {
                default_named.push(k);
            }
            for name in &worker.login_as {
                // Validated: the names are web users of this space.
                if let Some(w) = ix.member(name) {
                    pairs.push((w, k));
                }
            }
            for id in worker.assigned() {
                if let Some(&l) = ix.location_ids.get(id) {
                    placed.push((ix.locations[l as usize].enter, k));
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        placed.sort_unstable();
        let mut named_start = Vec::with_capacity(entry.members.len() + 1);
        let mut i = 0;
        for w in 0..=entry.members.len() as u32 {
            named_start.push(i as u32);
            while i < pairs.len() && pairs[i].0 == w {
                i += 1;
            }
        }
        LoginAsSpace {
            workers,
            named_start,
            named: pairs.into_iter().map(|(_, k)| k).collect(),
            default_named,
            placed,
            everyone: OnceLock::new(),
            own: (0..entry.members.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    fn named_by(&self, w: u32) -> &[u32] {
        match (
            self.named_start.get(w as usize),
            self.named_start.get(w as usize + 1),
        ) {
            (Some(&a), Some(&b)) => &self.named[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// What member `w`'s role allows of Login-As: `None` when it may not log in as anyone (not a
/// web user, `login_as = none`, or no Web Apps to log in through).
pub fn mode(entry: &SpaceEntry, ix: &SpaceIx, w: u32) -> Option<LoginAs> {
    let member = &ix.members[w as usize];
    // The role first (a few, cached), the member's entry only if it may: on a denied `can`
    // line that entry would be one more cache miss among hundreds of thousands.
    let role = &ix.roles[member.role as usize];
    if !role.holds(Permission::WebApps, Want::View) {
        return None;
    }
    let mode = match role.value(Permission::LoginAs) {
        Value::LoginAs(LoginAs::None) => return None,
        Value::LoginAs(l) => *l,
        _ => return None,
    };
    (entry.members[w as usize].kind == MemberKindEntry::WebUser).then_some(mode)
}

/// Whom member `w` may log in as, and what that gives; `None` when nobody.
pub fn reach<'a>(entry: &SpaceEntry, ix: &'a SpaceIx, w: u32) -> Option<&'a LoginAsReach> {
    let mode = mode(entry, ix, w)?;
    let la = &ix.login_as;
    let restricted = match &ix.members[w as usize].scope {
        LocationScope::All => None,
        LocationScope::Locations(roots) => Some(roots.as_slice()),
    };
    if mode == LoginAs::All && restricted.is_none() {
        return Some(
            la.everyone
                .get_or_init(|| summarise(ix, la.workers.clone())),
        );
    }
    let own = la.own.get(w as usize)?;
    // `limited` also reaches the workers naming `default`, with `login_as_default_user`.
    let default_user = ix.roles[ix.members[w as usize].role as usize]
        .holds(Permission::LoginAsDefaultUser, Want::View);
    Some(own.get_or_init(|| {
        let named = || {
            let mut named = la.named_by(w).to_vec();
            if default_user {
                named.extend_from_slice(&la.default_named);
            }
            named
        };
        let mut workers: Vec<u32> = match (mode, restricted) {
            (LoginAs::All, Some(roots)) => {
                // The workers assigned at or below one of the user's locations.
                let mut out = Vec::new();
                for &r in roots {
                    let loc = &ix.locations[r as usize];
                    let from = la.placed.partition_point(|(e, _)| *e < loc.enter);
                    let to = la.placed.partition_point(|(e, _)| *e < loc.exit);
                    out.extend(la.placed[from..to].iter().map(|(_, k)| *k));
                }
                out
            }
            (_, None) => named(),
            (_, Some(roots)) => named()
                .into_iter()
                .filter(|&k| placed_within(entry, ix, k, roots))
                .collect(),
        };
        workers.sort_unstable();
        workers.dedup();
        summarise(ix, workers)
    }))
}

/// Whether worker `k` is assigned at or below one of `roots`.
fn placed_within(entry: &SpaceEntry, ix: &SpaceIx, k: u32, roots: &[u32]) -> bool {
    entry.members[k as usize]
        .assigned()
        .iter()
        .filter_map(|id| ix.location_ids.get(id))
        .any(|&l| ix.covering(roots, l).is_some())
}

/// Groups `workers` by role, keeping the roles that give something in Web Apps.
fn summarise(ix: &SpaceIx, workers: Vec<u32>) -> LoginAsReach {
    let mut by_role: Vec<RoleReach> = Vec::new();
    let mut slot: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for &k in &workers {
        let member = &ix.members[k as usize];
        let role = &ix.roles[member.role as usize];
        let gives = Permission::ALL
            .iter()
            .any(|&p| p.entry().in_web_apps && role.holds(p, Want::View));
        if !gives {
            continue;
        }
        let i = *slot.entry(member.role).or_insert_with(|| {
            by_role.push(RoleReach {
                role: member.role,
                everywhere: None,
                first: k,
                roots: Vec::new(),
            });
            by_role.len() - 1
        });
        let r = &mut by_role[i];
        match &member.scope {
            LocationScope::All => {
                r.everywhere.get_or_insert(k);
            }
            LocationScope::Locations(locs) => {
                r.roots.extend(locs.iter().map(|&l| {
                    let loc = &ix.locations[l as usize];
                    Root {
                        enter: loc.enter,
                        exit: loc.exit,
                        location: l,
                        worker: k,
                    }
                }));
            }
        }
    }
    for r in &mut by_role {
        r.roots = maximal(std::mem::take(&mut r.roots));
    }
    by_role.sort_by_key(|r| r.role);
    let mut reach = LoginAsReach {
        workers,
        by_role,
        merged: Vec::new(),
    };
    for &p in Permission::ALL.iter().filter(|p| p.entry().in_web_apps) {
        for want in [Want::View, Want::Edit] {
            let at = reach.merge(ix, Asked::Key(p), want);
            reach.merged.push((p, want, at));
        }
    }
    reach
}

/// The roots not below another, sorted by `enter` (subtrees are nested or disjoint, so one
/// pass after sorting drops the nested ones); the first worker (by member order) at each.
fn maximal(mut roots: Vec<Root>) -> Vec<Root> {
    roots.sort_by_key(|r| (r.enter, std::cmp::Reverse(r.exit), r.worker));
    let mut out: Vec<Root> = Vec::with_capacity(roots.len());
    for r in roots {
        if out.last().is_none_or(|last| r.enter >= last.exit) {
            out.push(r);
        }
    }
    out
}

impl LoginAsReach {
    /// Through which worker this reach grants `asked` at `want` (at `at`, for a
    /// location-scoped question): the first granting role, by role order.
    pub fn through(
        &self,
        ix: &SpaceIx,
        asked: Asked,
        want: Want,
        at: Option<u32>,
        scoped: bool,
    ) -> Option<Through> {
        if !gives_in_web_apps(asked) {
            return None;
        }
        self.by_role
            .iter()
            .filter(|r| ix.roles[r.role as usize].grants(asked, want))
            .find_map(|r| {
                if let Some(k) = r.everywhere {
                    return Some(Through {
                        worker: k,
                        within: None,
                    });
                }
                let Some(at) = at.filter(|_| scoped) else {
                    return Some(Through {
                        worker: r.first,
                        within: None,
                    });
                };
                let x = ix.locations[at as usize].enter;
                let i = r.roots.partition_point(|root| root.enter <= x);
                let root = r.roots.get(i.checked_sub(1)?)?;
                (x < root.exit).then_some(Through {
                    worker: root.worker,
                    within: Some(root.location),
                })
            })
    }

    /// Where this reach grants `asked` at `want`: `None` at every location, else the
    /// maximal locations (and below), sorted by `enter`; empty when nowhere.
    pub fn locations(&self, asked: Asked, want: Want) -> Option<&[Root]> {
        match self
            .merged
            .iter()
            .find(|(p, w, _)| asked == Asked::Key(*p) && *w == want)
        {
            Some((_, _, at)) => at.as_deref(),
            None => Some(&[]),
        }
    }

    fn merge(&self, ix: &SpaceIx, asked: Asked, want: Want) -> Option<Vec<Root>> {
        let mut all = Vec::new();
        for r in self
            .by_role
            .iter()
            .filter(|r| ix.roles[r.role as usize].grants(asked, want))
        {
            if r.everywhere.is_some() {
                return None;
            }
            all.extend_from_slice(&r.roots);
        }
        Some(maximal(all))
    }
}

/// Whether Login-As can give `asked`: a Web Apps permission of the catalogue.
pub fn gives_in_web_apps(asked: Asked) -> bool {
    matches!(asked, Asked::Key(p) if p.entry().in_web_apps)
}
