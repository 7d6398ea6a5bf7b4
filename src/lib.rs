//! charter: a policy-as-code compiler for CommCare-style project spaces.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! source ──syntax──▶ ast ──resolve──▶ ir ──check──▶ diagnostics
//!                                      └──emit───▶ snapshot ──query::Index──▶ answers
//!                                                                (testing, diff, report)
//! ```
//!
//! The entry points: [`load_and_compile`] (a policy path → its sources and [`Compiled`], the
//! loader's problems included), [`compile`] (sources already loaded), [`build`] (→ a
//! [`snapshot::Snapshot`]) and [`query::Index::from_path`] (a snapshot file, or a policy
//! compiled to one); all but `compile` are in [`pipeline`].
//!
//! - [`source`]: files, spans, line index; loading a policy path (undecodable files are
//!   returned as data; `diagnostic` words them).
//! - [`syntax`]: text → [`ast`] (pest stays inside); also `charter fmt`'s formatter.
//! - [`resolve`]: AST → [`ir`]: names to ids, scopes, duplicates, values; queries' names.
//! - [`check`]: the rules of SPEC §3: a registry of lints, one function per code.
//! - [`emit`]: IR → [`snapshot`], the deterministic compiled form (`snapshot::format` writes
//!   and reads it, `snapshot::validate` checks a loaded one, `snapshot::sign` signs it).
//! - [`question`]: the resolved questions `resolve` builds and `query` decides.
//! - [`query`]: a snapshot indexed for `can`, `who`, `what` and `why`: `decide` (no strings)
//!   and `explain` (the words).
//! - [`testing`]: the `test` blocks' assertions, run on a query index.
//! - [`diff`]: two versions compared by their answers, and the edits that explain it.
//! - [`report`]: Enterprise Console reports from a snapshot.
//! - [`model`]: the domain: the permission catalogue (one table), plans, built-in roles,
//!   effective rules; no syntax, no prose.
//! - [`diagnostic`]: the one diagnostic type; `diagnostic::render` is the only renderer.
//! - [`pipeline`]: the entry points from a path, putting the stages together.
//! - [`output`]: atomic file writes.
//! - [`synth`]: a seeded generator of valid policies, for benchmarks and property tests.
//!
//! The command line (`src/main.rs`, `src/cli/`) belongs to the binary; nothing here imports it.

// A panic is for a broken internal invariant only: each remaining `expect` says why it
// cannot fail (`#[expect(clippy::expect_used, reason = ...)]`); tests may unwrap.
#![deny(clippy::expect_used, clippy::unwrap_used)]

pub mod ast;
pub mod check;
pub mod diagnostic;
pub mod diff;
pub mod emit;
pub mod hq;
pub mod ide;
pub mod ir;
pub mod model;
pub mod output;
pub mod pipeline;
pub mod query;
pub mod question;
pub mod report;
pub mod resolve;
pub mod snapshot;
pub mod source;
pub mod sqlite;
pub mod syntax;
pub mod synth;
pub mod testing;

pub use pipeline::{
    OpenError, build, compile_loaded, load_and_compile, load_and_compile_with_limit,
};

use diagnostic::{Code, Diagnostic, Severity};
use source::SourceSet;

/// The result of compiling a policy: the IR (when resolution ran) and every diagnostic, sorted
/// by file and position.
pub struct Compiled {
    pub ir: ir::Ir,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Parses, resolves and checks every file of a policy.
///
/// When a file has a syntax error, resolution still runs on the files that parsed, but
/// unknown-name reports are dropped (the names may be declared in the broken part) and the
/// rule checks are skipped. Resolution errors do not stop the checks: unresolved references
/// are simply absent from the IR.
pub fn compile(sources: &SourceSet) -> Compiled {
    compile_on(sources, pool())
}

/// [`compile`] with the files' own work on `pool`, or on this thread.
fn compile_on(sources: &SourceSet, pool: Option<&rayon::ThreadPool>) -> Compiled {
    use rayon::prelude::*;
    // Files parse and resolve their own declarations on all cores, each tree dropped as soon as
    // its file is resolved; the merge is in source order, so the output does not depend on the
    // threads.
    let files: Vec<_> = sources.files().filter(|(_, f)| !f.undecodable).collect();
    let declare = |(id, file): (source::SourceId, &source::SourceFile)| {
        let (ast, diagnostics) = parse_file(id, &file.text);
        (resolve::declare(ast), diagnostics)
    };
    let declared: Vec<_> = match pool {
        Some(pool) => pool.install(|| files.into_par_iter().map(declare).collect()),
        None => files.into_iter().map(declare).collect(),
    };
    compile_declared(sources, declared.into_iter())
}

/// The threads files are compiled on: one per core (or `RAYON_NUM_THREADS`), each with the
/// binary's large stack (recursion is bounded by the nesting limit; the stack is the second
/// line of defence). `None` if no thread could be started: the files are then compiled here.
pub(crate) fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(64 * 1024 * 1024)
            .thread_name(|i| format!("charter-compile-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// Parses one file under its own suggestion budget ([`diagnostic::suggest::start_file`]); its
/// [`resolve::declare`] follows on the same thread.
pub fn parse_file(id: source::SourceId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    diagnostic::suggest::start_file(text.len());
    syntax::parse(id, text)
}

/// [`compile`] of files already parsed and declared, one `(declarations, syntax diagnostics)`
/// per decodable file in source order: the language server keeps each file's and redoes only
/// the file that changed (`ide::Workspace`). Both go through here, so their diagnostics are
/// the same.
pub fn compile_declared(
    sources: &SourceSet,
    declared: impl Iterator<Item = (resolve::FileDeclarations, Vec<Diagnostic>)>,
) -> Compiled {
    let mut diagnostics = Vec::new();
    let mut resolver = resolve::Resolver::default();
    for (file, mut d) in declared {
        diagnostics.append(&mut d);
        resolver.add_declarations(file);
    }
    // What crosses files spends a run's budget of its own.
    diagnostic::suggest::reset_budget();
    let syntax_failed = diagnostics.iter().any(|d| d.severity == Severity::Error)
        || sources.files().any(|(_, f)| f.undecodable);
    let (ir, mut resolve_diagnostics) = resolver.finish();
    if syntax_failed {
        resolve_diagnostics.retain(|d| d.code != Code::UnknownName);
    }
    diagnostics.append(&mut resolve_diagnostics);
    if !syntax_failed {
        diagnostics.append(&mut check::check(&ir));
    }
    diagnostic::sort(&mut diagnostics);
    Compiled { ir, diagnostics }
}

#[cfg(test)]
mod tests {
    //! Files compiled on several threads give what one thread gives: the same diagnostics and
    //! the same snapshot, byte for byte, whatever the policy and however it is split.
    use super::*;
    use proptest::prelude::*;

    fn compiled(
        sources: &SourceSet,
        pool: Option<&rayon::ThreadPool>,
    ) -> (Vec<Diagnostic>, Vec<u8>) {
        let c = compile_on(sources, pool);
        if c.has_errors() {
            return (c.diagnostics, Vec::new());
        }
        let mut snapshot = emit::emit(&c.ir, sources);
        let mut out = std::io::Cursor::new(Vec::new());
        snapshot::format::write(&mut snapshot, snapshot::format::Format::Json, &mut out).unwrap();
        (c.diagnostics, out.into_inner())
    }

    /// Every ui case that is UTF-8, as `(name, text)`: bad and good files, names declared in
    /// several of them.
    fn ui_cases() -> &'static [(String, String)] {
        static CASES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
        CASES.get_or_init(read_ui_cases)
    }

    fn read_ui_cases() -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/ui"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "charter")
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    out.push((path.display().to_string(), text));
                }
            }
        }
        out.sort();
        out
    }

    fn threads(n: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Any subset of the ui cases, in any order, as the files of one policy.
        #[test]
        fn ui_cases_as_one_policy(picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..24), n in 2usize..5) {
            let cases = ui_cases();
            let mut sources = SourceSet::default();
            for (i, pick) in picks.iter().enumerate() {
                let (name, text) = pick.get(cases);
                sources.add(format!("{i:02}-{name}"), text.as_str());
            }
            prop_assert_eq!(compiled(&sources, Some(&threads(n))), compiled(&sources, None));
        }

        /// A build streams its snapshot space by space: the bytes of writing it whole, in
        /// both formats, signed or not.
        #[test]
        fn streamed_snapshots_are_whole_ones(seed in 0u64..1000, spaces in 0usize..4, yaml: bool, signed: bool) {
            let p = synth::Params { spaces, locations: 30, roles: 5, members: 20, seed };
            let mut sources = SourceSet::default();
            for (name, text) in synth::generate(&p) {
                sources.add(name, text);
            }
            let c = compile(&sources);
            let format = if yaml { snapshot::format::Format::Yaml } else { snapshot::format::Format::Json };
            let key = snapshot::sign::SecretKey::generate().unwrap();
            let sign = || if signed { snapshot::format::Sign::With(&key) } else { snapshot::format::Sign::No };
            let mut whole = std::io::Cursor::new(Vec::new());
            snapshot::format::write_with(&mut build(&sources, &c), format, &mut whole, sign()).unwrap();
            let mut streamed = std::io::Cursor::new(Vec::new());
            pipeline::write_snapshot(&sources, &c, format, &mut streamed, sign()).unwrap();
            // Ed25519 signatures are deterministic: the same digest gives the same signature.
            prop_assert!(whole.get_ref() == streamed.get_ref());
            // The JSON rendered by two threads (what a build on several cores writes), whatever
            // this machine's core count.
            if !yaml {
                let mut rendered = std::io::Cursor::new(Vec::new());
                let mut head = emit::head(&c.ir, &sources);
                pipeline::write_json_rendered(&c.ir, &mut head, &mut rendered, sign()).unwrap();
                prop_assert!(whole.get_ref() == rendered.get_ref());
            }
        }

        /// Generated valid policies (one file per space).
        #[test]
        fn generated_policies(seed in 0u64..1000, spaces in 1usize..6, n in 2usize..5) {
            let p = synth::Params { spaces, locations: 60, roles: 6, members: 40, seed };
            let mut sources = SourceSet::default();
            for (name, text) in synth::generate(&p) {
                sources.add(name, text);
            }
            let (diagnostics, bytes) = compiled(&sources, Some(&threads(n)));
            prop_assert!(!diagnostics.iter().any(|d| d.severity == Severity::Error));
            prop_assert_eq!((diagnostics, bytes), compiled(&sources, None));
        }
    }
}
