//! The digicam deploy end to end, with the shipped playbook and roles, on real components: one
//! sshd, one nginx and one supervisord (started by the test on loopback ports), three squads as
//! three Unix accounts deploying in parallel.

use std::fmt::Write as _;
use std::path::Path;

use crate::harness::sshd::{ensure_user, Sshd};
use crate::harness::web::{Nginx, Supervisord};
use crate::harness::{copy_tree, free_port, Project};

const SQUADS: [&str; 3] = ["recontest1", "recontest2", "recontest3"];
/// The squads' app folder: its own per test process, so runs of this test from several checkouts
/// on one machine (which share the recontest accounts) never see each other's deploys.
fn app_dir() -> String {
    format!("e2e_digicam_{}", std::process::id())
}

/// Everything a run needs; dropped in reverse order (services stop, then sshd).
struct Stage {
    project: Project,
    nginx: Nginx,
    supervisord: Supervisord,
    _sshd: Sshd,
    site_port: u16,
}

impl Stage {
    fn new() -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        // Clear the previous run's squad folders before supervisord reads the include glob.
        let homes: Vec<_> = SQUADS.iter().map(|user| ensure_user(user)).collect();
        for home in &homes {
            let _ = std::fs::remove_dir_all(home.join(app_dir()));
        }
        let sshd = Sshd::start();
        let app = app_dir();
        let glob = |file: &str| format!("/home/recontest*/{app}/conf/{file}");
        let nginx = Nginx::start(&glob("nginx.conf"));
        let supervisord = Supervisord::start(&glob("supervisor.conf"));
        nginx.allow_reload(&SQUADS);
        let project = Project::new();
        copy_tree(&repo.join("playbooks"), &project.dir().join("playbooks"));
        copy_tree(&repo.join("roles"), &project.dir().join("roles"));
        let releases = project.dir().join("releases");
        let built = std::process::Command::new("bash")
            .arg(repo.join("scripts/make-releases.sh"))
            .arg(&releases)
            .output()
            .expect("make-releases");
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        let site_port = free_port();
        let mut hosts = String::new();
        for (i, user) in SQUADS.iter().enumerate() {
            let home = &homes[i];
            sshd.authorize(user);
            let _ = writeln!(
                hosts,
                "        {user}: {{ ansible_user: {user}, home: {}, app_port: {}, domain: api.digicam.{user}.test }}",
                home.display(),
                free_port()
            );
        }
        project.file(
            "inventory/squads.yml",
            &format!(
                "all:\n  children:\n    squads:\n      vars:\n        ansible_host: 127.0.0.1\n        ansible_port: {}\n        ansible_ssh_private_key_file: {}\n        recon_known_hosts_file: {}\n        nginx_port: {site_port}\n        nginx_conf: {}\n        supervisorctl: supervisorctl -c {}\n        app_dir: {app_dir}\n        release_dir: {}\n        health_timeout: 6\n      hosts:\n{hosts}",
                sshd.port,
                sshd.client_key.display(),
                sshd.known_hosts.display(),
                nginx.config.display(),
                supervisord.config.display(),
                releases.display(),
                app_dir = app_dir(),
            ),
        );
        Self {
            project,
            nginx,
            supervisord,
            _sshd: sshd,
            site_port,
        }
    }

    fn apply(&self, version: &str) -> crate::harness::Run {
        self.project.recon(&[
            "apply",
            "playbooks/digicam.yml",
            "-i",
            "inventory/squads.yml",
            "-e",
            &format!("version={version}"),
        ])
    }

    /// What each squad's subdomain answers through nginx.
    fn versions(&self) -> Vec<String> {
        self.health("version")
    }

    /// The message of the day each squad's /health reports: read by the release's dependency
    /// (installed into its virtualenv by `prepare`) from its `.env` (a link into `shared/`).
    fn motds(&self) -> Vec<String> {
        self.health("motd")
    }

    /// `field` of each squad's /health answer through nginx (or what answered instead).
    fn health(&self, field: &str) -> Vec<String> {
        SQUADS
            .iter()
            .map(|user| {
                match Nginx::get(
                    self.site_port,
                    &format!("api.digicam.{user}.test"),
                    "/health",
                ) {
                    Some((200, body)) => serde_json::from_str::<serde_json::Value>(&body)
                        .expect("json")[field]
                        .as_str()
                        .unwrap_or("?")
                        .to_owned(),
                    other => format!("{other:?}"),
                }
            })
            .collect()
    }

    fn spawns(&self) -> usize {
        self.supervisord.log().matches("spawned: 'digicam-").count()
    }
}

#[test]
fn deploy_upgrade_auto_rollback_manual_rollback_and_a_broken_nginx_site() {
    let stage = Stage::new();

    // v1.0.0 to three squads in parallel: each subdomain answers through nginx. The plan shows
    // the release's shared `.env` link and its prepare commands (a virtualenv per release).
    stage
        .apply("v1.0.0")
        .expect_code(0)
        .stdout_has("on 3 hosts")
        .stdout_has("shared: .env -> shared/.env")
        .stdout_has("prepare: python3 -m venv venv");
    assert_eq!(stage.versions(), ["1.0.0"; 3]);
    // The dependency came from the release's own wheel, into the release's own virtualenv, and
    // reads the squad's shared `.env`.
    assert_eq!(
        stage.motds(),
        SQUADS
            .iter()
            .map(|u| format!("Welcome to digicam, squad {u}"))
            .collect::<Vec<_>>()
    );
    let release = ensure_user(SQUADS[0]).join(app_dir()).join("v1.0.0");
    assert_eq!(
        std::fs::read_link(release.join(".env")).expect(".env link"),
        Path::new("../shared/.env")
    );
    assert!(release.join("venv/bin/python").exists());

    // v1.0.1: every program restarted exactly once.
    let spawns = stage.spawns();
    let run = stage.apply("v1.0.1");
    run.expect_code(0)
        .stdout_has("# because a task it watches changed: restart once");
    assert_eq!(stage.versions(), ["1.0.1"; 3]);
    assert_eq!(
        stage.spawns() - spawns,
        3,
        "one restart per squad\n{}",
        stage.supervisord.log()
    );

    // v1.0.2 is broken: the health gate fails, recon rolls back to v1.0.1 and marks v1.0.2 failed.
    let run = stage.apply("v1.0.2");
    run.expect_code(1)
        .stdout_has("health check failed")
        .stdout_has("rolled back to v1.0.1, which answers");
    assert_eq!(stage.versions(), ["1.0.1"; 3]);
    let listing = stage.project.recon(&[
        "releases",
        "playbooks/digicam.yml",
        "-i",
        "inventory/squads.yml",
    ]);
    listing
        .expect_code(0)
        .stdout_has("v1.0.2       failed\n")
        .stdout_has("v1.0.1       good  <- current\n");
    // A failed release is not deployed again by accident.
    stage
        .apply("v1.0.2")
        .expect_code(1)
        .stdout_has("failed its health check before");

    // Manual rollback to v1.0.0 runs the same restart and checks.
    stage
        .project
        .recon(&[
            "rollback",
            "playbooks/digicam.yml",
            "-i",
            "inventory/squads.yml",
            "--to",
            "v1.0.0",
        ])
        .expect_code(0);
    assert_eq!(stage.versions(), ["1.0.0"; 3]);
    stage
        .apply("v1.0.0")
        .expect_code(0)
        .stdout_has("No changes. 3 hosts converged.");

    // One squad's broken nginx site: that squad fails with nginx's own message, its previous
    // site file is back, and nginx keeps serving every squad.
    let inventory = stage.project.dir().join("inventory/squads.yml");
    let text = std::fs::read_to_string(&inventory).expect("inventory");
    let broken = text.replace(
        "recontest2: { ansible_user: recontest2,",
        "recontest2: { nginx_extra: 'bogus_directive on;', ansible_user: recontest2,",
    );
    std::fs::write(&inventory, broken).expect("write");
    let run = stage.apply("v1.0.0");
    run.expect_code(1)
        .stdout_has("unknown directive \"bogus_directive\"")
        .stdout_has("check failed; the previous file was restored");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["recontest2", "8", "0", "1", "1", "0"]),
        "{}",
        run.stdout
    );
    assert_eq!(stage.versions(), ["1.0.0"; 3]);
    let site = std::fs::read_to_string(
        ensure_user("recontest2")
            .join(app_dir())
            .join("conf/nginx.conf"),
    )
    .expect("site");
    assert!(
        !site.contains("bogus_directive"),
        "the previous site file was restored:\n{site}"
    );
    assert!(
        stage.nginx.error_log().is_empty() || !stage.nginx.error_log().contains("[emerg]"),
        "nginx never loaded the broken file"
    );
}
