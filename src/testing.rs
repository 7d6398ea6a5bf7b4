//! Running the assertions of `test` blocks against a compiled policy. The assertions were
//! resolved once, when the policy compiled (`ir::Test`); this module only decides them.

use crate::ir;
use crate::query::Index;
use crate::question::ResolvedQuery;
use crate::source::{SourceSet, Span};

/// The outcome of one assertion.
#[derive(Debug, Clone)]
pub struct AssertionResult {
    pub test: String,
    pub span: Span,
    /// The assertion as written.
    pub text: String,
    pub passed: bool,
    /// For a failure: expected versus actual, in words.
    pub message: String,
    /// For a failure: the reasons behind the actual answer.
    pub notes: Vec<String>,
}

/// Runs every assertion of every test whose name contains `filter` (all when `None`).
pub fn run(
    tests: &[ir::Test],
    index: &Index,
    sources: &SourceSet,
    filter: Option<&str>,
) -> Vec<AssertionResult> {
    let mut out = Vec::new();
    for test in tests
        .iter()
        .filter(|t| filter.is_none_or(|f| t.name.contains(f)))
    {
        for a in &test.assertions {
            let text = sources
                .slice(a.span)
                .trim_start_matches("assert")
                .trim()
                .to_owned();
            let (passed, message, notes) = match &a.query {
                // Reported when compiling: a policy with errors is not tested.
                None => (
                    false,
                    "the assertion names something the policy does not declare".to_owned(),
                    Vec::new(),
                ),
                Some(q) => evaluate(index, q, &a.expected),
            };
            out.push(AssertionResult {
                test: test.name.clone(),
                span: a.span,
                text,
                passed,
                message,
                notes,
            });
        }
    }
    out
}

fn evaluate(index: &Index, q: &ResolvedQuery, expected: &[String]) -> (bool, String, Vec<String>) {
    match q {
        ResolvedQuery::Can {
            member,
            negated,
            request,
        }
        | ResolvedQuery::Why {
            member,
            negated,
            request,
        } => {
            let decision = index.decide(member, request);
            if decision.allowed() != *negated {
                return (true, String::new(), Vec::new());
            }
            let e = index.explain(member, request, &decision);
            let (expected, actual) = if *negated {
                ("cannot", "can")
            } else {
                ("can", "cannot")
            };
            let mut notes = e.reasons;
            if let Some(change) = e.change {
                notes.push(format!("to allow it: {change}"));
            }
            let message = format!(
                "expected `{member}` {expected} {}, but `{member}` {actual}",
                index.describe(request)
            );
            (false, message, notes)
        }
        ResolvedQuery::Who { request } => {
            let actual = index.who(request);
            let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
            // Member names compare ignoring ASCII case.
            let key = |names: &[&str]| -> std::collections::HashSet<String> {
                names.iter().map(|n| n.to_ascii_lowercase()).collect()
            };
            let (actual_keys, expected_keys) = (key(&actual), key(&expected));
            let missing: Vec<&str> = expected
                .iter()
                .copied()
                .filter(|e| !actual_keys.contains(&e.to_ascii_lowercase()))
                .collect();
            let extra: Vec<&str> = actual
                .iter()
                .copied()
                .filter(|a| !expected_keys.contains(&a.to_ascii_lowercase()))
                .collect();
            if missing.is_empty() && extra.is_empty() {
                return (true, String::new(), Vec::new());
            }
            let list = |v: &[&str]| {
                v.iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mut notes = Vec::new();
            if !missing.is_empty() {
                notes.push(format!(
                    "missing (expected, but cannot): {}",
                    list(&missing)
                ));
            }
            if !extra.is_empty() {
                notes.push(format!("extra (can, but not expected): {}", list(&extra)));
            }
            let message = format!(
                "who can {} is [{}], not the expected [{}]",
                index.describe(request),
                list(&actual),
                list(&expected)
            );
            (false, message, notes)
        }
        ResolvedQuery::What { .. } => (
            false,
            "`what` is a request, not an assertion".to_owned(),
            Vec::new(),
        ),
    }
}
