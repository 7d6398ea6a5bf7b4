//! The library's entry points as the commands use them: a failure is printed, and becomes the
//! exit code.

use std::path::Path;

use charter::query::Index;
use charter::source::SourceSet;

use super::output::{fail, print_errors};

/// Loads and compiles a policy path ([`charter::load_and_compile`]); the diagnostics include
/// the loading problems (undecodable files) and are sorted.
pub(crate) fn compile_path(path: &Path) -> Result<(SourceSet, charter::Compiled), u8> {
    charter::load_and_compile(path).map_err(fail)
}

/// The index a query or report runs on ([`Index::from_path`]): a snapshot, or a policy
/// compiled to one in memory. A policy's errors are shown before the line saying it cannot be
/// queried.
pub(crate) fn load_index(path: &Path, key: Option<&Path>) -> Result<Index, u8> {
    Index::from_path(path, key).map_err(|e| {
        if let charter::OpenError::Errors {
            sources,
            diagnostics,
            ..
        } = &e
        {
            print_errors(sources, diagnostics);
        }
        fail(e)
    })
}
