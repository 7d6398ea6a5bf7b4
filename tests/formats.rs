//! `--format sarif` (validated against the SARIF 2.1.0 schema) and `--format github`.

use std::path::Path;
use std::process::{Command, Output};

fn charter_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// A policy with errors, a warning, a cross-file label and a failing test.
fn broken_policy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("a.charter"),
        "space s {\n  plan standard\n  role r { data = eidt }\n  role r { data = view }\n  role unused { data = view }\n}\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("b.charter"),
        "space t { plan pro; server eu; upstream t }\n",
    )
    .unwrap();
    tmp
}

fn failing_tests() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("p.charter"),
        "space s {\n  web_user \"a@x.org\" { role read-only }\n}\ntest \"t\" {\n  assert \"a@x.org\" can edit data in s\n}\n",
    )
    .unwrap();
    tmp
}

fn sarif_errors(text: &str) -> Option<String> {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-2.1.0-rtm.5.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let instance: serde_json::Value = serde_json::from_str(text).expect("SARIF output is JSON");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource("sarif.json", schema).unwrap();
    let index = compiler.compile("sarif.json", &mut schemas).unwrap();
    schemas
        .validate(&instance, index)
        .err()
        .map(|e| format!("{e:#}"))
}

#[test]
fn the_schema_check_rejects_invalid_sarif() {
    let tmp = broken_policy();
    let out = charter_in(tmp.path(), &["check", ".", "--format", "sarif"]);
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["runs"][0]["results"][0]["level"] = serde_json::json!("catastrophic");
    assert!(sarif_errors(&v.to_string()).is_some());
    v["runs"][0]["results"][0]["level"] = serde_json::json!("error");
    v["version"] = serde_json::json!("1.0");
    assert!(sarif_errors(&v.to_string()).is_some());
}

fn validate_sarif(text: &str) {
    if let Some(e) = sarif_errors(text) {
        panic!("SARIF output does not match the SARIF 2.1.0 schema:\n{e}\n{text}");
    }
}

#[test]
fn sarif_output_matches_the_schema_and_carries_rules_and_regions() {
    let tmp = broken_policy();
    let out = charter_in(tmp.path(), &["check", ".", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    validate_sarif(&text);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), charter::diagnostic::Code::ALL.len() + 1);
    let e0101 = rules.iter().find(|r| r["id"] == "E0101").unwrap();
    assert!(
        e0101["help"]["text"]
            .as_str()
            .unwrap()
            .contains("Fix: Rename one"),
        "help from docs/diagnostics.md"
    );
    let results = run["results"].as_array().unwrap();
    let dup = results.iter().find(|r| r["ruleId"] == "E0101").unwrap();
    assert_eq!(
        dup["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "a.charter"
    );
    assert_eq!(
        dup["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert_eq!(
        dup["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        3
    );
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "W0208" && r["level"] == "warning")
    );

    // A clean policy is valid SARIF with no results; failing tests are results too.
    let clean = charter_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["check", "policies/acme", "--format", "sarif"],
    );
    validate_sarif(&String::from_utf8(clean.stdout).unwrap());
    let tests = failing_tests();
    let out = charter_in(tests.path(), &["test", ".", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    validate_sarif(&text);
    assert!(text.contains("\"ruleId\": \"assertion\""));
}

#[test]
fn github_output_is_one_workflow_command_a_problem() {
    let tmp = broken_policy();
    let out = charter_in(tmp.path(), &["check", ".", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "{text}"
    );
    assert!(lines.contains(
        &"::error file=a.charter,line=3,col=19,endLine=3,endColumn=23,title=charter E0104::`eidt` is not a value of `data` (help: did you mean `edit`?)"
    ), "{text}");
    let tests = failing_tests();
    let out = charter_in(tests.path(), &["test", ".", "--format", "github"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("::error file=p.charter,line=5,col=3,"),
        "{text}"
    );
}
