//! The shipped digicam playbook and roles on real sshd, nginx and supervisord, for two squads
//! deploying in place (`deploy: in_place`: its health gate through nginx is what these faults
//! test; the blue/green flow checks a slot on its own port, see `tests/digicam.rs`), with
//! their own accounts (`recon_faults_<tag>1`, `…2`), so fault tests never share state
//! with other tests. Squads' files are included by nginx through
//! `/home/recon_faults_<tag>*/flt_digicam/conf/nginx.conf`, so a test can drop a foreign site
//! that nginx reads first at `/home/recon_faults_<tag>0/…` (see `foreign_site`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::harness::accounts::ensure_user;
pub(crate) use crate::harness::free_port;
use crate::harness::sshd::Sshd;
use crate::harness::web::{Nginx, Supervisord};
use crate::harness::{copy_tree, Project, Run};

const APP_DIR: &str = "flt_digicam";

/// Two squads deploying digicam; dropped in reverse order (services stop, then sshd).
pub(crate) struct Stage {
    pub(crate) project: Project,
    pub(crate) nginx: Nginx,
    /// Kept for its lifetime: the squads' programs run under it until the stage drops.
    _supervisord: Supervisord,
    _sshd: Sshd,
    pub(crate) site_port: u16,
    pub(crate) squads: [String; 2],
    pub(crate) app_ports: [u16; 2],
    pub(crate) homes: [PathBuf; 2],
    tag: String,
}

impl Stage {
    pub(crate) fn new(tag: &str) -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let squads = [1, 2].map(|i| format!("recon_faults_{tag}{i}"));
        let homes = squads.clone().map(|s| ensure_user(&s));
        for home in &homes {
            let _ = std::fs::remove_dir_all(home.join(APP_DIR));
        }
        let _ = std::fs::remove_dir_all(format!("/home/recon_faults_{tag}0"));
        let sshd = Sshd::start();
        let glob = |file: &str| format!("/home/recon_faults_{tag}*/{APP_DIR}/conf/{file}");
        let nginx = Nginx::start(&glob("nginx.conf"));
        let supervisord = Supervisord::start(&glob("supervisor.conf"));
        nginx.allow_reload(&[squads[0].as_str(), squads[1].as_str()]);
        let project = Project::new();
        copy_tree(&repo.join("playbooks"), &project.dir().join("playbooks"));
        copy_tree(&repo.join("roles"), &project.dir().join("roles"));
        let site_port = free_port();
        let app_ports = [free_port(), free_port()];
        let mut hosts = String::new();
        for (i, user) in squads.iter().enumerate() {
            sshd.authorize(user);
            let _ = writeln!(
                hosts,
                "        {user}: {{ ansible_user: {user}, home: {}, app_port: {}, domain: api.digicam.{user}.test }}",
                homes[i].display(),
                app_ports[i]
            );
        }
        project.file(
            "inventory/squads.yml",
            &format!(
                "all:\n  children:\n    squads:\n      vars:\n        ansible_host: 127.0.0.1\n        ansible_port: {}\n        ansible_ssh_private_key_file: {}\n        recon_known_hosts_file: {}\n        nginx_port: {site_port}\n        nginx_conf: {}\n        supervisorctl: supervisorctl -c {}\n        app_dir: {APP_DIR}\n        release_dir: {}\n        health_timeout: 4\n        deploy: in_place\n      hosts:\n{hosts}",
                sshd.port,
                sshd.client_key.display(),
                sshd.known_hosts.display(),
                nginx.config.display(),
                supervisord.config.display(),
                repo.join("examples/digicam/releases").display(),
            ),
        );
        Self {
            project,
            nginx,
            _supervisord: supervisord,
            _sshd: sshd,
            site_port,
            squads,
            app_ports,
            homes,
            tag: tag.to_owned(),
        }
    }

    pub(crate) fn recon(&self, command: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            command,
            "playbooks/digicam.yml",
            "-i",
            "inventory/squads.yml",
        ];
        args.extend_from_slice(extra);
        self.project.recon(&args)
    }

    pub(crate) fn apply(&self, version: &str) -> Run {
        self.recon("apply", &["-e", &format!("version={version}")])
    }

    /// What squad `i`'s domain answers through nginx: (status, version, squad) or `None`.
    pub(crate) fn through_nginx(&self, i: usize) -> Option<(u16, String, String)> {
        let domain = format!("api.digicam.{}.test", self.squads[i]);
        Nginx::get(self.site_port, &domain, "/health").map(parse)
    }

    /// What squad `i`'s app answers on its own port, bypassing nginx.
    pub(crate) fn direct(&self, i: usize) -> Option<(u16, String, String)> {
        Nginx::get(self.app_ports[i], "localhost", "/health").map(parse)
    }

    /// Squad `i`'s site file.
    pub(crate) fn site(&self, i: usize) -> String {
        std::fs::read_to_string(self.homes[i].join(APP_DIR).join("conf/nginx.conf"))
            .unwrap_or_default()
    }

    /// Sets (or clears, with "") squad `i`'s extra nginx directives in the inventory.
    pub(crate) fn set_nginx_extra(&self, i: usize, extra: &str) {
        let path = self.project.dir().join("inventory/squads.yml");
        let text = std::fs::read_to_string(&path).expect("inventory");
        let user = &self.squads[i];
        let entry = format!("        {user}: {{ ");
        let mut out = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix(&entry) {
                let rest = rest
                    .split_once("ansible_user:")
                    .map_or(rest.to_owned(), |(_, r)| format!("ansible_user:{r}"));
                if extra.is_empty() {
                    let _ = writeln!(out, "{entry}{rest}");
                } else {
                    let _ = writeln!(out, "{entry}nginx_extra: '{extra}', {rest}");
                }
            } else {
                let _ = writeln!(out, "{line}");
            }
        }
        std::fs::write(&path, out).expect("write inventory");
    }

    /// Puts a site nginx reads before the squads' (not managed by recon) and reloads nginx.
    pub(crate) fn foreign_site(&self, server: &str) {
        let dir = PathBuf::from(format!("/home/recon_faults_{}0/{APP_DIR}/conf", self.tag));
        std::fs::create_dir_all(&dir).expect("foreign dir");
        std::fs::write(dir.join("nginx.conf"), server).expect("foreign site");
        self.nginx.reload();
    }

    /// Removes the foreign site and reloads nginx.
    pub(crate) fn drop_foreign_site(&self) {
        let _ = std::fs::remove_dir_all(format!("/home/recon_faults_{}0", self.tag));
        self.nginx.reload();
    }

    /// `recon releases` rows of squad `i`: (version, status, current).
    pub(crate) fn releases(&self, i: usize) -> Vec<(String, String, bool)> {
        let run = self.recon("releases", &["-l", &self.squads[i]]);
        run.expect_code(0);
        run.stdout
            .lines()
            .filter(|l| l.starts_with("  v"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[0].to_owned(), f[1].to_owned(), l.contains("<- current"))
            })
            .collect()
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(format!("/home/recon_faults_{}0", self.tag));
    }
}

fn parse((status, body): (u16, String)) -> (u16, String, String) {
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let field = |k: &str| json[k].as_str().unwrap_or("").to_owned();
    (status, field("version"), field("squad"))
}
