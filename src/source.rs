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

    /// 1-based line and column.
    #[cfg(test)]
    pub(crate) fn line_col(&self) -> (usize, usize) {
        let before = &self.file.text[..self.start.min(self.file.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}
