//! Login-As in queries (SPEC §2b): over generated policies, a web user can do X in Web Apps
//! **if and only if** its own role grants X there, or some mobile worker it may log in as can
//! do X there. Whom it may log in as is worked out here from the snapshot alone (HQ's rule,
//! `HQ-PERMISSIONS.md` §5): its role has Web Apps and `login_as = all` (every worker) or
//! `limited` (the workers whose `login_as` names it, or names `default` when the role has
//! `login_as_default_user`), and a location-restricted user only
//! workers assigned at or below one of its locations, found by walking parents.

use charter::model::{Items, LoginAs, Permission, Value};
use charter::query::{Decision, Index};
use charter::question::{Asked, Channel, Request, Want};
use charter::snapshot::{MemberKindEntry, ScopeEntry, SpaceEntry};
use charter::synth::Rng;
use proptest::prelude::*;

mod common;
use common::{Policy, compile};

/// Whether `v` grants anything (as the index reads a value at `view`).
fn holds(v: &Value) -> bool {
    match v {
        Value::Items(Items::Some(ids)) => !ids.is_empty(),
        other => other.level() != charter::model::Level::None,
    }
}

/// Whether location `l` is `root` or below it, walking parents by id.
fn at_or_below(space: &SpaceEntry, l: &str, root: &str) -> bool {
    let mut cur = Some(l.to_owned());
    // A tree: at most one step per location.
    for _ in 0..=space.locations.len() {
        let Some(id) = cur else { return false };
        if id == root {
            return true;
        }
        cur = space
            .locations
            .iter()
            .find(|x| x.id == id)
            .and_then(|x| x.parent.clone());
    }
    false
}

/// The workers (member indexes) web user `w` of `space` may log in as.
fn loggable(space: &SpaceEntry, w: usize) -> Vec<usize> {
    let me = &space.members[w];
    if me.kind != MemberKindEntry::WebUser {
        return Vec::new();
    }
    let role = space.roles.iter().find(|r| r.id == me.role).expect("role");
    let mode = match role.value(Permission::LoginAs) {
        Value::LoginAs(l) => l,
        _ => LoginAs::None,
    };
    let default_user = holds(&role.value(Permission::LoginAsDefaultUser));
    if mode == LoginAs::None || !holds(&role.value(Permission::WebApps)) {
        return Vec::new();
    }
    (0..space.members.len())
        .filter(|&k| {
            let worker = &space.members[k];
            worker.kind == MemberKindEntry::MobileWorker
                && (mode == LoginAs::All
                    || worker.login_as.iter().any(|n| {
                        n.eq_ignore_ascii_case(&me.name) || (n == "default" && default_user)
                    }))
                && match &me.scope {
                    ScopeEntry::All(_) => true,
                    ScopeEntry::Locations(mine) => worker
                        .assigned()
                        .iter()
                        .any(|l| mine.iter().any(|r| at_or_below(space, l, r))),
                }
        })
        .collect()
}

/// Every Web Apps question of the catalogue: (permission, level).
fn asks() -> Vec<(Permission, Want)> {
    let mut out = Vec::new();
    for &p in Permission::ALL.iter().filter(|p| p.entry().in_web_apps) {
        out.push((p, Want::View));
        if !p.kind().is_switch_like() {
            out.push((p, Want::Edit));
        }
    }
    out
}

/// A generated policy with more Login-As in it: extra members, and workers naming about half
/// of the people (the render keeps those who are web users of the space).
fn generate(rng: &mut Rng) -> Policy {
    let mut policy = Policy::generate(rng);
    for i in 0..policy.spaces.len() {
        for _ in 0..rng.below(5) {
            policy.add_member(i, rng);
        }
        for role in &mut policy.spaces[i].roles {
            if rng.chance(40) {
                role.values.insert("login_as_default_user", "on".to_owned());
            }
        }
        for m in &mut policy.spaces[i].members {
            if m.mobile {
                m.login_as = common::PEOPLE
                    .iter()
                    .chain(&["default"])
                    .filter(|_| rng.chance(50))
                    .map(|p| p.to_string())
                    .collect();
            }
        }
    }
    policy
}

/// Checks the property on one compiled policy; the number of questions Login-As decided.
fn check(ix: &Index) -> Result<usize, String> {
    let mut through = 0;
    for (s, space) in ix.snapshot.spaces.iter().enumerate() {
        let places = std::iter::once(None).chain((0..space.locations.len() as u32).map(Some));
        let places: Vec<Option<u32>> = places.collect();
        for w in 0..space.members.len() {
            let workers = loggable(space, w);
            for &(p, want) in &asks() {
                for &at in &places {
                    let q = Request {
                        space: s as u32,
                        want,
                        asked: Asked::Key(p),
                        at,
                        channel: Channel::Web,
                    };
                    let own = ix.decide_own(&q, w as u32).allowed();
                    let by_worker: Vec<usize> = workers
                        .iter()
                        .copied()
                        .filter(|&k| ix.decide_member(&q, k as u32).allowed())
                        .collect();
                    let d = ix.decide_member(&q, w as u32);
                    let name = &space.members[w].name;
                    let asked = format!("{name} {want:?} {p} at {at:?} in {}", space.id);
                    if d.allowed() != (own || !by_worker.is_empty()) {
                        return Err(format!(
                            "{asked}: decided {d:?}, own {own}, workers {by_worker:?} of {workers:?}"
                        ));
                    }
                    if let Decision::ViaLoginAs { worker, .. } = d {
                        through += 1;
                        if own || !by_worker.contains(&(worker as usize)) {
                            return Err(format!("{asked}: through {worker}, oracle {by_worker:?}"));
                        }
                    }
                    // Never through the API.
                    let api = ix.decide_member(
                        &Request {
                            channel: Channel::Api,
                            ..q
                        },
                        w as u32,
                    );
                    if matches!(api, Decision::ViaLoginAs { .. }) {
                        return Err(format!("{asked}: Login-As through the API"));
                    }
                }
            }
        }
    }
    Ok(through)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_web_user_can_through_login_as_iff_a_worker_it_may_log_in_as_can(seed in any::<u64>(), edits in 0usize..4) {
        let mut rng = Rng::new(seed);
        let mut policy = generate(&mut rng);
        for _ in 0..edits {
            policy.edit(&mut rng);
        }
        let ix = compile(&policy.render()).map_err(TestCaseError::fail)?;
        check(&ix).map_err(|e| TestCaseError::fail(format!("{e}\n{}", policy.render())))?;
    }
}

/// The generated policies exercise Login-As: some questions are decided through it.
#[test]
fn generated_policies_log_in_as_workers() {
    let mut through = 0;
    for seed in 0..200u64 {
        let mut rng = Rng::new(seed);
        let ix = compile(&generate(&mut rng).render()).expect("compiles");
        through += check(&ix).expect("the property holds");
    }
    assert!(
        through > 50,
        "only {through} questions decided through Login-As"
    );
}
