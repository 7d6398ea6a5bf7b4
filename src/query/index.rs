//! The query index: a loaded snapshot with names interned to integer ids, per-role permission
//! bitsets, DFS-labelled locations and name-sorted members. Built once per load; every query
//! after that is bit tests and integer comparisons.

use std::collections::HashMap;

use crate::model::{Items, Level, LoginAs, Permission, Value};
use crate::question::{Asked, Want};
use crate::snapshot::{RoleEntry, ScopeEntry, Snapshot, ValueReason};

use super::names::NameMap;

/// A location with its DFS interval: `enter <= x.enter < exit` means x is at or below it.
#[derive(Debug, Clone)]
pub struct Loc {
    pub enter: u32,
    pub exit: u32,
    pub parent: Option<u32>,
}

/// What a member may reach: everywhere, or these locations and below.
#[derive(Debug, Clone)]
pub enum LocationScope {
    All,
    Locations(Vec<u32>),
}

#[derive(Debug, Clone)]
pub struct MemberIx {
    pub role: u32,
    pub scope: LocationScope,
}

/// A role's effective grants as bitsets over `Permission as usize`.
#[derive(Debug, Clone)]
pub struct RoleIx {
    /// Bit set when the permission holds at least at `view` (switch on, some report reachable).
    pub view: u64,
    /// Bit set when the permission holds at `edit` (switch on).
    pub edit: u64,
    pub full_access: bool,
    pub reports_all: bool,
    /// Bitset over the space's reports.
    pub reports: Vec<u64>,
    /// The effective values, decoded once from the snapshot, by `Permission as usize`.
    values: Vec<Value>,
    /// The values a rule changed, with the declared value and the rule (few per role).
    reasons: Vec<(Permission, ValueReason)>,
}

impl RoleIx {
    /// The effective value of `p`.
    pub fn value(&self, p: Permission) -> &Value {
        &self.values[p as usize]
    }

    /// Why the effective value of `p` differs from the declared one, if a rule changed it.
    pub fn reason(&self, p: Permission) -> Option<&ValueReason> {
        self.reasons.iter().find(|(q, _)| *q == p).map(|(_, r)| r)
    }

    /// The value as declared: the effective one unless a rule changed it.
    pub fn declared(&self, p: Permission) -> &Value {
        self.reason(p).map_or(self.value(p), |r| &r.declared)
    }

    /// Whether the role holds `p` at `want` (a switch: on, whatever level is asked).
    pub fn holds(&self, p: Permission, want: Want) -> bool {
        let bits = if want == Want::Edit && !p.kind().is_switch_like() {
            self.edit
        } else {
            self.view
        };
        bits & bit(p) != 0
    }

    /// Whether the role reaches report `r` of its space.
    pub fn reaches_report(&self, r: u32) -> bool {
        self.reports_all
            || self
                .reports
                .get(r as usize / 64)
                .is_some_and(|w| w & (1 << (r % 64)) != 0)
    }

    /// Whether the role grants `asked` at `want` in the web interface (where it holds at all:
    /// locations are the member's business).
    pub fn grants(&self, asked: Asked, want: Want) -> bool {
        match asked {
            Asked::Key(p) => self.holds(p, want),
            Asked::Report(r) => self.reaches_report(r),
            Asked::EnterpriseReports => false,
        }
    }

    /// Whether the role grants `asked` at `want` through the API: `data`, with `access_apis`.
    pub fn grants_via_api(&self, asked: Asked, want: Want) -> bool {
        asked == Asked::Key(Permission::Data)
            && self.holds(Permission::AccessApis, Want::View)
            && self.holds(Permission::Data, want)
    }
}

#[derive(Debug)]
pub struct SpaceIx {
    pub locations: Vec<Loc>,
    /// Looked up on most `can` lines, like `member_ids` ([`NameMap`]).
    pub location_ids: NameMap,
    pub report_ids: NameMap,
    pub roles: Vec<RoleIx>,
    pub members: Vec<MemberIx>,
    /// Keyed by the ASCII-lower-cased name: member names compare ignoring ASCII case (SPEC §1);
    /// look up with [`SpaceIx::member`]. Hashed on every `can`: a [`NameMap`] (SipHash was
    /// half of a name lookup; its hasher is seeded per process instead).
    pub member_ids: NameMap,
    /// Member indexes sorted by name, so `who` answers come out sorted.
    pub by_name: Vec<u32>,
    /// Who reaches the console for this space's aggregates: an index into
    /// [`Index::console_groups`] (one per enterprise and server, shared by its spaces, so that n
    /// admins of n spaces cost n, not n²).
    pub console: Option<u32>,
    /// Whom each web user may log in as (Login-As), worked out on first use.
    pub login_as: super::login_as::LoginAsSpace,
}

/// The enterprise admins who reach the Enterprise Console of one enterprise on one server.
#[derive(Debug, Default)]
pub struct ConsoleGroup {
    /// The enterprise's spaces on that server: whose members the group is made of.
    spaces: Vec<u32>,
    /// Sorted, as declared.
    pub viewers: Vec<String>,
    /// Lower-cased: names compare ignoring ASCII case.
    keys: std::collections::HashSet<String>,
}

impl SpaceIx {
    /// The first of `assigned` that `at` is at or below (two comparisons each).
    pub fn covering(&self, assigned: &[u32], at: u32) -> Option<u32> {
        let x = self.locations[at as usize].enter;
        assigned.iter().copied().find(|&l| {
            let l = &self.locations[l as usize];
            l.enter <= x && x < l.exit
        })
    }

    /// The member of this name, ignoring ASCII case. A name without upper-case letters (the
    /// usual query) is looked up without building a string.
    pub fn member(&self, name: &str) -> Option<u32> {
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.member_ids.get(&name.to_ascii_lowercase()).copied()
        } else {
            self.member_ids.get(name).copied()
        }
    }
}

/// A snapshot ready for queries.
///
/// It may hold only some spaces in full (`snapshot::lazy`: a query reads the spaces it asks
/// about, not all of them): the others are shells (their links and grants, no contents). Query
/// code reads spaces through [`Index::entry`] and [`Index::space`], which note a shell asked
/// about, so that the caller reads it and asks again ([`Index::asked_unread`]); an answer given
/// with nothing asked unread is the answer of the whole snapshot.
#[derive(Debug)]
pub struct Index {
    /// Every space's entry; on an index read in part, a shell for the spaces not read.
    pub snapshot: Snapshot,
    pub spaces: Vec<SpaceIx>,
    pub space_ids: NameMap,
    pub console_groups: Vec<ConsoleGroup>,
    /// Which spaces are held in full; empty when all are.
    read: Vec<bool>,
    /// Spaces asked about that are not held in full, in the order asked.
    asked_unread: std::sync::Mutex<Vec<u32>>,
}

// One bit per permission.
const _: () = assert!(crate::model::PERMISSION_COUNT <= 64);

fn bit(p: Permission) -> u64 {
    1 << (p as u64)
}

fn role_ix(role: &RoleEntry, report_ids: &NameMap, report_count: usize) -> RoleIx {
    let mut ix = RoleIx {
        view: 0,
        edit: 0,
        full_access: true,
        reports_all: false,
        reports: vec![0; report_count.div_ceil(64)],
        values: Permission::ALL.iter().map(|&p| role.value(p)).collect(),
        reasons: Permission::ALL
            .iter()
            .filter_map(|&p| Some((p, role.reason(p)?)))
            .collect(),
    };
    for &p in Permission::ALL {
        let (view, edit) = match &ix.values[p as usize] {
            Value::Level(l) => (*l != Level::None, *l == Level::Edit),
            Value::Switch(on) => (*on, *on),
            // `all` reaches the standard reports every space has, declared or not.
            Value::Items(Items::All) => {
                ix.reports_all = true;
                (true, false)
            }
            Value::Items(Items::Some(ids)) if p == Permission::Reports => {
                for id in ids {
                    if let Some(&r) = report_ids.get(id) {
                        ix.reports[r as usize / 64] |= 1 << (r % 64);
                    }
                }
                (ix.reports.iter().any(|w| *w != 0), false)
            }
            // Other lists (registries, profiles, applications) reach something when not empty.
            Value::Items(Items::Some(ids)) => (!ids.is_empty(), false),
            Value::LoginAs(l) => (*l != LoginAs::None, *l == LoginAs::All),
            Value::Items(Items::None) | Value::LandingPage(_) | Value::Roles(_) => (false, false),
        };
        if view {
            ix.view |= bit(p);
        }
        if edit {
            ix.edit |= bit(p);
        }
    }
    ix.full_access = ix.view & bit(Permission::FullOrganizationAccess) != 0;
    ix
}

impl Index {
    /// Builds the index of a snapshot that is valid: emitted from a policy, or loaded by
    /// `snapshot::format::load`, which refuses anything `snapshot::validate` does not accept
    /// (the index relies on every reference resolving and on the location tree being a tree).
    pub fn new(snapshot: Snapshot) -> Index {
        Index::new_partial(snapshot, Vec::new())
    }

    /// The index of a snapshot of which only the spaces `read` marks are held in full (empty:
    /// all are), valid as [`crate::snapshot::validate::validate_partial`] says.
    pub fn new_partial(snapshot: Snapshot, read: Vec<bool>) -> Index {
        let is_read = |i: usize| read.is_empty() || read.get(i).copied().unwrap_or(false);
        debug_assert_eq!(
            crate::snapshot::validate::validate_partial(&snapshot, is_read),
            Ok(())
        );
        // The queries asked of this index share one budget of suggestions (`--batch`).
        crate::diagnostic::suggest::reset_budget();
        let space_ids: NameMap = snapshot
            .spaces
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i as u32))
            .collect();
        let (console, console_groups) = console_groups(&snapshot);
        // Each space's index is its own: built on the compile pool's threads.
        let build = |(i, s): (usize, &crate::snapshot::SpaceEntry)| {
            if !is_read(i) {
                return SpaceIx::unread();
            }
            let location_ids: NameMap = s
                .locations
                .iter()
                .enumerate()
                .map(|(i, l)| (l.id.clone(), i as u32))
                .collect();
            let locations = s
                .locations
                .iter()
                .map(|l| Loc {
                    enter: l.enter,
                    exit: l.exit,
                    parent: l.parent.as_ref().and_then(|p| location_ids.get(p).copied()),
                })
                .collect();
            let report_ids: NameMap = s
                .reports
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i as u32))
                .collect();
            let roles: Vec<RoleIx> = s
                .roles
                .iter()
                .map(|r| role_ix(r, &report_ids, s.reports.len()))
                .collect();
            let role_ids: HashMap<&str, u32> = s
                .roles
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.as_str(), i as u32))
                .collect();
            let members: Vec<MemberIx> = s
                .members
                .iter()
                .map(|m| MemberIx {
                    // Never 0 in a valid snapshot: every member's role resolves.
                    role: role_ids.get(m.role.as_str()).copied().unwrap_or(0),
                    scope: match &m.scope {
                        ScopeEntry::All(_) => LocationScope::All,
                        ScopeEntry::Locations(ids) => LocationScope::Locations(
                            ids.iter()
                                .filter_map(|id| location_ids.get(id).copied())
                                .collect(),
                        ),
                    },
                })
                .collect();
            let member_ids = s
                .members
                .iter()
                .enumerate()
                .map(|(i, m)| (m.name.to_ascii_lowercase(), i as u32))
                .collect();
            let mut by_name: Vec<u32> = (0..s.members.len() as u32).collect();
            by_name.sort_by(|a, b| {
                s.members[*a as usize]
                    .name
                    .cmp(&s.members[*b as usize].name)
            });
            let mut ix = SpaceIx {
                locations,
                location_ids,
                report_ids,
                roles,
                members,
                member_ids,
                by_name,
                console: console.get(i).copied().flatten(),
                login_as: Default::default(),
            };
            ix.login_as = super::login_as::LoginAsSpace::new(s, &ix);
            ix
        };
        let spaces: Vec<SpaceIx> = match crate::pool() {
            Some(pool) if snapshot.spaces.len() > 1 => {
                use rayon::prelude::*;
                pool.install(|| snapshot.spaces.par_iter().enumerate().map(build).collect())
            }
            _ => snapshot.spaces.iter().enumerate().map(build).collect(),
        };
        Index {
            snapshot,
            spaces,
            space_ids,
            console_groups,
            read,
            asked_unread: Default::default(),
        }
    }

    /// Space `s`'s entry (a shell, noted as asked, when it is not held in full).
    pub fn entry(&self, s: u32) -> &crate::snapshot::SpaceEntry {
        self.touch(s);
        &self.snapshot.spaces[s as usize]
    }

    /// Space `s`'s index (empty, noted as asked, when it is not held in full).
    pub fn space(&self, s: u32) -> &SpaceIx {
        self.touch(s);
        &self.spaces[s as usize]
    }

    /// Every space's entry, all noted as asked.
    pub fn entries(&self) -> impl Iterator<Item = &crate::snapshot::SpaceEntry> {
        (0..self.snapshot.spaces.len() as u32).map(|s| self.entry(s))
    }

    fn touch(&self, s: u32) {
        if !self.read.is_empty() && !self.read.get(s as usize).copied().unwrap_or(true) {
            let mut asked = self
                .asked_unread
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !asked.contains(&s) {
                asked.push(s);
            }
        }
    }

    /// The spaces asked about since the last call that this index does not hold in full: an
    /// answer is the whole snapshot's only when there were none.
    pub fn asked_unread(&self) -> Vec<u32> {
        std::mem::take(
            &mut *self
                .asked_unread
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Which spaces are held in full (every one, for an index of a whole snapshot).
    pub fn is_read(&self, s: u32) -> bool {
        self.read.is_empty() || self.read.get(s as usize).copied().unwrap_or(false)
    }

    /// The snapshot back, with which of its spaces are held in full (empty: all).
    pub fn into_parts(self) -> (Snapshot, Vec<bool>) {
        (self.snapshot, self.read)
    }
}

impl SpaceIx {
    /// The index of a space not read: nothing in it.
    fn unread() -> SpaceIx {
        SpaceIx {
            locations: Vec::new(),
            location_ids: Default::default(),
            report_ids: Default::default(),
            roles: Vec::new(),
            members: Vec::new(),
            member_ids: Default::default(),
            by_name: Vec::new(),
            console: None,
            login_as: Default::default(),
        }
    }
}

/// Who reaches the Enterprise Console from where: the (enterprise, server, member) triples of
/// every member who is `admin` of a space of an enterprise. Built in one pass over the members.
type ConsoleAccess<'a> = std::collections::HashSet<(&'a str, Option<&'a str>, String)>;

fn console_access(snapshot: &Snapshot) -> ConsoleAccess<'_> {
    snapshot
        .spaces
        .iter()
        .filter_map(|s| s.enterprise.as_deref().map(|e| (s, e)))
        .flat_map(|(s, e)| {
            s.members
                .iter()
                // The console is a web user's: a mobile worker named like an admin's email is
                // another account.
                .filter(|m| m.holds_admin() && m.kind == crate::snapshot::MemberKindEntry::WebUser)
                .map(move |m| (e, s.server.as_deref(), m.name.to_ascii_lowercase()))
        })
        .collect()
}

/// The console group of every space: enterprise admins of the space's enterprise who are
/// `admin` of some space of that enterprise on the same server reach the Enterprise Console and
/// its aggregates of the space. One group per (enterprise, server), computed once.
fn console_groups(snapshot: &Snapshot) -> (Vec<Option<u32>>, Vec<ConsoleGroup>) {
    let access = console_access(snapshot);
    let enterprises: HashMap<&str, &crate::snapshot::EnterpriseEntry> = snapshot
        .enterprises
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    let mut ids: HashMap<(&str, Option<&str>), u32> = HashMap::new();
    let mut groups: Vec<ConsoleGroup> = Vec::new();
    let of_space = snapshot
        .spaces
        .iter()
        .enumerate()
        .map(|(i, space)| {
            let enterprise = space.enterprise.as_deref()?;
            let ent = enterprises.get(enterprise)?;
            let key = (enterprise, space.server.as_deref());
            let group = *ids.entry(key).or_insert_with(|| {
                let mut viewers: Vec<String> = ent
                    .admins
                    .iter()
                    .filter(|admin| access.contains(&(key.0, key.1, admin.to_ascii_lowercase())))
                    .cloned()
                    .collect();
                viewers.sort();
                viewers.dedup();
                let keys = viewers.iter().map(|v| v.to_ascii_lowercase()).collect();
                groups.push(ConsoleGroup {
                    spaces: Vec::new(),
                    viewers,
                    keys,
                });
                groups.len() as u32 - 1
            });
            groups[group as usize].spaces.push(i as u32);
            Some(group)
        })
        .collect();
    (of_space, groups)
}

impl Index {
    /// Who reaches the console's aggregates of `space`, sorted.
    pub fn console_viewers(&self, space: u32) -> &[String] {
        match self.console_group(space) {
            Some(g) => &g.viewers,
            None => &[],
        }
    }

    /// Whether `name` reaches the console's aggregates of `space`.
    pub fn console_viewer(&self, space: u32, name: &str) -> bool {
        self.console_group(space)
            .is_some_and(|g| g.keys.contains(&name.to_ascii_lowercase()))
    }

    /// The console group of `space`, made of its enterprise's spaces on its server, each noted
    /// as asked about.
    fn console_group(&self, space: u32) -> Option<&ConsoleGroup> {
        // A shell has no enterprise admins' memberships: its group is unknown until read.
        let g = &self.console_groups[self.space(space).console? as usize];
        if !self.read.is_empty() {
            g.spaces.iter().for_each(|&s| self.touch(s));
        }
        Some(g)
    }
}

impl Index {
    /// The index of the snapshot at `path`, or of the policy there compiled in memory
    /// ([`crate::pipeline::open_snapshot`]); with a public key, the path must be a snapshot
    /// signed by it.
    pub fn from_path(
        path: &std::path::Path,
        verify_key: Option<&std::path::Path>,
    ) -> Result<Index, crate::pipeline::OpenError> {
        crate::pipeline::open_snapshot(path, verify_key).map(Index::new)
    }
}
