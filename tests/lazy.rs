//! A query on a JSON snapshot reads only the spaces its answer looks at
//! (`pipeline::with_index`, `snapshot::lazy`). The guarantee: its answer is the answer of the
//! whole snapshot, whatever the question; and the whole file is still checked against its
//! digest, so an edit anywhere in it is refused.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use charter::model::Permission;
use charter::query::Index;
use charter::question::ResolvedQuery;
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;
use proptest::prelude::*;

/// Each bundled policy and two generated ones, built to JSON snapshots once.
fn snapshots() -> &'static [(PathBuf, Index)] {
    static BUILT: OnceLock<(tempfile::TempDir, Vec<(PathBuf, Index)>)> = OnceLock::new();
    &BUILT
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let mut sets = Vec::new();
            for name in ["acme", "national-health", "two-enterprises", "hq-catalogue"] {
                sets.push(
                    SourceSet::load(&root.join("policies").join(name))
                        .unwrap()
                        .0,
                );
            }
            for (spaces, seed) in [(3, 7), (4, 11)] {
                let p = charter::synth::Params {
                    spaces,
                    locations: 40,
                    roles: 5,
                    members: 12,
                    seed,
                };
                let mut sources = SourceSet::default();
                for (name, text) in charter::synth::generate(&p) {
                    sources.add(name, text);
                }
                sets.push(sources);
            }
            let built = sets
                .iter()
                .enumerate()
                .map(|(i, sources)| {
                    let compiled = charter::compile(sources);
                    assert!(!compiled.has_errors(), "policy {i} has errors");
                    let path = dir.path().join(format!("s{i}.json"));
                    let mut file = std::fs::File::create(&path).unwrap();
                    charter::pipeline::write_snapshot(
                        sources,
                        &compiled,
                        Format::Json,
                        &mut file,
                        format::Sign::No,
                    )
                    .unwrap();
                    let whole = Index::new(format::load(&path).unwrap());
                    (path, whole)
                })
                .collect();
            (dir, built)
        })
        .1
}

/// Every kind of answer a query gives, in full (explanations, fixes, Login-As), as text.
fn answer(index: &Index, text: &str) -> String {
    let mut sources = SourceSet::default();
    let id = sources.add("<query>", text.to_owned());
    match charter::query::parse(index, id, text) {
        Err(problems) => format!("{problems:?}"),
        Ok(
            ResolvedQuery::Can {
                member, request, ..
            }
            | ResolvedQuery::Why {
                member, request, ..
            },
        ) => {
            let d = index.decide(&member, &request);
            format!("{} {:?}", d.allowed(), index.explain(&member, &request, &d))
        }
        Ok(ResolvedQuery::Who { request }) => format!("{:?}", index.who_through(&request)),
        Ok(ResolvedQuery::What { member, space }) => format!("{:?}", index.what(&member, space)),
    }
}

/// A question about the snapshot's names, picked by `pick`: members of the space or of
/// another one, unknown names, every permission and level, locations and reports, and the
/// enterprise console.
fn question(whole: &Index, pick: &[usize; 6]) -> String {
    let spaces = &whole.snapshot.spaces;
    let space = &spaces[pick[0] % spaces.len()];
    let other = &spaces[pick[1] % spaces.len()];
    let member = match pick[2] % 5 {
        0 => "nobody@nowhere.org".to_owned(),
        1 if !other.members.is_empty() => other.members[pick[3] % other.members.len()].name.clone(),
        _ if !space.members.is_empty() => space.members[pick[3] % space.members.len()].name.clone(),
        _ => "nobody".to_owned(),
    };
    let keys: Vec<(&str, &str)> = Permission::ALL
        .iter()
        .flat_map(|p| p.query_levels().iter().map(|l| (*l, p.key())))
        .chain([("view", "enterprise_reports")])
        .collect();
    let (level, key) = keys[pick[4] % keys.len()];
    let at = match (pick[5] % 3, space.locations.len()) {
        (0, n) if n > 0 => format!(" at {}", space.locations[pick[5] % n].id),
        _ => String::new(),
    };
    let asked = match (pick[5] % 4, space.reports.len()) {
        (0, n) if n > 0 => format!("view report {}", space.reports[pick[4] % n].id),
        _ => format!("{level} {key}"),
    };
    let id = &space.id;
    match pick[1] % 6 {
        0 => format!("who can {asked}{at} in {id}"),
        1 => format!("what can \"{member}\" do in {id}"),
        2 => format!("why \"{member}\" can {asked}{at} in {id}"),
        3 => format!("why \"{member}\" cannot {asked}{at} in {id}"),
        4 => format!("\"{member}\" can {asked}{at} via api in {id}"),
        _ => format!("\"{member}\" can {asked}{at} in {id}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the question, reading a snapshot in part answers as reading it whole.
    #[test]
    fn a_snapshot_read_in_part_answers_as_the_whole(which in any::<usize>(), pick in any::<[usize; 6]>()) {
        let all = snapshots();
        let (path, whole) = &all[which % all.len()];
        let q = question(whole, &pick);
        let expected = answer(whole, &q);
        let got = charter::pipeline::with_index(path, None, |index| answer(index, &q)).unwrap();
        prop_assert_eq!(got, expected, "{}", q);
    }
}

/// A byte changed in a space the query does not read is still found by the digest check.
#[test]
fn an_edit_in_a_space_not_read_is_refused() {
    let (path, whole) = &snapshots()[1];
    let text = std::fs::read_to_string(path).unwrap();
    let last = whole.snapshot.spaces.last().unwrap();
    let first = &whole.snapshot.spaces[0];
    assert_ne!(first.id, last.id);
    // The last space's name, changed by one letter (same length: ranges stay right).
    let needle = format!("\"name\": \"{}\"", last.name.as_deref().unwrap());
    let at = text.rfind(&needle).unwrap() + needle.len() - 2;
    let mut edited = text.into_bytes();
    edited[at] = if edited[at] == b'x' { b'y' } else { b'x' };
    let dir = tempfile::tempdir().unwrap();
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, &edited).unwrap();
    let q = format!("who can view data in {}", first.id);
    match charter::pipeline::with_index(&edited_path, None, |index| answer(index, &q)) {
        Err(charter::OpenError::Snapshot(format::LoadError::Tampered(_))) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
}

/// The text with its digest recomputed, as someone editing on purpose would.
fn redigest(text: &str, digest: &str) -> String {
    let placeholder = text.replacen(digest, format::PLACEHOLDER, 1);
    text.replacen(digest, &format::sha256(placeholder.as_bytes()), 1)
}

/// What a query says of a file, through the index and as text: they must agree.
fn both_reads(name: &str, text: &str, q: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let say = |r: Result<String, charter::OpenError>| match r {
        Ok(a) => a,
        Err(e) => format!("refused: {e}"),
    };
    let in_part = say(charter::pipeline::with_index(&path, None, |ix| {
        answer(ix, q)
    }));
    let as_text = say(format::load(&path)
        .map(|s| answer(&Index::new(s), q))
        .map_err(charter::OpenError::Snapshot));
    (in_part, as_text)
}

/// Bytes between the ranges, or before them in the head, that `build` does not write are not
/// skipped over: the file is read whole and refused as a whole read refuses it, even with its
/// digest recomputed (found by review: a separator overwritten, `spaces` closed early, an
/// `index` key in the head).
#[test]
fn what_lies_between_the_ranges_is_checked() {
    let (path, whole) = &snapshots()[2];
    let text = std::fs::read_to_string(path).unwrap();
    let digest = whole.snapshot.content_digest.clone();
    let index = whole.snapshot.index.as_ref().unwrap();
    let end0 = index.spaces[0].at[1] as usize;
    let end1 = index.spaces[1].at[1] as usize;
    let q = format!("who can view data in {}", whole.snapshot.spaces[1].id);
    let mut separator = text.clone();
    separator.replace_range(end0..end0 + 6, "@@@@@@");
    let mut closed_early = text.clone();
    closed_early.replace_range(end1..end1 + 6, r#","y":["#);
    closed_early.replace_range(end0..end0 + 6, r#"],"z":"#);
    let head = text.replacen(
        "\n  \"spaces\": [",
        "\n  \"index\": null,\n  \"spaces\": [",
        1,
    );
    for (name, edited) in [
        ("separator.json", separator),
        ("closed-early.json", closed_early),
        ("head.json", head),
    ] {
        let (in_part, as_text) = both_reads(name, &redigest(&edited, &digest), &q);
        assert!(as_text.starts_with("refused"), "{name}: {as_text}");
        assert_eq!(in_part, as_text, "{name}");
    }
}

/// A JSON snapshot without an index (written before there was one) is read whole, with the
/// same answers.
#[test]
fn a_snapshot_without_an_index_is_read_whole() {
    let (path, whole) = &snapshots()[0];
    let text = std::fs::read_to_string(path).unwrap();
    let start = text.rfind("\n  ],\n  \"index\": ").unwrap();
    // Its own digest, as `build` wrote it then: over the bytes with a placeholder in its place.
    let old = redigest(
        &format!("{}\n  ]\n}}\n", &text[..start]),
        &whole.snapshot.content_digest,
    );
    let dir = tempfile::tempdir().unwrap();
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, &old).unwrap();
    for pick in [[0, 5, 2, 1, 3, 1], [1, 0, 2, 2, 9, 2], [2, 1, 0, 0, 4, 0]] {
        let q = question(whole, &pick);
        let got = charter::pipeline::with_index(&old_path, None, |index| {
            // Read whole: no space is missing from the start.
            assert!((0..index.snapshot.spaces.len() as u32).all(|s| index.is_read(s)));
            answer(index, &q)
        })
        .unwrap();
        assert_eq!(got, answer(whole, &q), "{q}");
    }
}

/// Read whole through its index (every space parsed on the pool, `pipeline::load_snapshot`),
/// a snapshot is the one read as text.
#[test]
fn a_snapshot_read_by_its_index_is_the_one_read_as_text() {
    for (path, whole) in snapshots() {
        let by_index = charter::pipeline::read_by_index(path).unwrap().unwrap();
        assert_eq!(&by_index, &whole.snapshot, "{}", path.display());
        let loaded = charter::pipeline::load_snapshot(path, None).unwrap();
        assert_eq!(&loaded, &whole.snapshot, "{}", path.display());
    }
}
