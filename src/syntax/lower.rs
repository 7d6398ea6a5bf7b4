//! pest pairs → AST. The only file that touches `Pair` and `Rule`.

use pest::iterators::{Pair, Pairs};

use super::pest::Rule;
use crate::ast::*;
use crate::diagnostic::suggest::{nearest, one_of};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Permission;
use crate::source::{SourceId, Span};

struct Lower {
    source: SourceId,
    diagnostics: Vec<Diagnostic>,
    /// Reported by `ident`, which only borrows `self`.
    too_long: std::cell::RefCell<Vec<Diagnostic>>,
}

/// A block of statements: where an unknown statement was found (for its message and
/// suggestions), and what may be written there (editor completion).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    TopLevel,
    Enterprise,
    Space,
    Member,
    /// `registry ID { ... }` in a space.
    Registry,
    /// `permissions { ... }` in an enterprise.
    Permissions,
}

impl Context {
    fn describe(self) -> &'static str {
        match self {
            Context::TopLevel => "at the top level",
            Context::Enterprise => "in an enterprise",
            Context::Space => "in a space",
            Context::Member => "in a member block",
            Context::Registry => "in a registry block",
            Context::Permissions => "in a permissions block",
        }
    }

    /// The block a header (`space s`, `web_user "a"`) opens, by its first word.
    pub(super) fn of_block(word: &str) -> Option<Context> {
        match word {
            "space" => Some(Context::Space),
            "enterprise" => Some(Context::Enterprise),
            "web_user" | "mobile_worker" => Some(Context::Member),
            "registry" => Some(Context::Registry),
            "permissions" => Some(Context::Permissions),
            _ => None,
        }
    }

    /// The keywords that start a statement in this context.
    pub fn keywords(self) -> &'static [&'static str] {
        match self {
            Context::TopLevel => &["enterprise", "space", "test"],
            Context::Enterprise => &["admins", "permissions"],
            Context::Space => &[
                "enterprise",
                "plan",
                "server",
                "upstream",
                "environment",
                "security",
                "location_types",
                "locations",
                "group",
                "report",
                "features",
                "application",
                "registry",
                "profile",
                "grant",
                "role",
                "web_user",
                "mobile_worker",
            ],
            Context::Member => &["role", "locations", "groups", "login_as"],
            Context::Registry => &["case_types"],
            Context::Permissions => &["source", "spaces"],
        }
    }

    /// The blocks this one is written inside, innermost first.
    pub(super) fn enclosing(self) -> &'static [Context] {
        match self {
            Context::TopLevel => &[],
            Context::Enterprise | Context::Space => &[Context::TopLevel],
            Context::Member | Context::Registry => &[Context::Space, Context::TopLevel],
            Context::Permissions => &[Context::Enterprise, Context::TopLevel],
        }
    }

    /// Every context, for the tables of misplaced statements.
    pub(super) const ALL: [Context; 6] = [
        Context::TopLevel,
        Context::Enterprise,
        Context::Space,
        Context::Member,
        Context::Registry,
        Context::Permissions,
    ];
}

pub(super) fn file(source: SourceId, mut pairs: Pairs<'_, Rule>) -> (File, Vec<Diagnostic>) {
    let mut cx = Lower {
        source,
        diagnostics: Vec::new(),
        too_long: Default::default(),
    };
    let mut items = Vec::new();
    // INVARIANT: a successful parse of `file` yields exactly one `file` pair.
    let file = pairs.next().mandatory("file pair");
    for pair in file.into_inner() {
        if pair.as_rule() != Rule::top_item {
            continue;
        }
        let inner = first(pair);
        match inner.as_rule() {
            Rule::enterprise_decl => items.push(Item::Enterprise(cx.enterprise(inner))),
            Rule::space_decl => items.push(Item::Space(cx.space(inner))),
            Rule::test_decl => items.push(Item::Test(cx.test(inner))),
            Rule::unknown_stmt => cx.unknown(inner, Context::TopLevel),
            _ => {}
        }
    }
    let mut too_long = cx.too_long.take();
    cx.diagnostics.append(&mut too_long);
    (
        File {
            source: Some(source),
            items,
        },
        cx.diagnostics,
    )
}

pub(super) fn query(
    source: SourceId,
    mut pairs: Pairs<'_, Rule>,
) -> Result<Query, Vec<Diagnostic>> {
    let mut cx = Lower {
        source,
        diagnostics: Vec::new(),
        too_long: Default::default(),
    };
    // INVARIANT: a successful parse of `query` yields one `query` pair holding one question.
    let query = pairs.next().mandatory("query pair");
    let inner = first(query);
    let q = cx.query(inner);
    let mut too_long = cx.too_long.take();
    cx.diagnostics.append(&mut too_long);
    if cx.diagnostics.is_empty() {
        Ok(q)
    } else {
        Err(cx.diagnostics)
    }
}

/// A child the grammar makes mandatory. Lowering runs only on a successful parse, so a missing
/// one is a broken grammar invariant, not bad input; `what` names the child in that panic.
trait Mandatory<T> {
    fn mandatory(self, what: &str) -> T;
}

impl<T> Mandatory<T> for Option<T> {
    #[expect(
        clippy::expect_used,
        reason = "cannot fail: every caller takes a child that its rule's grammar makes mandatory, of a pair from a successful parse"
    )]
    fn mandatory(self, what: &str) -> T {
        self.expect(what)
    }
}

/// The first inner pair; grammar rules guarantee it exists where this is called.
fn first(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    // INVARIANT: only called on rules whose grammar has a mandatory first child.
    pair.into_inner().next().mandatory("rule has a first child")
}

impl Lower {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.source, s.start(), s.end())
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        let span = self.span(&pair);
        let text = pair.as_str();
        if text.len() > super::MAX_IDENT {
            self.too_long.borrow_mut().push(
                Diagnostic::new(
                    Code::TooLong,
                    format!(
                        "identifier is {} bytes long; the limit is {}",
                        text.len(),
                        super::MAX_IDENT
                    ),
                )
                .with_label(span, "too long")
                .with_help(
                    "use a short slug as the id, and put the full name in the quoted display name",
                ),
            );
        }
        Ident {
            name: text.to_owned(),
            span,
        }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> Str {
        let span = self.span(&pair);
        if pair.as_str().len() > super::MAX_STRING + 2 {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TooLong,
                    format!(
                        "string is {} bytes long; the limit is {}",
                        pair.as_str().len() - 2,
                        super::MAX_STRING
                    ),
                )
                .with_label(span, "too long")
                .with_help("names and emails are short; shorten the string"),
            );
        }
        let body = pair.as_str();
        let body = &body[1..body.len() - 1];
        if !body.contains('\\') {
            return Str {
                value: body.to_owned(),
                span,
            };
        }
        let mut value = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                value.push(c);
                continue;
            }
            match chars.next() {
                Some((_, e @ ('"' | '\\'))) => value.push(e),
                Some((_, other)) => {
                    let start = span.start as usize + 1 + i;
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::InvalidEscape,
                            format!("unknown escape `\\{other}` in a string"),
                        )
                        .with_label(
                            Span::new(self.source, start, start + 1 + other.len_utf8()),
                            "not an escape",
                        )
                        .with_help(
                            "strings know only `\\\"` and `\\\\`; write `\\\\` for a backslash",
                        ),
                    );
                    value.push(other);
                }
                None => value.push('\\'),
            }
        }
        Str { value, span }
    }

    fn ident_list(&self, pair: Pair<'_, Rule>) -> (Span, Vec<Ident>) {
        let span = self.span(&pair);
        (span, pair.into_inner().map(|p| self.ident(p)).collect())
    }

    fn string_list(&mut self, pair: Pair<'_, Rule>) -> (Span, Vec<Str>) {
        let span = self.span(&pair);
        (span, pair.into_inner().map(|p| self.string(p)).collect())
    }

    fn unknown(&mut self, pair: Pair<'_, Rule>, context: Context) {
        let word = self.ident(first(pair));
        let mut d = Diagnostic::new(
            Code::UnknownStatement,
            format!("unknown statement `{}` {}", word.name, context.describe()),
        )
        .with_label(word.span, "not a statement here");
        let keywords = context.keywords();
        d = if let Some(s) = nearest(&word.name, keywords.iter().copied()) {
            d.with_help(format!("did you mean `{s}`?"))
        } else if Permission::from_key(&word.name).is_some() && matches!(context, Context::Space) {
            d.with_help(format!(
                "`{}` is a permission: set it inside a `role` block",
                word.name
            ))
        } else {
            d.with_help(format!(
                "{} a statement starts with {}",
                context.describe(),
                one_of(keywords)
            ))
        };
        self.diagnostics.push(d);
    }

    fn enterprise(&mut self, pair: Pair<'_, Rule>) -> EnterpriseDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // keyword
        let id = self.ident(inner.next().mandatory("enterprise id"));
        let mut decl = EnterpriseDecl {
            id,
            name: None,
            admins: Vec::new(),
            permissions: Vec::new(),
            span,
        };
        for p in inner {
            match p.as_rule() {
                Rule::string => decl.name = Some(self.string(p)),
                Rule::enterprise_stmt => {
                    let stmt = first(p);
                    match stmt.as_rule() {
                        Rule::admins_stmt => {
                            let list = stmt.into_inner().nth(1).mandatory("admins list");
                            let admins = self.string_list(list);
                            decl.admins.push(admins);
                        }
                        Rule::permissions_stmt => {
                            let permissions = self.enterprise_permissions(stmt);
                            decl.permissions.push(permissions);
                        }
                        _ => self.unknown(stmt, Context::Enterprise),
                    }
                }
                _ => {}
            }
        }
        decl
    }

    /// `permissions { source SPACE spaces [SPACES] }`.
    fn enterprise_permissions(&mut self, pair: Pair<'_, Rule>) -> EnterprisePermissionsDecl {
        let mut inner = pair.into_inner();
        let keyword = self.span(&inner.next().mandatory("keyword"));
        let mut source = None;
        let mut spaces = Vec::new();
        for p in inner {
            match p.as_rule() {
                Rule::permissions_source => source = Some(self.keyword_ident(p).1),
                Rule::permissions_spaces => {
                    let list = p.into_inner().nth(1).mandatory("spaces list");
                    spaces = self.ident_list(list).1;
                }
                _ => {}
            }
        }
        EnterprisePermissionsDecl {
            keyword,
            // INVARIANT: the grammar requires `source SPACE` in the block.
            source: source.mandatory("permissions source"),
            spaces,
        }
    }

    fn space(&mut self, pair: Pair<'_, Rule>) -> SpaceDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        inner.next();
        let id = self.ident(inner.next().mandatory("space id"));
        let mut decl = SpaceDecl {
            id,
            name: None,
            stmts: Vec::new(),
            span,
        };
        for p in inner {
            match p.as_rule() {
                Rule::string => decl.name = Some(self.string(p)),
                Rule::space_stmt => {
                    if let Some(stmt) = self.space_stmt(first(p)) {
                        decl.stmts.push(stmt);
                    }
                }
                _ => {}
            }
        }
        decl
    }

    /// `keyword ident` statements: the keyword span and the ident.
    fn keyword_ident(&self, pair: Pair<'_, Rule>) -> (Span, Ident) {
        let mut inner = pair.into_inner();
        let keyword = self.span(&inner.next().mandatory("keyword"));
        let id = self.ident(inner.next().mandatory("ident"));
        (keyword, id)
    }

    fn id_and_name(&mut self, pair: Pair<'_, Rule>) -> (Ident, Option<Str>) {
        let mut inner = pair.into_inner();
        inner.next();
        let id = self.ident(inner.next().mandatory("id"));
        let name = inner.next().map(|s| self.string(s));
        (id, name)
    }

    fn space_stmt(&mut self, pair: Pair<'_, Rule>) -> Option<SpaceStmt> {
        Some(match pair.as_rule() {
            Rule::space_enterprise => {
                let (keyword, id) = self.keyword_ident(pair);
                SpaceStmt::Enterprise { keyword, id }
            }
            Rule::plan_stmt => {
                let (keyword, value) = self.keyword_ident(pair);
                SpaceStmt::Plan { keyword, value }
            }
            Rule::server_stmt => {
                let (keyword, value) = self.keyword_ident(pair);
                SpaceStmt::Server { keyword, value }
            }
            Rule::upstream_stmt => {
                let remote = pair
                    .clone()
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::kw_remote)
                    .map(|p| self.span(&p));
                let (keyword, id) = self.keyword_ident(pair);
                SpaceStmt::Upstream {
                    keyword,
                    id,
                    remote,
                }
            }
            Rule::environment_stmt => {
                let (keyword, value) = self.keyword_ident(pair);
                SpaceStmt::Environment { keyword, value }
            }
            Rule::security_stmt => {
                let mut inner = pair.into_inner();
                let keyword = self.span(&inner.next().mandatory("keyword"));
                let settings = inner
                    .filter(|p| p.as_rule() == Rule::setting)
                    .map(|p| self.setting(p))
                    .collect();
                SpaceStmt::Security { keyword, settings }
            }
            Rule::location_types_stmt => {
                let mut inner = pair.into_inner();
                let keyword = self.span(&inner.next().mandatory("keyword"));
                let types = inner
                    .filter(|p| p.as_rule() == Rule::location_type_decl)
                    .map(|p| {
                        let mut parts = p.into_inner();
                        let id = self.ident(parts.next().mandatory("type id"));
                        let parent = parts.nth(1).map(|p| self.ident(p));
                        LocationTypeDecl { id, parent }
                    })
                    .collect();
                SpaceStmt::LocationTypes { keyword, types }
            }
            Rule::locations_stmt => {
                let mut inner = pair.into_inner();
                let keyword = self.span(&inner.next().mandatory("keyword"));
                let roots = inner
                    .filter(|p| p.as_rule() == Rule::location_decl)
                    .map(|p| self.location(p))
                    .collect();
                SpaceStmt::Locations { keyword, roots }
            }
            Rule::group_stmt => {
                let (id, name) = self.id_and_name(pair);
                SpaceStmt::Group { id, name }
            }
            Rule::report_stmt => {
                let (id, name) = self.id_and_name(pair);
                SpaceStmt::Report { id, name }
            }
            Rule::features_stmt => {
                let mut inner = pair.into_inner();
                let keyword = self.span(&inner.next().mandatory("keyword"));
                let (_, flags) = self.ident_list(inner.next().mandatory("features list"));
                SpaceStmt::Features { keyword, flags }
            }
            Rule::application_stmt => {
                let (id, name) = self.id_and_name(pair);
                SpaceStmt::Application { id, name }
            }
            Rule::profile_stmt => {
                let (id, name) = self.id_and_name(pair);
                SpaceStmt::Profile { id, name }
            }
            Rule::registry_stmt => {
                let mut inner = pair.into_inner();
                inner.next(); // keyword
                let id = self.ident(inner.next().mandatory("registry id"));
                let mut decl = RegistryDecl {
                    id,
                    name: None,
                    case_types: Vec::new(),
                };
                for p in inner {
                    match p.as_rule() {
                        Rule::string => decl.name = Some(self.string(p)),
                        Rule::case_types_stmt => {
                            let list = p.into_inner().nth(1).mandatory("case types list");
                            decl.case_types = self.ident_list(list).1;
                        }
                        _ => {}
                    }
                }
                SpaceStmt::Registry(decl)
            }
            Rule::grant_stmt => {
                let mut inner = pair.into_inner();
                let keyword = self.span(&inner.next().mandatory("keyword"));
                let registry = self.ident(inner.next().mandatory("registry id"));
                let (_, to) = self.ident_list(inner.nth(1).mandatory("spaces list"));
                SpaceStmt::Grant {
                    keyword,
                    registry,
                    to,
                }
            }
            Rule::role_decl => SpaceStmt::Role(self.role(pair)),
            Rule::web_user_decl | Rule::mobile_worker_decl => SpaceStmt::Member(self.member(pair)),
            _ => {
                self.unknown(pair, Context::Space);
                return None;
            }
        })
    }

    fn location(&mut self, pair: Pair<'_, Rule>) -> LocationDecl {
        // Nesting is bounded by `MAX_NESTING`, so this recursion is too.
        let mut inner = pair.into_inner();
        let ty = self.ident(inner.next().mandatory("location type"));
        let id = self.ident(inner.next().mandatory("location id"));
        let mut decl = LocationDecl {
            ty,
            id,
            name: None,
            children: Vec::new(),
        };
        for p in inner {
            match p.as_rule() {
                Rule::string => decl.name = Some(self.string(p)),
                Rule::location_decl => decl.children.push(self.location(p)),
                _ => {}
            }
        }
        decl
    }

    fn role(&mut self, pair: Pair<'_, Rule>) -> RoleDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let keyword = self.span(&inner.next().mandatory("keyword"));
        let id = self.ident(inner.next().mandatory("role id"));
        let mut decl = RoleDecl {
            keyword,
            id,
            name: None,
            settings: Vec::new(),
            span,
        };
        for p in inner {
            match p.as_rule() {
                Rule::string => decl.name = Some(self.string(p)),
                Rule::setting => decl.settings.push(self.setting(p)),
                _ => {}
            }
        }
        decl
    }

    fn setting(&mut self, pair: Pair<'_, Rule>) -> Setting {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let key = self.ident(inner.next().mandatory("key"));
        let value_pair = first(
            inner
                .find(|p| p.as_rule() == Rule::value)
                .mandatory("value"),
        );
        let value = match value_pair.as_rule() {
            Rule::ident_list => {
                let (span, items) = self.ident_list(value_pair);
                Value::List { items, span }
            }
            _ => Value::Word(self.ident(value_pair)),
        };
        Setting { key, value, span }
    }

    fn member(&mut self, pair: Pair<'_, Rule>) -> MemberDecl {
        let span = self.span(&pair);
        let kind = if pair.as_rule() == Rule::web_user_decl {
            MemberKind::WebUser
        } else {
            MemberKind::MobileWorker
        };
        let mut inner = pair.into_inner();
        let keyword = self.span(&inner.next().mandatory("keyword"));
        let name_pair = inner.next().mandatory("member name");
        let name = match name_pair.as_rule() {
            Rule::string => self.string(name_pair),
            _ => {
                let id = self.ident(name_pair);
                Str {
                    value: id.name,
                    span: id.span,
                }
            }
        };
        let mut decl = MemberDecl {
            kind,
            keyword,
            name,
            role: Vec::new(),
            locations: Vec::new(),
            groups: Vec::new(),
            login_as: Vec::new(),
            span,
        };
        for block in inner {
            for stmt in block
                .into_inner()
                .filter(|p| p.as_rule() == Rule::member_stmt)
            {
                let stmt = first(stmt);
                match stmt.as_rule() {
                    Rule::member_role => {
                        let (_, id) = self.keyword_ident(stmt);
                        decl.role.push(id);
                    }
                    Rule::member_locations => {
                        let list = stmt.into_inner().nth(1).mandatory("list");
                        decl.locations.push(self.ident_list(list));
                    }
                    Rule::member_groups => {
                        let list = stmt.into_inner().nth(1).mandatory("list");
                        decl.groups.push(self.ident_list(list));
                    }
                    Rule::member_login_as if kind == MemberKind::WebUser => {
                        self.login_as_on_web_user(stmt);
                    }
                    Rule::member_login_as => {
                        let list = stmt.into_inner().nth(1).mandatory("list");
                        let names = self.string_list(list);
                        decl.login_as.push(names);
                    }
                    _ => self.unknown(stmt, Context::Member),
                }
            }
        }
        decl
    }

    /// `login_as [...]` names who may log in as a mobile worker; web users are not logged in as.
    fn login_as_on_web_user(&mut self, stmt: Pair<'_, Rule>) {
        let keyword = self.span(&first(stmt));
        self.diagnostics.push(
            Diagnostic::new(
                Code::UnknownStatement,
                "`login_as` does not go in a `web_user` block",
            )
            .with_label(keyword, "only mobile workers are logged in as")
            .with_help(
                "`login_as [\"email\", ...]` lists the web users who may log in as a mobile worker: put it in that `mobile_worker` block",
            ),
        );
    }

    fn test(&mut self, pair: Pair<'_, Rule>) -> TestDecl {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        inner.next();
        let name = self.string(inner.next().mandatory("test name"));
        let mut assertions = Vec::new();
        for p in inner.filter(|p| p.as_rule() == Rule::assertion) {
            let span = self.span(&p);
            let body = p.into_inner().nth(1).mandatory("assertion body");
            let assertion = if body.as_rule() == Rule::who_assertion {
                let mut parts = body.into_inner();
                let query = self.query(parts.next().mandatory("who query"));
                let (_, expected) = self.string_list(parts.nth(1).mandatory("expected members"));
                Assertion {
                    query,
                    expected: Some(expected),
                    span,
                }
            } else {
                Assertion {
                    query: self.query(body),
                    expected: None,
                    span,
                }
            };
            assertions.push(assertion);
        }
        TestDecl {
            name,
            assertions,
            span,
        }
    }

    fn question(&mut self, parts: &mut Pairs<'_, Rule>) -> Question {
        let level = self.ident(first(parts.next().mandatory("level")));
        let perm = first(parts.next().mandatory("permission"));
        let permission = if perm.as_rule() == Rule::report_permission {
            let mut r = perm.into_inner();
            let keyword = self.span(&r.next().mandatory("keyword"));
            PermissionRef::Report {
                keyword,
                id: self.ident(r.next().mandatory("report id")),
            }
        } else {
            PermissionRef::Key(self.ident(perm))
        };
        let mut at = None;
        let mut via = None;
        let mut space = None;
        for p in parts.by_ref() {
            match p.as_rule() {
                Rule::at_clause => at = p.into_inner().nth(1).map(|p| self.ident(p)),
                Rule::via_clause => via = p.into_inner().nth(1).map(|p| self.ident(p)),
                Rule::ident => space = Some(self.ident(p)),
                _ => {}
            }
        }
        // INVARIANT: the grammar ends every question with `in SPACE`.
        Question {
            level,
            permission,
            at,
            via,
            space: space.mandatory("space"),
        }
    }

    fn can(&mut self, pair: Pair<'_, Rule>) -> (Str, bool, Question) {
        let mut parts = pair.into_inner();
        let member = self.string(parts.next().mandatory("member"));
        let negated = first(parts.next().mandatory("can word")).as_rule() == Rule::kw_cannot;
        let question = self.question(&mut parts);
        (member, negated, question)
    }

    fn query(&mut self, pair: Pair<'_, Rule>) -> Query {
        match pair.as_rule() {
            Rule::who_query => {
                let mut parts = pair.into_inner();
                parts.next();
                parts.next();
                Query::Who {
                    question: self.question(&mut parts),
                }
            }
            Rule::what_query => {
                let mut parts = pair.into_inner();
                parts.next();
                parts.next();
                let member = self.string(parts.next().mandatory("member"));
                let space = self.ident(parts.nth(2).mandatory("space"));
                Query::What { member, space }
            }
            Rule::why_query => {
                let (member, negated, question) =
                    self.can(pair.into_inner().nth(1).mandatory("can query"));
                Query::Why {
                    member,
                    negated,
                    question,
                }
            }
            _ => {
                let (member, negated, question) = self.can(pair);
                Query::Can {
                    member,
                    negated,
                    question,
                }
            }
        }
    }
}
