//! The apply script: one POSIX sh program per host that takes the target's lock, refuses a stale
//! plan before the first write, runs the steps in graph order (skipping dependents of failures)
//! and then the triggered handlers. It is built at plan time, so a saved plan carries exactly
//! what will run; only the header (who holds the lock, how long to wait) is added at apply time.

use super::{n, w, Piece, Script};
use crate::artifact::Artifact;

/// Shell helpers for writes: always temp + rename in the same directory, reached through the
/// link-safe walk (`walk.rs`). A temp name is `.recon-TOKEN.STEP.N`: TOKEN is random, made
/// once per script by `mktemp -u -p /` where these helpers are defined (a `sudo` child makes
/// its own; `-p /` because `mktemp` refuses a current folder the user may not read), STEP the
/// step's id
/// and N counts the step's writes, so names never repeat and cannot be guessed, without a
/// `mktemp` per write. A file that keeps its owner and group and whose mode has no execute or
/// special bit is created with its mode (the umask that gives it: no `chmod`); any other is
/// created 0600 and given its attributes through the descriptor, before the rename. `_put` writes the content in `_text` when it is set (text travels as a
/// shell word and the shell's own `printf` writes it: no process), else its input (base64, or
/// raw bytes with `_raw`). `_backup PATH` copies a regular file to a random name beside it
/// (printing that copy's path) and `_restore COPY PATH` puts it back (or, with no copy,
/// removes PATH), both inside the entered folder: `file`'s `check`. `_stamp PATH` creates a
/// command's stamp (mode 0666, exclusively, like a lock) inside the entered folder and touches
/// it there without following a link (`touch -h`). `_serialize` creates its lock file (mode 0666, exclusively)
/// through the walk too, and takes the lock only on that very file (same device and inode). Temp names are random and created exclusively (`set -C`), and
/// attributes are set through the open descriptor (`/proc/self/fd/7`) or the entered folder
/// (`.`), never through a name another account could swap for a link meanwhile.
pub(crate) const WRITE_FUNCTIONS: &str = concat!(
    r#"_fattrs() {
  if [ "$2" != - ]; then chmod -- "$2" "$1" || return 1; fi
  if [ "$3" != - ]; then chown -- "$3" "$1" || return 1; fi
  if [ "$4" != - ]; then chgrp -- "$4" "$1" || return 1; fi
}
_attrs() (
  _in "$1" || exit 1
  _ai=$(stat -c '%d:%i:%F' -- "./$_n") || exit 1
  case $_ai in
    *:'symbolic link') printf '%s is a link: recon does not change attributes through it\n' "$1" >&2; exit 1;;
    *:fifo|*:socket) printf '%s is a special file\n' "$1" >&2; exit 1;;
    *:directory) cd -P -- "./$_n" || exit 1; _x=.;;
    *) exec 7<"./$_n" || exit 1; _x=/proc/self/fd/7;;
  esac
  [ "$(stat -L -c %d:%i -- "$_x")" = "${_ai%:*}" ] || { printf '%s changed while recon set its attributes\n' "$1" >&2; exit 1; }
  _fattrs "$_x" "$2" "$3" "$4"
)
_backup() (
  _in "$1" || exit 1
  [ -f "./$_n" ] && ! [ -L "./$_n" ] || exit 0
  _t=$(mktemp -u ./.recon-XXXXXXXXXX) || exit 1
  cp -p -- "./$_n" "$_t.prev" || exit 1
  printf '%s' "${PWD%/}/${_t#./}.prev"
)
_restore() (
  _in "$2" || exit 1
  if [ -n "$1" ]; then mv -fT -- "./${1##*/}" "./$_n"; else rm -f -- "./$_n"; fi
)
_tmpname() {
  [ -n "$_tok" ] || { echo 'cannot make a random temp name (mktemp -u failed)' >&2; return 1; }
  _tn=$((${_tn:-0} + 1))
  _tnm="./.recon-$_tok.${_id:-0}.$_tn"
}
_put() {
  _tmpname && _put1 "$@"; _pst=$?
  unset _text
  return "$_pst"
}
_put1() (
  _in "$1" || exit 1
  if [ -n "${_raw:-}" ]; then _dec=cat; else _dec='base64 -d'; fi
  _t=$_tnm
  _pm=077; _fm=$2
  case $2$3$4 in
    [0246][0246][0246]--|0[0246][0246][0246]--)
      _pm=${2#0}; _pa=${_pm%??}; _pb=${_pm#?}; _pb=${_pb%?}; _pc=${_pm#??}
      _pm=$((7 - _pa))$((7 - _pb))$((7 - _pc)); _fm=-;;
  esac
  _um=$(umask); umask "$_pm"; set -C
  exec 7>"$_t" || exit 1
  set +C; umask "$_um"
  if [ -n "${_text+x}" ]; then
    printf %s "$_text" >&7 || { rm -f -- "$_t"; exit 1; }
  elif ! $_dec >&7; then rm -f -- "$_t"; exit 1; fi
  if ! _fattrs /proc/self/fd/7 "$_fm" "$3" "$4"; then rm -f -- "$_t"; exit 1; fi
  if [ -n "${5:-}" ] && ! sh -c "$5" recon-validate "${PWD%/}/${_t#./}"; then
    rm -f -- "$_t"; echo "validation failed; the live file was not touched" >&2; exit 1
  fi
  if ! mv -fT -- "$_t" "./$_n"; then rm -f -- "$_t"; exit 1; fi
)
_blob() {
  _bs=$(sha256sum < "$_blobs/$1" 2>/dev/null) && [ "${_bs%% *}" = "$1" ] && return 0
  printf 'artifact %s is missing or damaged on this host\n' "$1" >&2; return 1
}
_link() {
  _tmpname && _link1 "$@"
}
_link1() (
  _in "$2" || exit 1
  _t=$_tnm
  ln -s -- "$1" "$_t" || exit 1
  if ! mv -fT -- "$_t" "./$_n"; then rm -f -- "$_t"; exit 1; fi
)
_root() {
  _walk "$1" c; _ws=$?
  [ "$_ws" = 2 ] && _refused
  [ "$_ws" = 1 ] && printf 'cannot enter the folder %s\n' "$1" >&2
  [ "$_ws" = 0 ] || return 1
  _r=.; _ra=$(pwd -P)
}
_stamp() (
  _in "$1" || exit 1
  if ! [ -e "./$_n" ] && ! [ -L "./$_n" ]; then (umask 0 && set -C && : > "./$_n") 2>/dev/null; fi
  touch -h -- "./$_n"
)
_serialize() {
  case $1 in */*) _sl=$1;; *) _sl=./$1;; esac
  _si=$(
    _in "$_sl" || exit 1
    if ! [ -e "./$_n" ] && ! [ -L "./$_n" ]; then (umask 0 && set -C && : > "./$_n") 2>/dev/null; fi
    _sx=$(stat -c '%d:%i:%F' -- "./$_n") || exit 1
    case $_sx in *:'regular file'|*:'regular empty file') printf %s "${_sx%:*}";; *) printf '%s is not a regular file\n' "$1" >&2; exit 1;; esac
  ) || { printf 'cannot take the lock %s\n' "$1"; return 1; }
  exec 8<"$_sl" && [ "$(stat -L -c %d:%i -- /proc/self/fd/8)" = "$_si" ] && flock -w 120 8 || { printf 'cannot take the lock %s\n' "$1"; return 1; }
}
"#,
    walk_functions!(),
    "_wuid=$(id -u)\n_tok=$(mktemp -u -p / XXXXXXXXXXXX); _tok=${_tok#/}; _tn=0\n"
);

/// What a step run under `sudo -n sh -s` needs before its body.
pub(crate) const BECOME_PRELUDE: &str = "export LC_ALL=C\numask 022\n";

/// A step that runs under `sudo -n` when the script itself does not: as root, or as `user`
/// (`-H -u USER`, so its files are that user's and `~` is that user's home). The body travels
/// base64-encoded, so no value inside it can end the here-document early, with the write
/// helpers it may need. Root reads the script's blob store; for another user, the artifacts
/// the step needs are copied, for the step only, into a private folder handed over to that user
/// (which takes root: the play's `become`), and the script's own store stays private.
pub(crate) fn under_sudo(user: Option<&str>, body: &Script) -> Script {
    let mut inner = Script::of(BECOME_PRELUDE);
    inner
        .code(WRITE_FUNCTIONS)
        .code(super::BOUND_FUNCTIONS)
        .script(body);
    let mut sudo = Script::of(" | sudo -n");
    if let Some(user) = user {
        sudo.code(" -H -u").words([user]);
    }
    sudo.code(" env \"_blobs=$_blobs\" sh -s");
    let mut s = Script::new();
    let artifacts: Vec<&str> = inner
        .artifacts()
        .iter()
        .map(|a| a.sha256.as_str())
        .collect();
    if let (Some(user), false) = (user, artifacts.is_empty()) {
        s.code("_ub=$(umask 077 && mktemp -d \"${TMPDIR:-/tmp}/recon-blobs.XXXXXXXX\") || exit 1\ntrap 'rm -rf \"$_ub\"' EXIT\nfor _h in")
            .words(artifacts.iter().copied());
        s.fill(
            "; do cp -- \"$_blobs/$_h\" \"$_ub/$_h\" || exit 1; done\nchown -R -- {} \"$_ub\" || { echo 'handing files over to another user takes root: give the play `become: true`' >&2; exit 1; }\n_blobs=$_ub\n",
            [w(user)],
        );
    }
    s.code("base64 -d")
        .base64_heredoc_then_script(inner.as_bytes(), &sudo);
    s.needs_artifacts_of(&inner);
    s
}

/// Step bookkeeping: statuses, dependency skipping, Ctrl-C (SIGINT) between steps, durable
/// reactions. `_run ID "DEPS" "SETS" "CLEAR" FLAGS GROUP`: skipped when a step in DEPS failed (or was
/// skipped); before the step runs, the reaction markers in SETS are recorded (a step that then
/// changes nothing takes back the ones it created); CLEAR is the step's own marker, removed
/// once it ran. FLAGS: `i` = a failure is ignored (reported `ignored`, dependents still run),
/// `r` = the result is registered (stdout and stderr reported apart), `a` = the step is
/// account-wide (`Resource::account_wide`): it runs holding the account's lock (fd 3, see
/// `LOCK`), waited for up to `_aw` seconds (the bound of long commands: its holder is another
/// target's account-wide step), so that two targets of one account never run such steps at
/// once. GROUP (or `-`): the step
/// is in a block with a `rescue`; its failure is `caught`, and the block's later steps skip.
/// Step output goes to a private temp folder (`script/temp.rs`), never a predictable shared
/// name. A lost link (`SIGPIPE` on the next report line) stops dispatching like Ctrl-C, so the
/// script still ends through its `EXIT` trap. `_emit FILE` reports a step's output (its last
/// 64 KiB, base64), and nothing at all, without a process, when it printed nothing. A step runs
/// without the locks' descriptors, so a daemon it starts cannot hold the target's or the
/// account's lock.
const RUN_FUNCTIONS: &str = r#"_tmp_open || { printf '@@error cannot create a private temp folder\n'; exit 0; }
_stop=
trap '_stop=1' INT TERM HUP PIPE
_pd="$HOME/.recon/pending"
_now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
_pend() {
  [ -d "$_pd" ] || (umask 077 && mkdir -p -- "$_pd") || return 1
  printf 'pending since %s\n' "$_now" > "$_pd/.$1.tmp" && mv -f -- "$_pd/.$1.tmp" "$_pd/$1"
}
_run() {
  _id=$1
  for _d in $2; do
    eval "_s=\${_st_$_d:-}"
    case $_s in failed|skipped|interrupted|caught)
      eval "_st_$_id=skipped"; printf '@@step %s skipped %s\n' "$_id" "$_d"; return 0;;
    esac
  done
  if [ "$6" != - ]; then
    eval "_s=\${_caught_$6:-}"
    if [ -n "$_s" ]; then eval "_st_$_id=skipped"; printf '@@step %s skipped %s\n' "$_id" "$_s"; return 0; fi
  fi
  if [ -n "$_stop" ]; then eval "_st_$_id=interrupted"; printf '@@step %s interrupted\n' "$_id"; return 0; fi
  case $5 in *a*)
    if ! _acct; then
      if [ -n "$_stop" ]; then eval "_st_$_id=interrupted"; printf '@@step %s interrupted\n' "$_id"; return 0; fi
      eval "_st_$_id=failed"
      printf '@@step %s failed 1 ' "$_id"; printf "the account's lock (~/.recon/account.lock) stayed taken by another target's step for %s s; nothing was changed\n" "$_aw" | base64 -w0; echo
      return 0
    fi;;
  esac
  _new=
  for _m in $3; do
    if ! [ -e "$_pd/$_m" ]; then
      if ! _pend "$_m"; then
        case $5 in *a*) flock -u 3;; esac
        eval "_st_$_id=failed"
        printf '@@step %s failed 1 ' "$_id"; echo 'cannot record the reactions this step triggers (disk full?); nothing was changed' | base64 -w0; echo
        return 0
      fi
      _new="$_new $_m"
    fi
  done
  case $5 in
    *r*) "_s$_id" >"$_o" 2>"$_e" </dev/null 3>&- 4>&- 9>&-;;
    *) "_s$_id" >"$_o" 2>&1 </dev/null 3>&- 4>&- 9>&-;;
  esac
  _rc=$?
  case $5 in *a*) flock -u 3;; esac
  case $_rc in 0) _r=changed;; 100) _r=ok;; *) _r=failed;; esac
  case $_r$5 in failed*i*) _r=ignored;; esac
  if [ "$_r" = failed ] && [ "$6" != - ]; then _r=caught; eval "_caught_$6=$_id"; fi
  if [ "$_r" != changed ]; then for _m in $_new; do rm -f -- "$_pd/$_m"; done; fi
  if [ -n "$4" ] && [ "$_r" != failed ]; then rm -f -- "$_pd/$4"; fi
  eval "_st_$_id=$_r"
  printf '@@step %s %s %s ' "$_id" "$_r" "$_rc"; _emit "$_o"
  case $5 in *r*) printf ' '; _emit "$_e";; esac
  echo
}
_emit() {
  if [ -s "$1" ]; then tail -c 65536 "$1" | base64 -w0; fi
}
_changed() {
  for _d in "$@"; do eval "_s=\${_st_$_d:-}"; if [ "$_s" = changed ]; then return 0; fi; done
  return 1
}
"#;

/// `_acct`: takes the account's lock (fd 3) for an account-wide step, waiting at most `_aw`
/// seconds, in slices, so that a Ctrl-C is seen meanwhile. Only in scripts that have such steps.
const ACCOUNT_FUNCTION: &str = r#"_acct() {
  _ae=$(( $(date +%s) + _aw ))
  until flock -w 5 3; do
    [ -z "$_stop" ] && [ "$(date +%s)" -lt "$_ae" ] || return 1
  done
}
"#;

/// Takes the target's lock; `_who`, `_lock_wait` and `_lockn` (the target's lock name,
/// `apply::lock_name`) are set by the header added at apply time. Three lock files, all the account's
/// own and private (0600 in 0700 folders), created through the link-safe walk (`walk.rs`) the
/// way `_serialize` creates its lock (exclusively, inside the entered folder) and opened only
/// when each is the very regular file judged there (same device and inode), owned by the
/// running account, with one link (so never a hard link to a file of someone else's):
///
/// - fd 9, `~/.recon/locks/NAME.lock`: the target's own lock, for the whole apply. Two applies
///   of one target (two control machines, or two runs) take turns; targets of one account each
///   have their own and apply at once. The holder (`_who`) is written into the lock file itself,
///   through the descriptor, so a waiter that gives up names it.
/// - fd 4, `~/.recon.lock`: taken *shared* for the whole apply: older recon versions take it
///   exclusively for theirs, so an apply of either kind never overlaps one of the other.
/// - fd 3, `~/.recon/account.lock`: the account's lock for account-wide steps (`_run`'s `a`
///   flag: a crontab, packages, a Python environment, a bridged module), one such step of the
///   account at a time, held only while that step runs.
///
/// Both waits together are bounded by `--lock-timeout`.
const LOCK: &str = r#"_lockf="$HOME/.recon/locks/${_lockn:-account}.lock"
_lk=$(
  umask 077
  _lu=$(id -u)
  _lone() {
    if ! [ -e "./$1" ] && ! [ -L "./$1" ]; then (set -C && : > "./$1") 2>/dev/null; fi
    _lx=$(stat -c '%u %h %d:%i %F' -- "./$1") || exit 1
    case $_lx in "$_lu 1 "*' regular file'|"$_lu 1 "*' regular empty file') ;; *) exit 1;; esac
    _lx=${_lx#* * }; printf '%s\n' "${_lx%% *}"
  }
  [ -n "$HOME" ] && _walk "$HOME" || exit 1
  _lone .recon.lock
  _walk .recon c && _lone account.lock && _walk locks c && _lone "${_lockf##*/}"
) && command exec 4<"$HOME/.recon.lock" 3<"$HOME/.recon/account.lock" 9<"$_lockf" &&
  [ "$(stat -L -c %d:%i -- /proc/self/fd/4 /proc/self/fd/3 /proc/self/fd/9)" = "$_lk" ] ||
  { printf '@@error cannot open the lock file %s\n' "$_lockf"; exit 0; }
_lend=$(( $(date +%s) + _lock_wait ))
if ! flock -w "$_lock_wait" 9; then printf '@@locked '; base64 -w0 < /proc/self/fd/9; echo; exit 0; fi
_lw=$(( _lend - $(date +%s) )); [ "$_lw" -gt 0 ] || _lw=0
if ! flock -s -w "$_lw" 4; then printf '@@locked '; base64 -w0 < "$HOME/.recon.lock.info" 2>/dev/null; echo; exit 0; fi
printf '%s since %s\n' "$_who" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > /proc/self/fd/9
"#;

/// One planned step as the apply script needs it.
pub(crate) struct ScriptStep<'a> {
    pub(crate) id: usize,
    pub(crate) handler: bool,
    pub(crate) depends_on: &'a [usize],
    pub(crate) triggered_by: &'a [usize],
    /// A handler that runs whatever this run changes (an interrupted run left it pending).
    pub(crate) pending: bool,
    /// Reaction markers to record before the step runs.
    pub(crate) sets: &'a [String],
    /// The step's own reaction marker, removed once it ran.
    pub(crate) clears: Option<&'a str>,
    /// A failure does not fail the host (`ignore_errors`, `failed_when`).
    pub(crate) ignore_errors: bool,
    /// Its result is registered: stdout and stderr are reported apart.
    pub(crate) registered: bool,
    /// In a block with a `rescue` (its group): a failure is caught.
    pub(crate) group: Option<u64>,
    /// It edits something every target of the account shares (`Resource::account_wide`): it
    /// runs holding the account's lock.
    pub(crate) account_wide: bool,
    pub(crate) body: &'a Script,
}

/// Builds the apply script for one host: `probe` is the host's probe function (re-run under the
/// lock for the stale check; it defines the `_bounded` and temp folder helpers steps use too),
/// `fingerprint` the sha256 of the reply the plan was made from. The re-run writes its reply to
/// the private temp folder rather than a pipe, so it runs in the script's own shell and the
/// root-owned folders its walks judged stay remembered for the steps (`_wtrusted`); a reply
/// that cannot be written there (a full disk) is hashed through a pipe as before. `owed`: reaction markers recorded
/// once the plan is found fresh, before any step (handlers a delegated round triggered, which
/// no step of this script sets).
pub(crate) fn apply_script(
    probe: &Script,
    fingerprint: &str,
    steps: &[ScriptStep<'_>],
    owed: &[&str],
) -> Script {
    let mut s = Script::new();
    s.script(probe).code(WRITE_FUNCTIONS).code(RUN_FUNCTIONS);
    if steps.iter().any(|step| step.account_wide) {
        s.fill("_aw={}\n", [n(super::bound::apply_limit())])
            .code(ACCOUNT_FUNCTION);
    }
    s.code(LOCK)
        .fill(
            "if _probe > \"$_rt/probe\"; then _fp=$(sha256sum < \"$_rt/probe\"); else _fp=$(_probe | sha256sum); fi; _fp=${_fp%% *}\nif [ \"$_fp\" != {} ]; then printf '@@stale\\n'; _probe; exit 0; fi\n",
            [Piece::Word(fingerprint)],
        );
    for marker in owed {
        s.code("_pend").words([*marker]).code(
            " || { printf '@@error cannot record the handlers a delegated task triggered (disk full?)\\n'; exit 0; }\n",
        );
    }
    for step in steps {
        s.fill("_s{}() (\n{})\n", [n(id(step.id)), Piece::Code(step.body)]);
        let conditional = step.handler && !step.pending;
        if conditional {
            s.code("if _changed");
            ids(&mut s, step.triggered_by);
            s.code("; then ");
        }
        s.fill("_run {} '", [n(id(step.id))]);
        ids(&mut s, step.depends_on);
        s.code("' ").words([step.sets.join(" ").as_str()]);
        s.code(" ").words([step.clears.unwrap_or("")]);
        s.code(" ");
        if step.ignore_errors {
            s.code("i");
        }
        if step.registered {
            s.code("r");
        }
        if step.account_wide {
            s.code("a");
        }
        if !(step.ignore_errors || step.registered || step.account_wide) {
            s.code("-");
        }
        match step.group {
            Some(group) => s.fill(" {}", [n(group)]),
            None => s.code(" -"),
        };
        s.code(if conditional { "; fi\n" } else { "\n" });
    }
    s.code("printf '' > /proc/self/fd/9\nprintf '@@done\\n'\n");
    s
}

/// Receives the artifacts streamed after the script into the account's private blob store:
/// each is written under a random name, checked by hash, then renamed to its hash.
const RECEIVE_FUNCTION: &str = r#"_recv() {
  (umask 077 && mkdir -p -- "$_blobs") || return 1
  _bt=$(umask 077 && mktemp "$_blobs/.in.XXXXXXXX") || return 1
  head -c "$2" > "$_bt"
  _bs=$(sha256sum < "$_bt"); _bs=${_bs%% *}
  if [ "$_bs" = "$1" ] && mv -f -- "$_bt" "$_blobs/$1"; then printf '@@blob %s\n' "$1"; return 0; fi
  rm -f -- "$_bt"; return 1
}
"#;

/// The per-run header: who holds the lock (shown to a second applier), how long to wait, which
/// lock (`lock`: the target's lock file name, `apply::lock_name`), and the artifacts that follow
/// the script on stdin, in order (received before anything else).
pub(crate) fn header(who: &str, lock_wait_secs: u64, lock: &str, receiving: &[Artifact]) -> Script {
    let mut s = Script::new();
    s.fill(
        "printf '@@pid %s\\n' \"$$\"\n_who={}\n_lock_wait={}\n_lockn={}\n_blobs=\"$HOME/.cache/recon/blobs\"\n",
        [Piece::Word(who), n(lock_wait_secs), Piece::Word(lock)],
    );
    if !receiving.is_empty() {
        s.code(RECEIVE_FUNCTION);
        for artifact in receiving {
            s.fill(
                "_recv {} {} || { printf '@@error an artifact arrived damaged or could not be stored\\n'; exit 0; }\n",
                [Piece::Word(&artifact.sha256), n(artifact.size)],
            );
        }
    }
    s
}

fn id(step: usize) -> u64 {
    u64::try_from(step).unwrap_or(u64::MAX)
}

/// ` 1 2 3`: step ids as shell arguments.
fn ids(s: &mut Script, steps: &[usize]) {
    for step in steps {
        s.fill(" {}", [n(id(*step))]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    /// Runs `_blob SHA` against a blob store holding `content` under that name.
    fn blob_check(sha: &str, content: &[u8]) -> bool {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(sha), content).expect("write");
        let mut s = Script::of(WRITE_FUNCTIONS);
        s.fill(
            "_blobs={}\n_blob {}\n",
            [
                Piece::Word(dir.path().to_str().expect("utf8")),
                Piece::Word(sha),
            ],
        );
        std::process::Command::new("sh")
            .args(["-c", s.as_str()])
            .status()
            .expect("sh runs")
            .success()
    }

    /// Runs `body` after the write helpers with `$1` = `arg`; returns (success, stdout).
    fn helpers(body: &'static str, arg: &std::path::Path) -> (bool, String) {
        let mut s = Script::of(WRITE_FUNCTIONS);
        s.code(body);
        let out = std::process::Command::new("sh")
            .args(["-c", s.as_str(), "helpers"])
            .arg(arg)
            .output()
            .expect("sh runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    #[test]
    fn a_checked_files_copy_is_made_and_put_back_only_through_the_walk() {
        let at = super::super::Swappable::new("site");
        std::fs::write(at.folder.join("conf"), "old").expect("write");
        std::fs::write(at.secret.join("conf"), "rootonly").expect("write");
        let round_trip = "_b=$(_backup \"$1\") || exit 1\nprintf new > \"$1\"\n_restore \"$_b\" \"$1\" || exit 1\ncat -- \"$1\"\n";
        let conf = at.folder.join("conf");
        assert_eq!(helpers(round_trip, &conf), (true, "old".to_owned()));
        let left: Vec<_> = std::fs::read_dir(&at.folder).expect("ls").collect();
        assert_eq!(left.len(), 1, "the copy was moved back");
        // Swapped for a link to a root-only folder: neither copied nor put back.
        at.swap();
        assert!(!helpers("_backup \"$1\"\n", &conf).0);
        assert!(!helpers("_restore '' \"$1\"\n", &conf).0);
        assert_eq!(std::fs::read_dir(&at.secret).expect("ls").count(), 1);
        let kept = std::fs::read_to_string(at.secret.join("conf")).expect("read");
        assert_eq!(kept, "rootonly");
    }

    #[test]
    fn a_stamp_is_created_and_touched_only_through_the_walk() {
        use std::os::unix::fs::PermissionsExt;
        let at = super::super::Swappable::new("app");
        let stamp = at.folder.join("stamp");
        assert!(helpers("_stamp \"$1\"\n", &stamp).0);
        let mode = std::fs::metadata(&stamp)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o666);
        at.swap();
        assert!(!helpers("_stamp \"$1\"\n", &stamp).0);
        assert_eq!(std::fs::read_dir(&at.secret).expect("ls").count(), 0);
    }

    /// Text goes through `_text` and the shell's `printf`, bytes through base64; each write
    /// gets its own temp name, leaves none behind, and has its mode from the start.
    #[test]
    fn text_and_bytes_are_put_whole_with_their_mode_and_no_temp_file_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let text: &[u8] = b"it's $HOME `x`\n\\n\n\n";
        let bytes: &[u8] = &[0xff, 0, 1, b'\n'];
        let mut s = Script::of(WRITE_FUNCTIONS);
        for (name, content, mode) in [
            ("a", text, "0640"),
            ("b", bytes, "0640"),
            ("c", text, "0755"),
            ("d", text, "600"),
        ] {
            let path = dir.path().join(name);
            let mut put = Script::new();
            put.fill(
                "_put {} {} - -",
                [Piece::Word(path.to_str().expect("utf8")), Piece::Word(mode)],
            );
            s.put_content(&put, content)
                .code("[ $? -eq 0 ] || exit 1\n");
        }
        let out = std::process::Command::new("sh")
            .args(["-c", s.as_str()])
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{out:?}");
        for (name, content, want) in [
            ("a", text, 0o640),
            ("b", bytes, 0o640),
            ("c", text, 0o755),
            ("d", text, 0o600),
        ] {
            let path = dir.path().join(name);
            assert_eq!(std::fs::read(&path).expect("read"), content, "{name}");
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o7777, want, "{name}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 4);
    }

    #[test]
    fn a_blob_is_used_only_when_its_hash_matches() {
        let sha = crate::facts::sha256_hex(b"release");
        assert!(blob_check(&sha, b"release"));
        assert!(!blob_check(&sha, b"tampered"));
    }

    /// Takes the locks of target `target` with `HOME` = `home` (waiting at most 1 s) and then
    /// runs `then`; returns stdout.
    fn locked(home: &std::path::Path, target: &str, then: &'static str) -> String {
        let mut s = Script::of(WRITE_FUNCTIONS);
        s.fill(
            "_who='recon test'\n_lock_wait=1\n_lockn={}\n",
            [Piece::Word(target)],
        )
        .code(LOCK)
        .code(then);
        super::super::stdout_of(&s, "HOME", home)
    }

    #[test]
    fn each_target_has_its_own_lock_and_one_target_waits_for_itself() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().expect("home");
        let home = home.path();
        // While `one` is held (its holder named in its lock file), `two` of the same account is
        // taken at once, and `one` is refused after the wait, naming the holder.
        let hold = locked(home, "one", "printf 'held\\n'\n");
        assert_eq!(hold, "held\n");
        let lock = home.join(".recon/locks/one.lock");
        let mut holder = std::process::Command::new("flock")
            .arg(&lock)
            .args(["sleep", "20"])
            .process_group(0)
            .spawn()
            .expect("flock");
        std::fs::write(&lock, "recon someone@elsewhere pid 42 since then\n").expect("holder");
        std::thread::sleep(std::time::Duration::from_millis(200));
        let other = locked(home, "two", "printf 'two ran\\n'\n");
        let refused = locked(home, "one", "printf 'one ran\\n'\n");
        let _ = std::process::Command::new("kill")
            .args(["--", &format!("-{}", holder.id())])
            .status();
        let _ = holder.wait();
        assert_eq!(other, "two ran\n");
        let encoded = refused.strip_prefix("@@locked ").expect("refused").trim();
        assert_eq!(
            crate::text::from_base64(encoded),
            "recon someone@elsewhere pid 42 since then\n"
        );
        for (path, mode) in [
            (".recon", 0o700),
            (".recon/locks", 0o700),
            (".recon/locks/two.lock", 0o600),
            (".recon/account.lock", 0o600),
            (".recon.lock", 0o600),
        ] {
            let meta = std::fs::metadata(home.join(path)).expect(path);
            assert_eq!(meta.permissions().mode() & 0o777, mode, "{path}");
        }
        // The holder is written into the lock file while held.
        let shown = locked(home, "two", "cat /proc/self/fd/9\n");
        assert!(shown.starts_with("recon test since "), "{shown}");
    }

    #[test]
    fn a_lock_file_is_never_one_that_links_elsewhere() {
        let home = tempfile::tempdir().expect("home");
        let home = home.path();
        let elsewhere = tempfile::tempdir().expect("elsewhere");
        let precious = elsewhere.path().join("precious");
        std::fs::write(&precious, "keep me\n").expect("precious");
        std::fs::create_dir_all(home.join(".recon/locks")).expect("locks");
        // A hard link to a file of the same owner (as root: any root file), and a symlink.
        std::fs::hard_link(&precious, home.join(".recon/locks/hard.lock")).expect("hard link");
        std::os::unix::fs::symlink(&precious, home.join(".recon/locks/soft.lock")).expect("link");
        for target in ["hard", "soft"] {
            let out = locked(home, target, "printf 'ran\\n'\n");
            assert!(
                out.starts_with("@@error cannot open the lock file"),
                "{target}: {out}"
            );
        }
        assert_eq!(
            std::fs::read_to_string(&precious).expect("read"),
            "keep me\n"
        );
    }

    #[test]
    fn a_locks_folder_another_account_swapped_for_a_link_is_refused() {
        let at = super::super::Swappable::new(".recon");
        at.swap();
        let out = locked(&at.home, "one", "printf 'ran\\n'\n");
        assert!(
            out.starts_with("@@error cannot open the lock file"),
            "{out}"
        );
        assert_eq!(std::fs::read_dir(&at.secret).expect("ls").count(), 0);
    }
}
