//! The link-safe path walk, shared by the probe and every write helper. Recon often runs as root
//! (or as another user) in folders an account owns: its home, `~/.ssh`, release folders. Such an
//! account can swap any folder it owns for a link at any time, and a plain `mkdir -p`, `>`,
//! `chown` or `cat` of a path below would then act on whatever the link names (a root-only
//! folder, `/etc`). `_walk` enters a folder one component at a time, the way `openat` does,
//! so the kernel never resolves a link the walk has not judged:
//!
//! - a link in a folder owned by root or by the account running the walk is trusted (only they
//!   could have put it there); its target is walked in turn, component by component;
//! - a link in a folder another account owns is followed only when it leads to a folder that
//!   same account owns (`current -> releases/v3`): it gains that account nothing. Anything
//!   else is refused (exit status 2, `_wbad` = the link's path);
//! - a component that is not a link is entered with `cd -P`, and, in a folder another account
//!   owns, checked afterwards to be the very folder that was judged (same device and inode): a
//!   swap between the check and the `cd` is refused too.
//!
//! The callers (`_in`, `_mkdir`, `_p`) run in a subshell, so the walk's `cd` ends with them,
//! and they then act on a name in the current folder, which no later swap can redirect.

/// `_walk DIR [c]`: `cd` into absolute `DIR` (or relative to the current folder), refusing links
/// an account other than the caller controls (status 2, `_wbad` set). With `c`, missing
/// components are created (`mkdir`, the umask's mode); one that another script (a target of the
/// same account applying at the same time) creates meanwhile is judged like any other. Status 1: a component is missing or not
/// a folder. At most 40 links are expanded (a loop is a missing folder).
///
/// Every walk first tries `_wfast`, which judges DIR's folders without running a program: the
/// shell's own tests tell a link (`-L`), a folder (`-d`) and one the caller owns (`-O`). When
/// each is a folder (no link) inside a folder root or the caller owns, no other account can
/// change that part of the path, so it is entered with one `cd -P`: the whole path (status 0),
/// or up to the first missing folder (status 1, or with `c` the walk goes on from there,
/// creating). Anything else (a link, a folder another account owns, `..`) takes the
/// component-by-component walk from the start (status 3). `_wuid`, the caller's uid, is
/// set once where the functions are defined for a script (reset here, so a value from the
/// environment never counts), not asked of `id` on every walk.
///
/// `_wtrusted FOLDER` (sets `_wfo`, its owner) is the one ownership question: the caller's own
/// is `-O`; for a caller other than root, root's is asked of `stat` once per absolute folder
/// and remembered for the script (`_wroot`, reset with `_wuid`): only root can change a folder
/// root owns, and the script of an account that is not root cannot. A shell without `-O` asks
/// `stat`, which then finds the caller's own folders untrusted: slower (the full walk), never
/// wrong.
///
/// `_wjudge DIR` is that judgement alone, without entering (it also sets `_wu`, the caller's
/// uid, which the rest of the walk reads): 0 (every folder trusted, DIR
/// there), 1 (trusted up to a missing folder), 3 (the walk must decide); the probe asks it
/// once for the folder several paths share (`facts.rs`, `_p`).
///
/// `_mkdir MODE PATH [m]`: makes the folder PATH with MODE (`mkdir -m`: never wider, not even
/// for a moment; missing parents with the umask's mode), reached through the walk. A folder
/// already there keeps its mode, or with `m` is given MODE (the `directory` resource, whose
/// folder another apply may make between its plan and its write).
///
/// `_cd DIR`: `_walk DIR` that says why it did not get there (for a `chdir`).
///
/// `_ropen FILE`: opens FILE for reading on descriptor 6, for a reader running as root (or as
/// another user) on a file an account may have named: every folder on its path is entered
/// with `_walk`, and a link as FILE itself is followed the way `_walk` follows links: trusted in
/// a folder root or the caller owns; in a folder another account owns, only when the file it
/// leads to is that account's own. The opened file is checked to be the one judged (same device
/// and inode), so a swap in between is refused. Status 2 (`_wbad` = the link): refused; 1:
/// missing, not a regular file, or a loop. Leaves the current folder where FILE is; callers
/// read `/proc/self/fd/6`, which no later swap can redirect.
macro_rules! walk_functions {
    () => {
        r#"_walk() {
  _wr=$1; _wn=0; _wbad=; _wo=
  _wfast "$_wr"
  case $? in
    0) return 0;;
    1) [ "${2:-}" = c ] || return 1;;
    *) case $_wr in /*) cd / || return 1;; esac;;
  esac
  while [ -n "$_wr" ]; do
    _wc=${_wr%%/*}
    case $_wr in */*) _wr=${_wr#*/};; *) _wr=;; esac
    case $_wc in ''|.) continue;; esac
    if [ "${2:-}" = c ] && ! [ -e "./$_wc" ] && ! [ -L "./$_wc" ]; then
      _we=$(mkdir -- "./$_wc" 2>&1) || [ -e "./$_wc" ] || [ -L "./$_wc" ] || { printf '%s\n' "$_we" >&2; return 1; }
    fi
    [ -n "$_wo" ] || _wo=$(stat -c %u -- .) || return 1
    _wi=$(stat -c '%u:%d:%i:%F' -- "./$_wc" 2>/dev/null) || return 1
    _wdi=${_wi#*:}; _wdi=${_wdi%:*}
    if [ "$_wo" = 0 ] || [ "$_wo" = "$_wu" ]; then
      case $_wi in
        *:'symbolic link')
          _wn=$((_wn + 1)); [ "$_wn" -le 40 ] || return 1
          _wt=$(readlink -- "./$_wc") || return 1
          case $_wt in /*) cd / || return 1; _wo=;; esac
          _wr="$_wt/$_wr";;
        *) cd -P -- "./$_wc" 2>/dev/null || return 1; _wo=${_wi%%:*};;
      esac
      continue
    fi
    _wbad="${PWD%/}/$_wc"
    cd -P -- "./$_wc" 2>/dev/null || return 1
    case $_wi in
      *:'symbolic link') [ "$(stat -c %u -- .)" = "$_wo" ] || return 2;;
      *) [ "$(stat -c %d:%i -- .)" = "$_wdi" ] || return 2; _wo=${_wi%%:*};;
    esac
    _wbad=
  done
}
_wjudge() {
  _wu=${_wuid:-}; [ -n "$_wu" ] || _wu=$(id -u)
  _wfr=$1; _wfn='
'
  case $_wfr in /*) _wfz=; set -- /;; *) _wfz=.; set -- .;; esac
  while [ -n "$_wfr" ]; do
    _wfc=${_wfr%%/*}
    case $_wfr in */*) _wfr=${_wfr#*/};; *) _wfr=;; esac
    case $_wfc in ''|.) continue;; ..) return 3;; esac
    _wfz="$_wfz/$_wfc"
    set -- "$@" "$_wfz"
  done
  [ "$#" -gt 1 ] || return 3
  while [ "$#" -gt 1 ]; do
    _wtrusted "$1" || return 3
    _wfp=$1; shift
    ! [ -L "$1" ] || return 3
    [ -d "$1" ] || { ! [ -e "$1" ] || return 3; return 1; }
  done
  _wfp=$1
}
_wtrusted() {
  if [ -O "$1" ]; then _wfo=$_wu; return 0; fi
  _wfo=0
  [ "$_wu" != 0 ] || return 1
  case $1 in /*"$_wfn"*|[!/]*) [ "$(stat -c %u -- "$1" 2>/dev/null)" = 0 ]; return;; esac
  case $_wroot in *"$_wfn$1$_wfn"*) return 0;; esac
  [ "$(stat -c %u -- "$1" 2>/dev/null)" = 0 ] || return 1
  _wroot="$_wroot$1$_wfn"
}
_wfast() {
  _wjudge "$1"; _wfj=$?
  [ "$_wfj" != 3 ] || return 3
  cd -P -- "$_wfp" 2>/dev/null || return 3
  [ "$_wfj" != 0 ] || return 0
  _wo=$_wfo; _wr=${_wfz#"$_wfp"}; _wr=${_wr#/}
  return 1
}
_refused() {
  printf 'refusing to follow the link %s: another account controls it and it leads out of that account'\''s files\n' "$_wbad" >&2
}
_cd() {
  _walk "$1"; _ws=$?
  [ "$_ws" = 2 ] && _refused
  [ "$_ws" = 1 ] && printf 'cannot enter the folder %s\n' "$1" >&2
  return "$_ws"
}
_in() {
  _n=${1##*/}; _wd=${1%/*}; [ -n "$_wd" ] || _wd=/
  _walk "$_wd" "${2:-}"; _ws=$?
  [ "$_ws" = 2 ] && _refused
  [ "$_ws" = 1 ] && printf 'cannot enter the folder %s\n' "$_wd" >&2
  return "$_ws"
}
_mkdir() (
  _in "$2" c || exit 1
  _wmade=
  if ! [ -e "./$_n" ] && ! [ -L "./$_n" ]; then
    if _we=$(mkdir -m "$1" -- "./$_n" 2>&1); then _wmade=1
    elif ! [ -e "./$_n" ] && ! [ -L "./$_n" ]; then printf '%s\n' "$_we" >&2; exit 1; fi
  fi
  _walk "./$_n"; _ws=$?
  [ "$_ws" = 2 ] && _refused
  [ "$_ws" = 1 ] && printf '%s is not a folder\n' "$2" >&2
  if [ "$_ws" = 0 ] && [ "${3:-}" = m ] && [ -z "$_wmade" ]; then chmod -- "$1" . || exit 1; fi
  exit "$_ws"
)
_rm() (
  _in "$1"; case $? in 1) exit 0;; 2) exit 1;; esac
  rm -"${2:-}"f -- "./$_n"
)
_ropen() {
  _op=$1; _ok=0; _oa=; _ob=; _wbad=
  while :; do
    _on=${_op##*/}; _od=${_op%/*}
    case $_op in */*) [ -n "$_od" ] || _od=/;; *) _od=.;; esac
    _walk "$_od" || return
    _oo=$(stat -c %u -- .) || return 1
    _oi=$(stat -c '%d:%i:%F' -- "./$_on" 2>/dev/null) || return 1
    case $_oi in
      *:'symbolic link')
        _ok=$((_ok + 1)); [ "$_ok" -le 40 ] || return 1
        if [ -z "$_oa" ] && [ "$_oo" != 0 ] && [ "$_oo" != "$_wu" ]; then _oa=$_oo; _ob="${PWD%/}/$_on"; fi
        _op=$(readlink -- "./$_on") || return 1;;
      *:'regular file'|*:'regular empty file')
        exec 6<"./$_on" || return 1
        _wbad="${PWD%/}/$_on"
        [ "$(stat -L -c %d:%i -- /proc/self/fd/6)" = "${_oi%:*}" ] || return 2
        _wbad=$_ob
        [ -z "$_oa" ] || [ "$(stat -L -c %u -- /proc/self/fd/6)" = "$_oa" ] || return 2
        _wbad=; return 0;;
      *) return 1;;
    esac
  done
}
_wuid=; _wroot='
'
"#
    };
}

/// The walk functions as one constant, for tests that run them alone.
#[cfg(test)]
pub(crate) const WALK_FUNCTIONS: &str = walk_functions!();

/// For scripts that run commands in a fresh `sh -c` (the probe's guards and outputs, queries):
/// `_helpers` writes the walk functions once to the script's private temp folder
/// (`script/temp.rs`, `$_rt`) and defines them in the calling shell, and
/// `_bounded SECS env "_recon_helpers=$_rt/helpers" sh -c "$_helped$CMD"` gives them to a
/// command by sourcing that file on the command's own first line: `sh` still numbers the
/// command's lines as its own ("sh: 1: …"), and the variable is unset before it runs.
pub(crate) const HELPERS_FUNCTIONS: &str = concat!(
    "_helpers() {\n  { cat > \"$_rt/helpers\" && . \"$_rt/helpers\" && _wuid=$(id -u); } <<'_RECON_HELPERS_'\n",
    walk_functions!(),
    "_RECON_HELPERS_\n}\n_helped='. \"$_recon_helpers\"; unset _recon_helpers; '\n"
);

/// For tests: a folder that another account (`nobody`) owns in a home it owns, and a root-only
/// folder that account can swap it for, as the swap tests of the helpers need them.
#[cfg(test)]
pub(crate) struct Swappable {
    _top: tempfile::TempDir,
    pub(crate) home: std::path::PathBuf,
    pub(crate) folder: std::path::PathBuf,
    pub(crate) secret: std::path::PathBuf,
}

#[cfg(test)]
impl Swappable {
    /// `nobody`: neither root nor the test's own account (tests run as root).
    const OTHER: u32 = 65534;

    /// `home/NAME` (both `nobody`'s) and an empty root-only `secret`.
    pub(crate) fn new(name: &str) -> Self {
        let top = tempfile::tempdir().expect("tempdir");
        let base = top.path().canonicalize().expect("canonical");
        let (home, secret) = (base.join("home"), base.join("secret"));
        let folder = home.join(name);
        std::fs::create_dir_all(&folder).expect("mkdir");
        std::fs::create_dir(&secret).expect("mkdir");
        for path in [&home, &folder] {
            std::os::unix::fs::lchown(path, Some(Self::OTHER), None).expect("lchown");
        }
        Self {
            _top: top,
            home,
            folder,
            secret,
        }
    }

    /// The account replaces its folder with a link (its own) to the root-only folder.
    pub(crate) fn swap(&self) {
        std::fs::remove_dir_all(&self.folder).expect("rm");
        std::os::unix::fs::symlink(&self.secret, &self.folder).expect("link");
        std::os::unix::fs::lchown(&self.folder, Some(Self::OTHER), None).expect("lchown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};
    use std::path::Path;
    use std::process::Command;

    /// `nobody`: an account that is neither root nor the test's own (tests run as root).
    const OTHER_UID: u32 = 65534;

    fn chown(path: &Path, uid: u32) {
        std::os::unix::fs::lchown(path, Some(uid), None).expect("lchown");
    }

    /// Shell variables are global: a helper that assigns a name its caller uses too breaks the
    /// caller (a walk once emptied a cron step's file name). Every variable the walk functions
    /// assign is in their own namespace: `_w…` (`_walk`, `_in`, `_cd`), `_o…` (`_ropen`), or
    /// `_n`, the name `_in` hands its caller.
    #[test]
    fn the_walk_functions_assign_only_their_own_variables() {
        let assigned = regex::Regex::new(r"(?m)(?:^|[\s;(])(_[a-z0-9_]+)=").expect("regex");
        for found in assigned.captures_iter(WALK_FUNCTIONS) {
            let name = &found[1];
            assert!(
                name.starts_with("_w") || name.starts_with("_o") || name == "_n",
                "the walk functions assign `{name}`, a name their callers may use"
            );
        }
    }

    /// Runs `_walk DIR` and prints where it ended (`pwd -P`) and its status.
    fn walk(dir: &Path) -> (String, i32) {
        let script =
            format!("{WALK_FUNCTIONS}_walk \"$1\"; _s=$?; printf '%s %s' \"$_s\" \"$(pwd -P)\"\n");
        let out = Command::new("sh")
            .args(["-c", &script, "walk"])
            .arg(dir)
            .output()
            .expect("sh runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (status, pwd) = text.split_once(' ').expect("status and pwd");
        (pwd.to_owned(), status.parse().expect("status"))
    }

    #[test]
    fn a_link_another_account_controls_is_followed_only_into_its_own_files() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path().canonicalize().expect("canonical");
        let home = root.join("home");
        let secret = root.join("secret");
        std::fs::create_dir_all(home.join("releases/v1")).expect("mkdir");
        std::fs::create_dir(&secret).expect("mkdir");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        symlink("releases/v1", home.join("current")).expect("link");
        symlink(&secret, home.join(".ssh")).expect("link");
        for path in [
            home.clone(),
            home.join("releases"),
            home.join("releases/v1"),
            home.join("current"),
            home.join(".ssh"),
        ] {
            chown(&path, OTHER_UID);
        }
        // Its own release link: followed.
        let (pwd, status) = walk(&home.join("current"));
        assert_eq!(
            (status, pwd),
            (0, home.join("releases/v1").display().to_string())
        );
        // A link to a root-only folder: refused before entering it.
        let (_, status) = walk(&home.join(".ssh"));
        assert_eq!(status, 2);
        // Deeper below it, too.
        let (_, status) = walk(&home.join(".ssh/keys"));
        assert_eq!(status, 2);
        // A root-owned link in a root-owned folder is trusted, and its target walked in turn.
        symlink(&home, root.join("trusted")).expect("link");
        let (pwd, status) = walk(&root.join("trusted/current"));
        assert_eq!(
            (status, pwd),
            (0, home.join("releases/v1").display().to_string())
        );
        let (_, status) = walk(&root.join("trusted/.ssh"));
        assert_eq!(
            status, 2,
            "a trusted link does not launder the account's link"
        );
        // Missing: status 1, not a refusal.
        let (_, status) = walk(&home.join("nothing"));
        assert_eq!(status, 1);
    }

    /// Runs `_ropen FILE` and prints its status and what descriptor 6 holds.
    fn ropen(file: &Path) -> (i32, String) {
        let script = format!(
            "{WALK_FUNCTIONS}_ropen \"$1\"; _s=$?; printf '%s ' \"$_s\"; [ \"$_s\" = 0 ] && cat /proc/self/fd/6\n"
        );
        let out = Command::new("sh")
            .args(["-c", &script, "ropen"])
            .arg(file)
            .output()
            .expect("sh runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (status, content) = text.split_once(' ').expect("status");
        (status.parse().expect("status"), content.to_owned())
    }

    #[test]
    fn a_file_is_opened_only_through_links_that_lead_to_its_accounts_own_files() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path().canonicalize().expect("canonical");
        let home = root.join("home");
        let secret = root.join("secret");
        std::fs::create_dir_all(home.join("dist")).expect("mkdir");
        std::fs::create_dir(&secret).expect("mkdir");
        std::fs::write(secret.join("root.tgz"), "rootonly").expect("write");
        std::fs::write(home.join("dist/app.tgz"), "mine").expect("write");
        symlink(secret.join("root.tgz"), home.join("stolen.tgz")).expect("link");
        symlink("dist/app.tgz", home.join("latest.tgz")).expect("link");
        symlink(&secret, home.join("box")).expect("link");
        for path in [
            home.clone(),
            home.join("dist"),
            home.join("dist/app.tgz"),
            home.join("stolen.tgz"),
            home.join("latest.tgz"),
            home.join("box"),
        ] {
            chown(&path, OTHER_UID);
        }
        assert_eq!(ropen(&home.join("dist/app.tgz")), (0, "mine".to_owned()));
        assert_eq!(ropen(&home.join("latest.tgz")), (0, "mine".to_owned()));
        assert_eq!(ropen(&home.join("stolen.tgz")), (2, String::new()));
        assert_eq!(ropen(&home.join("box/root.tgz")), (2, String::new()));
        assert_eq!(ropen(&home.join("nothing.tgz")).0, 1);
        assert_eq!(ropen(&home.join("dist")).0, 1, "a folder is not a file");
        // A root-owned link in a root-owned folder is trusted.
        symlink(secret.join("root.tgz"), root.join("trusted.tgz")).expect("link");
        assert_eq!(ropen(&root.join("trusted.tgz")), (0, "rootonly".to_owned()));
    }

    /// Another target's script (of the same account, applying at the same time) creates a
    /// missing folder between this walk's look and its `mkdir`: simulated by a `mkdir` that
    /// makes the folder and then fails as the loser of that race does. The walk goes on into it.
    #[test]
    fn a_folder_another_script_creates_meanwhile_is_entered() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path().canonicalize().expect("canonical");
        let bin = root.join("bin");
        std::fs::create_dir(&bin).expect("bin");
        let racing = bin.join("mkdir");
        std::fs::write(
            &racing,
            "#!/bin/sh
/bin/mkdir \"$@\"\necho \"mkdir: cannot create directory: File exists\" >&2\nexit 1\n",
        )
        .expect("stub");
        std::fs::set_permissions(&racing, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let script = format!("{WALK_FUNCTIONS}_mkdir 0750 \"$1\"\n");
        let made = root.join("srv/shared/app");
        let out = Command::new("sh")
            .args(["-c", &script, "mkdir"])
            .arg(&made)
            .env("PATH", &path)
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{out:?}");
        assert!(made.is_dir());
        // A real failure (no such parent to create in, here a file) still fails, saying why.
        std::fs::write(root.join("file"), "").expect("file");
        let out = Command::new("sh")
            .args(["-c", &script, "mkdir"])
            .arg(root.join("file/app"))
            .env("PATH", &path)
            .output()
            .expect("sh runs");
        assert!(!out.status.success(), "{out:?}");
    }

    /// `_mkdir MODE PATH` makes a folder with MODE and leaves one already there as it is;
    /// with `m` the one already there is given MODE too.
    #[test]
    fn a_folder_found_made_keeps_its_mode_unless_the_mode_is_given() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path().canonicalize().expect("canonical");
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        let mkdir = |args: &[&str]| {
            let script = format!("{WALK_FUNCTIONS}_mkdir \"$@\"\n");
            let out = Command::new("sh")
                .args(["-c", &script, "mkdir"])
                .args(args)
                .output()
                .expect("sh runs");
            assert!(out.status.success(), "{out:?}");
        };
        let (fresh, there) = (root.join("fresh"), root.join("there"));
        std::fs::create_dir(&there).expect("mkdir");
        std::fs::set_permissions(&there, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        mkdir(&["0750", fresh.to_str().expect("utf8"), "m"]);
        assert_eq!(mode(&fresh), 0o750);
        mkdir(&["0755", there.to_str().expect("utf8")]);
        assert_eq!(mode(&there), 0o700, "kept without `m`");
        mkdir(&["0755", there.to_str().expect("utf8"), "m"]);
        assert_eq!(mode(&there), 0o755, "given with `m`");
    }

    #[test]
    fn creating_folders_never_goes_through_a_refused_link() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path().canonicalize().expect("canonical");
        let home = root.join("home");
        let secret = root.join("secret");
        std::fs::create_dir(&home).expect("mkdir");
        std::fs::create_dir(&secret).expect("mkdir");
        symlink(&secret, home.join("app")).expect("link");
        chown(&home, OTHER_UID);
        chown(&home.join("app"), OTHER_UID);
        let script = format!("{WALK_FUNCTIONS}_mkdir 0750 \"$1\"\n");
        let out = Command::new("sh")
            .args(["-c", &script, "mkdir"])
            .arg(home.join("app/conf/d"))
            .output()
            .expect("sh runs");
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("refusing to follow the link"),
            "{out:?}"
        );
        assert_eq!(std::fs::read_dir(&secret).expect("ls").count(), 0);
        // A real folder path is created, the last component with its mode.
        let made = home.join("site/conf");
        let out = Command::new("sh")
            .args(["-c", &script, "mkdir"])
            .arg(&made)
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{out:?}");
        let made_mode = std::fs::metadata(&made).expect("stat").permissions().mode();
        assert_eq!(made_mode & 0o7777, 0o750);
    }

    /// Runs `_wjudge` on each of `dirs` in one shell as `nobody`, with a `stat` that logs each
    /// call to `log` before running the real one; prints each judgement's status.
    fn judge_as_nobody(base: &Path, log: &Path, dirs: &[&Path]) -> String {
        use std::fmt::Write as _;
        use std::os::unix::process::CommandExt;
        let shim = base.join("bin");
        std::fs::create_dir(&shim).expect("mkdir");
        let stat = shim.join("stat");
        let body = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec /usr/bin/stat \"$@\"\n",
            log.display()
        );
        std::fs::write(&stat, body).expect("write");
        std::fs::set_permissions(&stat, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut script = format!("{WALK_FUNCTIONS}_wuid=$(id -u)\n");
        for i in 1..=dirs.len() {
            let _ = writeln!(script, "_wjudge \"${i}\"; printf '%s ' \"$?\"");
        }
        let out = Command::new("sh")
            .args(["-c", &script, "judge"])
            .args(dirs)
            .env("PATH", format!("{}:/usr/bin:/bin", shim.display()))
            .uid(OTHER_UID)
            .gid(OTHER_UID)
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// For an account other than root, its own folders are judged by the shell's `-O` and
    /// root's are asked of `stat` once per folder per script; a folder a third account owns
    /// is never trusted for being below, or beside, a remembered one.
    #[test]
    fn the_judgement_asks_stat_once_per_root_folder_and_trusts_nothing_else_for_it() {
        let top = tempfile::tempdir().expect("tempdir");
        let base = top.path().canonicalize().expect("canonical");
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let log = base.join("stat.log");
        std::fs::write(&log, "").expect("write");
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let own = base.join("home/app");
        let third = base.join("third/x");
        std::fs::create_dir_all(&own).expect("mkdir");
        std::fs::create_dir_all(&third).expect("mkdir");
        chown(&base.join("home"), OTHER_UID);
        chown(&own, OTHER_UID);
        // `third` is a third account's (uid 1): nothing below it is trusted.
        chown(&base.join("third"), 1);
        let missing = own.join("new/deeper");
        let statuses = judge_as_nobody(&base, &log, &[&own, &own, &missing, &third, &own]);
        assert_eq!(statuses, "0 0 1 3 0 ");
        let asked = std::fs::read_to_string(&log).expect("read");
        // Root's folders on the way (`/`, its ancestors, `base`), once each; `third`, which is
        // not root's, every time it is judged (once here).
        let root_folders = base.ancestors().count();
        assert_eq!(asked.lines().count(), root_folders + 1, "{asked}");
        assert_eq!(
            asked
                .lines()
                .filter(|l| l.ends_with(&*third.parent().expect("parent").to_string_lossy()))
                .count(),
            1,
            "{asked}"
        );
    }
}
