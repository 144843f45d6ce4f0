//! `mark: { path, text }`: a one-line marker file (why this resource exists goes here).

use super::args::path;
use super::{BuildContext, Claim, Problem, Resource, Situation};
use crate::error::Result;
use crate::facts::{sha256_hex, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::registered::{Shape, Shaped};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// A marker file.
#[derive(Debug)]
pub(crate) struct Mark {
    path: String,
    text: String,
}

/// A plan attribute of its own: the marker's text, shown as `text: ...` (listed in `FIELDS`
/// so that a saved plan naming it reads back).
const TEXT: Field = Field::new("text");

/// A registered result of its own: `marked`, the text the script printed, beside `changed`.
const MARKED: Shape = Shape::new("mark", |result| {
    let text = result.stdout.trim_end().into();
    Shaped::Fields([("marked".to_owned(), text)].into())
});

/// The arguments, declared once: the parser's key and type checks, `recon doc mark` and
/// docs/resources.md all come from this list.
pub(super) const ARGS: Groups = &[&[
    Arg::path("path").required().doc("the marker file"),
    Arg::str("text").default("done").doc("its one line"),
]];

/// Validates the arguments: unknown keys and wrong types are located errors.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Mark> {
    let f = Fields::declared(args, "`mark`", ARGS)?;
    Ok(Mark {
        path: path(&f, "path")?,
        text: f.text("text")?,
    })
}

impl Resource for Mark {
    /// What `ask` returns: typed handles.
    type Asked = Handle<PathState>;
    /// What `decide` concluded, consumed by `script`.
    type Decision = ();
    const FIELDS: &'static [Field] = &[TEXT];

    fn id(&self) -> String {
        self.path.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::path(&self.path)]
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.path(&self.path, Want::Never)
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, ())>, Problem> {
        let state = facts.get(*asked);
        let wanted = sha256_hex(format!("{}\n", self.text).as_bytes());
        match state.kind {
            PathKind::File if state.sha256.as_deref() == Some(wanted.as_str()) => Ok(None),
            PathKind::File | PathKind::Absent => {
                let change = Change::new(Action::Update).field(TEXT, None, Some(self.text.clone()));
                Ok(Some((change, ())))
            }
            other => Err(Problem::new(format!(
                "`{}` is {}",
                self.path,
                other.describe()
            ))),
        }
    }

    fn script(&self, (): &(), out: &mut Script) {
        out.fill("_put {} 0644 - -", [p(&self.path)])
            .base64_heredoc(format!("{}\n", self.text).as_bytes())
            .code("[ $? -eq 0 ] || exit 1\n")
            .fill("printf '%s\\n' {}\n", [w(&self.text)]);
    }

    fn result_shape(&self) -> Shape {
        MARKED
    }
}
