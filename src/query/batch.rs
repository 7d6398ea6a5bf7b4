//! `query --batch`: one JSON answer per query line, each with its 1-based `line`. Blank lines
//! and `#` comments are skipped; a line that is not UTF-8 gets an `error` line and the batch
//! goes on. The common `can` line is read without the grammar (`syntax::parse_can_quick`,
//! which returns a query only where the grammar gives the same one) and its answer written
//! directly; every other line goes to the caller's `general` answer (the command line's JSON
//! of `can`/`who`/`what`/`why` and of errors). One reused line buffer: nothing is allocated
//! per quick line.

use std::io::{BufRead, Write};

use crate::ast;
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

/// `{"allowed":A,"line":N}` (with `"holds":!A` before the line for `cannot`) and a newline,
/// as `serde_json` writes it, without the formatting machinery: most of a quick line's time
/// went there.
fn quick_answer(allowed: bool, negated: bool, number: usize, line: &mut Vec<u8>) {
    line.clear();
    line.extend_from_slice(if allowed {
        b"{\"allowed\":true"
    } else {
        b"{\"allowed\":false"
    });
    if negated {
        line.extend_from_slice(if allowed {
            b",\"holds\":false"
        } else {
            b",\"holds\":true"
        });
    }
    line.extend_from_slice(b",\"line\":");
    let mut digits = [0u8; 20];
    let mut n = number;
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[at..]);
    line.extend_from_slice(b"}\n");
}

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
    // The last quick line's query, its strings reused by the next (no allocation per line).
    let mut quick: Option<ast::Query> = None;
    let mut answer: Vec<u8> = Vec::with_capacity(64);
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
        if crate::syntax::parse_can_quick_into(SourceId(0), line, &mut quick)
            && let Some(ast::Query::Can {
                member,
                negated,
                question,
            }) = &quick
            && let Some(request) = crate::resolve::question::resolve_request(index, question)
        {
            let allowed = index.decide(&member.value, &request).allowed();
            quick_answer(allowed, *negated, number, &mut answer);
            out.write_all(&answer).map_err(|error| BatchError::Write {
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

#[cfg(test)]
mod tests {
    /// The quick answer is the JSON the general path writes for the same fields.
    #[test]
    fn quick_answers_are_json_lines() {
        for allowed in [false, true] {
            for negated in [false, true] {
                for number in [0usize, 1, 9, 10, 99, 12_345, usize::MAX] {
                    let expected = if negated {
                        serde_json::json!({"allowed": allowed, "holds": !allowed, "line": number})
                    } else {
                        serde_json::json!({"allowed": allowed, "line": number})
                    };
                    let mut line = b"left over".to_vec();
                    super::quick_answer(allowed, negated, number, &mut line);
                    assert_eq!(String::from_utf8(line).unwrap(), format!("{expected}\n"));
                }
            }
        }
    }
}
