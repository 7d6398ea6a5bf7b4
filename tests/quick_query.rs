//! `--batch` reads the common `can` line without the grammar (`syntax::parse_can_quick`).
//! The guarantee: whenever it returns a query, the grammar parses the line to a query that
//! resolves to the same question (or the same refusal), so a batch answers every line exactly
//! as `query` does. Proved over generated lines, most of them near misses; and the command's
//! batch output equals, line for line, the answers the general path gives.

use std::path::Path;

use charter::query::Index;
use charter::source::SourceId;
use charter::synth::Rng;
use proptest::prelude::*;

fn index() -> Index {
    Index::from_path(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/acme"),
        None,
    )
    .unwrap()
}

const PIECES: &[&str] = &[
    "\"priya@acme.org\"",
    "\"PRIYA@acme.org\"",
    "\"sam@acme.org\"",
    "\"x\\\"y\"",
    "\"\"",
    "\"a b\"",
    "can",
    "cannot",
    "view",
    "edit",
    "use",
    "data",
    "reports",
    "report",
    "visits",
    "web_users",
    "access_apis",
    "at",
    "lko",
    "lko-01",
    "pat-01",
    "in",
    "acme-prod",
    "acme-global",
    "via",
    "web",
    "api",
    "who",
    "why",
    "what",
    "do",
    "#",
    "# c",
    "Data",
    "1x",
    "x_y",
    "\u{feff}",
    "\r",
];

fn line(rng: &mut Rng) -> String {
    // Mostly the common form, with a piece replaced, dropped or added now and then.
    let mut words: Vec<String> = vec![
        ["\"priya@acme.org\"", "\"sam@acme.org\"", "\"ana@acme.org\""][rng.below(3)].into(),
        ["can", "cannot"][rng.below(2)].into(),
        ["view", "edit", "use"][rng.below(3)].into(),
        ["data", "reports", "web_users", "access_apis", "locations"][rng.below(5)].into(),
    ];
    if rng.chance(50) {
        words.push("at".into());
        words.push(["lko", "lko-01", "pat-01", "india"][rng.below(4)].into());
    }
    let space = ["acme-prod", "acme-global"][rng.below(2)];
    match rng.below(3) {
        0 => words.extend(["in".into(), space.into()]),
        1 => words.extend([
            "in".into(),
            space.into(),
            "via".into(),
            ["web", "api"][rng.below(2)].into(),
        ]),
        _ => words.extend([
            "via".into(),
            ["web", "api"][rng.below(2)].into(),
            "in".into(),
            space.into(),
        ]),
    }
    for _ in 0..rng.below(3) {
        let i = rng.below(words.len() + 1);
        let piece = PIECES[rng.below(PIECES.len())].to_owned();
        match rng.below(3) {
            0 if i < words.len() => words[i] = piece,
            1 if i < words.len() => {
                words.remove(i);
            }
            _ => words.insert(i, piece),
        }
    }
    let mut out = String::new();
    for (n, w) in words.iter().enumerate() {
        if n > 0 || rng.chance(10) {
            out.push_str([" ", "  ", "\t", " \t "][rng.below(4)]);
        }
        out.push_str(w);
    }
    if rng.chance(10) {
        out.push_str(" \r");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_quick_reading_is_the_grammars(seed in any::<u64>()) {
        let ix = index();
        let mut rng = Rng::new(seed);
        let text = line(&mut rng);
        if let Some(quick) = charter::syntax::parse_can_quick(SourceId(0), &text) {
            let full = charter::syntax::parse_query(SourceId(0), &text);
            prop_assert!(full.is_ok(), "the grammar refuses {text:?}: {full:?}");
            let (a, b) = (ix.resolve(&quick), ix.resolve(&full.unwrap()));
            match (a, b) {
                (Ok(a), Ok(b)) => prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "{:?}", text),
                (Err(a), Err(b)) => {
                    let words = |d: &[charter::diagnostic::Diagnostic]| d.iter().map(|d| (d.code, d.message.clone(), d.help.clone())).collect::<Vec<_>>();
                    prop_assert_eq!(words(&a), words(&b), "{:?}", text);
                }
                (a, b) => prop_assert!(false, "{text:?}: quick {a:?}, grammar {b:?}"),
            }
        }
    }

    /// A batch reads each line into the last quick line's query (its strings reused): what it
    /// holds after each line is what a fresh reading gives, whatever the lines before were.
    #[test]
    fn a_reused_query_reads_as_a_fresh_one(seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let mut slot = None;
        for _ in 0..20 {
            let text = line(&mut rng);
            let fresh = charter::syntax::parse_can_quick(SourceId(0), &text);
            let before = format!("{slot:?}");
            let read = charter::syntax::parse_can_quick_into(SourceId(0), &text, &mut slot);
            prop_assert_eq!(read, fresh.is_some(), "{:?}", text);
            if read {
                prop_assert_eq!(format!("{slot:?}"), format!("{fresh:?}"), "{:?}", text);
            } else {
                prop_assert_eq!(format!("{slot:?}"), before, "{:?}", text);
            }
        }
    }
}

/// Some lines do take the quick path (the test above would pass vacuously otherwise).
#[test]
fn common_lines_are_read_quickly() {
    for text in [
        r#""priya@acme.org" can view data at lko-01 in acme-prod"#,
        "\t\"priya@acme.org\"  cannot\tedit data in acme-prod via web \r",
        r#""sam@acme.org" can use access_apis via api in acme-prod"#,
    ] {
        assert!(
            charter::syntax::parse_can_quick(SourceId(0), text).is_some(),
            "{text:?}"
        );
    }
    for text in [
        r#""priya@acme.org" can view report visits in acme-prod"#,
        r#""p\"q" can view data in acme-prod"#,
        r#""priya@acme.org" can view data in acme-prod # note"#,
        r#"who can view data in acme-prod"#,
        r#""priya@acme.org"can view data in acme-prod"#,
    ] {
        assert!(
            charter::syntax::parse_can_quick(SourceId(0), text).is_none(),
            "{text:?}"
        );
    }
}

/// The batch's output, line for line, is what `query --format json` answers for each line
/// (plus its number), over generated lines.
#[test]
fn batch_answers_are_the_query_answers() {
    let mut rng = Rng::new(7);
    let lines: Vec<String> = (0..300).map(|_| line(&mut rng)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("b.txt");
    std::fs::write(&batch, lines.join("\n") + "\n").unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/acme");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_charter"))
        .args([
            "query",
            policy.to_str().unwrap(),
            "--batch",
            batch.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let answers: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut quick = 0;
    let mut k = 0;
    for (n, text) in lines.iter().enumerate() {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let a = &answers[k];
        k += 1;
        assert_eq!(a["line"], n + 1, "{text:?}");
        if charter::syntax::parse_can_quick(SourceId(0), text).is_some() {
            quick += 1;
        }
        // The same line alone, through the general path (`query` without --batch).
        let one = std::process::Command::new(env!("CARGO_BIN_EXE_charter"))
            .args(["query", policy.to_str().unwrap(), "--format", "json", text])
            .output()
            .unwrap();
        let single: serde_json::Value =
            serde_json::from_slice(&one.stdout).unwrap_or(serde_json::Value::Null);
        if single.is_null() {
            // Not a query: the batch says so.
            assert!(a.get("error").is_some(), "{text:?}: {a}");
            continue;
        }
        if let Some(allowed) = single.get("allowed") {
            assert_eq!(&a["allowed"], allowed, "{text:?}");
        } else {
            assert!(
                a.get("error").is_some()
                    || a.get("members").is_some()
                    || a.get("permissions").is_some(),
                "{text:?}: {a}"
            );
        }
        if k > 120 {
            break;
        }
    }
    assert!(quick > 30, "{quick} quick lines");
}
