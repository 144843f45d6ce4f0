//! Facts: what resources need to know about a host, declared up front and answered for the whole
//! host by ONE POSIX-sh probe script in one round trip. Resources never talk to hosts themselves;
//! their `diff` is a pure function of the answers.

use std::fmt::Write as _;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::marker::PhantomData;

use crate::script::{n, p, w, Script, BOUND_FUNCTIONS, HELPERS_FUNCTIONS, TEMP_FUNCTIONS};

mod kind;
#[cfg(test)]
mod kind_test;

pub(crate) use kind::{reading, Answered, Asked, Kind, Registered};

/// Files up to this size come back whole when their content is wanted, so plans can show diffs
/// (the probe's `_p` function holds the same number).
#[cfg(test)]
const CONTENT_LIMIT: u64 = 1024 * 1024;

/// One question about a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub(crate) enum Fact {
    /// stat, readlink and sha256 of a path, plus its content as asked.
    Path { path: String, content: Want },
    /// The exit status of a read-only check command (`unless:`).
    Guard { script: Script },
    /// Exit status and standard output of a read-only command (`supervisorctl status x`).
    Output { script: Script },
    /// What a bridged Ansible module answers in check mode: `payload` (base64 of the Python
    /// program Ansible packaged) run by `python` on the host, its output reduced by `summary`
    /// (recon's own Python code) to what the plan needs. It travels in the probe as a
    /// here-document: a payload is larger than one command-line argument may be.
    Module {
        payload: String,
        python: String,
        summary: String,
    },
    /// A question of a kind declared in its resource's file (`Kind`: the releases under a
    /// root, the host's packages, a walk only), saved as `{NAME: question}` like the others.
    #[serde(skip)]
    Own(Asked),
}

/// The core variants' names in saved plans; any other name is a `Kind`'s (a core variant added
/// to `Fact` is added here; `kind_test` reads each back).
const CORE_FACTS: &[&str] = &["Path", "Guard", "Output", "Module"];

impl Serialize for Fact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Fact::Own(asked) => asked.serialize(s),
            core => Fact::serialize(core, s),
        }
    }
}

impl<'de> Deserialize<'de> for Fact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        kind::read_saved(d, CORE_FACTS, Fact::deserialize, Fact::Own)
    }
}

/// A typed reference to one answer: what `FactSet`'s builder methods return and `Facts::get`
/// takes, so a resource can never read an answer of the wrong kind or position.
#[derive(Debug)]
pub(crate) struct Handle<T> {
    index: usize,
    answer: PhantomData<fn() -> T>,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Handle<T> {}

impl<T> Handle<T> {
    fn new(index: usize) -> Self {
        Self {
            index,
            answer: PhantomData,
        }
    }
}

/// The exit status of a guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Exit(pub(crate) i32);

/// What a read-only command printed, and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CommandOutput {
    pub(crate) status: i32,
    pub(crate) stdout: String,
}

/// An answer type a `Handle` can point at. A `Kind`'s answer takes the default (`impl Answer
/// for MyState {}`): it is found in `FactValue::Own` by its type.
pub(crate) trait Answer: Sized + 'static {
    fn of(value: &FactValue) -> Option<&Self> {
        match value {
            FactValue::Own(own) => own.get(),
            _ => None,
        }
    }
}

impl Answer for PathState {
    fn of(value: &FactValue) -> Option<&Self> {
        match value {
            FactValue::Path(v) => Some(v),
            _ => None,
        }
    }
}

impl Answer for Exit {
    fn of(value: &FactValue) -> Option<&Self> {
        match value {
            FactValue::Guard(v) => Some(v),
            _ => None,
        }
    }
}

impl Answer for CommandOutput {
    fn of(value: &FactValue) -> Option<&Self> {
        match value {
            FactValue::Output(v) => Some(v),
            _ => None,
        }
    }
}

/// A host's answers, one per fact of its `FactSet`, each of the fact's own kind (checked when
/// the reply is parsed), plus what the plan predicts earlier steps leave behind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    values: Vec<FactValue>,
    /// Facts whose command the probe bound stopped (index, the bound in seconds): their
    /// answers are placeholders the plan must not decide from.
    timed_out: Vec<(usize, u64)>,
    /// The SSH session the probe came in by (`None`: not SSH), for the door checks (`door/`).
    session: Option<crate::transport::Session>,
    /// The first planned step whose effects recon cannot predict (a bridged module that will
    /// change something, e.g. install a package): what it is. A unit it may bring is then
    /// known after apply for the steps after it, not an error.
    unseen: Option<String>,
}

impl Facts {
    /// The answer `handle` points at. Total: `FactSet::parse` proved every answer has the kind
    /// of its fact, and handles only come from the same set.
    pub(crate) fn get<T: Answer>(&self, handle: Handle<T>) -> &T {
        self.values
            .get(handle.index)
            .and_then(T::of)
            .expect("answers are checked against their facts when the reply is parsed")
    }

    /// Records that a planned step leaves `path` in `state`, for the steps after it.
    pub(crate) fn predict_path(&mut self, set: &FactSet, path: &str, state: &PathState) {
        for (i, fact) in set.facts.iter().enumerate() {
            if matches!(fact, Fact::Path { path: p, .. } if p == path) {
                self.values[i] = FactValue::Path(state.clone());
            }
        }
    }

    /// Records that a planned step (`what`) changes the host in ways recon cannot predict.
    pub(crate) fn predict_unseen(&mut self, what: String) {
        self.unseen.get_or_insert(what);
    }

    /// The first planned step so far whose effects recon cannot predict.
    pub(crate) fn unseen(&self) -> Option<&str> {
        self.unseen.as_deref()
    }

    /// Records what a read-only command will print after a planned step (a service it starts),
    /// for the steps after it (the handler that restarts it).
    pub(crate) fn predict_output(&mut self, handle: Handle<CommandOutput>, output: CommandOutput) {
        if let Some(slot) = self.values.get_mut(handle.index) {
            *slot = FactValue::Output(output);
        }
    }

    /// Records what a fact of kind `K` will answer after a planned step (the packages after
    /// the step that changes them), for the steps after it.
    pub(crate) fn predict<K: Kind>(&mut self, handle: Handle<K::Answer>, answer: K::Answer) {
        if let Some(slot) = self.values.get_mut(handle.index) {
            *slot = FactValue::of::<K>(answer);
        }
    }

    /// Answers given by hand, for unit tests of resources.
    #[cfg(test)]
    pub(crate) fn answered(values: Vec<FactValue>) -> Self {
        Self {
            values,
            timed_out: Vec::new(),
            session: None,
            unseen: None,
        }
    }

    /// The facts whose command ran into the probe bound: (fact index, bound in seconds).
    pub(crate) fn timed_out(&self) -> &[(usize, u64)] {
        &self.timed_out
    }

    /// Records the session the answers came through (the planner does, from the transport).
    pub(crate) fn set_session(&mut self, session: Option<crate::transport::Session>) {
        self.session = session;
    }

    /// The SSH session the probe came in by, if it was one.
    pub(crate) fn session(&self) -> Option<&crate::transport::Session> {
        self.session.as_ref()
    }

    /// The raw answers, for saved plans and stale-plan messages.
    pub(crate) fn values(&self) -> &[FactValue] {
        &self.values
    }
}

/// When a probe should send a file's bytes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Want {
    Never,
    Always,
    /// Only when the file's sha256 differs from this one (to show a content diff).
    UnlessSha(String),
}

impl Want {
    /// How the probe's `_p`/`_pq` are told: `-`, `always` or the sha256.
    fn word(&self) -> &str {
        match self {
            Self::Never => "-",
            Self::Always => "always",
            Self::UnlessSha(sha) => sha,
        }
    }
}

/// What the host answered for one `Fact`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub(crate) enum FactValue {
    Path(PathState),
    Guard(Exit),
    Output(CommandOutput),
    /// The answer to a `Fact::Own`, saved as `{NAME: answer}`.
    #[serde(skip)]
    Own(Answered),
}

/// The core answers' names in saved plans; any other name is a `Kind`'s (as `CORE_FACTS`).
const CORE_VALUES: &[&str] = &["Path", "Guard", "Output"];

impl Serialize for FactValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FactValue::Own(answered) => answered.serialize(s),
            core => FactValue::serialize(core, s),
        }
    }
}

impl<'de> Deserialize<'de> for FactValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        kind::read_saved(d, CORE_VALUES, FactValue::deserialize, FactValue::Own)
    }
}

impl FactValue {
    /// `answer`, of kind `K`, as a value (for predictions and for tests of resources).
    pub(crate) fn of<K: Kind>(answer: K::Answer) -> Self {
        FactValue::Own(Answered::of::<K>(answer))
    }
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
    /// Behind a link another account controls (`target` = the link): never read nor written.
    Unsafe,
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
            PathKind::Unsafe => "behind a link another account controls (recon does not follow it)",
        }
    }
}

/// Every fact one host needs, deduplicated; index = position.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct FactSet {
    pub(crate) facts: Vec<Fact>,
}

/// The shell functions the probe uses; also embedded in apply scripts for the stale check.
/// `_g IDX SECS SCRIPT` / `_o IDX SECS SCRIPT` run a guard / an output command under
/// `_bounded` (`T IDX SECS` when the bound stopped it), in a fresh `sh -c` that has the walk
/// helpers (`script::HELPERS_FUNCTIONS`), with the line numbers `sh` prints its own. A `Kind`
/// brings its own functions (`Kind::FUNCTIONS`). `_p IDX PATH WANT` answers a path: the
/// walk's judgement of its folder (`_wjudge`) is kept for the next path in the same folder
/// (`_pjd`; forgotten at the start of each probe and whenever a command runs); a folder the
/// judgement cannot clear takes the full walk, every time. `_pq DIR IDX NAME WANT...` asks
/// the paths of one folder (`FolderBatch`): in a trusted folder, which no other account can
/// change, they are queued by absolute path and `_pflush` answers the whole queue at the end
/// with one `stat` and one `sha256sum`, reading both outputs in order and matching each line
/// to its path (an entry the reader may not read has no line, and is `unreadable`); a path
/// with a newline, a carriage return or a backslash (which `sha256sum` escapes), or in a
/// folder the judgement does not clear, is answered alone by `_p`.
pub(crate) const PROBE_FUNCTIONS: &str = concat!(
    r#"_g() {
  _pjd=; _gt=$(date +%s)
  _bounded "$2" env "_recon_helpers=$_rt/helpers" sh -c "$_helped$3" </dev/null >/dev/null 2>&1; _grc=$?
  if _timed_out "$_grc" "$_gt" "$2"; then printf 'T %s %s\n' "$1" "$2"; return; fi
  printf 'G %s %s\n' "$1" "$_grc"
}
_mod() {
  _pjd=; _gt=$(date +%s)
  _out=$(_bounded "$2" "$3" - 2>&1 | "$3" -c "$4" check 2>&1); _grc=$?
  if _timed_out "$_grc" "$_gt" "$2"; then printf 'T %s %s\n' "$1" "$2"; return; fi
  printf 'O %s %s ' "$1" "$_grc"; printf %s "$_out" | base64 -w0; echo
}
_o() {
  _pjd=; _gt=$(date +%s)
  _out=$(_bounded "$2" env "_recon_helpers=$_rt/helpers" sh -c "$_helped$3" </dev/null 2>&1); _grc=$?
  if _timed_out "$_grc" "$_gt" "$2"; then printf 'T %s %s\n' "$1" "$2"; return; fi
  printf 'O %s %s ' "$1" "$_grc"; printf %s "$_out" | base64 -w0; echo
}
_p() {
  _pd=${2%/*}; _pn=${2##*/}; [ -n "$_pd" ] || _pd=/; [ -n "$_pn" ] || _pn=.
  if [ "$_pd" != "${_pjd-}" ]; then _pjd=$_pd; _wjudge "$_pd"; _pjs=$?; fi
  if [ "$_pjs" = 1 ]; then printf 'P %s absent\n' "$1"; return; fi
  if [ "$_pjs" = 0 ]; then
    ( cd -P -- "$_pd" 2>/dev/null || { printf 'P %s absent\n' "$1"; exit 0; }
      _p1 "$1" "./$_pn" "$3" )
    return
  fi
  ( _walk "$_pd"; _ps=$?
    if [ "$_ps" = 2 ]; then printf 'P %s unsafe ' "$1"; printf %s "$_wbad" | base64 -w0; echo; exit 0; fi
    if [ "$_ps" != 0 ]; then printf 'P %s absent\n' "$1"; exit 0; fi
    _p1 "$1" "./$_pn" "$3" )
}
_pq() {
  _pd=$1; shift
  if [ "$_pd" != "${_pjd-}" ]; then _pjd=$_pd; _wjudge "$_pd"; _pjs=$?; fi
  while [ "$#" -gt 0 ]; do
    case $_pd/$2 in
      *"$_pqn"*|*"$_pqr"*|*\\*) _p "$1" "${_pd%/}/$2" "$3";;
      *) _pql="$_pql$_pjs $1 $3 ${_pd%/}/$2$_pqn";;
    esac
    shift 3
  done
}
_pflush() {
  [ -n "$_pql" ] || return 0
  ( IFS=$_pqn; set -f; _pfs=; _pff=; _pft=
    for _pfr in $_pql; do
      _pfg=${_pfr%% *}; _pfr=${_pfr#* }; _pfp=${_pfr#* * }
      if [ "$_pfg" = 1 ]; then _pft="${_pft}a $_pfr$_pqn"
      elif [ "$_pfg" != 0 ]; then _pft="${_pft}p $_pfr$_pqn"
      elif [ -L "$_pfp" ]; then _pft="${_pft}L $_pfr$_pqn"
      elif [ -d "$_pfp" ]; then _pft="${_pft}d $_pfr$_pqn"; _pfs="$_pfs$_pfp$_pqn"
      elif [ -f "$_pfp" ]; then _pft="${_pft}f $_pfr$_pqn"; _pfs="$_pfs$_pfp$_pqn"; _pff="$_pff$_pfp$_pqn"
      elif [ -e "$_pfp" ]; then _pft="${_pft}o $_pfr$_pqn"
      else _pft="${_pft}a $_pfr$_pqn"
      fi
    done
    _pfa=; _pfh=
    [ -z "$_pfs" ] || _pfa=$(stat -c '%a %U %G %s %n' -- $_pfs 2>/dev/null)
    [ -z "$_pff" ] || _pfh=$(sha256sum -- $_pff 2>/dev/null)
    set -- $_pfa; _pfi=1; _pfj=$(($# + 1)); set -- "$@" $_pfh
    for _pfr in $_pft; do
      unset IFS; set +f
      _pfk=${_pfr%% *}; _pfr=${_pfr#* }; _pfx=${_pfr%% *}; _pfw=${_pfr#* }; _pfp=${_pfw#* }; _pfw=${_pfw%% *}
      case $_pfk in
        p) _p "$_pfx" "$_pfp" "$_pfw"; continue;;
        L) printf 'P %s link ' "$_pfx"; readlink -- "$_pfp" | base64 -w0; echo; continue;;
        o) printf 'P %s other\n' "$_pfx"; continue;;
        a) printf 'P %s absent\n' "$_pfx"; continue;;
      esac
      eval "_pfl=\${$_pfi-}"
      _pfm=${_pfl%" $_pfp"}
      if [ "$_pfm" = "$_pfl" ]; then printf 'P %s unreadable\n' "$_pfx"; continue; fi
      _pfi=$((_pfi + 1)); _pfl=$_pfm
      if [ "$_pfk" = d ]; then printf 'P %s dir %s 0\n' "$_pfx" "${_pfl% *}"; continue; fi
      eval "_pfc=\${$_pfj-}"
      if [ "${_pfc#*  }" != "$_pfp" ]; then printf 'P %s unreadable\n' "$_pfx"; continue; fi
      _pfj=$((_pfj + 1)); _pfc=${_pfc%%  *}
      printf 'P %s file %s %s\n' "$_pfx" "$_pfl" "$_pfc"
      case $_pfw in always) ;; -|"$_pfc") continue;; esac
      [ "${_pfl##* }" -gt 1048576 ] || { printf 'C %s ' "$_pfx"; base64 -w0 < "$_pfp"; echo; }
    done )
  _pql=
}
_pqn='
'
_p1() {
  if [ -L "$2" ]; then
    printf 'P %s link ' "$1"; readlink -- "$2" | base64 -w0; echo
  elif [ -d "$2" ]; then
    stat -c "P $1 dir %a %U %G 0" -- "$2" 2>/dev/null || printf 'P %s unreadable\n' "$1"
  elif [ -f "$2" ]; then
    _s=$(sha256sum < "$2" 2>/dev/null) || { printf 'P %s unreadable\n' "$1"; return; }
    _s=${_s%% *}
    stat -c "P $1 file %a %U %G %s $_s" -- "$2"
    case $3 in always) ;; -|"$_s") return ;; esac
    [ "$(stat -c %s -- "$2")" -le 1048576 ] || return 0
    printf 'C %s ' "$1"; base64 -w0 < "$2"; echo
  elif [ -e "$2" ]; then
    printf 'P %s other\n' "$1"
  else
    printf 'P %s absent\n' "$1"
  fi
}
"#,
    // A carriage return, which a raw string cannot hold: `sha256sum` escapes it in names.
    "_pqr='\r'\n"
);

impl FactSet {
    /// Asks for a path's state (and its bytes, as `content` says).
    pub(crate) fn path(&mut self, path: &str, content: Want) -> Handle<PathState> {
        Handle::new(self.add(Fact::Path {
            path: path.to_owned(),
            content,
        }))
    }

    /// Asks for the exit status of a read-only check.
    pub(crate) fn guard(&mut self, script: Script) -> Handle<Exit> {
        Handle::new(self.add(Fact::Guard { script }))
    }

    /// Asks for what a read-only command prints.
    pub(crate) fn output(&mut self, script: Script) -> Handle<CommandOutput> {
        Handle::new(self.add(Fact::Output { script }))
    }

    /// Asks what a bridged module answers in check mode (`Fact::Module`).
    pub(crate) fn module(
        &mut self,
        payload: &[u8],
        python: &str,
        summary: &'static str,
    ) -> Handle<CommandOutput> {
        use base64::Engine as _;
        Handle::new(self.add(Fact::Module {
            payload: base64::engine::general_purpose::STANDARD.encode(payload),
            python: python.to_owned(),
            summary: summary.to_owned(),
        }))
    }

    /// Asks a question of a `Kind` declared in its resource's file: shared with an equal
    /// question, or merged into one of its kind that takes it (`Kind::merge`).
    pub(crate) fn ask<K: Kind>(&mut self, question: K) -> Handle<K::Answer> {
        for (i, fact) in self.facts.iter_mut().enumerate() {
            if let Some(mine) = match fact {
                Fact::Own(asked) => asked.get_mut::<K>(),
                _ => None,
            } {
                if *mine == question || mine.merge(&question) {
                    return Handle::new(i);
                }
            }
        }
        Handle::new(self.add(Fact::Own(Asked::new(question))))
    }

    /// Adds `fact` (or finds the identical one) and returns its index.
    fn add(&mut self, fact: Fact) -> usize {
        if let Some(i) = self.facts.iter().position(|f| *f == fact) {
            return i;
        }
        self.facts.push(fact);
        self.facts.len() - 1
    }

    /// The probe's functions (with the temp folder's, `script/temp.rs`) and `_probe`, its
    /// body: one line per fact, run once `_tmp_open` made the private temp folder. `_probe`
    /// first writes the walk helpers there and sources them (`_helpers`), so they are defined
    /// once for the probe itself and for each of its commands (`_g`/`_o`).
    /// Commands (guards, outputs) run under the probe bound (`script::probe_limit`).
    pub(crate) fn probe_function(&self) -> Script {
        let limit = n(crate::script::probe_limit());
        let mut s = Script::new();
        s.code(PRELUDE)
            .code(BOUND_FUNCTIONS)
            .code(TEMP_FUNCTIONS)
            .code(HELPERS_FUNCTIONS)
            .code(PROBE_FUNCTIONS);
        let mut kinds: Vec<&str> = Vec::new();
        for fact in &self.facts {
            if let Fact::Own(asked) = fact {
                if !kinds.contains(&asked.name()) {
                    kinds.push(asked.name());
                    s.code(asked.functions());
                }
            }
        }
        s.code("_probe() {\n  _helpers || return 1\n  _pjd=; _pql=\n  printf '@@probe\\n'\n");
        let batches = folder_batches(&self.facts);
        for (at, fact) in self.facts.iter().enumerate() {
            let index = u64::try_from(at).unwrap_or(u64::MAX);
            let i = n(index);
            match fact {
                Fact::Path { path, content } => match batches.get(&at) {
                    Some(batch) => {
                        s.code("  _pq ").path(batch.folder);
                        for (member, name, want) in &batch.members {
                            let member = u64::try_from(*member).unwrap_or(u64::MAX);
                            s.fill(" {} {} {}", [n(member), w(name), w(want.word())]);
                        }
                        s.code("\n");
                    }
                    None if batches.values().any(|b| b.has(at)) => {}
                    None => {
                        s.fill("  _p {} {} {}\n", [i, p(path), w(content.word())]);
                    }
                },
                Fact::Guard { script } => {
                    s.fill("  _g {} {} ", [i, limit])
                        .word(script.as_str())
                        .code("\n");
                }
                Fact::Output { script } => {
                    s.fill("  _o {} {} ", [i, limit])
                        .word(script.as_str())
                        .code("\n");
                }
                Fact::Module {
                    payload,
                    python,
                    summary,
                } => {
                    use base64::Engine as _;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(payload)
                        .unwrap_or_default();
                    let mut rest = Script::new();
                    rest.fill(" | _mod {} {} {} ", [i, limit, w(python)])
                        .word(summary);
                    s.code("  base64 -d")
                        .base64_heredoc_then_script(&bytes, &rest);
                }
                Fact::Own(asked) => asked.ask(index, &mut s),
            }
        }
        s.code("  _pflush\n  printf '@@end\\n'\n}\n");
        s
    }

    /// The complete read-only probe script.
    pub(crate) fn probe_script(&self) -> Script {
        let mut s = self.probe_function();
        s.code(
            "_tmp_open || { echo 'cannot create a private temp folder' >&2; exit 1; }\n_probe\n",
        );
        s
    }

    /// Parses a probe reply into one value per fact.
    pub(crate) fn parse(&self, reply: &str) -> Result<Facts, ProbeError> {
        let mut values: Vec<Option<FactValue>> = vec![None; self.facts.len()];
        let mut lines = reply.lines().skip_while(|l| *l != "@@probe");
        if lines.next().is_none() {
            return Err(ProbeError::NoAnswer);
        }
        let mut ended = false;
        let mut timed_out = Vec::new();
        for line in lines {
            if line == "@@end" {
                ended = true;
                break;
            }
            if let Some(rest) = line.strip_prefix("T ") {
                let stopped =
                    self.stopped(rest, &mut values)
                        .ok_or_else(|| ProbeError::Unexpected {
                            line: line.to_owned(),
                            why: None,
                        })?;
                timed_out.push(stopped);
                continue;
            }
            self.read_line(line, &mut values)
                .map_err(|why| ProbeError::Unexpected {
                    line: line.to_owned(),
                    why: Some(why),
                })?;
        }
        if !ended {
            return Err(ProbeError::CutShort);
        }
        let values = values
            .into_iter()
            .zip(&self.facts)
            .enumerate()
            .map(|(i, (v, fact))| match v {
                Some(FactValue::Own(mut answer)) => match fact {
                    Fact::Own(asked) if asked.finish(&mut answer) => Ok(FactValue::Own(answer)),
                    _ => Err(ProbeError::WrongKind(i)),
                },
                Some(v) if v.answers(fact) => Ok(v),
                Some(_) => Err(ProbeError::WrongKind(i)),
                None => Err(ProbeError::Unanswered(i)),
            })
            .collect::<Result<_, ProbeError>>()?;
        Ok(Facts {
            values,
            timed_out,
            session: None,
            unseen: None,
        })
    }

    /// `T IDX SECS`: the bound stopped fact IDX's command. Its answer becomes a placeholder of
    /// its kind (status 124), so the reply still parses; the caller reports the stop.
    fn stopped(&self, rest: &str, values: &mut [Option<FactValue>]) -> Option<(usize, u64)> {
        let (index, secs) = rest.split_once(' ')?;
        let (index, secs): (usize, u64) = (index.parse().ok()?, secs.parse().ok()?);
        let placeholder = match self.facts.get(index)? {
            Fact::Guard { .. } => FactValue::Guard(Exit(124)),
            Fact::Output { .. } | Fact::Module { .. } => FactValue::Output(CommandOutput {
                status: 124,
                stdout: String::new(),
            }),
            _ => return None,
        };
        *values.get_mut(index)? = Some(placeholder);
        Some((index, secs))
    }

    /// One reply line `TAG IDX ...`, read by fact IDX's kind into its slot.
    fn read_line(&self, line: &str, values: &mut [Option<FactValue>]) -> Result<(), &'static str> {
        let mut words = line.split(' ');
        let tag = words.next().ok_or("empty")?;
        let index: usize = words
            .next()
            .and_then(|w| w.parse().ok())
            .ok_or("bad index")?;
        let slot = values.get_mut(index).ok_or("index out of range")?;
        match self.facts.get(index) {
            Some(Fact::Own(asked)) => asked.read(tag, &mut words, slot),
            _ => parse_line(tag, &mut words, slot),
        }
    }
}

/// Settings every recon script starts with: predictable output, no surprises from the login shell.
const PRELUDE: &str = "export LC_ALL=C\numask 022\n";

impl FactValue {
    /// Whether this answer has the kind `fact` asks for.
    fn answers(&self, fact: &Fact) -> bool {
        matches!(
            (fact, self),
            (Fact::Path { .. }, FactValue::Path(_))
                | (Fact::Guard { .. }, FactValue::Guard(_))
                | (
                    Fact::Output { .. } | Fact::Module { .. },
                    FactValue::Output(_)
                )
        )
    }
}

/// Why a probe reply does not parse: the script and its parser disagree, or the reply was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProbeError {
    /// No `@@probe` line at all.
    NoAnswer,
    /// A line the parser does not know, and what is wrong with it when known.
    Unexpected {
        line: String,
        why: Option<&'static str>,
    },
    /// No `@@end` line.
    CutShort,
    /// Fact `i` answered with another kind of value.
    WrongKind(usize),
    /// Fact `i` has no answer.
    Unanswered(usize),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoAnswer => f.write_str("the probe printed no answer"),
            Self::Unexpected { line, why: None } => write!(f, "unexpected probe line `{line}`"),
            Self::Unexpected {
                line,
                why: Some(why),
            } => write!(f, "unexpected probe line `{line}`: {why}"),
            Self::CutShort => f.write_str("the probe reply was cut short"),
            Self::WrongKind(i) => write!(f, "the probe answered fact {i} with the wrong kind"),
            Self::Unanswered(i) => write!(f, "the probe did not answer fact {i}"),
        }
    }
}

impl std::error::Error for ProbeError {}

impl Fact {
    /// What changed when this fact's answer went from `before` to `after`, named in the
    /// stale-plan message.
    pub(crate) fn drifted(&self, before: &FactValue, after: &FactValue) -> String {
        match (self, before, after) {
            (Fact::Path { path, .. }, _, _) => format!("`{path}`"),
            (
                Fact::Output { script },
                FactValue::Output(CommandOutput { stdout: was, .. }),
                FactValue::Output(CommandOutput { stdout: now, .. }),
            ) => format!(
                "the output of `{}` (was {:?}, now {:?})",
                clip(script.as_str()),
                clip(was),
                clip(now)
            ),
            (Fact::Guard { script } | Fact::Output { script }, _, _) => {
                format!("the result of `{}`", clip(script.as_str()))
            }
            (Fact::Module { .. }, _, _) => "what an Ansible module's check mode answers".to_owned(),
            (Fact::Own(asked), FactValue::Own(was), FactValue::Own(now)) => asked
                .drifted(was, now)
                .unwrap_or_else(|| format!("the {} answer", asked.name())),
            (Fact::Own(asked), _, _) => format!("the {} answer", asked.name()),
        }
    }
}

/// `text` trimmed to its first 120 characters, for messages.
fn clip(text: &str) -> &str {
    let text = text.trim();
    text.get(..text.char_indices().nth(120).map_or(text.len(), |(i, _)| i))
        .unwrap_or(text)
}

/// A core fact's reply line (`tag`, then the `words` after its index) into its `slot`.
fn parse_line<'w>(
    tag: &str,
    words: &mut impl Iterator<Item = &'w str>,
    slot: &mut Option<FactValue>,
) -> Result<(), &'static str> {
    match tag {
        "O" => {
            let status = words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or("bad status")?;
            let stdout = String::from_utf8_lossy(&decode(words.next().unwrap_or(""))?).into_owned();
            *slot = Some(FactValue::Output(CommandOutput { status, stdout }));
        }
        "G" => {
            let status = words
                .next()
                .and_then(|w| w.parse().ok())
                .ok_or("bad status")?;
            *slot = Some(FactValue::Guard(Exit(status)));
        }
        "C" => {
            let data = decode(words.next().unwrap_or(""))?;
            match slot {
                Some(FactValue::Path(state)) => state.content = Some(data),
                _ => return Err("content before stat"),
            }
        }
        "P" => *slot = Some(FactValue::Path(parse_path(words)?)),
        _ => return Err("unknown tag"),
    }
    Ok(())
}

/// A `P` line's path state after its tag and index: `KIND [MODE OWNER GROUP SIZE [SHA256]]`,
/// or a link's (or an unsafe link's) base64 target.
fn parse_path<'w>(words: &mut impl Iterator<Item = &'w str>) -> Result<PathState, &'static str> {
    let kind = words.next().ok_or("no kind")?;
    let mut state = PathState::default();
    match kind {
        "absent" => state.kind = PathKind::Absent,
        "other" => state.kind = PathKind::Other,
        "unreadable" => state.kind = PathKind::Unreadable,
        "unsafe" => {
            state.kind = PathKind::Unsafe;
            let raw = decode(words.next().unwrap_or(""))?;
            state.target = Some(String::from_utf8_lossy(&raw).into_owned());
        }
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
    Ok(state)
}

/// One base64 word of a reply line, strictly: a garbled reply is an error, not an answer.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, &'static str> {
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

/// The paths of one folder the probe asks together (`_pq`), written where the first of them
/// would be: its folder's judgement is made once, and every path of every trusted folder is
/// answered by one `stat` and one `sha256sum` for the whole probe (`_pflush`), not two
/// programs per path.
struct FolderBatch<'a> {
    folder: &'a str,
    /// Fact index, name in the folder, and what content is wanted.
    members: Vec<(usize, &'a str, &'a Want)>,
}

impl FolderBatch<'_> {
    fn has(&self, at: usize) -> bool {
        self.members.iter().any(|(member, _, _)| *member == at)
    }
}

/// The folder batches of `facts`, keyed by the index of each batch's first path. A path is
/// batched when it is absolute (or `~/`-rooted) and names an entry of a folder; `_pq` still
/// answers one alone (`_p`) when its expanded path holds a newline or a backslash, or its
/// folder is not trusted.
fn folder_batches(facts: &[Fact]) -> std::collections::HashMap<usize, FolderBatch<'_>> {
    let mut batches: std::collections::HashMap<usize, FolderBatch<'_>> =
        std::collections::HashMap::new();
    let mut first_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (at, fact) in facts.iter().enumerate() {
        let Fact::Path { path, content } = fact else {
            continue;
        };
        let Some((folder, name)) = batchable(path) else {
            continue;
        };
        let first = *first_of.entry(folder).or_insert(at);
        batches
            .entry(first)
            .or_insert_with(|| FolderBatch {
                folder,
                members: Vec::new(),
            })
            .members
            .push((at, name, content));
    }
    batches
}

/// `path` as its folder and its name, when the probe can batch it.
fn batchable(path: &str) -> Option<(&str, &str)> {
    if !(path.starts_with('/') || path.starts_with("~/")) {
        return None;
    }
    let (folder, name) = path.rsplit_once('/')?;
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    Some((if folder.is_empty() { "/" } else { folder }, name))
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

/// A guard command for the probe: run `cmd` with `sh -c` in `chdir` (entered with the link-safe
/// walk, `_cd`), with `env` set.
pub(crate) fn guard_script(cmd: &str, chdir: Option<&str>, env: &[(String, String)]) -> Script {
    let mut s = Script::new();
    if let Some(dir) = chdir {
        s.fill("_cd {} && ", [p(dir)]);
    }
    if !env.is_empty() {
        s.code("env");
        for (k, v) in env {
            s.words([format!("{k}={v}").as_str()]);
        }
        s.code(" ");
    }
    s.user_command(cmd);
    s
}

#[cfg(test)]
impl FactSet {
    /// The probe's reply when run here under a real `sh`, for tests.
    pub(crate) fn reply_here(&self) -> String {
        let out = std::process::Command::new("sh")
            .args(["-c", self.probe_script().as_str()])
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// The answers when the probe runs here, for tests.
    pub(crate) fn run_here(&self) -> Facts {
        self.parse(&self.reply_here()).expect("parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reads_files_dirs_links_and_guards_in_one_script() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a file");
        std::fs::write(&file, "hello\n").expect("write");
        std::os::unix::fs::symlink("some target", dir.path().join("link")).expect("link");
        let mut set = FactSet::default();
        let text = |p: &std::path::Path| p.to_str().expect("utf8").to_owned();
        let file_h = set.path(&text(&file), Want::Always);
        let dir_h = set.path(&text(dir.path()), Want::Never);
        let link_h = set.path(&text(&dir.path().join("link")), Want::Never);
        let absent_h = set.path(&text(&dir.path().join("nope")), Want::Never);
        let guard_h = set.guard(guard_script("exit 3", None, &[]));
        let again = set.path(&text(&file), Want::Always);
        assert_eq!(set.facts.len(), 5, "deduplicated");
        let facts = set.run_here();
        let file_state = facts.get(file_h);
        assert_eq!(file_state.kind, PathKind::File);
        assert_eq!(
            file_state.sha256.as_deref(),
            Some(sha256_hex(b"hello\n").as_str())
        );
        assert_eq!(file_state.content.as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(facts.get(again), file_state);
        assert_eq!(facts.get(dir_h).kind, PathKind::Dir);
        assert_eq!(facts.get(link_h).target.as_deref(), Some("some target"));
        assert_eq!(facts.get(absent_h).kind, PathKind::Absent);
        assert_eq!(*facts.get(guard_h), Exit(3));
    }

    /// Runs `script` under `sh` as `nobody`, returning what it printed.
    fn reply_as_nobody(script: &str) -> String {
        use std::os::unix::process::CommandExt;
        let out = std::process::Command::new("sh")
            .args(["-c", script])
            .current_dir("/")
            .uid(65534)
            .gid(65534)
            .output()
            .expect("sh runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// `set`'s probe asking each of `paths` alone (`_p`), in order: what the batch must equal.
    fn one_at_a_time(set: &FactSet, paths: &[(std::path::PathBuf, Want)]) -> Script {
        let mut script = set.probe_function();
        script.code("_tmp_open || exit 1\n_helpers || exit 1\nprintf '@@probe\\n'\n");
        for (at, (path, want)) in paths.iter().enumerate() {
            let at = u64::try_from(at).expect("index");
            script.fill(
                "_p {} {} {}\n",
                [n(at), p(path.to_str().expect("utf8")), w(want.word())],
            );
        }
        script.code("printf '@@end\\n'\n");
        script
    }

    /// The paths of a folder asked together (one `stat`, one `sha256sum`) are answered exactly
    /// as one at a time (`_p`): every kind of entry, a file its reader may not read between
    /// two it may (the answers after it stay with their own paths), names that cannot be
    /// batched (a backslash, a newline, a leading dash), content wanted or not, a second
    /// folder and one below a missing folder.
    #[test]
    fn paths_asked_by_folder_get_the_answers_they_get_one_at_a_time() {
        use std::os::unix::fs::PermissionsExt;
        let top = tempfile::tempdir().expect("tempdir");
        let base = top.path().canonicalize().expect("canonical");
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let folder = base.join("home");
        std::fs::create_dir(&folder).expect("mkdir");
        let write = |name: &str, body: &[u8], mode: u32| {
            let path = folder.join(name);
            std::fs::write(&path, body).expect("write");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            path
        };
        let mut paths = vec![
            (write("a", b"one", 0o644), Want::Always),
            // Root's, 0600: `nobody` can stat it but not read it.
            (write("b-secret", b"two", 0o600), Want::Always),
            (
                write("c", b"three", 0o640),
                Want::UnlessSha(sha256_hex(b"three")),
            ),
            (
                write("d", b"four", 0o644),
                Want::UnlessSha(sha256_hex(b"other")),
            ),
            (write("-dash", b"five", 0o644), Want::Never),
            (write("back\\slash", b"six", 0o644), Want::Always),
            (write("new\nline", b"seven", 0o644), Want::Always),
            (write("car\rriage", b"eight", 0o644), Want::Always),
            (write("big", &vec![b'x'; 1_048_577], 0o644), Want::Always),
            (write("empty", b"", 0o644), Want::Always),
        ];
        std::fs::create_dir(folder.join("dir")).expect("mkdir");
        std::os::unix::fs::symlink("a", folder.join("link")).expect("link");
        let fifo = folder.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        for name in ["dir", "link", "fifo", "absent"] {
            paths.push((folder.join(name), Want::Never));
        }
        paths.push((base.clone(), Want::Never));
        paths.push((folder.join("missing/x"), Want::Never));
        for entry in std::fs::read_dir(&folder).expect("ls") {
            let entry = entry.expect("entry");
            if entry.file_name() != "b-secret" {
                std::os::unix::fs::lchown(entry.path(), Some(65534), Some(65534)).expect("chown");
            }
        }
        std::os::unix::fs::lchown(&folder, Some(65534), Some(65534)).expect("chown");
        let mut set = FactSet::default();
        for (path, want) in &paths {
            set.path(path.to_str().expect("utf8"), want.clone());
        }
        let batched = set.probe_script();
        assert!(batched.as_str().contains("  _pq "), "the folder is batched");
        let one_by_one = one_at_a_time(&set, &paths);
        let expected = set
            .parse(&reply_as_nobody(one_by_one.as_str()))
            .expect("parses");
        let got = set
            .parse(&reply_as_nobody(batched.as_str()))
            .expect("parses");
        for (at, (path, _)) in paths.iter().enumerate() {
            assert_eq!(
                got.values()[at],
                expected.values()[at],
                "{}",
                path.display()
            );
        }
        let kind = |at: usize| match &got.values()[at] {
            FactValue::Path(state) => state.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(kind(0).content.as_deref(), Some(&b"one"[..]));
        assert_eq!(kind(1).kind, PathKind::Unreadable);
        assert_eq!(
            (kind(2).kind, kind(2).content.clone()),
            (PathKind::File, None)
        );
        assert_eq!(kind(3).content.as_deref(), Some(&b"four"[..]));
        assert_eq!(
            kind(4).sha256.as_deref(),
            Some(sha256_hex(b"five").as_str())
        );
        assert_eq!(kind(6).content.as_deref(), Some(&b"seven"[..]));
        assert_eq!(kind(7).content.as_deref(), Some(&b"eight"[..]));
        assert_eq!((kind(8).size, kind(8).content.clone()), (1_048_577, None));
        assert_eq!(kind(11).target.as_deref(), Some("a"));
        assert_eq!(kind(12).kind, PathKind::Other);
        assert_eq!(kind(13).kind, PathKind::Absent);
    }

    /// The apply's stale check compares the sha256 of the whole reply: the same answers must
    /// come in the same order whatever the folders' judgement, or a plan made before an
    /// earlier play (or another host) created a folder is refused as stale though no path it
    /// asked about changed.
    #[test]
    fn a_reply_is_the_same_text_whether_the_folder_is_missing_or_there() {
        let top = tempfile::tempdir().expect("tempdir");
        let folder = top.path().join("etc/app");
        let mut set = FactSet::default();
        set.path(top.path().to_str().expect("utf8"), Want::Never);
        for name in ["a.conf", "b.conf"] {
            set.path(folder.join(name).to_str().expect("utf8"), Want::Always);
        }
        set.guard(guard_script("true", None, &[]));
        set.path(folder.join("c").to_str().expect("utf8"), Want::Never);
        let missing = set.reply_here();
        std::fs::create_dir_all(&folder).expect("mkdir");
        assert_eq!(set.reply_here(), missing);
    }

    #[test]
    fn content_is_not_sent_when_the_checksum_matches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "same").expect("write");
        let mut set = FactSet::default();
        let h = set.path(
            file.to_str().expect("utf8"),
            Want::UnlessSha(sha256_hex(b"same")),
        );
        assert_eq!(set.run_here().get(h).content, None);
    }

    #[test]
    fn the_probe_sends_content_up_to_the_limit() {
        assert!(PROBE_FUNCTIONS.contains(&CONTENT_LIMIT.to_string()));
    }

    #[test]
    fn truncated_or_mismatched_reply_is_an_error() {
        let mut set = FactSet::default();
        set.path("/", Want::Never);
        assert!(set.parse("@@probe\nP 0 absent\n").is_err());
        assert!(set.parse("@@probe\n@@end\n").is_err());
        assert!(set.parse("@@probe\nG 0 1\n@@end\n").is_err(), "wrong kind");
        assert!(set.parse("@@probe\nP 0 absent\n@@end\n").is_ok());
    }

    #[test]
    fn guard_env_and_chdir_values_arrive_exactly_and_run_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hostile = "$(touch pwned) `touch pwned2` ' \" ; & \\ \r\n end";
        let mut set = FactSet::default();
        let h = set.output(guard_script(
            "printf %s \"$V\"",
            Some(dir.path().to_str().expect("utf8")),
            &[("V".to_owned(), hostile.to_owned())],
        ));
        let facts = set.run_here();
        assert_eq!(facts.get(h).stdout, hostile);
        assert!(!dir.path().join("pwned").exists());
        assert!(!dir.path().join("pwned2").exists());
    }

    #[test]
    fn probe_commands_have_the_walk_and_keep_their_own_line_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).expect("mkdir");
        let mut set = FactSet::default();
        let walked = set.output(Script::of("_walk / && pwd -P && _walk /no/such/dir"));
        let guard = set.guard(Script::of("_walk /"));
        let numbered = set.output(guard_script("true\nrecon_no_such_command_here", None, &[]));
        let clean = set.output(Script::of("printf '%s' \"${_recon_helpers-unset}\""));
        let out = std::process::Command::new("sh")
            .args(["-c", set.probe_script().as_str()])
            .env("TMPDIR", &tmp)
            .output()
            .expect("sh runs");
        let facts = set
            .parse(&String::from_utf8_lossy(&out.stdout))
            .expect("parses");
        assert_eq!(
            *facts.get(walked),
            CommandOutput {
                status: 1,
                stdout: "/".to_owned()
            }
        );
        assert_eq!(*facts.get(guard), Exit(0));
        let message = &facts.get(numbered).stdout;
        assert!(
            message.starts_with("sh: 2: recon_no_such_command_here: not found"),
            "{message}"
        );
        assert_eq!(
            facts.get(clean).stdout,
            "unset",
            "the helper path is not left set"
        );
        assert_eq!(
            std::fs::read_dir(&tmp).expect("ls").count(),
            0,
            "the private temp folder is gone"
        );
    }
}
