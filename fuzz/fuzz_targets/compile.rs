//! Any bytes as a policy file: parse, resolve, check; when it compiles, also emit, sign,
//! query, and format (which must be idempotent and keep every comment). Must never panic, hang or overflow the stack.
#![no_main]

use charter::source::SourceSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sources = SourceSet::default();
    let id = sources.add("fuzz.charter", text.as_ref());
    let compiled = charter::compile(&sources);
    if !compiled.has_errors() {
        let snapshot = charter::emit::emit(&compiled.ir, &sources);
        let json = charter::snapshot::format::render(&snapshot, charter::snapshot::format::Format::Json);
        let parsed = charter::snapshot::format::parse(&json).expect("own snapshot parses");
        assert!(charter::snapshot::format::verify(&json, &parsed.content_digest, None), "own snapshot verifies");
        let index = charter::query::Index::new(parsed);
        for space in 0..index.spaces.len() as u32 {
            for &p in charter::model::Permission::ALL {
                let q = charter::query::Question {
                    space,
                    want: charter::query::Want::View,
                    asked: charter::query::Asked::Key(p),
                    at: None,
                    channel: charter::query::Channel::Any,
                };
                let _ = index.who(&q);
            }
        }
    }
    if let Ok(once) = charter::syntax::format(id, &text) {
        let twice = charter::syntax::format(id, &once).expect("formatted text parses");
        assert_eq!(once, twice, "fmt is idempotent");
        // Never a comment lost or invented (a role's settings may be reordered with theirs).
        let sorted = |t: &str| {
            let mut c: Vec<String> = charter::syntax::comments(t).iter().map(|c| c.trim_end().to_owned()).collect();
            c.sort();
            c
        };
        assert_eq!(sorted(&text), sorted(&once), "fmt keeps every comment");
    }
});
