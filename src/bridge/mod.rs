//! The module bridge: a task whose module recon has no resource for runs Ansible's own module
//! code on the host. recon does not package modules itself: `packager.py` runs under the Python
//! of the control machine's Ansible and builds each payload with ansible-core's own code (the
//! AnsiballZ wrapper `ansible-playbook` sends). One packager process serves the whole run, started
//! on first use; its answers are cached, so a module name is resolved once per run.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};

/// The packager's source, run with the Ansible's Python.
const PACKAGER: &str = include_str!("packager.py");

/// Names the Python of the Ansible to bridge to, when `ansible-playbook` on PATH is not it.
pub(crate) const PYTHON_ENV: &str = "RECON_ANSIBLE_PYTHON";

/// Where a bridged module is looked up: the playbook's own `collections/` folder and the
/// play's `collections:` keyword.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Lookup {
    pub(crate) dirs: Vec<PathBuf>,
    pub(crate) collections: Vec<String>,
}

impl Lookup {
    /// The lookup for a playbook in `dir`: Ansible reads `collections/` beside the playbook.
    pub(crate) fn beside(dir: &Path) -> Self {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Self {
            dirs: vec![dir.join("collections")],
            collections: Vec::new(),
        }
    }
}

/// The running packager, or why there is none.
struct Packager {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Packager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why a module cannot run through the bridge. Kept as text where it comes from outside
/// (an I/O error, the packager's own words) so answers can be cached and cloned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BridgeError {
    /// No Ansible on the control machine.
    NoAnsible,
    /// Ansible's Python would not start.
    CannotRun { python: PathBuf, error: String },
    /// The packager process came without its pipes.
    NoPipes,
    /// Writing to or reading from the packager failed.
    Stopped(String),
    /// The packager closed its output: most likely no ansible-core for that Python.
    Closed,
    /// The packager's answer is not JSON.
    NotJson(String),
    /// The packager said no (unknown module, failed build): its own words.
    Refused(String),
    /// The packager's payload is not base64.
    BadPayload(String),
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoAnsible => write!(
                f,
                "there is no Ansible on this machine to run Ansible's own module with: install ansible-core (`pip install ansible-core`, giving `ansible-playbook` on PATH) or name its Python in {PYTHON_ENV}"
            ),
            Self::CannotRun { python, error } => write!(
                f,
                "cannot run Ansible's Python `{}`: {error}",
                python.display()
            ),
            Self::NoPipes => f.write_str("the module packager has no pipes"),
            Self::Stopped(e) => write!(f, "the module packager stopped: {e}"),
            Self::Closed => f.write_str(
                "the module packager stopped (is ansible-core installed for that Python?)",
            ),
            Self::NotJson(e) => write!(f, "the module packager answered no JSON: {e}"),
            Self::Refused(e) => f.write_str(e),
            Self::BadPayload(e) => write!(f, "the module packager sent a bad payload: {e}"),
        }
    }
}

impl std::error::Error for BridgeError {}

/// The run's packager (`None` until first asked for) and its cached answers (by request).
struct State {
    packager: Option<Result<Packager, BridgeError>>,
    answers: HashMap<String, Result<Value, BridgeError>>,
}

static STATE: OnceLock<Mutex<State>> = OnceLock::new();

/// The Python that runs Ansible: `RECON_ANSIBLE_PYTHON`, else the interpreter named by the
/// first line of `ansible-playbook` (or `ansible`) on PATH.
fn ansible_python() -> Result<PathBuf, BridgeError> {
    if let Some(python) = std::env::var_os(PYTHON_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(python));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for program in ["ansible-playbook", "ansible"] {
            let Ok(text) = std::fs::read(dir.join(program)) else {
                continue;
            };
            let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
            let first = String::from_utf8_lossy(first);
            if let Some(shebang) = first.strip_prefix("#!") {
                let mut words = shebang.split_whitespace();
                let interpreter = words.next().unwrap_or_default();
                // `#!/usr/bin/env python3`: the word after env.
                let python = if interpreter.ends_with("/env") {
                    words.next().unwrap_or("python3")
                } else {
                    interpreter
                };
                return Ok(PathBuf::from(python));
            }
        }
    }
    Err(BridgeError::NoAnsible)
}

/// Starts the packager under Ansible's Python.
fn start() -> Result<Packager, BridgeError> {
    let python = ansible_python()?;
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(PACKAGER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| BridgeError::CannotRun {
            python: python.clone(),
            error: e.to_string(),
        })?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(BridgeError::NoPipes);
    };
    Ok(Packager {
        child,
        stdin,
        stdout: BufReader::new(stdout),
    })
}

/// Sends one request and reads its answer (`ok: true`), cached by the request's text.
fn ask(request: &Value) -> Result<Value, BridgeError> {
    let state = STATE.get_or_init(|| {
        Mutex::new(State {
            packager: None,
            answers: HashMap::new(),
        })
    });
    let mut state = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let key = request.to_string();
    if let Some(answer) = state.answers.get(&key) {
        return answer.clone();
    }
    let answer = match state.packager.get_or_insert_with(start) {
        Err(e) => Err(e.clone()),
        Ok(packager) => exchange(packager, &key),
    };
    state.answers.insert(key, answer.clone());
    answer
}

/// One request line out, one answer line back.
fn exchange(packager: &mut Packager, line: &str) -> Result<Value, BridgeError> {
    let gone = |e: std::io::Error| BridgeError::Stopped(e.to_string());
    writeln!(packager.stdin, "{line}").map_err(gone)?;
    packager.stdin.flush().map_err(gone)?;
    let mut reply = String::new();
    packager.stdout.read_line(&mut reply).map_err(gone)?;
    if reply.is_empty() {
        return Err(BridgeError::Closed);
    }
    let value: Value =
        serde_json::from_str(&reply).map_err(|e| BridgeError::NotJson(e.to_string()))?;
    if value.get("ok") == Some(&Value::Bool(true)) {
        Ok(value)
    } else {
        Err(BridgeError::Refused(
            value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("the module packager failed")
                .to_owned(),
        ))
    }
}

fn request(op: &str, name: &str, lookup: &Lookup) -> Value {
    json!({
        "op": op,
        "name": name,
        "collections": lookup.collections,
        "dirs": lookup.dirs.iter().map(|d| d.to_string_lossy()).collect::<Vec<_>>(),
    })
}

/// The fully qualified name of module `name` in the control machine's Ansible, or why it cannot
/// be bridged (no Ansible, no such module).
pub(crate) fn resolve(name: &str, lookup: &Lookup) -> Result<String, BridgeError> {
    let answer = ask(&request("resolve", name, lookup))?;
    Ok(answer
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_owned())
}

/// The module's payload for the host: a Python program (Ansible's AnsiballZ wrapper with the
/// arguments inside) that prints the module's JSON result; `check` runs it in check mode with
/// diff. `python` is the host's interpreter (`ansible_python_interpreter`).
pub(crate) fn payload(
    name: &str,
    args: &Value,
    check: bool,
    python: &str,
    lookup: &Lookup,
) -> Result<Vec<u8>, BridgeError> {
    use base64::Engine as _;
    let mut request = request("build", name, lookup);
    request["args"] = args.clone();
    request["check"] = Value::Bool(check);
    request["python"] = Value::from(python);
    let answer = ask(&request)?;
    let text = answer.get("payload").and_then(Value::as_str).unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| BridgeError::BadPayload(e.to_string()))
}
