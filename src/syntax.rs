//! Stage 1: text → AST.
//!
//! [`parse`] parses one file; [`parse_query`] parses a query (the `assert` grammar without
//! `assert`). Both return what they could build plus diagnostics; pest types stay in this module.

mod errors;
mod format;
mod lower;
mod pest;
mod quick;

pub use format::format;
pub use lower::Context as StatementContext;
pub use quick::{parse_can as parse_can_quick, parse_can_into as parse_can_quick_into};

use crate::ast;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceId, Span};

/// Deepest nesting of `{`/`[` accepted. Real policies nest about eight deep (space, locations,
/// four or five location levels); the limit keeps every recursive walk's stack use bounded.
pub const MAX_NESTING: usize = 100;

/// Longest identifier, in bytes: ids are slugs meant to be read and typed.
pub const MAX_IDENT: usize = 128;

/// Longest string, in bytes: display names and emails.
pub const MAX_STRING: usize = 1024;

/// Parses one file. On a syntax error the file contributes no items and one diagnostic.
pub fn parse(source: SourceId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    if let Some(diagnostic) = check_nesting(source, text) {
        return (
            ast::File {
                source: Some(source),
                items: Vec::new(),
            },
            vec![diagnostic],
        );
    }
    match <pest::CharterParser as ::pest::Parser<pest::Rule>>::parse(pest::Rule::file, text) {
        Ok(pairs) => lower::file(source, pairs),
        Err(error) => (
            ast::File {
                source: Some(source),
                items: Vec::new(),
            },
            vec![errors::from_pest(source, text, &error)],
        ),
    }
}

/// Parses a query such as `"u" can view data at lko in acme-prod`.
pub fn parse_query(source: SourceId, text: &str) -> Result<ast::Query, Vec<Diagnostic>> {
    if let Some(diagnostic) = check_nesting(source, text) {
        return Err(vec![diagnostic]);
    }
    match <pest::CharterParser as ::pest::Parser<pest::Rule>>::parse(pest::Rule::query, text) {
        Ok(pairs) => lower::query(source, pairs),
        Err(error) => Err(vec![errors::from_pest(source, text, &error)]),
    }
}

/// Finds the first bracket nested deeper than [`MAX_NESTING`], skipping strings and comments.
/// Runs before pest so that pathological input gets a clear message, not a stack overflow.
fn check_nesting(source: SourceId, text: &str) -> Option<Diagnostic> {
    let mut depth = 0usize;
    let mut too_deep = None;
    scan(text, |mark| match mark {
        Mark::Open(at) => {
            depth += 1;
            if depth > MAX_NESTING && too_deep.is_none() {
                too_deep = Some(at);
            }
        }
        Mark::Close => depth = depth.saturating_sub(1),
        Mark::Comment { .. } => {}
    });
    let at = too_deep?;
    Some(
        Diagnostic::new(
            Code::NestingTooDeep,
            format!("nesting too deep: more than {MAX_NESTING} levels of blocks"),
        )
        .with_label(Span::new(source, at, at + 1), "this block is too deep")
        .with_help(format!(
            "flatten the structure: no policy needs more than {MAX_NESTING} nested blocks"
        )),
    )
}

/// What the lexical scan reports: brackets and comments outside strings.
pub(crate) enum Mark {
    /// `{` or `[` at this offset.
    Open(usize),
    /// `}` or `]`.
    Close,
    /// A comment from `#` to the end of its line (trailing spaces excluded).
    Comment { start: usize, end: usize },
}

/// The lexical scan outside pest (nesting pre-check, comments for `fmt`; editor completion
/// reads words too, in `ide/complete.rs`, off this hot path): skips strings,
/// and ends lines as the grammar's NEWLINE does (`\n`, `\r\n` or a lone `\r`).
pub(crate) fn scan(text: &str, mut on: impl FnMut(Mark)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
                on(Mark::Comment {
                    start,
                    end: start + text[start..i].trim_end().len(),
                });
                continue;
            }
            b'{' | b'[' => on(Mark::Open(i)),
            b'}' | b']' => on(Mark::Close),
            _ => {}
        }
        i += 1;
    }
}

/// The comments of a text, `#` included, in order (the lexical scan `fmt` keeps them by).
pub fn comments(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    scan(text, |mark| {
        if let Mark::Comment { start, end } = mark {
            out.push(&text[start..end]);
        }
    });
    out
}

/// The bare pest parse of a file, without lowering: the baseline the benchmarks compare a full
/// build against. Returns whether the file parsed. The nesting pre-scan runs first, as in
/// [`parse`]: it is what bounds the parser's recursion (pest's own stack probe is off, see
/// `Cargo.toml`), so too deep a file is refused here too.
pub fn bare_parse(text: &str) -> bool {
    check_nesting(SourceId(0), text).is_none()
        && <pest::CharterParser as ::pest::Parser<pest::Rule>>::parse(pest::Rule::file, text)
            .is_ok()
}
