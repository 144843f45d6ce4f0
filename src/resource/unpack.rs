//! `unpack: { src, dest, creates, extra_opts, include, exclude }`: an archive already on the
//! host extracted into an existing folder (Ansible's `unarchive` with `remote_src`). Converged
//! when `creates` exists, or when the folder already holds the archive's members as Ansible
//! judges it: `tar --diff` reports none of the differences Ansible counts (uid and gid only
//! as root), or, for a `.zip`, every member is there with its size and CRC. The probe lists
//! those differences, so the plan says why it extracts. GNU tar detects the compression;
//! `--no-unquote` keeps it from reading `\` escapes in the folder and member names, so they
//! arrive byte-exact.
//!
//! As root (or as another user) in a folder an account owns, the folder is entered with the
//! link-safe walk (`script/walk.rs`) and read and extracted relative to it (`.`): a folder the
//! account swapped for a link out of its own files is refused (a located plan error), never
//! read or written through. The `creates` path is read the same way, and the archive is opened
//! with `_ropen` (the walk, and a link as the archive itself followed only into that account's
//! own files), then read through its descriptor: an account cannot point `src` at a root-only
//! archive and have it extracted into its folder.

use super::args::checked_path;
use super::{BuildContext, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle, PathKind, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change};
use crate::script::{p, w, Script};
use crate::yaml::Node;

/// An archive on the host, extracted.
#[derive(Debug, Clone)]
pub(crate) struct Unpack {
    pub(crate) src: String,
    pub(crate) dest: String,
    pub(crate) creates: Option<String>,
    pub(crate) zip: bool,
    pub(crate) extra_opts: Vec<String>,
    pub(crate) include: Vec<String>,
    pub(crate) exclude: Vec<String>,
}

/// The arguments of `unpack`.
pub(super) const ARGS: Groups = &[&[
    Arg::path("src")
        .required()
        .doc("an archive on the host: `.zip`, else any tar GNU tar reads")
        .ansible(&["src"]),
    Arg::path("dest")
        .required()
        .doc("an existing folder")
        .ansible(&["dest"]),
    Arg::path("creates")
        .doc("done when this path exists")
        .ansible(&["creates"]),
    Arg::strings("extra_opts")
        .doc("more tar or unzip options")
        .ansible(&["extra_opts"]),
    Arg::strings("include")
        .doc("only these members")
        .ansible(&["include"]),
    Arg::strings("exclude")
        .doc("all but these members")
        .ansible(&["exclude"]),
]];

/// Builds an `unpack` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Unpack> {
    let f = Fields::declared(args, "`unpack`", ARGS)?;
    let src = super::args::path(&f, "src")?;
    let list = |key: &str| -> Result<Vec<String>> {
        f.string_list(key)?
            .into_iter()
            .map(|(text, node)| {
                if text.contains(['\n', '\0']) {
                    Err(Error::invalid(
                        format!("`{key}` items cannot hold a line break or NUL"),
                        &node.span,
                    ))
                } else {
                    Ok(text)
                }
            })
            .collect()
    };
    let include = list("include")?;
    let exclude = list("exclude")?;
    if let (false, false, Some(node)) = (include.is_empty(), exclude.is_empty(), f.get("exclude")) {
        return Err(Error::invalid(
            "`unpack` takes `include` or `exclude`, not both",
            &node.span,
        ));
    }
    Ok(Unpack {
        zip: src.to_ascii_lowercase().ends_with(".zip"),
        dest: super::args::path(&f, "dest")?,
        creates: match f.get("creates") {
            Some(node) => Some(checked_path(&f.required_string("creates")?, node)?),
            None => None,
        },
        extra_opts: list("extra_opts")?,
        include,
        exclude,
        src,
    })
}

/// The differences `tar --diff` reports that Ansible counts; uid and gid are added as root.
const TAR_DIFFERS: &str = r#"_u='^$'; [ "$(id -u)" = 0 ] && _u=': (Uid|Gid) differs$'
printf '%s\n' "$_o" | grep -v ': : Warning: Cannot stat' | grep -E -e ': (Mod time differs|Warning: Cannot stat: No such file or directory|Invalid owner|Invalid group|Symlink differs|Contents differ|Size differs|Mode differs)$' -e "$_u" | head -n 20
"#;

/// Prints the zip members (as include/exclude select) missing or different under the folder.
const ZIP_DIFFERS: &str = r#"import fnmatch, os, sys, zipfile, zlib
src, dest, inc, exc = sys.argv[1], sys.argv[2], sys.argv[3].split("\n"), sys.argv[4].split("\n")
inc = [p for p in inc if p]; exc = [p for p in exc if p]
out = []
with zipfile.ZipFile(src) as z:
    for m in z.infolist():
        if inc and not any(fnmatch.fnmatch(m.filename, p) for p in inc): continue
        if any(fnmatch.fnmatch(m.filename, p) for p in exc): continue
        path = os.path.join(dest, m.filename)
        if m.is_dir():
            if not os.path.isdir(path): out.append(m.filename + ": missing")
            continue
        if not os.path.isfile(path): out.append(m.filename + ": missing"); continue
        if os.path.getsize(path) != m.file_size: out.append(m.filename + ": size differs"); continue
        with open(path, "rb") as f:
            if zlib.crc32(f.read()) != m.CRC: out.append(m.filename + ": contents differ")
print("\n".join(out[:20]))
"#;

/// Exit statuses of the probe's comparison that mean "cannot compare yet".
const NO_ARCHIVE: i32 = 3;
const NO_DEST: i32 = 4;
/// The folder is behind a link another account controls (the link follows on stdout).
const UNSAFE_DEST: i32 = 6;
/// The archive is behind a link another account controls (the link follows on stdout).
const UNSAFE_SRC: i32 = 7;
/// Where the archive is read once `_ropen` opened it.
const OPENED: &str = "/proc/self/fd/6";

impl Unpack {
    /// The tar words after `-C DEST` up to the archive: options and excludes.
    fn tar_options(&self) -> Vec<String> {
        let mut out = self.extra_opts.clone();
        out.extend(self.exclude.iter().map(|e| format!("--exclude={e}")));
        out
    }

    /// Read-only: prints what differs between the archive and the folder (nothing when
    /// extracted), exit 3 when the archive is not there, 4 when the folder is not, 6 (7) and
    /// the link when the folder (the archive) is behind a link another account controls. It
    /// uses the walk every probe command has (`facts::PROBE_FUNCTIONS`).
    fn compare(&self) -> Script {
        let mut s = Script::new();
        s.fill("_ropen {}\n", [p(&self.src)])
            .code("case $? in 0) ;; 2) printf '%s\\n' \"$_wbad\"; exit 7;; *) exit 3;; esac\n")
            .fill("_walk {}\n", [p(&self.dest)])
            .code("case $? in 0) ;; 2) printf '%s\\n' \"$_wbad\"; exit 6;; *) exit 4;; esac\n");
        if self.zip {
            s.code("command -v python3 >/dev/null 2>&1 || { echo 'no python3 to compare a zip'; exit 5; }\npython3 -c ")
                .word(ZIP_DIFFERS)
                .fill(
                    " {} {} {} {}\n",
                    [
                        w(OPENED),
                        w("."),
                        w(&self.include.join("\n")),
                        w(&self.exclude.join("\n")),
                    ],
                );
        } else {
            s.code("_o=$(LC_ALL=C tar --no-unquote --diff -C .")
                .words(self.tar_options().iter().map(String::as_str))
                .fill(" -f {} --", [w(OPENED)])
                .words(self.include.iter().map(String::as_str))
                .code(" 2>&1)\n[ $? -le 1 ] || { printf '%s\\n' \"$_o\" | head -n 3; exit 5; }\n")
                .code(TAR_DIFFERS);
        }
        s
    }
}

/// The facts asked: `creates`, and the comparison.
#[derive(Debug)]
pub(crate) struct Asked {
    creates: Option<Handle<PathState>>,
    compare: Handle<CommandOutput>,
}

impl Resource for Unpack {
    type Asked = Asked;
    type Decision = ();

    fn id(&self) -> String {
        format!("{} -> {}", self.src, self.dest)
    }

    fn needs(&self) -> Vec<String> {
        vec![self.src.clone(), self.dest.clone()]
    }

    fn ask(&self, facts: &mut FactSet) -> Asked {
        // `creates` through the probe's link-safe path read; the folder through the
        // comparison's own walk.
        Asked {
            creates: self.creates.as_ref().map(|c| facts.path(c, Want::Never)),
            compare: facts.output(self.compare()),
        }
    }

    fn decide(
        &self,
        asked: &Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, ())>, Problem> {
        if let (Some(creates), Some(h)) = (&self.creates, asked.creates) {
            let state = facts.get(h);
            super::refuse_unsafe(creates, state)?;
            if state.kind != PathKind::Absent {
                return Ok(None);
            }
        }
        let out = facts.get(asked.compare);
        match out.status {
            UNSAFE_DEST => return Err(super::refused_link(&self.dest, out.stdout.trim_end())),
            UNSAFE_SRC => return Err(super::refused_link(&self.src, out.stdout.trim_end())),
            _ => {}
        }
        let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
        let reason = match out.status {
            0 if lines.is_empty() => return Ok(None),
            0 => {
                let more = if lines.len() > 1 {
                    format!(" (and {} more)", lines.len() - 1)
                } else {
                    String::new()
                };
                format!(
                    "differs: {}{more}",
                    lines.first().copied().unwrap_or_default()
                )
            }
            NO_ARCHIVE => "the archive is not there yet".to_owned(),
            NO_DEST => "the folder is not there yet".to_owned(),
            status => format!(
                "cannot compare (exit {status}): {}",
                lines.first().copied().unwrap_or_default()
            ),
        };
        Ok(Some((Change::new(Action::Run).reason(reason), ())))
    }

    fn script(&self, (): &(), s: &mut Script) {
        // Read and written through the link-safe walk (`script/walk.rs`): `creates` in its
        // folder, the archive through the descriptor `_ropen` opened, the extraction inside
        // the entered folder (`.`).
        if let Some(creates) = &self.creates {
            s.fill("_c={}\n", [p(creates)]).code(
                "_cd=${_c%/*}; _cn=${_c##*/}; [ -n \"$_cd\" ] || _cd=/\n\
                 ( _walk \"$_cd\"; case $? in 0) [ -e \"./$_cn\" ] || [ -L \"./$_cn\" ];; 2) _refused; exit 2;; *) exit 1;; esac )\n\
                 case $? in 0) exit 100;; 2) exit 1;; esac\n",
            );
        }
        s.fill("_ropen {}\n", [p(&self.src)]).fill(
            "case $? in 0) ;; 2) _refused; exit 1;; *) printf 'the archive %s is missing or not a regular file\\n' {} >&2; exit 1;; esac\n",
            [w(&self.src)],
        );
        s.fill("_walk {}\n", [p(&self.dest)]).fill(
            "case $? in 0) ;; 2) _refused; exit 1;; *) printf '%s is not a folder\\n' {} >&2; exit 1;; esac\n",
            [w(&self.dest)],
        );
        if self.zip {
            s.code("unzip -q -o")
                .words(self.extra_opts.iter().map(String::as_str))
                .fill(" {}", [w(OPENED)])
                .words(self.include.iter().map(String::as_str));
            if !self.exclude.is_empty() {
                s.code(" -x").words(self.exclude.iter().map(String::as_str));
            }
            s.code(" -d . </dev/null || exit 1\n");
        } else {
            s.code("tar --no-unquote --extract -C .")
                .words(self.tar_options().iter().map(String::as_str))
                .fill(" -f {} --", [w(OPENED)])
                .words(self.include.iter().map(String::as_str))
                .code(" </dev/null || exit 1\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::script_of;

    /// The folder extracted into: a backslash escape tar would read unless told not to.
    const OUT: &str = "out\\f 'x'";

    fn unpack(dir: &std::path::Path, src: &str) -> Unpack {
        Unpack {
            src: dir.join(src).to_str().expect("utf-8").into(),
            dest: dir.join(OUT).to_str().expect("utf-8").into(),
            creates: None,
            zip: src.to_ascii_lowercase().ends_with(".zip"),
            extra_opts: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
        }
    }

    fn sh(script: &Script, dir: &std::path::Path) -> (i32, String) {
        let script = format!("{}{}", crate::script::WALK_FUNCTIONS, script.as_str());
        let out = std::process::Command::new("dash")
            .args(["-c", &script])
            .current_dir(dir)
            .output()
            .expect("dash runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// The real probe comparison, then the real extraction, then the comparison again.
    fn round_trip(u: &Unpack, dir: &std::path::Path) {
        let answer = |dir| {
            let (status, stdout) = sh(&u.compare(), dir);
            let mut set = FactSet::default();
            let asked = u.ask(&mut set);
            let facts = Facts::answered(vec![FactValue::Output(CommandOutput { status, stdout })]);
            u.decide(&asked, &facts, Situation::default()).expect("ok")
        };
        let (change, ()) = answer(dir).expect("extracts");
        assert_eq!(
            change.reason.as_deref(),
            Some("the folder is not there yet")
        );
        std::fs::create_dir(dir.join(OUT)).expect("mkdir");
        let (change, ()) = answer(dir).expect("extracts");
        assert!(
            change
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("differs: ")),
            "{change:?}"
        );
        let (status, _) = sh(&script_of(u, &()), dir);
        assert_eq!(status, 0);
        assert_eq!(
            std::fs::read_to_string(dir.join(OUT).join("app/VERSION")).expect("extracted"),
            "v1\n"
        );
        assert!(answer(dir).is_none(), "extracted: converged");
        std::fs::write(dir.join(OUT).join("app/VERSION"), "v2\n").expect("write");
        assert!(answer(dir).is_some(), "a changed member is extracted again");
    }

    #[test]
    fn tar_and_zip_archives_extract_and_then_compare_equal() {
        for archive in ["app.tgz", "app.zip"] {
            let dir = tempfile::tempdir().expect("tempdir");
            std::fs::create_dir_all(dir.path().join("src/app")).expect("mkdir");
            std::fs::write(dir.path().join("src/app/VERSION"), "v1\n").expect("write");
            let built = if archive == "app.zip" {
                std::process::Command::new("python3")
                    .args(["-m", "zipfile", "-c", "../app.zip", "app"])
                    .current_dir(dir.path().join("src"))
                    .status()
            } else {
                std::process::Command::new("tar")
                    .args(["-czf", "app.tgz", "-C", "src", "app"])
                    .current_dir(dir.path())
                    .status()
            };
            assert!(built.expect("archiver runs").success());
            round_trip(&unpack(dir.path(), archive), dir.path());
        }
    }

    #[test]
    fn hostile_names_and_options_are_words() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hostile = "$(touch pwned)`touch pwned2`'\";&\\f x";
        let u = Unpack {
            include: vec![hostile.into()],
            extra_opts: vec![format!("--transform=s/{hostile}//")],
            ..unpack(dir.path(), &format!("{hostile}.tgz"))
        };
        let _ = sh(&u.compare(), dir.path());
        let _ = sh(&script_of(&u, &()), dir.path());
        for canary in ["pwned", "pwned2"] {
            assert!(!dir.path().join(canary).exists(), "{canary} ran");
        }
    }
}
