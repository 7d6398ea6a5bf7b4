//! The escalation graph (W0209) over generated policies: a Login-As path planted in a
//! generated space is found, and reported exactly when some mobile worker the planted clerk may
//! log in as edits data (an oracle that scans the workers, independent of the graph).

use charter::diagnostic::Code;
use charter::ir::{MemberKind, SpaceId};
use charter::model::{Level, Permission};
use charter::source::SourceSet;
use charter::synth::{Params, generate};
use proptest::prelude::*;

fn compile(files: &[(String, String)]) -> charter::Compiled {
    let mut sources = SourceSet::default();
    for (name, text) in files {
        sources.add(name.clone(), text.clone());
    }
    charter::compile(&sources)
}

/// `planted-sup` may assign `planted-clerk`, restricted to `clerk_at`, whose holders may log in
/// as any mobile worker at their locations; `planted-asha` edits data at `asha_at`.
fn plant(files: &mut [(String, String)], clerk_at: &str, asha_at: &str) {
    let text = &mut files[1].1;
    let Some(end) = text.rfind('}') else { return };
    text.insert_str(
        end,
        &format!(
            "  role planted-sup {{ web_apps = on }}\n\
             \x20 role planted-clerk {{ assignable_by = [planted-sup]  login_as = all  full_organization_access = off }}\n\
             \x20 role planted-worker {{ data = edit  web_apps = on }}\n\
             \x20 web_user \"planted-sup@synth.org\" {{ role planted-sup }}\n\
             \x20 web_user \"planted-clerk@synth.org\" {{ role planted-clerk  locations [{clerk_at}] }}\n\
             \x20 mobile_worker planted-asha {{ role planted-worker  locations [{asha_at}] }}\n"
        ),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_planted_login_as_path_is_found_exactly_when_it_reaches_data(
        locations in 5usize..=40,
        roles in 1usize..=5,
        members in 1usize..=20,
        seed in any::<u64>(),
        pick in any::<(prop::sample::Index, prop::sample::Index)>(),
    ) {
        let mut files = generate(&Params { spaces: 1, locations, roles, members, seed });
        let before = compile(&files);
        prop_assume!(!before.has_errors());
        let ids: Vec<String> = before.ir.spaces[0].locations.iter().map(|l| l.id.clone()).collect();
        prop_assume!(!ids.is_empty());
        let (clerk_at, asha_at) = (pick.0.index(ids.len()), pick.1.index(ids.len()));
        plant(&mut files, &ids[clerk_at], &ids[asha_at]);
        let compiled = compile(&files);
        prop_assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);

        // The oracle: some mobile worker at or below the clerk's location whose role edits data.
        let ir = &compiled.ir;
        let space = &ir.spaces[0];
        let Some(clerk) = space.find_location(&ids[clerk_at]) else {
            return Err(TestCaseError::fail("clerk location"));
        };
        let subtree = clerk.index()..space.locations[clerk.index()].subtree_end as usize;
        let reachable_editor = space.members.iter().any(|m| {
            m.kind == MemberKind::MobileWorker
                && m.locations.iter().any(|(l, _)| subtree.contains(&l.index()))
                && m.role.is_some_and(|r| {
                    ir.effective(SpaceId(0), r).values.level(Permission::Data) == Level::Edit
                })
        });
        let reported = compiled.diagnostics.iter().any(|d| {
            d.code == Code::EscalationPath
                && d.message.starts_with("holders of `planted-sup` can come to hold")
                && d.message.contains("assigns `planted-clerk` -> Login-As")
                && d.message.contains("data = edit")
        });
        let w0209: Vec<&str> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::EscalationPath && d.message.contains("planted-sup"))
            .map(|d| d.message.as_str())
            .collect();
        prop_assert_eq!(reported, reachable_editor, "W0209 from planted-sup: {:?}", w0209);
        // The planted worker itself is one such worker when it stands in the clerk's subtree.
        let asha = space.find_location(&ids[asha_at]).map(|l| l.index());
        if asha.is_some_and(|a| subtree.contains(&a)) {
            prop_assert!(reported, "the planted path was not found");
        }
    }
}
