//! The editor's analysis (`charter::ide`) against the command line's.
//!
//! - After any sequence of edits, the workspace's diagnostics (each file parsed again only when
//!   its text changed) are exactly what `check` reports for the same files on disk.
//! - Every quick fix offered for a `tests/ui` case removes the diagnostic it was offered for,
//!   and brings no syntax problem the case did not have.

use std::path::{Path, PathBuf};

use charter::ide::Workspace;
use charter::source::SourceSet;
use proptest::prelude::*;

/// Pieces an edit inserts: statement words, brackets, separators, quotes, comments, names that
/// exist and names that do not.
const PIECES: &[&str] = &[
    "x",
    "role",
    "{",
    "}",
    "\n",
    "[",
    "]",
    "\"",
    "#",
    " ",
    "data = edit",
    "full_organization_access = off",
    "web_user \"z@x.org\" { role admin }",
    "web_user \"z@x.org\" { role nobody }",
    "locations [ke-nairobi]",
    "upstream nhp-template",
    "space extra { }",
    "plan enterprise",
];

fn copy_policy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap().join(name);
    std::fs::create_dir(&root).unwrap();
    for e in std::fs::read_dir(Path::new("policies").join(name)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), root.join(e.file_name())).unwrap();
    }
    (dir, root)
}

#[derive(Debug, Clone)]
struct Edit {
    file: usize,
    /// Where, as a fraction of the file's length.
    at: f64,
    delete: usize,
    insert: usize,
}

fn edit() -> impl Strategy<Value = Edit> {
    (0usize..16, 0.0f64..1.0, 0usize..40, 0..PIECES.len() * 2).prop_map(
        |(file, at, delete, insert)| Edit {
            file,
            at,
            delete,
            insert,
        },
    )
}

fn apply(text: &str, e: &Edit) -> String {
    let floor = |mut o: usize| {
        while !text.is_char_boundary(o) {
            o -= 1;
        }
        o
    };
    let start = floor((text.len() as f64 * e.at) as usize);
    let end = floor((start + e.delete).min(text.len()));
    // Half the draws insert nothing (a pure deletion).
    let piece = PIECES.get(e.insert).copied().unwrap_or("");
    format!("{}{piece}{}", &text[..start], &text[end..])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_workspace_reports_what_check_reports(edits in prop::collection::vec(edit(), 1..6)) {
        let (_dir, root) = copy_policy("national-health");
        let mut ws = Workspace::load(&root).unwrap();
        // Compiled once before the edits, so that the parses of unchanged files are reused.
        let _ = ws.analysis();
        let paths: Vec<PathBuf> = ws.paths().map(Path::to_path_buf).collect();
        for e in &edits {
            let path = &paths[e.file % paths.len()];
            let text = apply(ws.text(path).unwrap(), e);
            ws.set_text(path, &text);
            // The editor's view after each edit, against `check` of the same files on disk.
            std::fs::write(path, &text).unwrap();
            let analysis = ws.analysis();
            let (_, checked) = charter::load_and_compile(&root).unwrap();
            prop_assert_eq!(&analysis.compiled.diagnostics, &checked.diagnostics);
        }
    }
}

/// Every `.charter` file under `tests/ui`.
fn ui_cases() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::from("tests/ui")];
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

#[test]
fn every_quick_fix_removes_its_diagnostic() {
    let mut fixes_tried = 0;
    for case in ui_cases() {
        let Ok(text) = std::fs::read_to_string(&case) else {
            continue; // the undecodable cases
        };
        let mut sources = SourceSet::default();
        sources.add("case.charter", text.as_str());
        let compiled = charter::compile(&sources);
        for d in &compiled.diagnostics {
            let Some(span) = d.primary_span() else {
                continue;
            };
            for fix in charter::ide::fixes::fixes(d, sources.slice(span)) {
                fixes_tried += 1;
                let (start, end) = (fix.span.start as usize, fix.span.end as usize);
                let fixed = format!("{}{}{}", &text[..start], fix.replacement, &text[end..]);
                let mut again = SourceSet::default();
                again.add("case.charter", fixed.as_str());
                let after = charter::compile(&again);
                let still = after.diagnostics.iter().find(|a| {
                    a.code == d.code && a.primary_span().is_some_and(|s| s.start == span.start)
                });
                // And the replacement is well-formed: no syntax problem the case did not have.
                // (Other new problems can be right: a fixed name may now repeat a statement.)
                let new: Vec<_> = after
                    .diagnostics
                    .iter()
                    .filter(|a| a.code.as_str().starts_with("E00"))
                    .filter(|a| {
                        !compiled
                            .diagnostics
                            .iter()
                            .any(|b| b.code == a.code && b.message == a.message)
                    })
                    .collect();
                assert!(
                    new.is_empty(),
                    "{}: `{}` for {} brings {:?}",
                    case.display(),
                    fix.title,
                    d.code,
                    new
                );
                assert!(
                    still.is_none(),
                    "{}: `{}` for {} `{}` leaves {:?}",
                    case.display(),
                    fix.title,
                    d.code,
                    d.message,
                    still
                );
            }
        }
    }
    // The ui cases hold many "did you mean" helps: the test must have tried them.
    assert!(fixes_tried >= 10, "only {fixes_tried} quick fixes found");
}

#[test]
fn an_undecodable_file_and_a_file_not_yet_saved() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("a.charter"), b"space a {\xff}").unwrap();
    let mut ws = Workspace::load(&root).unwrap();
    let (_, checked) = charter::load_and_compile(&root).unwrap();
    assert_eq!(ws.analysis().compiled.diagnostics, checked.diagnostics);
    assert_eq!(checked.diagnostics[0].code.as_str(), "E0004");
    // A new file the editor has not saved is compiled with the others, and dropped on close.
    let new = root.join("b.charter");
    assert!(ws.set_text(&new, "space b {\n  upstream nowhere\n}\n"));
    let codes: Vec<&str> = ws
        .analysis()
        .compiled
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    // As `check` does with an undecodable file: its unknown names are not reported.
    assert_eq!(codes, ["E0004"]);
    assert_eq!(ws.analysis().sources.len(), 2);
    ws.close(&new).unwrap();
    assert_eq!(ws.analysis().compiled.diagnostics, checked.diagnostics);
    // Not a policy file: refused.
    assert!(!ws.set_text(&root.join("notes.txt"), "hello"));
    // An empty directory.
    let empty = tempfile::tempdir().unwrap();
    let mut ws = Workspace::load(empty.path()).unwrap();
    assert!(ws.analysis().compiled.diagnostics.is_empty());
}

/// Completion inside `assert` lines, word by word through the query grammar: the names offered
/// are those of the space the line asks about (`in SPACE`, written later on the line too).
#[test]
fn completion_follows_an_assertion() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/national-health");
    let mut ws = Workspace::load(&root).unwrap();
    let analysis = ws.analysis();
    let file = root.join("tests.charter");
    let original = std::fs::read_to_string(&file).unwrap();
    let block = "test \"enterprise admins see aggregates, not data\" {\n";
    let at = original.find(block).unwrap() + block.len();
    // The labels offered at the end of `before`, with `after` written after the cursor.
    let labels = |before: &str, after: &str| -> Vec<String> {
        let text = format!("{}  {before}{after}\n{}", &original[..at], &original[at..]);
        let offset = at + 2 + before.len();
        charter::ide::complete::complete(&analysis, &text, offset)
            .into_iter()
            .map(|c| c.label)
            .collect()
    };
    let has = |got: &[String], want: &[&str]| {
        for w in want {
            assert!(
                got.iter().any(|g| g == w),
                "`{w}` not offered among {got:?}"
            );
        }
    };
    let george = "\"george.sup@nhp-ke.org\"";

    let got = labels("assert ", "");
    has(&got, &["who", "what", "why", george]);
    has(
        &labels(&format!("assert {george} "), ""),
        &["can", "cannot"],
    );
    has(
        &labels(&format!("assert {george} can "), ""),
        &["view", "edit"],
    );
    let got = labels(&format!("assert {george} can edit "), "");
    has(&got, &["data", "report", "roles_and_permissions"]);
    assert!(
        !got.iter().any(|g| g == "who"),
        "no query keyword among permissions"
    );

    // `at`: the locations of the space named later on the line, and only those.
    let got = labels(&format!("assert {george} can edit data at "), " in nhp-ke");
    has(&got, &["ke-nairobi-1-f01"]);
    assert!(
        !got.iter().any(|g| g == "ug" || g.starts_with("ug-")),
        "locations of another space offered: {got:?}"
    );
    has(
        &labels(
            &format!("assert {george} can edit data at ke-nairobi-1-f01 "),
            "",
        ),
        &["in", "via"],
    );
    has(
        &labels(
            &format!("assert {george} can edit data at ke-nairobi-1-f01 in "),
            "",
        ),
        &["nhp-ke", "nhp-ug"],
    );
    has(
        &labels(&format!("assert {george} can view report "), " in nhp-ug"),
        &["anc", "stock"],
    );
    has(
        &labels(&format!("assert {george} can use access_apis via "), ""),
        &["web", "api"],
    );
    // `who ... == [`: the members of the space asked about.
    let got = labels("assert who can view data in nhp-ke == [", "");
    has(&got, &[george]);
    // Inside a string nothing is offered: it is a member's name being typed.
    assert!(labels("assert \"geo", "").is_empty());
}
