//! Inputs found by fuzzing (tests/regressions/): each must compile, format and render without
//! panicking and in bounded time (a hang fails here instead of stalling CI).

use std::sync::mpsc;
use std::time::Duration;

use charter::source::SourceSet;

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let mut sources = SourceSet::default();
            let id = sources.add("regression.charter", text.clone());
            let compiled = charter::compile(&sources);
            let _ = charter::diagnostic::render::human(
                &sources,
                &compiled.diagnostics,
                charter::diagnostic::render::Style::plain(),
            );
            if !compiled.has_errors() {
                let _ = charter::emit::emit(&compiled.ir, &sources);
            }
            let _ = charter::syntax::format(id, &text);
            let _ = tx.send(compiled.diagnostics.len());
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{} takes more than 20 s", path.display())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{} panicked", path.display()),
        }
    }
}

#[test]
fn formatted_findings_format_again() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if let Ok(once) = charter::syntax::format(charter::source::SourceId(0), &text) {
            let twice = charter::syntax::format(charter::source::SourceId(0), &once);
            assert_eq!(
                twice.as_ref().ok(),
                Some(&once),
                "{}: formatted text must format to itself",
                path.display()
            );
        }
    }
}
