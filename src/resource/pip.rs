//! `pip: { name | requirements, state, version, virtualenv, virtualenv_command,
//! virtualenv_python, virtualenv_site_packages, executable, extra_args, chdir, editable }`:
//! Python packages installed by pip on the host (Ansible's `pip`). The probe reads `pip freeze`
//! (and the requirements file), so the plan is exact for plain requirements (`name`,
//! `name==1.2`, `name>=1,<2`): a converged host plans nothing. What recon cannot judge (URLs,
//! paths, editable installs, `state: latest`) runs and is "changed" only when `pip freeze`
//! differs afterwards, as Ansible reports it; `forcereinstall` always runs, as in Ansible.

use super::args::checked_path;
use super::{BuildContext, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle, PathState, Want};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{p, w, Script};
use crate::yaml::Node;

use super::pip_spec::{normalize, split_words, Requirement};

/// Python packages wanted in a state.
#[derive(Debug, Clone)]
pub(crate) struct Pip {
    pub(crate) names: Vec<String>,
    pub(crate) requirements: Option<String>,
    pub(crate) state: State,
    pub(crate) virtualenv: Option<String>,
    pub(crate) virtualenv_command: Vec<String>,
    pub(crate) virtualenv_python: Option<String>,
    pub(crate) site_packages: bool,
    pub(crate) executable: Option<String>,
    pub(crate) extra_args: Vec<String>,
    pub(crate) chdir: Option<String>,
    pub(crate) editable: bool,
}

/// What `state` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Present,
    Absent,
    Latest,
    ForceReinstall,
}

/// The arguments of `pip`.
pub(super) const ARGS: Groups = &[&[
    Arg::strings("name")
        .default_note("`name` or `requirements`")
        .doc("package names (a list or `a,b`)")
        .ansible(&["name"]),
    Arg::str("version")
        .doc("the version of the one `name` (`==` unless it has an operator)")
        .ansible(&["version"]),
    Arg::str("requirements")
        .default_note("`name` or `requirements`")
        .doc("a requirements file on the host")
        .ansible(&["requirements"]),
    Arg::one_of("state", &["present", "absent", "latest", "forcereinstall"])
        .doc("`forcereinstall` reinstalls on every apply")
        .default("present")
        .ansible(&["state"]),
    Arg::path("virtualenv")
        .doc("a virtualenv, created when missing")
        .ansible(&["virtualenv"]),
    Arg::str("virtualenv_command")
        .default("virtualenv")
        .doc("the command creating the virtualenv")
        .ansible(&["virtualenv_command"]),
    Arg::str("virtualenv_python")
        .doc("the interpreter of a new virtualenv")
        .ansible(&["virtualenv_python"]),
    Arg::bool("virtualenv_site_packages")
        .default("false")
        .doc("the virtualenv sees the system's packages")
        .ansible(&["virtualenv_site_packages"]),
    Arg::str("executable")
        .doc("the pip to run (not with `virtualenv`)")
        .ansible(&["executable"]),
    Arg::str("extra_args")
        .doc("more pip arguments (shell words)")
        .ansible(&["extra_args"]),
    Arg::path("chdir")
        .doc("the folder pip runs in")
        .ansible(&["chdir"]),
    Arg::bool("editable")
        .default("false")
        .doc("install in editable mode")
        .ansible(&["editable"]),
]];

/// The `name` list, each a package name (options go in `extra_args`), with `version` applied to
/// the one name it needs (`==` unless it gives its own operator).
fn package_names(f: &Fields<'_>) -> Result<Vec<String>> {
    let mut names: Vec<String> = f.string_list("name")?.into_iter().map(|(n, _)| n).collect();
    for (name, node) in f.string_list("name")? {
        if name.starts_with('-') || name.trim().is_empty() {
            return Err(Error::invalid(
                format!("`{name}` is not a package name (options go in `extra_args`)"),
                &node.span,
            ));
        }
    }
    if let Some(version) = f.string("version")? {
        let node = f.require("version")?;
        if names.len() != 1 {
            return Err(Error::invalid(
                "`version` needs exactly one `name`",
                &node.span,
            ));
        }
        let version = version.trim();
        let op = if version.starts_with(['=', '<', '>', '!', '~']) {
            ""
        } else {
            "=="
        };
        names[0] = format!("{}{op}{version}", names[0]);
    }
    Ok(names)
}

/// Builds a `pip` from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Pip> {
    let f = Fields::declared(args, "`pip`", ARGS)?;
    let names = package_names(&f)?;
    let requirements = f.string("requirements")?;
    let anchor = f.get("name").or(f.get("requirements")).unwrap_or(args);
    if names.is_empty() == requirements.is_none() {
        return Err(Error::invalid(
            "`pip` takes `name` or `requirements` (one of them)",
            &anchor.span,
        ));
    }
    let state = match f.string("state")?.as_deref().unwrap_or("present") {
        "present" => State::Present,
        "absent" => State::Absent,
        "latest" => State::Latest,
        "forcereinstall" => State::ForceReinstall,
        other => {
            return Err(Error::invalid(
                format!("`state` must be present, absent, latest or forcereinstall, not `{other}`"),
                &f.require("state")?.span,
            ))
        }
    };
    let path = |key: &str| -> Result<Option<String>> {
        match f.get(key) {
            Some(node) => Ok(Some(checked_path(&f.required_string(key)?, node)?)),
            None => Ok(None),
        }
    };
    let virtualenv = path("virtualenv")?;
    let executable = f.string("executable")?;
    if let (Some(_), Some(node)) = (&virtualenv, f.get("executable")) {
        return Err(Error::invalid(
            "`pip` takes `executable` or `virtualenv`, not both",
            &node.span,
        ));
    }
    let words = |key: &str| -> Result<Vec<String>> {
        match f.string(key)? {
            Some(text) => split_words(&text).map_err(|e| {
                Error::invalid(format!("`{key}`: {e}"), &f.get(key).unwrap_or(args).span)
            }),
            None => Ok(Vec::new()),
        }
    };
    let virtualenv_command = match words("virtualenv_command")? {
        v if v.is_empty() => vec!["virtualenv".to_owned()],
        v => v,
    };
    let virtualenv_python = f.string("virtualenv_python")?;
    let venv_module = virtualenv_command
        .iter()
        .any(|w| w == "venv" || w.ends_with("pyvenv"));
    if let (true, Some(_), Some(node)) =
        (venv_module, &virtualenv_python, f.get("virtualenv_python"))
    {
        return Err(Error::invalid(
            "`virtualenv_python` cannot be used with the venv module (as in Ansible): name the interpreter in `virtualenv_command`",
            &node.span,
        ));
    }
    let requirements = match (requirements, f.get("requirements")) {
        (Some(r), Some(node)) if r.contains('\0') || r.trim().is_empty() => {
            return Err(Error::invalid("`requirements` is not a path", &node.span))
        }
        (r, _) => r,
    };
    Ok(Pip {
        names,
        requirements,
        state,
        virtualenv,
        virtualenv_command,
        virtualenv_python,
        site_packages: f.flag("virtualenv_site_packages")?,
        executable,
        extra_args: words("extra_args")?,
        chdir: path("chdir")?,
        editable: f.flag("editable")?,
    })
}

/// Sets `_pip` to the pip to run (empty when there is none), after `cd` to `chdir`.
const FIND_PIP: &str = "_pip=$(command -v pip3 || command -v pip)\n";

/// What the probe reports: `pip freeze`, the requirements file when there is one (opened with
/// `_ropen`: exit 7 and the link when it is behind one another account controls), and the
/// `chdir` folder (`DIR/.`, entered through the link-safe walk: pip runs in it).
#[derive(Debug)]
pub(crate) struct Asked {
    freeze: Handle<CommandOutput>,
    requirements: Option<Handle<CommandOutput>>,
    chdir: Option<Handle<PathState>>,
}

/// The requirements file is behind a link another account controls (the link on stdout).
const UNSAFE_REQUIREMENTS: i32 = 7;

/// How the apply runs pip.
#[derive(Debug)]
pub(crate) struct Decision {
    /// Create the virtualenv first.
    create_venv: bool,
    /// "changed" only when `pip freeze` differs afterwards.
    compare: bool,
}

impl Pip {
    /// The script that sets `_pip`, after entering `chdir` with the link-safe walk.
    fn locate(&self, s: &mut Script) {
        if let Some(dir) = &self.chdir {
            s.fill("_cd {} || exit 1\n", [p(dir)]);
        }
        match (&self.executable, &self.virtualenv) {
            (Some(exe), _) if exe.contains('/') => {
                s.fill("_pip={}\n", [p(exe)]);
            }
            (Some(exe), _) => {
                s.fill("_pip=$(command -v {})\n", [w(exe)]);
            }
            (None, Some(venv)) => {
                s.fill("_pip={}/bin/pip\n", [p(venv)]);
            }
            (None, None) => {
                s.code(FIND_PIP);
            }
        }
    }

    /// The wanted requirements, or `None` when some cannot be judged from `pip freeze`.
    fn wanted(&self, file: Option<&CommandOutput>) -> Option<Vec<Requirement>> {
        if self.editable {
            return None;
        }
        let lines: Vec<String> = match (&self.requirements, file) {
            (Some(_), Some(out)) if out.status == 0 => out
                .stdout
                .lines()
                .map(|l| l.split(" #").next().unwrap_or_default().trim().to_owned())
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect(),
            (Some(_), _) => return None,
            (None, _) => self.names.clone(),
        };
        lines.iter().map(|l| Requirement::parse(l)).collect()
    }
}

/// Installed versions by normalized name, from `pip freeze` lines (`name==version`).
fn installed(freeze: &str) -> std::collections::BTreeMap<String, String> {
    freeze
        .lines()
        .filter_map(|l| {
            let (name, version) = l.split_once("==").or_else(|| l.split_once(" @ "))?;
            Some((normalize(name.trim()), version.trim().to_owned()))
        })
        .collect()
}

impl Resource for Pip {
    type Asked = Asked;
    type Decision = Decision;

    /// pip installs into an environment targets of the account may share (its site-packages, a
    /// virtualenv no claim names); two pip runs in one environment at once can break it.
    fn account_wide(&self) -> bool {
        true
    }

    fn id(&self) -> String {
        let what = match &self.requirements {
            Some(r) => format!("-r {r}"),
            None => self.names.join(" "),
        };
        match &self.virtualenv {
            Some(v) => format!("{what} in {v}"),
            None => what,
        }
    }

    fn needs(&self) -> Vec<String> {
        self.chdir.iter().cloned().collect()
    }

    fn ask(&self, facts: &mut FactSet) -> Asked {
        let mut s = Script::new();
        self.locate(&mut s);
        s.code("[ -n \"$_pip\" ] && [ -x \"$_pip\" ] || exit 127\nPIP_DISABLE_PIP_VERSION_CHECK=1 \"$_pip\" freeze --all 2>/dev/null\n");
        let requirements = self.requirements.as_ref().map(|r| {
            let mut s = Script::new();
            if let Some(dir) = &self.chdir {
                s.fill("_cd {} || exit 1\n", [p(dir)]);
            }
            s.fill("_ropen {}\n", [p(r)]).code(
                "case $? in 0) cat /proc/self/fd/6;; 2) printf '%s' \"$_wbad\"; exit 7;; *) exit 1;; esac",
            );
            facts.output(s)
        });
        Asked {
            freeze: facts.output(s),
            requirements,
            chdir: self.chdir.as_ref().map(|dir| facts.path(dir, Want::Never)),
        }
    }

    fn decide(
        &self,
        asked: &Asked,
        facts: &Facts,
        _: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        if let (Some(h), Some(dir)) = (asked.chdir, &self.chdir) {
            super::refuse_unsafe(dir, facts.get(h))?;
        }
        if let (Some(h), Some(r)) = (asked.requirements, &self.requirements) {
            let out = facts.get(h);
            if out.status == UNSAFE_REQUIREMENTS {
                return Err(super::refused_link(r, &out.stdout));
            }
        }
        let freeze = facts.get(asked.freeze);
        let no_pip = freeze.status != 0;
        let create_venv = no_pip && self.virtualenv.is_some();
        let run = |reason: String, compare: bool| {
            Ok(Some((
                Change::new(Action::Run).reason(reason),
                Decision {
                    create_venv,
                    compare,
                },
            )))
        };
        if self.state == State::ForceReinstall {
            return run(
                "forcereinstall: reinstalls on every apply".to_owned(),
                false,
            );
        }
        if self.state == State::Absent && no_pip {
            return Ok(None);
        }
        let have = installed(&freeze.stdout);
        let wanted = self.wanted(asked.requirements.map(|h| facts.get(h)));
        let Some(wanted) = wanted.filter(|_| self.state != State::Latest) else {
            let why = match (self.state, create_venv) {
                (_, true) => "the virtualenv does not exist yet",
                (State::Latest, _) => "latest: pip asks the index on every apply",
                _ => "pip decides (requirements recon cannot judge from `pip freeze`)",
            };
            return run(why.to_owned(), true);
        };
        let mut change = Change::new(Action::Run);
        for req in &wanted {
            let current = have.get(&req.name);
            match (self.state, current) {
                (State::Absent, Some(v)) => {
                    change = change.field(Field::PACKAGE, Some(format!("{} {v}", req.name)), None);
                }
                (State::Present, Some(v)) if req.allows(v) => {}
                (State::Present, current) => {
                    change = change.field(
                        Field::PACKAGE,
                        current.map(|v| format!("{} {v}", req.name)),
                        Some(req.text.clone()),
                    );
                }
                _ => {}
            }
        }
        if change.fields.is_empty() {
            return Ok(None);
        }
        if create_venv {
            change = change.reason("the virtualenv does not exist yet");
        } else if no_pip {
            change = change.reason("no pip found on the host yet");
        }
        Ok(Some((
            change,
            Decision {
                create_venv,
                compare: false,
            },
        )))
    }

    fn script(&self, d: &Decision, s: &mut Script) {
        if let (true, Some(venv)) = (d.create_venv, &self.virtualenv) {
            s.fill("if ! [ -x {}/bin/pip ]; then\n  command --", [p(venv)])
                .words(self.virtualenv_command.iter().map(String::as_str));
            if self.site_packages {
                s.code(" --system-site-packages");
            }
            if let Some(python) = &self.virtualenv_python {
                s.fill(" -p {}", [w(python)]);
            }
            s.fill(" {} </dev/null || exit 1\nfi\n", [p(venv)]);
        }
        self.locate(s);
        s.code("if [ -z \"$_pip\" ]; then echo 'no pip on the host' >&2; exit 1; fi\nexport PIP_DISABLE_PIP_VERSION_CHECK=1\n");
        if let Some(r) = &self.requirements {
            s.fill("( _ropen {}\n", [p(r)])
                .code("case $? in 0) ;; 2) _refused; exit 1;; *) exit 0;; esac ) || exit 1\n");
        }
        if d.compare {
            s.code("_before=$(\"$_pip\" freeze --all 2>/dev/null)\n");
        }
        s.bounded().code("\"$_pip\"");
        if self.state == State::Absent {
            s.code(" uninstall -y");
        } else {
            s.code(" install");
            match self.state {
                State::Latest => s.code(" -U"),
                State::ForceReinstall => s.code(" --force-reinstall"),
                _ => s,
            };
        }
        s.words(self.extra_args.iter().map(String::as_str));
        if let Some(r) = &self.requirements {
            // pip reads it by name (its own `-r` includes are relative to it); `_ropen`
            // checked above that no link another account controls is on the way.
            s.fill(" -r {}", [p(r)]);
        }
        for name in &self.names {
            if self.editable {
                s.code(" -e");
            }
            s.words([name.as_str()]);
        }
        s.code(" </dev/null || exit 1\n");
        if d.compare {
            s.code("[ \"$_before\" = \"$(\"$_pip\" freeze --all 2>/dev/null)\" ] && exit 100\nexit 0\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::FactValue;
    use crate::resource::testing::decide;

    fn pip(names: &[&str], state: State) -> Pip {
        Pip {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            requirements: None,
            state,
            virtualenv: Some("/srv/venv".into()),
            virtualenv_command: vec!["python3".into(), "-m".into(), "venv".into()],
            virtualenv_python: None,
            site_packages: false,
            executable: None,
            extra_args: Vec::new(),
            chdir: None,
            editable: false,
        }
    }

    fn freeze(status: i32, text: &str) -> FactValue {
        FactValue::Output(CommandOutput {
            status,
            stdout: text.into(),
        })
    }

    #[test]
    fn a_requirements_file_or_chdir_behind_another_accounts_link_is_refused() {
        let p = Pip {
            requirements: Some("/home/app/req.txt".into()),
            chdir: Some("/home/app/src".into()),
            ..pip(&[], State::Present)
        };
        let folder = || FactValue::Path(crate::facts::PathState::default());
        // Facts in the order asked: the requirements read, `pip freeze`, the folder.
        let problem = decide(
            &p,
            vec![freeze(7, "/home/app/secret"), freeze(0, ""), folder()],
        )
        .expect_err("refused");
        assert!(
            problem
                .0
                .contains("`/home/app/req.txt` is behind the link `/home/app/secret`"),
            "{problem:?}"
        );
        let behind = FactValue::Path(crate::facts::PathState {
            kind: crate::facts::PathKind::Unsafe,
            target: Some("/home/app/src".into()),
            ..crate::facts::PathState::default()
        });
        let problem =
            decide(&p, vec![freeze(0, "x==1\n"), freeze(0, ""), behind]).expect_err("refused");
        assert!(
            problem.0.contains("`/home/app/src` is behind the link"),
            "{problem:?}"
        );
    }

    #[test]
    fn the_plan_compares_pip_freeze_with_the_wanted_versions() {
        let p = pip(&["Flask_Login>=0.6,<1", "six==1.16.0"], State::Present);
        let installed = "flask-login==0.6.3\nsix==1.16.0\npip==23.0\n";
        assert!(decide(&p, vec![freeze(0, installed)])
            .expect("ok")
            .is_none());
        let (change, d) = decide(&p, vec![freeze(0, "flask-login==1.0.0\n")])
            .expect("ok")
            .expect("installs");
        assert!(!d.create_venv);
        assert_eq!(change.fields.len(), 2, "{change:?}");
        let (change, d) = decide(&p, vec![freeze(127, "")])
            .expect("ok")
            .expect("venv");
        assert!(d.create_venv);
        assert_eq!(
            change.reason.as_deref(),
            Some("the virtualenv does not exist yet")
        );
        let gone = pip(&["six"], State::Absent);
        assert!(decide(&gone, vec![freeze(0, "flask==2.0\n")])
            .expect("ok")
            .is_none());
        assert!(decide(&gone, vec![freeze(0, "six==1.0\n")])
            .expect("ok")
            .is_some());
        let (_, d) = decide(&pip(&["six"], State::Latest), vec![freeze(0, "six==1.0\n")])
            .expect("ok")
            .expect("latest runs");
        assert!(d.compare);
    }
}
