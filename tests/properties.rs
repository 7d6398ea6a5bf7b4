//! Property tests over generated policies (bounded so the suite stays fast).
//!
//! - querying a loaded snapshot and querying the sources agree;
//! - `edit` implies `view`;
//! - a role with `full_organization_access = off` never grants the six hidden permissions;
//! - removing a grant from a role never turns a denied query into an allowed one.

use charter::model::Permission;
use charter::query::Index;
use charter::question::{Asked, Channel, Request, Want};
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;
use charter::synth::{Params, generate};
use proptest::prelude::*;

fn compile(files: &[(String, String)]) -> Option<Index> {
    let mut sources = SourceSet::default();
    for (name, text) in files {
        sources.add(name.clone(), text.clone());
    }
    let compiled = charter::compile(&sources);
    if compiled.has_errors() {
        return None;
    }
    Some(Index::new(charter::emit::emit(&compiled.ir, &sources)))
}

/// Every (permission, level, location, channel) question of every space, locations sampled.
fn questions(index: &Index) -> Vec<Request> {
    let mut out = Vec::new();
    for (s, space) in index.snapshot.spaces.iter().enumerate() {
        let step = (space.locations.len() / 6).max(1);
        let locations: Vec<Option<u32>> = std::iter::once(None)
            .chain((0..space.locations.len() as u32).step_by(step).map(Some))
            .collect();
        for &p in Permission::ALL {
            if p.query_levels().is_empty() {
                continue;
            }
            for want in [Want::View, Want::Edit] {
                for &at in &locations {
                    for channel in [Channel::Any, Channel::Web, Channel::Api] {
                        out.push(Request {
                            space: s as u32,
                            want,
                            asked: Asked::Key(p),
                            at,
                            channel,
                        });
                    }
                }
            }
        }
        for r in 0..space.reports.len() as u32 {
            out.push(Request {
                space: s as u32,
                want: Want::View,
                asked: Asked::Report(r),
                at: None,
                channel: Channel::Any,
            });
        }
    }
    out
}

fn params() -> impl Strategy<Value = Params> {
    (
        1usize..=2,
        5usize..=60,
        1usize..=6,
        1usize..=25,
        any::<u64>(),
    )
        .prop_map(|(spaces, locations, roles, members, seed)| Params {
            spaces,
            locations,
            roles,
            members,
            seed,
        })
}

/// Lowers one setting of one role in the generated text: `edit -> view -> none`, `on -> off`,
/// `all` or a list `-> none`.
fn remove_grant(files: &mut [(String, String)], pick: usize) -> bool {
    let lowerable = [
        "data",
        "mobile_workers",
        "locations",
        "web_users",
        "groups",
        "applications",
        "web_apps",
        "messaging",
        "mobile_app_access",
        "manage_shared_exports",
        "access_apis",
        "reports",
    ];
    let mut candidates = Vec::new();
    for (f, (_, text)) in files.iter().enumerate() {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim();
            if let Some((key, value)) = trimmed.split_once(" = ")
                && lowerable.contains(&key)
                && !matches!(value, "none" | "off")
            {
                candidates.push((f, offset, line.len(), key.to_owned(), value.to_owned()));
            }
            offset += line.len();
        }
    }
    if candidates.is_empty() {
        return false;
    }
    let (f, offset, len, key, value) = candidates[pick % candidates.len()].clone();
    let lowered = match value.as_str() {
        "edit" => "view",
        "view" | "all" => "none",
        "on" => "off",
        _ => "none", // a report list
    };
    files[f]
        .1
        .replace_range(offset..offset + len, &format!("    {key} = {lowered}\n"));
    true
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_and_source_agree_and_edit_implies_view(p in params()) {
        let files = generate(&p);
        let index = compile(&files).expect("generated policies compile");
        let loaded = Index::new(format::parse(&format::render(&index.snapshot, Format::Json)).unwrap());
        for q in questions(&index) {
            let space = &index.snapshot.spaces[q.space as usize];
            for m in &space.members {
                let d = index.decide(&m.name, &q);
                prop_assert_eq!(&d, &loaded.decide(&m.name, &q));
                if q.channel == Channel::Any {
                    // Either channel: allowed exactly when the web or the API allows it.
                    let via = |channel| index.decide(&m.name, &Request { channel, ..q }).allowed();
                    prop_assert_eq!(d.allowed(), via(Channel::Web) || via(Channel::Api));
                }
                if q.want == Want::Edit && d.allowed() {
                    let view = Request { want: Want::View, ..q };
                    prop_assert!(index.decide(&m.name, &view).allowed(), "edit without view: {}", m.name);
                }
            }
            prop_assert_eq!(index.who(&q), loaded.who(&q));
        }
    }

    #[test]
    fn restricted_roles_never_grant_hidden_permissions(p in params()) {
        let index = compile(&generate(&p)).expect("generated policies compile");
        for (s, space) in index.snapshot.spaces.iter().enumerate() {
            for m in &space.members {
                let restricted = matches!(m.scope, charter::snapshot::ScopeEntry::Locations(_));
                if !restricted {
                    continue;
                }
                for p in Permission::hidden_without_full_access() {
                    let q = Request { space: s as u32, want: Want::View, asked: Asked::Key(p), at: None, channel: Channel::Any };
                    prop_assert!(!index.decide(&m.name, &q).allowed(), "{} holds {p}", m.name);
                }
            }
        }
    }

    #[test]
    fn fmt_is_idempotent_preserves_the_snapshot_and_builds_are_byte_identical(p in params()) {
        let files = generate(&p);
        let build = |files: &[(String, String)]| {
            let mut sources = SourceSet::default();
            for (name, text) in files {
                sources.add(name.clone(), text.clone());
            }
            let c = charter::compile(&sources);
            assert!(!c.has_errors());
            let mut snap = charter::emit::emit(&c.ir, &sources);
            snap.source_digest.clear();
            format::render(&snap, Format::Json)
        };
        let first = build(&files);
        prop_assert_eq!(&first, &build(&files), "two builds differ");
        let formatted: Vec<(String, String)> = files
            .iter()
            .map(|(n, t)| (n.clone(), charter::syntax::format(charter::source::SourceId(0), t).expect("formats")))
            .collect();
        for ((_, once), (n, _)) in formatted.iter().zip(&files) {
            let twice = charter::syntax::format(charter::source::SourceId(0), once).unwrap();
            prop_assert_eq!(once, &twice, "{} not idempotent", n);
        }
        prop_assert_eq!(first, build(&formatted), "fmt changed the snapshot");
    }

    #[test]
    fn mutated_policies_never_panic(p in params(), edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0usize..4), 1..6)) {
        let mut files = generate(&p);
        for (at, byte, op) in edits {
            let f = at % files.len();
            let text = &mut files[f].1;
            let mut bytes = std::mem::take(text).into_bytes();
            let i = at % (bytes.len() + 1);
            const BYTES: &[u8] = b"{}[]\"=#\n ,;az09-_";
            let b = BYTES[byte as usize % BYTES.len()];
            match op {
                0 if i < bytes.len() => { bytes.remove(i); }
                1 => bytes.insert(i, b),
                2 if i < bytes.len() => bytes[i] = b,
                _ => bytes.truncate(i),
            }
            *text = String::from_utf8_lossy(&bytes).into_owned();
        }
        let mut sources = SourceSet::default();
        for (name, text) in &files {
            sources.add(name.clone(), text.clone());
        }
        let compiled = charter::compile(&sources);
        if !compiled.has_errors() {
            let index = Index::new(charter::emit::emit(&compiled.ir, &sources));
            for q in questions(&index).into_iter().take(200) {
                let _ = index.who(&q);
            }
        }
        for (id, f) in sources.files() {
            if let Ok(once) = charter::syntax::format(id, &f.text) {
                prop_assert_eq!(charter::syntax::format(id, &once).ok(), Some(once.clone()));
            }
        }
    }

    #[test]
    fn removing_a_grant_never_allows_more(p in params(), pick in any::<usize>()) {
        let files = generate(&p);
        let before = compile(&files).expect("generated policies compile");
        let mut lowered = files.clone();
        prop_assume!(remove_grant(&mut lowered, pick));
        let Some(after) = compile(&lowered) else { return Ok(()) };
        for q in questions(&before) {
            for m in &before.snapshot.spaces[q.space as usize].members {
                if !before.decide(&m.name, &q).allowed() {
                    prop_assert!(!after.decide(&m.name, &q).allowed(), "{} gained {:?}", m.name, q);
                }
            }
        }
    }
}
