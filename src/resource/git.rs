//! `git: { repo, dest, version, key_file, known_hosts, accept_hostkey, force, depth }`: a checkout
//! of `repo` at `dest` on the commit `version` names (a branch, a tag or a commit id). The probe
//! asks the remote with `git ls-remote` (never fetches: a plan writes nothing), so the plan shows
//! `old → new` commits exactly; how many commits that is needs the objects, so it is shown when
//! they are already on the host and said to be unknown until fetched otherwise (Terraform's
//! "known after apply"). Host keys are verified against `known_hosts` (no blind accept), and local
//! changes to tracked files are never discarded unless `force: true`.

use super::args::checked_path;
use super::{BuildContext, Claim, Problem, Resource, Sharing, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{n, p, w, Piece, Script};
use crate::yaml::Node;

/// A managed git checkout.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    repo: String,
    dest: String,
    /// A branch, a tag, `HEAD` or a full commit id.
    version: String,
    key_file: Option<String>,
    known_hosts: Option<String>,
    accept_hostkey: bool,
    force: bool,
    depth: Option<u64>,
}

/// The arguments of `git`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("repo")
        .required()
        .doc("an ssh, https, http, git or file URL, `user@host:path`, or a local path")
        .ansible(&["repo", "name"]),
    Arg::path("dest")
        .required()
        .doc("the checkout")
        .ansible(&["dest"]),
    Arg::str("version")
        .default("HEAD")
        .doc("a branch, a tag, `HEAD` or a full commit id")
        .ansible(&["version"]),
    Arg::path("key_file")
        .doc("the SSH key git uses")
        .ansible(&["key_file"]),
    Arg::path("known_hosts").doc("a known_hosts file pinning the server's key"),
    Arg::bool("accept_hostkey")
        .default("false")
        .doc("accept an unknown host key")
        .ansible(&["accept_hostkey"]),
    Arg::bool("force")
        .default("false")
        .doc("discard local changes in the checkout")
        .ansible(&["force"]),
    Arg::int("depth")
        .doc("a shallow clone of this many commits")
        .ansible(&["depth"]),
]];

/// Builds a `git` checkout from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Git> {
    let f = Fields::declared(args, "`git`", ARGS)?;
    let repo = f.required_string("repo")?;
    if repo.trim().is_empty() || repo.starts_with('-') {
        return Err(Error::invalid(
            "`repo` must be a repository URL or path (not empty, not starting with `-`)",
            &f.require("repo")?.span,
        ));
    }
    if let Some(why) = super::git_remote::refusal(&repo) {
        return Err(Error::invalid(
            format!("git repository `{repo}` is refused: {why}"),
            &f.require("repo")?.span,
        )
        .with_label("unsupported transport")
        .with_help("use an ssh, https, http, git or file URL, `user@host:path`, or a local path"));
    }
    let dest = checked_path(&f.required_string("dest")?, f.require("dest")?)?;
    let version = f.text("version")?;
    if let Some(node) = f.get("version") {
        if version.is_empty() || version.starts_with('-') || version.contains(char::is_whitespace) {
            return Err(Error::invalid(
                format!("`version` must be a branch, a tag or a commit id, not `{version}`"),
                &node.span,
            ));
        }
    }
    let ssh_path = |key: &str| -> Result<Option<String>> {
        let Some(node) = f.get(key) else {
            return Ok(None);
        };
        let text = checked_path(&f.required_string(key)?, node)?;
        // ssh reads option values itself: whitespace separates file names and `%` starts a
        // token, so such paths cannot be passed through `-o` faithfully.
        if text.contains(|c: char| c.is_whitespace() || c == '%' || c == '"') {
            return Err(Error::invalid(
                format!("`{key}` must not contain whitespace, `%` or `\"` (ssh would split or expand it)"),
                &node.span,
            ));
        }
        Ok(Some(text))
    };
    let depth = match (f.string("depth")?, f.get("depth")) {
        (Some(text), Some(node)) => {
            Some(text.parse::<u64>().ok().filter(|d| *d > 0).ok_or_else(|| {
                Error::invalid("`depth` must be a positive number of commits", &node.span)
            })?)
        }
        _ => None,
    };
    Ok(Git {
        repo,
        dest,
        version,
        key_file: ssh_path("key_file")?,
        known_hosts: ssh_path("known_hosts")?,
        accept_hostkey: f.flag("accept_hostkey")?,
        force: f.flag("force")?,
        depth,
    })
}

/// Whether `version` is a full commit id (then no remote lookup is needed).
fn is_commit_id(version: &str) -> bool {
    version.len() == 40 && version.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What the probe found at `dest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Local {
    Absent,
    /// Exists, is not a checkout and is not an empty directory.
    NotRepo,
    Repo {
        head: Option<String>,
        url: String,
        /// Tracked files with local changes.
        dirty: u64,
    },
    /// A `.git` folder git refuses to read (most often "dubious ownership": the checkout
    /// belongs to another account): git's own message. Planned as such, never as "no history".
    Refused(String),
    /// `dest` is behind this link, which another account controls and which leads out of its
    /// files (`script/walk.rs`): refused, never read or written through.
    Unsafe(String),
}

/// What the remote says `version` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Remote {
    /// The commit and the ref to fetch it by.
    Found {
        commit: String,
        reference: String,
    },
    NotFound,
    Failed(String),
}

/// The probe's whole answer, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) local: Local,
    pub(crate) remote: Remote,
    /// `rev-list --count head..new` and `new..head`, when the new commit is on the host.
    pub(crate) count: Option<(u64, u64)>,
    /// git is not installed on the host.
    pub(crate) no_git: bool,
}

/// Parses the probe's lines (`local …`, `url …`, `dirty …`, `new …`, `lserr …`, `count …`).
pub(crate) fn parse(output: &str) -> Observed {
    let mut local = Local::Absent;
    let mut remote = Remote::NotFound;
    let mut count = None;
    let (mut head, mut url, mut dirty) = (None, String::new(), 0);
    let mut repo = false;
    let mut no_git = false;
    for line in output.lines() {
        let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tag {
            "notrepo" => local = Local::NotRepo,
            "refused" => {
                local = Local::Refused(crate::text::from_base64(rest).trim().to_owned());
            }
            "nogit" => no_git = true,
            "unsafe" => local = Local::Unsafe(crate::text::from_base64(rest)),
            "head" => {
                repo = true;
                head = (rest != "-" && !rest.is_empty()).then(|| rest.to_owned());
            }
            "url" => crate::text::from_base64(rest)
                .trim_end_matches('\n')
                .clone_into(&mut url),
            "dirty" => dirty = rest.trim().parse().unwrap_or(0),
            "new" => {
                let mut words = rest.splitn(2, ' ');
                let commit = words.next().unwrap_or_default().to_owned();
                let reference = words.next().unwrap_or_default().to_owned();
                if !commit.is_empty() {
                    remote = Remote::Found { commit, reference };
                }
            }
            "lserr" => remote = Remote::Failed(crate::text::from_base64(rest).trim().to_owned()),
            "count" => {
                let mut words = rest.split(' ').map(str::parse::<u64>);
                if let (Some(Ok(ahead)), Some(Ok(behind))) = (words.next(), words.next()) {
                    count = Some((ahead, behind));
                }
            }
            _ => {}
        }
    }
    if repo && !matches!(local, Local::Refused(_) | Local::Unsafe(_)) {
        local = Local::Repo { head, url, dirty };
    }
    Observed {
        local,
        remote,
        count,
        no_git,
    }
}

fn short(commit: &str) -> String {
    commit.chars().take(12).collect()
}

/// What the apply does: all of it is fixed at plan time, the commit included.
#[derive(Debug)]
pub(crate) struct Decision {
    create: bool,
    set_url: bool,
    commit: String,
    reference: String,
}

impl Git {
    /// Exports the variables every git call of this checkout needs: `GIT_SSH_COMMAND` is fixed
    /// recon code that reads the key and known_hosts paths from the environment, so no path is
    /// ever parsed as shell by the child shell git runs it with. `GIT_OPTIONAL_LOCKS=0` keeps
    /// the probe's `git status` from rewriting `.git/index` (its stat refresh), so planning
    /// writes nothing, not even a new index owned by the connecting account.
    /// `GIT_ALLOW_PROTOCOL` keeps git to the transports `git_remote::refusal` accepts.
    fn environment(&self, s: &mut Script) {
        s.fill(
            "_d={}\n_r={}\n_v={}\n",
            [p(&self.dest), w(&self.repo), w(&self.version)],
        );
        s.code("export GIT_TERMINAL_PROMPT=0 GIT_OPTIONAL_LOCKS=0 GIT_ALLOW_PROTOCOL=")
            .word(super::git_remote::ALLOWED_PROTOCOLS)
            .code("\n");
        if let Some(key) = &self.key_file {
            s.fill("RECON_GIT_KEY={}\nexport RECON_GIT_KEY\n", [p(key)]);
        }
        if let Some(known) = &self.known_hosts {
            s.fill(
                "RECON_GIT_KNOWN_HOSTS={}\nexport RECON_GIT_KNOWN_HOSTS\n",
                [p(known)],
            );
        }
        s.code("export GIT_SSH_COMMAND='ssh -o BatchMode=yes");
        if self.key_file.is_some() {
            s.code(" -i \"$RECON_GIT_KEY\" -o IdentitiesOnly=yes");
        }
        if self.known_hosts.is_some() {
            s.code(" -o UserKnownHostsFile=\"$RECON_GIT_KNOWN_HOSTS\"");
        }
        s.code(if self.accept_hostkey {
            " -o StrictHostKeyChecking=accept-new'\n"
        } else {
            " -o StrictHostKeyChecking=yes'\n"
        });
    }

    /// The read-only probe: the checkout's head, origin URL and local changes; the remote's
    /// commit for `version` (`ls-remote`, no fetch); and the distance when the objects are here.
    fn probe(&self) -> Script {
        let mut s = Script::new();
        self.environment(&mut s);
        s.code("command -v git >/dev/null 2>&1 || { echo nogit; exit 0; }\n");
        // The checkout is read inside the folder the link-safe walk entered (`.`), in a
        // subshell: `ls-remote` below still runs where a relative `repo` means what it says.
        s.code(
            "( _walk \"$_d\"; _ws=$?\n\
             if [ \"$_ws\" = 2 ]; then printf 'unsafe '; printf %s \"$_wbad\" | base64 -w0; echo; exit 0; fi\n\
             if [ \"$_ws\" != 0 ]; then cd / && { [ -e \"$_d\" ] || [ -L \"$_d\" ]; } && echo notrepo; exit 0; fi\n\
             if [ -d .git ] && ! _ge=$(git -C . rev-parse --git-dir 2>&1 >/dev/null); then\n\
             \x20 printf 'refused '; printf '%s' \"$_ge\" | base64 -w0; echo\n\
             elif [ -d .git ]; then\n\
             \x20 printf 'head %s\\n' \"$(git -C . rev-parse -q --verify HEAD 2>/dev/null || echo -)\"\n\
             \x20 printf 'url %s\\n' \"$(git -C . config --get remote.origin.url | base64 -w0)\"\n\
             \x20 printf 'dirty %s\\n' \"$(git -C . status --porcelain --untracked-files=no 2>/dev/null | wc -l)\"\n\
             elif [ -n \"$(ls -A . 2>/dev/null)\" ]; then\n\
             \x20 echo notrepo\n\
             fi )\n",
        );
        if is_commit_id(&self.version) {
            s.code("_new=$_v\nprintf 'new %s %s\\n' \"$_v\" \"$_v\"\n");
        } else {
            // Heads first, then a tag's commit (peeled), then a lightweight tag, then `HEAD`.
            s.code(
                "if _ls=$(git ls-remote -- \"$_r\" \"$_v\" \"$_v^{}\" 2>&1); then\n\
                 \x20 _new=$(printf '%s\\n' \"$_ls\" | V=$_v awk -F '\\t' '\n\
                 \x20   $2 == \"refs/heads/\" ENVIRON[\"V\"] { h = $1 \" \" $2 }\n\
                 \x20   $2 == \"refs/tags/\" ENVIRON[\"V\"] \"^{}\" { pt = $1 \" refs/tags/\" ENVIRON[\"V\"] }\n\
                 \x20   $2 == \"refs/tags/\" ENVIRON[\"V\"] { t = $1 \" \" $2 }\n\
                 \x20   $2 == ENVIRON[\"V\"] { e = $1 \" \" $2 }\n\
                 \x20   END { if (h) print h; else if (pt) print pt; else if (t) print t; else if (e) print e }')\n\
                 \x20 [ -n \"$_new\" ] && printf 'new %s\\n' \"$_new\"\n\
                 \x20 _new=${_new%% *}\n\
                 else\n\
                 \x20 _new=; printf 'lserr '; printf '%s' \"$_ls\" | base64 -w0; echo\n\
                 fi\n",
            );
        }
        s.code(
            "if [ -n \"$_new\" ]; then ( _walk \"$_d\" 2>/dev/null || exit 0\n\
             if _h=$(git -C . rev-parse -q --verify HEAD 2>/dev/null) && git -C . cat-file -e \"$_new^{commit}\" 2>/dev/null; then\n\
             \x20 printf 'count %s %s\\n' \"$(git -C . rev-list --count \"$_h..$_new\")\" \"$(git -C . rev-list --count \"$_new..$_h\")\"\n\
             fi ); fi\n",
        );
        s
    }

    /// How the checkout moves to the commit of `reference` (`count`: commits ahead and behind,
    /// when the probe could count them).
    fn movement(&self, count: Option<(u64, u64)>, reference: &str) -> String {
        match count {
            Some((ahead, 0)) => format!(
                "{ahead} new commit(s) on {}",
                self.describe_version(reference)
            ),
            Some((0, behind)) => format!(
                "back {behind} commit(s) to {}",
                self.describe_version(reference)
            ),
            Some((ahead, behind)) => format!(
                "{ahead} commit(s) ahead and {behind} behind, to {}",
                self.describe_version(reference)
            ),
            None => format!(
                "number of commits unknown until fetched, to {}",
                self.describe_version(reference)
            ),
        }
    }

    fn describe_version(&self, reference: &str) -> String {
        if reference == self.version || is_commit_id(&self.version) {
            format!("`{}`", self.version)
        } else {
            format!("`{}` ({reference})", self.version)
        }
    }
}

/// A checkout's commit.
const COMMIT: Field = Field::new("commit");
/// A checkout's remote URL.
const REMOTE: Field = Field::new("remote");

impl Resource for Git {
    type Asked = Handle<CommandOutput>;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[COMMIT, REMOTE];

    fn id(&self) -> String {
        self.dest.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        vec![Claim {
            sharing: Sharing::Exclusive,
            ..Claim::path(&self.dest)
        }]
    }

    fn needs(&self) -> Vec<String> {
        self.key_file
            .iter()
            .chain(&self.known_hosts)
            .cloned()
            .collect()
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        facts.output(self.probe())
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let observed = parse(&facts.get(*asked).stdout);
        if observed.no_git {
            return Err(Problem::new(
                "git is not installed on the host (install the `git` package first)",
            ));
        }
        let (commit, reference) = match observed.remote {
            Remote::Found { commit, reference } => (commit, reference),
            Remote::NotFound => {
                return Err(Problem::new(format!(
                    "`{}` has no branch or tag `{}`",
                    self.repo, self.version
                )))
            }
            Remote::Failed(why) => {
                return Err(Problem::new(format!(
                    "cannot read `{}` (git ls-remote): {why}",
                    self.repo
                )))
            }
        };
        let decision = |create, set_url| Decision {
            create,
            set_url,
            commit: commit.clone(),
            reference: reference.clone(),
        };
        match observed.local {
            Local::Refused(why) if why.contains("dubious ownership") => Err(Problem::new(format!(
                "git refuses the checkout `{}`: dubious ownership (it belongs to another account \
                 than the one recon runs git as; give the task `become_user` of its owner, or \
                 chown it): {why}",
                self.dest
            ))),
            Local::Unsafe(link) => Err(super::refused_link(&self.dest, &link)),
            Local::Refused(why) => Err(Problem::new(format!(
                "git cannot read the checkout `{}`: {why}",
                self.dest
            ))),
            Local::NotRepo => Err(Problem::new(format!(
                "`{}` exists and is not a git checkout (nor an empty directory)",
                self.dest
            ))),
            Local::Absent => {
                let change = Change::new(Action::Create)
                    .field(COMMIT, None, Some(short(&commit)))
                    .reason(format!(
                        "clone `{}` at {}",
                        self.repo,
                        self.describe_version(&reference)
                    ));
                Ok(Some((change, decision(true, false))))
            }
            Local::Repo { head, url, dirty } => {
                let set_url = url != self.repo;
                let moves = head.as_deref() != Some(commit.as_str());
                if dirty > 0 && !self.force && moves {
                    return Err(Problem::new(format!(
                        "`{}` has local changes in {dirty} tracked file(s); refusing to discard them \
                         (commit or revert them, or set `force: true`)",
                        self.dest
                    )));
                }
                let discard = dirty > 0 && self.force;
                if !moves && !set_url && !discard {
                    return Ok(None);
                }
                let mut change = Change::new(Action::Update);
                if set_url {
                    change = change.field(REMOTE, Some(url), Some(self.repo.clone()));
                }
                let mut reasons = Vec::new();
                if moves {
                    change = change.field(
                        COMMIT,
                        Some(head.as_deref().map_or_else(|| "(none)".to_owned(), short)),
                        Some(short(&commit)),
                    );
                    reasons.push(self.movement(observed.count, &reference));
                }
                if discard {
                    reasons.push(format!("discard local changes in {dirty} file(s) (force)"));
                }
                Ok(Some((
                    change.reason(reasons.join("; ")),
                    decision(false, set_url),
                )))
            }
        }
    }

    fn script(&self, d: &Decision, s: &mut Script) {
        self.environment(s);
        s.fill("_new={}\n_ref={}\n", [w(&d.commit), w(&d.reference)]);
        if d.create {
            s.code("_mkdir 0755 \"$_d\" || exit 1\n");
        }
        // Entered with the link-safe walk and worked on as `.`: run as root (`become`), git
        // never writes through a link the account swapped into the path.
        s.code(
            "_walk \"$_d\"\ncase $? in 0) ;; 2) _refused; exit 1;; *) printf '%s is not a folder\\n' \"$_d\" >&2; exit 1;; esac\n",
        );
        if d.create {
            s.code("git init -q . && git -C . remote add origin \"$_r\" || exit 1\n");
        }
        if d.set_url {
            s.code("git -C . remote set-url origin \"$_r\" || exit 1\n");
        }
        if !self.force {
            s.code(
                "if [ -n \"$(git -C . status --porcelain --untracked-files=no)\" ]; then\n\
                 \x20 echo \"local changes in $_d; refusing to discard them without force: true:\" >&2\n\
                 \x20 git -C . status --short --untracked-files=no >&2; exit 1\n\
                 fi\n",
            );
        }
        // A branch is fetched into its remote-tracking ref; a tag, HEAD or a commit id by name.
        s.code("case $_ref in\n  refs/heads/*) _spec=\"+$_ref:refs/remotes/origin/${_ref#refs/heads/}\";;\n  *) _spec=$_ref;;\nesac\n");
        s.code("if ! git -C . cat-file -e \"$_new^{commit}\" 2>/dev/null; then\n  ")
            .bounded()
            .code("git -C . fetch -q");
        if let Some(depth) = self.depth {
            s.fill(" --depth {}", [n(depth)]);
        }
        s.code(" origin \"$_spec\" || exit 1\nfi\n");
        s.code(
            "if [ \"$(git -C . rev-parse -q --verify \"$_new^{commit}\")\" != \"$_new\" ]; then\n\
             \x20 echo \"the remote no longer has commit $_new for $_v; plan again\" >&2; exit 1\n\
             fi\n",
        );
        let force: Piece<'_> = w(if self.force { "-f" } else { "-q" });
        s.fill(
            "case $_ref in\n  refs/heads/*) git -C . checkout -q {} -B \"${_ref#refs/heads/}\" \"$_new\" || exit 1;;\n  *) git -C . checkout -q {} --detach \"$_new\" || exit 1;;\nesac\n",
            [force, force],
        );
        if self.force {
            s.code("git -C . reset -q --hard \"$_new\" || exit 1\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    const OLD: &str = "1111111111111111111111111111111111111111";
    const NEW: &str = "2222222222222222222222222222222222222222";

    fn git(force: bool) -> Git {
        Git {
            repo: "ssh://git@host/app.git".into(),
            dest: "/srv/app".into(),
            version: "main".into(),
            key_file: None,
            known_hosts: None,
            accept_hostkey: false,
            force,
            depth: None,
        }
    }

    fn answer(text: &str) -> Vec<FactValue> {
        vec![FactValue::Output(CommandOutput {
            status: 0,
            stdout: text.to_owned(),
        })]
    }

    fn url() -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode("ssh://git@host/app.git")
    }

    #[test]
    fn clone_update_converged_and_local_changes() {
        let (change, d) = decide(&git(false), answer(&format!("new {NEW} refs/heads/main\n")))
            .expect("ok")
            .expect("change");
        assert_eq!(change.action, Action::Create);
        assert!(d.create);
        assert_eq!(change.fields[0].after.as_deref(), Some("222222222222"));

        let here = |head: &str, dirty: u32, count: &str| {
            answer(&format!(
                "head {head}\nurl {}\ndirty {dirty}\nnew {NEW} refs/heads/main\n{count}",
                url()
            ))
        };
        assert!(decide(&git(false), here(NEW, 0, "")).expect("ok").is_none());
        assert!(
            decide(&git(false), here(NEW, 2, "")).expect("ok").is_none(),
            "local changes on the wanted commit are left alone"
        );
        let (change, _) = decide(&git(false), here(OLD, 0, "count 3 0\n"))
            .expect("ok")
            .expect("change");
        assert_eq!(change.fields[0].before.as_deref(), Some("111111111111"));
        assert!(change
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("3 new commit(s)"));
        let (change, _) = decide(&git(false), here(OLD, 0, ""))
            .expect("ok")
            .expect("change");
        assert!(change
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("unknown until fetched"));

        let refused = decide(&git(false), here(OLD, 1, "")).expect_err("dirty");
        assert!(refused.0.contains("refusing to discard"), "{refused}");
        assert!(decide(&git(true), here(OLD, 1, "")).expect("ok").is_some());
        assert!(
            decide(&git(true), here(NEW, 1, "")).expect("ok").is_some(),
            "force resets local changes"
        );
    }

    #[test]
    fn remote_problems_are_clear() {
        let missing = decide(&git(false), answer("")).expect_err("no ref");
        assert!(missing.0.contains("no branch or tag `main`"));
        let failed = decide(
            &git(false),
            answer("lserr SG9zdCBrZXkgdmVyaWZpY2F0aW9uIGZhaWxlZC4=\n"),
        )
        .expect_err("ls-remote failed");
        assert!(
            failed.0.contains("Host key verification failed."),
            "{failed}"
        );
        let dubious = decide(
            &git(false),
            answer(&format!(
                "refused {}\nnew {NEW} refs/heads/main\n",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    "fatal: detected dubious ownership in repository at '/srv/app'"
                )
            )),
        )
        .expect_err("refused checkout");
        assert!(dubious.0.contains("dubious ownership"), "{dubious}");
        assert!(
            dubious.0.contains("belongs to another account"),
            "{dubious}"
        );
        let nogit = decide(&git(false), answer("nogit\n")).expect_err("no git");
        assert!(nogit.0.contains("git is not installed"));
        let notrepo = decide(&git(false), answer(&format!("notrepo\nnew {NEW} HEAD\n")))
            .expect_err("not a repo");
        assert!(notrepo.0.contains("not a git checkout"));
    }
}
