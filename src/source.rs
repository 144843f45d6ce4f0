//! Source files and byte spans, so every user-facing error can point at `file:line:col`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// A loaded text file. Shared (`Arc`) because every node parsed from it keeps a handle for errors.
#[derive(Debug)]
pub(crate) struct SourceFile {
    pub(crate) path: PathBuf,
    pub(crate) text: Arc<str>,
}

impl SourceFile {
    pub(crate) fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Arc<Self> {
        Arc::new(Self {
            path: path.into(),
            text: text.into(),
        })
    }

    /// The name shown in diagnostics: the path as the user gave it.
    pub(crate) fn name(&self) -> String {
        display_path(&self.path)
    }

    pub(crate) fn named_source(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(self.name(), Arc::clone(&self.text))
    }
}

/// Paths are shown relative to the working directory when they are below it.
pub(crate) fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = path.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// A byte range inside one `SourceFile`.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub(crate) file: Arc<SourceFile>,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    pub(crate) fn source_span(&self) -> SourceSpan {
        (self.start, self.end.saturating_sub(self.start)).into()
    }

    /// A sub-range, given as byte offsets relative to this span's start (used to point inside a
    /// scalar at the exact Jinja expression that failed). Falls back to the whole span when the
    /// range does not fit, e.g. for quoted scalars whose escapes shift offsets.
    pub(crate) fn narrow(&self, start: usize, end: usize) -> Span {
        let (s, e) = (self.start + start, self.start + end);
        if e <= self.end
            && s <= e
            && self.file.text.is_char_boundary(s)
            && self.file.text.is_char_boundary(e)
        {
            Span {
                file: Arc::clone(&self.file),
                start: s,
                end: e,
            }
        } else {
            self.clone()
        }
    }

    /// Where this span starts, as plain data that outlives the loaded files (saved plans,
    /// reports, `--json`).
    pub(crate) fn location(&self) -> Location {
        let (line, column) = self.line_col();
        Location {
            file: display_path(&self.file.path),
            line,
            column,
            length: self.end.saturating_sub(self.start),
        }
    }

    /// 1-based line and column.
    pub(crate) fn line_col(&self) -> (usize, usize) {
        let before = &self.file.text[..self.start.min(self.file.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// A place in a playbook, role or inventory file: `file:line:column` (1-based) and the length
/// of what is pointed at. Runtime failures carry it so they point at their task the way compile
/// errors do, even when a saved plan is applied later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Location {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    #[serde(default)]
    pub(crate) length: usize,
}

impl Location {
    /// The span again, when the file can still be read (it may have changed since: then the
    /// snippet shows what is there now, which is still the best pointer).
    pub(crate) fn span(&self) -> Option<Span> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        let mut offset = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if i + 1 == self.line {
                let column: usize = line
                    .char_indices()
                    .nth(self.column.saturating_sub(1))
                    .map_or(line.len(), |(b, _)| b);
                let start = offset + column;
                let end = (start + self.length)
                    .min(offset + line.trim_end().len())
                    .max(start);
                return Some(Span {
                    file: SourceFile::new(PathBuf::from(&self.file), text.clone()),
                    start,
                    end,
                });
            }
            offset += line.len();
        }
        None
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}
