//! What the kinds that edit a text file in place (`line`, `block`, `replace`) share: the file's
//! current text as the probe read it, the rewrite they decide on (its change in the plan, its
//! atomic write) and the file it leaves for the next edit of the same file in this plan.

use super::file::text_diff;
use crate::facts::{sha256_hex, FactSet, Facts, PathKind, PathState};
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};

use super::args::fmt_mode;
use super::Problem;

/// The text of the regular file at `path` as `state` holds it.
pub(super) fn current_text<'a>(path: &str, state: &'a PathState) -> Result<&'a str, Problem> {
    let Some(bytes) = &state.content else {
        return Err(Problem(format!(
            "`{path}`'s content is not known before the apply (too large at {} bytes, or written earlier in this plan without its bytes)",
            state.size
        )));
    };
    std::str::from_utf8(bytes).map_err(|_| Problem(format!("`{path}` is not UTF-8 text")))
}

/// The state a file is left in once `content` is written with `mode` over `before`.
pub(super) fn written(before: &PathState, content: &str, mode: u32) -> PathState {
    let new = content.as_bytes();
    PathState {
        kind: PathKind::File,
        mode,
        size: new.len() as u64,
        sha256: Some(sha256_hex(new)),
        content: Some(new.to_vec()),
        ..before.clone()
    }
}

/// A file's new text and the mode it is written with (`line`, `replace`).
#[derive(Debug)]
pub(crate) struct Rewrite {
    content: String,
    mode: u32,
    /// The file as it was, for the prediction of the next edit of the same file.
    before: PathState,
    /// `validate`: checks the candidate file before it replaces the live one.
    validate: Option<String>,
}

impl Rewrite {
    /// `content` replacing the file `before` describes, written with `mode`.
    pub(super) fn new(before: &PathState, content: String, mode: u32) -> Self {
        Self {
            content,
            mode,
            before: before.clone(),
            validate: None,
        }
    }

    /// This rewrite with a `validate` command run on the candidate file before the rename.
    pub(super) fn validated(self, validate: Option<String>) -> Self {
        Self { validate, ..self }
    }

    /// The plan's change: the file created or updated, its sizes and the diff.
    pub(super) fn change(&self) -> Change {
        let exists = self.before.kind == PathKind::File;
        let mut change = Change::new(if exists {
            Action::Update
        } else {
            Action::Create
        })
        .field(
            Field::CONTENT,
            exists.then(|| format!("{} bytes", self.before.size)),
            Some(format!("{} bytes", self.content.len())),
        );
        let old = self.before.content.clone().unwrap_or_default();
        change.diff = text_diff(&old, self.content.as_bytes());
        change
    }

    /// The atomic write of the new text.
    pub(super) fn script(&self, path: &str, out: &mut Script) {
        let mut put = Script::new();
        put.fill("_put {} {} - -", [p(path), w(&fmt_mode(self.mode))]);
        if let Some(validate) = &self.validate {
            put.fill(" {}", [w(&validate.replace("%s", "\"$1\""))]);
        }
        out.put_content(&put, self.content.as_bytes())
            .code("[ $? -eq 0 ] || exit 1\n");
    }

    /// The file as this rewrite leaves it, for later resources of the plan.
    pub(super) fn predict(&self, path: &str, set: &FactSet, facts: &mut Facts) {
        facts.predict_path(set, path, &written(&self.before, &self.content, self.mode));
    }
}
