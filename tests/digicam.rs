//! The digicam deploy end to end, with the shipped playbook and roles, on real components: one
//! sshd, one nginx and one supervisord (started by the test on loopback ports), three squads as
//! three Unix accounts deploying in parallel. The default flow is blue/green (two slots per
//! squad, a cutover once the new slot answers); a bounded load through nginx during each deploy
//! counts the failed requests, which must be none. The in-place flow (`deploy: in_place`) and
//! the migration from it are tested too, and both flows' figures printed for BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::accounts::ensure_user;
use crate::harness::load::{Figures, Load, Sample};
use crate::harness::sshd::Sshd;
use crate::harness::web::{Nginx, Supervisord};
use crate::harness::{free_port, Project};

const SQUADS: [&str; 3] = ["recontest1", "recontest2", "recontest3"];
/// The squads' app folder: its own per test process, so runs of this test from several checkouts
/// on one machine (which share the recontest accounts) never see each other's deploys.
/// Each test's stage has its own (`flow`), as both run at once.
fn app_dir(flow: &str) -> String {
    format!("e2e_digicam_{}_{flow}", std::process::id())
}

/// The squads' accounts keep per-account state (`~/.recon/pending`, the lock): the two tests of
/// this file take turns, or one's apply would find the other's marker and call its plan stale.
static ACCOUNTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Everything a run needs; dropped in reverse order (services stop, then sshd).
struct Stage {
    project: Project,
    nginx: Nginx,
    supervisord: Supervisord,
    _sshd: Sshd,
    site_port: u16,
    homes: Vec<PathBuf>,
    app_dir: String,
}

impl Stage {
    /// A stage whose squads deploy with `deploy` (`blue_green` or `in_place`).
    fn new(deploy: &str) -> Self {
        // Clear the previous run's squad folders before supervisord reads the include glob.
        let homes: Vec<_> = SQUADS.iter().map(|user| ensure_user(user)).collect();
        for home in &homes {
            let _ = std::fs::remove_dir_all(home.join(app_dir(deploy)));
        }
        let sshd = Sshd::start();
        let app = app_dir(deploy);
        let glob = |file: &str| format!("/home/recontest*/{app}/conf/{file}");
        let nginx = Nginx::start(&glob("nginx.conf"));
        let supervisord = Supervisord::start(&glob("supervisor*.conf"));
        nginx.allow_reload(&SQUADS);
        let project = Project::new();
        let releases = project.digicam();
        let site_port = free_port();
        let mut hosts = String::new();
        for (i, user) in SQUADS.iter().enumerate() {
            let home = &homes[i];
            sshd.authorize(user);
            let _ = writeln!(
                hosts,
                "        {user}: {{ ansible_user: {user}, home: {}, app_port: {}, slot_ports: [{}, {}], domain: api.digicam.{user}.test }}",
                home.display(),
                free_port(),
                free_port(),
                free_port()
            );
        }
        project.file(
            "inventory/squads.yml",
            &format!(
                "all:\n  children:\n    squads:\n      vars:\n        ansible_host: 127.0.0.1\n        ansible_port: {}\n        ansible_ssh_private_key_file: {}\n        recon_known_hosts_file: {}\n        nginx_port: {site_port}\n        nginx_conf: {}\n        supervisorctl: supervisorctl -c {}\n        app_dir: {app_dir}\n        release_dir: {}\n        health_timeout: 6\n        deploy: {deploy}\n      hosts:\n{hosts}",
                sshd.port,
                sshd.client_key.display(),
                sshd.known_hosts.display(),
                nginx.config.display(),
                supervisord.config.display(),
                releases.display(),
                app_dir = app_dir(deploy),
            ),
        );
        Self {
            project,
            nginx,
            supervisord,
            _sshd: sshd,
            site_port,
            homes,
            app_dir: app_dir(deploy),
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

    fn rollback(&self, to: &str) -> crate::harness::Run {
        self.project.recon(&[
            "rollback",
            "playbooks/digicam.yml",
            "-i",
            "inventory/squads.yml",
            "--to",
            to,
        ])
    }

    /// One bounded load per squad through nginx (a GET of /health every 20 ms, 120 s at most).
    fn loads(&self) -> Vec<Load> {
        SQUADS
            .iter()
            .map(|user| {
                Load::start(
                    self.site_port,
                    &format!("api.digicam.{user}.test"),
                    "/health",
                    Duration::from_millis(20),
                    Duration::from_secs(120),
                )
            })
            .collect()
    }

    /// Stops the loads; every answer that is not a healthy one from its own squad running one of
    /// `versions` counts as failed. Returns the squads' figures (summed and worst-of).
    fn figures(loads: Vec<Load>, versions: &[&str]) -> (Figures, Vec<String>) {
        let mut all = Figures {
            requests: 0,
            failed: 0,
            longest_gap: Duration::ZERO,
            p99: Duration::ZERO,
        };
        let mut wrong = Vec::new();
        for (user, load) in SQUADS.iter().zip(loads) {
            let samples: Vec<Sample> = load.finish();
            let good = |(status, body): &(u16, String)| {
                let json: serde_json::Value =
                    serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
                *status == 200
                    && json["squad"] == *user
                    && versions.iter().any(|v| json["version"] == *v)
            };
            for s in &samples {
                if !s.answer.as_ref().is_some_and(good) {
                    wrong.push(format!("{user} at {:?}: {:?}", s.at, s.answer));
                }
            }
            let f = Figures::of(&samples, good);
            all.requests += f.requests;
            all.failed += f.failed;
            all.longest_gap = all.longest_gap.max(f.longest_gap);
            all.p99 = all.p99.max(f.p99);
        }
        (all, wrong)
    }

    /// The squad's app folder.
    fn app(&self, squad: usize) -> PathBuf {
        self.homes[squad].join(&self.app_dir)
    }

    /// Which slot nginx routes the squad to (the cutover's upstream file).
    fn live_slot(&self, squad: usize) -> String {
        let text =
            std::fs::read_to_string(self.app(squad).join("conf/upstream.conf")).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("# Managed by recon (cutover): the live slot is "))
            .unwrap_or("none")
            .to_owned()
    }

    fn link(&self, squad: usize, name: &str) -> String {
        std::fs::read_link(self.app(squad).join(name))
            .map(|t| t.display().to_string())
            .unwrap_or_default()
    }

    fn marker(&self, squad: usize, version: &str) -> String {
        let text = std::fs::read_to_string(self.app(squad).join(".recon-releases").join(version))
            .unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("status="))
            .unwrap_or("none")
            .to_owned()
    }

    /// supervisord's state word for the squad's slot program (RUNNING, STOPPED, ...).
    fn program(&self, squad: usize, slot: &str) -> String {
        let name = format!("digicam-{}-{slot}", SQUADS[squad]);
        self.supervisord
            .ctl(&["status", &name])
            .split_whitespace()
            .nth(1)
            .unwrap_or("?")
            .to_owned()
    }

    /// Every squad: `live` is live and running `version`, `current` names it with a good
    /// marker, and the other slot is stopped.
    fn assert_live(&self, live: &str, version: &str) {
        let idle = if live == "blue" { "green" } else { "blue" };
        for squad in 0..SQUADS.len() {
            assert_eq!(self.live_slot(squad), live, "squad {squad}");
            assert_eq!(
                self.link(squad, &format!("slots/{live}")),
                format!("../{version}")
            );
            assert_eq!(self.link(squad, "current"), version);
            assert_eq!(self.marker(squad, version), "good");
            assert_eq!(self.program(squad, live), "RUNNING");
            assert_eq!(
                self.program(squad, idle),
                "STOPPED",
                "{}",
                self.supervisord.log()
            );
        }
    }
}

/// Runs `step` under load; asserts no request failed (each answer healthy, from its own squad,
/// running one of `versions`) and returns the figures.
fn under_load(stage: &Stage, versions: &[&str], step: impl FnOnce()) -> Figures {
    let loads = stage.loads();
    // The loads are running before the deploy starts.
    std::thread::sleep(Duration::from_millis(200));
    step();
    std::thread::sleep(Duration::from_millis(200));
    let (figures, wrong) = Stage::figures(loads, versions);
    assert!(
        wrong.is_empty(),
        "{} of {} requests failed:\n{}",
        wrong.len(),
        figures.requests,
        wrong
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    figures
}

#[test]
fn blue_green_upgrade_broken_release_and_rollback_without_a_failed_request() {
    let _turn = ACCOUNTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stage = Stage::new("blue_green");

    first_blue_green_deploy(&stage);
    // v1.0.1 under load: it starts on green, answers there, nginx switches, blue drains and
    // stops. Not one request fails; each green program spawned once.
    let spawns = stage.spawns();
    let upgrade = under_load(&stage, &["1.0.0", "1.0.1"], || {
        stage
            .apply("v1.0.1")
            .expect_code(0)
            .stdout_has("v1.0.1 goes live on green")
            .stdout_has("blue (v1.0.0) drains 2s, then stops");
    });
    assert_eq!(stage.versions(), ["1.0.1"; 3]);
    assert_eq!(stage.spawns() - spawns, 3, "{}", stage.supervisord.log());
    stage.assert_live("green", "v1.0.1");
    assert_eq!(stage.marker(0, "v1.0.0"), "good");

    // v1.0.2 is broken: it fails its check on blue's own port, never takes traffic (every
    // answer during the attempt is v1.0.1's), is marked failed; green keeps serving.
    let broken = under_load(&stage, &["1.0.1"], || {
        stage
            .apply("v1.0.2")
            .expect_code(1)
            .stdout_has("health check failed")
            .stdout_has("never took traffic");
    });
    stage.assert_live("green", "v1.0.1");
    for squad in 0..SQUADS.len() {
        assert_eq!(stage.marker(squad, "v1.0.2"), "failed");
    }
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

    // Rollback to v1.0.0 under load: blue runs it again, checked, then nginx switches back.
    let rollback = under_load(&stage, &["1.0.1", "1.0.0"], || {
        stage.rollback("v1.0.0").expect_code(0);
    });
    assert_eq!(stage.versions(), ["1.0.0"; 3]);
    stage.assert_live("blue", "v1.0.0");
    stage
        .apply("v1.0.0")
        .expect_code(0)
        .stdout_has("No changes. 3 hosts converged.");

    warm_switch_and_rollback(&stage);
    println!("figures: blue_green upgrade: {upgrade}");
    println!("figures: blue_green broken: {broken}");
    println!("figures: blue_green rollback: {rollback}");

    a_broken_site_keeps_nginx_serving(&stage);
}

/// v1.0.0 to three squads in parallel, blue/green: it goes live on blue.
fn first_blue_green_deploy(stage: &Stage) {
    // v1.0.0 to three squads in parallel: it goes live on blue. The plan shows the release's
    // shared `.env` link, its prepare commands (a virtualenv per release) and the cutover.
    stage
        .apply("v1.0.0")
        .expect_code(0)
        .stdout_has("on 3 hosts")
        .stdout_has("shared: .env -> shared/.env")
        .stdout_has("prepare: python3 -m venv venv")
        .stdout_has("v1.0.0 goes live on blue");
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
    let release = stage.app(0).join("v1.0.0");
    assert_eq!(
        std::fs::read_link(release.join(".env")).expect(".env link"),
        Path::new("../shared/.env")
    );
    assert!(release.join("venv/bin/python").exists());
    stage.assert_live("blue", "v1.0.0");
}

/// A warm slot is switched to without a restart; `recon rollback` restarts a drained one.
fn warm_switch_and_rollback(stage: &Stage) {
    // A warm slot: green still runs v1.0.1 (started by hand here), so going back to it is a
    // switch without a restart; then `recon rollback` (no version: the previous good one)
    // brings v1.0.0 back on blue, started again since blue was drained and stopped.
    for user in SQUADS {
        stage
            .supervisord
            .ctl(&["start", &format!("digicam-{user}-green")]);
    }
    let spawns = stage.spawns();
    under_load(stage, &["1.0.0", "1.0.1"], || {
        stage
            .apply("v1.0.1")
            .expect_code(0)
            .stdout_has("(warm: it already runs there)");
    });
    assert_eq!(stage.spawns(), spawns, "no restart");
    stage.assert_live("green", "v1.0.1");
    under_load(stage, &["1.0.1", "1.0.0"], || {
        stage
            .project
            .recon(&[
                "rollback",
                "playbooks/digicam.yml",
                "-i",
                "inventory/squads.yml",
            ])
            .expect_code(0);
    });
    stage.assert_live("blue", "v1.0.0");
}

/// One squad's broken nginx site fails that squad alone; nginx keeps serving every squad.
fn a_broken_site_keeps_nginx_serving(stage: &Stage) {
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
                == ["recontest2", "11", "0", "1", "0", "0"]),
        "{}",
        run.stdout
    );
    assert_eq!(stage.versions(), ["1.0.0"; 3]);
    let site = std::fs::read_to_string(
        ensure_user("recontest2")
            .join(&stage.app_dir)
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

#[test]
fn in_place_flow_and_the_migration_to_blue_green() {
    let _turn = ACCOUNTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stage = Stage::new("in_place");
    stage.apply("v1.0.0").expect_code(0);
    assert_eq!(stage.versions(), ["1.0.0"; 3]);

    // v1.0.1 in place: every program restarted exactly once (requests may fail meanwhile).
    let spawns = stage.spawns();
    let loads = stage.loads();
    stage
        .apply("v1.0.1")
        .expect_code(0)
        .stdout_has("# because a task it watches changed: restart once");
    let (upgrade, _) = Stage::figures(loads, &["1.0.0", "1.0.1"]);
    assert_eq!(stage.versions(), ["1.0.1"; 3]);
    assert_eq!(stage.spawns() - spawns, 3, "{}", stage.supervisord.log());

    // v1.0.2 is broken: the health gate fails, recon rolls back to v1.0.1 and marks it failed.
    let loads = stage.loads();
    stage
        .apply("v1.0.2")
        .expect_code(1)
        .stdout_has("health check failed")
        .stdout_has("rolled back to v1.0.1, which answers");
    let (broken, _) = Stage::figures(loads, &["1.0.1"]);
    assert_eq!(stage.versions(), ["1.0.1"; 3]);

    // Manual rollback to v1.0.0 runs the same restart and checks.
    let loads = stage.loads();
    stage.rollback("v1.0.0").expect_code(0);
    let (rollback, _) = Stage::figures(loads, &["1.0.1", "1.0.0"]);
    assert_eq!(stage.versions(), ["1.0.0"; 3]);
    println!("figures: in_place upgrade: {upgrade}");
    println!("figures: in_place broken: {broken}");
    println!("figures: in_place rollback: {rollback}");

    // Migration: the same squads switch to blue/green with v1.0.1. The old program keeps
    // serving until nginx routes to the new slot, then it is removed: no request fails.
    let inventory = stage.project.dir().join("inventory/squads.yml");
    let text = std::fs::read_to_string(&inventory).expect("inventory");
    std::fs::write(
        &inventory,
        text.replace("deploy: in_place", "deploy: blue_green"),
    )
    .expect("write");
    let migration = under_load(&stage, &["1.0.0", "1.0.1"], || {
        stage.apply("v1.0.1").expect_code(0);
    });
    println!("figures: migration to blue_green: {migration}");
    stage.assert_live("blue", "v1.0.1");
    for (squad, user) in SQUADS.iter().enumerate() {
        assert!(!stage.app(squad).join("conf/supervisor.conf").exists());
        let old = format!("digicam-{user}");
        let status = stage.supervisord.ctl(&["status", &old]);
        assert!(status.contains("no such process"), "{status}");
    }
    stage
        .apply("v1.0.1")
        .expect_code(0)
        .stdout_has("No changes. 3 hosts converged.");
}
