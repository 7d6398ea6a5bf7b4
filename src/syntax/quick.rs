//! The common `--batch` line, `"u" can|cannot LEVEL PERM [at LOC] [via CH] in SPACE`, read
//! without the grammar: words split at spaces and tabs, each checked as the grammar would.
//! Anything else (a comment, an escape in the name, `report ID`, `who`, `what`, `why`, words
//! out of order) is `None`, and the caller parses the line with the grammar; so this path
//! decides nothing on its own. `tests/quick_query.rs` proves that whenever it returns a
//! query, the grammar returns the same one.

use crate::ast::{Ident, PermissionRef, Query, Question, Str};
use crate::source::{SourceId, Span};

fn is_ident(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The `can` query of `text`, if it has the common form.
pub fn parse_can(source: SourceId, text: &str) -> Option<Query> {
    let bytes = text.as_bytes();
    // A comment, a byte-order mark or a line break: the grammar's business.
    if bytes.iter().any(|&b| b == b'#' || b == b'\n') || text.contains('\u{FEFF}') {
        return None;
    }
    let is_space = |b: u8| b == b' ' || b == b'\t' || b == b'\r';
    let mut i = 0;
    while i < bytes.len() && is_space(bytes[i]) {
        i += 1;
    }
    // The member: a string without escapes.
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    let start = i;
    let close = i + 1 + bytes[i + 1..].iter().position(|&b| b == b'"')?;
    let value = &text[i + 1..close];
    if value.contains('\\') {
        return None;
    }
    let member = Str {
        value: value.to_owned(),
        span: Span::new(source, start, close + 1),
    };
    i = close + 1;
    // The words after it, each followed by a space or the end (a keyword must not run into
    // the next word: `"u"can` is the grammar's to judge).
    let mut words: Vec<(usize, &str)> = Vec::with_capacity(9);
    if i < bytes.len() && !is_space(bytes[i]) {
        return None;
    }
    while i < bytes.len() {
        while i < bytes.len() && is_space(bytes[i]) {
            i += 1;
        }
        let s = i;
        while i < bytes.len() && !is_space(bytes[i]) {
            i += 1;
        }
        if s < i {
            words.push((s, &text[s..i]));
        }
    }
    let ident = |(s, w): (usize, &str)| -> Option<Ident> {
        is_ident(w).then(|| Ident {
            name: w.to_owned(),
            span: Span::new(source, s, s + w.len()),
        })
    };
    let mut w = words.into_iter();
    let negated = match w.next()?.1 {
        "can" => false,
        "cannot" => true,
        _ => return None,
    };
    let level = ident(w.next()?)?;
    let permission = ident(w.next()?)?;
    if permission.name == "report" {
        return None;
    }
    let rest: Vec<(usize, &str)> = w.collect();
    let (at, rest) = match rest.as_slice() {
        [(_, "at"), loc, tail @ ..] => (Some(ident(*loc)?), tail),
        tail => (None, tail),
    };
    let (via, space) = match rest {
        [(_, "in"), space] => (None, *space),
        [(_, "in"), space, (_, "via"), ch] | [(_, "via"), ch, (_, "in"), space] => {
            (Some(ident(*ch)?), *space)
        }
        _ => return None,
    };
    Some(Query::Can {
        member,
        negated,
        question: Question {
            level,
            permission: PermissionRef::Key(permission),
            at,
            via,
            space: ident(space)?,
        },
    })
}
