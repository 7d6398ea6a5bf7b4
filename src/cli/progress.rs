//! Progress on standard error for long builds: a spinner naming the stage, shown only on a
//! terminal and only once a build has run for [`DELAY`], so quick runs and pipes stay as they
//! were. `CHARTER_PROGRESS` overrides it: `never`, or `always` (each stage as a line at once,
//! terminal or not: for logs and tests).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::errln;

/// How long a build runs before the spinner appears.
const DELAY: Duration = Duration::from_secs(2);

enum Mode {
    Off,
    Lines,
    Spinner(ProgressBar),
}

/// The progress of one command; the spinner is cleared when dropped.
pub(crate) struct Progress {
    mode: Mode,
    stage: Arc<Mutex<String>>,
}

impl Progress {
    pub(crate) fn start(stage: &str) -> Progress {
        use std::io::IsTerminal;
        let stage_text = Arc::new(Mutex::new(stage.to_owned()));
        let mode = match std::env::var("CHARTER_PROGRESS").as_deref() {
            Ok("never") => Mode::Off,
            Ok("always") => Mode::Lines,
            _ if !std::io::stderr().is_terminal() => Mode::Off,
            _ => Mode::Spinner(spinner(Arc::clone(&stage_text))),
        };
        let p = Progress {
            mode,
            stage: stage_text,
        };
        if let Mode::Lines = p.mode {
            errln!("progress: {stage}");
        }
        p
    }

    /// The stage named from now on.
    pub(crate) fn stage(&self, stage: &str) {
        *self.stage.lock().unwrap_or_else(PoisonError::into_inner) = stage.to_owned();
        match &self.mode {
            Mode::Off => {}
            Mode::Lines => errln!("progress: {stage}"),
            Mode::Spinner(bar) => bar.set_message(stage.to_owned()),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Mode::Spinner(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

/// A hidden spinner that a thread shows after [`DELAY`] and ticks until it is finished.
fn spinner(stage: Arc<Mutex<String>>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    let shown = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(DELAY);
        if shown.is_finished() {
            return;
        }
        shown.set_draw_target(ProgressDrawTarget::stderr());
        while !shown.is_finished() {
            let m = stage.lock().unwrap_or_else(PoisonError::into_inner).clone();
            shown.set_message(m);
            shown.tick();
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    bar
}
