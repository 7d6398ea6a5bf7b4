//! pest errors → `E0001` diagnostics in the language's words.
//!
//! pest reports the outermost named rule that failed at the furthest position; each such rule
//! has a user-facing description here. Rule names never reach the user.

use super::pest::Rule;

use crate::diagnostic::suggest::nearest;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Permission;
use crate::source::{SourceId, Span};

/// What a user would call the thing a rule matches.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::ident => "an identifier",
        Rule::string | Rule::string_body => "a string in double quotes",
        Rule::ident_list => "a list of ids in `[...]`",
        Rule::string_list => "a list of strings in `[...]`",
        Rule::close => "`}`",
        Rule::open => "`{`",
        Rule::eq_eq => "`==`",
        Rule::eq => "`=`",
        Rule::top_item => "a declaration (`enterprise`, `space` or `test`)",
        Rule::enterprise_stmt => "an enterprise statement (`admins` or `permissions`)",
        Rule::space_stmt => {
            "a space statement (`enterprise`, `plan`, `server`, `upstream`, `environment`, \
             `security`, `location_types`, `locations`, `group`, `report`, `features`, \
             `application`, `registry`, `profile`, `grant`, `role`, `web_user` or \
             `mobile_worker`)"
        }
        Rule::member_stmt | Rule::member_block => {
            "a member statement (`role`, `locations [...]` or `groups [...]`)"
        }
        Rule::permissions_source => "`source SPACE`",
        Rule::permissions_spaces => "`spaces [...]`",
        Rule::case_types_stmt => "`case_types [...]`",
        Rule::setting => "a setting `key = value`",
        Rule::value => "a value",
        Rule::location_type_decl => "a location type (`state in country`)",
        Rule::location_decl => "a location (`type id \"Name\"`)",
        Rule::assertion => "an assertion (`assert ...`)",
        Rule::level => "a level (`view`, `edit` or `use`)",
        Rule::permission | Rule::report_permission => "a permission",
        Rule::at_clause => "`at LOCATION`",
        Rule::via_clause => "`via web` or `via api`",
        Rule::can_word => "`can` or `cannot`",
        Rule::can_query | Rule::who_assertion => "a question (`\"member\" can ...`, `who can ...`)",
        Rule::who_query => "`who can ...`",
        Rule::what_query => "`what can ...`",
        Rule::why_query => "`why ...`",
        Rule::kw_in => "`in SPACE`",
        Rule::kw_at => "`at`",
        Rule::kw_via => "`via`",
        Rule::kw_can => "`can`",
        Rule::kw_cannot => "`cannot`",
        Rule::kw_do => "`do`",
        Rule::kw_assert => "`assert`",
        Rule::EOI => "end of input",
        Rule::query => {
            "a query (`\"member\" can ...`, `\"member\" cannot ...`, `who can ...`, \
             `what can \"member\" do in SPACE` or `why ...`)"
        }
        Rule::kw_enterprise => "`enterprise`",
        Rule::kw_space => "`space`",
        Rule::kw_test => "`test`",
        Rule::kw_admins => "`admins`",
        Rule::kw_plan => "`plan`",
        Rule::kw_server => "`server`",
        Rule::kw_upstream => "`upstream`",
        Rule::kw_remote => "`remote`",
        Rule::kw_environment => "`environment`",
        Rule::kw_security => "`security`",
        Rule::kw_location_types => "`location_types`",
        Rule::kw_locations => "`locations`",
        Rule::kw_group => "`group`",
        Rule::kw_groups => "`groups`",
        Rule::kw_report => "`report`",
        Rule::kw_role => "`role`",
        Rule::kw_web_user => "`web_user`",
        Rule::kw_mobile_worker => "`mobile_worker`",
        Rule::kw_who => "`who`",
        Rule::kw_what => "`what`",
        Rule::kw_why => "`why`",
        Rule::kw_features => "`features`",
        Rule::kw_application => "`application`",
        Rule::kw_registry => "`registry`",
        Rule::kw_case_types => "`case_types`",
        Rule::kw_profile => "`profile`",
        Rule::kw_grant => "`grant`",
        Rule::kw_to => "`to`",
        Rule::kw_login_as => "`login_as`",
        Rule::kw_permissions => "`permissions`",
        Rule::kw_source => "`source`",
        Rule::kw_spaces => "`spaces`",
        _ => "a statement",
    }
}

/// Converts a pest error into an `E0001` diagnostic with the span of the offending token.
pub(super) fn from_pest(
    source: SourceId,
    text: &str,
    error: &pest::error::Error<Rule>,
) -> Diagnostic {
    let pos = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let positives: Vec<Rule> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        pest::error::ErrorVariant::CustomError { message } => {
            // pest's own limits (call or stack limit): still a syntax error at a position.
            return Diagnostic::new(Code::SyntaxError, message.to_lowercase())
                .with_label(Span::new(source, pos, pos), "here")
                .with_help("simplify this part of the file");
        }
    };
    let (end, found) = offending_token(text, pos);
    let span = Span::new(source, pos, end);

    let mut expected: Vec<String> = Vec::new();
    let mut help = None;
    for rule in &positives {
        let text_for = if *rule == Rule::value {
            value_description(text, pos)
        } else {
            None
        };
        let description = text_for.unwrap_or_else(|| describe(*rule).to_owned());
        if !expected.contains(&description) {
            expected.push(description);
        }
    }
    if expected.is_empty() {
        expected.push("a statement".to_owned());
    }
    // `}` is always possible at the end of a block; name what the block holds first.
    expected.sort_by_key(|e| e == "`}`");
    let expected_text = match expected.len() {
        1 => expected[0].clone(),
        n => format!("{} or {}", expected[..n - 1].join(", "), expected[n - 1]),
    };

    if found == "`\"`"
        && !text[pos + 1..]
            .split('\n')
            .next()
            .unwrap_or("")
            .contains('"')
    {
        return Diagnostic::new(Code::SyntaxError, "unterminated string")
            .with_label(
                Span::new(source, pos, pos + 1),
                "this string is never closed",
            )
            .with_help(
                "close the string with `\"` on the same line; write `\\\"` for a quote inside it",
            );
    }
    let open = innermost_open_block(text, pos);
    if found == "end of file" && positives.contains(&Rule::close) {
        let mut d = Diagnostic::new(
            Code::SyntaxError,
            match &open {
                Some((_, header)) => format!("unexpected end of file: `{header}` is not closed"),
                None => "unexpected end of file: a block is not closed".to_owned(),
            },
        )
        .with_label(span, "the file ends here");
        if let Some((at, header)) = &open {
            d = d.with_label(
                Span::new(source, *at, *at + 1),
                format!("`{header}` opens here"),
            );
        }
        return d.with_help("add the missing `}`: every `{` needs its `}`");
    }
    // A statement of an enclosing block where the innermost block's own statements go: that
    // block was not closed (`web_user` inside a `role`, `space` inside a `space`).
    let word = found.trim_matches('`');
    // The statement's first word: the token found, or (for `web_user "a"` read as a setting
    // missing its `=`) the one word before it on the line.
    let line_start = text[..pos].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let before = text[line_start..pos].trim();
    let (first_word, first_span) = if before.is_empty() {
        (word, span)
    } else if !before.contains(char::is_whitespace) {
        let start = line_start + text[line_start..pos].find(before).unwrap_or(0);
        (before, Span::new(source, start, start + before.len()))
    } else {
        ("", span)
    };
    if let Some((at, header)) = &open
        && belongs_outside(first_word, header)
    {
        let word = first_word;
        return Diagnostic::new(
            Code::SyntaxError,
            format!("`{header}` is not closed before `{word}`"),
        )
        .with_label(
            first_span,
            format!("`{word}` does not go inside `{header}`"),
        )
        .with_label(
            Span::new(source, *at, *at + 1),
            format!("`{header}` opens here"),
        )
        .with_help(format!("add `}}` to close `{header}` before this line"));
    }
    let starts_upper = found.chars().nth(1).is_some_and(|c| c.is_ascii_uppercase());
    if starts_upper
        && positives
            .iter()
            .any(|r| matches!(r, Rule::ident | Rule::space_stmt | Rule::location_decl))
    {
        let token = found.trim_matches('`');
        help = Some(format!(
            "identifiers are lowercase slugs (`[a-z][a-z0-9_-]*`): write `{}`",
            slugify(token)
        ));
    } else if starts_upper && positives.contains(&Rule::value) {
        let token = found.trim_matches('`');
        help = Some(format!(
            "values are lowercase words: write `{}`",
            token.to_ascii_lowercase()
        ));
    } else if found == "`\"`" && positives.contains(&Rule::ident) {
        help = Some("ids are written without quotes; strings are for names and emails".to_owned());
    }
    let help = help
        .or_else(|| {
            let keywords = positives
                .iter()
                .flat_map(|r| statement_keywords(*r))
                .copied();
            nearest(word, keywords).map(|k| format!("did you mean `{k}`?"))
        })
        .or_else(|| misplaced_keyword(word))
        .unwrap_or_else(|| match positives.as_slice() {
            [Rule::close] | [] => "check for a missing separator or a misplaced brace".to_owned(),
            [Rule::eq] => "settings are written `key = value`".to_owned(),
            [Rule::query] => {
                "for example: `\"priya@acme.org\" can view data at lko-01 in acme-prod`".to_owned()
            }
            _ => format!("write {} here", expected[0]),
        });

    Diagnostic::new(
        Code::SyntaxError,
        format!("expected {expected_text}, found {found}"),
    )
    .with_label(span, format!("expected {}", expected[0]))
    .with_help(help)
}

/// The innermost `{` still open at `pos`, and the words before it on its line (`role nurse`).
fn innermost_open_block(text: &str, pos: usize) -> Option<(usize, String)> {
    let prefix = &text[..pos.min(text.len())];
    let mut open: Vec<usize> = Vec::new();
    super::scan(prefix, |mark| match mark {
        super::Mark::Open(at) => open.push(at),
        super::Mark::Close => {
            open.pop();
        }
        super::Mark::Comment { .. } => {}
    });
    let at = open
        .into_iter()
        .rev()
        .find(|&at| prefix.as_bytes()[at] == b'{')?;
    let line_start = prefix[..at].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let header: String = prefix[line_start..at]
        .trim()
        .rsplit([';', ','])
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .take(60)
        .collect();
    (!header.is_empty()).then_some((at, header))
}

/// Whether statement keyword `word` cannot appear in the block headed `header`: it starts a
/// statement of a block enclosing this one (the lowering's keyword tables), not of this one, so
/// this block was left open. (For blocks without a keyword table, such as `role`, any
/// statement keyword.) A word that is also a role setting (`locations`, `groups`) may start a
/// setting, so it is never taken for a misplaced statement; nor is a statement of an unrelated
/// or inner block (`login_as` in a space belongs in a member: closing the space would not help).
fn belongs_outside(word: &str, header: &str) -> bool {
    use super::lower::Context;
    let block = header.split_whitespace().next().unwrap_or("");
    let context = Context::of_block(block);
    let inside: &[&str] = match context {
        Some(c) => c.keywords(),
        None if block == "test" => &["assert"],
        // Role settings, location and type declarations are words, not statement keywords.
        None => &[],
    };
    let outer: &[Context] = match context {
        Some(c) => c.enclosing(),
        None => &Context::ALL,
    };
    let statement = word == "assert" || outer.iter().any(|c| c.keywords().contains(&word));
    statement && Permission::from_key(word).is_none() && !inside.contains(&word)
}

/// For `key = <error>`: the values that key takes, in the language's words.
fn value_description(text: &str, pos: usize) -> Option<String> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let before = text[line_start..pos].trim_end();
    let key = before.strip_suffix('=')?.trim();
    let key = key
        .rsplit(|c: char| c == '{' || c == ';' || c == ',' || c.is_whitespace())
        .next()?;
    if key == "two_factor" {
        return Some("a value for `two_factor`: `required` or `optional`".to_owned());
    }
    let permission = Permission::from_key(key)?;
    Some(format!(
        "a permission value for `{key}`: {}",
        permission.kind().describe_values()
    ))
}

/// The end offset and a description of the token at `pos`.
fn offending_token(text: &str, pos: usize) -> (usize, String) {
    let rest = &text[pos.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return (pos, "end of file".to_owned());
    };
    if c == '\n' || c == '\r' {
        return (pos, "end of line".to_owned());
    }
    let word_len: usize = rest
        .char_indices()
        .take_while(|(_, ch)| ch.is_alphanumeric() || *ch == '_' || *ch == '-')
        .map(|(_, ch)| ch.len_utf8())
        .sum();
    let len = if word_len > 0 { word_len } else { c.len_utf8() };
    let token: String = rest[..len].chars().take(40).collect();
    (pos + len, format!("`{token}`"))
}

fn slugify(token: &str) -> String {
    token
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The keywords that start the statements a rule stands for.
fn statement_keywords(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::member_stmt | Rule::member_block => &["role", "locations", "groups", "login_as"],
        Rule::enterprise_stmt => &["admins", "permissions"],
        Rule::permissions_source => &["source"],
        Rule::permissions_spaces => &["spaces"],
        Rule::case_types_stmt => &["case_types"],
        Rule::top_item => &["enterprise", "space", "test"],
        Rule::assertion | Rule::kw_assert => &["assert"],
        _ => &[],
    }
}

/// For a statement keyword found where it does not belong: where it does.
fn misplaced_keyword(word: &str) -> Option<String> {
    let home = match word {
        "enterprise" | "space" | "test" => "the top level (or, for `enterprise ID`, a space)",
        "admins" | "permissions" => "an `enterprise` block",
        "plan" | "server" | "upstream" | "environment" | "security" | "location_types"
        | "group" | "report" | "web_user" | "mobile_worker" | "features" | "application"
        | "registry" | "profile" | "grant" => "a `space` block",
        "login_as" => "a `mobile_worker` block",
        "case_types" => "a `registry` block",
        "source" | "spaces" => "a `permissions` block of an `enterprise`",
        "assert" => "a `test` block",
        _ => return None,
    };
    Some(format!(
        "`{word}` belongs in {home}; check that the block before it is closed with `}}`"
    ))
}
