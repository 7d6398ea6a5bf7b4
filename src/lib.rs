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
    // Each file is resolved as soon as it is parsed, so only one syntax tree is alive at a time.
    compile_parsed(
        sources,
        sources
            .files()
            .filter(|(_, f)| !f.undecodable)
            .map(|(id, file)| syntax::parse(id, &file.text)),
    )
}

/// [`compile`] of files already parsed, one `(tree, syntax diagnostics)` per decodable file in
/// source order: the language server keeps each file's parse and re-parses only the file that
/// changed (`ide::Workspace`). Both go through here, so their diagnostics are the same.
pub fn compile_parsed(
    sources: &SourceSet,
    parsed: impl Iterator<Item = (ast::File, Vec<Diagnostic>)>,
) -> Compiled {
    diagnostic::suggest::reset_budget();
    let mut diagnostics = Vec::new();
    let mut resolver = resolve::Resolver::default();
    for (ast, mut d) in parsed {
        diagnostics.append(&mut d);
        resolver.add_file(ast);
    }
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
