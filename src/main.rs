//! The `charter` command line: parses arguments, calls the library, renders, sets the exit code.

// Standard output goes through `out!`/`outln!` (see `stdout`), standard error through
// `err!`/`errln!`: `print!` and `eprint!` panic on a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// `print!` that a closed pipe or a full disk cannot turn into a panic (see [`stdout`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::stdout::print(format_args!($($arg)*))
    };
}

/// `println!`, likewise.
macro_rules! outln {
    () => {
        $crate::stdout::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::stdout::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that a closed or failing standard error cannot turn into a panic: diagnostics are
/// best effort once nobody reads them (`charter check bad 2>&1 | head -1`).
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = std::io::stderr().lock().write_fmt(format_args!($($arg)*));
    }};
}

/// `eprintln!`, likewise.
macro_rules! errln {
    ($($arg:tt)*) => {
        err!("{}\n", format_args!($($arg)*))
    };
}

mod commands;

use charter::diagnostic::render::{self, Style};
use charter::diagnostic::{self, Diagnostic};
use charter::snapshot::format::{self, Format};
use charter::source::SourceSet;

/// Compile access policy for CommCare-style project spaces into a checked, queryable snapshot.
#[derive(Parser)]
#[command(name = "charter", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse, resolve and validate a policy; print every problem found.
    Check {
        #[command(flatten)]
        args: CheckArgs,
    },
    /// Check a policy, then write its snapshot (`.json`, `.yaml` or `.yml` by extension).
    Build {
        #[command(flatten)]
        args: CheckArgs,
        /// The snapshot file to write; written atomically, never partially.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Sign the snapshot with this private key (`charter keygen`).
        #[arg(long, value_name = "KEY")]
        sign: Option<PathBuf>,
    },
    /// Build, then run every assertion of every `test` block.
    Test {
        #[command(flatten)]
        args: CheckArgs,
        /// Run only the tests whose name contains this text.
        #[arg(long, value_name = "NAME")]
        filter: Option<String>,
    },
    /// Ask who can do what, where and why, of a policy or a compiled snapshot.
    Query {
        /// A snapshot (`.json`, `.yaml`, `.yml`), a `.charter` file or a policy directory.
        path: PathBuf,
        /// `"u" can|cannot LEVEL PERM [at LOC] in SPACE`, `who can ...`, `what can "u" do in SPACE`,
        /// `why "u" can|cannot ...`.
        #[arg(required_unless_present = "batch")]
        query: Option<String>,
        /// Answer one query per line of FILE (`-`: standard input), one JSON answer per line.
        #[arg(long, value_name = "FILE", conflicts_with = "query")]
        batch: Option<PathBuf>,
        /// Output format: `human` (the default) or `json`; `--batch` answers in JSON lines only.
        #[arg(long, value_enum)]
        format: Option<OutputFormat>,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// Check a snapshot: its digest, its validity, its signature, and that a policy rebuilds it
    /// byte for byte.
    Verify {
        /// The snapshot (`.json`, `.yaml`, `.yml`).
        snapshot: PathBuf,
        /// The policy it should have been built from: rebuilt in memory and compared.
        #[arg(long, value_name = "PATH")]
        policy: Option<PathBuf>,
        /// The public key it must be signed by.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// Make a key pair for signing snapshots: NAME.key (private, mode 0600) and NAME.pub.
    Keygen {
        /// The files' name, without extension.
        #[arg(long, value_name = "NAME")]
        out: PathBuf,
    },
    /// Rewrite files in the canonical format, keeping every comment.
    Fmt {
        /// A `.charter` file or a directory of them.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Change nothing; list the files that would change and exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Who gains and who loses what, where, between two versions of a policy.
    Diff {
        /// The old version: a policy path, a snapshot, or `REV:PATH` (the policy at a git revision).
        old: String,
        /// The new version, likewise.
        new: String,
        /// `human` (grouped by space), `json`, or `markdown` (a pull-request comment).
        #[arg(long, value_enum, default_value_t = commands::DiffFormat::Human)]
        format: commands::DiffFormat,
        /// Exit 1 when the diff contains an escalation.
        #[arg(long, value_enum, value_name = "CLASS")]
        fail_on: Option<commands::FailOn>,
        /// When to colour human output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Refuse a snapshot (OLD or NEW) not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// Reports in the spirit of the Enterprise Console's, for what a policy knows.
    Report {
        #[command(subcommand)]
        report: ReportCommand,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// CSV (RFC 4180) about one enterprise's spaces: project spaces, web users, mobile workers,
    /// spaces without two-factor, API access.
    Enterprise {
        /// A snapshot (`.json`, `.yaml`, `.yml`), a `.charter` file or a policy directory.
        path: PathBuf,
        /// The enterprise id.
        #[arg(long, value_name = "ID")]
        enterprise: String,
        /// Only the spaces on this server.
        #[arg(long, value_name = "S")]
        server: Option<String>,
        /// Which report.
        #[arg(long, value_enum, default_value_t = commands::ReportName::ProjectSpaces)]
        report: commands::ReportName,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// `csv` (also `human`) or `json` (the same rows as objects).
        #[arg(long, value_enum, default_value_t = commands::TableFormat::Csv)]
        format: commands::TableFormat,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// A `.charter` file or a directory of them.
    #[arg(default_value = ".")]
    pub(crate) path: PathBuf,
    /// Output format: miette reports, JSON, SARIF 2.1.0 (code scanning), or GitHub Actions
    /// workflow commands.
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    pub(crate) format: DiagFormat,
    /// Fail (exit 1) on warnings as well as errors.
    #[arg(long)]
    pub(crate) deny_warnings: bool,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub(crate) color: Color,
    /// Print at most this many diagnostics in human output (the rest are counted).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub(crate) max_diagnostics: usize,
}

/// Output formats of commands that report diagnostics.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiagFormat {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

/// Exit code for "the command could not do its job".
pub(crate) const USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Recursion depth is bounded by the parser's nesting limit; a large stack is a second line
    // of defence against deep input on platforms with small default stacks.
    let worker = std::thread::Builder::new()
        .stack_size(64 * 1024 * 1024)
        .spawn(move || stdout::finish(run(cli)));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => ExitCode::from(code),
        _ => {
            errln!("error: internal error (this is a bug in charter; please report it)");
            ExitCode::from(USAGE)
        }
    }
}

fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Check { args } => check(&args, None, None),
        Command::Build { args, output, sign } => check(&args, Some(&output), sign.as_deref()),
        Command::Test { args, filter } => commands::test(&args, filter.as_deref()),
        Command::Query {
            path,
            query,
            batch,
            format,
            verify_key,
        } => commands::query(
            &path,
            query.as_deref(),
            batch.as_deref(),
            format,
            verify_key.as_deref(),
        ),
        Command::Verify {
            snapshot,
            policy,
            verify_key,
        } => commands::verify(&snapshot, policy.as_deref(), verify_key.as_deref()),
        Command::Keygen { out } => commands::keygen(&out),
        Command::Fmt { path, check } => commands::fmt(&path, check),
        Command::Diff {
            old,
            new,
            format,
            fail_on,
            color,
            verify_key,
        } => commands::diff(&old, &new, format, fail_on, color, verify_key.as_deref()),
        Command::Report {
            report:
                ReportCommand::Enterprise {
                    path,
                    enterprise,
                    server,
                    report,
                    output,
                    format,
                    verify_key,
                },
        } => commands::report_enterprise(
            &path,
            &enterprise,
            server.as_deref(),
            report,
            output.as_deref(),
            format,
            verify_key.as_deref(),
        ),
    }
}

/// Standard output of every command. A reader that stops early (`| head -1`) is normal: the
/// command runs to its end, writes nothing more, and exits with its own code, without a word.
/// Any other write error (`> /dev/full`) is reported once, at the end, as exit 2: the output
/// is incomplete. (`print!` would panic in both cases.)
pub(crate) mod stdout {
    use std::io::Write;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    enum State {
        Open,
        /// The reader went away (`BrokenPipe`).
        Closed,
        Failed(std::io::Error),
    }

    static STATE: Mutex<State> = Mutex::new(State::Open);

    fn state() -> MutexGuard<'static, State> {
        STATE.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(state: &mut State, e: std::io::Error) {
        if matches!(state, State::Open) {
            *state = if e.kind() == std::io::ErrorKind::BrokenPipe {
                State::Closed
            } else {
                State::Failed(e)
            };
        }
    }

    /// Writes to standard output, unless an earlier write failed.
    pub(crate) fn print(args: std::fmt::Arguments<'_>) {
        let mut state = state();
        if matches!(*state, State::Open)
            && let Err(e) = std::io::stdout().lock().write_fmt(args)
        {
            record(&mut state, e);
        }
    }

    /// Records a write error of standard output met by a writer of its own (`--batch`).
    pub(crate) fn failed(e: std::io::Error) {
        record(&mut state(), e);
    }

    /// Flushes standard output; returns `code`, or, when output was lost other than to a closed
    /// pipe, exit 2 after a one-line error.
    pub(crate) fn finish(code: u8) -> u8 {
        let flushed = std::io::stdout().lock().flush();
        let mut state = state();
        if let Err(e) = flushed {
            record(&mut state, e);
        }
        match &*state {
            State::Failed(e) => {
                errln!("error: cannot write to standard output: {e}");
                super::USAGE
            }
            State::Open | State::Closed => code,
        }
    }
}

pub(crate) fn fail(message: impl std::fmt::Display) -> u8 {
    errln!("error: {message}");
    USAGE
}

fn check(args: &CheckArgs, output: Option<&Path>, sign: Option<&Path>) -> u8 {
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
    let (sources, compiled) = match commands::compile_path(&args.path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let diagnostics = &compiled.diagnostics;
    let (errors, warnings) = diagnostic::counts(diagnostics);
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);

    let mut written = None;
    if let (Some(path), Some(fmt), false) = (output, out_format, failed) {
        let mut snapshot = charter::build(&sources, &compiled);
        let how = match &key {
            Some(k) => format::Sign::With(k),
            None => format::Sign::No,
        };
        let result = charter::output::write_atomic_with(path, |f| {
            format::write_with(&mut snapshot, fmt, f, how)
        });
        if let Err(e) = result {
            return fail(format_args!("cannot write `{}`: {e}", path.display()));
        }
        written = Some(path);
    }

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

/// The style of human output for the `--color` choice.
pub(crate) fn style(color: Color) -> Style {
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    Style {
        color,
        width: if color { 120 } else { 100 },
    }
}

/// Prints diagnostics in the chosen format; returns whether the output is human (so a summary
/// line may follow).
pub(crate) fn print_diagnostics(
    args: &CheckArgs,
    sources: &SourceSet,
    diagnostics: &[Diagnostic],
) -> bool {
    match args.format {
        DiagFormat::Json => {
            out!("{}", render::json(sources, diagnostics));
            false
        }
        DiagFormat::Sarif => {
            out!("{}", render::sarif(sources, diagnostics, &[]));
            false
        }
        DiagFormat::Github => {
            out!("{}", render::github(sources, diagnostics, &[]));
            false
        }
        DiagFormat::Human => {
            let shown = &diagnostics[..diagnostics.len().min(args.max_diagnostics)];
            err!("{}", render::human(sources, shown, style(args.color)));
            if diagnostics.len() > shown.len() {
                errln!(
                    "... and {} more (use --max-diagnostics or --format json to see all)\n",
                    diagnostics.len() - shown.len()
                );
            }
            true
        }
    }
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
