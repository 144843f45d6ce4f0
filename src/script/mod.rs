//! The one script builder. Every byte recon sends to a host (probe, apply, rollback, ad-hoc run,
//! the transport's bootstrap) is assembled here from typed pieces: code recon wrote (`&'static
//! str` only, so a runtime value cannot be passed as code), quoted words, remote paths and
//! numbers. Quoting lives in `quote.rs` and is private to this module: no other module can turn a
//! value into shell text, so an injection can only be a bug in this file.

#[macro_use]
mod walk;
mod apply;
mod bound;
mod quote;
mod temp;

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::artifact::Artifact;

/// The write helpers, for the tests that run a resource's script under a real `sh`.
#[cfg(test)]
pub(crate) use apply::WRITE_FUNCTIONS;
pub(crate) use apply::{apply_script, header, under_sudo, ScriptStep, BECOME_PRELUDE};
pub(crate) use bound::{probe_limit, BOUND_FUNCTIONS};
pub(crate) use quote::is_identifier;
pub(crate) use temp::TEMP_FUNCTIONS;
pub(crate) use walk::HELPERS_FUNCTIONS;
/// The walk functions alone, for the tests that run them under a real `sh`.
#[cfg(test)]
pub(crate) use walk::{Swappable, WALK_FUNCTIONS};

/// POSIX sh text built only from typed pieces, and the artifacts (content-addressed files) it
/// refers to. Deliberately has no `From<String>`: the only ways in are the methods below (and
/// deserializing a saved plan, which recon itself wrote).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Script {
    text: String,
    /// Every artifact the text names, once each: what must reach the host before it runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    artifacts: Vec<Artifact>,
}

/// One value spliced into a `fill` template at a `{}`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    /// A value quoted as one shell word.
    Word(&'a str),
    /// A remote path: `~/x` becomes `"$HOME"/'x'`, anything else one quoted word.
    Path(&'a str),
    /// A number, written as digits.
    Num(u64),
    /// Another script, spliced as is.
    Code(&'a Script),
}

/// `Piece::Word`, short for templates.
pub(crate) fn w(value: &str) -> Piece<'_> {
    Piece::Word(value)
}

/// `Piece::Path`, short for templates.
pub(crate) fn p(path: &str) -> Piece<'_> {
    Piece::Path(path)
}

/// `Piece::Num`, short for templates.
pub(crate) fn n(number: impl Into<u64>) -> Piece<'static> {
    Piece::Num(number.into())
}

impl Script {
    /// An empty script.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Recon-written shell code. `'static` keeps runtime values out.
    pub(crate) fn code(&mut self, code: &'static str) -> &mut Self {
        self.text.push_str(code);
        self
    }

    /// One value as one shell word, whatever bytes it holds.
    pub(crate) fn word(&mut self, value: &str) -> &mut Self {
        self.text.push_str(&quote::quote(value));
        self
    }

    /// A remote path (`~/` is the account's home).
    pub(crate) fn path(&mut self, path: &str) -> &mut Self {
        self.text.push_str(&quote::quote_path(path));
        self
    }

    /// A number.
    pub(crate) fn num(&mut self, number: u64) -> &mut Self {
        let _ = write!(self.text, "{number}");
        self
    }

    /// Appends another script (and the artifacts it names).
    pub(crate) fn script(&mut self, other: &Script) -> &mut Self {
        self.text.push_str(&other.text);
        self.needs_artifacts_of(other)
    }

    /// The path of an artifact in the host account's blob store (`"$_blobs"/SHA`), recorded so
    /// the apply sends it first. Steps call `_blob SHA` to check it before use.
    pub(crate) fn artifact(&mut self, artifact: &Artifact) -> &mut Self {
        self.note(artifact);
        self.text.push_str("\"$_blobs\"/");
        self.word(&artifact.sha256)
    }

    /// The artifact's hash as one word (for `_blob SHA`).
    pub(crate) fn artifact_id(&mut self, artifact: &Artifact) -> &mut Self {
        self.note(artifact);
        self.word(&artifact.sha256)
    }

    /// Records the artifacts `other` names without its text: for a script that carries
    /// `other` encoded (the body of a `become` step).
    pub(crate) fn needs_artifacts_of(&mut self, other: &Script) -> &mut Self {
        for artifact in &other.artifacts {
            self.note(artifact);
        }
        self
    }

    fn note(&mut self, artifact: &Artifact) {
        if !self.artifacts.iter().any(|a| a.sha256 == artifact.sha256) {
            self.artifacts.push(artifact.clone());
        }
    }

    /// The artifacts this script names.
    pub(crate) fn artifacts(&self) -> &[Artifact] {
        &self.artifacts
    }

    /// Recon-written code with `{}` holes, each filled by the next piece, in order. A template
    /// with more holes than pieces keeps the extra `{}` literally (a bug caught by tests, never
    /// an injection: templates are `'static`).
    pub(crate) fn fill<'a>(
        &mut self,
        template: &'static str,
        pieces: impl IntoIterator<Item = Piece<'a>>,
    ) -> &mut Self {
        let mut pieces = pieces.into_iter();
        let mut rest = template;
        while let Some(at) = rest.find("{}") {
            self.text.push_str(&rest[..at]);
            match pieces.next() {
                Some(Piece::Word(v)) => self.word(v),
                Some(Piece::Path(v)) => self.path(v),
                Some(Piece::Num(v)) => self.num(v),
                Some(Piece::Code(s)) => self.script(s),
                None => self.code("{}"),
            };
            rest = &rest[at + 2..];
        }
        self.text.push_str(rest);
        debug_assert!(
            pieces.next().is_none(),
            "more pieces than holes in {template:?}"
        );
        self
    }

    /// Values as consecutive words, each preceded by a space.
    pub(crate) fn words<'a>(&mut self, values: impl IntoIterator<Item = &'a str>) -> &mut Self {
        for value in values {
            self.text.push(' ');
            self.word(value);
        }
        self
    }

    /// Bytes as a quoted here-document of base64 lines, ending the current command line: the
    /// terminator cannot occur in base64 (no `_`), so no content can end it early.
    pub(crate) fn base64_heredoc(&mut self, bytes: &[u8]) -> &mut Self {
        self.base64_heredoc_then(bytes, "")
    }

    /// `put` (a `_put PATH MODE OWNER GROUP …` command line) writing `bytes`: text (UTF-8
    /// without NUL) is set in `_text` first, as one quoted word, and `_put` writes it with the
    /// shell's own `printf`, without a process; other bytes follow it as base64 on its input.
    pub(crate) fn put_content(&mut self, put: &Script, bytes: &[u8]) -> &mut Self {
        match std::str::from_utf8(bytes) {
            Ok(text) if !text.contains('\0') => self
                .code("_text=")
                .word(text)
                .code("\n")
                .script(put)
                .code("\n"),
            _ => self.script(put).base64_heredoc(bytes),
        }
    }

    /// Like `base64_heredoc`, with more of the command line (a pipe) after the redirection.
    pub(crate) fn base64_heredoc_then(&mut self, bytes: &[u8], rest: &'static str) -> &mut Self {
        self.base64_heredoc_then_script(bytes, &Script::of(rest))
    }

    /// Like `base64_heredoc_then`, the rest of the command line built by this builder (it may
    /// hold quoted words).
    pub(crate) fn base64_heredoc_then_script(&mut self, bytes: &[u8], rest: &Script) -> &mut Self {
        use base64::Engine as _;
        self.text.push_str(" <<'RECON_DATA'");
        self.text.push_str(rest.as_str());
        self.text.push('\n');
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        for chunk in encoded.as_bytes().chunks(76) {
            self.text
                .push_str(std::str::from_utf8(chunk).unwrap_or_default());
            self.text.push('\n');
        }
        self.text.push_str("RECON_DATA\n");
        self
    }

    /// `_bounded SECS ` before a long command recon runs on the apply side (apt, pip, compose,
    /// git fetch): the command is stopped once the apply bound (`bound::apply_limit`) passed.
    /// The command must be a program, not a shell function (`timeout` runs programs).
    pub(crate) fn bounded(&mut self) -> &mut Self {
        self.fill("_bounded {} ", [n(bound::apply_limit())])
    }

    /// `sh -c WORD`: a user's command line, which is code by contract (`cmd:`, `unless:`,
    /// `validate:`), run by a child shell so it is never parsed as part of recon's script.
    pub(crate) fn user_command(&mut self, command: &str) -> &mut Self {
        self.code("sh -c ").word(command)
    }

    /// `export NAME=VALUE` on its own line. Names are checked when tasks are built; one that
    /// is not an identifier still cannot become code: the step fails instead.
    pub(crate) fn export(&mut self, name: &str, value: &str) -> &mut Self {
        if quote::is_identifier(name) {
            self.text.push_str("export ");
            self.text.push_str(name);
            self.text.push('=');
            self.word(value);
            self.text.push('\n');
        } else {
            self.code("echo 'invalid environment variable name' >&2; exit 1\n");
        }
        self
    }

    /// The text, to send or to store.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The bytes, to send.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// A fresh script from one piece of code, for constants.
    pub(crate) fn of(code: &'static str) -> Self {
        let mut s = Self::new();
        s.code(code);
        s
    }
}

/// For tests of the helpers: runs `script` with the real `sh`, the environment variable `name`
/// set to `dir`; returns its stdout.
#[cfg(test)]
pub(crate) fn stdout_of(script: &Script, name: &str, dir: &std::path::Path) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", script.as_str()])
        .env(name, dir)
        .output()
        .expect("sh runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_quotes_every_piece_by_its_type() {
        let mut inner = Script::new();
        inner.code("true");
        let mut s = Script::new();
        s.fill(
            "x {} {} {} {}\n",
            [w("a'b"), p("~/d e"), n(7u32), Piece::Code(&inner)],
        );
        assert_eq!(s.as_str(), "x 'a'\\''b' \"$HOME\"/'d e' 7 true\n");
    }

    #[test]
    fn heredoc_terminator_cannot_be_forged() {
        let mut s = Script::new();
        s.code("base64 -d")
            .base64_heredoc(b"RECON_DATA\nRECON_DATA");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(s.as_str())
            .output()
            .expect("sh runs");
        assert_eq!(out.stdout, b"RECON_DATA\nRECON_DATA");
    }
}
