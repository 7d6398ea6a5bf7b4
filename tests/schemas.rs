//! The JSON Schemas of docs/schema/: the snapshot, diagnostics and diff schemas are generated
//! from the types that write the JSON (schemars) and must equal the published files (run with
//! `CHARTER_UPDATE_SCHEMAS=1` to rewrite them after an intended change); the query schema is
//! written by hand. Every JSON output of the bundled policies and the diff cases validates
//! against its schema (boon), and a schema refuses a document that breaks it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn published(name: &str) -> Value {
    let path = root().join("docs/schema").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The generated schema equals the published one (or, with `CHARTER_UPDATE_SCHEMAS=1`,
/// becomes it).
fn check_generated(name: &str, generated: Value) {
    let path = root().join("docs/schema").join(name);
    if std::env::var_os("CHARTER_UPDATE_SCHEMAS").is_some() {
        let text = serde_json::to_string_pretty(&generated).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    assert_eq!(
        published(name),
        generated,
        "docs/schema/{name} is not what the types write: rerun with CHARTER_UPDATE_SCHEMAS=1 and review the change"
    );
}

#[test]
fn generated_schemas_are_the_published_ones() {
    check_generated("snapshot.schema.json", charter::snapshot::json_schema());
    check_generated(
        "diagnostics.schema.json",
        charter::diagnostic::render::json_schema(),
    );
    check_generated("diff.schema.json", charter::diff::render::json_schema());
}

struct Validator {
    schemas: boon::Schemas,
    index: boon::SchemaIndex,
}

impl Validator {
    fn new(name: &str) -> Validator {
        let mut schemas = boon::Schemas::new();
        let mut compiler = boon::Compiler::new();
        compiler.add_resource(name, published(name)).unwrap();
        let index = compiler.compile(name, &mut schemas).unwrap();
        Validator { schemas, index }
    }

    fn errors(&self, doc: &Value) -> Option<String> {
        self.schemas
            .validate(doc, self.index)
            .err()
            .map(|e| format!("{e:#}"))
    }

    fn check(&self, what: &str, doc: &Value) {
        if let Some(e) = self.errors(doc) {
            panic!("{what} does not match its schema:\n{e}\n{doc:#}");
        }
    }
}

fn charter(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

const POLICIES: &[&str] = &["acme", "national-health", "two-enterprises", "hq-catalogue"];

#[test]
fn snapshots_validate() {
    let v = Validator::new("snapshot.schema.json");
    for dir in POLICIES {
        let (sources, _) =
            charter::source::SourceSet::load(&root().join("policies").join(dir)).unwrap();
        let compiled = charter::compile(&sources);
        let snapshot = charter::build(&sources, &compiled);
        let text =
            charter::snapshot::format::render(&snapshot, charter::snapshot::format::Format::Json);
        let doc: Value = serde_json::from_str(&text).unwrap();
        v.check(dir, &doc);
        // A shape the schema refuses: a member without a role.
        let mut broken = doc.clone();
        broken["spaces"][0]["members"][0]
            .as_object_mut()
            .unwrap()
            .remove("role");
        assert!(
            v.errors(&broken).is_some(),
            "{dir}: the schema accepts a member without a role"
        );
    }
}

#[test]
fn diagnostics_validate() {
    let v = Validator::new("diagnostics.schema.json");
    let ui = root().join("tests/ui");
    let mut n = 0;
    for kind in ["check", "lint", "syntax"] {
        let Ok(entries) = std::fs::read_dir(ui.join(kind)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "charter"))
            .collect();
        files.sort();
        for f in files.iter().take(25) {
            let out = charter(&root(), &["check", f.to_str().unwrap(), "--format", "json"]);
            let doc: Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            v.check(&f.display().to_string(), &doc);
            n += 1;
        }
    }
    assert!(n >= 20, "{n} ui cases");
    let clean = charter(&root(), &["check", "policies/acme", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&clean.stdout).unwrap();
    v.check("acme", &doc);
    let mut broken = doc.clone();
    broken["errors"] = serde_json::json!("none");
    assert!(v.errors(&broken).is_some());
}

#[test]
fn diffs_validate() {
    let v = Validator::new("diff.schema.json");
    let cases = root().join("tests/diff");
    let mut n = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&cases)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for case in dirs.iter().filter(|d| d.join("old.charter").exists()) {
        let out = charter(
            case,
            &["diff", "old.charter", "new.charter", "--format", "json"],
        );
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        v.check(&case.display().to_string(), &doc);
        n += 1;
    }
    assert!(n >= 5, "{n} diff cases");
    let mut broken: Value = serde_json::from_slice(
        &charter(
            &dirs[0],
            &["diff", "old.charter", "new.charter", "--format", "json"],
        )
        .stdout,
    )
    .unwrap();
    broken["escalations"] = serde_json::json!(-1);
    assert!(v.errors(&broken).is_some());
}

#[test]
fn query_answers_validate() {
    let v = Validator::new("query.schema.json");
    let queries = [
        r#""priya@acme.org" can view data at lko-01 in acme-prod"#,
        r#""priya@acme.org" cannot edit data in acme-prod"#,
        r#"who can edit data in acme-prod"#,
        r#"who can view data at lko-01 in acme-prod"#,
        r#"what can "priya@acme.org" do in acme-prod"#,
        r#"what can "nobody@acme.org" do in acme-prod"#,
        r#"why "priya@acme.org" cannot view data at pat-01 in acme-prod"#,
        r#"why "sam@acme.org" can edit data in acme-prod"#,
        r#"why "ana@acme.org" cannot view web_users in acme-prod"#,
    ];
    for q in queries {
        let out = charter(&root(), &["query", "policies/acme", q, "--format", "json"]);
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{q}: {e}"));
        v.check(q, &doc);
    }
    // Login-As in `what` and `who`, and batch lines (answers, errors, a line number each).
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("batch.txt");
    let lines = [
        r#"what can "lead@mha.org" do in mha-hub"#,
        r#"who can edit data in mha-hub"#,
        r#"why "tess@mha.org" cannot edit data in mha-hub"#,
        "this is not a query",
        r#""x@y.org" can view nothing in mha-hub"#,
    ];
    std::fs::write(&batch, lines.join("\n") + "\n").unwrap();
    let out = charter(
        &root(),
        &[
            "query",
            "policies/hq-catalogue",
            "--batch",
            batch.to_str().unwrap(),
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), lines.len());
    for line in text.lines() {
        let doc: Value = serde_json::from_str(line).unwrap();
        v.check(line, &doc);
        assert!(doc["line"].is_u64());
    }
    for q in [
        r#"what can "lead@mha.org" do in mha-hub"#,
        r#"what can "priya@mha.org" do in mha-hub"#,
    ] {
        let out = charter(
            &root(),
            &["query", "policies/hq-catalogue", q, "--format", "json"],
        );
        v.check(q, &serde_json::from_slice(&out.stdout).unwrap());
    }
    assert!(v.errors(&serde_json::json!({"allowed": "yes"})).is_some());
    assert!(
        v.errors(&serde_json::json!({"members": ["a"], "extra": 1}))
            .is_some()
    );
}
