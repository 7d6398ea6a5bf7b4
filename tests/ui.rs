//! Data-driven diagnostics tests.
//!
//! Every `tests/ui/**/*.charter` file is compiled; its rendered human output (no colour, fixed
//! width) and JSON output are kept as one insta snapshot. A file's leading `# expect: CODE ...`
//! line lists the codes it must produce (no more, no fewer); `tests/ui/pass/` files must produce
//! none, and their snapshot (YAML) is kept instead.

use std::collections::BTreeSet;
use std::path::Path;

use charter::diagnostic::Code;
use charter::diagnostic::render::{self, Style};
use charter::source::SourceSet;

/// Compiles one ui file the way the CLI does (loading included, for E0004/E0005).
fn compile_file(path: &Path) -> (SourceSet, charter::Compiled) {
    let limit = std::fs::read(path)
        .ok()
        .and_then(|b| {
            let first = b.split(|c| *c == b'\n').next()?.to_vec();
            let line = String::from_utf8(first).ok()?;
            line.strip_prefix("# max-file-bytes: ")?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(charter::source::MAX_FILE_BYTES);
    charter::load_and_compile_with_limit(path, limit).expect("ui file loads")
}

/// The codes named by the file's `# expect:` line.
fn expected_codes(path: &Path) -> BTreeSet<String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .take(3)
        .filter_map(|l| l.strip_prefix("# expect:"))
        .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[test]
fn ui() {
    insta::glob!("ui/**/*.charter", |path| {
        let (sources, compiled) = compile_file(path);
        let diagnostics = &compiled.diagnostics;
        let produced: BTreeSet<String> = diagnostics
            .iter()
            .map(|d| d.code.as_str().to_owned())
            .collect();
        let expected = expected_codes(path);
        let is_pass = path.components().any(|c| c.as_os_str() == "pass");
        if is_pass {
            assert!(
                diagnostics.is_empty(),
                "{}: pass case produced {produced:?}",
                path.display()
            );
            let snapshot = charter::emit::emit(&compiled.ir, &sources);
            insta::assert_snapshot!(charter::snapshot::format::render(
                &snapshot,
                charter::snapshot::format::Format::Yaml
            ));
        } else {
            assert!(
                !expected.is_empty(),
                "{}: add a `# expect: CODE` first line",
                path.display()
            );
            assert_eq!(
                produced,
                expected,
                "{}: codes produced vs `# expect:`",
                path.display()
            );
            let human = render::human(&sources, diagnostics, Style::plain());
            let json = render::json(&sources, diagnostics);
            insta::assert_snapshot!(format!("{human}---- json ----\n{json}"));
        }
    });
}

/// Every code has a ui case that expects it, and an entry in `docs/diagnostics.md`.
#[test]
fn every_code_has_a_ui_case_and_docs() {
    let mut covered = BTreeSet::new();
    let mut pending = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("ui dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "charter") {
                covered.extend(expected_codes(&path));
            }
        }
    }
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/diagnostics.md"))
            .expect("docs/diagnostics.md");
    let mut missing = Vec::new();
    for code in Code::ALL {
        if !covered.contains(code.as_str()) {
            missing.push(format!("{code}: no tests/ui case with `# expect: {code}`"));
        }
        if !docs.contains(&format!("## {code}")) {
            missing.push(format!(
                "{code}: no `## {code}` entry in docs/diagnostics.md"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
