//! `charter diff`: one pair of policy versions per kind of change (tests/diff/CASE/{old,new}),
//! the human, markdown and JSON diffs kept as insta snapshots; git revisions; the escalation gate.

use std::path::Path;
use std::process::{Command, Output};

use charter::source::SourceSet;

fn snapshot(path: &Path) -> charter::snapshot::Snapshot {
    let (sources, _) = SourceSet::load(path).unwrap();
    let compiled = charter::compile(&sources);
    assert!(
        !compiled.has_errors(),
        "{}: {:?}",
        path.display(),
        compiled.diagnostics
    );
    charter::emit::emit(&compiled.ir, &sources)
}

#[test]
fn each_kind_of_change() {
    insta::glob!("diff/*/old.charter", |old| {
        let new = old.with_file_name("new.charter");
        let d = charter::diff::diff(&snapshot(old), &snapshot(&new));
        assert!(!d.spaces.is_empty(), "{}: no change found", old.display());
        let json = serde_json::to_string_pretty(&d).unwrap();
        insta::assert_snapshot!(format!(
            "{}\n---- markdown ----\n{}\n---- json ----\n{json}\n",
            d.human(false),
            d.markdown()
        ));
    });
}

#[test]
fn identical_versions_have_no_changes() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/national-health");
    let d = charter::diff::diff(&snapshot(&p), &snapshot(&p));
    assert!(d.spaces.is_empty());
    assert_eq!((d.escalations, d.reductions, d.neutral), (0, 0, 0));
}

fn run(dir: &Path, args: &[&str], path_env: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_charter"));
    c.args(args).current_dir(dir);
    if let Some(p) = path_env {
        c.env("PATH", p);
    }
    c.output().unwrap()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn git_revisions_and_the_escalation_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path();
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff/role_raised");
    std::fs::create_dir(repo.join("policy")).unwrap();
    std::fs::copy(case.join("old.charter"), repo.join("policy/clinic.charter")).unwrap();
    git(repo, &["init", "-q"]);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "old"]);
    std::fs::copy(case.join("new.charter"), repo.join("policy/clinic.charter")).unwrap();

    let out = run(
        repo,
        &["diff", "HEAD:policy", "policy", "--format", "json"],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["escalations"], 1);
    assert_eq!(v["spaces"][0]["changes"][0]["permission"], "data");

    let gated = run(
        repo,
        &["diff", "HEAD:policy", "policy", "--fail-on", "escalation"],
        None,
    );
    assert_eq!(gated.status.code(), Some(1));
    let reverse = run(
        repo,
        &["diff", "policy", "HEAD:policy", "--fail-on", "escalation"],
        None,
    );
    assert_eq!(
        reverse.status.code(),
        Some(0),
        "a reduction passes the gate"
    );

    let unknown = run(repo, &["diff", "nosuchrev:policy", "policy"], None);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown git revision `nosuchrev`"));
    let no_git = run(repo, &["diff", "HEAD:policy", "policy"], Some(""));
    assert_eq!(no_git.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_git.stderr).contains("`git` is not installed"));
}
