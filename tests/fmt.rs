//! `charter fmt`: idempotent, keeps every comment, never changes meaning.

use std::path::{Path, PathBuf};
use std::process::Command;

use charter::source::{SourceId, SourceSet};

fn charter_files(dirs: &[&str]) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut pending: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    let mut out = Vec::new();
    while let Some(dir) = pending.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|x| x == "charter") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Comment texts in order (the formatter may move them horizontally, never drop or reorder
/// them, except inside a role, whose settings are sorted with their comments).
fn comments(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| l.find('#').map(|i| l[i..].trim_end().to_owned()))
        .collect();
    v.sort();
    v
}

fn diagnostics(name: &str, text: &str) -> Vec<(String, String)> {
    let mut sources = SourceSet::default();
    sources.add(name, text.to_owned());
    let mut d: Vec<(String, String)> = charter::compile(&sources)
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str().to_owned(), d.message.clone()))
        .collect();
    d.sort();
    d
}

#[test]
fn every_parseable_file_round_trips() {
    let mut formatted_count = 0;
    for path in charter_files(&["policies", "tests/ui", "tests/diff", "tests/fixtures"]) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let name = path.display().to_string();
        let Ok(once) = charter::syntax::format(SourceId(0), &text) else {
            continue;
        };
        formatted_count += 1;
        let twice = charter::syntax::format(SourceId(0), &once).expect("formatted text parses");
        assert_eq!(once, twice, "{name}: not idempotent");
        assert_eq!(comments(&text), comments(&once), "{name}: comments changed");
        assert_eq!(
            diagnostics(&name, &text),
            diagnostics(&name, &once),
            "{name}: meaning changed"
        );
    }
    assert!(
        formatted_count > 50,
        "only {formatted_count} files formatted"
    );
}

#[test]
fn formatting_a_policy_does_not_change_its_snapshot() {
    for dir in [
        "policies/acme",
        "policies/national-health",
        "policies/two-enterprises",
        "policies/hq-catalogue",
    ] {
        let (sources, _) =
            SourceSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap();
        let mut formatted = SourceSet::default();
        for (id, f) in sources.files() {
            formatted.add(
                f.name.clone(),
                charter::syntax::format(id, &f.text).unwrap(),
            );
        }
        let snap = |s: &SourceSet| {
            let c = charter::compile(s);
            assert!(!c.has_errors());
            let mut snap = charter::emit::emit(&c.ir, s);
            snap.source_digest.clear();
            snap
        };
        assert_eq!(snap(&sources), snap(&formatted), "{dir}");
    }
}

#[test]
fn the_canonical_form() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/acme/prod.charter"),
    )
    .unwrap();
    insta::assert_snapshot!(charter::syntax::format(SourceId(0), &text).unwrap());
}

#[test]
fn the_command_checks_writes_and_refuses_broken_files() {
    let tmp = tempfile::tempdir().unwrap();
    let messy = "space s { plan standard; role r { reports = all\n data = view  # why\n } ; web_user \"a@b.org\" {role r} }\n";
    std::fs::write(tmp.path().join("a.charter"), messy).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_charter"))
            .args(args)
            .current_dir(tmp.path())
            .output()
            .unwrap()
    };
    let check = run(&["fmt", ".", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("would reformat a.charter"));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("a.charter")).unwrap(),
        messy,
        "--check writes nothing"
    );
    assert_eq!(run(&["fmt", "."]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("a.charter")).unwrap(),
        "space s {\n  plan standard\n  role r {\n    data    = view  # why\n    reports = all\n  }\n  web_user \"a@b.org\" { role r }\n}\n"
    );
    assert_eq!(run(&["fmt", ".", "--check"]).status.code(), Some(0));

    let broken = "space s { plan }\n";
    std::fs::write(tmp.path().join("b.charter"), broken).unwrap();
    let out = run(&["fmt", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("b.charter")).unwrap(),
        broken
    );
}

/// `upstream ID remote` prints canonically, keeping its comments, and keeps its meaning.
#[test]
fn a_remote_link_round_trips() {
    let messy = "space global { plan pro; server india }\n# synced over HQ's remote link\nspace kenya {\n  plan pro ;  server eu\n  upstream    global     remote   # from india\n}\n";
    let once = charter::syntax::format(SourceId(0), messy).unwrap();
    assert_eq!(
        once,
        "space global {\n  plan pro\n  server india\n}\n# synced over HQ's remote link\nspace kenya {\n  plan pro\n  server eu\n  upstream global remote  # from india\n}\n"
    );
    assert_eq!(charter::syntax::format(SourceId(0), &once).unwrap(), once);
    assert_eq!(comments(messy), comments(&once));
    assert_eq!(diagnostics("a", messy), diagnostics("a", &once));
    assert!(diagnostics("a", &once).is_empty());
}

/// The bundled policies are what `charter fmt` writes (the README and docs/ci.md show
/// `fmt --check` on them).
#[test]
fn the_bundled_policies_are_canonical() {
    for path in charter_files(&["policies"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let formatted = charter::syntax::format(SourceId(0), &text).expect("formats");
        assert!(
            formatted == text,
            "{} is not canonical: run `charter fmt policies`",
            path.display()
        );
    }
}

/// Each comment with the code it is attached to: the code on its line (a trailing comment) or
/// on the next line with code (a comment on its own line), whitespace removed.
fn attachments(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find("# c") else { continue };
        let comment = line[at..].trim().to_owned();
        let code: String = line[..at].split_whitespace().collect();
        let attached = if code.is_empty() {
            lines[i + 1..]
                .iter()
                .map(|l| {
                    l.split('#')
                        .next()
                        .unwrap_or("")
                        .split_whitespace()
                        .collect::<String>()
                })
                .find(|c| !c.is_empty())
                .unwrap_or_default()
        } else {
            code
        };
        out.push((comment, attached));
    }
    out.sort();
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, failure_persistence: None, ..Default::default() })]

    /// Issue 10 §3: comments placed anywhere (at the end of any line, or on a line of their
    /// own) survive `fmt`, each attached to the same statement.
    #[test]
    fn fmt_keeps_every_comment_with_its_statement(seed in 0u64..u64::MAX, density in 5usize..60) {
        let files = charter::synth::generate(&charter::synth::Params {
            spaces: 1, locations: 30, roles: 4, members: 10, seed,
        });
        let mut rng = charter::synth::Rng::new(seed ^ 0x5eed);
        for (_, text) in files {
            let mut with_comments = String::new();
            for (n, line) in text.lines().enumerate() {
                if rng.chance(density / 3) {
                    with_comments.push_str(&format!("# c{n}-own\n"));
                }
                with_comments.push_str(line);
                if rng.chance(density) && !line.trim().is_empty() {
                    with_comments.push_str(&format!(" # c{n}-end"));
                }
                with_comments.push('\n');
            }
            let formatted = charter::syntax::format(SourceId(0), &with_comments).expect("formats");
            proptest::prop_assert_eq!(
                attachments(&with_comments),
                attachments(&formatted),
                "\n{}\n----\n{}", with_comments, formatted
            );
            let again = charter::syntax::format(SourceId(0), &formatted).expect("formats");
            proptest::prop_assert_eq!(&formatted, &again, "not idempotent");
        }
    }
}

/// A comment at the end of every line of the bundled policies: none is lost (three were, in
/// `policies/acme`).
#[test]
fn a_comment_on_every_line_of_the_bundled_policies_survives() {
    for path in charter_files(&["policies"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let commented: String = text
            .lines()
            .enumerate()
            .map(|(n, l)| {
                if l.trim().is_empty() || l.contains('#') {
                    format!("{l}\n")
                } else {
                    format!("{l} # c{n}\n")
                }
            })
            .collect();
        let formatted = charter::syntax::format(SourceId(0), &commented).expect("formats");
        assert_eq!(
            attachments(&commented),
            attachments(&formatted),
            "{}",
            path.display()
        );
    }
}
