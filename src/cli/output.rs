//! What every command shares: the `out!`/`outln!`/`err!`/`errln!` macros (the binary denies
//! `print!`, which panics on a closed pipe), standard output's state, the exit code of a
//! refusal, colour, the diagnostic formats and the arguments of the commands that report
//! diagnostics, and JSON printing.
//!
//! The shared argument types live here, not in `check.rs`, so that no command module and this
//! one import each other.

use std::io::IsTerminal;
use std::path::PathBuf;

use charter::diagnostic::Diagnostic;
use charter::diagnostic::render::{self, Style};
use charter::source::SourceSet;
use clap::ValueEnum;

/// `print!` that a closed pipe or a full disk cannot turn into a panic (see [`stdout`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::stdout::print(format_args!($($arg)*))
    };
}

/// `println!`, likewise.
macro_rules! outln {
    () => {
        $crate::cli::output::stdout::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stdout::print(format_args!("{}\n", format_args!($($arg)*)))
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
        $crate::cli::output::err!("{}\n", format_args!($($arg)*))
    };
}

pub(crate) use {err, errln, out, outln};

/// Exit code for "the command could not do its job".
pub(crate) const USAGE: u8 = 2;

/// Prints `error: MESSAGE` and returns [`USAGE`].
pub(crate) fn fail(message: impl std::fmt::Display) -> u8 {
    errln!("error: {message}");
    USAGE
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

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    /// Whether to colour output that goes to a stream which is (or is not) a terminal: `auto`
    /// colours a terminal unless `NO_COLOR` is set.
    pub(crate) fn enabled(self, terminal: bool) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => terminal && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

/// The style of human diagnostics (on standard error) for the `--color` choice.
pub(crate) fn style(color: Color) -> Style {
    let color = color.enabled(std::io::stderr().is_terminal());
    Style {
        color,
        width: if color { 120 } else { 100 },
    }
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

/// `--format` of `query`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    Human,
    Json,
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

/// Prints diagnostics as human reports on standard error, coloured by `--color auto`.
pub(crate) fn print_human(sources: &SourceSet, diagnostics: &[Diagnostic]) {
    err!(
        "{}",
        render::human(sources, diagnostics, style(Color::Auto))
    );
}

/// Prints the first 20 errors of a policy a command refuses to use (the line saying why
/// follows).
pub(crate) fn print_errors(sources: &SourceSet, errors: &[Diagnostic]) {
    print_human(sources, &errors[..errors.len().min(20)]);
}

/// A value as pretty-printed JSON (our own types serialise; nothing is printed if one did
/// not).
pub(crate) fn pretty_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Prints a value as pretty-printed JSON and a newline.
pub(crate) fn print_json(value: &impl serde::Serialize) {
    outln!("{}", pretty_json(value));
}
