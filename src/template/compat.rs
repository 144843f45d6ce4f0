//! What Ansible's `template` does to a template file around Jinja, so recon writes the same bytes:
//! a `#jinja2:` first line overrides environment settings (and is not output), every newline of
//! the template is written as `\n` (Jinja's default `newline_sequence`), and the trailing newlines
//! the render lost (after a block tag, `trim_blocks`) are put back (Ansible's
//! `preserve_trailing_newlines`).

use std::borrow::Cow;

/// The settings a `#jinja2:` first line may set that recon applies.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub(crate) struct Overrides {
    pub(crate) trim_blocks: Option<bool>,
    pub(crate) lstrip_blocks: Option<bool>,
    pub(crate) keep_trailing_newline: Option<bool>,
}

impl Overrides {
    /// Whether the file asks for anything other than the shared environment's settings.
    pub(crate) fn any(self) -> bool {
        self != Self::default()
    }
}

/// The template as Jinja sees it: without its `#jinja2:` line (parsed into `Overrides`; keys
/// recon cannot apply, such as other delimiters, are left to the shared settings), every `\r\n`
/// and `\r` turned into `\n`.
pub(crate) fn prepare(text: &str) -> (Overrides, Cow<'_, str>) {
    let mut overrides = Overrides::default();
    let mut body = text;
    if let Some(rest) = text.strip_prefix("#jinja2:") {
        let (line, after) = rest
            .find(['\n', '\r'])
            .map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
        body = after
            .strip_prefix("\r\n")
            .or_else(|| after.strip_prefix('\n'))
            .or_else(|| after.strip_prefix('\r'))
            .unwrap_or(after);
        for pair in line.split(',') {
            let Some((key, value)) = pair.split_once(':') else {
                continue;
            };
            let value = match value.trim() {
                "True" | "true" => true,
                "False" | "false" => false,
                _ => continue,
            };
            match key.trim() {
                "trim_blocks" => overrides.trim_blocks = Some(value),
                "lstrip_blocks" => overrides.lstrip_blocks = Some(value),
                "keep_trailing_newline" => overrides.keep_trailing_newline = Some(value),
                _ => {}
            }
        }
    }
    let body = if body.contains('\r') {
        Cow::Owned(body.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(body)
    };
    (overrides, body)
}

/// A copy of the shared environment with a file's `#jinja2:` settings applied.
pub(crate) fn environment(
    shared: &minijinja::Environment<'static>,
    overrides: Overrides,
) -> minijinja::Environment<'static> {
    let mut env = shared.clone();
    if let Some(v) = overrides.trim_blocks {
        env.set_trim_blocks(v);
    }
    if let Some(v) = overrides.lstrip_blocks {
        env.set_lstrip_blocks(v);
    }
    if let Some(v) = overrides.keep_trailing_newline {
        env.set_keep_trailing_newline(v);
    }
    env
}

/// `rendered` with the newlines `source` ends with and the render lost put back.
pub(crate) fn restore_trailing_newlines(source: &str, mut rendered: String) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let (wanted, have) = (count(source), count(&rendered));
    if wanted > have {
        rendered.push_str(&"\n".repeat(wanted - have));
    }
    rendered
}

#[cfg(test)]
mod tests {
    use super::{prepare, restore_trailing_newlines, Overrides};

    #[test]
    fn a_jinja2_first_line_sets_overrides_and_is_not_part_of_the_template() {
        let (o, body) = prepare("#jinja2: lstrip_blocks: True, trim_blocks: False\nx\n");
        assert_eq!(
            o,
            Overrides {
                trim_blocks: Some(false),
                lstrip_blocks: Some(true),
                keep_trailing_newline: None
            }
        );
        assert_eq!(body, "x\n");
        let (o, body) = prepare("#jinja2:variable_start_string:'[%'\r\nx");
        assert!(!o.any());
        assert_eq!(body, "x");
    }

    #[test]
    fn newlines_become_line_feeds_and_lost_trailing_ones_come_back() {
        assert_eq!(prepare("a\r\nb\rc\n").1, "a\nb\nc\n");
        assert_eq!(
            restore_trailing_newlines("  {% endif %}\n", "x\n  ".into()),
            "x\n  \n"
        );
        assert_eq!(
            restore_trailing_newlines("{{ a }}\n\n", "1\n\n".into()),
            "1\n\n"
        );
        assert_eq!(restore_trailing_newlines("no newline", "x".into()), "x");
    }
}
