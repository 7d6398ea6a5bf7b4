//! Stage 5: answers on a snapshot. One evaluator serves `charter query`, `charter test` and
//! both kinds of input: a policy is compiled and emitted to a snapshot in memory first, so
//! querying sources and querying the snapshot built from them give the same answers by
//! construction.
//!
//! - [`index`]: the snapshot with names interned, bitsets and location intervals;
//! - [`decide`]: the string-free decision path: [`Index::decide`] (the single decision
//!   procedure), `who`, `what`;
//! - [`login_as`]: whom a web user may log in as in Web Apps, and what that gives;
//! - [`explain`]: the same decision in words: reasons, and the smallest change that would
//!   allow it (as text and as [`Step`]s).
//!
//! The yes/no answer and the `why` explanation are both read off one [`Decision`], so they
//! cannot disagree. The questions themselves are [`crate::question`]'s, resolved here by the
//! one resolver of `resolve::question`.

pub mod batch;
pub mod decide;
pub mod explain;
pub mod index;
pub mod login_as;
pub mod names;

pub use decide::{ApiDenial, ApiReach, Decision, LoginAsGrant, LoginAsWhat, WhatAnswer};
pub use explain::{Explanation, Step};
pub use index::Index;

use crate::ast;
use crate::diagnostic::Diagnostic;
use crate::question::ResolvedQuery;
use crate::resolve::question::{Names, resolve_query};

impl Names for Index {
    fn looked_in(&self) -> &'static str {
        "in this snapshot"
    }
    fn space(&self, id: &str) -> Option<u32> {
        self.space_ids.get(id).copied()
    }
    fn space_ids(&self) -> Vec<&str> {
        self.snapshot.spaces.iter().map(|s| s.id.as_str()).collect()
    }
    fn space_id(&self, space: u32) -> &str {
        &self.snapshot.spaces[space as usize].id
    }
    fn location(&self, space: u32, id: &str) -> Option<u32> {
        self.space(space).location_ids.get(id).copied()
    }
    fn location_ids(&self, space: u32) -> Vec<&str> {
        self.entry(space)
            .locations
            .iter()
            .map(|l| l.id.as_str())
            .collect()
    }
    fn report(&self, space: u32, id: &str) -> Option<u32> {
        self.space(space).report_ids.get(id).copied()
    }
    fn report_ids(&self, space: u32) -> Vec<&str> {
        self.entry(space)
            .reports
            .iter()
            .map(|r| r.id.as_str())
            .collect()
    }
}

impl Index {
    /// Resolves a parsed query; unknown names give diagnostics on the query text.
    pub fn resolve(&self, q: &ast::Query) -> Result<ResolvedQuery, Vec<Diagnostic>> {
        resolve_query(self, q)
    }
}

/// Parses and resolves a query against an index; errors point into `text` (source `source`).
pub fn parse(
    index: &Index,
    source: crate::source::SourceId,
    text: &str,
) -> Result<ResolvedQuery, Vec<Diagnostic>> {
    let ast = crate::syntax::parse_query(source, text)?;
    index.resolve(&ast)
}
