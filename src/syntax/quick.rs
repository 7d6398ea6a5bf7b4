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
    let mut slot = None;
    parse_can_into(source, text, &mut slot)
        .then_some(slot)
        .flatten()
}

/// [`parse_can`] into `slot`, reusing the strings of the query it holds (a batch reads
/// hundreds of thousands of lines: no allocation per line once the slot is filled). Returns
/// whether the line has the common form; `slot` is left as it was when it has not.
pub fn parse_can_into(source: SourceId, text: &str, slot: &mut Option<Query>) -> bool {
    let Some(words) = read_can(text) else {
        return false;
    };
    let ident = |(s, w): (usize, &str), into: &mut Ident| {
        into.name.clear();
        into.name.push_str(w);
        into.span = Span::new(source, s, s + w.len());
    };
    let fresh = || Ident {
        name: String::new(),
        span: Span::new(source, 0, 0),
    };
    if !matches!(
        slot,
        Some(Query::Can {
            question: Question {
                permission: PermissionRef::Key(_),
                ..
            },
            ..
        })
    ) {
        *slot = Some(Query::Can {
            member: Str {
                value: String::new(),
                span: Span::new(source, 0, 0),
            },
            negated: false,
            question: Question {
                level: fresh(),
                permission: PermissionRef::Key(fresh()),
                at: None,
                via: None,
                space: fresh(),
            },
        });
    }
    let Some(Query::Can {
        member,
        negated,
        question:
            Question {
                level,
                permission: PermissionRef::Key(permission),
                at,
                via,
                space,
            },
    }) = slot
    else {
        return false;
    };
    member.value.clear();
    member.value.push_str(words.member.1);
    member.span = Span::new(source, words.member.0.0, words.member.0.1);
    *negated = words.negated;
    ident(words.level, level);
    ident(words.permission, permission);
    ident(words.space, space);
    for (word, into) in [(words.at, at), (words.via, via)] {
        match word {
            Some(w) => ident(w, into.get_or_insert_with(fresh)),
            None => *into = None,
        }
    }
    true
}

/// The words of a common `can` line, each checked as the grammar would: the member's name
/// (its span, then its value), and each word at its offset.
struct CanWords<'t> {
    member: ((usize, usize), &'t str),
    negated: bool,
    level: (usize, &'t str),
    permission: (usize, &'t str),
    at: Option<(usize, &'t str)>,
    via: Option<(usize, &'t str)>,
    space: (usize, &'t str),
}

fn read_can(text: &str) -> Option<CanWords<'_>> {
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
    let member = ((start, close + 1), value);
    i = close + 1;
    // The words after it, each followed by a space or the end (a keyword must not run into
    // the next word: `"u"can` is the grammar's to judge).
    // At most nine words follow the name: `can LEVEL PERM at LOC via CH in SPACE`.
    let mut words: [(usize, &str); 9] = [(0, ""); 9];
    let mut count = 0;
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
            *words.get_mut(count)? = (s, &text[s..i]);
            count += 1;
        }
    }
    fn ident((s, w): (usize, &str)) -> Option<(usize, &str)> {
        is_ident(w).then_some((s, w))
    }
    let mut w = words[..count].iter().copied();
    let negated = match w.next()?.1 {
        "can" => false,
        "cannot" => true,
        _ => return None,
    };
    let level = ident(w.next()?)?;
    let permission = ident(w.next()?)?;
    if permission.1 == "report" {
        return None;
    }
    let rest = &words[..count][count - w.len()..];
    let (at, rest) = match rest {
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
    Some(CanWords {
        member,
        negated,
        level,
        permission,
        at,
        via,
        space: ident(space)?,
    })
}
