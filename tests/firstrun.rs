//! The first ten minutes of a new user: every shipped sample checks on a fresh clone, the sample
//! releases are what `scripts/make-releases.sh` builds, `recon init` works, every `--help` has an
//! example, and the README quickstart runs as written.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Project;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn recon_in(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recon"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("recon runs")
}

/// The inventory a shipped playbook is meant for: the one its header comment names with `-i`,
/// else `inventory/`.
fn inventory_for(playbook: &Path) -> String {
    let text = std::fs::read_to_string(playbook).expect("read playbook");
    text.lines()
        .filter(|l| l.starts_with('#'))
        .find_map(|l| {
            let mut words = l.split_whitespace();
            words.find(|w| *w == "-i")?;
            words.next().map(str::to_owned)
        })
        .unwrap_or_else(|| "inventory".to_owned())
}

#[test]
fn every_shipped_playbook_passes_check() {
    let mut playbooks: Vec<PathBuf> = std::fs::read_dir(repo().join("playbooks"))
        .expect("playbooks/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    playbooks.sort();
    assert!(!playbooks.is_empty(), "no playbooks found");
    let mut failures = Vec::new();
    for playbook in &playbooks {
        let rel = playbook.strip_prefix(repo()).expect("in repo");
        let rel = rel.to_str().expect("utf-8 path");
        let inventory = inventory_for(playbook);
        let out = recon_in(repo(), &["check", rel, "-i", &inventory]);
        if !out.status.success() {
            failures.push(format!(
                "{rel} (-i {inventory}):\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "recon check failed for:\n{}",
        failures.join("\n")
    );
}

#[test]
fn shipped_sample_releases_are_what_make_releases_builds() {
    let out_dir = tempfile::tempdir().expect("tempdir");
    crate::harness::make_releases(out_dir.path());
    for version in ["v1.0.0", "v1.0.1", "v1.0.2"] {
        let name = format!("digicam-{version}.tar.gz");
        let shipped = std::fs::read(repo().join("examples/digicam/releases").join(&name))
            .unwrap_or_else(|e| panic!("{name} is not shipped: {e}"));
        let rebuilt = std::fs::read(out_dir.path().join(&name)).expect("rebuilt");
        assert!(
            shipped == rebuilt,
            "examples/digicam/releases/{name} differs from what scripts/make-releases.sh builds: \
             re-run `scripts/make-releases.sh examples/digicam/releases` and commit"
        );
    }
}

#[test]
fn init_creates_a_project_that_checks_plans_and_applies_on_localhost() {
    let p = Project::new();
    let in_app = |args: &[&str]| {
        p.recon_with(args, |c| {
            c.current_dir(p.dir().join("app"));
        })
    };
    p.recon(&["init", "app"])
        .expect_code(0)
        .stdout_has("Created a recon project in app:")
        .stdout_has("roles/hello/templates/hello.txt.j2");
    let hosts =
        std::fs::read_to_string(p.dir().join("app/inventory/hosts.yml")).expect("inventory");
    assert!(hosts.contains("ansible_connection: local"), "{hosts}");
    assert!(p.dir().join("app/README.md").exists());
    assert!(p.dir().join("app/inventory/group_vars/all.yml").exists());
    in_app(&["check", "site.yml"])
        .expect_code(0)
        .stdout_has("site.yml is valid: 1 play, 2 tasks compiled for 1 host.");
    in_app(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("localhost\n")
        .stdout_has("+ template ~/recon-hello/hello.txt")
        .stdout_has("+Hello, world!");
    in_app(&["apply", "site.yml"]).expect_code(0);
    let written = std::fs::read_to_string(p.dir().join("recon-hello/hello.txt")).expect("applied");
    assert!(written.starts_with("Hello, world!\n"), "{written}");
    in_app(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("No changes. 1 host converged.");
    // Never overwrites: a second init into the same folder refuses and changes nothing.
    std::fs::write(p.dir().join("app/site.yml"), "# mine\n").expect("edit");
    p.recon(&["init", "app"])
        .expect_code(1)
        .stderr_has("already has README.md, site.yml");
    let site = std::fs::read_to_string(p.dir().join("app/site.yml")).expect("site");
    assert_eq!(site, "# mine\n");
}

#[test]
fn every_command_help_has_an_example_and_flags_fit_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let commands = [
        "plan",
        "apply",
        "check",
        "graph",
        "inventory",
        "run",
        "releases",
        "rollback",
        "init",
    ];
    for command in commands {
        let out = recon_in(dir.path(), &[command, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{command} --help failed");
        assert!(
            help.contains("Examples:\n  recon "),
            "`recon {command} --help` has no example:\n{help}"
        );
    }
    let apply =
        String::from_utf8_lossy(&recon_in(dir.path(), &["apply", "--help"]).stdout).into_owned();
    assert!(
        apply.contains("<PLAYBOOK_OR_PLAN>") && apply.contains("plan saved with"),
        "{apply}"
    );
    let releases = recon_in(dir.path(), &["releases", "x.yml", "--tags", "a"]);
    assert_eq!(releases.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&releases.stderr).contains("unexpected argument '--tags'"));
    for command in ["plan", "apply", "rollback", "run"] {
        let help = String::from_utf8_lossy(&recon_in(dir.path(), &[command, "--help"]).stdout)
            .into_owned();
        assert!(
            help.contains("--become"),
            "`{command}` has no --become:\n{help}"
        );
    }
}

#[test]
fn become_flag_makes_every_play_become() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}\" }\n",
    );
    let saved_become = |args: &[&str]| {
        p.recon(args).expect_code(0);
        let text = std::fs::read_to_string(p.dir().join("saved.plan")).expect("saved plan");
        let plan: serde_json::Value = serde_json::from_str(&text).expect("json");
        plan["plays"][0]["hosts"][0]["become_"].as_bool()
    };
    assert_eq!(
        saved_become(&["plan", "site.yml", "-o", "saved.plan"]),
        Some(false)
    );
    assert_eq!(
        saved_become(&["plan", "site.yml", "-o", "saved.plan", "--become"]),
        Some(true)
    );
}

/// Stops what the demo started, whatever the test's outcome.
struct DemoStopper;

impl Drop for DemoStopper {
    fn drop(&mut self) {
        let _ = Command::new(repo().join("scripts/demo.sh"))
            .arg("stop")
            .output();
    }
}

/// The README's quickstart block, its commands without their comments.
fn quickstart_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let section = readme
        .split("## Quickstart")
        .nth(1)
        .expect("README has a Quickstart section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("Quickstart has a ```sh block");
    block
        .lines()
        .map(|l| l.split(" #").next().unwrap_or_default().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn readme_quickstart_runs_as_written() {
    let commands = quickstart_commands();
    assert_eq!(
        commands,
        ["scripts/demo.sh", "scripts/test.sh"],
        "the README quickstart changed: update this test with it"
    );
    // The second command is this very test suite; here it is only checked to be a valid script.
    let syntax = Command::new("sh")
        .args(["-n", &commands[1]])
        .current_dir(repo())
        .output()
        .expect("sh -n");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    // A fresh machine: nothing of an earlier demo (maybe of other sample releases) is left.
    let reset = Command::new("sh")
        .args(["-c", "scripts/demo.sh reset"])
        .current_dir(repo())
        .output()
        .expect("demo reset");
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    let _stop = DemoStopper;
    // The binary under test, not a fresh build: under `scripts/test.sh` as a sudo user these
    // tests run as root, whose PATH has no cargo (the demo builds when RECON_DEMO_BIN is unset).
    let demo = Command::new("sh")
        .args(["-c", &commands[0]])
        .current_dir(repo())
        .env("RECON_DEMO_BIN", env!("CARGO_BIN_EXE_recon"))
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(
        demo.status.success(),
        "`{}` failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        commands[0],
        String::from_utf8_lossy(&demo.stderr)
    );
    for squad in ["alpha", "bravo", "charlie"] {
        assert!(
            stdout.contains(&format!("\"version\": \"1.0.1\", \"squad\": \"{squad}\"")),
            "{squad} does not answer v1.0.1:\n{stdout}"
        );
    }
    // Safe to re-run: the second run finds everything converged.
    let again = Command::new("sh")
        .args(["-c", &commands[0]])
        .current_dir(repo())
        .env("RECON_DEMO_BIN", env!("CARGO_BIN_EXE_recon"))
        .output()
        .expect("the demo runs again");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(
        stdout.contains("No changes. 3 hosts converged."),
        "{stdout}"
    );
}
