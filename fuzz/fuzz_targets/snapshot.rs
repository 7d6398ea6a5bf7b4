//! A valid snapshot (the acme example, built once) edited as the fuzzer's bytes say: fields
//! and array entries replaced, deleted, duplicated, swapped or copied from elsewhere in the
//! file. The content digest is then recomputed, as someone editing on purpose would, so every
//! input reaches validation; loading must never panic, hang or grow memory without bound, and
//! a snapshot that loads must answer `why`, `who` and `what` without panicking.
#![no_main]

use std::sync::OnceLock;

use charter::query::{Asked, Channel, Index, Question, Want};
use charter::snapshot::format::{self, Format, PLACEHOLDER};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn base() -> &'static Value {
    static B: OnceLock<Value> = OnceLock::new();
    B.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/acme");
        let (sources, _) =
            charter::source::SourceSet::load(std::path::Path::new(dir)).expect("acme loads");
        let compiled = charter::compile(&sources);
        let snapshot = charter::emit::emit(&compiled.ir, &sources);
        serde_json::from_str(&format::render(&snapshot, Format::Json)).expect("own JSON")
    })
}

/// The fuzzer's bytes, read one at a time (zeros once they run out).
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (usize::from(self.next()) << 8 | usize::from(self.next())) % n
        }
    }
}

/// A path into the value: at each level the bytes pick a child, or stop.
fn walk<'v>(v: &'v mut Value, b: &mut Bytes) -> &'v mut Value {
    let mut cur = v;
    for _ in 0..12 {
        if b.next() % 5 == 0 {
            break;
        }
        let len = match &*cur {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        let i = b.below(len);
        cur = match cur {
            Value::Array(a) => &mut a[i],
            Value::Object(o) => o.values_mut().nth(i).expect("i < len"),
            _ => unreachable!(),
        };
    }
    cur
}

/// Something to put somewhere: a word from the catalogue and snapshot vocabulary, a number, or
/// a copy of another part of the snapshot.
fn replacement(doc: &Value, b: &mut Bytes) -> Value {
    const WORDS: &[&str] = &[
        "admin",
        "all",
        "none",
        "view",
        "edit",
        "on",
        "off",
        "superuser",
        "",
        "acme-prod",
        "acme-global",
        "acme",
        "india",
        "lko",
        "pat-01",
        "lko-01",
        "priya@acme.org",
        "PRIYA@acme.org",
        "district-manager",
        "supervisor",
        "visits",
        "web_user",
        "mobile_worker",
        "builtin",
        "custom",
        "redefined",
        "enterprise",
        "community",
        "downloads",
        "full_organization_access",
        "data",
        "reports",
        "sha256:",
    ];
    match b.next() % 8 {
        0 => Value::String(WORDS[b.below(WORDS.len())].to_owned()),
        1 => Value::from(u64::from(b.next()) % 40),
        2 => Value::from(u64::from(u32::MAX) - u64::from(b.next())),
        3 => Value::Null,
        4 => Value::Array(Vec::new()),
        5 => Value::Bool(b.next() % 2 == 0),
        6 => Value::Array(vec![Value::String(WORDS[b.below(WORDS.len())].to_owned())]),
        _ => {
            let mut copy = doc.clone();
            walk(&mut copy, b).clone()
        }
    }
}

/// A value of the same JSON type as `like` (mostly), so that edits get past the parser to
/// validation and the queries.
fn same_type(doc: &Value, like: &Value, b: &mut Bytes) -> Value {
    for _ in 0..4 {
        let v = replacement(doc, b);
        let same = matches!(
            (like, &v),
            (Value::String(_), Value::String(_))
                | (Value::Number(_), Value::Number(_))
                | (Value::Array(_), Value::Array(_))
                | (Value::Object(_), Value::Object(_))
                | (Value::Bool(_), Value::Bool(_))
        );
        if same {
            return v;
        }
    }
    replacement(doc, b)
}

fn edit(doc: &mut Value, b: &mut Bytes) {
    let op = b.next() % 5;
    let typed = b.next() % 4 != 0;
    let snapshot = doc.clone();
    let target = walk(doc, b);
    let new = if typed {
        same_type(&snapshot, target, b)
    } else {
        replacement(&snapshot, b)
    };
    match (op, target) {
        (0, t) => *t = new,
        (1, Value::Array(a)) if !a.is_empty() => {
            let i = b.below(a.len());
            a.remove(i);
        }
        (1, Value::Object(o)) if !o.is_empty() => {
            let i = b.below(o.len());
            let key = o.keys().nth(i).cloned().expect("i < len");
            o.remove(&key);
        }
        (2, Value::Array(a)) if !a.is_empty() => {
            let i = b.below(a.len());
            let copy = a[i].clone();
            let j = b.below(a.len() + 1);
            a.insert(j, copy);
        }
        (3, Value::Array(a)) if a.len() > 1 => {
            let (i, j) = (b.below(a.len()), b.below(a.len()));
            a.swap(i, j);
        }
        (4, Value::Object(o)) if !o.is_empty() => {
            let i = b.below(o.len());
            let key = o.keys().nth(i).cloned().expect("i < len");
            o.insert(key, new);
        }
        (_, t) => *t = new,
    }
}

/// The text with its content digest recomputed (docs/snapshot.md).
fn reseal(doc: &mut Value) -> String {
    if let Value::Object(o) = doc {
        o.insert("content_digest".into(), Value::String(PLACEHOLDER.into()));
    }
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(doc).expect("serialises")
    );
    let digest = format::sha256(text.as_bytes());
    text.replacen(PLACEHOLDER, &digest, 1)
}

fn ask(index: &Index) {
    for (s, space) in index.snapshot.spaces.iter().enumerate().take(4) {
        let s = s as u32;
        let locations = space.locations.len() as u32;
        for &p in charter::model::Permission::ALL {
            for at in [None, Some(0), locations.checked_sub(1)] {
                let at = at.filter(|l| *l < locations);
                let q = Question {
                    space: s,
                    want: Want::View,
                    asked: Asked::Key(p),
                    at,
                    channel: Channel::Any,
                };
                let _ = index.who(&q);
                for m in space.members.iter().take(4) {
                    let d = index.decide(&m.name, &q);
                    let e = index.explain(&m.name, &q, &d);
                    assert_eq!(e.allowed, d.allowed());
                }
            }
        }
        for r in 0..space.reports.len().min(3) as u32 {
            let q = Question {
                space: s,
                want: Want::View,
                asked: Asked::Report(r),
                at: None,
                channel: Channel::Any,
            };
            let _ = index.who(&q);
        }
        for m in space.members.iter().take(4) {
            let _ = index.what(&m.name, s);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let mut doc = base().clone();
    let edits = 1 + b.next() % 4;
    let yaml = b.next() % 4 == 0;
    for _ in 0..edits {
        edit(&mut doc, &mut b);
    }
    let text = reseal(&mut doc);
    // JSON is YAML too: the YAML loader is fuzzed on the same edits.
    let format = if yaml { Format::Yaml } else { Format::Json };
    if let Ok(snapshot) = format::load_text(std::path::Path::new("fuzz.json"), &text, format) {
        ask(&Index::new(snapshot));
    }
});
