//! The one error type of recon: a kind (what went wrong), an optional location (where), a help
//! line and related errors (the other side of a duplicate, every member of a cycle). Exit codes are
//! decided here and nowhere else.

use std::fmt;
use std::path::PathBuf;

use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use crate::source::{display_path, Span};

/// Everything that can stop recon before or while it talks to hosts.
#[derive(Debug)]
pub(crate) enum ErrorKind {
    /// Several independent problems, each in `related` (`recon check` reports them all).
    Several {
        count: usize,
    },
    Io {
        path: PathBuf,
        message: String,
    },
    YamlSyntax {
        message: String,
    },
    UnknownKey {
        key: String,
        context: String,
    },
    MissingKey {
        key: String,
        context: String,
    },
    WrongType {
        expected: String,
        context: String,
    },
    InvalidValue {
        message: String,
    },
    /// An Ansible module argument recon's own resource cannot honour: the module then runs
    /// through the bridge (Ansible's own code) when the control machine has Ansible.
    Unsupported {
        message: String,
    },
    UnknownResource {
        name: String,
    },
    NoResource {
        /// The kinds a task may use, from the resource registry.
        kinds: String,
    },
    SeveralResources {
        names: Vec<String>,
    },
    UnknownRole {
        name: String,
    },
    UndefinedVariable {
        message: String,
    },
    Template {
        message: String,
    },
    Cycle {
        names: Vec<String>,
    },
    UnknownHandler {
        name: String,
    },
    UnknownTask {
        name: String,
    },
    Duplicate {
        what: String,
        value: String,
        host: String,
    },
    NoHostsMatched {
        pattern: String,
    },
    NodeConflict {
        kind: String,
        value: String,
        node: String,
        first: String,
        second: String,
    },
    SavedPlan {
        message: String,
    },
    /// A failure on a host after compile (a failed step, check or handler; a problem the
    /// host's state poses), located at its task.
    Runtime {
        message: String,
    },
    Usage {
        message: String,
    },
}

/// A span plus the named source miette needs to print the file name beside the snippet.
#[derive(Debug)]
pub(crate) struct Located {
    pub(crate) span: Span,
    src: NamedSource<Arc<str>>,
}

/// A located, explained error. Implements `miette::Diagnostic` by hand so that one struct serves
/// every stage (just's `CompileError { token, kind }`). Boxed: errors are rare, `Result`s are not.
#[derive(Debug)]
pub(crate) struct Error(Box<Inner>);

/// The parts of an `Error`.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) kind: ErrorKind,
    pub(crate) at: Option<Located>,
    pub(crate) label: Option<String>,
    pub(crate) help: Option<String>,
    pub(crate) related: Vec<Error>,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self(Box::new(Inner {
            kind,
            at: None,
            label: None,
            help: None,
            related: Vec::new(),
        }))
    }

    pub(crate) fn at(kind: ErrorKind, span: &Span) -> Self {
        Self::new(kind).with_span(span)
    }

    pub(crate) fn with_span(mut self, span: &Span) -> Self {
        self.at = Some(Located {
            src: span.file.named_source(),
            span: span.clone(),
        });
        self
    }

    /// Whether the error points at source text with no template in it (a key, a literal
    /// value): no variable's value, and so no `recon check` stand-in, can have caused it.
    pub(crate) fn at_literal(&self) -> bool {
        if matches!(
            self.kind,
            ErrorKind::UndefinedVariable { .. }
                | ErrorKind::Template { .. }
                | ErrorKind::Several { .. }
        ) {
            return false;
        }
        self.at.as_ref().is_some_and(|l| {
            let text = l
                .span
                .file
                .text
                .get(l.span.start..l.span.end)
                .unwrap_or("{{");
            !text.is_empty() && !text.contains("{{") && !text.contains("{%")
        })
    }

    /// Whether the error is an Ansible argument recon's resource cannot honour (`Unsupported`).
    pub(crate) fn unsupported(&self) -> bool {
        matches!(self.kind, ErrorKind::Unsupported { .. })
    }

    /// Where the error points, if anywhere.
    #[cfg(test)]
    pub(crate) fn span(&self) -> Option<&Span> {
        self.at.as_ref().map(|l| &l.span)
    }

    pub(crate) fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// All of `errors` as one: the error itself when there is one, else "N errors" with each
    /// shown in full. The same problem found on several hosts is reported once.
    pub(crate) fn many(errors: Vec<Error>) -> Option<Self> {
        let mut unique: Vec<Error> = Vec::new();
        for mut err in errors {
            let flat = match err.kind {
                ErrorKind::Several { .. } => std::mem::take(&mut err.0.related),
                _ => vec![err],
            };
            for e in flat {
                let key = |x: &Error| {
                    (
                        x.to_string(),
                        x.at.as_ref().map(|l| (l.span.file.name(), l.span.start)),
                    )
                };
                if !unique.iter().any(|u| key(u) == key(&e)) {
                    unique.push(e);
                }
            }
        }
        match unique.len() {
            0 => None,
            1 => unique.pop(),
            count => {
                let mut out = Error::new(ErrorKind::Several { count });
                out.related = unique;
                Some(out)
            }
        }
    }

    pub(crate) fn with_related(mut self, related: Error) -> Self {
        self.related.push(related);
        self
    }

    pub(crate) fn io(path: &std::path::Path, err: &std::io::Error) -> Self {
        Self::new(ErrorKind::Io {
            path: path.to_path_buf(),
            message: err.to_string(),
        })
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage {
            message: message.into(),
        })
    }

    /// An invalid value found where only the caller knows the place: it adds it with
    /// `with_span`.
    pub(crate) fn bad_value(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidValue {
            message: message.into(),
        })
    }

    pub(crate) fn invalid(message: impl Into<String>, span: &Span) -> Self {
        Self::at(
            ErrorKind::InvalidValue {
                message: message.into(),
            },
            span,
        )
    }

    /// Adds "did you mean `x`?" when one of `candidates` is close to `word`.
    pub(crate) fn suggest<'a>(
        self,
        word: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        match suggestion(word, candidates) {
            Some(s) => self.with_help(format!("did you mean `{s}`?")),
            None => self,
        }
    }
}

/// The closest candidate by edit distance (transpositions count once), if close enough to be a
/// typo: at most one edit per three characters.
pub(crate) fn suggestion<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, c)| *distance <= limit && *c != word)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind as K;
        match &self.kind {
            K::Io { path, message } => write!(f, "cannot read `{}`: {message}", display_path(path)),
            K::YamlSyntax { message } => write!(f, "invalid YAML: {message}"),
            K::UnknownKey { key, context } => write!(f, "unknown key `{key}` in {context}"),
            K::MissingKey { key, context } => {
                write!(f, "missing required key `{key}` in {context}")
            }
            K::WrongType { expected, context } => write!(f, "{context} must be {expected}"),
            K::InvalidValue { message }
            | K::Unsupported { message }
            | K::UndefinedVariable { message }
            | K::Template { message }
            | K::SavedPlan { message }
            | K::Runtime { message }
            | K::Usage { message } => f.write_str(message),
            K::UnknownResource { name } => write!(f, "unknown resource type `{name}`"),
            K::Several { count } => write!(f, "{count} errors"),
            K::NoResource { kinds } => write!(f, "task has no resource (one of {kinds})"),
            K::SeveralResources { names } => {
                write!(
                    f,
                    "task has several resources ({}); a task manages exactly one",
                    ticked(names)
                )
            }
            K::UnknownRole { name } => write!(f, "role `{name}` not found"),
            K::Cycle { names } => write!(f, "dependency cycle between tasks: {}", cycle(names)),
            K::UnknownHandler { name } => write!(f, "notify names unknown handler `{name}`"),
            K::UnknownTask { name } => write!(f, "`after` names unknown task `{name}`"),
            K::Duplicate { what, value, host } => {
                write!(f, "two tasks manage {what} `{value}` on host `{host}`")
            }
            K::NoHostsMatched { pattern } => write!(f, "no hosts match `{pattern}`"),
            K::NodeConflict {
                kind,
                value,
                node,
                first,
                second,
            } => write!(
                f,
                "hosts `{first}` and `{second}` both claim {kind} `{value}` on node {node}"
            ),
        }
    }
}

fn ticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cycle(names: &[String]) -> String {
    let mut parts: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    if let Some(first) = parts.first().cloned() {
        parts.push(first);
    }
    parts.join(" -> ")
}

impl std::ops::Deref for Error {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut Inner {
        &mut self.0
    }
}

impl std::error::Error for Error {}

impl Diagnostic for Error {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        None
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.at.as_ref().map(|l| &l.src as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = &self.at.as_ref()?.span;
        let label = self.label.clone().unwrap_or_else(|| "here".to_owned());
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label),
            span.source_span(),
        ))))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|e| e as &dyn Diagnostic)))
        }
    }
}
