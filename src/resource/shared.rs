//! The Capistrano-style parts of a `release`: `shared` paths kept across releases and
//! `prepare` commands that build a release before it goes live.
//!
//! `shared: [.env, uploads/, storage/]` names paths relative to the release (a trailing `/`
//! means a folder). They live in `{root}/shared/`, are created when missing (an empty 0600 file,
//! or a folder), and every new release gets a relative symlink to each, made in the temp folder
//! before the release is renamed into place, so a release is never visible without its links.
//! A release whose archive ships one of these paths is refused when the task is built (the
//! archive is read on the control machine), unless `shared_replace: true` (its copy is then
//! removed in favour of the link).
//!
//! `prepare:` commands run one after another in the new release folder (its final path, so
//! tools that record absolute paths, like `python3 -m venv`, see the path they will run from),
//! with the task's `env`, after the links and before `current` moves. While they run the
//! release is marked failed, so a failed or interrupted prepare is never switched to.

use std::ffi::OsString;

use super::archive::Archive;
use crate::error::{Error, Result};
use crate::fields::{scalar, Fields};
use crate::plan::{Change, Field};
use crate::script::{is_identifier, w, Script};

/// The folder beside the releases that holds the shared paths.
pub(crate) const SHARED_DIR: &str = "shared";

/// One `shared` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SharedPath {
    /// The path relative to the release, without a trailing `/`.
    pub(crate) rel: String,
    /// Written with a trailing `/`: a folder (else a file).
    pub(crate) dir: bool,
}

impl SharedPath {
    /// Its `/`-separated parts.
    fn parts(&self) -> Vec<&str> {
        self.rel.split('/').collect()
    }

    /// The symlink target, relative to the link's own folder inside the release.
    fn link_target(&self) -> String {
        format!(
            "{}{SHARED_DIR}/{}",
            "../".repeat(self.parts().len()),
            self.rel
        )
    }

    /// The folder part (`a/b` of `a/b/c`), if any.
    fn parent(&self) -> Option<&str> {
        self.rel.rsplit_once('/').map(|(parent, _)| parent)
    }
}

/// Everything `shared`, `shared_replace`, `prepare` and `env` say.
#[derive(Debug, Clone, Default)]
pub(crate) struct Build {
    pub(crate) shared: Vec<SharedPath>,
    pub(crate) replace: bool,
    pub(crate) prepare: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
}

/// A shared path a new release links to (`shared`).
pub(super) const SHARED: Field = Field::new("shared");
/// A command that prepares a new release before it goes live (`prepare`).
pub(super) const PREPARE: Field = Field::new("prepare");

impl Build {
    /// Reads the keys from a `release` task's fields.
    pub(crate) fn from_fields(f: &Fields<'_>) -> Result<Self> {
        let mut shared: Vec<SharedPath> = Vec::new();
        for (text, node) in f.string_list("shared")? {
            let entry = parse_shared(&text).map_err(|why| {
                Error::invalid(format!("`shared` entry `{text}` {why}"), &node.span)
                    .with_label("not a relative path inside the release")
            })?;
            if shared.iter().any(|s| {
                s.rel == entry.rel
                    || entry.rel.starts_with(&format!("{}/", s.rel))
                    || s.rel.starts_with(&format!("{}/", entry.rel))
            }) {
                return Err(Error::invalid(
                    format!("`shared` entry `{text}` overlaps another entry"),
                    &node.span,
                ));
            }
            shared.push(entry);
        }
        let prepare = f
            .string_list("prepare")?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        let mut env = Vec::new();
        if let Some(map) = f.mapping("env")? {
            for (k, v) in map.as_map().unwrap_or_default() {
                if !is_identifier(k.key()) {
                    return Err(Error::invalid(
                        format!("`{}` is not a valid environment variable name", k.key()),
                        &k.span,
                    ));
                }
                env.push((k.key().to_owned(), scalar(v, "`env` values")?));
            }
        }
        Ok(Self {
            shared,
            replace: f.flag("shared_replace")?,
            prepare,
            env,
        })
    }

    /// The first shared path the archive ships (a member at or under it, or a file or link
    /// where one of its folders should be), with the member's name; `shared_replace` allows
    /// members at or under it, never a non-folder in its way.
    pub(crate) fn conflict(&self, archive: &Archive) -> Option<(String, String)> {
        for s in &self.shared {
            let want: Vec<OsString> = s.parts().into_iter().map(OsString::from).collect();
            for (path, is_dir) in &archive.entries {
                let at_or_under = path.starts_with(&want);
                let blocks = want.starts_with(path) && path.len() < want.len() && !is_dir;
                if blocks || (at_or_under && !self.replace) {
                    let name = path
                        .iter()
                        .map(|c| c.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    let shown = if s.dir {
                        format!("{}/", s.rel)
                    } else {
                        s.rel.clone()
                    };
                    return Some((shown, name));
                }
            }
        }
        None
    }

    /// The plan's lines for a new release: each link, then each prepare command.
    pub(crate) fn show(&self, mut change: Change) -> Change {
        for s in &self.shared {
            let slash = if s.dir { "/" } else { "" };
            change = change.field(
                SHARED,
                None,
                Some(format!("{}{slash} -> {SHARED_DIR}/{}{slash}", s.rel, s.rel)),
            );
        }
        for command in &self.prepare {
            change = change.field(PREPARE, None, Some(command.clone()));
        }
        change
    }

    /// Shell run in the release root (entered by `_root`: `"$_r"` is `.`, `"$_ra"` its
    /// physical path): creates the missing shared paths, folders with `_mkdir` and a new file
    /// (private and empty: it usually holds secrets, `.env`) exclusively inside the folder
    /// `_in` entered, so a link the root's owner put in `shared/` is never written through.
    pub(crate) fn shared_script(&self, s: &mut Script) {
        for entry in &self.shared {
            if entry.dir {
                s.fill(
                    "_mkdir 0755 \"$_r\"/{}/{} || exit 1\n",
                    [w(SHARED_DIR), w(&entry.rel)],
                );
            } else {
                s.fill("( _in \"$_r\"/{}/{} c || exit 1\n", [w(SHARED_DIR), w(&entry.rel)])
                    .code("if ! [ -e \"./$_n\" ] && ! [ -L \"./$_n\" ]; then (umask 077 && set -C && : > \"./$_n\") || exit 1; fi ) || exit 1\n");
            }
        }
    }

    /// Shell run inside the new release's temp folder (fresh from `mktemp -d`, root's, and
    /// entered with `_walk`, so `.` is that very folder): links each shared path into it.
    pub(crate) fn link_script(&self, s: &mut Script) {
        for entry in &self.shared {
            if self.replace {
                s.fill("rm -rf -- ./{} || exit 1\n", [w(&entry.rel)]);
            }
            if let Some(parent) = entry.parent() {
                s.fill("mkdir -p -- ./{} || exit 1\n", [w(parent)]);
            }
            s.fill(
                "ln -s -- {} ./{} || exit 1\n",
                [w(&entry.link_target()), w(&entry.rel)],
            );
        }
    }

    /// Shell that runs the prepare commands in the release folder `"$_r"/VERSION`; when one
    /// fails, marks the release failed (`mark_failed`) and fails the step. While they run the
    /// release is marked unfinished, so a kill mid-prepare is redone, never switched to.
    pub(crate) fn prepare_script(&self, version: &str, mark_failed: &Script, s: &mut Script) {
        if self.prepare.is_empty() {
            return;
        }
        s.fill(
            "if ! (\n_walk \"$_r\"/{}\ncase $? in 0) ;; 2) _refused; exit 1;; *) exit 1;; esac\nRECON_RELEASE_DIR=$(pwd -P) && RECON_SHARED_DIR=\"$_ra\"/{} && export RECON_RELEASE_DIR RECON_SHARED_DIR || exit 1\n",
            [w(version), w(SHARED_DIR)],
        );
        s.export("RECON_VERSION", version);
        for (k, v) in &self.env {
            s.export(k, v);
        }
        for command in &self.prepare {
            s.code("printf '%s\\n' ")
                .word(&format!("prepare: {command}"));
            s.code("\n").user_command(command).code(
                " </dev/null 2>&1 || { _rc=$?; echo \"prepare command failed (exit $_rc)\"; exit $_rc; }\n",
            );
        }
        s.code(")\nthen ")
            .script(mark_failed)
            .code("echo 'the release was not switched to: it is marked failed' >&2; exit 1; fi\n");
    }
}

/// A `shared` entry as written: relative, inside the release, no `.` or `..` parts.
fn parse_shared(text: &str) -> std::result::Result<SharedPath, &'static str> {
    let dir = text.ends_with('/');
    let rel = text.trim_end_matches('/');
    if rel.is_empty() || rel.starts_with('/') || rel.starts_with('~') {
        return Err("must be a path relative to the release");
    }
    if rel.contains('\0') {
        return Err("contains a NUL byte");
    }
    if rel
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err("must not have empty, `.` or `..` parts");
    }
    Ok(SharedPath {
        rel: rel.to_owned(),
        dir,
    })
}

/// The decision fields for a script test.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_link_relatively() {
        let env = parse_shared(".env").expect("ok");
        assert_eq!(env.link_target(), "../shared/.env");
        assert!(!env.dir);
        let up = parse_shared("public/uploads/").expect("ok");
        assert!(up.dir);
        assert_eq!(up.rel, "public/uploads");
        assert_eq!(up.link_target(), "../../shared/public/uploads");
        assert_eq!(up.parent(), Some("public"));
        for bad in ["", "/etc", "~/x", "a/../b", "./a", "a//b"] {
            assert!(parse_shared(bad).is_err(), "{bad}");
        }
    }

    /// Runs the shared paths' creation in `root` (the entered release root); true on success.
    fn create_shared(build: &Build, root: &std::path::Path) -> bool {
        let mut s = Script::of(crate::script::WRITE_FUNCTIONS);
        s.code("_r=.\n");
        build.shared_script(&mut s);
        std::process::Command::new("sh")
            .args(["-c", s.as_str()])
            .current_dir(root)
            .status()
            .expect("sh runs")
            .success()
    }

    #[test]
    fn shared_paths_are_created_only_through_the_walk() {
        use std::os::unix::fs::PermissionsExt;
        let build = Build {
            shared: vec![
                parse_shared(".env").expect("ok"),
                parse_shared("public/uploads/").expect("ok"),
            ],
            ..Build::default()
        };
        let top = tempfile::tempdir().expect("tempdir");
        let (root, secret) = (top.path().join("app"), top.path().join("secret"));
        std::fs::create_dir(&root).expect("mkdir");
        std::fs::create_dir(&secret).expect("mkdir");
        // `nobody` owns the release root: the account that could plant a link in it.
        std::os::unix::fs::lchown(&root, Some(65534), None).expect("lchown");
        assert!(create_shared(&build, &root));
        let env = std::fs::metadata(root.join("shared/.env")).expect("created");
        assert_eq!(env.permissions().mode() & 0o777, 0o600);
        assert!(root.join("shared/public/uploads").is_dir());
        std::fs::remove_dir_all(root.join("shared")).expect("rm");
        std::os::unix::fs::symlink(&secret, root.join("shared")).expect("link");
        std::os::unix::fs::lchown(root.join("shared"), Some(65534), None).expect("lchown");
        assert!(!create_shared(&build, &root), "refused");
        assert_eq!(std::fs::read_dir(&secret).expect("ls").count(), 0);
    }
}
