//! The library's entry points from a path: a policy loaded and compiled (with the loader's
//! problems as diagnostics), and its snapshot built.
//!
//! These are what the command line and the tests call; they hold no logic of their own beyond
//! putting the stages together, so that loading, compiling and building are done one way.

use std::path::Path;

use crate::Compiled;
use crate::diagnostic::{self, Diagnostic};
use crate::snapshot::Snapshot;
use crate::source::{self, LoadError, SourceSet, Undecodable};

/// Loads a policy path ([`SourceSet::load`]) and compiles it; the diagnostics include the
/// files that could not be decoded (`E0004`, `E0005`), sorted with the others.
pub fn load_and_compile(path: &Path) -> Result<(SourceSet, Compiled), LoadError> {
    load_and_compile_with_limit(path, source::MAX_FILE_BYTES)
}

/// [`load_and_compile`] with another file-size limit (tests, embedding).
pub fn load_and_compile_with_limit(
    path: &Path,
    max_file_bytes: usize,
) -> Result<(SourceSet, Compiled), LoadError> {
    let (sources, undecodable) = SourceSet::load_with_limit(path, max_file_bytes)?;
    let compiled = compile_loaded(&sources, undecodable);
    Ok((sources, compiled))
}

/// [`crate::compile`] of files loaded by the caller (from a git revision, say), with the
/// diagnostics of the files that could not be decoded merged in and sorted.
pub fn compile_loaded(sources: &SourceSet, undecodable: Vec<Undecodable>) -> Compiled {
    let mut diagnostics: Vec<Diagnostic> = undecodable.into_iter().map(Diagnostic::from).collect();
    let mut compiled = crate::compile(sources);
    diagnostics.append(&mut compiled.diagnostics);
    diagnostic::sort(&mut diagnostics);
    compiled.diagnostics = diagnostics;
    compiled
}

/// The snapshot of a compiled policy ([`crate::emit::emit`]). The caller decides whether its
/// diagnostics allow building it.
pub fn build(sources: &SourceSet, compiled: &Compiled) -> Snapshot {
    crate::emit::emit(&compiled.ir, sources)
}
