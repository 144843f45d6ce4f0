//! `ansible_module: { module, args }`: a task whose module recon has no resource for, run
//! through Ansible's own module code (the bridge, `crate::bridge`). The probe runs the module in
//! check mode with diff: its `changed` and diff are the plan, exactly as a native resource's;
//! a module without check-mode support is "known after apply". The apply runs it for real, and
//! its JSON result is the task's registered result, in Ansible's shape. Playbooks never name
//! this kind: the task loader turns a module recon lacks into it (`ansible::map`).

use serde_json::Value;

use super::{BuildContext, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle};
use crate::fields::arg::{Arg, Groups, Type};
use crate::fields::Fields;
use crate::plan::{Action, Change};
use crate::registered::{Shape, Shaped};
use crate::script::Script;
use crate::yaml::Node;

/// A bridged module call, packaged for the host.
#[derive(Debug, Clone)]
pub(crate) struct AnsibleModule {
    /// The module's fully qualified name.
    pub(crate) module: String,
    /// The host's Python (`ansible_python_interpreter`, else `python3`).
    pub(crate) python: String,
    /// The check-mode payload (for the probe) and the real one (for the step).
    check: Vec<u8>,
    run: Vec<u8>,
}

/// The arguments of `ansible_module`.
pub(super) const ARGS: Groups = &[&[
    Arg::str("module")
        .required()
        .doc("the Ansible module (`community.general.ini_file`)"),
    Arg::new("args", Type::Any)
        .default_note("none")
        .doc("its arguments, a mapping"),
]];

/// The arguments as Ansible's YAML reader (YAML 1.1) gives them to the module: a plain scalar
/// with a leading zero (`mode: 0600`) is an octal number, which recon's YAML 1.2 reading takes
/// as decimal 600; the module would then set mode 0o1130.
fn as_pyyaml_reads(node: &Node) -> minijinja::Value {
    use crate::yaml::Value as Yaml;
    match &node.value {
        Yaml::Scalar { text, plain: true } if leading_zero_octal(text).is_some() => {
            minijinja::Value::from(leading_zero_octal(text).unwrap_or_default())
        }
        Yaml::Scalar { .. } => crate::template::to_jinja(node),
        Yaml::Seq(items) => items.iter().map(as_pyyaml_reads).collect(),
        Yaml::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.key().to_owned(), as_pyyaml_reads(v)))
            .collect(),
    }
}

/// `0600`, `-017`: YAML 1.1's octal integers (a zero, then octal digits).
fn leading_zero_octal(text: &str) -> Option<i64> {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let octal = digits
        .strip_prefix('0')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| (b'0'..=b'7').contains(&b)))?;
    i64::from_str_radix(octal, 8).ok().map(|v| sign * v)
}

/// Builds a bridged module call: the payloads come from the control machine's Ansible.
pub(super) fn build(args: &Node, cx: &BuildContext<'_>) -> Result<AnsibleModule> {
    let f = Fields::declared(args, "`ansible_module`", ARGS)?;
    let name = f.required_string("module")?;
    let at = f.require("module")?;
    let module_args = match f.get("args") {
        Some(node) if node.as_map().is_some() => serde_json::to_value(as_pyyaml_reads(node))
            .map_err(|e| {
                Error::invalid(
                    format!("the module's arguments are not JSON: {e}"),
                    &node.span,
                )
            })?,
        Some(node) if node.scalar_text().is_some_and(|t| t.trim().is_empty()) => {
            Value::Object(serde_json::Map::new())
        }
        None => Value::Object(serde_json::Map::new()),
        Some(node) => {
            return Err(Error::invalid(
                "the module's arguments must be a mapping (`key: value` lines)",
                &node.span,
            ))
        }
    };
    let python = cx
        .vars
        .text("ansible_python_interpreter")?
        .filter(|p| !p.trim().is_empty() && !p.starts_with("auto"))
        .unwrap_or_else(|| "python3".to_owned());
    let lookup = cx.bridge;
    let bridged = |check: bool| {
        crate::bridge::payload(&name, &module_args, check, &python, lookup).map_err(|why| {
            Error::invalid(
                format!("cannot run module `{name}` through Ansible: {why}"),
                &at.span,
            )
            .with_label("this module")
        })
    };
    Ok(AnsibleModule {
        module: crate::bridge::resolve(&name, lookup).unwrap_or_else(|_| name.clone()),
        check: bridged(true)?,
        run: bridged(false)?,
        python,
    })
}

/// Reads the module's printed JSON (Ansible tolerates noise around it) and prints it in a stable
/// form (sorted keys, no `invocation`). `check` (the probe): the answer is fingerprinted for the
/// stale check, and a converged task's registered result is this check-mode result. `run` (the
/// step): the registered result, and the exit a step must give: 0 changed, 100 nothing changed,
/// 1 failed (the module's message on stderr).
const RESULT_READER: &str = r#"import json, sys
text = sys.stdin.read()
start = text.find("{")
try:
    result = json.JSONDecoder().raw_decode(text, start)[0] if start >= 0 else None
except ValueError:
    result = None
if not isinstance(result, dict):
    if sys.argv[1] == "check":
        sys.stdout.write(text[-2000:])
        sys.exit(3)
    sys.stderr.write("the module printed no result:\n" + text[-2000:])
    sys.exit(1)
result.pop("invocation", None)
print(json.dumps(result, sort_keys=True))
if sys.argv[1] == "check":
    sys.exit(0)
if result.get("failed"):
    sys.stderr.write(str(result.get("msg", "the module failed")) + "\n")
    sys.exit(1)
sys.exit(0 if result.get("changed") else 100)
"#;

/// What the check-mode run answered.
#[derive(Debug, PartialEq)]
enum Checked {
    Converged,
    Changes {
        diff: Option<String>,
    },
    /// The module has no check mode: only the apply can tell.
    Unknown(String),
}

/// Reads the probe's summary of the check-mode run.
fn checked(module: &str, output: &CommandOutput) -> std::result::Result<Checked, Problem> {
    let result: Value = serde_json::from_str(output.stdout.trim()).map_err(|_| {
        Problem::new(format!(
            "module `{module}` printed no result in check mode (is Python on the host?): {}",
            output.stdout.trim()
        ))
    })?;
    let msg = result.get("msg").and_then(Value::as_str).unwrap_or("");
    if result.get("failed").and_then(Value::as_bool) == Some(true) {
        return Err(Problem::new(format!(
            "module `{module}` failed in check mode: {msg}"
        )));
    }
    if result.get("skipped").and_then(Value::as_bool) == Some(true) {
        let why = if msg.is_empty() {
            "it skipped in check mode"
        } else {
            msg
        };
        return Ok(Checked::Unknown(format!("known after apply: {why}")));
    }
    if result.get("changed").and_then(Value::as_bool) != Some(true) {
        return Ok(Checked::Converged);
    }
    Ok(Checked::Changes {
        diff: result.get("diff").and_then(diff_text),
    })
}

/// A module's `diff` (one `{before, after}` or a list of them) as a unified diff.
fn diff_text(diff: &Value) -> Option<String> {
    let parts: Vec<&Value> = match diff {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = String::new();
    for part in parts {
        let side = |key: &str| match part.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => serde_json::to_string_pretty(other).unwrap_or_default() + "\n",
        };
        let (before, after) = (side("before"), side("after"));
        if before == after {
            continue;
        }
        if let Some(text) = super::file::text_diff(before.as_bytes(), after.as_bytes()) {
            out.push_str(&text);
        }
    }
    (!out.is_empty()).then_some(out)
}

impl Resource for AnsibleModule {
    type Asked = Handle<CommandOutput>;
    type Decision = ();

    /// recon cannot know what a bridged module edits: most rewrite a file they read.
    fn account_wide(&self) -> bool {
        true
    }

    fn id(&self) -> String {
        self.module.clone()
    }

    fn ask(&self, facts: &mut FactSet) -> Handle<CommandOutput> {
        facts.module(&self.check, &self.python, RESULT_READER)
    }

    fn decide(
        &self,
        asked: &Handle<CommandOutput>,
        facts: &Facts,
        _: Situation,
    ) -> std::result::Result<Option<(Change, ())>, Problem> {
        match checked(&self.module, facts.get(*asked))? {
            Checked::Converged => Ok(None),
            Checked::Changes { diff } => {
                let mut change = Change::new(Action::Update);
                change.diff = diff;
                Ok(Some((change, ())))
            }
            Checked::Unknown(why) => Ok(Some((Change::new(Action::Run).reason(why), ()))),
        }
    }

    fn script(&self, (): &(), out: &mut Script) {
        let mut rest = Script::of(" | ");
        rest.bounded()
            .word(&self.python)
            .code(" - 2>&1 | ")
            .word(&self.python)
            .code(" -c ")
            .word(RESULT_READER)
            .code(" run");
        out.code("base64 -d")
            .base64_heredoc_then_script(&self.run, &rest);
    }

    /// What Ansible's module changes is not visible to recon's facts: say so to later steps.
    fn predict(&self, (): &(), _: &FactSet, facts: &mut Facts) {
        facts.predict_unseen(format!("Ansible's `{}`", self.module));
    }

    fn result_shape(&self) -> Shape {
        MODULE
    }

    fn converged_result(&self, asked: &Handle<CommandOutput>, facts: &Facts) -> Option<String> {
        Some(facts.get(*asked).stdout.clone())
    }
}

/// A bridged module's result: the JSON object it printed, as Ansible registers it (recon's own
/// `changed`/`failed`/`skipped` win).
const MODULE: Shape = Shape::new("module", |r| {
    let fields = match serde_json::from_str::<Value>(r.stdout.trim()) {
        Ok(Value::Object(fields)) => fields
            .into_iter()
            .map(|(key, value)| (key, minijinja::Value::from_serialize(&value)))
            .collect(),
        _ => std::collections::BTreeMap::new(),
    };
    Shaped::Fields(fields)
});

#[cfg(test)]
mod tests {
    use super::*;

    /// A bridged module gets what ansible-playbook would give it: `mode: 0600` (YAML 1.1
    /// octal) is 384, not 600 (which the module would take as mode 0o1130); quoted text stays
    /// text, and other numbers are what they say.
    #[test]
    fn a_leading_zero_is_octal_as_ansibles_yaml_reads_it() {
        let source = crate::source::SourceFile::new(
            "t.yml",
            "mode: 0600
quoted: '0600'
port: 8080
neg: -017
zero: 0
not_octal: 0800
list: [0755]
",
        );
        let node = crate::yaml::parse(&source).expect("yaml");
        let json = serde_json::to_value(as_pyyaml_reads(&node)).expect("json");
        assert_eq!(json["mode"], 384);
        assert_eq!(json["quoted"], "0600");
        assert_eq!(json["port"], 8080);
        assert_eq!(json["neg"], -15);
        assert_eq!(json["zero"], 0);
        assert_eq!(json["list"][0], 493);
        assert_ne!(json["not_octal"], 512);
    }

    fn output(stdout: &str) -> CommandOutput {
        CommandOutput {
            status: 0,
            stdout: stdout.to_owned(),
        }
    }

    #[test]
    fn a_check_mode_answer_decides_the_plan() {
        let m = "acme.demo.flag";
        assert_eq!(
            checked(m, &output(r#"{"changed": false}"#)),
            Ok(Checked::Converged)
        );
        let changes = checked(
            m,
            &output(r#"{"changed": true, "diff": {"before": "a\n", "after": "b\n"}}"#),
        );
        let Ok(Checked::Changes { diff: Some(diff) }) = changes else {
            panic!("a change with a diff: {changes:?}");
        };
        assert!(diff.contains("-a\n+b\n"), "{diff}");
        assert!(matches!(
            checked(m, &output(r#"{"skipped": true, "msg": "remote module does not support check mode"}"#)),
            Ok(Checked::Unknown(why)) if why.contains("does not support check mode")
        ));
        let failed = checked(m, &output(r#"{"failed": true, "msg": "bad key"}"#));
        assert!(
            matches!(failed, Err(Problem(ref why)) if why.contains("bad key")),
            "{failed:?}"
        );
        assert!(checked(m, &output("Traceback: no python")).is_err());
    }
}
