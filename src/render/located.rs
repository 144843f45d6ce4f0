//! Runtime failures drawn like compile errors: the message, then the task's line in its file
//! with a label, then a help line. A location whose file is gone still prints `file:line:col`.

use crate::error::{Error, ErrorKind};
use crate::source::Location;

/// A located diagnostic for a failure on a host.
pub(crate) fn located(
    message: &str,
    at: Option<&Location>,
    label: &str,
    help: Option<&str>,
) -> String {
    let span = at.and_then(Location::span);
    let mut error = Error::new(ErrorKind::Runtime {
        message: message.to_owned(),
    });
    if let Some(span) = &span {
        error = error.with_span(span).with_label(label.to_owned());
    }
    let help = match (at, &span) {
        (Some(at), None) => Some(match help {
            Some(h) => format!("{h}\n(at {at})"),
            None => format!("at {at}"),
        }),
        _ => help.map(str::to_owned),
    };
    if let Some(help) = help {
        error = error.with_help(help);
    }
    // Long lines stay whole: a message is searched (by people, CI logs, the secret scrubber)
    // as one line, never wrapped mid-phrase.
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(usize::MAX / 4)
            .with_links(false);
    let mut text = String::new();
    if handler.render_report(&mut text, &error).is_err() {
        text = format!("{error}\n");
    }
    crate::secret::scrub(&text).into_owned()
}
