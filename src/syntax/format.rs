//! `charter fmt`: canonical formatting from the parse tree, keeping every comment.
//!
//! The pest tree gives each statement's exact span (separators are optional and keywords may be
//! ids, so only the grammar knows where a statement ends); comments are silent in the grammar
//! and are found by scanning the text between tokens. Each comment is printed where it was:
//! before the statement it precedes (own line), or after the statement it follows on the same
//! line. Only whitespace, separators and the order of settings inside a role change, so the
//! meaning cannot (`tests/fmt.rs` checks that the snapshot is unchanged).

use pest::iterators::Pair;

use super::pest::Rule;
use crate::diagnostic::Diagnostic;
use crate::model::Permission;
use crate::source::SourceId;

const INDENT: &str = "  ";

/// A comment in the source: byte range, `#` included, up to the end of its line.
#[derive(Clone, Copy, Debug)]
struct Comment {
    start: usize,
    end: usize,
}

/// Formats one file. A file with syntax errors is refused with its diagnostics.
pub fn format(source: SourceId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (_, diagnostics) = super::parse(source, text);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    // INVARIANT: `parse` just succeeded on the same text, so pest succeeds too.
    let mut pairs = <super::pest::CharterParser as ::pest::Parser<Rule>>::parse(Rule::file, text)
        .map_err(|_| Vec::new())?;
    let file = pairs.next().ok_or_else(Vec::new)?;
    let comments = scan_comments(text);
    let mut p = Printer {
        text,
        taken: vec![false; comments.len()],
        comments,
        out: String::new(),
    };
    let items: Vec<Pair<'_, Rule>> = file
        .into_inner()
        .filter(|c| c.as_rule() == Rule::top_item)
        .collect();
    p.children(&items, 0, text.len(), 0, Block::TopLevel);
    let mut out = p.out.trim_end().to_owned();
    out.push('\n');
    if out.trim().is_empty() {
        out.clear();
    }
    Ok(out)
}

/// Comments of the file, in order.
fn scan_comments(text: &str) -> Vec<Comment> {
    let mut out = Vec::new();
    super::scan(text, |mark| {
        if let super::Mark::Comment { start, end } = mark {
            out.push(Comment { start, end });
        }
    });
    out
}

/// How the statements of a block are laid out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    TopLevel,
    /// One statement a line.
    Lines,
    /// Settings sorted in catalogue order, `=` aligned.
    Role,
    /// `=` aligned, in source order.
    Settings,
}

struct Printer<'a> {
    text: &'a str,
    /// In source order.
    comments: Vec<Comment>,
    /// Which comments are printed (or assigned to a statement) already.
    taken: Vec<bool>,
    out: String,
}

/// A statement with the comments that belong to it.
struct Unit<'a> {
    blank_before: bool,
    leading: Vec<(bool, Comment)>,
    pair: Pair<'a, Rule>,
    trailing: Option<Comment>,
}

impl<'a> Printer<'a> {
    fn comment_text(&self, c: Comment) -> &'a str {
        &self.text[c.start..c.end]
    }

    /// Whether `text[a..b]` holds an empty line.
    fn has_blank_line(&self, a: usize, b: usize) -> bool {
        let gap = &self.text[a.min(b)..b];
        let lines: Vec<&str> = gap.split('\n').collect();
        lines.len() > 2
            && lines[1..lines.len() - 1]
                .iter()
                .any(|l| l.trim().is_empty())
    }

    /// Indexes of the comments starting in `a..b`.
    fn in_range(&self, a: usize, b: usize) -> std::ops::Range<usize> {
        let lo = self.comments.partition_point(|c| c.start < a);
        let hi = self.comments.partition_point(|c| c.start < b);
        lo..hi.max(lo)
    }

    /// Comments starting in `a..b` that are not taken yet (marks them taken).
    fn take_comments(&mut self, a: usize, b: usize) -> Vec<Comment> {
        let mut out = Vec::new();
        for i in self.in_range(a, b) {
            if !self.taken[i] {
                self.taken[i] = true;
                out.push(self.comments[i]);
            }
        }
        out
    }

    /// A comment after `end` on the same line, starting before `limit`.
    fn take_trailing(&mut self, end: usize, limit: usize) -> Option<Comment> {
        let i = self.in_range(end, limit).find(|&i| !self.taken[i])?;
        let c = self.comments[i];
        if self.text[end..c.start].contains(['\n', '\r']) {
            return None;
        }
        self.taken[i] = true;
        Some(c)
    }

    fn line(&mut self, depth: usize, s: &str) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// Groups children with their comments.
    fn units(
        &mut self,
        children: &[Pair<'a, Rule>],
        from: usize,
        to: usize,
    ) -> (Vec<Unit<'a>>, Vec<(bool, Comment)>) {
        let mut units = Vec::new();
        let mut pos = from;
        for (i, child) in children.iter().enumerate() {
            let start = child.as_span().start();
            let mut leading = Vec::new();
            let mut cursor = pos;
            for c in self.take_comments(pos, start) {
                leading.push((self.has_blank_line(cursor, c.start), c));
                cursor = c.end;
            }
            let blank_before = self.has_blank_line(cursor, start);
            let end = content_end(child);
            let limit = children.get(i + 1).map_or(to, |n| n.as_span().start());
            let trailing = self.take_trailing(end, limit);
            pos = trailing.map_or(end, |c| c.end);
            units.push(Unit {
                blank_before,
                leading,
                pair: child.clone(),
                trailing,
            });
        }
        let mut tail = Vec::new();
        let mut cursor = pos;
        for c in self.take_comments(pos, to) {
            tail.push((self.has_blank_line(cursor, c.start), c));
            cursor = c.end;
        }
        (units, tail)
    }

    /// Prints the statements of a block (or the file) at `depth`.
    fn children(
        &mut self,
        children: &[Pair<'a, Rule>],
        from: usize,
        to: usize,
        depth: usize,
        block: Block,
    ) {
        let (mut units, tail) = self.units(children, from, to);
        if block == Block::Role {
            // Stable: repeated or unknown keys keep their relative order (both are errors anyway).
            units.sort_by_key(|u| {
                setting_key(&u.pair)
                    .and_then(Permission::from_key)
                    .map_or(usize::MAX, |p| p as usize)
            });
        }
        let width = match block {
            Block::Role | Block::Settings => units
                .iter()
                .filter_map(|u| setting_key(&u.pair))
                .map(str::len)
                .max()
                .unwrap_or(0),
            _ => 0,
        };
        let keep_blanks = block != Block::Role;
        let mut first = true;
        for u in units {
            for (blank, c) in &u.leading {
                if *blank && !first && keep_blanks {
                    self.out.push('\n');
                }
                let text = self.comment_text(*c).to_owned();
                self.line(depth, &text);
                first = false;
            }
            if u.blank_before && !first && keep_blanks {
                self.out.push('\n');
            }
            first = false;
            self.statement(&u.pair, depth, width, u.trailing);
        }
        for (blank, c) in tail {
            if blank && !first {
                self.out.push('\n');
            }
            let text = self.comment_text(c).to_owned();
            self.line(depth, &text);
            first = false;
        }
    }

    /// Prints one statement (and its block, if any), then its trailing comment.
    fn statement(
        &mut self,
        pair: &Pair<'a, Rule>,
        depth: usize,
        width: usize,
        trailing: Option<Comment>,
    ) {
        // Wrapper rules hold exactly one statement.
        if matches!(
            pair.as_rule(),
            Rule::top_item | Rule::space_stmt | Rule::enterprise_stmt | Rule::member_stmt
        ) && let Some(inner) = pair.clone().into_inner().next()
        {
            return self.statement(&inner, depth, width, trailing);
        }
        let inner: Vec<Pair<'a, Rule>> = pair.clone().into_inner().collect();
        let open = inner
            .iter()
            .position(|p| p.as_rule() == Rule::open || p.as_rule() == Rule::member_block);
        let Some(open_at) = open else {
            let mut text = if pair.as_rule() == Rule::setting && width > 0 {
                let toks = tokens(pair);
                format!("{:<width$} {}", toks[0], toks[1..].join(" "))
            } else {
                tokens(pair).join(" ")
            };
            if let Some(c) = trailing {
                text.push_str("  ");
                text.push_str(self.comment_text(c));
            }
            self.line(depth, &text);
            return;
        };
        let header: Vec<String> = inner[..open_at].iter().flat_map(tokens).collect();
        // `{ ... }` of a member is the `member_block` rule; elsewhere `open` .. `close` inline.
        let (block_pairs, open_end, close_start): (Vec<Pair<'a, Rule>>, usize, usize) =
            if inner[open_at].as_rule() == Rule::member_block {
                let b = inner[open_at].clone();
                let parts: Vec<Pair<'a, Rule>> = b.clone().into_inner().collect();
                let open_end = parts
                    .first()
                    .map_or(b.as_span().start(), |o| o.as_span().end());
                let close_start = parts
                    .last()
                    .map_or(b.as_span().end(), |c| c.as_span().start());
                (
                    parts
                        .into_iter()
                        .filter(|p| p.as_rule() == Rule::member_stmt)
                        .collect(),
                    open_end,
                    close_start,
                )
            } else {
                let close = inner
                    .iter()
                    .rposition(|p| p.as_rule() == Rule::close)
                    .unwrap_or(inner.len() - 1);
                (
                    inner[open_at + 1..close].to_vec(),
                    inner[open_at].as_span().end(),
                    inner[close].as_span().start(),
                )
            };
        let block = match pair.as_rule() {
            Rule::role_decl => Block::Role,
            Rule::security_stmt => Block::Settings,
            _ => Block::Lines,
        };
        let inline = matches!(
            pair.as_rule(),
            Rule::web_user_decl
                | Rule::mobile_worker_decl
                | Rule::security_stmt
                | Rule::registry_stmt
                | Rule::permissions_stmt
        ) && self.in_range(open_end, close_start).all(|i| self.taken[i]);
        let head = header.join(" ");
        if inline {
            let sep = match pair.as_rule() {
                Rule::security_stmt => "; ",
                // `permissions { source s  spaces [...] }` reads as one phrase.
                Rule::permissions_stmt => " ",
                _ => "  ",
            };
            let body: Vec<String> = block_pairs.iter().map(|p| tokens(p).join(" ")).collect();
            let mut text = if body.is_empty() {
                format!("{head} {{}}")
            } else {
                format!("{head} {{ {} }}", body.join(sep))
            };
            if let Some(c) = trailing {
                text.push_str("  ");
                text.push_str(self.comment_text(c));
            }
            self.line(depth, &text);
            return;
        }
        // A comment on the line of `{` stays on the header line.
        let mut head_line = format!("{head} {{");
        let first_start = block_pairs
            .first()
            .map_or(close_start, |p| p.as_span().start());
        if let Some(c) = self.take_trailing(open_end, first_start) {
            head_line.push_str("  ");
            head_line.push_str(self.comment_text(c));
        }
        self.line(depth, &head_line);
        self.children(&block_pairs, open_end, close_start, depth + 1, block);
        let mut close = "}".to_owned();
        if let Some(c) = trailing {
            close.push_str("  ");
            close.push_str(self.comment_text(c));
        }
        self.line(depth, &close);
    }
}

/// Where a statement's last token ends. A rule ending in an optional part that did not match
/// (`country` of `country [in region]`) has pest's implicit whitespace, comments included, in
/// its span: the span's end would swallow a trailing comment.
fn content_end(pair: &Pair<'_, Rule>) -> usize {
    let mut last = pair.clone();
    // Iterative: nesting is bounded, but a walk need not rely on it.
    while !matches!(
        last.as_rule(),
        Rule::string | Rule::ident_list | Rule::string_list
    ) && let Some(inner) = last.clone().into_inner().last()
    {
        last = inner;
    }
    last.as_span().end()
}

/// The key of a `key = value` setting.
fn setting_key<'a>(pair: &Pair<'a, Rule>) -> Option<&'a str> {
    (pair.as_rule() == Rule::setting)
        .then(|| pair.clone().into_inner().next().map(|k| k.as_str()))
        .flatten()
}

/// A statement's tokens in canonical spelling; lists as `[a, b]` (verbatim if they hold a comment).
fn tokens(pair: &Pair<'_, Rule>) -> Vec<String> {
    // A token: a pair without inner pairs (keywords, ids, `=`), or a string or a list.
    let rule = pair.as_rule();
    if matches!(rule, Rule::string | Rule::ident_list | Rule::string_list)
        || pair.clone().into_inner().next().is_none()
    {
        let text = pair.as_str();
        if matches!(rule, Rule::ident_list | Rule::string_list) && !text.contains('#') {
            let items: Vec<&str> = pair.clone().into_inner().map(|i| i.as_str()).collect();
            return vec![format!("[{}]", items.join(", "))];
        }
        return vec![text.to_owned()];
    }
    pair.clone().into_inner().flat_map(|p| tokens(&p)).collect()
}
