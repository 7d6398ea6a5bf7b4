//! `charter test` and `charter query`: argument handling and output around the library's
//! `testing` and `query` modules.

use std::io::{BufRead, Write};
use std::path::Path;

use charter::diagnostic::render;
use charter::diagnostic::{self, Diagnostic};
use charter::query::Index;
use charter::question::ResolvedQuery;
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;
use serde_json::json;

use crate::{CheckArgs, Color, DiagFormat, OutputFormat, USAGE, fail, print_diagnostics, style};

/// Loads and compiles a policy path; the returned diagnostics include the loading problems
/// (undecodable files) and are sorted.
pub(crate) fn compile_path(path: &Path) -> Result<(SourceSet, charter::Compiled), u8> {
    let (sources, mut diagnostics) = SourceSet::load(path).map_err(fail)?;
    let mut compiled = charter::compile(&sources);
    diagnostics.append(&mut compiled.diagnostics);
    diagnostic::sort(&mut diagnostics);
    compiled.diagnostics = diagnostics;
    Ok((sources, compiled))
}

/// Whether a path names a snapshot: by its extension, whatever the file is (a pipe named
/// `s.json` is refused as a snapshot, unopened, not compiled as a policy); a directory is a
/// policy.
fn is_snapshot_path(path: &Path) -> bool {
    !path.is_dir() && Format::from_path(path).is_some()
}

/// Loads and validates a snapshot file and, given a public key, refuses it unless that key
/// signed it.
fn load_snapshot(path: &Path, key: Option<&Path>) -> Result<charter::snapshot::Snapshot, u8> {
    let public = key
        .map(charter::snapshot::sign::load_public)
        .transpose()
        .map_err(fail)?;
    let snapshot = format::load(path).map_err(fail)?;
    if let (Some(public), Some(key)) = (public, key) {
        signed_by(path, &snapshot, &public, key).map_err(fail)?;
    }
    Ok(snapshot)
}

/// Whether `public` (read from `key`) signed the snapshot read from `path`; otherwise why not,
/// in one line naming both files.
fn signed_by(
    path: &Path,
    snapshot: &charter::snapshot::Snapshot,
    public: &charter::snapshot::sign::PublicKey,
    key: &Path,
) -> Result<(), String> {
    use charter::snapshot::sign::{self, Unsigned};
    let (p, k) = (path.display(), key.display());
    sign::check(snapshot, public).map_err(|why| match why {
        Unsigned::Missing => format!(
            "snapshot `{p}` is not signed, and `--verify-key {k}` requires its signature: build it with `--sign`"
        ),
        Unsigned::OtherKey(id) => format!(
            "snapshot `{p}` is signed by key `{id}`, not by `{k}` (key `{}`)",
            public.key_id()
        ),
        Unsigned::BadSignature => format!(
            "snapshot `{p}` names the key of `{k}`, but its signature does not verify: it was not signed by that key"
        ),
    })
}

/// Loads what a query runs on: a snapshot, or a policy compiled to one in memory. With a
/// public key, the path must be a snapshot signed by it.
fn load_index(path: &Path, key: Option<&Path>) -> Result<Index, u8> {
    if is_snapshot_path(path) {
        return load_snapshot(path, key).map(Index::new);
    }
    if let Some(key) = key {
        return Err(fail(format_args!(
            "`--verify-key {}` checks a snapshot's signature, and `{}` is a policy, not a snapshot",
            key.display(),
            path.display()
        )));
    }
    let (sources, compiled) = compile_path(path)?;
    let diagnostics = &compiled.diagnostics;
    if diagnostic::counts(diagnostics).0 > 0 {
        let shown = &diagnostics[..diagnostics.len().min(20)];
        err!("{}", render::human(&sources, shown, style(Color::Auto)));
        return Err(fail(format_args!(
            "`{}` has errors, so it cannot be queried: fix them (`charter check`) first",
            path.display()
        )));
    }
    Ok(Index::new(charter::emit::emit(&compiled.ir, &sources)))
}

pub(crate) fn test(args: &CheckArgs, filter: Option<&str>) -> u8 {
    let (sources, compiled) = match compile_path(&args.path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let diagnostics = &compiled.diagnostics;
    let (errors, warnings) = diagnostic::counts(diagnostics);
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        if print_diagnostics(args, &sources, diagnostics) {
            errln!("error: the policy does not compile, so its tests cannot run");
        }
        return 1;
    }
    if let Some(f) = filter
        && !compiled.ir.tests.iter().any(|t| t.name.contains(f))
    {
        // A filter that selects nothing would pass while testing nothing.
        let names: Vec<String> = compiled
            .ir
            .tests
            .iter()
            .map(|t| format!("  \"{}\"", t.name))
            .collect();
        let message = format!(
            "no test name contains `{f}`{}",
            if names.is_empty() {
                " (the policy has no tests)".to_owned()
            } else {
                format!("; the tests are:\n{}", names.join("\n"))
            }
        );
        if args.format == DiagFormat::Json {
            let tests: Vec<&str> = compiled.ir.tests.iter().map(|t| t.name.as_str()).collect();
            outln!(
                "{}",
                json!({ "error": format!("no test name contains `{f}`"), "tests": tests })
            );
        }
        errln!("error: {message}");
        return 2;
    }
    let index = Index::new(charter::emit::emit(&compiled.ir, &sources));
    let results = charter::testing::run(&compiled.ir.tests, &index, &sources, filter);
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    let passed = results.len() - failed.len();
    let extra = || -> Vec<render::SarifExtra> {
        failed
            .iter()
            .map(|r| render::SarifExtra {
                span: r.span,
                message: format!("{}: {}", r.message, r.notes.join("; ")),
            })
            .collect()
    };
    match args.format {
        DiagFormat::Sarif => out!("{}", render::sarif(&sources, diagnostics, &extra())),
        DiagFormat::Github => {
            out!("{}", render::github(&sources, diagnostics, &extra()));
            if failed.is_empty() {
                // Something to see in the run's summary when all is well.
                outln!(
                    "::notice title=charter test::{passed} passed, 0 failed ({} tests)",
                    compiled.ir.tests.len()
                );
            }
        }
        DiagFormat::Json => {
            let failures: Vec<_> = failed
                .iter()
                .map(|r| {
                    let f = sources.get(r.span.source);
                    let (line, column) = f.lines.line_col(&f.text, r.span.start);
                    json!({
                        "test": r.test, "file": f.name, "line": line, "column": column,
                        "assertion": r.text, "message": r.message, "notes": r.notes,
                    })
                })
                .collect();
            let out = json!({ "passed": passed, "failed": failed.len(), "failures": failures });
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        DiagFormat::Human => {
            if !diagnostics.is_empty() {
                print_diagnostics(args, &sources, diagnostics);
            }
            let st = style(args.color);
            let mut current = None;
            for r in &results {
                if current != Some(&r.test) {
                    outln!("test \"{}\"", r.test);
                    current = Some(&r.test);
                }
                outln!("  {} {}", if r.passed { "ok  " } else { "FAIL" }, r.text);
            }
            for r in &failed {
                out!(
                    "\n{}",
                    render::failure(
                        &sources,
                        r.span,
                        &r.message,
                        "this assertion fails",
                        &r.notes,
                        st
                    )
                );
            }
            if results.is_empty() {
                outln!(
                    "no assertions ran{}",
                    filter
                        .map(|f| format!(" (no test matches `{f}`)"))
                        .unwrap_or_default()
                );
            }
            outln!("{passed} passed, {} failed", failed.len());
        }
    }
    u8::from(!failed.is_empty())
}

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
        members: Vec<String>,
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
            ResolvedQuery::Who { request: question } => Answer::Who {
                question,
                members: index.who(question).into_iter().map(str::to_owned).collect(),
            },
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
                    Some(e) => serde_json::to_value(e).unwrap_or_default(),
                    None => json!({ "allowed": allowed }),
                };
                if *negated {
                    v["holds"] = json!(self.holds());
                }
                v
            }
            Answer::Who { members, .. } => json!({ "members": members }),
            Answer::What {
                member,
                space,
                answer,
            } => match answer {
                Some(w) => serde_json::to_value(w).unwrap_or_default(),
                None => json!({
                    "permissions": {}, "scope": [],
                    "reasons": [format!("`{member}` is not a member of `{}`", index.snapshot.spaces[*space as usize].id)],
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
            Answer::Who { question, members } => {
                let nobody = if members.is_empty() { " nobody" } else { "" };
                out.push_str(&format!("who can {}:{nobody}\n", index.describe(question)));
                for m in members {
                    out.push_str(&format!("  {m}\n"));
                }
            }
            Answer::What {
                member,
                space,
                answer: None,
            } => out.push_str(&format!(
                "denied: `{member}` is not a member of `{}`\n",
                index.snapshot.spaces[*space as usize].id
            )),
            Answer::What {
                member,
                answer: Some(w),
                ..
            } => {
                let from = w
                    .from_upstream
                    .as_ref()
                    .map(|u| format!(" (from upstream `{u}`)"))
                    .unwrap_or_default();
                out.push_str(&format!("`{member}` holds role `{}`{from}\n", w.role));
                let scope = match &w.scope {
                    charter::snapshot::ScopeEntry::All(_) => "all locations".to_owned(),
                    charter::snapshot::ScopeEntry::Locations(ids) => ids.join(", "),
                };
                out.push_str(&format!("scope: {scope}\n"));
                if let Some(api) = &w.api {
                    out.push_str(&format!(
                        "api: `data = {}` at all locations (`access_apis = on`)\n",
                        api.data
                    ));
                }
                for (key, value) in &w.permissions {
                    let value = match value {
                        charter::snapshot::PermissionValue::Word(w) => w.clone(),
                        charter::snapshot::PermissionValue::List(l) => {
                            format!("[{}]", l.join(", "))
                        }
                    };
                    let seed = charter::model::Permission::from_key(key)
                        .map(|p| p.seed_name())
                        .unwrap_or_default();
                    out.push_str(&format!("  {key:<28} {value:<12} {seed}\n"));
                }
            }
        }
        out
    }
}

pub(crate) fn query(
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
    let index = match load_index(path, key) {
        Ok(i) => i,
        Err(code) => return code,
    };
    if let Some(batch) = batch {
        return run_batch(&index, batch);
    }
    let text = text.unwrap_or_default();
    let mut sources = SourceSet::default();
    let id = sources.add("<query>", text.to_owned());
    let q = match charter::query::parse(&index, id, text) {
        Ok(q) => q,
        Err(problems) => return query_error(&sources, &problems, format),
    };
    let answer = Answer::new(&index, &q, false);
    match format {
        OutputFormat::Json => {
            outln!(
                "{}",
                serde_json::to_string_pretty(&answer.json(&index)).unwrap_or_default()
            )
        }
        OutputFormat::Human => out!("{}", answer.human(&index)),
    }
    u8::from(!answer.holds())
}

fn query_error(sources: &SourceSet, problems: &[Diagnostic], format: OutputFormat) -> u8 {
    match format {
        OutputFormat::Json => outln!("{}", error_json(problems)),
        OutputFormat::Human => err!("{}", render::human(sources, problems, style(Color::Auto))),
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
    let mut reader = reader;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut all_answered = true;
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut number = 0usize;
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let _ = out.flush();
                return fail(format_args!(
                    "cannot read `{}` after line {number}: {e}",
                    batch.display()
                ));
            }
        }
        number += 1;
        let bytes = buf
            .strip_suffix(b"\n")
            .map(|b| b.strip_suffix(b"\r").unwrap_or(b))
            .unwrap_or(&buf);
        let value = match std::str::from_utf8(bytes) {
            Err(e) => {
                all_answered = false;
                json!({
                    "line": number,
                    "error": format!("line {number} is not valid UTF-8 (at byte {})", e.valid_up_to() + 1),
                })
            }
            Ok(line) => {
                let text = line.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                match charter::query::parse(index, charter::source::SourceId(0), line) {
                    Ok(q) => {
                        let mut v = Answer::new(index, &q, true).json(index);
                        v["line"] = json!(number);
                        v
                    }
                    Err(problems) => {
                        all_answered = false;
                        batch_error(number, &problems)
                    }
                }
            }
        };
        if let Err(e) = writeln!(out, "{value}") {
            crate::stdout::failed(e);
            break;
        }
    }
    if let Err(e) = out.flush() {
        crate::stdout::failed(e);
    }
    if all_answered { 0 } else { USAGE }
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

/// `--report` of `charter report enterprise`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ReportName {
    ProjectSpaces,
    WebUsers,
    MobileWorkers,
    TwoFactor,
    ApiAccess,
}

/// `--format` of reports: CSV for people and spreadsheets, or JSON.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum TableFormat {
    #[value(alias = "human")]
    Csv,
    Json,
}

pub(crate) fn report_enterprise(
    path: &Path,
    enterprise: &str,
    server: Option<&str>,
    report: ReportName,
    output: Option<&Path>,
    format: TableFormat,
    key: Option<&Path>,
) -> u8 {
    use charter::report::EnterpriseReport as R;
    let index = match load_index(path, key) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let kind = match report {
        ReportName::ProjectSpaces => R::ProjectSpaces,
        ReportName::WebUsers => R::WebUsers,
        ReportName::MobileWorkers => R::MobileWorkers,
        ReportName::TwoFactor => R::TwoFactor,
        ReportName::ApiAccess => R::ApiAccess,
    };
    let table = match charter::report::enterprise(&index.snapshot, enterprise, server, kind) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let text = match format {
        TableFormat::Csv => table.to_csv(),
        TableFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&table.to_json()).unwrap_or_default()
        ),
    };
    match output {
        Some(out) => match charter::output::write_atomic(out, text.as_bytes()) {
            Ok(()) => 0,
            Err(e) => fail(format_args!("cannot write `{}`: {e}", out.display())),
        },
        None => {
            out!("{text}");
            0
        }
    }
}

/// `--format` of `charter diff`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    Human,
    Json,
    Markdown,
}

/// `--fail-on` of `charter diff`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum FailOn {
    Escalation,
}

/// A policy version for `diff`: a path (policy or snapshot) or `REV:PATH` in git. With a
/// public key, a snapshot must be signed by it (policies are read from their sources).
fn load_version(spec: &str, key: Option<&Path>) -> Result<charter::snapshot::Snapshot, u8> {
    let path = Path::new(spec);
    if !path.exists()
        && let Some((rev, rest)) = spec.split_once(':')
        && !rev.is_empty()
    {
        return load_from_git(rev, rest);
    }
    if is_snapshot_path(path) {
        return load_snapshot(path, key);
    }
    load_index(path, None).map(|i| i.snapshot)
}

/// Runs git with `args` (and `input` on its standard input); on failure, the cause: the first
/// line git printed, without its `fatal: ` prefix (never the command line).
fn git(args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    use std::process::{Command, Stdio};
    let spawned = Command::new("git")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = spawned.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            "`git` is not installed or not on PATH; it is needed to read `REV:PATH`".to_owned()
        } else {
            format!("cannot run git: {e}")
        }
    })?;
    // Fed from a thread: git answers while it reads, and a full output pipe would otherwise
    // stop both sides.
    let feeder = match (input, child.stdin.take()) {
        (Some(input), Some(mut stdin)) => Some(std::thread::spawn(move || {
            // A write error shows as git's own failure below.
            let _ = stdin.write_all(&input);
        })),
        _ => None,
    };
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let first = said.lines().map(str::trim).find(|l| !l.is_empty());
        let first = first.unwrap_or("git failed");
        let cause = ["fatal: ", "error: "]
            .iter()
            .find_map(|p| first.strip_prefix(p))
            .unwrap_or(first);
        return Err(cause.to_owned());
    }
    Ok(out.stdout)
}

/// One entry of `git ls-tree -r -t -z --long`: a name relative to the listed tree, in bytes.
struct GitEntry {
    kind: GitKind,
    oid: String,
    size: Option<u64>,
    name: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GitKind {
    File,
    Link,
    Tree,
    /// A submodule: its files are not in this repository.
    Commit,
}

/// Parses NUL-separated `ls-tree --long` output (`MODE TYPE OID SIZE\tNAME`, names unquoted).
fn git_entries(listing: &[u8]) -> Vec<GitEntry> {
    let mut entries = Vec::new();
    for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = record.iter().position(|b| *b == b'\t') else {
            continue;
        };
        let meta = String::from_utf8_lossy(&record[..tab]);
        let mut fields = meta.split_ascii_whitespace();
        let (Some(mode), Some(_), Some(oid), size) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let kind = match mode {
            "120000" => GitKind::Link,
            "040000" => GitKind::Tree,
            "160000" => GitKind::Commit,
            _ => GitKind::File,
        };
        entries.push(GitEntry {
            kind,
            oid: oid.to_owned(),
            size: size.and_then(|s| s.parse().ok()),
            name: record[tab + 1..].to_vec(),
        });
    }
    entries
}

/// The contents of blobs, by object id, in order: one `git cat-file --batch`, so that no file
/// name reaches git's command line (a name starting with `-`, or holding quotes or newlines,
/// is just data here).
fn git_blobs(oids: &[&str]) -> Result<Vec<Vec<u8>>, String> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let input: String = oids.iter().map(|o| format!("{o}\n")).collect();
    let out = git(&["cat-file", "--batch"], Some(input.into_bytes()))?;
    // Each answer: `OID TYPE SIZE\n`, SIZE bytes, `\n`.
    let mut rest = out.as_slice();
    let mut blobs = Vec::with_capacity(oids.len());
    for oid in oids {
        let broken = || format!("unexpected answer from `git cat-file` for object {oid}");
        let end = rest.iter().position(|b| *b == b'\n').ok_or_else(broken)?;
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(broken)?;
        let body = rest.get(end + 1..end + 1 + size).ok_or_else(broken)?;
        blobs.push(body.to_vec());
        rest = rest.get(end + 2 + size..).unwrap_or_default();
    }
    Ok(blobs)
}

/// A name from git as a path (exact bytes on unix), for the loader's name rules.
fn git_path(name: &[u8]) -> std::path::PathBuf {
    #[cfg(unix)]
    {
        std::path::PathBuf::from(
            <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name),
        )
    }
    #[cfg(not(unix))]
    {
        std::path::PathBuf::from(String::from_utf8_lossy(name).into_owned())
    }
}

/// Follows a symbolic link of the listed tree as the working-tree loader does: to a regular
/// file inside the tree (the policy root, shown as `root`), or not at all. `links` holds every
/// link's target.
fn git_follow(
    entries: &std::collections::HashMap<&[u8], &GitEntry>,
    links: &std::collections::HashMap<&[u8], Vec<u8>>,
    link: &[u8],
    root: &str,
) -> Result<Vec<u8>, charter::source::LinkProblem> {
    use charter::source::LinkProblem;
    let outside = || LinkProblem::Outside(root.into());
    let mut resolved: Vec<&[u8]> = link.split(|b| *b == b'/').collect();
    resolved.pop();
    let mut pending: std::collections::VecDeque<&[u8]> = links
        .get(link)
        .map(|t| t.as_slice())
        .unwrap_or_default()
        .split(|b| *b == b'/')
        .collect();
    if links.get(link).is_some_and(|t| t.starts_with(b"/")) {
        // An absolute target names a file of the machine, not of the revision.
        return Err(outside());
    }
    let mut hops = 1;
    let mut last = None;
    while let Some(part) = pending.pop_front() {
        match part {
            b"" | b"." => continue,
            b".." => {
                if resolved.pop().is_none() {
                    return Err(outside());
                }
                last = None;
                continue;
            }
            _ => resolved.push(part),
        }
        let name = resolved.join(&b'/');
        let Some(entry) = entries.get(name.as_slice()) else {
            return Err(LinkProblem::Broken);
        };
        match entry.kind {
            GitKind::Link => {
                hops += 1;
                // The kernel's bound (ELOOP): a cycle of links is a broken link.
                let target = links.get(name.as_slice()).filter(|_| hops <= 40);
                let Some(target) = target else {
                    return Err(LinkProblem::Broken);
                };
                if target.starts_with(b"/") {
                    return Err(outside());
                }
                resolved.pop();
                for part in target.split(|b| *b == b'/').rev() {
                    pending.push_front(part);
                }
                last = None;
            }
            GitKind::File if pending.iter().any(|p| !p.is_empty() && *p != b".") => {
                return Err(LinkProblem::Broken);
            }
            kind => last = Some((name, kind)),
        }
    }
    match last {
        Some((name, GitKind::File)) => Ok(name),
        _ => Err(LinkProblem::NotRegular),
    }
}

/// Reads the `.charter` files of PATH at revision REV by the working-tree loader's rules and
/// compiles them. PATH is read as git reads it: from the repository root, or from the current
/// directory when it starts with `./` or `../` (git resolves `REV:./PATH` itself).
fn load_from_git(rev: &str, path: &str) -> Result<charter::snapshot::Snapshot, u8> {
    use charter::source::{FileContents, LoadError, MAX_FILE_BYTES, is_charter_name, is_hidden};
    let spec = format!("{rev}:{path}");
    let cannot = |cause: String| fail(format_args!("cannot read `{spec}` from git: {cause}"));
    if rev.starts_with('-') {
        // Not a revision but an option to git.
        return Err(fail(format_args!("`{rev}` is not a git revision")));
    }
    // The repository first: outside one, that is the cause, not the revision.
    git(&["rev-parse", "--git-dir"], None).map_err(cannot)?;
    git(
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
        None,
    )
    .map_err(|_| fail(format_args!("unknown git revision `{rev}`")))?;
    // git reads a bare `.` or `..` as a name in the root tree; they can only mean the folder.
    let path = match path {
        "." => "./",
        ".." => "../",
        p => p,
    };
    let object = format!("{rev}:{path}");
    let kind = git(&["cat-file", "-t", &object], None).map_err(cannot)?;
    // A single file is loaded from its folder's listing, which is also the root its links may
    // not leave, as on the file system.
    let (tree, single) = if kind.trim_ascii() == b"tree" {
        (object, None)
    } else {
        let (dir, file) = match path.rsplit_once('/') {
            Some((dir, file)) => (format!("{dir}/"), file),
            None => (String::new(), path),
        };
        if !is_charter_name(Path::new(file)) {
            return Err(fail(LoadError::NotCharter(spec.into())));
        }
        (format!("{rev}:{dir}"), Some(file.as_bytes()))
    };
    // `--full-tree`: below the repository root, ls-tree would list only what lies under the
    // current directory. `-z`: names exactly as stored, without quoting.
    let listing = git(
        &["ls-tree", "-r", "-t", "-z", "--long", "--full-tree", &tree],
        None,
    )
    .map_err(cannot)?;
    let entries = git_entries(&listing);
    let by_name: std::collections::HashMap<&[u8], &GitEntry> =
        entries.iter().map(|e| (e.name.as_slice(), e)).collect();

    // The root as the user would write it: names are shown below it, as git would name them.
    let shown_root = tree.trim_end_matches('/').to_owned();
    let shown = |name: &[u8]| match single {
        Some(_) => spec.clone(),
        None if shown_root.ends_with(':') => {
            format!("{shown_root}{}", String::from_utf8_lossy(name))
        }
        None => format!("{shown_root}/{}", String::from_utf8_lossy(name)),
    };
    let selected: Vec<&GitEntry> = entries
        .iter()
        .filter(|e| matches!(e.kind, GitKind::File | GitKind::Link))
        .filter(|e| match single {
            Some(file) => e.name == file,
            None => {
                let p = git_path(&e.name);
                is_charter_name(&p) && !p.components().any(|c| is_hidden(c.as_os_str()))
            }
        })
        .collect();
    if selected.is_empty() {
        return Err(fail(format_args!("no `.charter` files found in `{spec}`")));
    }

    let link_oids: Vec<&str> = entries
        .iter()
        .filter(|e| e.kind == GitKind::Link)
        .map(|e| e.oid.as_str())
        .collect();
    let link_targets = git_blobs(&link_oids).map_err(cannot)?;
    let links: std::collections::HashMap<&[u8], Vec<u8>> = entries
        .iter()
        .filter(|e| e.kind == GitKind::Link)
        .map(|e| e.name.as_slice())
        .zip(link_targets)
        .collect();
    // Each selected name and the file it reads; as on the file system, a file reached twice is
    // read once, under its own name when it is selected itself.
    let mut chosen: std::collections::BTreeMap<Vec<u8>, (&[u8], bool)> = Default::default();
    for e in &selected {
        let (target, link) = match e.kind {
            GitKind::Link => match git_follow(&by_name, &links, &e.name, &shown_root) {
                Ok(target) => (target, true),
                Err(problem) => return Err(fail(LoadError::Link(shown(&e.name).into(), problem))),
            },
            _ => (e.name.clone(), false),
        };
        let slot = chosen.entry(target).or_insert((&e.name, link));
        if slot.1 && !link {
            *slot = (&e.name, false);
        }
    }
    let mut files: Vec<(&[u8], &GitEntry)> = chosen
        .iter()
        .filter_map(|(target, (name, _))| Some((*name, *by_name.get(target.as_slice())?)))
        .collect();
    // In path order, as the working-tree loader sorts.
    files.sort_by_cached_key(|(name, _)| git_path(name));

    // Oversized blobs are not fetched, as oversized files are not read.
    let fits = |e: &GitEntry| e.size.is_none_or(|s| s <= MAX_FILE_BYTES as u64);
    let wanted: Vec<&str> = files
        .iter()
        .filter(|(_, e)| fits(e))
        .map(|(_, e)| e.oid.as_str())
        .collect();
    let mut blobs = git_blobs(&wanted).map_err(cannot)?.into_iter();
    let mut sources = SourceSet::default();
    let mut problems = Vec::new();
    for (name, entry) in files {
        let contents = match entry.size {
            Some(size) if !fits(entry) => FileContents::TooLarge(Some(size)),
            _ => FileContents::Bytes(blobs.next().unwrap_or_default()),
        };
        let relative = match single {
            Some(file) => String::from_utf8_lossy(file).into_owned(),
            None => String::from_utf8_lossy(name).into_owned(),
        };
        let shown = shown(name);
        problems.extend(sources.add_contents(
            shown.clone(),
            relative,
            shown.into(),
            contents,
            MAX_FILE_BYTES,
        ));
    }
    let compiled = charter::compile(&sources);
    problems.extend(compiled.diagnostics);
    let mut errors: Vec<Diagnostic> = problems
        .into_iter()
        .filter(|d| d.severity == diagnostic::Severity::Error)
        .collect();
    if !errors.is_empty() {
        diagnostic::sort(&mut errors);
        err!(
            "{}",
            render::human(
                &sources,
                &errors[..errors.len().min(20)],
                style(Color::Auto)
            )
        );
        return Err(fail(format_args!(
            "the policy at `{spec}` has errors, so it cannot be compared"
        )));
    }
    Ok(charter::emit::emit(&compiled.ir, &sources))
}

pub(crate) fn diff(
    old: &str,
    new: &str,
    format: DiffFormat,
    fail_on: Option<FailOn>,
    color: Color,
    key: Option<&Path>,
) -> u8 {
    if let Some(k) = key
        && !is_snapshot_path(Path::new(old))
        && !is_snapshot_path(Path::new(new))
    {
        return fail(format_args!(
            "`--verify-key {}` checks snapshots' signatures, and neither `{old}` nor `{new}` is a snapshot",
            k.display()
        ));
    }
    let (old, new) = match (load_version(old, key), load_version(new, key)) {
        (Ok(o), Ok(n)) => (Index::new(o), Index::new(n)),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let d = charter::diff::diff(&old, &new);
    match format {
        DiffFormat::Human => {
            let color = match color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => {
                    std::io::IsTerminal::is_terminal(&std::io::stdout())
                        && std::env::var_os("NO_COLOR").is_none()
                }
            };
            out!("{}", d.human(color));
        }
        DiffFormat::Json => outln!("{}", serde_json::to_string_pretty(&d).unwrap_or_default()),
        DiffFormat::Markdown => out!("{}", d.markdown()),
    }
    match fail_on {
        Some(FailOn::Escalation) if d.escalations > 0 => 1,
        _ => 0,
    }
}

pub(crate) fn fmt(path: &Path, check: bool) -> u8 {
    let (sources, problems) = match SourceSet::load(path) {
        Ok(loaded) => loaded,
        Err(e) => return fail(e),
    };
    let mut unformattable = problems;
    let mut changed = Vec::new();
    // Files that could not be written: reported after the others are done, exit 2.
    let mut unwritten = Vec::new();
    for (id, file) in sources.files().filter(|(_, f)| !f.undecodable) {
        match charter::syntax::format(id, &file.text) {
            Err(mut d) => unformattable.append(&mut d),
            Ok(formatted) if formatted != *file.text => {
                if !check {
                    // Written to the file that was read (a link's target, by its exact name),
                    // and only if nobody edited it while it was formatted.
                    let written =
                        charter::output::write_atomic_if(&file.path, formatted.as_bytes(), || {
                            file.unchanged_on_disk()
                        });
                    match written {
                        Ok(true) => {}
                        Ok(false) => {
                            unwritten.push(format!(
                                "`{}` changed while formatting; nothing written",
                                file.name
                            ));
                            continue;
                        }
                        Err(e) => {
                            unwritten.push(format!("cannot write `{}`: {e}", file.name));
                            continue;
                        }
                    }
                }
                changed.push(file.name.clone());
            }
            Ok(_) => {}
        }
    }
    for name in &changed {
        outln!(
            "{}{name}",
            if check {
                "would reformat "
            } else {
                "formatted "
            }
        );
    }
    for problem in &unwritten {
        fail(problem);
    }
    if !unformattable.is_empty() {
        diagnostic::sort(&mut unformattable);
        err!(
            "{}",
            render::human(&sources, &unformattable, style(Color::Auto))
        );
        return fail("some files have syntax errors and were left as they are");
    }
    if !unwritten.is_empty() {
        return USAGE;
    }
    u8::from(check && !changed.is_empty())
}

/// `charter keygen --out NAME`: a new key pair, NAME.key (mode 0600) and NAME.pub.
pub(crate) fn keygen(name: &Path) -> u8 {
    use charter::snapshot::sign;
    let key = match sign::SecretKey::generate() {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    match sign::write_key_pair(name, &key) {
        Ok((secret, public)) => {
            outln!(
                "wrote `{}` (private: keep it secret; `build --sign`) and `{}` (public, key `{}`; `--verify-key`)",
                secret.display(),
                public.display(),
                key.public().key_id()
            );
            0
        }
        Err(e) => fail(e),
    }
}

/// `charter verify SNAPSHOT [--policy PATH] [--verify-key PUB]`: exit 0 when every check
/// passes, 1 when one fails (edited, invalid, unsigned or not what the policy builds), 2 when
/// the command cannot tell (unreadable files, a policy with errors).
pub(crate) fn verify(path: &Path, policy: Option<&Path>, key: Option<&Path>) -> u8 {
    use charter::snapshot::format::LoadError;
    use charter::snapshot::sign;
    let Some(fmt) = Format::from_path(path) else {
        return fail(LoadError::UnknownFormat(path.to_path_buf()));
    };
    let public = match key.map(sign::load_public).transpose() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let text = match format::read_text(path, format::MAX_SNAPSHOT_BYTES) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let failed = |message: &dyn std::fmt::Display| {
        errln!("error: {message}");
        1
    };
    let snapshot = match format::load_text(path, &text, fmt) {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    outln!(
        "ok: content digest matches: `{}` was not edited since it was written",
        path.display()
    );
    outln!(
        "ok: valid: every reference resolves, the location tree is a tree, every value is in range"
    );
    match (&public, key, &snapshot.signature) {
        (Some(public), Some(key), _) => {
            if let Err(e) = signed_by(path, &snapshot, public, key) {
                return failed(&e);
            }
            outln!(
                "ok: signed by `{}` (key `{}`)",
                key.display(),
                public.key_id()
            );
        }
        (_, _, Some(sig)) => outln!(
            "note: signed by key `{}`, not checked: give `--verify-key PUB` to check it",
            sig.key_id
        ),
        (_, _, None) => outln!("note: not signed"),
    }
    let Some(policy) = policy else {
        return 0;
    };
    let (sources, compiled) = match compile_path(policy) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if diagnostic::counts(&compiled.diagnostics).0 > 0 {
        return fail(format_args!(
            "`{}` has errors, so it cannot be rebuilt: fix them (`charter check`) first",
            policy.display()
        ));
    }
    let rebuilt = charter::emit::emit(&compiled.ir, &sources);
    // The rebuild carries the file's signature as it is (it cannot be made again without the
    // private key): equal bytes then mean equal contents, and the signature was checked above.
    let how = match &snapshot.signature {
        Some(sig) => format::Sign::Copy(sig),
        None => format::Sign::No,
    };
    let bytes = format::render_with(&rebuilt, fmt, how);
    if bytes != text {
        let line = bytes
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| bytes.lines().count().min(text.lines().count()))
            + 1;
        let version = if rebuilt.compiler_version != snapshot.compiler_version {
            format!(
                " (it was built by charter {}, this is {})",
                snapshot.compiler_version, rebuilt.compiler_version
            )
        } else {
            String::new()
        };
        return failed(&format_args!(
            "`{}` is not what `{}` builds: they differ from line {line}{version}",
            path.display(),
            policy.display()
        ));
    }
    outln!("ok: `{}` rebuilds it byte for byte", policy.display());
    0
}
