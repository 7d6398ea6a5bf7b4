//! Micro-benchmarks of each stage on a generated policy (`cargo bench`). Sizes are modest so
//! `cargo test --all-targets` (which runs each benchmark once) stays fast; the full-size
//! figures of docs/performance.md come from `cargo run --release --example bench`.

use std::sync::OnceLock;

use charter::query::Index;
use charter::question::{Asked, Request, Want};
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;
use divan::Bencher;

fn main() {
    divan::main();
}

const PARAMS: charter::synth::Params = charter::synth::Params {
    spaces: 2,
    locations: 2_000,
    roles: 20,
    members: 2_000,
    seed: 1,
};

fn sources() -> &'static SourceSet {
    static S: OnceLock<SourceSet> = OnceLock::new();
    S.get_or_init(|| {
        let mut s = SourceSet::default();
        for (name, text) in charter::synth::generate(&PARAMS) {
            s.add(name, text);
        }
        s
    })
}

fn snapshot_json() -> &'static String {
    static J: OnceLock<String> = OnceLock::new();
    J.get_or_init(|| {
        let compiled = charter::compile(sources());
        format::render(&charter::emit::emit(&compiled.ir, sources()), Format::Json)
    })
}

fn index() -> &'static Index {
    static I: OnceLock<Index> = OnceLock::new();
    I.get_or_init(|| Index::new(format::parse(snapshot_json()).expect("snapshot")))
}

#[divan::bench]
fn bare_pest_parse() {
    for (_, f) in sources().files() {
        divan::black_box(charter::syntax::bare_parse(&f.text));
    }
}

#[divan::bench]
fn build() {
    let compiled = charter::compile(sources());
    let mut snapshot = charter::emit::emit(&compiled.ir, sources());
    let mut out = std::io::Cursor::new(Vec::new());
    format::write(&mut snapshot, Format::Json, &mut out).expect("write");
}

#[divan::bench]
fn snapshot_load(bencher: Bencher) {
    let json = snapshot_json();
    bencher.bench(|| {
        let snapshot = format::parse(json).expect("parse");
        assert!(format::verify(json, &snapshot.content_digest, None));
        Index::new(snapshot)
    });
}

fn questions() -> Vec<(Request, String)> {
    let index = index();
    let space = &index.snapshot.spaces[0];
    let mut rng = charter::synth::Rng::new(3);
    (0..1024)
        .map(|_| {
            let q = Request {
                space: 0,
                want: if rng.chance(50) {
                    Want::View
                } else {
                    Want::Edit
                },
                asked: Asked::Key(charter::model::Permission::Data),
                at: Some(rng.below(space.locations.len()) as u32),
                channel: charter::question::Channel::Any,
            };
            (
                q,
                space.members[rng.below(space.members.len())].name.clone(),
            )
        })
        .collect()
}

#[divan::bench]
fn can_query(bencher: Bencher) {
    let index = index();
    let qs = questions();
    let mut i = 0;
    bencher.bench_local(|| {
        let (q, m) = &qs[i % qs.len()];
        i += 1;
        index.decide(divan::black_box(m), q).allowed()
    });
}

#[divan::bench]
fn who_query(bencher: Bencher) {
    let index = index();
    let q = Request {
        space: 0,
        want: Want::View,
        asked: Asked::Key(charter::model::Permission::Data),
        at: Some(5),
        channel: charter::question::Channel::Any,
    };
    bencher.bench(|| index.who(divan::black_box(&q)).len());
}
