//! `charter query` and `charter test`, and the agreement of snapshot and source answers.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use charter::query::Index;
use charter::question::{Asked, Request, Want};
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;

fn charter_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run charter")
}

fn charter(args: &[&str]) -> Output {
    charter_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

#[test]
fn bundled_policy_tests_pass() {
    for dir in [
        "policies/acme",
        "policies/national-health",
        "policies/two-enterprises",
    ] {
        let out = charter(&["test", dir]);
        assert_eq!(code(&out), 0, "{}", stdout(&out));
        let last = stdout(&out).lines().last().unwrap_or_default().to_owned();
        assert!(last.ends_with("passed, 0 failed"), "{last}");
    }
    let out = charter(&["test", "policies/acme", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["passed"], 9);
    assert_eq!(v["failed"], 0);
}

const FAILING: &str = r#"space s {
  plan advanced
  location_types { district; facility in district }
  locations { district d1 { facility f1 }  district d2 { facility f2 } }
  role nurse { full_organization_access = off; data = view }
  web_user "boss@x.org" { role admin }
  web_user "nina@x.org" { role nurse  locations [d1] }
}

test "nurses" {
  assert "nina@x.org" can view data at f1 in s
  assert "nina@x.org" can view data at f2 in s
  assert who can view data at f2 in s == ["boss@x.org", "nina@x.org", "ghost@x.org"]
}

test "other" {
  assert "boss@x.org" can edit data in s
}
"#;

#[test]
fn failing_assertions_point_at_their_span_with_expected_and_actual() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.charter"), FAILING).unwrap();
    let out = charter_in(tmp.path(), &["test", "p.charter"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert_eq!(text.lines().last(), Some("2 passed, 2 failed"), "{text}");
    assert!(
        text.contains(
            "expected `nina@x.org` can view `data` at `f2` in `s`, but `nina@x.org` cannot"
        ),
        "{text}"
    );
    assert!(
        text.contains("to allow it: assign location `f2` to `nina@x.org`"),
        "{text}"
    );
    assert!(
        text.contains("missing (expected, but cannot): `nina@x.org`, `ghost@x.org`"),
        "{text}"
    );
    assert!(text.contains("p.charter:12:3"), "{text}");

    let out = charter_in(tmp.path(), &["test", "p.charter", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(2), Some(2))
    );
    let first = &v["failures"][0];
    assert_eq!(first["file"], "p.charter");
    assert_eq!(first["line"], 12);
    assert_eq!(
        first["assertion"],
        "\"nina@x.org\" can view data at f2 in s"
    );

    let out = charter_in(tmp.path(), &["test", "p.charter", "--filter", "other"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out).lines().last(), Some("1 passed, 0 failed"));
}

#[test]
fn query_exit_codes_and_json_shapes() {
    let q = |expr: &str| charter(&["query", "policies/acme", expr, "--format", "json"]);
    let allowed = q("\"priya@acme.org\" can view data at lko-01 in acme-prod");
    assert_eq!(code(&allowed), 0);
    let v: serde_json::Value = serde_json::from_slice(&allowed.stdout).unwrap();
    assert_eq!(v["allowed"], true);
    assert!(v["reasons"].as_array().unwrap().len() >= 2);

    let denied = q("\"priya@acme.org\" can view data at pat-01 in acme-prod");
    assert_eq!(code(&denied), 1);
    let cannot = q("\"priya@acme.org\" cannot view data at pat-01 in acme-prod");
    assert_eq!(code(&cannot), 0, "a true `cannot` statement exits 0");

    let who = q("who can edit data in acme-prod");
    let v: serde_json::Value = serde_json::from_slice(&who.stdout).unwrap();
    assert_eq!(
        v["members"],
        serde_json::json!(["ana@acme.org", "sam@acme.org"])
    );

    let what = q("what can \"priya@acme.org\" do in acme-prod");
    let v: serde_json::Value = serde_json::from_slice(&what.stdout).unwrap();
    assert_eq!(v["permissions"]["data"], "view");
    assert_eq!(v["scope"], serde_json::json!(["lko"]));

    let unknown = charter(&["query", "policies/acme", "\"a\" can view data in acme-prd"]);
    assert_eq!(code(&unknown), 2);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("did you mean `acme-prod`?"));
    let unparsable = charter(&["query", "policies/acme", "can can can"]);
    assert_eq!(code(&unparsable), 2);
    assert!(String::from_utf8_lossy(&unparsable.stderr).contains("expected a query"));
    assert_eq!(
        code(&charter(&[
            "query",
            "policies/acme",
            "\"a\" can use data in acme-prod"
        ])),
        2
    );
}

#[test]
fn batch_answers_every_line_in_order() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["query", "policies/acme", "--batch", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"\"ana@acme.org\" can edit data in acme-prod\nnot a query\nwho can edit data at lko-01 in acme-prod\n",
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], serde_json::json!({"allowed": true, "line": 1}));
    assert!(lines[1]["error"].is_string());
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(
        lines[2],
        serde_json::json!({"members": ["ana@acme.org"], "line": 3})
    );
    assert_eq!(
        code(&out),
        2,
        "a line that is not a query makes the batch exit 2"
    );
}

#[test]
fn hand_edited_or_foreign_snapshots_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let snap = tmp.path().join("s.json");
    assert_eq!(
        code(&charter(&[
            "build",
            "policies/acme",
            "-o",
            snap.to_str().unwrap()
        ])),
        0
    );
    let ok = charter(&[
        "query",
        snap.to_str().unwrap(),
        "\"priya@acme.org\" can view data in acme-prod",
    ]);
    assert_eq!(code(&ok), 0);

    let text = std::fs::read_to_string(&snap).unwrap();
    let flipped = text.replacen("\"data\": \"view\"", "\"data\": \"edit\"", 1);
    assert_ne!(text, flipped);
    std::fs::write(&snap, flipped).unwrap();
    let out = charter(&[
        "query",
        snap.to_str().unwrap(),
        "\"priya@acme.org\" can view data in acme-prod",
    ]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match its content digest"));

    std::fs::write(
        &snap,
        text.replacen("\"format_version\": 1", "\"format_version\": 7", 1),
    )
    .unwrap();
    let out = charter(&[
        "query",
        snap.to_str().unwrap(),
        "who can edit data in acme-prod",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("format version 7, but this charter reads version 1")
    );
}

/// Every (member, permission, level, location) of a policy: source and loaded-snapshot
/// answers agree, in JSON and YAML.
#[test]
fn snapshot_and_source_answers_agree() {
    for dir in ["policies/acme", "policies/national-health"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let (sources, _) = SourceSet::load(&path).unwrap();
        let compiled = charter::compile(&sources);
        assert!(!compiled.has_errors());
        let snapshot = charter::emit::emit(&compiled.ir, &sources);
        let from_source = Index::new(snapshot.clone());
        for fmt in [Format::Json, Format::Yaml] {
            let loaded = Index::new(format::parse(&format::render(&snapshot, fmt)).unwrap());
            let mut checked = 0;
            for (s, space) in snapshot.spaces.iter().enumerate() {
                let locs: Vec<Option<u32>> = std::iter::once(None)
                    .chain((0..space.locations.len() as u32).step_by(7).map(Some))
                    .collect();
                for &p in charter::model::Permission::ALL {
                    for want in [Want::View, Want::Edit] {
                        for &at in &locs {
                            let q = Request {
                                space: s as u32,
                                want,
                                asked: Asked::Key(p),
                                at,
                                channel: charter::question::Channel::Any,
                            };
                            assert_eq!(
                                from_source.who(&q),
                                loaded.who(&q),
                                "{dir} {fmt:?} {p} {want:?} {at:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
            assert!(checked > 100);
        }
    }
}

/// SPEC §3: `access_apis` reaches `data` everywhere; `via web` / `via api` ask about one
/// channel; `reports = all` reaches the standard reports of a space that declares none.
#[test]
fn the_api_channel_and_the_standard_reports() {
    let fixture = "tests/fixtures/api-channel.charter";
    let out = charter(&["test", fixture, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(18), Some(0)),
        "{v}"
    );
    assert_eq!(code(&out), 0);

    let why = |q: &str| {
        let out = charter(&["query", fixture, q, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (code(&out), v)
    };
    let (exit, v) = why(r#"why "bot@acme.org" can view data at d2 in field"#);
    assert_eq!((exit, v["allowed"].as_bool()), (0, Some(true)));
    assert!(v["reasons"].to_string().contains("through the API"), "{v}");
    let (exit, v) = why(r#"why "bot@acme.org" can view data at d2 via web in field"#);
    assert_eq!((exit, v["allowed"].as_bool()), (1, Some(false)));
    assert!(
        v["change"].to_string().contains("assign location `d2`"),
        "{v}"
    );
    let (_, v) = why(r#"why "sy@acme.org" can view data via api in small"#);
    assert!(v["change"].to_string().contains("plan pro"), "{v}");
    let (_, v) = why(r#"what can "bot@acme.org" do in field"#);
    assert_eq!(
        v["api"],
        serde_json::json!({"data": "view", "scope": "all"})
    );
    let (_, v) = why(r#"what can "cleo@acme.org" do in field"#);
    assert!(v.get("api").is_none(), "{v}");
    let (_, v) = why(r#"why "rita@acme.org" can view reports in plain"#);
    assert!(v["reasons"].to_string().contains("standard reports"), "{v}");

    // A channel is `web` or `api`; the console's aggregates take neither `at` nor `via`.
    for (q, needle) in [
        (
            r#""bot@acme.org" can view data via apu in field"#,
            "did you mean `api`?",
        ),
        (
            "who can view enterprise_reports at d1 in field",
            "`at` does not apply to `enterprise_reports`",
        ),
    ] {
        let out = charter(&["query", fixture, q]);
        assert_eq!(code(&out), 2, "{q}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{q}: {err}");
    }
}

/// Tests that test: a filter matching no test is exit 2 with the list; a typo in a member
/// name is a warning (a `cannot` about nobody passes); GitHub output says when all pass.
#[test]
fn tests_that_test_something() {
    let out = charter(&["test", "policies/acme", "--filter", "nomatch"]);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no test name contains `nomatch`")
            && err.contains("\"enterprise admins see aggregates, not data\""),
        "{err}"
    );

    let out = charter(&[
        "test",
        "policies/acme",
        "--filter",
        "nomatch",
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 2);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tests"].as_array().map(Vec::len), Some(2), "{v}");

    let out = charter(&["test", "policies/acme", "--format", "github"]);
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).contains("::notice title=charter test::9 passed, 0 failed"),
        "{}",
        stdout(&out)
    );

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("p.charter");
    std::fs::write(
        &file,
        r#"space maisha-tz {
  web_user "halima@maisha.org" { role admin }
}
test "only admins" {
  assert "halma@maisha.org" cannot edit data in maisha-tz
  assert "HALIMA@maisha.org" can edit data in maisha-tz
}
"#,
    )
    .unwrap();
    let out = charter(&["test", file.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("W0212") && err.contains("did you mean `halima@maisha.org`?"),
        "{err}"
    );
    assert!(
        stdout(&out).ends_with("2 passed, 0 failed\n"),
        "{}",
        stdout(&out)
    );
    let denied = charter(&["test", file.to_str().unwrap(), "--deny-warnings"]);
    assert_eq!(
        code(&denied),
        1,
        "--deny-warnings turns the typo into a failure"
    );
}
