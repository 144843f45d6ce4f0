//! `download: { url, path, checksum, force, headers, timeout, mode, owner, group }`: a file
//! fetched by the host itself from a URL (Ansible's `get_url`). With a `checksum` the plan is
//! exact: a file with that hash is converged, anything else is fetched and verified before it
//! replaces the file. Without one, an existing file is left alone (as Ansible does) unless
//! `force` is set, which fetches on every apply and replaces the file only when the bytes
//! differ. The fetch goes to a private temp file in the destination's folder (`mktemp`, never a
//! predictable name), gets its final mode there and is renamed over the path. That folder is
//! entered with the link-safe walk (`script/walk.rs`) and everything happens relative to it,
//! so an account that owns it cannot redirect the fetch, the rename or the attributes with a
//! link; the probe refuses (a located error) a path behind such a link.

use super::args::{path, Attrs};
use super::{BuildContext, Claim, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::{scalar, Fields};
use crate::plan::{Action, Change, Field};
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// A file fetched from a URL on the host.
#[derive(Debug, Clone)]
pub(crate) struct Download {
    pub(crate) url: String,
    pub(crate) path: String,
    pub(crate) checksum: Option<Checksum>,
    pub(crate) force: bool,
    pub(crate) headers: Vec<(String, String)>,
    /// Seconds the whole transfer may take.
    pub(crate) timeout: u32,
    /// `validate_certs: false`: accept any TLS certificate.
    pub(crate) insecure: bool,
    pub(crate) attrs: Attrs,
}

/// `ALGORITHM:HEX`, as Ansible writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checksum {
    /// The host command that prints it (`sha256sum`): one of a fixed set, never user text.
    pub(crate) tool: &'static str,
    pub(crate) algorithm: &'static str,
    /// Lower-case hex digits, checked.
    pub(crate) hex: String,
}

/// The algorithms `get_url` accepts, with the coreutils command for each and its digest length.
const ALGORITHMS: &[(&str, &str, usize)] = &[
    ("md5", "md5sum", 32),
    ("sha1", "sha1sum", 40),
    ("sha224", "sha224sum", 56),
    ("sha256", "sha256sum", 64),
    ("sha384", "sha384sum", 96),
    ("sha512", "sha512sum", 128),
];

/// The arguments of `download`.
pub(super) const ARGS: Groups = &[
    &[
        Arg::str("url")
            .required()
            .doc("http://, https://, ftp:// or file://")
            .ansible(&["url"]),
        Arg::path("path")
            .required()
            .doc("the file written")
            .ansible(&["dest"]),
        Arg::str("checksum")
            .doc("`ALGORITHM:HEX` (md5, sha1, sha224, sha256, sha384, sha512)")
            .ansible(&["checksum"]),
        Arg::bool("force")
            .default("false")
            .doc("without `checksum`: fetched on every apply, replaced when the bytes differ")
            .ansible(&["force"]),
        Arg::map("headers")
            .doc("HTTP headers")
            .ansible(&["headers"]),
        Arg::int("timeout")
            .default("10")
            .doc("seconds")
            .ansible(&["timeout"]),
        Arg::bool("validate_certs")
            .doc("verify the server's TLS certificate")
            .default("true")
            .ansible(&["validate_certs"]),
    ],
    super::args::ATTRS,
];

/// Builds a `download` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Download> {
    let f = Fields::declared(args, "`download`", ARGS)?;
    let url_node = f.require("url")?;
    let url = f.required_string("url")?;
    if !["http://", "https://", "ftp://", "file://"]
        .iter()
        .any(|s| url.starts_with(s))
    {
        return Err(Error::invalid(
            format!("`url` must start with http://, https://, ftp:// or file://, not `{url}`"),
            &url_node.span,
        )
        .with_label("not a URL recon can fetch"));
    }
    let checksum = match f.get("checksum") {
        Some(node) => Some(parse_checksum(&f.required_string("checksum")?, node)?),
        None => None,
    };
    let mut headers = Vec::new();
    if let Some(map) = f.mapping("headers")? {
        for (k, v) in map.as_map().unwrap_or_default() {
            let name = k.key();
            if name.is_empty() || name.contains([':', '\r', '\n']) {
                return Err(Error::invalid(
                    format!("`{name}` is not an HTTP header name"),
                    &k.span,
                ));
            }
            let value = scalar(v, "`headers` values")?;
            if value.contains(['\r', '\n']) {
                return Err(Error::invalid(
                    "an HTTP header value cannot hold a line break",
                    &v.span,
                ));
            }
            headers.push((name.to_owned(), value));
        }
    }
    let timeout = u32::try_from(f.whole("timeout")?).unwrap_or(u32::MAX);
    Ok(Download {
        url,
        path: path(&f, "path")?,
        checksum,
        force: f.flag("force")?,
        headers,
        timeout,
        insecure: !f.flag("validate_certs")?,
        attrs: Attrs::read(&f)?,
    })
}

/// `sha256:abc…` → a checked checksum; a checksum fetched from a URL is a located error (the
/// plan could not know it).
fn parse_checksum(text: &str, node: &Node) -> Result<Checksum> {
    let Some((algorithm, hex)) = text.split_once(':') else {
        return Err(Error::invalid(
            format!("`checksum` must be `ALGORITHM:HEX` (like `sha256:…`), not `{text}`"),
            &node.span,
        ));
    };
    let algorithm = algorithm.trim().to_ascii_lowercase();
    let hex = hex.trim().to_ascii_lowercase();
    let Some(&(name, tool, len)) = ALGORITHMS.iter().find(|(a, _, _)| *a == algorithm) else {
        return Err(Error::invalid(
            format!("`checksum` algorithm `{algorithm}` is not one of md5, sha1, sha224, sha256, sha384, sha512"),
            &node.span,
        ));
    };
    if hex.contains("://") {
        return Err(Error::invalid(
            "a `checksum` read from a URL is not supported: recon plans against a known hash",
            &node.span,
        )
        .with_help("write the hash itself: `checksum: sha256:<64 hex digits>`"));
    }
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::invalid(
            format!("`checksum` must hold {len} hex digits for {name}"),
            &node.span,
        ));
    }
    Ok(Checksum {
        tool,
        algorithm: name,
        hex,
    })
}

/// The facts a download needs: the file, and its digest when the algorithm is not sha256
/// (which the path fact carries already).
#[derive(Debug)]
pub(crate) struct Asked {
    file: Handle<PathState>,
    digest: Option<Handle<crate::facts::CommandOutput>>,
}

/// What the apply does.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Only mode, owner or group differ.
    Attributes,
    /// Fetch; `mode`/`owner`/`group` for the new file (kept from the old one unless given);
    /// `compare`: replace only when the bytes differ (`force` without checksum), and
    /// `attrs_differ` says whether keeping the bytes still changes something.
    Fetch {
        mode: u32,
        owner: Option<String>,
        group: Option<String>,
        compare: bool,
        attrs_differ: bool,
    },
}

impl Download {
    /// What the plan shows as the new content.
    fn content(&self) -> String {
        match &self.checksum {
            Some(c) => format!("{}:{}", c.algorithm, c.hex),
            None => format!("fetched from {}", self.url),
        }
    }
}

impl Resource for Download {
    type Asked = Asked;
    type Decision = Decision;

    fn id(&self) -> String {
        format!("{} <- {}", self.path, self.url)
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim::path(&self.path)]
    }

    fn ask(&self, facts: &mut FactSet) -> Asked {
        let digest = self
            .checksum
            .as_ref()
            .filter(|c| c.algorithm != "sha256")
            .map(|c| {
                // Read through the walk every probe command has (`facts::PROBE_FUNCTIONS`).
                let mut s = Script::new();
                s.fill("_d={}\n", [p(&self.path)])
                    .code("_dd=${_d%/*}; _dn=${_d##*/}; [ -n \"$_dd\" ] || _dd=/\n_walk \"$_dd\" || exit 0\nif [ -f \"./$_dn\" ] && ! [ -L \"./$_dn\" ]; then ")
                    .code(c.tool)
                    .code(" < \"./$_dn\"; fi");
                facts.output(s)
            });
        Asked {
            file: facts.path(&self.path, Want::Never),
            digest,
        }
    }

    fn decide(
        &self,
        asked: &Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let state = facts.get(asked.file);
        super::refuse_unsafe(&self.path, state)?;
        match state.kind {
            PathKind::Absent => {
                let change = Change::new(Action::Create)
                    .field(Field::CONTENT, None, Some(self.content()))
                    .reason("absent");
                Ok(Some((
                    self.attrs.create(0o644, change),
                    Decision::Fetch {
                        mode: self.attrs.mode.unwrap_or(0o644),
                        owner: self.attrs.owner.clone(),
                        group: self.attrs.group.clone(),
                        compare: false,
                        attrs_differ: true,
                    },
                )))
            }
            PathKind::File => {
                let attrs = self.attrs.diff(state, Change::new(Action::Update));
                let fetch = |compare: bool, before: String, reason: &str| {
                    let change = attrs
                        .clone()
                        .field(Field::CONTENT, Some(before), Some(self.content()))
                        .reason(reason);
                    let decision = Decision::Fetch {
                        mode: self.attrs.mode.unwrap_or(state.mode),
                        owner: self
                            .attrs
                            .owner
                            .clone()
                            .or_else(|| Some(state.owner.clone())),
                        group: self
                            .attrs
                            .group
                            .clone()
                            .or_else(|| Some(state.group.clone())),
                        compare,
                        attrs_differ: !attrs.fields.is_empty(),
                    };
                    Ok(Some((change, decision)))
                };
                if let Some(c) = &self.checksum {
                    let have = match asked.digest {
                        Some(h) => facts
                            .get(h)
                            .stdout
                            .split_whitespace()
                            .next()
                            .map(str::to_owned),
                        None => state.sha256.clone(),
                    };
                    if have.as_deref() != Some(c.hex.as_str()) {
                        let before = format!("{}:{}", c.algorithm, have.unwrap_or_default());
                        return fetch(false, before, "checksum differs");
                    }
                } else if self.force {
                    return fetch(
                        true,
                        format!("{} bytes", state.size),
                        "force: fetched on every apply, replaced only if the bytes differ",
                    );
                }
                if attrs.fields.is_empty() {
                    Ok(None)
                } else {
                    Ok(Some((attrs, Decision::Attributes)))
                }
            }
            other => Err(Problem::new(format!(
                "`{}` exists and is {}, not a regular file: give the file's own path",
                self.path,
                other.describe()
            ))),
        }
    }

    fn script(&self, decision: &Decision, s: &mut Script) {
        let (mode, owner, group, compare, attrs_differ) = match decision {
            Decision::Attributes => {
                self.attrs.apply_script(&self.path, s);
                return;
            }
            Decision::Fetch {
                mode,
                owner,
                group,
                compare,
                attrs_differ,
            } => (*mode, owner, group, *compare, *attrs_differ),
        };
        s.fill("_d={}\n_u={}\n_to={}\n", [p(&self.path), w(&self.url), n(self.timeout)])
            // Inside the destination's folder, entered link-safely (`_in`: `_n` is the name).
            .code("_in \"$_d\" || exit 1\n_t=$(umask 077 && mktemp ./.recon-download.XXXXXXXX) || exit 1\ntrap 'rm -f -- \"$_t\"' EXIT\n")
            .code("if command -v curl >/dev/null 2>&1; then\n  set -- curl -fsSL --max-time \"$_to\"");
        for (k, v) in &self.headers {
            s.code(" -H").words([format!("{k}: {v}").as_str()]);
        }
        if self.insecure {
            s.code(" -k");
        }
        s.code(" -o \"$_t\" -- \"$_u\"\nelif command -v wget >/dev/null 2>&1; then\n  set -- wget -q -T \"$_to\"");
        for (k, v) in &self.headers {
            s.words([format!("--header={k}: {v}").as_str()]);
        }
        if self.insecure {
            s.code(" --no-check-certificate");
        }
        s.code(" -O \"$_t\" -- \"$_u\"\nelse\n  echo 'download needs curl or wget on the host' >&2; exit 1\nfi\n")
            .code("if ! \"$@\" </dev/null; then printf 'fetching %s failed\\n' \"$_u\" >&2; exit 1; fi\n");
        if let Some(c) = &self.checksum {
            s.code("_sum=$(")
                .code(c.tool)
                .fill(" < \"$_t\") || exit 1\n_sum=${_sum%% *}\nif [ \"$_sum\" != {} ]; then printf 'checksum mismatch: %s fetched from %s has ", [w(&c.hex)])
                .code(c.algorithm)
                .fill(" %s, expected %s\\n' \"$_d\" \"$_u\" \"$_sum\" {} >&2; exit 1; fi\n", [w(&c.hex)]);
        }
        if compare {
            s.code(
                "if [ -f \"./$_n\" ] && ! [ -L \"./$_n\" ] && cmp -s -- \"$_t\" \"./$_n\"; then\n",
            );
            self.attrs.apply_script(&self.path, s);
            if attrs_differ {
                s.code("  exit 0\n");
            } else {
                s.code("  exit 100\n");
            }
            s.code("fi\n");
        }
        s.fill("_attrs \"$_t\" {}", [w(&super::args::fmt_mode(mode))]);
        for value in [owner, group] {
            match value {
                Some(v) => s.fill(" {}", [w(v)]),
                None => s.code(" -"),
            };
        }
        s.code(" || exit 1\nmv -fT -- \"$_t\" \"./$_n\" || exit 1\n");
    }

    fn predict(&self, decision: &Decision, set: &FactSet, facts: &mut Facts) {
        if let Decision::Fetch { mode, .. } = decision {
            let state = PathState {
                kind: PathKind::File,
                mode: *mode,
                sha256: self
                    .checksum
                    .as_ref()
                    .filter(|c| c.algorithm == "sha256")
                    .map(|c| c.hex.clone()),
                ..PathState::default()
            };
            facts.predict_path(set, &self.path, &state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::{decide, script_of, stand_in};

    fn download(checksum: Option<&str>, force: bool) -> Download {
        Download {
            url: "http://127.0.0.1:1/a.tgz".into(),
            path: "/srv/a.tgz".into(),
            checksum: checksum.map(|h| Checksum {
                tool: "sha256sum",
                algorithm: "sha256",
                hex: h.into(),
            }),
            force,
            headers: Vec::new(),
            timeout: 10,
            insecure: false,
            attrs: Attrs::default(),
        }
    }

    fn file(sha: &str) -> FactValue {
        FactValue::Path(PathState {
            kind: PathKind::File,
            mode: 0o644,
            sha256: Some(sha.into()),
            size: 3,
            ..PathState::default()
        })
    }

    #[test]
    fn a_checksum_makes_the_plan_exact_and_without_one_an_existing_file_stays() {
        let d = download(Some("ab"), false);
        assert!(decide(&d, vec![file("ab")]).expect("ok").is_none());
        let (change, _) = decide(&d, vec![file("cd")]).expect("ok").expect("fetch");
        assert_eq!(change.reason.as_deref(), Some("checksum differs"));
        let (change, _) = decide(&d, vec![FactValue::Path(PathState::default())])
            .expect("ok")
            .expect("fetch");
        assert_eq!(change.action, Action::Create);
        assert!(decide(&download(None, false), vec![file("cd")])
            .expect("ok")
            .is_none());
        let (_, forced) = decide(&download(None, true), vec![file("cd")])
            .expect("ok")
            .expect("fetch");
        assert!(matches!(forced, Decision::Fetch { compare: true, .. }));
    }

    #[test]
    fn checksums_are_checked_when_built() {
        let span = crate::source::Span {
            file: crate::source::SourceFile::new("play.yml", "checksum: x\n"),
            start: 10,
            end: 11,
        };
        let node = Node::string(String::new(), span);
        assert!(parse_checksum("sha256:abc", &node).is_err());
        assert!(parse_checksum("sha256:https://x/SUMS", &node).is_err());
        assert!(parse_checksum("crc32:00", &node).is_err());
        let c = parse_checksum(&format!("SHA1:{}", "A".repeat(40)), &node).expect("ok");
        assert_eq!((c.tool, c.hex.len()), ("sha1sum", 40));
    }

    #[test]
    fn hostile_url_path_and_headers_arrive_exactly_and_run_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let args = dir.path().join("args");
        // A stand-in curl that records its words and writes the body to `-o`.
        let bin = stand_in(
            dir.path(),
            "curl",
            &format!(
                "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > '{}'\nwhile [ \"$1\" != -o ]; do shift; done\nprintf abc > \"$2\"\n",
                args.display()
            ),
        );
        let hostile = "$(touch pwned)`touch pwned2`'\";&\\ x";
        let dest = dir.path().join(hostile);
        let d = Download {
            url: format!("http://h/{hostile}"),
            path: dest.to_str().expect("utf-8").into(),
            headers: vec![("X-A".into(), hostile.into())],
            attrs: Attrs {
                mode: Some(0o640),
                ..Attrs::default()
            },
            ..download(
                Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                false,
            )
        };
        let (_, decision) = decide(&d, vec![FactValue::Path(PathState::default())])
            .expect("ok")
            .expect("fetch");
        let mut s = Script::of(crate::script::WRITE_FUNCTIONS);
        s.script(&script_of(&d, &decision));
        let out = std::process::Command::new("dash")
            .args(["-c", s.as_str()])
            .current_dir(dir.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .expect("dash runs");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read(&dest).expect("written"), b"abc");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&dest).expect("stat").permissions(),
        );
        assert_eq!(mode & 0o7777, 0o640);
        let recorded = std::fs::read(&args).expect("curl ran");
        let words: Vec<&[u8]> = recorded.split(|b| *b == 0).collect();
        assert!(words.contains(&d.url.as_bytes()), "{words:?}");
        assert!(
            words.contains(&format!("X-A: {hostile}").as_bytes()),
            "{words:?}"
        );
        for canary in ["pwned", "pwned2"] {
            assert!(!dir.path().join(canary).exists(), "{canary} ran");
        }
        let leftovers = std::fs::read_dir(dir.path())
            .expect("ls")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".recon-"))
            .count();
        assert_eq!(leftovers, 0, "no temp file left behind");
    }
}
