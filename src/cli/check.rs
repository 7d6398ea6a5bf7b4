//! `charter check` and `charter build`: the diagnostics, the summary line, and the snapshot
//! written atomically (optionally signed) when the policy compiles.

use std::path::Path;

use charter::diagnostic::{self, Diagnostic};
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;

use super::load::compile_path;
use super::output::{CheckArgs, errln, fail, print_diagnostics};

/// `charter check`, and `charter build` (with `output`, and a signing key): exit 1 when the
/// policy has errors (or warnings, with `--deny-warnings`), and then nothing is written.
pub(crate) fn run(args: &CheckArgs, output: Option<&Path>, sign: Option<&Path>) -> u8 {
    let out_format = match output.map(|o| (o, Format::from_path(o))) {
        Some((o, None)) => {
            return fail(format_args!(
                "cannot tell the snapshot format of `{}`: use a `.json`, `.yaml` or `.yml` file",
                o.display()
            ));
        }
        Some((_, Some(f))) => Some(f),
        None => None,
    };
    // The key first: a build that cannot be signed should not compile the policy in vain.
    let key = match sign.map(charter::snapshot::sign::load_secret) {
        Some(Err(e)) => return fail(e),
        Some(Ok(k)) => Some(k),
        None => None,
    };
    let progress =
        super::progress::Progress::start(&format!("compiling `{}`", args.path.display()));
    let (sources, compiled) = match compile_path(&args.path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let diagnostics = &compiled.diagnostics;
    let (errors, warnings) = diagnostic::counts(diagnostics);
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);

    let mut written = None;
    if let (Some(path), Some(fmt), false) = (output, out_format, failed) {
        // Each space is emitted as it is written: one stage.
        progress.stage(&format!("emitting the snapshot to `{}`", path.display()));
        let how = match &key {
            Some(k) => format::Sign::With(k),
            None => format::Sign::No,
        };
        let result = charter::output::write_atomic_with(path, |f| {
            charter::pipeline::write_snapshot(&sources, &compiled, fmt, f, how)
        });
        if let Err(e) = result {
            return fail(format_args!("cannot write `{}`: {e}", path.display()));
        }
        written = Some(path);
    }

    // Cleared before the diagnostics are printed.
    drop(progress);
    if print_diagnostics(args, &sources, diagnostics) {
        if let Some(note) = one_file_of_many(&args.path, diagnostics) {
            errln!("{note}");
        }
        errln!(
            "{}",
            summary(&sources, &compiled.ir, diagnostics, failed, written)
        );
    }
    u8::from(failed)
}

/// For one file of a policy directory with unknown names: they may be declared in the other
/// files, which all share one namespace.
fn one_file_of_many(path: &Path, diagnostics: &[Diagnostic]) -> Option<String> {
    let unknown = diagnostics
        .iter()
        .any(|d| d.code == diagnostic::Code::UnknownName);
    if !unknown || !path.is_file() {
        return None;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let others = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let p = e.path();
            p.extension().is_some_and(|x| x == "charter")
                && !e.file_name().to_string_lossy().starts_with('.')
                && p.file_name() != path.file_name()
        })
        .count();
    (others > 0).then(|| {
        format!(
            "note: `{}` is one of {} `.charter` files in `{}`, which share one namespace: names declared in the others are unknown here; check `{}` instead",
            path.display(),
            others + 1,
            dir.display(),
            dir.display()
        )
    })
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn summary(
    sources: &SourceSet,
    ir: &charter::ir::Ir,
    diagnostics: &[Diagnostic],
    failed: bool,
    written: Option<&Path>,
) -> String {
    let (errors, warnings) = diagnostic::counts(diagnostics);
    let files = plural(sources.len(), "file");
    if failed {
        let what = match (errors, warnings) {
            (0, w) => format!("{} (denied by --deny-warnings)", plural(w, "warning")),
            (e, 0) => plural(e, "error"),
            (e, w) => format!("{} and {}", plural(e, "error"), plural(w, "warning")),
        };
        return format!("error: {what} in {files}");
    }
    let roles: usize = ir
        .spaces
        .iter()
        .map(|s| s.roles.iter().filter(|r| r.is_declared()).count())
        .sum();
    let members: usize = ir.spaces.iter().map(|s| s.members.len()).sum();
    let mut line = format!(
        "ok: {files}, {}, {}, {}, {}",
        plural(ir.spaces.len(), "space"),
        plural(roles, "declared role"),
        plural(members, "member"),
        plural(ir.tests.len(), "test"),
    );
    if warnings > 0 {
        line.push_str(&format!("; {}", plural(warnings, "warning")));
    }
    if let Some(path) = written {
        line.push_str(&format!("; snapshot written to {}", path.display()));
    }
    line
}
