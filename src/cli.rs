//! The command line's commands, one module each, over the library's entry points
//! (`charter::load_and_compile`, `charter::build`, `Index::from_path`).
//!
//! Reads top-down: `main` → `cli` → the library. Nothing here is imported by the library;
//! `output` holds what every command shares, `load` the entry points with their failures
//! printed.

pub(crate) mod check;
pub(crate) mod diff;
pub(crate) mod explain;
pub(crate) mod fmt;
mod git;
pub(crate) mod hq;
mod load;
pub(crate) mod lsp;
pub(crate) mod output;
pub(crate) mod progress;
pub(crate) mod query;
pub(crate) mod report;
pub(crate) mod roles;
pub(crate) mod test;
pub(crate) mod verify;
