//! `charter export hq`, `charter import hq` and `charter drift`: the round trip with a
//! CommCare HQ project through HQ's own exchange files (`charter::hq`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use charter::hq::export::{LOCATIONS_FILE, MOBILE_WORKERS_FILE, ROLES_FILE, WEB_USERS_FILE};
use charter::hq::import::{self, Problems, Request, Severity};
use charter::hq::{policy, workbook};
use charter::query::Index;

use super::diff::{DiffFormat, FailOn};
use super::output::{Color, errln, fail, out, outln, print_errors, print_human, print_json};

/// The space of an index a command names, or the only one.
fn pick_space(index: &Index, space: Option<&str>) -> Result<u32, u8> {
    match space {
        Some(id) => super::load::space_of(index, id),
        None if index.snapshot.spaces.len() == 1 => Ok(0),
        None => Err(fail(format_args!(
            "the policy has several spaces: name one with `--space` ({})",
            index
                .snapshot
                .spaces
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// `charter export hq PATH --space ID -o DIR`.
pub(crate) fn export(path: &Path, space: &str, out_dir: &Path, key: Option<&Path>) -> u8 {
    let index = match super::load::load_index(path, key) {
        Ok(ix) => ix,
        Err(code) => return code,
    };
    let space = match pick_space(&index, Some(space)) {
        Ok(s) => &index.snapshot.spaces[s as usize],
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
    for (name, _) in &written {
        let target = out_dir.join(name);
        if std::fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
            return fail(format_args!(
                "`{}` is a symbolic link: export writes files of its own, not through links",
                target.display()
            ));
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
    if let Some(plan) = &args.plan
        && charter::model::Plan::parse(plan).is_none()
    {
        return fail(format_args!(
            "`{plan}` is not a plan (community, standard, pro, advanced, enterprise)"
        ));
    }
    if let Some(server) = &args.server
        && !policy::is_slug(server)
    {
        return fail(format_args!("`{server}` is not a server id"));
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
        upstream_roles: None,
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
    match std::fs::symlink_metadata(&target) {
        Ok(m) if m.file_type().is_symlink() => {
            return fail(format_args!(
                "`{}` is a symbolic link: import writes a file of its own, not through a link",
                target.display()
            ));
        }
        Ok(_) if !args.force => {
            return fail(format_args!(
                "`{}` exists: pass --force to replace it",
                target.display()
            ));
        }
        _ => {}
    }
    // The space must not be declared by another file of the directory already.
    if args.out_dir.is_dir()
        && let Ok((sources, compiled)) = charter::load_and_compile(&args.out_dir)
        && let Some(space) = compiled.ir.spaces.iter().find(|s| s.id == args.space)
        && sources.get(space.span.source).relative != format!("{}.charter", args.space)
    {
        return fail(format_args!(
            "space `{}` is already declared in `{}`: import into another directory (then compare with `charter drift`), or remove that declaration",
            args.space,
            sources.get(space.span.source).name
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
    // As `check` shows them: the first 100 (rendering each scans its file), then a count.
    let shown = compiled.diagnostics.len().min(100);
    print_human(&sources, &compiled.diagnostics[..shown]);
    if compiled.diagnostics.len() > shown {
        errln!(
            "... and {} more (`charter check {} --format json` lists all)",
            compiled.diagnostics.len() - shown,
            args.out_dir.display()
        );
    }
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
    // The policy's index: compared with production below, loaded once.
    let policy_index = match super::load::load_index(path, key) {
        Ok(ix) => ix,
        Err(code) => return code,
    };
    let snapshot = &policy_index.snapshot;
    if !hq.is_dir() {
        return fail(format_args!(
            "`{}` is not a directory of HQ files ({ROLES_FILE}, {MOBILE_WORKERS_FILE}, {WEB_USERS_FILE}, {LOCATIONS_FILE})",
            hq.display()
        ));
    }
    // All four: a file that failed to download must not read as a project without users.
    let missing: Vec<&str> = [
        ROLES_FILE,
        MOBILE_WORKERS_FILE,
        WEB_USERS_FILE,
        LOCATIONS_FILE,
    ]
    .into_iter()
    .filter(|name| !hq.join(name).exists())
    .collect();
    if !missing.is_empty() {
        return fail(format_args!(
            "`{}` lacks {}: drift compares the whole project, and a missing file would read as a project without those users or locations",
            hq.display(),
            missing.join(", ")
        ));
    }
    let (roles, mobile, web, locations) = (
        hq.join(ROLES_FILE),
        hq.join(MOBILE_WORKERS_FILE),
        hq.join(WEB_USERS_FILE),
        hq.join(LOCATIONS_FILE),
    );
    let base = match pick_space(&policy_index, space) {
        Ok(s) => &snapshot.spaces[s as usize],
        Err(code) => return code,
    };
    let upstream_roles: Vec<charter::snapshot::RoleEntry> = base
        .upstream
        .as_ref()
        .and_then(|u| snapshot.spaces.iter().find(|s| s.id == *u))
        .map(|u| {
            u.roles
                .iter()
                .filter(|r| policy::is_declared(r))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let req = Request {
        roles: Some(&roles),
        mobile_workers: Some(&mobile),
        web_users: Some(&web),
        locations: Some(&locations),
        space: base.id.clone(),
        plan: None,
        server: None,
        base: Some(base),
        upstream_roles: Some(&upstream_roles),
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
    let sources = charter::hq::with_space(snapshot, &imported.space);
    let compiled = charter::compile(&sources);
    if compiled.has_errors() {
        print_errors(&sources, &compiled.diagnostics);
        return fail(format_args!(
            "the HQ project does not make a valid policy (`charter import hq` writes it for review); cannot compare"
        ));
    }
    let production = charter::build(&sources, &compiled);
    let declared =
        charter::hq::declared_differences(base, production.spaces.iter().find(|s| s.id == base.id));
    let d = charter::diff::diff(&policy_index, &Index::new(production));
    const DECLARED: &str = "roles whose HQ values differ from the policy's without changing access";
    match format {
        DiffFormat::Human => {
            out!(
                "{}",
                d.human(color.enabled(std::io::stdout().is_terminal()))
            );
            if !declared.is_empty() {
                outln!("\n{DECLARED}:");
                for line in &declared {
                    outln!("  {line}");
                }
            }
        }
        DiffFormat::Json => {
            let mut json = serde_json::to_value(&d).unwrap_or_default();
            if let Some(obj) = json.as_object_mut() {
                obj.insert("declared_only".into(), serde_json::json!(declared));
            }
            print_json(&json);
        }
        DiffFormat::Markdown => {
            out!("{}", d.markdown());
            if !declared.is_empty() {
                outln!("\n**{DECLARED}:**\n");
                for line in &declared {
                    outln!("- {line}");
                }
            }
        }
    }
    match fail_on {
        Some(FailOn::Escalation) if d.escalations > 0 => 1,
        _ => 0,
    }
}
