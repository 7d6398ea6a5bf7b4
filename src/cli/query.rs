//! `charter query`: questions about a policy or a snapshot, answered in words or JSON, one at
//! a time or `--batch` (JSON lines).

use std::io::BufRead;
use std::path::Path;

use charter::diagnostic::Diagnostic;
use charter::model::{Items, Value};
use charter::query::{Explanation, Index, Step, WhatAnswer};
use charter::question::ResolvedQuery;
use charter::source::SourceSet;
use serde_json::json;

use super::load::{load_index, with_index};
use super::output::{OutputFormat, USAGE, fail, out, outln, pretty_json, print_human, stdout};

/// One answer, computed once and rendered as JSON or text.
enum Answer<'q> {
    /// `can`/`cannot`/`why`: the decision explained (`--batch` skips the explanation).
    Decision {
        member: &'q str,
        negated: bool,
        question: &'q charter::question::Request,
        allowed: bool,
        explanation: Option<charter::query::Explanation>,
    },
    Who {
        question: &'q charter::question::Request,
        /// Sorted, each with the worker it acts as when only Login-As gives it.
        members: Vec<(String, Option<String>)>,
        /// The locations of each location-restricted member among them, by name.
        scopes: Vec<(String, Vec<String>)>,
    },
    What {
        member: &'q str,
        space: u32,
        answer: Option<charter::query::WhatAnswer>,
    },
}

impl<'q> Answer<'q> {
    /// `fast` (for `--batch`): a `can` question is answered without its explanation.
    fn new(index: &Index, q: &'q ResolvedQuery, fast: bool) -> Answer<'q> {
        let explain = !(fast && matches!(q, ResolvedQuery::Can { .. }));
        match q {
            ResolvedQuery::Can {
                member,
                negated,
                request: question,
            }
            | ResolvedQuery::Why {
                member,
                negated,
                request: question,
            } => {
                let d = index.decide(member, question);
                Answer::Decision {
                    member,
                    negated: *negated,
                    question,
                    allowed: d.allowed(),
                    explanation: explain.then(|| index.explain(member, question, &d)),
                }
            }
            ResolvedQuery::Who { request: question } => {
                let members: Vec<(String, Option<String>)> = index
                    .who_through(question)
                    .into_iter()
                    .map(|(m, k)| (m.to_owned(), k.map(str::to_owned)))
                    .collect();
                let space = index.space(question.space);
                let entry = index.entry(question.space);
                let scopes = members
                    .iter()
                    .filter_map(|(m, _)| {
                        let i = space.member(m)?;
                        match &entry.members[i as usize].scope {
                            charter::snapshot::ScopeEntry::Locations(ids) => {
                                Some((m.clone(), ids.clone()))
                            }
                            charter::snapshot::ScopeEntry::All(_) => None,
                        }
                    })
                    .collect();
                Answer::Who {
                    question,
                    members,
                    scopes,
                }
            }
            ResolvedQuery::What { member, space } => Answer::What {
                member,
                space: *space,
                answer: index.what(member, *space),
            },
        }
    }

    /// Whether the statement holds: `can` allowed, `cannot` denied, `what` about a member.
    fn holds(&self) -> bool {
        match self {
            Answer::Decision {
                allowed, negated, ..
            } => allowed != negated,
            Answer::Who { .. } => true,
            Answer::What { answer, .. } => answer.is_some(),
        }
    }

    fn json(&self, index: &Index) -> serde_json::Value {
        match self {
            Answer::Decision {
                negated,
                allowed,
                explanation,
                ..
            } => {
                let mut v = match explanation {
                    Some(e) => explanation_json(e),
                    None => json!({ "allowed": allowed }),
                };
                if *negated {
                    v["holds"] = json!(self.holds());
                }
                v
            }
            Answer::Who {
                members, scopes, ..
            } => {
                let names: Vec<&str> = members.iter().map(|(m, _)| m.as_str()).collect();
                let mut v = json!({ "members": names });
                if !scopes.is_empty() {
                    let by: serde_json::Map<String, serde_json::Value> = scopes
                        .iter()
                        .map(|(m, ids)| (m.clone(), json!(ids)))
                        .collect();
                    v["scope"] = serde_json::Value::Object(by);
                }
                let by: serde_json::Map<String, serde_json::Value> = members
                    .iter()
                    .filter_map(|(m, k)| Some((m.clone(), json!(k.as_ref()?))))
                    .collect();
                if !by.is_empty() {
                    v["through_login_as"] = serde_json::Value::Object(by);
                }
                v
            }
            Answer::What {
                member,
                space,
                answer,
            } => match answer {
                Some(w) => what_json(w),
                None => json!({
                    "permissions": {}, "scope": [],
                    "reasons": [format!("`{member}` is not a member of `{}`", index.entry(*space).id)],
                }),
            },
        }
    }

    fn human(&self, index: &Index) -> String {
        let mut out = String::new();
        match self {
            Answer::Decision {
                member,
                negated,
                question,
                allowed,
                explanation,
            } => {
                let (verdict, word) = if *allowed {
                    ("allowed", "can")
                } else {
                    ("denied", "cannot")
                };
                out.push_str(&format!(
                    "{verdict}: `{member}` {word} {}\n",
                    index.describe(question)
                ));
                if *negated {
                    out.push_str(&format!("so \"cannot\" is {}\n", self.holds()));
                }
                if let Some(e) = explanation {
                    for r in &e.reasons {
                        out.push_str(&format!("  - {r}\n"));
                    }
                    if let Some(change) = &e.change {
                        out.push_str(&format!("  to allow it: {change}\n"));
                    }
                }
            }
            Answer::Who {
                question,
                members,
                scopes,
            } => {
                let nobody = if members.is_empty() { " nobody" } else { "" };
                out.push_str(&format!("who can {}:{nobody}\n", index.describe(question)));
                // Both lists are sorted by name: one pass.
                let mut scopes = scopes.iter().peekable();
                for (m, through) in members {
                    let mut notes = Vec::new();
                    if let Some((_, ids)) = scopes.next_if(|(n, _)| n == m) {
                        notes.push(ids.join(", "));
                    }
                    if let Some(k) = through {
                        notes.push(format!("through Login-As of `{k}`"));
                    }
                    match notes.is_empty() {
                        true => out.push_str(&format!("  {m}\n")),
                        false => out.push_str(&format!("  {m} ({})\n", notes.join("; "))),
                    }
                }
            }
            Answer::What {
                member,
                space,
                answer: None,
            } => out.push_str(&format!(
                "denied: `{member}` is not a member of `{}`\n",
                index.entry(*space).id
            )),
            Answer::What {
                member,
                answer: Some(w),
                ..
            } => {
                let from = match (&w.from_upstream, &w.from_enterprise) {
                    (Some(u), _) => format!(" (from upstream `{u}`)"),
                    (None, Some(e)) => format!(" (through Enterprise Permissions from `{e}`)"),
                    (None, None) => String::new(),
                };
                out.push_str(&format!("`{member}` holds role `{}`{from}\n", w.role));
                let scope = match &w.scope {
                    charter::snapshot::ScopeEntry::All(_) => "all locations".to_owned(),
                    charter::snapshot::ScopeEntry::Locations(ids) => ids.join(", "),
                };
                out.push_str(&format!("scope: {scope}\n"));
                if let Some(api) = &w.api {
                    out.push_str(&format!(
                        "api: `data = {}` at all locations (`access_apis = on`)\n",
                        api.data.as_str()
                    ));
                }
                if let Some(la) = &w.login_as {
                    out.push_str(&login_as_text(la));
                }
                // Columns as wide as their longest entry (a list value can be long).
                let values: Vec<String> =
                    w.permissions.iter().map(|(_, v)| v.to_source()).collect();
                let key_w = w
                    .permissions
                    .iter()
                    .map(|(p, _)| p.key().len())
                    .max()
                    .unwrap_or(0);
                let value_w = values.iter().map(String::len).max().unwrap_or(0);
                for ((p, _), value) in w.permissions.iter().zip(&values) {
                    let (key, seed) = (p.key(), p.seed_name());
                    out.push_str(&format!("  {key:<key_w$} {value:<value_w$} {seed}\n"));
                }
            }
        }
        out
    }
}

/// `charter query`: one query, answered in words or JSON (exit 1 when the statement does not
/// hold), or `--batch`.
pub(crate) fn run(
    path: &Path,
    text: Option<&str>,
    batch: Option<&Path>,
    format: Option<OutputFormat>,
    key: Option<&Path>,
) -> u8 {
    if batch.is_some() && matches!(format, Some(OutputFormat::Human)) {
        // A million human answers are not read by humans; one JSON line per input line is.
        return fail(
            "`--batch` answers one JSON line per query line; `--format human` is for a single query",
        );
    }
    let format = format.unwrap_or(OutputFormat::Human);
    if let Some(batch) = batch {
        return match load_index(path, key) {
            Ok(index) => run_batch(&index, batch),
            Err(code) => code,
        };
    }
    let text = text.unwrap_or_default();
    let mut sources = SourceSet::default();
    let id = sources.add("<query>", text.to_owned());
    // Of a snapshot, only the spaces the answer looks at are read (`pipeline::with_index`):
    // the reply is made, not printed, until it is final.
    let reply = with_index(path, key, |index| {
        match charter::query::parse(index, id, text) {
            Ok(q) => {
                let answer = Answer::new(index, &q, false);
                let text = match format {
                    OutputFormat::Json => pretty_json(&answer.json(index)) + "\n",
                    OutputFormat::Human => answer.human(index),
                };
                Ok((text, answer.holds()))
            }
            Err(problems) => Err(problems),
        }
    });
    match reply {
        Ok(Ok((text, holds))) => {
            out!("{text}");
            u8::from(!holds)
        }
        Ok(Err(problems)) => query_error(&sources, &problems, format),
        Err(code) => code,
    }
}

fn query_error(sources: &SourceSet, problems: &[Diagnostic], format: OutputFormat) -> u8 {
    match format {
        OutputFormat::Json => outln!("{}", error_json(problems)),
        OutputFormat::Human => print_human(sources, problems),
    }
    USAGE
}

/// `query --batch`: one JSON answer per query line, each with its 1-based `line`. Blank lines
/// and `#` comments are skipped; a line that is not UTF-8 or not a query gets an `error` line
/// (with the diagnostic's `help`, the nearest spelling) and the batch goes on. Exit 0 when every
/// query line was answered, 2 otherwise. One reused line buffer: nothing is allocated per line
/// but the answer itself.
fn run_batch(index: &Index, batch: &Path) -> u8 {
    let reader: Box<dyn BufRead> = if batch == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        // A directory opens on unix and fails only at the first read; say what it is instead.
        // Pipes are fine (`--batch <(generate)`).
        if std::fs::metadata(batch).is_ok_and(|m| m.is_dir()) {
            return fail(format_args!(
                "cannot read `{}`: it is a directory, not a file of queries",
                batch.display()
            ));
        }
        match std::fs::File::open(batch) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 16, f)),
            Err(e) => return fail(format_args!("cannot read `{}`: {e}", batch.display())),
        }
    };
    let stdout = std::io::stdout();
    let out = std::io::BufWriter::new(stdout.lock());
    let mut general = |line: &str, number: usize| -> (serde_json::Value, bool) {
        match charter::query::parse(index, charter::source::SourceId(0), line) {
            Ok(q) => {
                let mut v = Answer::new(index, &q, true).json(index);
                v["line"] = json!(number);
                (v, true)
            }
            Err(problems) => (batch_error(number, &problems), false),
        }
    };
    match charter::query::batch::run(index, reader, out, &mut general) {
        Ok(true) => 0,
        Ok(false) => USAGE,
        Err(charter::query::batch::BatchError::Read { after, error }) => fail(format_args!(
            "cannot read `{}` after line {after}: {error}",
            batch.display()
        )),
        Err(charter::query::batch::BatchError::Write {
            error,
            all_answered,
        }) => {
            stdout::failed(error);
            if all_answered { 0 } else { USAGE }
        }
    }
}

/// The error line of a batch line that is not a query, with its line number.
fn batch_error(number: usize, problems: &[Diagnostic]) -> serde_json::Value {
    let mut v = error_json(problems);
    v["line"] = json!(number);
    v
}

/// `{"error": ..., "help"?: ...}` for a query that cannot be answered: the messages, and the
/// help (the nearest valid spelling) when there is one.
fn error_json(problems: &[Diagnostic]) -> serde_json::Value {
    let join = |parts: Vec<&str>| parts.join("; ");
    let message = join(problems.iter().map(|d| d.message.as_str()).collect());
    let help = join(problems.iter().filter_map(|d| d.help.as_deref()).collect());
    let mut v = json!({ "error": message });
    if !help.is_empty() {
        v["help"] = json!(help);
    }
    v
}

/// `why`'s explanation as JSON: `allowed`, `reasons`, and for a denial `change` and `fix`
/// (keys sorted, as every `query` answer).
fn explanation_json(e: &Explanation) -> serde_json::Value {
    let mut v = json!({ "allowed": e.allowed, "reasons": e.reasons });
    if let Some(change) = &e.change {
        v["change"] = json!(change);
    }
    if !e.fix.is_empty() {
        v["fix"] = e.fix.iter().map(step_json).collect();
    }
    if let Some(k) = &e.through_login_as {
        v["through_login_as"] = json!(k);
    }
    v
}

/// One step of a fix, tagged by `step`.
fn step_json(step: &Step) -> serde_json::Value {
    match step {
        Step::Set {
            space,
            role,
            key,
            value,
        } => json!({ "step": "set", "space": space, "role": role, "key": key, "value": value }),
        Step::AddReport {
            space,
            role,
            report,
        } => json!({ "step": "add_report", "space": space, "role": role, "report": report }),
        Step::DeclareReport { space, report } => {
            json!({ "step": "declare_report", "space": space, "report": report })
        }
        Step::RaisePlan { space, plan } => {
            json!({ "step": "raise_plan", "space": space, "plan": plan })
        }
        Step::EnableFeature { space, flag } => {
            json!({ "step": "enable_feature", "space": space, "flag": flag })
        }
        Step::AssignLocation {
            space,
            member,
            location,
        } => json!({
            "step": "assign_location", "space": space, "member": member, "location": location,
        }),
        Step::AssignRole {
            space,
            member,
            role,
        } => json!({ "step": "assign_role", "space": space, "member": member, "role": role }),
        Step::AddMember {
            space,
            member,
            role,
        } => json!({ "step": "add_member", "space": space, "member": member, "role": role }),
        Step::MakeEnterpriseAdmin { enterprise, member } => {
            json!({ "step": "make_enterprise_admin", "enterprise": enterprise, "member": member })
        }
    }
}

/// `what`'s answer as JSON: values as the snapshot writes them (a word, or a list of ids).
fn what_json(w: &WhatAnswer) -> serde_json::Value {
    let permissions: serde_json::Map<String, serde_json::Value> = w
        .permissions
        .iter()
        .map(|(p, value)| {
            let value = match value {
                Value::Items(Items::Some(ids)) | Value::Roles(ids) => json!(ids),
                other => json!(other.to_source()),
            };
            (p.key().to_owned(), value)
        })
        .collect();
    let mut v = json!({ "role": w.role, "permissions": permissions, "scope": w.scope });
    if let Some(u) = &w.from_upstream {
        v["from_upstream"] = json!(u);
    }
    if let Some(e) = &w.from_enterprise {
        v["from_enterprise"] = json!(e);
    }
    if let Some(api) = &w.api {
        v["api"] = json!({ "data": api.data.as_str(), "scope": "all" });
    }
    if let Some(la) = &w.login_as {
        let grants: Vec<serde_json::Value> = la
            .grants
            .iter()
            .map(|g| {
                let mut e = json!({ "permission": g.permission.key(), "level": g.level_word() });
                match &g.at {
                    None => e["scope"] = json!("all"),
                    Some(at) => {
                        e["locations"] = at
                            .iter()
                            .map(|(l, k)| json!({ "location": l, "worker": k }))
                            .collect()
                    }
                }
                e
            })
            .collect();
        v["login_as"] = json!({ "workers": la.workers, "grants": grants });
    }
    v
}

/// `what`'s Login-As lines: whom, then each grant and where (long lists shortened).
fn login_as_text(la: &charter::query::LoginAsWhat) -> String {
    const SHOWN: usize = 8;
    let list = |items: Vec<String>| {
        let more = items.len().saturating_sub(SHOWN);
        let mut text = items.into_iter().take(SHOWN).collect::<Vec<_>>().join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    };
    let n = la.workers.len();
    let mut out = format!(
        "login_as: may log in as {n} mobile worker{} in Web Apps: {}\n",
        if n == 1 { "" } else { "s" },
        list(la.workers.iter().map(|w| format!("`{w}`")).collect())
    );
    for g in &la.grants {
        let at = match &g.at {
            None if !g.permission.is_location_scoped() => "space-wide".to_owned(),
            None => "at all locations".to_owned(),
            Some(at) => format!(
                "at {}",
                list(at.iter().map(|(l, k)| format!("{l} (as `{k}`)")).collect())
            ),
        };
        out.push_str(&format!(
            "  through Login-As: {} `{}` {at}\n",
            g.level_word(),
            g.permission.key()
        ));
    }
    out
}
