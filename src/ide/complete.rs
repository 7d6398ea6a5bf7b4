//! Completion: what may be written at a position, by context.
//!
//! The context comes from the text before the cursor, read by a small scanner rather than the
//! syntax tree: while a statement is being typed the file does not parse. (`syntax::scan`, the
//! compile path's pre-scan, reports only brackets and comments; this one needs the words.)
//! It tracks the blocks
//! the cursor is in (by the words that opened each), the words of the statement being written
//! and whether a `[...]` list is open; the names offered come from the last analysis (the
//! roles of the space the cursor is in, its locations, ...).

use std::collections::BTreeSet;

use super::Analysis;
use crate::ir::{Ir, SpaceId};
use crate::model::{Environment, FeatureFlag, Kind, Permission, Plan};
use crate::syntax::StatementContext as Statements;

/// What a completion names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionKind {
    Keyword,
    Permission,
    Value,
    Space,
    Enterprise,
    Role,
    Location,
    LocationType,
    Group,
    Item,
    Member,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub label: String,
    pub kind: CompletionKind,
    pub detail: Option<String>,
}

/// The block a position is in, by the words that opened it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Block {
    Top,
    Enterprise,
    Permissions,
    Space(String),
    Security,
    LocationTypes,
    Locations,
    Location,
    Role(String),
    Member,
    Registry,
    Test,
    /// A block charter does not know (an unknown statement's).
    Other,
}

/// The scanner's state at the cursor.
#[derive(Debug)]
struct Context {
    blocks: Vec<Block>,
    /// The words of the statement before the cursor (strings kept with their quotes); inside
    /// a list, the words before its `[`.
    words: Vec<String>,
    in_list: bool,
    in_string: bool,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn scan(text: &str) -> Context {
    let mut blocks = vec![Block::Top];
    let mut words: Vec<String> = Vec::new();
    let mut in_list = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            '"' => {
                let mut closed = false;
                let mut end = text.len();
                while let Some((j, c)) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next_if(|&(_, c)| c != '\n');
                        }
                        '"' => {
                            closed = true;
                            end = j + 1;
                            break;
                        }
                        '\n' => {
                            end = j;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed && end == text.len() {
                    return Context {
                        blocks,
                        words,
                        in_list,
                        in_string: true,
                    };
                }
                if !in_list {
                    words.push(text[i..end].to_owned());
                }
            }
            '{' => {
                let parent = blocks.last().cloned().unwrap_or(Block::Top);
                blocks.push(opened(&parent, &words));
                words.clear();
                in_list = false;
            }
            '}' => {
                if blocks.len() > 1 {
                    blocks.pop();
                }
                words.clear();
                in_list = false;
            }
            '[' => in_list = true,
            ']' => in_list = false,
            '\n' | ';' | ',' if !in_list => words.clear(),
            c if is_word_char(c) => {
                let mut end = i + c.len_utf8();
                while let Some((j, c)) = chars.next_if(|&(_, c)| is_word_char(c)) {
                    end = j + c.len_utf8();
                }
                if !in_list {
                    words.push(text[i..end].to_owned());
                }
            }
            '=' if !in_list => words.push("=".to_owned()),
            _ => {}
        }
    }
    Context {
        blocks,
        words,
        in_list,
        in_string: false,
    }
}

/// The block a `{` opens after `words` inside `parent`.
fn opened(parent: &Block, words: &[String]) -> Block {
    let head = words.first().map(String::as_str).unwrap_or("");
    let second = || words.get(1).cloned().unwrap_or_default();
    match (parent, head) {
        (Block::Top, "enterprise") => Block::Enterprise,
        (Block::Top, "space") => Block::Space(second()),
        (Block::Top, "test") => Block::Test,
        (Block::Enterprise, "permissions") => Block::Permissions,
        (Block::Space(_), "security") => Block::Security,
        (Block::Space(_), "location_types") => Block::LocationTypes,
        (Block::Space(_), "locations") => Block::Locations,
        (Block::Space(_), "role") => Block::Role(second()),
        (Block::Space(_), "web_user" | "mobile_worker") => Block::Member,
        (Block::Space(_), "registry") => Block::Registry,
        (Block::Locations | Block::Location, _) => Block::Location,
        _ => Block::Other,
    }
}

const LEVELS: &[&str] = &["view", "edit", "use"];

struct Offer<'a> {
    out: Vec<Completion>,
    seen: BTreeSet<String>,
    ir: &'a Ir,
}

impl Offer<'_> {
    fn add(&mut self, label: &str, kind: CompletionKind, detail: Option<String>) {
        if self.seen.insert(label.to_owned()) {
            self.out.push(Completion {
                label: label.to_owned(),
                kind,
                detail,
            });
        }
    }

    fn words(&mut self, words: &[&str], kind: CompletionKind) {
        for w in words {
            self.add(w, kind, None);
        }
    }

    fn spaces(&mut self) {
        for s in &self.ir.spaces {
            self.add(&s.id, CompletionKind::Space, s.name.clone());
        }
    }

    fn permissions(&mut self) {
        for &p in Permission::ALL {
            self.add(
                p.key(),
                CompletionKind::Permission,
                Some(p.entry().label.to_owned()),
            );
        }
    }

    fn roles(&mut self, s: SpaceId) {
        for r in self.ir.roles_of(s) {
            let role = self.ir.role(r);
            self.add(&role.id, CompletionKind::Role, Some(role.name.clone()));
        }
    }

    fn locations(&mut self, s: SpaceId) {
        for l in &self.ir.space(s).locations {
            self.add(&l.id, CompletionKind::Location, l.name.clone());
        }
    }

    fn members(&mut self, s: SpaceId, web_users_only: bool) {
        for m in &self.ir.space(s).members {
            if !web_users_only || m.kind == crate::ir::MemberKind::WebUser {
                self.add(&format!("\"{}\"", m.name), CompletionKind::Member, None);
            }
        }
    }
}

/// The completions at `offset` of `text` (the file as the editor holds it), with names from
/// `analysis` (the last version that compiled far enough to have them).
pub fn complete(analysis: &Analysis, text: &str, offset: usize) -> Vec<Completion> {
    let offset = (0..=offset.min(text.len()))
        .rev()
        .find(|&o| text.is_char_boundary(o))
        .unwrap_or(0);
    let before = &text[..offset];
    // The word being typed is not part of the context: the editor filters by it.
    let typed = before
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word_char(c))
        .last()
        .map_or(offset, |(i, _)| i);
    let cx = scan(&before[..typed]);
    let ir = &analysis.compiled.ir;
    let mut offer = Offer {
        out: Vec::new(),
        seen: BTreeSet::new(),
        ir,
    };
    if cx.in_string {
        return offer.out;
    }
    let block = cx.blocks.last().cloned().unwrap_or(Block::Top);
    let space = cx.blocks.iter().find_map(|b| match b {
        Block::Space(id) => ir.find_space(id),
        _ => None,
    });
    let words: Vec<&str> = cx.words.iter().map(String::as_str).collect();
    // The space an assertion names (`in SPACE` later on the line).
    let asked_space = || {
        let rest = &text[offset..];
        let line = &rest[..rest.find('\n').unwrap_or(rest.len())];
        let mut it = line.split_whitespace();
        while let Some(w) = it.next() {
            if w == "in" {
                return it.next().and_then(|s| ir.find_space(s));
            }
        }
        words
            .windows(2)
            .find(|w| w[0] == "in")
            .and_then(|w| ir.find_space(w[1]))
    };
    use CompletionKind as K;
    match (&block, cx.in_list, words.as_slice()) {
        (Block::Top, false, []) => offer.words(Statements::TopLevel.keywords(), K::Keyword),
        (Block::Enterprise, false, []) => {
            offer.words(Statements::Enterprise.keywords(), K::Keyword)
        }
        (Block::Permissions, false, []) => {
            offer.words(Statements::Permissions.keywords(), K::Keyword)
        }
        (Block::Permissions, false, ["source"]) | (Block::Permissions, true, ["spaces"]) => {
            offer.spaces()
        }
        (Block::Space(_), false, []) => offer.words(Statements::Space.keywords(), K::Keyword),
        (Block::Space(_), false, ["upstream"]) => offer.spaces(),
        (Block::Space(_), false, ["upstream", _]) => offer.words(&["remote"], K::Keyword),
        (Block::Space(_), false, ["enterprise"]) => {
            for e in &ir.enterprises {
                offer.add(&e.id, K::Enterprise, e.name.clone());
            }
        }
        (Block::Space(_), false, ["plan"]) => offer.words(&Plan::WORDS, K::Value),
        (Block::Space(_), false, ["environment"]) => offer.words(&Environment::WORDS, K::Value),
        (Block::Space(_), true, ["features"]) => offer.words(&FeatureFlag::WORDS, K::Value),
        (Block::Space(_), false, ["grant"]) => {
            if let Some(s) = space {
                for r in &ir.space(s).registries {
                    offer.add(&r.id, K::Item, r.name.clone());
                }
            }
        }
        (Block::Space(_), false, ["grant", _]) => offer.words(&["to"], K::Keyword),
        (Block::Space(_), true, ["grant", _, "to"]) => offer.spaces(),
        (Block::Security, false, []) => offer.words(&["two_factor"], K::Permission),
        (Block::Security, false, ["two_factor", "="]) => {
            offer.words(&["required", "optional"], K::Value)
        }
        (Block::LocationTypes, false, [_]) => offer.words(&["in"], K::Keyword),
        (Block::LocationTypes, false, [_, "in"])
        | (Block::Locations | Block::Location, false, []) => {
            if let Some(s) = space {
                for t in &ir.space(s).location_types {
                    offer.add(&t.id, K::LocationType, None);
                }
            }
        }
        (Block::Registry, false, []) => offer.words(Statements::Registry.keywords(), K::Keyword),
        (Block::Role(_), false, []) => offer.permissions(),
        (Block::Role(_), in_list, [key, "="]) => {
            let Some(p) = Permission::from_key(key) else {
                return offer.out;
            };
            if !in_list {
                offer.words(p.kind().words(), K::Value);
            }
            match (p.kind(), space) {
                (Kind::RoleList, Some(s)) if in_list => offer.roles(s),
                (kind, Some(s)) if in_list => {
                    let sp = ir.space(s);
                    let items: Vec<(&str, Option<String>)> = match kind.item_kind() {
                        Some(crate::model::ItemKind::Reports) => sp
                            .reports
                            .iter()
                            .map(|r| (r.id.as_str(), r.name.clone()))
                            .collect(),
                        Some(crate::model::ItemKind::Applications) => sp
                            .applications
                            .iter()
                            .map(|r| (r.id.as_str(), r.name.clone()))
                            .collect(),
                        Some(crate::model::ItemKind::Profiles) => sp
                            .profiles
                            .iter()
                            .map(|r| (r.id.as_str(), r.name.clone()))
                            .collect(),
                        Some(crate::model::ItemKind::Registries) => sp
                            .registries
                            .iter()
                            .map(|r| (r.id.as_str(), r.name.clone()))
                            .collect(),
                        _ => Vec::new(),
                    };
                    for (id, name) in items {
                        offer.add(id, K::Item, name);
                    }
                }
                _ => {}
            }
        }
        (Block::Member, false, []) => offer.words(Statements::Member.keywords(), K::Keyword),
        (Block::Member, false, ["role"]) => {
            if let Some(s) = space {
                offer.roles(s);
            }
        }
        (Block::Member, true, ["locations"]) => {
            if let Some(s) = space {
                offer.locations(s);
            }
        }
        (Block::Member, true, ["groups"]) => {
            if let Some(s) = space {
                for g in &ir.space(s).groups {
                    offer.add(&g.id, K::Group, g.name.clone());
                }
            }
        }
        (Block::Member, true, ["login_as"]) => {
            if let Some(s) = space {
                offer.members(s, true);
            }
        }
        (Block::Test, false, []) => offer.words(&["assert"], K::Keyword),
        (Block::Test, false, ["assert", ..]) => assertion(&mut offer, &words[1..], asked_space()),
        (Block::Test, true, ["assert", ..]) => {
            if let Some(s) = asked_space() {
                offer.members(s, false);
            }
        }
        _ => {}
    }
    offer.out
}

/// After `assert`: the query grammar, word by word.
fn assertion(offer: &mut Offer<'_>, words: &[&str], space: Option<SpaceId>) {
    use CompletionKind as K;
    let is_member = |w: &str| w.starts_with('"');
    let members = |offer: &mut Offer<'_>| {
        let spaces: Vec<SpaceId> = match space {
            Some(s) => vec![s],
            None => (0..offer.ir.spaces.len() as u32).map(SpaceId).collect(),
        };
        for s in spaces {
            offer.members(s, false);
        }
    };
    let n = words.len();
    let last = words.last().copied().unwrap_or("");
    let prev = if n >= 2 { words[n - 2] } else { "" };
    match last {
        "" => {
            offer.words(&["who", "what", "why"], K::Keyword);
            members(offer);
        }
        "why" => members(offer),
        "who" | "what" => offer.words(&["can"], K::Keyword),
        "can" | "cannot" if prev == "what" => members(offer),
        "can" | "cannot" => offer.words(LEVELS, K::Value),
        w if is_member(w) && prev == "can" => offer.words(&["do"], K::Keyword),
        w if is_member(w) => offer.words(&["can", "cannot"], K::Keyword),
        "do" => offer.words(&["in"], K::Keyword),
        "at" => match space {
            Some(s) => offer.locations(s),
            None => {
                for s in 0..offer.ir.spaces.len() as u32 {
                    offer.locations(SpaceId(s));
                }
            }
        },
        "in" => offer.spaces(),
        "via" => offer.words(&["web", "api"], K::Value),
        "report" if LEVELS.contains(&prev) => {
            let spaces: Vec<SpaceId> = match space {
                Some(s) => vec![s],
                None => (0..offer.ir.spaces.len() as u32).map(SpaceId).collect(),
            };
            for s in spaces {
                for r in &offer.ir.space(s).reports {
                    offer.add(&r.id, K::Item, r.name.clone());
                }
            }
        }
        w if LEVELS.contains(&w) && matches!(prev, "can" | "cannot") => {
            offer.permissions();
            offer.add("report", K::Keyword, None);
        }
        _ if prev == "report"
            || (LEVELS.contains(&prev) && Permission::from_key(last).is_some()) =>
        {
            offer.words(&["at", "in", "via"], K::Keyword)
        }
        _ if prev == "at" => offer.words(&["in", "via"], K::Keyword),
        _ if prev == "via" => offer.words(&["in"], K::Keyword),
        _ if prev == "in" && !words.contains(&"via") => offer.words(&["via"], K::Keyword),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_knows_the_block_and_the_statement() {
        let cx = scan("space s {\n  role r {\n    data = ");
        assert_eq!(cx.blocks.last(), Some(&Block::Role("r".to_owned())));
        assert_eq!(cx.words, ["data", "="]);
        let cx = scan("space s {\n  web_user \"a@b.org\" { locations [x, ");
        assert_eq!(cx.blocks.last(), Some(&Block::Member));
        assert!(cx.in_list);
        assert_eq!(cx.words, ["locations"]);
        let cx = scan("space s { locations { country c { region r { ");
        assert_eq!(cx.blocks.last(), Some(&Block::Location));
        let cx = scan("# space x {\nspace s { group g \"a { b\" }\n");
        assert_eq!(cx.blocks, [Block::Top]);
        assert!(scan("test \"t\" { assert \"a@b").in_string);
    }
}
