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
