//! `charter diff`: one pair of policy versions per kind of change (tests/diff/CASE/{old,new}),
//! the human, markdown and JSON diffs kept as insta snapshots; git revisions; the escalation gate.

use std::path::Path;
use std::process::{Command, Output};

use charter::query::Index;
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
        let d = charter::diff::diff(&Index::new(snapshot(old)), &Index::new(snapshot(&new)));
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
    let d = charter::diff::diff(&Index::new(snapshot(&p)), &Index::new(snapshot(&p)));
    assert!(d.spaces.is_empty());
    assert_eq!((d.escalations, d.reductions, d.changes), (0, 0, 0));
}

#[test]
fn every_rendering_is_the_same_on_every_run() {
    // Two unrelated policies: many changes in several spaces, past the rows shown per space.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let (a, b) = (
        Index::new(snapshot(&root.join("national-health"))),
        Index::new(snapshot(&root.join("acme"))),
    );
    let render = || {
        let d = charter::diff::diff(&a, &b);
        let json = serde_json::to_string(&d).unwrap();
        (d.human(false), d.markdown(), json)
    };
    let first = render();
    assert!(first.1.contains("more |"), "no row was folded");
    for _ in 0..8 {
        assert!(render() == first, "a diff rendered differently");
    }
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

fn compile_text(text: &str) -> Index {
    let mut sources = SourceSet::default();
    sources.add("p.charter", text.to_owned());
    let compiled = charter::compile(&sources);
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    Index::new(charter::emit::emit(&compiled.ir, &sources))
}

/// Issue 9's reproductions: a location moved under a restricted member's district, and a space
/// moved to another enterprise, are escalations named by their cause.
#[test]
fn tree_moves_and_enterprise_moves_are_escalations() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let moved = tmp.path().join("acme");
    std::fs::create_dir(&moved).unwrap();
    for entry in std::fs::read_dir(root.join("policies/acme")).unwrap() {
        let entry = entry.unwrap();
        let text = std::fs::read_to_string(entry.path()).unwrap();
        // `pat-01` leaves Patna for Lucknow.
        let text: String = text
            .lines()
            .filter(|l| !l.contains(r#"facility pat-01 "Patna PHC""#))
            .map(|l| {
                if l.contains(r#"facility lko-02 "Lucknow CHC 2""#) {
                    format!("{l}\nfacility pat-01 \"Patna PHC\"\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(moved.join(entry.file_name()), text).unwrap();
    }
    let acme = root.join("policies/acme");
    let out = run(
        root,
        &[
            "diff",
            acme.to_str().unwrap(),
            moved.to_str().unwrap(),
            "--fail-on",
            "escalation",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("`priya@acme.org` can now view `mobile_workers`")
            && text.contains("view `data`")
            && text.contains("at `pat-01` (`pat-01` moved under `lko`, was under `pat`)"),
        "{text}"
    );
    assert!(
        text.contains("`sam@acme.org` can no longer"),
        "the Bihar supervisor loses it: {text}"
    );
    let back = run(
        root,
        &[
            "diff",
            moved.to_str().unwrap(),
            moved.to_str().unwrap(),
            "--fail-on",
            "escalation",
        ],
        None,
    );
    assert_eq!(back.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&back.stdout).contains("no changes in access"));

    let policy = |enterprise: &str| {
        format!(
            r#"enterprise e1 {{ admins ["ana@x.org"] }}
enterprise e2 {{ admins ["bob@x.org"] }}
space a {{ enterprise e1  server eu  web_user "ana@x.org" {{ role admin }} }}
space b {{ enterprise e2  server eu  web_user "bob@x.org" {{ role admin }} }}
space c {{ enterprise {enterprise}  server eu  web_user "cy@x.org" {{ role admin }} }}
"#
        )
    };
    let d = charter::diff::diff(&compile_text(&policy("e1")), &compile_text(&policy("e2")));
    assert_eq!(d.escalations, 1, "{}", d.human(false));
    let gained = &d.gained[0];
    assert_eq!(
        (
            gained.member.as_str(),
            gained.grants[0].permission.as_str(),
            gained.cause.kind
        ),
        ("bob@x.org", "enterprise_reports", "enterprise")
    );
    assert_eq!(d.reductions, 1, "ana loses the console's view of `c`");
}
