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

/// The run's packager and its cached answers (by request).
struct State {
    packager: Result<Packager, String>,
    answers: HashMap<String, Result<Value, String>>,
}

static STATE: OnceLock<Mutex<State>> = OnceLock::new();

/// The Python that runs Ansible: `RECON_ANSIBLE_PYTHON`, else the interpreter named by the
/// first line of `ansible-playbook` (or `ansible`) on PATH.
fn ansible_python() -> Result<PathBuf, String> {
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
    Err(format!(
        "there is no Ansible on this machine to run Ansible's own module with: install ansible-core (`pip install ansible-core`, giving `ansible-playbook` on PATH) or name its Python in {PYTHON_ENV}"
    ))
}

fn start() -> Result<Packager, String> {
    let python = ansible_python()?;
    let mut child = Command::new(&python)
        .arg("-c")
        .arg(PACKAGER)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run Ansible's Python `{}`: {e}", python.display()))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("the module packager has no pipes".to_owned());
    };
    Ok(Packager {
        child,
        stdin,
        stdout: BufReader::new(stdout),
    })
}

/// Sends one request and reads its answer (`ok: true`), cached by the request's text.
fn ask(request: &Value) -> Result<Value, String> {
    let state = STATE.get_or_init(|| {
        Mutex::new(State {
            packager: Err(String::new()),
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
    if matches!(&state.packager, Err(e) if e.is_empty()) {
        state.packager = start();
    }
    let answer = match &mut state.packager {
        Err(e) => Err(e.clone()),
        Ok(packager) => exchange(packager, &key),
    };
    state.answers.insert(key, answer.clone());
    answer
}

fn exchange(packager: &mut Packager, line: &str) -> Result<Value, String> {
    let gone = |e: std::io::Error| format!("the module packager stopped: {e}");
    writeln!(packager.stdin, "{line}").map_err(gone)?;
    packager.stdin.flush().map_err(gone)?;
    let mut reply = String::new();
    packager.stdout.read_line(&mut reply).map_err(gone)?;
    if reply.is_empty() {
        return Err(
            "the module packager stopped (is ansible-core installed for that Python?)".to_owned(),
        );
    }
    let value: Value = serde_json::from_str(&reply)
        .map_err(|e| format!("the module packager answered no JSON: {e}"))?;
    if value.get("ok") == Some(&Value::Bool(true)) {
        Ok(value)
    } else {
        Err(value
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("the module packager failed")
            .to_owned())
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
pub(crate) fn resolve(name: &str, lookup: &Lookup) -> Result<String, String> {
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
) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let mut request = request("build", name, lookup);
    request["args"] = args.clone();
    request["check"] = Value::Bool(check);
    request["python"] = Value::from(python);
    let answer = ask(&request)?;
    let text = answer.get("payload").and_then(Value::as_str).unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("the module packager sent a bad payload: {e}"))
}
