//! Facts: what resources need to know about a host, declared up front and answered for the whole
//! host by ONE POSIX-sh probe script in one round trip. Resources never talk to hosts themselves;
//! their `diff` is a pure function of the answers.

use std::fmt::Write as _;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::shell::{quote, quote_path};

/// Files up to this size come back whole when their content is wanted, so plans can show diffs.
pub(crate) const CONTENT_LIMIT: u64 = 1024 * 1024;

/// One question about a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Fact {
    /// stat, readlink and sha256 of a path, plus its content as asked.
    Path { path: String, content: Want },
    /// The exit status of a read-only check command (`unless:`), a shell snippet.
    Guard { script: String },
    /// Exit status and standard output of a read-only command (`supervisorctl status x`).
    Output { script: String },
    /// The release folders under `root`, recon's markers for them, and where `root/link` points.
    Releases { root: String, link: String },
}

/// When a probe should send a file's bytes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Want {
    Never,
    Always,
    /// Only when the file's sha256 differs from this one (to show a content diff).
    UnlessSha(String),
}

/// What the host answered for one `Fact`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum FactValue {
    Path(PathState),
    Guard(i32),
    Output { status: i32, stdout: String },
    Releases(ReleaseState),
}

/// What is deployed under a release root.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct ReleaseState {
    /// The `current` link's target, if the link exists.
    pub(crate) link: Option<String>,
    /// Sub-directories (not links), by name.
    pub(crate) dirs: Vec<String>,
    /// `.recon-releases/<version>` marker files: version → content.
    pub(crate) markers: std::collections::BTreeMap<String, String>,
}

/// The observable state of one path.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct PathState {
    pub(crate) kind: PathKind,
    pub(crate) mode: u32,
    pub(crate) owner: String,
    pub(crate) group: String,
    pub(crate) size: u64,
    pub(crate) sha256: Option<String>,
    pub(crate) target: Option<String>,
    #[serde(with = "base64_bytes")]
    pub(crate) content: Option<Vec<u8>>,
}

/// What kind of thing is at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PathKind {
    #[default]
    Absent,
    File,
    Dir,
    Link,
    Other,
    /// Exists but could not be read (permissions).
    Unreadable,
}

impl PathKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            PathKind::Absent => "absent",
            PathKind::File => "a file",
            PathKind::Dir => "a directory",
            PathKind::Link => "a symlink",
            PathKind::Other => "a special file",
            PathKind::Unreadable => "unreadable",
        }
    }
}

/// Every fact one host needs, deduplicated; index = position.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct FactSet {
    pub(crate) facts: Vec<Fact>,
}

/// The shell functions the probe uses; also embedded in apply scripts for the stale check.
pub(crate) const PROBE_FUNCTIONS: &str = r#"_p() {
  if [ -L "$2" ]; then
    printf 'P %s link ' "$1"; readlink -- "$2" | base64 -w0; echo
  elif [ -d "$2" ]; then
    stat -c "P $1 dir %a %U %G 0" -- "$2" 2>/dev/null || printf 'P %s unreadable\n' "$1"
  elif [ -f "$2" ]; then
    _s=$(sha256sum < "$2" 2>/dev/null) || { printf 'P %s unreadable\n' "$1"; return; }
    _s=${_s%% *}
    stat -c "P $1 file %a %U %G %s $_s" -- "$2"
    case $3 in always) ;; -|"$_s") return ;; esac
    [ "$(stat -c %s -- "$2")" -le __LIMIT__ ] || return 0
    printf 'C %s ' "$1"; base64 -w0 < "$2"; echo
  elif [ -e "$2" ]; then
    printf 'P %s other\n' "$1"
  else
    printf 'P %s absent\n' "$1"
  fi
}
_rel() {
  printf 'R %s\n' "$1"
  if [ -L "$2/$3" ]; then printf 'RL %s ' "$1"; readlink -- "$2/$3" | base64 -w0; echo; fi
  for _e in "$2"/*; do
    if [ -d "$_e" ] && ! [ -L "$_e" ]; then printf 'RD %s ' "$1"; basename -- "$_e" | base64 -w0; echo; fi
  done
  for _e in "$2"/.recon-releases/*; do
    if [ -f "$_e" ]; then
      printf 'RM %s %s ' "$1" "$(basename -- "$_e" | base64 -w0)"; base64 -w0 < "$_e"; echo
    fi
  done
}
"#;

impl FactSet {
    /// Adds `fact` (or finds the identical one) and returns its index.
    pub(crate) fn add(&mut self, fact: Fact) -> usize {
        if let Some(i) = self.facts.iter().position(|f| *f == fact) {
            return i;
        }
        self.facts.push(fact);
        self.facts.len() - 1
    }

    /// The body of the probe: one line per fact. Call `_probe` after `PROBE_FUNCTIONS`.
    pub(crate) fn probe_function(&self) -> String {
        let mut s = String::from("_probe() {\n  printf '@@probe\\n'\n");
        for (i, fact) in self.facts.iter().enumerate() {
            match fact {
                Fact::Path { path, content } => {
                    let want = match content {
                        Want::Never => "-".to_owned(),
                        Want::Always => "always".to_owned(),
                        Want::UnlessSha(sha) => sha.clone(),
                    };
                    let _ = writeln!(s, "  _p {i} {} {want}", quote_path(path));
                }
                Fact::Guard { script } => {
                    let _ = writeln!(
                        s,
                        "  ( {script}\n  ) </dev/null >/dev/null 2>&1; printf 'G {i} %s\\n' $?"
                    );
                }
                Fact::Output { script } => {
                    let _ = writeln!(
                        s,
                        "  _out=$( ( {script}\n  ) </dev/null 2>&1); printf 'O {i} %s ' $?; printf %s \"$_out\" | base64 -w0; echo"
                    );
                }
                Fact::Releases { root, link } => {
                    let _ = writeln!(s, "  _rel {i} {} {}", quote_path(root), quote(link));
                }
            }
        }
        s.push_str("  printf '@@end\\n'\n}\n");
        s
    }

    /// The complete read-only probe script.
    pub(crate) fn probe_script(&self) -> String {
        format!(
            "{}{}{}_probe\n",
            script_prelude(),
            probe_functions(),
            self.probe_function()
        )
    }

    /// Parses a probe reply into one value per fact.
    pub(crate) fn parse(&self, reply: &str) -> Result<Vec<FactValue>, String> {
        let mut values: Vec<Option<FactValue>> = vec![None; self.facts.len()];
        let mut lines = reply.lines().skip_while(|l| *l != "@@probe");
        if lines.next().is_none() {
            return Err("the probe printed no answer".to_owned());
        }
        let mut ended = false;
        for line in lines {
            if line == "@@end" {
                ended = true;
                break;
            }
            parse_line(line, &mut values)
                .map_err(|e| format!("unexpected probe line `{line}`: {e}"))?;
        }
        if !ended {
            return Err("the probe reply was cut short".to_owned());
        }
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| format!("the probe did not answer fact {i}")))
            .collect()
    }
}

/// Settings every recon script starts with: predictable output, no surprises from the login shell.
pub(crate) fn script_prelude() -> &'static str {
    "export LC_ALL=C\numask 022\n"
}

pub(crate) fn probe_functions() -> String {
    PROBE_FUNCTIONS.replace("__LIMIT__", &CONTENT_LIMIT.to_string())
}

fn parse_line(line: &str, values: &mut [Option<FactValue>]) -> Result<(), &'static str> {
    let mut words = line.split(' ');
    let tag = words.next().ok_or("empty")?;
    let index: usize = words
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or("bad index")?;
    let slot = values.get_mut(index).ok_or("index out of range")?;
    match tag {
        "O" => {
            let status = words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or("bad status")?;
            let stdout = String::from_utf8_lossy(&decode(words.next().unwrap_or(""))?).into_owned();
            *slot = Some(FactValue::Output { status, stdout });
        }
        "R" => *slot = Some(FactValue::Releases(ReleaseState::default())),
        "RL" | "RD" | "RM" => {
            let Some(FactValue::Releases(state)) = slot else {
                return Err("release line before `R`");
            };
            let text = |w: Option<&str>| {
                decode(w.unwrap_or("")).map(|b| {
                    String::from_utf8_lossy(&b)
                        .trim_end_matches('\n')
                        .to_owned()
                })
            };
            match tag {
                "RL" => state.link = Some(text(words.next())?),
                "RD" => state.dirs.push(text(words.next())?),
                _ => {
                    let name = text(words.next())?;
                    let content = text(words.next())?;
                    state.markers.insert(name, content);
                }
            }
        }
        "G" => {
            let status = words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or("bad status")?;
            *slot = Some(FactValue::Guard(status));
        }
        "C" => {
            let data = decode(words.next().unwrap_or(""))?;
            match slot {
                Some(FactValue::Path(state)) => state.content = Some(data),
                _ => return Err("content before stat"),
            }
        }
        "P" => {
            let kind = words.next().ok_or("no kind")?;
            let mut state = PathState::default();
            match kind {
                "absent" => state.kind = PathKind::Absent,
                "other" => state.kind = PathKind::Other,
                "unreadable" => state.kind = PathKind::Unreadable,
                "link" => {
                    state.kind = PathKind::Link;
                    let raw = decode(words.next().unwrap_or(""))?;
                    let mut target = String::from_utf8_lossy(&raw).into_owned();
                    if target.ends_with('\n') {
                        target.pop();
                    }
                    state.target = Some(target);
                }
                "dir" | "file" => {
                    state.kind = if kind == "dir" {
                        PathKind::Dir
                    } else {
                        PathKind::File
                    };
                    state.mode = words
                        .next()
                        .and_then(|m| u32::from_str_radix(m, 8).ok())
                        .ok_or("bad mode")?;
                    words.next().ok_or("no owner")?.clone_into(&mut state.owner);
                    words.next().ok_or("no group")?.clone_into(&mut state.group);
                    state.size = words
                        .next()
                        .and_then(|s| s.parse().ok())
                        .ok_or("bad size")?;
                    state.sha256 = words.next().map(str::to_owned);
                }
                _ => return Err("unknown kind"),
            }
            *slot = Some(FactValue::Path(state));
        }
        _ => return Err("unknown tag"),
    }
    Ok(())
}

fn decode(text: &str) -> Result<Vec<u8>, &'static str> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| "bad base64")
}

/// File bytes travel as base64 in saved plans, not as arrays of numbers.
mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)] // serde's `with` hands us `&Option<_>`
    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

/// Lowercase hex sha256, the same text `sha256sum` prints.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Quotes a guard command for the probe: run `cmd` with `sh -c` in `chdir`.
pub(crate) fn guard_script(cmd: &str, chdir: Option<&str>, env: &[(String, String)]) -> String {
    let mut s = String::new();
    if let Some(dir) = chdir {
        let _ = write!(s, "cd {} && ", quote_path(dir));
    }
    for (k, v) in env {
        let _ = write!(s, "{k}={} ", quote(v));
    }
    let _ = write!(s, "sh -c {}", quote(cmd));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_probe(set: &FactSet) -> Vec<FactValue> {
        let out = std::process::Command::new("sh")
            .args(["-c", &set.probe_script()])
            .output()
            .expect("sh runs");
        set.parse(&String::from_utf8_lossy(&out.stdout))
            .expect("parses")
    }

    #[test]
    fn probe_reads_files_dirs_links_and_guards_in_one_script() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a file");
        std::fs::write(&file, "hello\n").expect("write");
        std::os::unix::fs::symlink("some target", dir.path().join("link")).expect("link");
        let mut set = FactSet::default();
        let p = |p: &std::path::Path| p.to_str().expect("utf8").to_owned();
        set.add(Fact::Path {
            path: p(&file),
            content: Want::Always,
        });
        set.add(Fact::Path {
            path: p(dir.path()),
            content: Want::Never,
        });
        set.add(Fact::Path {
            path: p(&dir.path().join("link")),
            content: Want::Never,
        });
        set.add(Fact::Path {
            path: p(&dir.path().join("nope")),
            content: Want::Never,
        });
        set.add(Fact::Guard {
            script: guard_script("exit 3", None, &[]),
        });
        assert_eq!(
            set.add(Fact::Path {
                path: p(&file),
                content: Want::Always
            }),
            0,
            "deduplicated"
        );
        let values = run_probe(&set);
        let FactValue::Path(f) = &values[0] else {
            panic!("path")
        };
        assert_eq!(f.kind, PathKind::File);
        assert_eq!(f.sha256.as_deref(), Some(sha256_hex(b"hello\n").as_str()));
        assert_eq!(f.content.as_deref(), Some(&b"hello\n"[..]));
        assert!(matches!(&values[1], FactValue::Path(d) if d.kind == PathKind::Dir));
        assert!(
            matches!(&values[2], FactValue::Path(l) if l.target.as_deref() == Some("some target"))
        );
        assert!(matches!(&values[3], FactValue::Path(a) if a.kind == PathKind::Absent));
        assert_eq!(values[4], FactValue::Guard(3));
    }

    #[test]
    fn content_is_not_sent_when_the_checksum_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "same").expect("write");
        let mut set = FactSet::default();
        let path = file.to_str().expect("utf8").to_owned();
        set.add(Fact::Path {
            path,
            content: Want::UnlessSha(sha256_hex(b"same")),
        });
        let FactValue::Path(f) = &run_probe(&set)[0] else {
            panic!("path")
        };
        assert_eq!(f.content, None);
    }

    #[test]
    fn truncated_reply_is_an_error() {
        let mut set = FactSet::default();
        set.add(Fact::Path {
            path: "/".into(),
            content: Want::Never,
        });
        assert!(set.parse("@@probe\nP 0 absent\n").is_err());
        assert!(set.parse("@@probe\n@@end\n").is_err());
    }
}
