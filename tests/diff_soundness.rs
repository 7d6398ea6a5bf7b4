//! `diff` is sound and complete (SPEC §4): over generated policy pairs, with random edits of
//! every kind (role values, full organization access, role assignments, member locations,
//! members added and removed, locations moved and added, reports added, spaces moved to
//! another enterprise or server, upstream changes, enterprise admins, plans), a query goes
//! denied → allowed **if and only if** `diff` lists an escalation covering it (and likewise
//! allowed → denied and reductions), and every listed change names a cause.
//!
//! The oracle asks `Index::decide` every query of the enumerated space on both versions: every
//! member × permission × level × channel (web, api) × location (and no location), every report,
//! `enterprise_reports` for every person. A location that the old version lacks is answered
//! there as its nearest ancestor that it has, and below no shared ancestor by whoever held the
//! permission everywhere (docs/diff.md).

use std::collections::{BTreeMap, BTreeSet};

use charter::diff::AccessChange;
use charter::model::{Kind, Permission};
use charter::query::Index;
use charter::question::{Asked, Channel, Request, Want};
use charter::synth::Rng;
use proptest::prelude::*;

mod common;
use common::{Policy, compile};

// ---- the oracle ----

/// One query: space, member (lower-cased), permission, level, channel, location.
type Query = (
    String,
    String,
    String,
    &'static str,
    &'static str,
    Option<String>,
);

/// Every query `b` allows and `a` denies, by asking both.
fn oracle(a: &Index, b: &Index) -> BTreeSet<Query> {
    let mut out: BTreeSet<Query> = BTreeSet::new();
    for (sb, eb) in b.snapshot.spaces.iter().enumerate() {
        let sa = a.snapshot.spaces.iter().position(|s| s.id == eb.id);
        let ea = sa.map(|sa| &a.snapshot.spaces[sa]);
        // The `a` location that answers for each `b` location.
        let mapped: Vec<Option<u32>> = {
            let mut m: Vec<Option<u32>> = Vec::new();
            for l in &eb.locations {
                let own = ea.and_then(|ea| ea.locations.iter().position(|x| x.id == l.id));
                let via_parent = l.parent.as_ref().and_then(|p| {
                    let pi = eb.locations.iter().position(|x| &x.id == p)?;
                    m[pi]
                });
                m.push(own.map(|o| o as u32).or(via_parent));
            }
            m
        };
        let mut asks: Vec<(Asked, String, &'static str, Want)> = Vec::new();
        for &p in Permission::ALL
            .iter()
            .filter(|p| !p.query_levels().is_empty())
        {
            let levels: &[(&str, Want)] = match p.kind() {
                Kind::Level | Kind::AdminOnlyEdit => &[("view", Want::View), ("edit", Want::Edit)],
                Kind::Switch | Kind::SwitchOrItems(_) | Kind::LoginAs => &[("use", Want::View)],
                Kind::Items(_) => &[("view", Want::View)],
                _ => &[],
            };
            for &(level, want) in levels {
                asks.push((Asked::Key(p), p.key().to_owned(), level, want));
            }
        }
        for (r, rep) in eb.reports.iter().enumerate() {
            asks.push((
                Asked::Report(r as u32),
                format!("report {}", rep.id),
                "view",
                Want::View,
            ));
        }
        for m in &eb.members {
            let am = ea.and_then(|ea| {
                ea.members
                    .iter()
                    .find(|x| x.name.eq_ignore_ascii_case(&m.name))
            });
            for (asked, permission, level, want) in &asks {
                for (channel, cname) in [(Channel::Web, "web"), (Channel::Api, "api")] {
                    let ats = std::iter::once(None).chain((0..eb.locations.len() as u32).map(Some));
                    for at in ats {
                        let qb = Request {
                            space: sb as u32,
                            want: *want,
                            asked: *asked,
                            at,
                            channel,
                        };
                        if !b.decide(&m.name, &qb).allowed() {
                            continue;
                        }
                        let old = match (sa, am) {
                            (Some(sa), Some(am)) => {
                                let asked_a = match asked {
                                    Asked::Report(r) => ea
                                        .unwrap()
                                        .reports
                                        .iter()
                                        .position(|x| x.id == eb.reports[*r as usize].id)
                                        .map(|x| Asked::Report(x as u32)),
                                    other => Some(*other),
                                };
                                match asked_a {
                                    None => false,
                                    Some(asked_a) => {
                                        let base = Request {
                                            space: sa as u32,
                                            want: *want,
                                            asked: asked_a,
                                            at: None,
                                            channel,
                                        };
                                        match at {
                                            None => a.decide(&am.name, &base).allowed(),
                                            Some(l) => {
                                                match mapped[l as usize] {
                                                    Some(x) => a
                                                        .decide(
                                                            &am.name,
                                                            &Request {
                                                                at: Some(x),
                                                                ..base
                                                            },
                                                        )
                                                        .allowed(),
                                                    // Below no shared ancestor: whoever holds it everywhere.
                                                    None => {
                                                        let scoped = match asked_a {
                                                            Asked::Key(p) => p.is_location_scoped(),
                                                            _ => true,
                                                        };
                                                        a.decide(&am.name, &base).allowed()
                                                        && (channel == Channel::Api
                                                            || !scoped
                                                            || matches!(am.scope, charter::snapshot::ScopeEntry::All(_)))
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            _ => false,
                        };
                        if !old {
                            out.insert((
                                eb.id.clone(),
                                m.name.to_ascii_lowercase(),
                                permission.clone(),
                                *level,
                                cname,
                                at.map(|l| eb.locations[l as usize].id.clone()),
                            ));
                        }
                    }
                }
            }
        }
        // Who may assign which role: SPEC §3's rule, restated from the snapshot's values.
        let may_assign = |space: &charter::snapshot::SpaceEntry, member: &str, role: &str| {
            let word = |r: &charter::snapshot::RoleEntry, k: &str| match r.permissions.get(k) {
                Some(charter::snapshot::PermissionValue::Word(w)) => w.clone(),
                _ => String::new(),
            };
            let Some(m) = space
                .members
                .iter()
                .find(|m| m.name.eq_ignore_ascii_case(member))
            else {
                return false;
            };
            let (Some(holder), Some(target)) = (
                space.roles.iter().find(|r| r.id == m.role),
                space.roles.iter().find(|r| r.id == role),
            ) else {
                return false;
            };
            if holder.id == "admin" || target.id == "admin" {
                return false;
            }
            let manages =
                word(holder, "web_users") == "edit" || word(holder, "mobile_workers") == "edit";
            let listed = matches!(target.permissions.get("assignable_by"),
                Some(charter::snapshot::PermissionValue::List(ids)) if ids.contains(&holder.id));
            (word(target, "non_admin_editable") == "on" && manages) || listed
        };
        for m in &eb.members {
            for role in &eb.roles {
                if may_assign(eb, &m.name, &role.id)
                    && !ea.is_some_and(|ea| may_assign(ea, &m.name, &role.id))
                {
                    out.insert((
                        eb.id.clone(),
                        m.name.to_ascii_lowercase(),
                        format!("role {}", role.id),
                        "assign",
                        "web",
                        None,
                    ));
                }
            }
        }
        // The console's aggregates, for every person who could reach them.
        let people: BTreeSet<String> = b
            .snapshot
            .enterprises
            .iter()
            .flat_map(|e| e.admins.iter().cloned())
            .chain(
                a.snapshot
                    .enterprises
                    .iter()
                    .flat_map(|e| e.admins.iter().cloned()),
            )
            .collect();
        for person in people {
            let q = Request {
                space: sb as u32,
                want: Want::View,
                asked: Asked::EnterpriseReports,
                at: None,
                channel: Channel::Any,
            };
            if !b.decide(&person, &q).allowed() {
                continue;
            }
            let before = sa.is_some_and(|sa| {
                a.decide(
                    &person,
                    &Request {
                        space: sa as u32,
                        ..q
                    },
                )
                .allowed()
            });
            if !before {
                out.insert((
                    eb.id.clone(),
                    person.to_ascii_lowercase(),
                    "enterprise_reports".to_owned(),
                    "view",
                    "web",
                    None::<String>,
                ));
            }
        }
    }
    out
}

/// The queries a list of access changes covers, with locations of the version `ix`.
fn covered(changes: &[AccessChange], ix: &Index) -> BTreeSet<Query> {
    let mut out = BTreeSet::new();
    for c in changes {
        let space = ix
            .snapshot
            .spaces
            .iter()
            .find(|s| s.id == c.space)
            .expect("space of a change");
        let mut places: Vec<Option<String>> = Vec::new();
        if c.anywhere {
            places.push(None);
        }
        if c.everywhere {
            places.extend(space.locations.iter().map(|l| Some(l.id.clone())));
        }
        for reach in &c.locations {
            let loc = space
                .locations
                .iter()
                .find(|l| l.id == reach.id)
                .expect("location of a change");
            if reach.and_below {
                let below = &space.locations[loc.enter as usize..loc.exit as usize];
                places.extend(below.iter().map(|l| Some(l.id.clone())));
            } else {
                places.push(Some(loc.id.clone()));
            }
        }
        for g in &c.grants {
            for at in &places {
                out.insert((
                    c.space.clone(),
                    c.member.to_ascii_lowercase(),
                    g.permission.clone(),
                    g.level,
                    c.channel,
                    at.clone(),
                ));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_query_escalates_if_and_only_if_diff_lists_it(seed in any::<u64>(), edits in 1usize..6) {
        let mut rng = Rng::new(seed);
        let before = Policy::generate(&mut rng);
        let mut after = before.clone();
        for _ in 0..edits {
            after.edit(&mut rng);
        }
        let old = compile(&before.render()).map_err(TestCaseError::fail)?;
        let new = compile(&after.render()).map_err(TestCaseError::fail)?;
        let d = charter::diff::diff(&old, &new);

        let expected = oracle(&old, &new);
        let listed = covered(&d.gained, &new);
        prop_assert_eq!(&listed, &expected, "escalations\nold:\n{}\nnew:\n{}", before.render(), after.render());
        prop_assert_eq!(d.escalations > 0, !expected.is_empty(), "--fail-on escalation fires iff one exists");

        let lost = oracle(&new, &old);
        prop_assert_eq!(covered(&d.lost, &old), lost, "reductions");

        for c in d.gained.iter().chain(&d.lost) {
            prop_assert!(c.cause.kind != "other", "no cause for {}\nold:\n{}\nnew:\n{}", c.summary, before.render(), after.render());
        }
        // The same versions: nothing gained, nothing lost.
        let same = charter::diff::diff(&new, &new);
        prop_assert!(same.gained.is_empty() && same.lost.is_empty());
    }
}

/// The property above bites: drop the escalations of any one cause from a diff and the
/// comparison with the oracle fails.
#[test]
fn dropping_the_changes_of_one_cause_is_caught() {
    let mut caught: BTreeMap<&'static str, usize> = BTreeMap::new();
    for seed in 0..800u64 {
        let mut rng = Rng::new(seed);
        let before = Policy::generate(&mut rng);
        let mut after = before.clone();
        for _ in 0..1 + seed as usize % 5 {
            after.edit(&mut rng);
        }
        let (Ok(old), Ok(new)) = (compile(&before.render()), compile(&after.render())) else {
            panic!("generated policies compile");
        };
        let d = charter::diff::diff(&old, &new);
        let expected = oracle(&old, &new);
        let kinds: BTreeSet<&'static str> = d.gained.iter().map(|c| c.cause.kind).collect();
        for kind in kinds {
            let kept: Vec<AccessChange> = d
                .gained
                .iter()
                .filter(|c| c.cause.kind != kind)
                .cloned()
                .collect();
            assert_ne!(
                covered(&kept, &new),
                expected,
                "seed {seed}: dropping `{kind}`"
            );
            *caught.entry(kind).or_default() += 1;
        }
    }
    for kind in [
        "role_value",
        "role_assignment",
        "member_added",
        "member_locations",
        "location_moved",
        "report_added",
        "plan",
        "login_as",
    ] {
        assert!(
            caught.get(kind).copied().unwrap_or(0) > 0,
            "no case of `{kind}`: {caught:?}"
        );
    }
}
