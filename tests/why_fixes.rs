//! `why` proposes a change that works (issue 9 §3): over generated policies, for every denied
//! query (sampled: every person × permission × level × channel × some locations, every report),
//! applying the smallest change `why` proposes (its `fix` steps) to the policy makes the query
//! allowed, and a denial always proposes one unless nothing can allow it.

mod common;

use charter::model::{Kind, Permission};
use charter::query::{Index, Step};
use charter::question::{Asked, Channel, Request, Want};
use charter::synth::Rng;
use common::{ENTERPRISES, PEOPLE, Policy, Role, WORKERS, compile};
use proptest::prelude::*;

/// The declared role `id` of a space; a built-in is redefined (from the custom defaults).
fn role_in(space: &mut common::Space, id: &str) -> usize {
    match space.roles.iter().position(|r| r.id == id) {
        Some(r) => r,
        None => {
            space.roles.push(Role {
                id: id.to_owned(),
                foa: true,
                values: Default::default(),
            });
            space.roles.len() - 1
        }
    }
}

/// Applies `why`'s steps to the model; `Err` for a step that names something the model lacks.
fn apply(p: &mut Policy, steps: &[Step]) -> Result<(), String> {
    let space_of = |p: &Policy, id: &str| {
        p.spaces
            .iter()
            .position(|s| s.id == id)
            .ok_or(format!("no space `{id}`"))
    };
    for step in steps {
        match step {
            Step::Set {
                space,
                role,
                key,
                value,
            } => {
                let s = space_of(p, space)?;
                let key: &'static str = Permission::from_key(key)
                    .ok_or(format!("no permission `{key}`"))?
                    .key();
                let space = &mut p.spaces[s];
                let r = role_in(space, role);
                let role = &mut space.roles[r];
                if key == "full_organization_access" {
                    role.foa = value == "on";
                } else {
                    role.values.insert(key, value.clone());
                }
            }
            Step::AddReport {
                space,
                role,
                report,
            } => {
                let s = space_of(p, space)?;
                let space = &mut p.spaces[s];
                let r = role_in(space, role);
                let role = &mut space.roles[r];
                let list = match role.values.get("reports").map(String::as_str) {
                    Some(l) if l.starts_with('[') && l.len() > 2 => {
                        format!("{}, {report}]", &l[..l.len() - 1])
                    }
                    _ => format!("[{report}]"),
                };
                role.values.insert("reports", list);
            }
            Step::DeclareReport { space, report } => {
                let s = space_of(p, space)?;
                if !p.spaces[s].reports.contains(report) {
                    p.spaces[s].reports.push(report.clone());
                }
            }
            Step::RaisePlan { space, plan } => {
                let s = space_of(p, space)?;
                const ORDER: [&str; 5] = ["community", "standard", "pro", "advanced", "enterprise"];
                let rank = |p: &str| ORDER.iter().position(|x| *x == p);
                if rank(plan) <= rank(p.spaces[s].plan) {
                    continue; // raise, never lower
                }
                p.spaces[s].plan = match plan.as_str() {
                    "community" => "community",
                    "standard" => "standard",
                    "pro" => "pro",
                    "advanced" => "advanced",
                    "enterprise" => "enterprise",
                    other => return Err(format!("plan `{other}`")),
                };
            }
            Step::EnableFeature { space, flag } => {
                let s = space_of(p, space)?;
                let flag = charter::model::FeatureFlag::WORDS
                    .into_iter()
                    .find(|f| f == flag)
                    .ok_or(format!("feature flag `{flag}`"))?;
                if !p.spaces[s].features.contains(&flag) {
                    p.spaces[s].features.push(flag);
                }
            }
            Step::AssignLocation {
                space,
                member,
                location,
            } => {
                let s = space_of(p, space)?;
                let space = &mut p.spaces[s];
                let l = space
                    .locations
                    .iter()
                    .position(|l| &l.id == location)
                    .ok_or(format!("no location `{location}`"))?;
                let m = space
                    .members
                    .iter_mut()
                    .find(|m| m.name.eq_ignore_ascii_case(member))
                    .ok_or(format!("no member `{member}`"))?;
                m.locations.push(l);
            }
            Step::AssignRole {
                space,
                member,
                role,
            } => {
                let s = space_of(p, space)?;
                let m = p.spaces[s]
                    .members
                    .iter_mut()
                    .find(|m| m.name.eq_ignore_ascii_case(member))
                    .ok_or(format!("no member `{member}`"))?;
                m.role = Some(role.clone());
            }
            Step::AddMember {
                space,
                member,
                role,
            } => {
                let s = space_of(p, space)?;
                let space = &mut p.spaces[s];
                if !space
                    .members
                    .iter()
                    .any(|m| m.name.eq_ignore_ascii_case(member))
                {
                    space.members.push(common::Member {
                        name: member.clone(),
                        mobile: !member.contains('@'),
                        role: Some(role.clone()),
                        locations: Vec::new(),
                        login_as: Vec::new(),
                    });
                }
            }
            Step::MakeEnterpriseAdmin { enterprise, member } => {
                let e = ENTERPRISES
                    .iter()
                    .position(|x| x == enterprise)
                    .ok_or(format!("no enterprise `{enterprise}`"))?;
                if !p.admins[e].iter().any(|a| a.eq_ignore_ascii_case(member)) {
                    p.admins[e].push(member.clone());
                }
            }
        }
    }
    Ok(())
}

/// The same question in another compilation of the policy, by names.
fn same_question(from: &Index, q: &Request, to: &Index) -> Option<Request> {
    let fs = &from.snapshot.spaces[q.space as usize];
    let space = to.snapshot.spaces.iter().position(|s| s.id == fs.id)?;
    let ts = &to.snapshot.spaces[space];
    let at = match q.at {
        None => None,
        Some(l) => Some(
            ts.locations
                .iter()
                .position(|x| x.id == fs.locations[l as usize].id)? as u32,
        ),
    };
    let asked = match q.asked {
        Asked::Report(r) => Asked::Report(
            ts.reports
                .iter()
                .position(|x| x.id == fs.reports[r as usize].id)? as u32,
        ),
        other => other,
    };
    Some(Request {
        space: space as u32,
        asked,
        at,
        ..*q
    })
}

/// Denied questions worth asking: every person, permission, level and channel, without `at`
/// and at every location, every report, the console; sampled by `rng`.
fn questions(ix: &Index, rng: &mut Rng) -> Vec<(String, Request)> {
    let mut out = Vec::new();
    let people: Vec<String> = PEOPLE
        .iter()
        .chain(WORKERS.iter())
        .map(|p| p.to_string())
        .collect();
    for (s, space) in ix.snapshot.spaces.iter().enumerate() {
        let mut asks: Vec<(Asked, Want)> = Vec::new();
        for &p in Permission::ALL {
            if p == Permission::NonAdminEditable {
                // A setting of the role (who may assign it), not something `admin` grants: the
                // `add_member` step, applied here with `admin`, cannot allow it.
                continue;
            }
            match p.kind() {
                Kind::Level | Kind::AdminOnlyEdit => {
                    asks.push((Asked::Key(p), Want::View));
                    asks.push((Asked::Key(p), Want::Edit));
                }
                Kind::Switch | Kind::Items(_) => asks.push((Asked::Key(p), Want::View)),
                _ => {}
            }
        }
        asks.extend((0..space.reports.len() as u32).map(|r| (Asked::Report(r), Want::View)));
        asks.push((Asked::EnterpriseReports, Want::View));
        for person in &people {
            for &(asked, want) in &asks {
                let channels: &[Channel] = if asked == Asked::EnterpriseReports {
                    &[Channel::Any]
                } else {
                    &[Channel::Any, Channel::Web, Channel::Api]
                };
                for &channel in channels {
                    let mut ats = vec![None];
                    if asked != Asked::EnterpriseReports && !space.locations.is_empty() {
                        ats.push(Some(rng.below(space.locations.len()) as u32));
                    }
                    for at in ats {
                        let q = Request {
                            space: s as u32,
                            want,
                            asked,
                            at,
                            channel,
                        };
                        if !ix.decide(person, &q).allowed() {
                            out.push((person.clone(), q));
                        }
                    }
                }
            }
        }
    }
    // A sample: each one recompiles the policy.
    let mut sample = Vec::new();
    for _ in 0..SAMPLE.min(out.len()) {
        let k = rng.below(out.len());
        sample.push(out.swap_remove(k));
    }
    sample
}

/// Denied queries tried per generated policy.
const SAMPLE: usize = 40;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn applying_the_proposed_change_allows_the_query(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let policy = Policy::generate(&mut rng);
        let ix = compile(&policy.render()).map_err(TestCaseError::fail)?;
        for (person, q) in questions(&ix, &mut rng) {
            let d = ix.decide(&person, &q);
            let e = ix.explain(&person, &q, &d);
            prop_assert_eq!(e.change.is_some(), !e.fix.is_empty(), "{} {}: {:?}", person, ix.describe(&q), e);
            if e.fix.is_empty() {
                // Nothing can allow it: the API reaches `data` only; a space in no enterprise
                // has no console, and a mobile worker never reaches it.
                let unfixable = (q.channel == Channel::Api && q.asked != Asked::Key(Permission::Data))
                    || (q.asked == Asked::EnterpriseReports
                        && (ix.snapshot.spaces[q.space as usize].enterprise.is_none()
                            || WORKERS.contains(&person.as_str())));
                prop_assert!(unfixable, "{} {}: no change proposed: {:?}", person, ix.describe(&q), e.reasons);
                continue;
            }
            let mut fixed = policy.clone();
            apply(&mut fixed, &e.fix).map_err(TestCaseError::fail)?;
            let after = compile(&fixed.render()).map_err(|err| {
                TestCaseError::fail(format!("{person} {}: {:?} does not compile: {err}", ix.describe(&q), e.fix))
            })?;
            let q2 = same_question(&ix, &q, &after).expect("the fix keeps the names");
            prop_assert!(
                after.decide(&person, &q2).allowed(),
                "{} {}: {:?} still denies it\n{:?}\n{}",
                person, ix.describe(&q), e.change, after.explain(&person, &q2, &after.decide(&person, &q2)).reasons,
                fixed.render()
            );
        }
    }
}
