//! Remote links (`upstream ID remote`, HQ's `DomainLink.remote_base_url`): a downstream on one
//! server linked to an upstream on another checks clean, holds the upstream's roles, and the
//! snapshot records the link (`upstream_remote`, written only when true).

use std::path::Path;
use std::process::Command;

use charter::query::Index;
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;

const REMOTE: &str = r#"
space global "Global Templates" {
  plan pro
  server india
  role supervisor { data = edit  reports = all }
  web_user "ops@org.org" { role admin }
}

space kenya "Kenya" {
  plan pro
  server eu
  upstream global remote
  web_user "kim@org.org" { role supervisor }
}

test "roles flow over a remote link" {
  assert "kim@org.org" can edit data in kenya
  assert "kim@org.org" can view reports in kenya
  assert "kim@org.org" cannot edit web_users in kenya
  assert who can edit data in kenya == ["kim@org.org"]
}
"#;

fn compile(text: &str) -> (SourceSet, charter::Compiled) {
    let mut sources = SourceSet::default();
    sources.add("p.charter", text.to_owned());
    let compiled = charter::compile(&sources);
    (sources, compiled)
}

fn codes(text: &str) -> Vec<String> {
    compile(text)
        .1
        .diagnostics
        .iter()
        .map(|d| d.code.as_str().to_owned())
        .collect()
}

#[test]
fn a_remote_link_across_servers_checks_clean_and_passes_its_roles_down() {
    let (sources, compiled) = compile(REMOTE);
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
    let index = Index::new(charter::emit::emit(&compiled.ir, &sources));
    let results = charter::testing::run(&compiled.ir.tests, &index, &sources, None);
    assert_eq!(results.len(), 4);
    for r in &results {
        assert!(r.passed, "{}: {}", r.text, r.message);
    }
}

#[test]
fn query_names_the_remote_upstream_a_role_comes_from() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.charter"), REMOTE).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args([
            "query",
            "p.charter",
            "what can \"kim@org.org\" do in kenya",
            "--format",
            "json",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["role"], "supervisor");
    assert_eq!(v["from_upstream"], "global");
    assert_eq!(v["permissions"]["data"], "edit");
}

#[test]
fn the_rest_of_the_link_rules_still_hold_over_a_remote_link() {
    // The upstream must be declared (E0102), on `pro` (E0209), one level deep (E0204).
    let unknown = "space kenya { plan pro; server eu; upstream ghost remote }";
    assert_eq!(codes(unknown), ["E0102"]);
    let low = "space global { plan standard; server india }\n\
               space kenya { plan pro; server eu; upstream global remote }";
    assert_eq!(codes(low), ["E0209"]);
    let chain = "space a { plan pro; server x }\n\
                 space b { plan pro; server y; upstream a remote }\n\
                 space c { plan pro; server z; upstream b remote }";
    assert_eq!(codes(chain), ["E0204"]);
    // Without `remote`, the servers must agree; with it on one server, W0214.
    let local = "space global { plan pro; server india }\n\
                 space kenya { plan pro; server eu; upstream global }";
    assert_eq!(codes(local), ["E0206"]);
    let same = "space global { plan pro; server india }\n\
                space kenya { plan pro; server india; upstream global remote }";
    assert_eq!(codes(same), ["W0214"]);
}

#[test]
fn remote_is_a_word_only_after_the_upstream_id() {
    // A space may be called `remote`; `upstream remote` links to it locally.
    let named = "space remote { plan pro; server eu }\n\
                 space kenya { plan pro; server eu; upstream remote }\n\
                 space tz { plan pro; server india; upstream remote remote }";
    let (sources, compiled) = compile(named);
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
    let snap = charter::emit::emit(&compiled.ir, &sources);
    let by_id = |id: &str| snap.spaces.iter().find(|s| s.id == id).unwrap();
    assert_eq!(by_id("kenya").upstream.as_deref(), Some("remote"));
    assert!(!by_id("kenya").upstream_remote);
    assert_eq!(by_id("tz").upstream.as_deref(), Some("remote"));
    assert!(by_id("tz").upstream_remote);
}

#[test]
fn the_snapshot_records_a_remote_link_and_only_a_remote_link() {
    let (sources, compiled) = compile(REMOTE);
    let snap = charter::emit::emit(&compiled.ir, &sources);
    let kenya = snap.spaces.iter().find(|s| s.id == "kenya").unwrap();
    assert_eq!(kenya.upstream.as_deref(), Some("global"));
    assert!(kenya.upstream_remote);
    for fmt in [Format::Json, Format::Yaml] {
        let text = format::render(&snap, fmt);
        // In JSON the index repeats the space's links (`snapshot::IndexedSpace`).
        let written = if fmt == Format::Json { 2 } else { 1 };
        assert_eq!(text.matches("upstream_remote").count(), written, "{fmt:?}");
        let loaded = format::parse_as(&text, fmt).unwrap();
        assert!(
            loaded.spaces == snap.spaces,
            "{fmt:?}: spaces differ after a round trip"
        );
        charter::snapshot::validate::validate(&loaded).unwrap();
    }

    // A local link writes no field: existing snapshots stay byte-identical.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (sources, _) = SourceSet::load(&root.join("policies/acme")).unwrap();
    let compiled = charter::compile(&sources);
    let snap = charter::emit::emit(&compiled.ir, &sources);
    assert!(snap.spaces.iter().any(|s| s.upstream.is_some()));
    for fmt in [Format::Json, Format::Yaml] {
        assert!(!format::render(&snap, fmt).contains("upstream_remote"));
    }
}
