//! A rolling deploy across two app machines behind an nginx balancer, with `serial: 1`: each
//! app leaves the balancer's upstream before its deploy (a task delegated to the balancer) and
//! rejoins after its own check, so no request fails while every app restarts. Without the
//! drain the same deploy fails requests: nginx is told not to retry another server
//! (`proxy_next_upstream off`), as a balancer in front of non-idempotent requests must, and
//! never marks a server down by itself (`max_fails=0`): only the drain takes an app out.
//! The machines are local-connection hosts with folders of their own; the apps are python3
//! http servers on loopback ports.

use std::fmt::Write as _;
use std::time::Duration;

use crate::harness::load::{Figures, Load};
use crate::harness::web::Nginx;
use crate::harness::{free_port, Project};

/// (Re)starts one app: the old server stops, and after a moment (a real app's start-up time)
/// the new one serves `www/`; waits until it answers. `$1` is the app's folder, `$2` its port.
const RESTART: &str = r#"set -u
if [ -f "$1/pid" ]; then kill "$(cat "$1/pid")" 2>/dev/null; fi
sleep 0.5
setsid python3 -m http.server "$2" --bind 127.0.0.1 --directory "$1/www" </dev/null >/dev/null 2>&1 &
echo $! > "$1/pid"
i=0
until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$2" 2>/dev/null; do
  i=$((i + 1)); [ "$i" -lt 50 ] || exit 1; sleep 0.1
done
"#;

const PLAYBOOK: &str = r#"- hosts: apps
  serial: 1
  gather_facts: false
  tasks:
    - name: leave the balancer
      lineinfile:
        path: "{{ hostvars['lb'].root }}/pool.conf"
        line: "server 127.0.0.1:{{ port }} max_fails=0;"
        state: absent
      delegate_to: lb
      register: drained
      when: drain | bool
    - name: the balancer stops sending it requests
      command: "{{ reload }}"
      delegate_to: lb
      when: drain | bool and drained is changed
    - name: in-flight requests finish
      command: sleep 1
      when: drain | bool
    - name: the release
      copy:
        dest: "{{ root }}/www/version"
        content: "{{ version }}\n"
      register: deployed
    - name: restart the app
      command: "sh {{ restart }} {{ root }} {{ port }}"
      when: deployed is changed
    - name: the app answers with the release
      wait_for:
        url: "http://127.0.0.1:{{ port }}/version"
        contains: "{{ version }}"
        timeout: 20
    - name: rejoin the balancer
      lineinfile:
        path: "{{ hostvars['lb'].root }}/pool.conf"
        line: "server 127.0.0.1:{{ port }} max_fails=0;"
      delegate_to: lb
      register: rejoined
      when: drain | bool
    - name: the balancer sends it requests again
      command: "{{ reload }}"
      delegate_to: lb
      when: drain | bool and rejoined is changed
"#;

/// The balancer, two apps and a project that deploys them.
struct Fleet {
    project: Project,
    nginx: Nginx,
    site_port: u16,
    ports: [u16; 2],
}

impl Fleet {
    fn new() -> Self {
        let project = Project::new();
        let lb = project.host("lb");
        let site_port = free_port();
        let ports = [free_port(), free_port()];
        std::fs::create_dir_all(&lb).expect("lb folder");
        std::fs::write(
            lb.join("pool.conf"),
            ports
                .map(|p| format!("server 127.0.0.1:{p} max_fails=0;\n"))
                .concat(),
        )
        .expect("pool");
        std::fs::write(
            lb.join("site.conf"),
            format!(
                "upstream pool {{\n    include {}/pool.conf;\n}}\nserver {{\n    listen 127.0.0.1:{site_port};\n    server_name rolling.test;\n    location / {{\n        proxy_pass http://pool;\n        proxy_next_upstream off;\n    }}\n}}\n",
                lb.display()
            ),
        )
        .expect("site");
        let nginx = Nginx::start(&lb.join("site.conf").display().to_string());
        let restart = project.dir().join("restart.sh");
        std::fs::write(&restart, RESTART).expect("restart script");
        let mut hosts = format!(
            "all:\n  vars:\n    ansible_connection: local\n    restart: {}\n    reload: /usr/sbin/nginx -s reload -c {}\n  children:\n    balancers:\n      hosts:\n        lb: {{ root: {} }}\n    apps:\n      hosts:\n",
            restart.display(),
            nginx.config.display(),
            lb.display()
        );
        for (i, port) in ports.iter().enumerate() {
            let root = project.host(&format!("app{i}"));
            std::fs::create_dir_all(root.join("www")).expect("app folder");
            std::fs::write(root.join("www/version"), "v1\n").expect("version");
            run_restart(&restart, &root, *port);
            let _ = writeln!(
                hosts,
                "        app{i}: {{ root: {}, port: {port} }}",
                root.display()
            );
        }
        project
            .file("inventory/hosts.yml", &hosts)
            .file("site.yml", PLAYBOOK);
        let fleet = Self {
            project,
            nginx,
            site_port,
            ports,
        };
        fleet.nginx.reload();
        crate::faults::eventually(|| fleet.answer().is_some_and(|(s, _)| s == 200));
        fleet
    }

    fn answer(&self) -> Option<(u16, String)> {
        Nginx::get(self.site_port, "rolling.test", "/version")
    }

    /// Deploys `version` under a 20 ms load through the balancer; the load's figures.
    fn deploy(&self, version: &str, drain: bool) -> Figures {
        let load = Load::start(
            self.site_port,
            "rolling.test",
            "/version",
            Duration::from_millis(20),
            Duration::from_secs(180),
        );
        std::thread::sleep(Duration::from_millis(200));
        let run = self.project.recon(&[
            "apply",
            "site.yml",
            "-e",
            &format!("version={version} drain={drain}"),
        ]);
        run.expect_code(0);
        std::thread::sleep(Duration::from_millis(200));
        Figures::of(&load.finish(), |(status, _)| *status == 200)
    }

    fn versions(&self) -> Vec<String> {
        (0..2)
            .map(|i| self.project.read_host(&format!("app{i}/www/version")))
            .collect()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for i in 0..2 {
            if let Ok(pid) = std::fs::read_to_string(self.project.host(&format!("app{i}/pid"))) {
                let _ = std::process::Command::new("kill").arg(pid.trim()).status();
            }
        }
        let _ = self.ports;
    }
}

fn run_restart(script: &std::path::Path, root: &std::path::Path, port: u16) {
    let status = std::process::Command::new("sh")
        .arg(script)
        .arg(root)
        .arg(port.to_string())
        .status()
        .expect("restart script");
    assert!(status.success(), "app on {port} did not start");
}

#[test]
fn a_rolling_deploy_drains_each_app_at_the_balancer_and_no_request_fails() {
    let fleet = Fleet::new();

    // Without the drain, each restart is seen by the requests nginx sends that app.
    let undrained = fleet.deploy("v2", false);
    assert_eq!(fleet.versions(), ["v2\n", "v2\n"]);
    assert!(
        undrained.failed > 0,
        "a restart behind the balancer without a drain fails requests: {undrained}"
    );

    // With the drain: each app leaves the pool, restarts, answers, rejoins; none fails.
    let drained = fleet.deploy("v3", true);
    println!("figures: rolling drain: {drained}; without the drain: {undrained}");
    assert_eq!(fleet.versions(), ["v3\n", "v3\n"]);
    assert_eq!(drained.failed, 0, "{drained}");
    let pool = fleet.project.read_host("lb/pool.conf");
    for port in fleet.ports {
        assert!(
            pool.contains(&format!("server 127.0.0.1:{port} max_fails=0;")),
            "every app is back in the pool:\n{pool}"
        );
    }
    assert_eq!(fleet.answer().map(|a| a.1), Some("v3\n".to_owned()));
}
