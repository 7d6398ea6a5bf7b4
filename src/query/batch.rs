//! `query --batch`: one JSON answer per query line, each with its 1-based `line`. Blank lines
//! and `#` comments are skipped; a line that is not UTF-8 gets an `error` line and the batch
//! goes on. The common `can` line is read without the grammar (`syntax::parse_can_quick`,
//! which returns a query only where the grammar gives the same one) and its answer written
//! directly; every other line goes to the caller's `general` answer (the command line's JSON
//! of `can`/`who`/`what`/`why` and of errors). One reused line buffer: nothing is allocated
//! per quick line.

use std::io::{BufRead, Write};

use crate::question::ResolvedQuery;
use crate::source::SourceId;

use super::Index;

/// How a batch ended.
#[derive(Debug)]
pub enum BatchError {
    /// Reading the input failed after this many lines.
    Read { after: usize, error: std::io::Error },
    /// Writing an answer failed (a closed pipe among others: the caller decides); whether
    /// every query line so far was answered.
    Write {
        error: std::io::Error,
        all_answered: bool,
    },
}

/// What the caller answers for a line the quick path does not: its JSON, and whether the
/// line was a query (answered) rather than an error.
pub type General<'a> = dyn FnMut(&str, usize) -> (serde_json::Value, bool) + 'a;

/// Answers every line of `input` on `out`; returns whether every query line was answered.
pub fn run(
    index: &Index,
    mut input: impl BufRead,
    mut out: impl Write,
    general: &mut General<'_>,
) -> Result<bool, BatchError> {
    let mut all_answered = true;
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut number = 0usize;
    loop {
        buf.clear();
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                return Err(BatchError::Read {
                    after: number,
                    error,
                });
            }
        }
        number += 1;
        let bytes = buf
            .strip_suffix(b"\n")
            .map(|b| b.strip_suffix(b"\r").unwrap_or(b))
            .unwrap_or(&buf);
        let line = match std::str::from_utf8(bytes) {
            Err(e) => {
                all_answered = false;
                let v = serde_json::json!({
                    "line": number,
                    "error": format!("line {number} is not valid UTF-8 (at byte {})", e.valid_up_to() + 1),
                });
                writeln!(out, "{v}").map_err(|error| BatchError::Write {
                    error,
                    all_answered,
                })?;
                continue;
            }
            Ok(line) => line,
        };
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let quick = crate::syntax::parse_can_quick(SourceId(0), line)
            .and_then(|ast| index.resolve(&ast).ok());
        if let Some(ResolvedQuery::Can {
            member,
            negated,
            request,
        }) = &quick
        {
            let allowed = index.decide(member, request).allowed();
            if *negated {
                writeln!(
                    out,
                    "{{\"allowed\":{allowed},\"holds\":{},\"line\":{number}}}",
                    !allowed
                )
            } else {
                writeln!(out, "{{\"allowed\":{allowed},\"line\":{number}}}")
            }
            .map_err(|error| BatchError::Write {
                error,
                all_answered,
            })?;
            continue;
        }
        let (v, answered) = general(line, number);
        all_answered &= answered;
        writeln!(out, "{v}").map_err(|error| BatchError::Write {
            error,
            all_answered,
        })?;
    }
    out.flush().map_err(|error| BatchError::Write {
        error,
        all_answered,
    })?;
    Ok(all_answered)
}
