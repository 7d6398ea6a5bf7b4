//! Name resolution of queries: one resolver for `assert` statements (lowered against the
//! policy's IR when it compiles) and for `charter query` (against a loaded snapshot), from the
//! parsed `ast::Query` to a [`ResolvedQuery`] (types in the neutral [`crate::question`]).
//!
//! Both sides implement [`Names`] with the same ids: spaces sorted by id, locations in preorder,
//! reports in declaration order, which is how the snapshot is emitted from the IR.

use super::{ENTERPRISE_REPORTS, unknown_name, unknown_permission};
use crate::ast;
use crate::diagnostic::suggest::{nearest, one_of};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Ir;
use crate::model::Permission;
use crate::question::{Asked, Channel, Request, ResolvedQuery, Want};

/// The names a query can refer to.
pub trait Names {
    /// "in this policy", "in this snapshot": where an unknown space was looked for.
    fn looked_in(&self) -> &'static str;
    fn space(&self, id: &str) -> Option<u32>;
    fn space_ids(&self) -> Vec<&str>;
    fn space_id(&self, space: u32) -> &str;
    fn location(&self, space: u32, id: &str) -> Option<u32>;
    fn location_ids(&self, space: u32) -> Vec<&str>;
    fn report(&self, space: u32, id: &str) -> Option<u32>;
    fn report_ids(&self, space: u32) -> Vec<&str>;
}

impl Names for Ir {
    fn looked_in(&self) -> &'static str {
        "in this policy"
    }
    fn space(&self, id: &str) -> Option<u32> {
        self.find_space(id).map(|s| s.0)
    }
    fn space_ids(&self) -> Vec<&str> {
        self.spaces.iter().map(|s| s.id.as_str()).collect()
    }
    fn space_id(&self, space: u32) -> &str {
        &self.spaces[space as usize].id
    }
    fn location(&self, space: u32, id: &str) -> Option<u32> {
        self.spaces[space as usize].find_location(id).map(|l| l.0)
    }
    fn location_ids(&self, space: u32) -> Vec<&str> {
        self.spaces[space as usize]
            .locations
            .iter()
            .map(|l| l.id.as_str())
            .collect()
    }
    fn report(&self, space: u32, id: &str) -> Option<u32> {
        self.spaces[space as usize].find_report(id).map(|r| r.0)
    }
    fn report_ids(&self, space: u32) -> Vec<&str> {
        self.spaces[space as usize]
            .reports
            .iter()
            .map(|r| r.id.as_str())
            .collect()
    }
}

/// The names to suggest from: none once the run's suggestion budget is spent, so that a batch
/// of unknown names does not list every candidate for each (the list is built lazily by the
/// index's `Names`, but collecting it is already linear).
fn candidates<'a>(names: impl FnOnce() -> Vec<&'a str>) -> Vec<&'a str> {
    if crate::diagnostic::suggest::exhausted() {
        Vec::new()
    } else {
        names()
    }
}

/// Resolves a parsed query; every unknown name, invalid level, and level that does not fit
/// its permission is reported (with the nearest spelling).
pub fn resolve_query(names: &impl Names, q: &ast::Query) -> Result<ResolvedQuery, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let resolved = match q {
        ast::Query::Can {
            member,
            negated,
            question,
        } => request_of(names, question, &mut problems).map(|request| ResolvedQuery::Can {
            member: member.value.clone(),
            negated: *negated,
            request,
        }),
        ast::Query::Why {
            member,
            negated,
            question,
        } => request_of(names, question, &mut problems).map(|request| ResolvedQuery::Why {
            member: member.value.clone(),
            negated: *negated,
            request,
        }),
        ast::Query::Who { question } => {
            request_of(names, question, &mut problems).map(|request| ResolvedQuery::Who { request })
        }
        ast::Query::What { member, space } => {
            space_of(names, space, &mut problems).map(|space| ResolvedQuery::What {
                member: member.value.clone(),
                space,
            })
        }
    };
    match resolved {
        Some(q) if problems.is_empty() => Ok(q),
        _ => Err(problems),
    }
}

fn space_of(names: &impl Names, id: &ast::Ident, problems: &mut Vec<Diagnostic>) -> Option<u32> {
    let space = names.space(&id.name);
    if space.is_none() {
        problems.push(unknown_name(
            "space",
            id,
            names.looked_in(),
            candidates(|| names.space_ids()),
        ));
    }
    space
}

/// The request of a question, if every name in it resolves (the diagnostics are
/// [`resolve_query`]'s business): `query --batch`'s quick path.
pub fn resolve_request(names: &impl Names, q: &ast::Question) -> Option<Request> {
    let mut problems = Vec::new();
    request_of(names, q, &mut problems).filter(|_| problems.is_empty())
}

fn request_of(
    names: &impl Names,
    q: &ast::Question,
    problems: &mut Vec<Diagnostic>,
) -> Option<Request> {
    let space = space_of(names, &q.space, problems)?;
    // Only a report needs the words (a batch resolves hundreds of thousands of questions).
    let in_space = || format!("in `{}`", names.space_id(space));
    const LEVELS: [&str; 3] = ["view", "edit", "use"];
    let want = match q.level.name.as_str() {
        "view" | "use" => Some(Want::View),
        "edit" => Some(Want::Edit),
        _ => {
            let help = match nearest(&q.level.name, LEVELS) {
                Some(l) => format!("did you mean `{l}`?"),
                None => format!("a level is {}", one_of(&LEVELS)),
            };
            problems.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a valid level", q.level.name),
                )
                .with_label(q.level.span, format!("expected {}", one_of(&LEVELS)))
                .with_help(help),
            );
            None
        }
    };
    let (asked, name, name_span, fits): (Option<Asked>, &str, _, &[&str]) = match &q.permission {
        ast::PermissionRef::Key(k) if k.name == ENTERPRISE_REPORTS => {
            (Some(Asked::EnterpriseReports), &k.name, k.span, &["view"])
        }
        ast::PermissionRef::Key(k) => match Permission::from_key(&k.name) {
            Some(p) => (Some(Asked::Key(p)), &k.name, k.span, p.query_levels()),
            None => {
                problems.push(unknown_permission(
                    k,
                    Permission::keys().chain([ENTERPRISE_REPORTS]),
                ));
                (None, &k.name, k.span, &[])
            }
        },
        ast::PermissionRef::Report { id, keyword } => {
            let report = names.report(space, &id.name);
            if report.is_none() {
                problems.push(unknown_name(
                    "report",
                    id,
                    &in_space(),
                    candidates(|| names.report_ids(space)),
                ));
            }
            (
                report.map(Asked::Report),
                "report",
                keyword.to(id.span),
                &["view"],
            )
        }
    };
    if asked.is_some() && want.is_some() && !fits.contains(&q.level.name.as_str()) {
        let help = if fits.is_empty() {
            format!(
                "`{name}` is a setting, not something a member can do: ask `what can \"member\" do in {}`",
                names.space_id(space)
            )
        } else {
            format!("ask `{}`", fits.join("` or `"))
        };
        problems.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("`{}` does not apply to `{name}`", q.level.name),
            )
            .with_label(q.level.span, format!("not a level of `{name}`"))
            .with_label(name_span, "asked about here")
            .with_help(help),
        );
    }
    let at = match &q.at {
        None => None,
        Some(at) => {
            let loc = names.location(space, &at.name);
            if loc.is_none() {
                problems.push(unknown_name(
                    "location",
                    at,
                    &in_space(),
                    candidates(|| names.location_ids(space)),
                ));
            }
            Some(loc?)
        }
    };
    const CHANNELS: [&str; 2] = ["web", "api"];
    let channel = match &q.via {
        None => Some(Channel::Any),
        Some(v) if v.name == "web" => Some(Channel::Web),
        Some(v) if v.name == "api" => Some(Channel::Api),
        Some(v) => {
            let help = match nearest(&v.name, CHANNELS) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("a channel is {}", one_of(&CHANNELS)),
            };
            problems.push(
                Diagnostic::new(Code::InvalidValue, format!("`{}` is not a channel", v.name))
                    .with_label(v.span, format!("expected {}", one_of(&CHANNELS)))
                    .with_help(help),
            );
            None
        }
    };
    if asked == Some(Asked::EnterpriseReports) {
        // The console's aggregates are per space: neither a location nor a channel narrows them.
        let narrowing = [
            q.at.as_ref().map(|at| (at.span, "`at`")),
            q.via.as_ref().map(|v| (v.span, "`via`")),
        ];
        for (span, word) in narrowing.into_iter().flatten() {
            problems.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("{word} does not apply to `enterprise_reports`"),
                )
                .with_label(span, "not a property of the Enterprise Console's aggregates")
                .with_help(format!(
                    "ask `who can view enterprise_reports in {}`: the console shows a space's aggregates whole, in the web interface",
                    names.space_id(space)
                )),
            );
        }
    }
    Some(Request {
        space,
        want: want?,
        asked: asked?,
        at,
        channel: channel?,
    })
}
