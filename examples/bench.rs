//! The benchmark table of docs/performance.md, measured in one run on one generated policy:
//!
//! ```sh
//! cargo run --release --example bench -- --spaces 20 --locations 10000 --roles 50 --members 20000
//! ```
//!
//! Stages are timed as the CLI runs them (sources in memory; files are written only for the
//! snapshot). Peak memory is the process high-water mark (VmHWM) measured right after the
//! build, before the other stages allocate.

use std::time::{Duration, Instant};

use charter::query::Index;
use charter::question::{Asked, Request, Want};
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn vm_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Counts and discards what is written; seeking is allowed (the digest is written in place).
struct Sink(u64);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for Sink {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        if let std::io::SeekFrom::Start(p) = pos {
            return Ok(p);
        }
        Ok(self.0)
    }
}

/// Keystrokes in `file` of the policy directory `dir` as `charter lsp` handles them: the new
/// text given to the workspace, then the policy analysed again (diagnostics of every file).
/// One untimed keystroke first (the cold analysis), then `n` timed ones.
fn keystrokes(dir: &std::path::Path, file: &std::path::Path, n: usize) -> Vec<Duration> {
    let mut ws = charter::ide::Workspace::load(dir).expect("workspace");
    let text = std::fs::read_to_string(file).expect("policy file");
    let _ = ws.analysis();
    (0..=n)
        .map(|i| {
            let edited = format!("{text}\n# keystroke {i}\n");
            let t = Instant::now();
            ws.set_text(file, &edited);
            let a = ws.analysis();
            let took = t.elapsed();
            assert!(
                !a.compiled.has_errors(),
                "an edit in a comment breaks nothing"
            );
            took
        })
        .skip(1)
        .collect()
}

fn range(v: &[Duration]) -> (Duration, Duration) {
    (
        v.iter().min().copied().unwrap_or_default(),
        v.iter().max().copied().unwrap_or_default(),
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut p = charter::synth::Params {
        spaces: 20,
        locations: 10_000,
        roles: 50,
        members: 20_000,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let v: usize = args
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{flag} takes a number"));
        match flag.as_str() {
            "--spaces" => p.spaces = v,
            "--locations" => p.locations = v,
            "--roles" => p.roles = v,
            "--members" => p.members = v,
            "--seed" => p.seed = v as u64,
            _ => panic!("unknown flag {flag}"),
        }
    }
    let files = charter::synth::generate(&p);
    // The same files on disk, for the editor's workspace (last section).
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut largest = (0, dir.path().to_path_buf());
    for (name, text) in &files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a file's directory")).expect("mkdir");
        std::fs::write(&path, text).expect("write policy file");
        if text.len() > largest.0 {
            largest = (text.len(), path);
        }
    }
    let mut sources = SourceSet::default();
    let mut bytes = 0usize;
    for (name, text) in files {
        bytes += text.len();
        sources.add(name, text);
    }
    let baseline_kib = vm_rss_kib().unwrap_or(0);

    // Full build: parse, resolve, check, emit, write the JSON snapshot (what `charter build` does).
    let path = std::env::temp_dir().join(format!("charter-bench-{}.json", std::process::id()));
    let t = Instant::now();
    let compiled = charter::compile(&sources);
    assert!(!compiled.has_errors(), "generated policy has errors");
    charter::output::write_atomic_with(&path, |f| {
        charter::pipeline::write_snapshot(&sources, &compiled, Format::Json, f, format::Sign::No)
    })
    .expect("write snapshot");
    let build_to_disk = t.elapsed();
    let peak_kib = vm_hwm_kib().unwrap_or(0);
    drop(compiled);

    // The same build with the snapshot serialised into a discarding sink: the compiler's own
    // work, without the disk (writing and fsyncing 100+ MB depends on the machine's storage).
    let t = Instant::now();
    let compiled = charter::compile(&sources);
    charter::pipeline::write_snapshot(
        &sources,
        &compiled,
        Format::Json,
        &mut Sink(0),
        format::Sign::No,
    )
    .expect("serialise");
    let build = t.elapsed();
    drop(compiled);

    // The bare pest parse of the same files, for the ratio.
    let t = Instant::now();
    for (_, f) in sources.files() {
        assert!(charter::syntax::bare_parse(&f.text));
    }
    let parse = t.elapsed();

    // Snapshot load as the commands do it: through the index at the end of the file, every
    // space parsed on the pool while another thread hashes the file; validation; the index.
    let t = Instant::now();
    let index = Index::new(charter::pipeline::load_snapshot(&path, None).expect("load snapshot"));
    let load = t.elapsed();
    // The same read as text (a YAML snapshot, or a JSON one written before the index).
    let t = Instant::now();
    std::hint::black_box(Index::new(format::load(&path).expect("load snapshot")));
    let load_text = t.elapsed();
    // Validation and the nesting pre-scan alone (both are part of the load above).
    let t = Instant::now();
    charter::snapshot::validate::validate(&index.snapshot).expect("valid");
    let validate = t.elapsed();
    let text = std::fs::read_to_string(&path).expect("snapshot text");
    let t = Instant::now();
    assert!(format::nesting_ok(&text, format::Format::Json));
    let prescan = t.elapsed();
    drop(text);
    // One query on the snapshot as `charter query` asks it: only the spaces its answer looks
    // at are read, the whole file hashed beside (`pipeline::with_index`).
    let first_member = index.snapshot.spaces[0].members[3].name.clone();
    let first_space = index.snapshot.spaces[0].id.clone();
    let one_query = format!("\"{first_member}\" can view data in {first_space}");
    let mut lazy = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let allowed = charter::pipeline::with_index(&path, None, |ix| {
            let mut sources = charter::source::SourceSet::default();
            let id = sources.add("<query>", one_query.clone());
            match charter::query::parse(ix, id, &one_query) {
                Ok(charter::question::ResolvedQuery::Can {
                    member, request, ..
                }) => {
                    let d = ix.decide(&member, &request);
                    std::hint::black_box(ix.explain(&member, &request, &d));
                    d.allowed()
                }
                _ => false,
            }
        })
        .expect("query the snapshot");
        std::hint::black_box(allowed);
        lazy.push(t.elapsed());
    }
    // The same as a process, when the release binary sits beside this example.
    let charter_bin = std::env::current_exe()
        .ok()
        .and_then(|e| Some(e.parent()?.parent()?.join("charter")))
        .filter(|b| b.is_file());
    let mut process: Vec<Duration> = Vec::new();
    if let Some(bin) = &charter_bin {
        for _ in 0..5 {
            let t = Instant::now();
            let status = std::process::Command::new(bin)
                .args(["query".as_ref(), path.as_os_str(), one_query.as_ref()])
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run charter");
            assert!(
                status.code().is_some_and(|c| c <= 1),
                "charter query failed"
            );
            process.push(t.elapsed());
        }
    }
    let _ = std::fs::remove_file(&path);

    // Queries: `can` at a location (restricted and full-access members alike), `who` over a space.
    let space = &index.snapshot.spaces[0];
    let members: Vec<&str> = space.members.iter().map(|m| m.name.as_str()).collect();
    let locations = space.locations.len() as u32;
    let mut rng = charter::synth::Rng::new(7);
    // 100 batches of 1,000 random queries each, built before timing; a batch's time divided
    // by its size is one sample (timing single ~100 ns calls would mostly measure the clock).
    let batches: Vec<Vec<(Request, &str, u32)>> = (0..100)
        .map(|_| {
            (0..1000)
                .map(|_| {
                    let q = Request {
                        space: 0,
                        want: if rng.chance(50) {
                            Want::View
                        } else {
                            Want::Edit
                        },
                        asked: Asked::Key(charter::model::Permission::Data),
                        at: Some(rng.below(locations as usize) as u32),
                        channel: charter::question::Channel::Any,
                    };
                    let m = rng.below(members.len());
                    (q, members[m], m as u32)
                })
                .collect()
        })
        .collect();
    let mut allowed = 0;
    let mut can = Vec::with_capacity(batches.len());
    let mut can_id = Vec::with_capacity(batches.len());
    for batch in &batches {
        let t = Instant::now();
        for (q, m, _) in batch {
            allowed += usize::from(
                std::hint::black_box(index.decide(std::hint::black_box(m), q)).allowed(),
            );
        }
        can.push(t.elapsed() / batch.len() as u32);
        let t = Instant::now();
        for (q, _, id) in batch {
            std::hint::black_box(index.decide_member(q, std::hint::black_box(*id)));
        }
        can_id.push(t.elapsed() / batch.len() as u32);
    }
    let mut who = Vec::new();
    for i in 0..20 {
        let q = Request {
            space: 0,
            want: Want::View,
            asked: Asked::Key(charter::model::Permission::Data),
            at: Some(i * 97 % locations),
            channel: charter::question::Channel::Any,
        };
        let t = Instant::now();
        std::hint::black_box(index.who(&q));
        who.push(t.elapsed());
    }

    // `query --batch` end to end after the load: 200,000 `can` lines of every space (read,
    // parse, resolve, decide, write the JSON line), 5 runs into a byte buffer.
    let mut lines = String::new();
    for _ in 0..200_000 {
        let s = rng.below(index.snapshot.spaces.len());
        let entry = &index.snapshot.spaces[s];
        let m = &entry.members[rng.below(entry.members.len())].name;
        let level = if rng.chance(50) { "view" } else { "edit" };
        let at = if entry.locations.is_empty() || rng.chance(30) {
            String::new()
        } else {
            format!(
                " at {}",
                entry.locations[rng.below(entry.locations.len())].id
            )
        };
        lines.push_str(&format!("\"{m}\" can {level} data{at} in {}\n", entry.id));
    }
    let mut batch_runs = Vec::new();
    let mut answered = 0;
    for _ in 0..5 {
        let mut out: Vec<u8> = Vec::with_capacity(6 << 20);
        let mut general = |_: &str, _: usize| (serde_json::Value::Null, false);
        let t = Instant::now();
        let ok = charter::query::batch::run(&index, lines.as_bytes(), &mut out, &mut general)
            .expect("batch in memory");
        batch_runs.push(t.elapsed());
        assert!(ok, "every generated line takes the quick path");
        answered = out.iter().filter(|&&b| b == b'\n').count();
    }
    let (lo, hi) = (
        batch_runs.iter().min().copied().unwrap_or_default(),
        batch_runs.iter().max().copied().unwrap_or_default(),
    );
    let batch_median = median(batch_runs);

    // The editor: a keystroke's diagnostics (`Workspace::set_text`, then `analysis()`), in the
    // largest file of the generated policy and in the bundled national-health policy.
    let big = keystrokes(dir.path(), &largest.1, 5);
    let national =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/national-health");
    let national_file = national.join("kenya.charter");
    let small = keystrokes(&national, &national_file, 5);

    let mb = bytes as f64 / 1e6;
    println!(
        "policy: {} spaces x {} locations, {} roles, {} members per space; {mb:.1} MB of source",
        p.spaces, p.locations, p.roles, p.members
    );
    println!();
    println!("| measure | value | target |");
    println!("| --- | --- | --- |");
    println!(
        "| bare pest parse | {:.2} s ({:.0} MB/s) | |",
        parse.as_secs_f64(),
        mb / parse.as_secs_f64()
    );
    println!(
        "| build: parse, resolve, check, emit, serialise and sign the JSON | {:.2} s | |",
        build.as_secs_f64()
    );
    println!(
        "| build / bare parse | {:.2}x | <= 2x |",
        build.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "| the same, as `charter build` does it (atomic write and fsync of the snapshot) | {:.2} s = {:.2}x parse | |",
        build_to_disk.as_secs_f64(),
        build_to_disk.as_secs_f64() / parse.as_secs_f64()
    );
    let peak_mb = (peak_kib.saturating_sub(baseline_kib)) as f64 / 1024.0 * 1.048576;
    println!(
        "| peak memory of the build (above the loaded sources) | {peak_mb:.0} MB = {:.1}x source | <= 10x |",
        peak_mb / mb
    );
    println!(
        "| snapshot load (read by its index, parse, digest, validation, index) | {:.2} s | |",
        load.as_secs_f64()
    );
    println!(
        "| the same read as text (YAML, or JSON without an index) | {:.2} s | |",
        load_text.as_secs_f64()
    );
    println!(
        "| of which validation | {:.3} s = {:.0}% of the load | |",
        validate.as_secs_f64(),
        100.0 * validate.as_secs_f64() / load.as_secs_f64()
    );
    println!(
        "| of which, in the read as text, the nesting pre-scan | {:.3} s = {:.0}% of it | |",
        prescan.as_secs_f64(),
        100.0 * prescan.as_secs_f64() / load_text.as_secs_f64()
    );
    let (lazy_lo, lazy_hi) = range(&lazy);
    println!(
        "| one `can` query on the snapshot, reading the spaces it needs (`with_index`), median of 5 | {:.3} s [{:.3}–{:.3}] | |",
        median(lazy).as_secs_f64(),
        lazy_lo.as_secs_f64(),
        lazy_hi.as_secs_f64()
    );
    if process.is_empty() {
        println!(
            "| the same as a process | (no `charter` binary beside this example: `cargo build --release` first) | <= 0.2 s |"
        );
    } else {
        let (process_lo, process_hi) = range(&process);
        println!(
            "| the same as a process (`charter query SNAPSHOT '...'`), median of 5 | {:.3} s [{:.3}–{:.3}] | <= 0.2 s |",
            median(process).as_secs_f64(),
            process_lo.as_secs_f64(),
            process_hi.as_secs_f64()
        );
    }
    println!(
        "| rebuild (to disk) / load | {:.1}x | >= 5x |",
        build_to_disk.as_secs_f64() / load.as_secs_f64()
    );
    println!(
        "| `can` query by member name, median of 100 batches of 1,000 | {} ns ({allowed} of 100,000 allowed) | < 200 ns |",
        median(can).as_nanos()
    );
    println!(
        "| `can` query, member already resolved to its id | {} ns | |",
        median(can_id).as_nanos()
    );
    println!(
        "| `query --batch`, 200,000 `can` lines after the load (read, parse, resolve, decide, write), median of 5 | {:.3} s [{:.3}–{:.3}] = {:.2} µs a line ({answered} answers) | <= 0.2 s |",
        batch_median.as_secs_f64(),
        lo.as_secs_f64(),
        hi.as_secs_f64(),
        batch_median.as_secs_f64() * 1e6 / 200_000.0
    );
    println!(
        "| `who` over {} members, median of 20 | {:.2} ms | < 5 ms |",
        members.len(),
        median(who).as_secs_f64() * 1e3
    );
    let (lo, hi) = range(&small);
    println!(
        "| editor: a keystroke's diagnostics in policies/national-health, median of 5 | {:.1} ms [{:.1}–{:.1}] | <= 50 ms |",
        median(small).as_secs_f64() * 1e3,
        lo.as_secs_f64() * 1e3,
        hi.as_secs_f64() * 1e3
    );
    let (lo, hi) = range(&big);
    println!(
        "| editor: a keystroke's diagnostics in the {:.1} MB file of this policy, median of 5 | {:.2} s [{:.2}–{:.2}] | <= 1 s |",
        largest.0 as f64 / 1e6,
        median(big).as_secs_f64(),
        lo.as_secs_f64(),
        hi.as_secs_f64()
    );
}
