//! Mutated policies never panic the compiler: deletions, duplications and insertions of
//! characters and lines in every bundled policy and ui case, compiled and (when clean) emitted.
//! Deterministic (a fixed-seed generator) and bounded so the suite stays fast.

use std::path::{Path, PathBuf};

use charter::source::SourceSet;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "=",
    "==",
    ",",
    ";",
    "\n",
    "#",
    " in ",
    " at ",
    "role ",
    "admin",
    "off",
    "edit",
    "upstream acme-prod\n",
    "full_organization_access = off\n",
    "locations [lko]",
    "é",
    "\u{FEFF}",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut s: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(s.len() + 1);
        match rng.below(4) {
            0 if !s.is_empty() => {
                let len = 1 + rng.below(8);
                let end = (at + len).min(s.len());
                s.drain(at.min(s.len())..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (i, c) in piece.chars().enumerate() {
                    s.insert(at.min(s.len()) + i, c);
                }
            }
            2 if s.contains(&'\n') => {
                // Duplicate a line.
                let text: String = s.iter().collect();
                let lines: Vec<&str> = text.lines().collect();
                let i = rng.below(lines.len());
                let mut out: Vec<&str> = lines.clone();
                out.insert(i, lines[i]);
                s = out.join("\n").chars().collect();
            }
            _ => {
                const CHARS: &[u8] = b"az09_-{}[]\"=#\n ";
                let c = CHARS[rng.below(CHARS.len())] as char;
                s.insert(at.min(s.len()), c);
            }
        }
    }
    s.into_iter().collect()
}

fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = Vec::new();
    let mut pending = vec![root.join("policies"), root.join("tests/ui")];
    while let Some(dir) = pending.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|x| x == "charter") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            (text.len() < 40_000).then(|| (p.display().to_string(), text))
        })
        .collect()
}

#[test]
fn mutated_policies_never_panic() {
    let corpus = corpus();
    assert!(corpus.len() > 30);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut clean = 0;
    for round in 0..40 {
        for (name, text) in &corpus {
            let mutated = mutate(text, &mut rng);
            let mut sources = SourceSet::default();
            sources.add(name.clone(), mutated.clone());
            let result = std::panic::catch_unwind(|| {
                let compiled = charter::compile(&sources);
                if !compiled.has_errors() {
                    let snapshot = charter::emit::emit(&compiled.ir, &sources);
                    let _ = charter::snapshot::format::render(
                        &snapshot,
                        charter::snapshot::format::Format::Json,
                    );
                    return true;
                }
                false
            });
            match result {
                Ok(true) => clean += 1,
                Ok(false) => {}
                Err(_) => {
                    panic!("round {round}: compiling a mutation of {name} panicked:\n{mutated}")
                }
            }
        }
    }
    // The mutations must not all be rejected outright, or the later stages go untested.
    assert!(clean > 50, "only {clean} mutations compiled cleanly");
}

#[test]
fn mutated_queries_never_panic() {
    let base = [
        "\"priya@acme.org\" can view data at lko-01 in acme-prod",
        "who can edit data in acme-prod",
        "what can \"ana@acme.org\" do in acme-prod",
        "why \"sam@acme.org\" cannot view report visits in acme-prod",
    ];
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let q = mutate(base[rng.below(base.len())], &mut rng);
        let _ = charter::syntax::parse_query(charter::source::SourceId(0), &q);
    }
}

/// The deepest file the nesting limit lets through, in each shape the grammar recurses on
/// (nested locations, a skipped unknown block, either left open), on a thread with Rust's
/// default 2 MiB stack: the parse, the lowering and `fmt` stay within it. pest's own stack
/// probe is off (Cargo.toml), so this limit is the only guard; one level more is refused.
#[test]
fn the_deepest_accepted_nesting_fits_a_default_thread_stack() {
    let depth = charter::syntax::MAX_NESTING;
    // `space s {` and `locations {` are two of the levels.
    let locations = |levels: usize, closed: bool| {
        let mut text = String::from("space s {\n  plan advanced\n  locations {\n");
        text.push_str(&"r x {\n".repeat(levels));
        if closed {
            text.push_str(&"}\n".repeat(levels));
            text.push_str("  }\n}\n");
        }
        text
    };
    // An unknown statement's block is skipped by `skip_block`, which recurses on each `{`.
    let unknown = |levels: usize, closed: bool| {
        let mut text = String::from("space s {\n  foo ");
        text.push_str(&"{ ".repeat(levels));
        if closed {
            text.push_str(&"} ".repeat(levels));
            text.push_str("\n}\n");
        }
        text
    };
    // (name, text, pest accepts it, `fmt` accepts it, refused as too deep)
    let cases = [
        ("locations", locations(depth - 2, true), true, true, false),
        (
            "open locations",
            locations(depth - 2, false),
            false,
            false,
            false,
        ),
        (
            "unknown block",
            unknown(depth - 1, true),
            true,
            false,
            false,
        ),
        (
            "open unknown block",
            unknown(depth - 1, false),
            false,
            false,
            false,
        ),
        (
            "too deep locations",
            locations(depth - 1, true),
            false,
            false,
            true,
        ),
        (
            "too deep unknown block",
            unknown(depth, true),
            false,
            false,
            true,
        ),
    ];
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for (name, text, parses, formats, too_deep) in cases {
                let mut sources = SourceSet::default();
                sources.add(format!("{name}.charter"), text.clone());
                let compiled = charter::compile(&sources);
                let codes: Vec<&str> = compiled
                    .diagnostics
                    .iter()
                    .map(|d| d.code.as_str())
                    .collect();
                assert_eq!(codes.contains(&"E0003"), too_deep, "{name}: {codes:?}");
                assert_eq!(charter::syntax::bare_parse(&text), parses, "{name}");
                let formatted = charter::syntax::format(charter::source::SourceId(0), &text);
                assert_eq!(formatted.is_ok(), formats, "{name}");
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
