//! Everything recon prints to the terminal is built here; workers only return data.

mod dot;
mod group;
mod located;
mod plan;
mod progress;
mod report;

pub(crate) use dot::dot;
pub(crate) use group::OwnValues;
pub(crate) use located::located;
pub(crate) use plan::{render_plan, PlanView};
pub(crate) use progress::Progress;
pub(crate) use report::render_report;

/// ANSI styling, off unless stdout is a terminal (and `NO_COLOR` is unset).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) color: bool,
}

impl Style {
    pub(crate) fn detect() -> Self {
        use std::io::IsTerminal;
        Self {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    pub(crate) fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(crate) fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}
