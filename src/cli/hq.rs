//! `charter export hq`, `charter import hq` and `charter drift`: the round trip with a
//! CommCare HQ project through HQ's own exchange files (`charter::hq`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use charter::hq::export::{LOCATIONS_FILE, MOBILE_WORKERS_FILE, ROLES_FILE, WEB_USERS_FILE};
use charter::hq::import::{self, Problems, Request, Severity};
use charter::hq::{policy, workbook};
use charter::query::Index;
use charter::snapshot::{Snapshot, SpaceEntry};

use super::diff::{DiffFormat, FailOn};
use super::output::{Color, errln, fail, out, outln, print_errors, print_human, print_json};

/// The space of a snapshot a command names, or the only one.
fn pick_space<'s>(snapshot: &'s Snapshot, space: Option<&str>) -> Result<&'s SpaceEntry, u8> {
    let ids = || {
        snapshot
            .spaces
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match space {
        Some(id) => snapshot.spaces.iter().find(|s| s.id == id).ok_or_else(|| {
            fail(format_args!(
                "no space `{id}` in the policy (spaces: {})",
                ids()
            ))
        }),
        None if snapshot.spaces.len() == 1 => Ok(&snapshot.spaces[0]),
        None => Err(fail(format_args!(
            "the policy has several spaces: name one with `--space` ({})",
            ids()
        ))),
    }
}

fn open(path: &Path, key: Option<&Path>) -> Result<Snapshot, u8> {
    super::load::load_index(path, key).map(|ix| ix.snapshot)
}

/// `charter export hq PATH --space ID -o DIR`.
pub(crate) fn export(path: &Path, space: &str, out_dir: &Path, key: Option<&Path>) -> u8 {
    let snapshot = match open(path, key) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let space = match pick_space(&snapshot, Some(space)) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let files = charter::hq::export::export(space);
    for w in &files.warnings {
        errln!("warning: {w}");
    }
    if let Err(e) = std::fs::create_dir_all(out_dir) {
        return fail(format_args!("cannot create `{}`: {e}", out_dir.display()));
    }
    let mut written = vec![(ROLES_FILE, files.roles.into_bytes())];
    for (name, sheets) in [
        (MOBILE_WORKERS_FILE, &files.mobile_workers),
        (WEB_USERS_FILE, &files.web_users),
        (LOCATIONS_FILE, &files.locations),
    ] {
        match workbook::write(sheets) {
            Ok(bytes) => written.push((name, bytes)),
            Err(e) => return fail(format_args!("cannot write `{name}`: {e}")),
        }
    }
    for (name, bytes) in &written {
        let target = out_dir.join(name);
        if let Err(e) = charter::output::write_atomic(&target, bytes) {
            return fail(format_args!("cannot write `{}`: {e}", target.display()));
        }
        outln!("wrote {}", target.display());
    }
    0
}

/// The arguments of `charter import hq`.
pub(crate) struct ImportArgs {
    pub roles: Option<PathBuf>,
    pub mobile_workers: Option<PathBuf>,
    pub web_users: Option<PathBuf>,
    pub locations: Option<PathBuf>,
    pub space: String,
    pub plan: Option<String>,
    pub server: Option<String>,
    pub out_dir: PathBuf,
    pub force: bool,
}

fn print_problems(problems: &[import::Problem]) {
    for p in problems {
        errln!("{p}");
    }
}

/// `charter import hq ... -o DIR`: writes `DIR/SPACE.charter`, then checks the directory.
pub(crate) fn import(args: &ImportArgs) -> u8 {
    if !policy::is_slug(&args.space) {
        return fail(format_args!(
            "`{}` is not a space id (a letter, then lower-case letters, digits, `-`, `_`)",
            args.space
        ));
    }
    if args.roles.is_none()
        && args.mobile_workers.is_none()
        && args.web_users.is_none()
        && args.locations.is_none()
    {
        return fail(
            "nothing to import: give at least one of --roles, --mobile-workers, --web-users, --locations",
        );
    }
    let req = Request {
        roles: args.roles.as_deref(),
        mobile_workers: args.mobile_workers.as_deref(),
        web_users: args.web_users.as_deref(),
        locations: args.locations.as_deref(),
        space: args.space.clone(),
        plan: args.plan.clone(),
        server: args.server.clone(),
        base: None,
    };
    let mut problems = Problems::default();
    let files = import::read_files(&req, &mut problems);
    let imported = import::import(&req, &files, problems);
    print_problems(&imported.problems);
    let errors = imported
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    if errors > 0 {
        return fail(format_args!(
            "{errors} error(s) in the HQ files: nothing written"
        ));
    }
    let target = args.out_dir.join(format!("{}.charter", args.space));
    if target.exists() && !args.force {
        return fail(format_args!(
            "`{}` exists: pass --force to replace it",
            target.display()
        ));
    }
    if let Err(e) = std::fs::create_dir_all(&args.out_dir) {
        return fail(format_args!(
            "cannot create `{}`: {e}",
            args.out_dir.display()
        ));
    }
    let mut sources: Vec<&str> = Vec::new();
    for p in [
        &args.roles,
        &args.mobile_workers,
        &args.web_users,
        &args.locations,
    ]
    .into_iter()
    .flatten()
    {
        sources.push(p.to_str().unwrap_or("?"));
    }
    let text = policy::canonical(format!(
        "# Imported from CommCare HQ by `charter import hq`: {}\n{}",
        sources
            .iter()
            .map(|s| Path::new(s)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(s))
            .collect::<Vec<_>>()
            .join(", "),
        policy::write_space(&imported.space)
    ));
    if let Err(e) = charter::output::write_atomic(&target, text.as_bytes()) {
        return fail(format_args!("cannot write `{}`: {e}", target.display()));
    }
    outln!("wrote {}", target.display());
    // The directory as a whole must check: the import names enterprises and upstream
    // spaces that other files of it declare.
    let (sources, compiled) = match super::load::compile_path(&args.out_dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if compiled.diagnostics.is_empty() {
        outln!("`charter check {}`: no problems", args.out_dir.display());
        return 0;
    }
    print_human(&sources, &compiled.diagnostics);
    if compiled.has_errors() {
        errln!(
            "the imported policy does not check: fix `{}` (or the HQ project) as the errors say",
            target.display()
        );
        1
    } else {
        0
    }
}

/// `charter drift PATH --hq DIR`: the policy against an HQ export of the same space.
pub(crate) fn drift(
    path: &Path,
    hq: &Path,
    space: Option<&str>,
    format: DiffFormat,
    fail_on: Option<FailOn>,
    color: Color,
    key: Option<&Path>,
) -> u8 {
    let snapshot = match open(path, key) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !hq.is_dir() {
        return fail(format_args!(
            "`{}` is not a directory of HQ files ({ROLES_FILE}, {MOBILE_WORKERS_FILE}, {WEB_USERS_FILE}, {LOCATIONS_FILE})",
            hq.display()
        ));
    }
    let present = |name: &str| Some(hq.join(name)).filter(|p| p.exists());
    let (roles, mobile, web, locations) = (
        present(ROLES_FILE),
        present(MOBILE_WORKERS_FILE),
        present(WEB_USERS_FILE),
        present(LOCATIONS_FILE),
    );
    if roles.is_none() && mobile.is_none() && web.is_none() && locations.is_none() {
        return fail(format_args!(
            "`{}` holds none of {ROLES_FILE}, {MOBILE_WORKERS_FILE}, {WEB_USERS_FILE}, {LOCATIONS_FILE}",
            hq.display()
        ));
    }
    let base = match pick_space(&snapshot, space) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let req = Request {
        roles: roles.as_deref(),
        mobile_workers: mobile.as_deref(),
        web_users: web.as_deref(),
        locations: locations.as_deref(),
        space: base.id.clone(),
        plan: None,
        server: None,
        base: Some(base),
    };
    let mut problems = Problems::default();
    let files = import::read_files(&req, &mut problems);
    let imported = import::import(&req, &files, problems);
    print_problems(&imported.problems);
    if imported
        .problems
        .iter()
        .any(|p| p.severity == Severity::Error)
    {
        return fail("the HQ files cannot be compared: fix the errors above");
    }
    let sources = charter::hq::with_space(&snapshot, &imported.space);
    let compiled = charter::compile(&sources);
    if compiled.has_errors() {
        print_errors(&sources, &compiled.diagnostics);
        return fail(format_args!(
            "the HQ project does not make a valid policy (`charter import hq` writes it for review); cannot compare"
        ));
    }
    let production = charter::build(&sources, &compiled);
    let d = charter::diff::diff(&Index::new(snapshot), &Index::new(production));
    match format {
        DiffFormat::Human => {
            out!(
                "{}",
                d.human(color.enabled(std::io::stdout().is_terminal()))
            );
        }
        DiffFormat::Json => print_json(&d),
        DiffFormat::Markdown => out!("{}", d.markdown()),
    }
    match fail_on {
        Some(FailOn::Escalation) if d.escalations > 0 => 1,
        _ => 0,
    }
}
