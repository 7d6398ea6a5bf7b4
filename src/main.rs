//! The `charter` command line: the clap definitions and the dispatch of each command into
//! `cli/`, on a large stack; the exit code is the command's.

// Standard output goes through `out!`/`outln!` (see `cli::output::stdout`), standard error
// through `err!`/`errln!`: `print!` and `eprint!` panic on a closed pipe. Nothing in the
// command line panics on purpose: no `expect`, no `unwrap`.
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![deny(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod cli;

use cli::output::{CheckArgs, Color, OutputFormat, USAGE, errln, stdout};
use cli::{check, diff, explain, fmt, hq, query, report, roles, test, verify};

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
    /// Write a space in another system's exchange format.
    Export {
        #[command(subcommand)]
        to: ExportTo,
    },
    /// Write a space's policy from another system's exchange files.
    Import {
        #[command(subcommand)]
        from: ImportFrom,
    },
    /// Compare a policy with the CommCare HQ project it governs (an HQ export of the same
    /// space), as `diff` compares two versions: who holds more or less in production.
    Drift {
        /// The reviewed policy: a policy path or a snapshot.
        path: PathBuf,
        /// The directory of HQ files: roles.json, mobile-workers.xlsx, web-users.xlsx,
        /// locations.xlsx (any of them).
        #[arg(long, value_name = "DIR")]
        hq: PathBuf,
        /// The space the HQ files are of (needed when the policy has several).
        #[arg(long, value_name = "ID")]
        space: Option<String>,
        /// `human` (grouped by space), `json`, or `markdown`.
        #[arg(long, value_enum, default_value_t = diff::DiffFormat::Human)]
        format: diff::DiffFormat,
        /// Exit 1 when production grants something the policy does not.
        #[arg(long, value_enum, value_name = "CLASS")]
        fail_on: Option<diff::FailOn>,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// Who gains and who loses what, where, between two versions of a policy.
    Diff {
        /// The old version: a policy path, a snapshot, or `REV:PATH` (the policy at a git revision).
        old: String,
        /// The new version, likewise.
        new: String,
        /// `human` (grouped by space), `json`, or `markdown` (a pull-request comment).
        #[arg(long, value_enum, default_value_t = diff::DiffFormat::Human)]
        format: diff::DiffFormat,
        /// Exit 1 when the diff contains an escalation.
        #[arg(long, value_enum, value_name = "CLASS")]
        fail_on: Option<diff::FailOn>,
        /// When to colour human output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// Refuse a snapshot (OLD or NEW) not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// Every role of a space (built-in, declared, received) with its effective values.
    Roles {
        /// A snapshot (`.json`, `.yaml`, `.yml`), a `.charter` file or a policy directory.
        path: PathBuf,
        /// The space id.
        #[arg(long, value_name = "ID")]
        space: String,
        /// `human` (non-default values, with the rule behind each changed one) or `json`
        /// (every value, as the snapshot has them).
        #[arg(long, value_enum)]
        format: Option<OutputFormat>,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// Print the reference entry of a diagnostic code (`E0102`, `W0209`).
    Explain {
        /// The code, e.g. `E0102`.
        code: String,
    },
    /// Print a shell completion script (`charter completions bash > /etc/bash_completion.d/charter`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; `charter man | man -l -`).
    Man,
    /// Start a new policy: write a commented `policy.charter` that checks clean and has a test.
    Init {
        /// The directory (created if missing; refused if it holds `.charter` files).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// The language server (LSP over standard input and output), for editors: diagnostics as
    /// you type, hover, go to definition, references, completion, quick fixes, formatting.
    Lsp,
    /// Reports in the spirit of the Enterprise Console's, for what a policy knows.
    Report {
        #[command(subcommand)]
        report: ReportCommand,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// CSV (RFC 4180) about one enterprise's spaces: project spaces, web users, mobile workers,
    /// spaces without two-factor, API access, cross-space access (Enterprise Permissions,
    /// registry grants).
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
        #[arg(long, value_enum, default_value_t = report::ReportName::ProjectSpaces)]
        report: report::ReportName,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// `csv` (also `human`) or `json` (the same rows as objects).
        #[arg(long, value_enum, default_value_t = report::TableFormat::Csv)]
        format: report::TableFormat,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// The access matrix: per space, roles × permissions (effective values, with reasons) and
    /// members × permissions with their scope; restricted members and API bypass marked.
    Matrix {
        /// A snapshot (`.json`, `.yaml`, `.yml`), a `.charter` file or a policy directory.
        path: PathBuf,
        /// Only this space.
        #[arg(long, value_name = "ID")]
        space: Option<String>,
        /// `html` (one self-contained page), `csv`, `markdown` or `json`; by default the
        /// output file's extension, else `markdown`.
        #[arg(long, value_enum)]
        format: Option<report::MatrixFormat>,
        /// Write to FILE (atomically) instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExportTo {
    /// A SQLite database of the compiled policy for auditors' SQL (docs/sqlite.md): spaces,
    /// locations with DFS intervals, roles, declared and effective permissions with reasons,
    /// members, their locations, and the view `grants`.
    Sqlite {
        /// A policy path or a snapshot.
        path: PathBuf,
        /// The database to write (replaced atomically).
        #[arg(short, long, value_name = "FILE.db")]
        output: PathBuf,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
    /// CommCare HQ's exchange files for one space: roles.json (role objects), and the
    /// mobile-worker, web-user and locations workbooks HQ's bulk uploads accept.
    Hq {
        /// A policy path or a snapshot.
        path: PathBuf,
        /// The space to export.
        #[arg(long, value_name = "ID")]
        space: String,
        /// The directory to write the four files to (created if missing).
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Refuse a snapshot not signed by this public key.
        #[arg(long, value_name = "PUB")]
        verify_key: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ImportFrom {
    /// A space from CommCare HQ's files: the role JSON, the bulk user workbooks and the
    /// locations workbook; writes DIR/SPACE.charter and checks DIR.
    Hq {
        /// Role objects: `{"user_roles": [...]}` (HQ's linked-project endpoint) or a list.
        #[arg(long, value_name = "ROLES.json")]
        roles: Option<PathBuf>,
        /// The mobile-worker workbook (sheets `users`, `groups`).
        #[arg(long, value_name = "USERS.xlsx")]
        mobile_workers: Option<PathBuf>,
        /// The web-user workbook (sheet `users`).
        #[arg(long, value_name = "WEB.xlsx")]
        web_users: Option<PathBuf>,
        /// The locations workbook (sheet `types`, one sheet per type).
        #[arg(long, value_name = "LOCATIONS.xlsx")]
        locations: Option<PathBuf>,
        /// The space's id.
        #[arg(long, value_name = "ID")]
        space: String,
        /// The space's plan (HQ's files do not say; default: charter's object in the role
        /// file, else `enterprise`).
        #[arg(long, value_name = "P")]
        plan: Option<String>,
        /// The space's server.
        #[arg(long, value_name = "S")]
        server: Option<String>,
        /// The policy directory to write to.
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Replace DIR/SPACE.charter if it exists.
        #[arg(long)]
        force: bool,
    },
}

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
        Command::Check { args } => check::run(&args, None, None),
        Command::Build { args, output, sign } => check::run(&args, Some(&output), sign.as_deref()),
        Command::Test { args, filter } => test::run(&args, filter.as_deref()),
        Command::Query {
            path,
            query,
            batch,
            format,
            verify_key,
        } => query::run(
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
        } => verify::run(&snapshot, policy.as_deref(), verify_key.as_deref()),
        Command::Keygen { out } => verify::keygen(&out),
        Command::Fmt { path, check } => fmt::run(&path, check),
        Command::Report {
            report:
                ReportCommand::Matrix {
                    path,
                    space,
                    format,
                    output,
                    verify_key,
                },
        } => report::matrix(
            &path,
            space.as_deref(),
            format,
            output.as_deref(),
            verify_key.as_deref(),
        ),
        Command::Export {
            to:
                ExportTo::Sqlite {
                    path,
                    output,
                    verify_key,
                },
        } => report::sqlite(&path, &output, verify_key.as_deref()),
        Command::Export {
            to:
                ExportTo::Hq {
                    path,
                    space,
                    output,
                    verify_key,
                },
        } => hq::export(&path, &space, &output, verify_key.as_deref()),
        Command::Import {
            from:
                ImportFrom::Hq {
                    roles,
                    mobile_workers,
                    web_users,
                    locations,
                    space,
                    plan,
                    server,
                    output,
                    force,
                },
        } => hq::import(&hq::ImportArgs {
            roles,
            mobile_workers,
            web_users,
            locations,
            space,
            plan,
            server,
            out_dir: output,
            force,
        }),
        Command::Drift {
            path,
            hq: dir,
            space,
            format,
            fail_on,
            color,
            verify_key,
        } => hq::drift(
            &path,
            &dir,
            space.as_deref(),
            format,
            fail_on,
            color,
            verify_key.as_deref(),
        ),
        Command::Diff {
            old,
            new,
            format,
            fail_on,
            color,
            verify_key,
        } => diff::run(&old, &new, format, fail_on, color, verify_key.as_deref()),
        Command::Roles {
            path,
            space,
            format,
            verify_key,
        } => roles::run(&path, &space, format, verify_key.as_deref()),
        Command::Explain { code } => explain::explain(&code),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "charter", &mut buf);
            emit_bytes(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut buf) {
                Ok(()) => emit_bytes(&buf),
                Err(e) => cli::output::fail(format!("cannot render the manual page: {e}")),
            }
        }
        Command::Init { dir } => explain::init(&dir),
        Command::Lsp => cli::lsp::run(),
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
        } => report::enterprise(
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

/// Writes generated text (completions, the manual page) to standard output.
fn emit_bytes(bytes: &[u8]) -> u8 {
    cli::output::out!("{}", String::from_utf8_lossy(bytes));
    0
}
