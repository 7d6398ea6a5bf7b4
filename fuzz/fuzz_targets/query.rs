//! Any bytes as a query against the acme example: parse, resolve, answer, explain.
#![no_main]

use std::sync::OnceLock;

use charter::query::{Index, Query};
use charter::source::{SourceId, SourceSet};
use libfuzzer_sys::fuzz_target;

fn index() -> &'static Index {
    static I: OnceLock<Index> = OnceLock::new();
    I.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/acme");
        let (sources, _) = SourceSet::load(std::path::Path::new(dir)).expect("acme loads");
        let compiled = charter::compile(&sources);
        Index::new(charter::emit::emit(&compiled.ir, &sources))
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let index = index();
    if let Ok(q) = charter::query::parse(index, SourceId(0), &text) {
        match q {
            Query::Can { member, question, .. } | Query::Why { member, question, .. } => {
                let d = index.decide(&member, &question);
                let e = index.explain(&member, &question, &d);
                assert_eq!(e.allowed, d.allowed());
            }
            Query::Who { question } => {
                let _ = index.who(&question);
            }
            Query::What { member, space } => {
                let _ = index.what(&member, space);
            }
        }
    }
});
