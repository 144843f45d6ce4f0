//! Live progress while hosts are probed and applied: one spinner line per host on a terminal
//! (indicatif), plain `host: what` lines otherwise. Always on stderr, so stdout carries only the
//! plan and the report (and stays exact for scripts and `--json`).

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where workers report what they are doing.
pub(crate) struct Progress {
    mode: Mode,
}

enum Mode {
    Quiet,
    Lines(Mutex<()>),
    Bars {
        multi: MultiProgress,
        bars: Mutex<Vec<(String, ProgressBar)>>,
    },
}

impl Progress {
    /// Bars on a terminal, lines otherwise; nothing with `quiet` (JSON output).
    pub(crate) fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bars {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                bars: Mutex::default(),
            }
        } else {
            Mode::Lines(Mutex::default())
        };
        Self { mode }
    }

    /// `host` is now doing `what` (connecting, probing, applying N steps).
    pub(crate) fn update(&self, host: &str, what: &str) {
        let what = &*crate::secret::scrub(what);
        match &self.mode {
            Mode::Quiet => {}
            Mode::Lines(lock) => {
                let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = writeln!(std::io::stderr(), "{host}: {what}");
            }
            Mode::Bars { multi, bars } => {
                let mut bars = bars.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((_, bar)) = bars.iter().find(|(h, _)| h == host) {
                    bar.set_message(what.to_owned());
                    return;
                }
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(host.to_owned());
                bar.set_message(what.to_owned());
                bar.enable_steady_tick(Duration::from_millis(100));
                bars.push((host.to_owned(), bar));
            }
        }
    }

    /// `host` is done with this phase; its line stays with `what`.
    pub(crate) fn finish(&self, host: &str, what: &str) {
        let what = &*crate::secret::scrub(what);
        match &self.mode {
            Mode::Bars { bars, .. } => {
                let bars = bars.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((_, bar)) = bars.iter().find(|(h, _)| h == host) {
                    bar.finish_with_message(what.to_owned());
                }
            }
            _ => self.update(host, what),
        }
    }

    /// Removes every line before the plan or the report is printed.
    pub(crate) fn clear(&self) {
        if let Mode::Bars { multi, bars } = &self.mode {
            let _ = multi.clear();
            bars.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
}
