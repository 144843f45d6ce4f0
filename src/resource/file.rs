//! `file: { path, content | src, mode, owner, group, validate }` and
//! `template: { src, dest, mode, owner, group, validate }`: a file with exactly these bytes.
//! Both compile to the same resource; a template's bytes are rendered on the control machine.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::{heredoc_base64, path, Attrs};
use super::{BuildContext, Kind};
use crate::error::{Error, Result};
use crate::facts::{sha256_hex, Fact, FactValue, PathKind, PathState, Want};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::shell::{quote, quote_path};
use crate::source::SourceFile;
use crate::yaml::Node;

/// A managed regular file.
#[derive(Debug, Clone)]
pub(crate) struct File {
    /// `file` or `template`, as the user wrote it.
    pub(crate) label: &'static str,
    pub(crate) path: String,
    pub(crate) content: Arc<Vec<u8>>,
    pub(crate) sha256: String,
    pub(crate) attrs: Attrs,
    /// A check command run on the candidate (`%s`) before it replaces the live file.
    pub(crate) validate: Option<String>,
    /// A check run with the new file in place (`nginx -t` on the whole config); on failure the
    /// previous file is put back.
    pub(crate) check: Option<String>,
    /// A node-wide lock file held while the file is replaced and checked, so targets sharing a
    /// service never see each other's candidates.
    pub(crate) serialize: Option<String>,
}

const FILE_KEYS: &[&str] = &[
    "path",
    "content",
    "src",
    "mode",
    "owner",
    "group",
    "validate",
    "check",
    "serialize",
];
const TEMPLATE_KEYS: &[&str] = &[
    "src",
    "dest",
    "mode",
    "owner",
    "group",
    "validate",
    "check",
    "serialize",
];

impl File {
    pub(crate) fn build_file(args: &Node, cx: &BuildContext<'_>) -> Result<Self> {
        let f = Fields::new(args, "`file`", FILE_KEYS)?;
        let content = match (f.get("content"), f.get("src")) {
            (Some(_), Some(src)) => {
                return Err(
                    Error::invalid("`file` takes `content` or `src`, not both", &src.span)
                        .with_label("second source"),
                )
            }
            (Some(_), None) => f.string("content")?.unwrap_or_default().into_bytes(),
            (None, Some(src_node)) => {
                let src = f.required_string("src")?;
                let found = find(&src, &cx.file_dirs)
                    .ok_or_else(|| not_found(&src, src_node, &cx.file_dirs))?;
                std::fs::read(&found)
                    .map_err(|e| Error::io(&found, &e).with_span(&src_node.span))?
            }
            (None, None) => return Err(f.missing("content` or `src")),
        };
        Self::new("file", path(&f, "path")?, content, &f)
    }

    pub(crate) fn build_template(args: &Node, cx: &BuildContext<'_>) -> Result<Self> {
        let f = Fields::new(args, "`template`", TEMPLATE_KEYS)?;
        let src_node = f.require("src")?;
        let src = f.required_string("src")?;
        let found = find(&src, &cx.template_dirs)
            .ok_or_else(|| not_found(&src, src_node, &cx.template_dirs))?;
        let text = std::fs::read_to_string(&found)
            .map_err(|e| Error::io(&found, &e).with_span(&src_node.span))?;
        let rendered = cx
            .templar
            .render_file(&SourceFile::new(found, text), cx.vars)?;
        Self::new("template", path(&f, "dest")?, rendered.into_bytes(), &f)
    }

    fn new(label: &'static str, path: String, content: Vec<u8>, f: &Fields<'_>) -> Result<Self> {
        let validate = f.string("validate")?;
        if let (Some(cmd), Some(node)) = (&validate, f.get("validate")) {
            if !cmd.contains("%s") {
                return Err(Error::invalid(
                    "`validate` must contain `%s` (the candidate file)",
                    &node.span,
                )
                .with_label("no %s here"));
            }
        }
        Ok(Self {
            label,
            path,
            sha256: sha256_hex(&content),
            content: Arc::new(content),
            attrs: Attrs::read(f)?,
            validate,
            check: f.string("check")?,
            serialize: f.string("serialize")?,
        })
    }
}

fn find(src: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    if Path::new(src).is_absolute() {
        return Some(PathBuf::from(src)).filter(|p| p.is_file());
    }
    dirs.iter().map(|d| d.join(src)).find(|p| p.is_file())
}

fn not_found(src: &str, node: &Node, dirs: &[PathBuf]) -> Error {
    let looked: Vec<String> = dirs
        .iter()
        .map(|d| crate::source::display_path(d))
        .collect();
    Error::invalid(format!("source file `{src}` not found"), &node.span)
        .with_label("not found")
        .with_help(format!("looked in: {}", looked.join(", ")))
}

/// A unified diff of two texts, or `None` when either side is binary.
pub(crate) fn text_diff(before: &[u8], after: &[u8]) -> Option<String> {
    let (Ok(a), Ok(b)) = (std::str::from_utf8(before), std::str::from_utf8(after)) else {
        return None;
    };
    if a.contains('\0') || b.contains('\0') {
        return None;
    }
    let diff = similar::TextDiff::from_lines(a, b);
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(out)
}

fn size(bytes: u64) -> String {
    format!("{bytes} bytes")
}

impl Kind for File {
    fn id(&self) -> String {
        self.path.clone()
    }

    fn kind_name(&self) -> &'static str {
        self.label
    }

    fn claims(&self) -> Vec<String> {
        vec![self.path.clone()]
    }

    fn facts(&self) -> Vec<Fact> {
        vec![Fact::Path {
            path: self.path.clone(),
            content: Want::UnlessSha(self.sha256.clone()),
        }]
    }

    fn diff(&self, facts: &[&FactValue]) -> Result<Option<Change>, String> {
        let [FactValue::Path(state)] = facts else {
            return Err("missing facts".into());
        };
        let new_size = self.content.len() as u64;
        match state.kind {
            PathKind::Absent => {
                let mut change =
                    Change::new(Action::Create).field(Field::Content, None, Some(size(new_size)));
                change = self.attrs.create(0o644, change);
                change.diff = text_diff(b"", &self.content);
                Ok(Some(change))
            }
            PathKind::File => {
                let mut change = Change::new(Action::Update);
                if state.sha256.as_deref() != Some(self.sha256.as_str()) {
                    change =
                        change.field(Field::Content, Some(size(state.size)), Some(size(new_size)));
                    change.diff = state
                        .content
                        .as_deref()
                        .and_then(|old| text_diff(old, &self.content));
                }
                change = self.attrs.diff(state, change);
                Ok((!change.fields.is_empty()).then_some(change))
            }
            other => Err(format!(
                "`{}` exists and is {}, not a regular file",
                self.path,
                other.describe()
            )),
        }
    }

    fn script(&self, facts: &[&FactValue], _change: &Change) -> String {
        let state = match facts {
            [FactValue::Path(s)] => s.clone(),
            _ => PathState::default(),
        };
        let content_differs =
            state.kind != PathKind::File || state.sha256.as_deref() != Some(self.sha256.as_str());
        if !content_differs {
            return self.attrs.apply_script(&self.path);
        }
        // A replaced file keeps its current mode unless one is given; a new one gets 0644.
        let existing = (state.kind == PathKind::File).then_some(state.mode);
        let args = self.attrs.shell_args(existing.or(Some(0o644)));
        let validate = self
            .validate
            .as_ref()
            .map(|v| format!(" {}", quote(&v.replace("%s", "\"$1\""))))
            .unwrap_or_default();
        let path = quote_path(&self.path);
        let put = format!("_put {path} {args}{validate} <<'RECON_DATA' || {{ rm -f -- \"$_b\"; exit 1; }}\n{}RECON_DATA\n", heredoc_base64(&self.content));
        let mut s = String::new();
        if let Some(lock) = &self.serialize {
            let _ = writeln!(
                s,
                "_serialize {} || {{ echo 'cannot take the lock {lock}'; exit 1; }}",
                quote_path(lock)
            );
        }
        let Some(check) = &self.check else {
            s.push_str(&put.replace(" || { rm -f -- \"$_b\"; exit 1; }", ""));
            return s;
        };
        let _ = write!(
            s,
            "_b=\nif [ -f {path} ]; then _b=\"$(_tmpname {path}).prev\"; cp -p -- {path} \"$_b\" || exit 1; fi\n{put}\
             if ! sh -c {} </dev/null; then\n  if [ -n \"$_b\" ]; then mv -fT -- \"$_b\" {path}; else rm -f -- {path}; fi\n  \
             echo 'check failed; the previous file was restored'\n  exit 1\nfi\nrm -f -- \"$_b\"\n",
            quote(check)
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(content: &str, mode: Option<u32>) -> File {
        File {
            label: "file",
            path: "/etc/app.conf".into(),
            sha256: sha256_hex(content.as_bytes()),
            content: Arc::new(content.as_bytes().to_vec()),
            attrs: Attrs {
                mode,
                ..Attrs::default()
            },
            validate: None,
            check: None,
            serialize: None,
        }
    }

    fn on_host(content: &str, mode: u32, send_content: bool) -> FactValue {
        FactValue::Path(PathState {
            kind: PathKind::File,
            mode,
            size: content.len() as u64,
            sha256: Some(sha256_hex(content.as_bytes())),
            content: send_content.then(|| content.as_bytes().to_vec()),
            ..PathState::default()
        })
    }

    #[test]
    fn converged_file_has_no_change() {
        assert_eq!(
            file("a\n", Some(0o644)).diff(&[&on_host("a\n", 0o644, false)]),
            Ok(None)
        );
    }

    #[test]
    fn content_change_carries_a_unified_diff() {
        let change = file("a\nB\nc\n", None)
            .diff(&[&on_host("a\nb\nc\n", 0o600, true)])
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Update);
        assert_eq!(change.fields.len(), 1, "mode is not managed");
        assert_eq!(
            change.diff.as_deref(),
            Some("@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n")
        );
    }

    #[test]
    fn mode_only_change() {
        let change = file("a\n", Some(0o640))
            .diff(&[&on_host("a\n", 0o644, false)])
            .expect("ok")
            .expect("change");
        assert_eq!(change.fields[0].field, Field::Mode);
        assert_eq!(change.diff, None);
    }

    #[test]
    fn absent_file_is_created_and_directory_is_refused() {
        let absent = FactValue::Path(PathState::default());
        assert_eq!(
            file("x", None)
                .diff(&[&absent])
                .expect("ok")
                .expect("change")
                .action,
            Action::Create
        );
        let dir = FactValue::Path(PathState {
            kind: PathKind::Dir,
            ..PathState::default()
        });
        assert!(file("x", None).diff(&[&dir]).is_err());
    }

    #[test]
    fn binary_content_has_no_text_diff() {
        assert_eq!(text_diff(b"\0\x01", b"\0\x02"), None);
    }
}
