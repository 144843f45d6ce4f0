//! Secret taint, as a property over every argument of every resource kind: each argument a kind
//! declares (read from recon itself: the kinds from `--help`, their arguments from the error an
//! unknown key gets) is set, one at a time, to a value made from a vault secret by each of a set
//! of transforms, and `check`, `plan -v -o` (and the saved file), `plan --json` and, for kinds
//! that only touch paths under the test's folder, `apply --json` of the saved plan must never
//! print the secret or any transformed form of it. A refusal is output too: it is grepped the same way. A control
//! value (not secret) goes through the same transforms into a task of its own, and the same grep
//! must find it: the test can fail.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use base64::Engine as _;
use sha1::Digest as _;

use crate::harness::Project;

/// The vault secret. Its first two letters and its length are the short forms grepped as words.
const TOKEN: &str = "Qj7-taint-prop-secret-value";
/// The control: the same shape (another length), not secret.
const CONTROL: &str = "Vx5-taint-prop-control";

/// Kinds whose apply only touches paths under the test's folder (every other kind is planned,
/// never applied: this machine is shared, and the test may run as root).
const APPLIED: &[&str] = &[
    "directory",
    "file",
    "template",
    "symlink",
    "line",
    "block",
    "replace",
    "stat",
];

/// Expressions over `VAR`: case, replacement, encodings, a hash, concatenation, a slice, a
/// length and a test on the length (a bool).
const TRANSFORMS: &[&str] = &[
    "{{ VAR | upper }}",
    "{{ VAR | lower }}",
    "{{ VAR | replace('-', '+') }}",
    "{{ VAR | b64encode }}",
    "{{ VAR | hash('sha1') }}",
    "{{ 'x-' ~ VAR ~ '-y' }}",
    "{{ VAR[:2] }}",
    "{{ 'L' ~ (VAR | length) }}",
    "{{ VAR | length > 3 }}",
];

/// Every form the transforms make of `value`: `(text, grepped as a whole word only)`.
fn forms(value: &str) -> Vec<(String, bool)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    vec![
        (value.to_owned(), false),
        (value.to_uppercase(), false),
        (value.to_lowercase(), false),
        (value.replace('-', "+"), false),
        (b64.encode(value), false),
        (hex::encode(sha1::Sha1::digest(value.as_bytes())), false),
        (value[..2].to_owned(), true),
        (format!("L{}", value.len()), true),
    ]
}

/// The forms of `value` found in `seen` (a short form only where it stands as a whole word).
fn found(seen: &str, value: &str) -> Vec<String> {
    let word = |text: &str| {
        seen.match_indices(text).any(|(at, _)| {
            let inside = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !inside(seen[..at].chars().next_back())
                && !inside(seen[at + text.len()..].chars().next())
        })
    };
    forms(value)
        .into_iter()
        .filter(|(text, whole)| {
            if *whole {
                word(text)
            } else {
                seen.contains(text)
            }
        })
        .map(|(text, _)| text)
        .collect()
}

/// A plausible value for an argument a kind requires (`{{ n }}` keeps tasks apart).
fn base_value(key: &str) -> &'static str {
    match key {
        "path" | "dest" | "target" | "chdir" | "cron_file" | "conf" | "root" | "project_src" => {
            "{{ root }}/{{ n }}-x"
        }
        "src" => "t.j2",
        "key" => "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEbase plain@x",
        "url" | "repo" => "http://127.0.0.1:9/x",
        "user" | "owner" => "nobody",
        "port" => "9",
        "cmd" | "job" => "echo hi",
        _ => "v{{ n }}",
    }
}

/// The arguments `kind` declares, from the help of an unknown-key error.
fn arguments(p: &Project, kind: &str) -> Vec<String> {
    p.file(
        "probe.yml",
        &format!(
            "- hosts: all\n  tasks:\n    - {kind}: {{ path: /x, content: x, zz_not_an_argument: 1 }}\n"
        ),
    );
    let run = p.recon(&["check", "probe.yml"]);
    let help = run
        .stderr
        .split_once("takes:")
        .unwrap_or_else(|| panic!("`{kind}` lists no arguments:\n{}", run.stderr))
        .1;
    let list: String = help
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    list.split(',').map(|k| k.trim().to_owned()).collect()
}

/// Arguments that make `kind` build: each required key recon names, with a plausible value.
fn base(p: &Project, kind: &str) -> Vec<(String, String)> {
    let seed = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    // What discovery cannot guess: Ansible's `file` module has the same name (`content` makes
    // it recon's); archives the project and the host hold; a file `replace` edits.
    let mut args = match kind {
        "file" => seed(&[("content", "c{{ n }}")]),
        "release" => seed(&[("src", "r.tgz")]),
        "unpack" => seed(&[("src", "{{ root }}/seed.tgz")]),
        "replace" => seed(&[("path", "{{ root }}/seed"), ("regexp", "^zz")]),
        "block" => seed(&[("create", "true")]),
        _ => Vec::new(),
    };
    for _ in 0..6 {
        p.file("probe.yml", &playbook(kind, &args, &[]));
        let run = p.recon(&["check", "probe.yml", "--vault-password-file", "pw"]);
        let missing = ["missing required key `", " needs `"]
            .iter()
            .find_map(|m| run.stderr.split_once(m));
        let Some((_, rest)) = missing else {
            break;
        };
        let key = rest.split('`').next().unwrap_or_default().to_owned();
        if args.iter().any(|(k, _)| *k == key) {
            break;
        }
        let value = base_value(&key).to_owned();
        args.push((key, value));
    }
    args
}

/// A play with one `kind` task per `(n, key, value)` override of `base`, and a control task.
fn playbook(kind: &str, base: &[(String, String)], tasks: &[(String, String, String)]) -> String {
    let mut text = "- hosts: all\n  vars_files: [vars/secrets.yml]\n  vars:\n    control: \"CONTROL\"\n  tasks:\n    - name: \"control {{ control[:2] }} {{ control | upper }} {{ 'L' ~ (control | length) }}\"\n      command: { cmd: \"echo {{ control[:2] }}\" }\n"
            .replace("CONTROL", CONTROL);
    let tasks: Vec<(String, String, String)> = if tasks.is_empty() {
        vec![("0".into(), String::new(), String::new())]
    } else {
        tasks.to_vec()
    };
    for (n, key, value) in &tasks {
        let mut args: Vec<String> = base
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| format!("{k}: {}", json(v)))
            .collect();
        if !key.is_empty() {
            args.push(format!("{key}: {}", json(value)));
        }
        let _ = writeln!(
            text,
            "    - {kind}: {{ {} }}\n      vars: {{ n: \"{n}\" }}",
            args.join(", ")
        );
    }
    text
}

/// A YAML scalar holding `text` exactly (JSON strings are YAML).
fn json(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// Runs `recon ARGS --vault-password-file pw`, appends both streams to `seen`; its code.
fn recon(p: &Project, args: &[&str], seen: &mut String) -> i32 {
    let mut all = args.to_vec();
    all.extend(["--vault-password-file", "pw"]);
    let run = p.recon(&all);
    seen.push_str(&run.stdout);
    seen.push_str(&run.stderr);
    run.code
}

/// A project whose vault holds `token` and whose `templates/t.j2` exists.
fn project() -> Project {
    let p = Project::new();
    p.file("pw", "taint-prop-pw\n")
        .file("vars/secrets.yml", &format!("token: {TOKEN}\n"))
        .file("templates/t.j2", "t={{ n }}\n")
        .file("host/seed", "v1 seed\n");
    p.tarball("r.tgz", &[("app/run", b"x")]);
    std::fs::copy(p.dir().join("files/r.tgz"), p.host("seed.tgz")).expect("seed archive");
    p.encrypt("vars/secrets.yml");
    p
}

/// The kinds `recon --help` lists.
fn kinds(p: &Project) -> Vec<String> {
    let help = p.recon(&["--help"]).stdout;
    let list = help
        .split_once("Resources (the key of a task")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .expect("the help lists the resources")
        .1;
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// What one kind's runs left: everything recon printed or saved, and how many tasks (argument
/// and transform) got as far as a plan.
struct Exercised {
    seen: String,
    planned: usize,
}

/// `plan -v -o` (the text and the saved file), `plan --json` and, for kinds in `APPLIED`,
/// `apply --json` of the saved plan, all appended to `out`; whether the plan succeeded.
fn plan(
    p: &Project,
    kind: &str,
    base: &[(String, String)],
    tasks: &[(String, String, String)],
    out: &mut String,
) -> bool {
    p.file("site.yml", &playbook(kind, base, tasks));
    let saved = recon(p, &["plan", "site.yml", "-v", "-o", "saved.plan"], out) != 1;
    if saved {
        out.push_str(&std::fs::read_to_string(p.dir().join("saved.plan")).unwrap_or_default());
    }
    // A plan with tasks known only after apply (queries) is not saved: planned all the same.
    let planned = recon(p, &["plan", "site.yml", "--json"], out) != 1;
    if saved && APPLIED.contains(&kind) {
        recon(p, &["apply", "saved.plan", "--json"], out);
    }
    planned
}

/// The tasks `check` refused: indices into `tasks` of `playbook(kind, base, tasks)`, from the
/// lines its errors point at (every task is two lines, after the control task's).
fn refused_tasks(stderr: &str, count: usize) -> Vec<usize> {
    const FIRST: usize = 8;
    stderr
        .split("[site.yml:")
        .skip(1)
        .filter_map(|rest| rest.split(':').next()?.parse::<usize>().ok())
        .filter(|line| *line >= FIRST)
        .map(|line| (line - FIRST) / 2)
        .filter(|i| *i < count)
        .collect()
}

/// Sets every argument of `kind` to every transform of the secret, each its own task: `check`
/// over all, then `plan` (see `plan`) over the tasks `check` accepts, asserting that no form of
/// the secret is in any of it.
fn exercise(kind: &str) -> Exercised {
    let p = project();
    let base = base(&p, kind);
    let mut tasks = Vec::new();
    for key in arguments(&p, kind) {
        for (i, transform) in TRANSFORMS.iter().enumerate() {
            tasks.push((
                format!("{key}{i}"),
                key.clone(),
                transform.replace("VAR", "token"),
            ));
        }
    }
    let mut out = String::new();
    p.file("site.yml", &playbook(kind, &base, &tasks));
    let mut valid = tasks.clone();
    let mut checked = String::new();
    if recon(&p, &["check", "site.yml"], &mut checked) != 0 {
        let refused = refused_tasks(&checked, tasks.len());
        assert!(
            !refused.is_empty(),
            "`{kind}`: no task located in\n{checked}"
        );
        valid = tasks
            .iter()
            .enumerate()
            .filter(|(i, _)| !refused.contains(i))
            .map(|(_, t)| t.clone())
            .collect();
        // Accepted alone is not accepted together (two tasks claim one thing): check again.
        p.file("site.yml", &playbook(kind, &base, &valid));
        out.push_str(&checked);
        checked.clear();
        if recon(&p, &["check", "site.yml"], &mut checked) != 0 {
            let again = refused_tasks(&checked, valid.len());
            valid = valid
                .into_iter()
                .enumerate()
                .filter(|(i, _)| !again.contains(i))
                .map(|(_, t)| t)
                .collect();
        }
    }
    out.push_str(&checked);
    let mut planned = 0;
    if !valid.is_empty() && !plan(&p, kind, &base, &valid, &mut out) {
        // One task the host refuses fails the whole plan: each argument on its own.
        for key in valid.iter().map(|t| t.1.clone()).collect::<BTreeSet<_>>() {
            let group: Vec<_> = valid.iter().filter(|t| t.1 == key).cloned().collect();
            if plan(&p, kind, &base, &group, &mut out) {
                planned += group.len();
            }
        }
    } else {
        planned = valid.len();
    }
    let leaked = found(&out, TOKEN);
    assert!(leaked.is_empty(), "`{kind}` printed {leaked:?}:\n{out}");
    Exercised { seen: out, planned }
}

#[test]
fn every_argument_of_every_resource_masks_every_transform_of_a_secret() {
    let p = project();
    let kinds = kinds(&p);
    assert!(kinds.len() >= 20, "{kinds:?}");
    let mut control = String::new();
    let mut planned = Vec::new();
    // Two at a time: the machine is shared.
    for pair in kinds.chunks(2) {
        std::thread::scope(|s| {
            let handles: Vec<_> = pair.iter().map(|k| s.spawn(move || exercise(k))).collect();
            for (kind, handle) in pair.iter().zip(handles) {
                let done = handle.join().expect("exercise");
                control.push_str(&done.seen);
                planned.push((kind.as_str(), done.planned));
            }
        });
    }
    eprintln!("tasks planned per kind: {planned:?}");
    // Most arguments take most transforms to a plan (not only to a refusal).
    let total: usize = planned.iter().map(|(_, n)| n).sum();
    let kinds_planned = planned.iter().filter(|(_, n)| *n > 0).count();
    assert!(
        total >= 600 && kinds_planned >= 24,
        "too little reached a plan: {planned:?}"
    );
    // The self-check: the same grep finds the control's forms (upper, a slice, a length).
    let shown = found(&control, CONTROL);
    for form in [
        CONTROL.to_uppercase(),
        CONTROL[..2].to_owned(),
        format!("L{}", CONTROL.len()),
    ] {
        assert!(shown.contains(&form), "the grep misses `{form}`: {shown:?}");
    }
}

/// A short derived value a resource prints reformatted (`600` as mode `0600`) matches no word:
/// the task's attribute values are masked as a whole; other tasks' short values, and a `when:`
/// that tests the secret, stay readable; the host gets the real value.
#[test]
fn a_short_derived_value_is_masked_where_the_resource_reformats_it() {
    let p = project();
    assert_eq!(TOKEN.len() + 573, 0o1130, "the mode below is 600");
    p.file(
        "site.yml",
        "- hosts: all\n  vars_files: [vars/secrets.yml]\n  tasks:\n    - directory: { path: \"{{ root }}/a\", mode: \"{{ (token | length) + 573 }}\" }\n    - directory: { path: \"{{ root }}/b\", mode: \"0750\" }\n      when: token | length > 3\n",
    );
    let mut out = String::new();
    assert_eq!(recon(&p, &["plan", "site.yml", "-v"], &mut out), 0, "{out}");
    assert!(
        out.contains("mode: ********") && out.contains("mode: 0750"),
        "{out}"
    );
    recon(&p, &["plan", "site.yml", "--json"], &mut out);
    assert_eq!(
        recon(&p, &["apply", "site.yml", "--json"], &mut out),
        0,
        "{out}"
    );
    assert!(!out.contains("600"), "{out}");
    assert_eq!(crate::harness::mode(&p.host("a")), 0o600);
    assert_eq!(crate::harness::mode(&p.host("b")), 0o750);
}
