//! The CI examples: the GitHub Actions workflow passes actionlint (installed by
//! scripts/install-deps.sh), and every recon command line in the workflow and the Jenkinsfile
//! uses options recon really has, so the examples cannot drift from the CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where scripts/install-deps.sh puts actionlint.
const ACTIONLINT: &str = "/opt/recon-test/actionlint/bin/actionlint";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workflow() -> PathBuf {
    repo().join("examples/ci/github-actions.yml")
}

/// Runs actionlint on `file`: (success, output).
fn actionlint(file: &Path) -> (bool, String) {
    assert!(
        Path::new(ACTIONLINT).is_file(),
        "{ACTIONLINT} is missing: run scripts/install-deps.sh"
    );
    let out = Command::new(ACTIONLINT)
        .arg("-no-color")
        .arg(file)
        .output()
        .expect("actionlint runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_github_actions_workflow_passes_actionlint() {
    let (ok, output) = actionlint(&workflow());
    assert!(ok, "actionlint:\n{output}");
    // The linter really reads it: a reference to a matrix value that does not exist fails.
    let text = std::fs::read_to_string(workflow()).expect("workflow");
    let broken = text.replacen("${{ matrix.shard }}", "${{ matrix.shards }}", 1);
    assert_ne!(broken, text);
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("deploy.yml");
    std::fs::write(&copy, broken).expect("write");
    let (ok, output) = actionlint(&copy);
    assert!(!ok, "a broken workflow must fail actionlint");
    assert!(output.contains("shards"), "{output}");
}

#[test]
fn the_workflow_plans_on_review_and_applies_on_a_tag_with_pinned_keys_and_shards() {
    let text = std::fs::read_to_string(workflow()).expect("workflow");
    for needle in [
        "pull_request:",
        "tags: [\"v*.*.*\"]",
        "--detailed-exitcode",
        "$GITHUB_STEP_SUMMARY",
        "secrets.DEPLOY_SSH_KEY",
        "secrets.VAULT_PASSWORD",
        "deploy/known_hosts ~/.ssh/known_hosts",
        "shard: [1, 2]",
        "--shard \"$SHARD/$SHARDS\"",
        "report merge reports/*.json",
    ] {
        assert!(text.contains(needle), "the workflow lacks {needle:?}");
    }
    assert!(
        !text.contains("--accept-new-host-keys\n") && !text.contains("--accept-new-host-keys \\"),
        "CI must not accept unknown host keys"
    );
}

/// The `--options` used on recon command lines (continuations joined) in `text`, with the
/// subcommand they belong to.
fn recon_options(text: &str) -> Vec<(String, String)> {
    let joined = text.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        let Some(at) = line.find("recon ") else {
            continue;
        };
        let words: Vec<&str> = line[at..].split_whitespace().collect();
        let sub = match words.get(1) {
            Some(&"report") => "report merge".to_owned(),
            Some(s) if ["plan", "apply"].contains(s) => (*s).to_owned(),
            _ => continue,
        };
        for w in &words {
            if let Some(option) = w.strip_prefix("--") {
                let name: String = option
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                found.push((sub.clone(), format!("--{name}")));
            }
        }
    }
    found
}

#[test]
fn every_recon_option_in_the_ci_examples_exists() {
    let mut checked = 0;
    for file in ["examples/ci/github-actions.yml", "examples/ci/Jenkinsfile"] {
        let text = std::fs::read_to_string(repo().join(file)).expect("example");
        for (sub, option) in recon_options(&text) {
            let mut command = Command::new(env!("CARGO_BIN_EXE_recon"));
            command.args(sub.split(' ')).arg("--help");
            let help = command.output().expect("recon --help");
            let help = String::from_utf8_lossy(&help.stdout);
            assert!(
                help.contains(&format!("{option} ")) || help.contains(&format!("{option}\n")),
                "{file}: `recon {sub}` has no {option}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} options found");
}
