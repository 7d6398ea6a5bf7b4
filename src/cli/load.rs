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
    Index::from_path(path, key).map_err(refused)
}

/// `ask` answered on the index of `path`, reading of a snapshot only what the answer needs
/// ([`charter::pipeline::with_index`]); failures as [`load_index`]'s.
pub(crate) fn with_index<R>(
    path: &Path,
    key: Option<&Path>,
    ask: impl FnMut(&Index) -> R,
) -> Result<R, u8> {
    charter::pipeline::with_index(path, key, ask).map_err(refused)
}

fn refused(e: charter::OpenError) -> u8 {
    if let charter::OpenError::Errors {
        sources,
        diagnostics,
        ..
    } = &e
    {
        print_errors(sources, diagnostics);
    }
    fail(e)
}

/// The space `id` of an index, or exit 2 with the nearest spelling and the spaces there are.
pub(crate) fn space_of(index: &Index, id: &str) -> Result<u32, u8> {
    if let Some(&s) = index.space_ids.get(id) {
        return Ok(s);
    }
    let ids: Vec<&str> = index
        .snapshot
        .spaces
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    let hint = charter::diagnostic::suggest::did_you_mean(id, ids.iter().copied());
    let hint = if hint.is_empty() {
        String::new()
    } else {
        format!(": {hint}")
    };
    Err(fail(format!(
        "no space `{}`{hint}\n  spaces: {}",
        id.escape_debug(),
        ids.join(", ")
    )))
}
