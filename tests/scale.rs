//! Compiling grows linearly with the hosts (issue 19): `recon check` of 4x the hosts costs
//! less than 6x the CPU time, measured in this test as a ratio, so that a shared machine's load
//! cancels out. What used to make it quadratic: per-host copies of every host's variables,
//! `hostvars`/`groups` built per task, claims compared pairwise, shared files re-read per host.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Instant;

use crate::harness::Project;

/// The small fleet; the large one has `GROWTH` times as many hosts.
const SMALL: usize = 400;
const GROWTH: usize = 4;
/// A linear compile costs `GROWTH` times as much (less: start-up is fixed); a quadratic one
/// costs up to `GROWTH` squared.
const LIMIT: f64 = 6.0;

/// Five tasks per host: directories and a file on a path of its own (node claims), a template
/// that every host renders (one shared file) and reads `hostvars` and `groups`.
const PLAYBOOK: &str = r#"- name: fleet
  hosts: fleet
  vars:
    d: "{{ home }}/app"
  tasks:
    - name: app dir
      directory: { path: "{{ d }}", mode: "0755" }
    - name: conf dir
      directory: { path: "{{ d }}/conf", mode: "0755" }
    - name: config
      template: { src: app.conf.j2, dest: "{{ d }}/conf/app.conf", mode: "0644" }
    - name: env file
      file:
        path: "{{ d }}/.env"
        mode: "0640"
        content: "PORT={{ app_port }}\n"
    - name: profile
      line: { path: "{{ home }}/.profile", line: "export APP={{ d }}" }
"#;

const TEMPLATE: &str = "listen {{ app_port }};\nname {{ hostvars[inventory_hostname].squad }};\n\
                        fleet {{ groups['fleet'] | length }};\n";

/// An inventory of `n` hosts: every other one on its own node, the rest all on one node
/// (each its own account), so both the per-node and the one-node claim checks grow with `n`.
fn inventory(n: usize) -> String {
    let mut out =
        String::from("all:\n  vars:\n    ansible_port: 9\n  children:\n    fleet:\n      hosts:\n");
    for i in 1..=n {
        let addr = if i % 2 == 0 {
            "127.0.0.1".to_owned()
        } else {
            format!("127.{}.{}.{}", i / 65536 % 256 + 1, i / 256 % 256, i % 256)
        };
        let _ = writeln!(
            out,
            "        s{i:06}: {{ ansible_host: {addr}, ansible_user: s{i:06}, squad: s{i:06}, \
             home: /home/s{i:06}, app_port: {} }}",
            10000 + i
        );
    }
    out
}

/// One `recon check` of `inventory`: (CPU seconds of the recon process, wall seconds). The
/// CPU time comes from the shell's `times` (its children's user and system time).
fn check(p: &Project, inventory: &str, hosts: usize) -> (f64, f64) {
    let started = Instant::now();
    let out = Command::new("sh")
        .args([
            "-c",
            r#""$0" check site.yml -i "$1" >out.txt 2>&1 || { cat out.txt; exit 1; }; times"#,
            env!("CARGO_BIN_EXE_recon"),
            inventory,
        ])
        .current_dir(p.dir())
        .env("HOME", p.dir())
        .output()
        .expect("sh runs");
    let wall = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "recon check failed: {text}");
    let printed = std::fs::read_to_string(p.dir().join("out.txt")).expect("output");
    assert!(
        printed.contains(&format!("{} tasks compiled for {hosts} hosts", hosts * 5)),
        "{printed}"
    );
    // `times`: the shell's own user and system time, then its children's.
    let children = text.lines().nth(1).expect("children's times");
    let cpu = children.split_whitespace().map(seconds).sum();
    (cpu, wall)
}

/// `1m2.5s` → 62.5.
fn seconds(text: &str) -> f64 {
    let (m, s) = text
        .trim_end_matches('s')
        .split_once('m')
        .expect("`times` prints XmY.Zs");
    m.parse::<f64>().expect("minutes") * 60.0 + s.parse::<f64>().expect("seconds")
}

/// The fastest of `runs` checks (the least disturbed by other work on the machine).
fn fastest(p: &Project, inventory: &str, hosts: usize, runs: usize) -> (f64, f64) {
    (0..runs)
        .map(|_| check(p, inventory, hosts))
        .fold((f64::MAX, f64::MAX), |(c, w), (c2, w2)| {
            (c.min(c2), w.min(w2))
        })
}

#[test]
fn check_of_four_times_the_hosts_costs_less_than_six_times_the_cpu() {
    let p = Project::new();
    p.file("site.yml", PLAYBOOK).file("app.conf.j2", TEMPLATE);
    let large = SMALL * GROWTH;
    p.file("small.yml", &inventory(SMALL))
        .file("large.yml", &inventory(large));
    let (mut small, mut big) = ((f64::MAX, f64::MAX), (f64::MAX, f64::MAX));
    // Two runs each; a third only when the ratio looks wrong (load spikes inflate single runs).
    for runs in [2, 1] {
        let s = fastest(&p, "small.yml", SMALL, runs);
        let b = fastest(&p, "large.yml", large, runs);
        small = (small.0.min(s.0), small.1.min(s.1));
        big = (big.0.min(b.0), big.1.min(b.1));
        if big.0 < LIMIT * small.0 {
            break;
        }
    }
    let ratio = big.0 / small.0.max(0.001);
    assert!(
        ratio < LIMIT,
        "check of {large} hosts took {ratio:.2}x the CPU of {SMALL} hosts \
         ({:.2} s vs {:.2} s CPU; wall {:.2} s vs {:.2} s): compiling is not linear",
        big.0,
        small.0,
        big.1,
        small.1
    );
}

/// `--shard I/N` compiles only the shard's hosts: a host whose task does not compile breaks
/// the shard it is in, and not the other one (compiling every host, then keeping the shard's,
/// failed both and cost every shard the whole fleet).
#[test]
fn a_shard_compiles_only_its_own_hosts() {
    let p = Project::new();
    p.file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - name: env\n      file: { path: \"/tmp/{{ app }}/env\", content: x }\n",
    )
    .file(
        "two.yml",
        "all:\n  vars:\n    ansible_port: 9\n  hosts:\n    good: { ansible_host: 127.0.0.1, app: a }\n    \
         bad: { ansible_host: 127.0.0.2 }\n",
    );
    let runs: Vec<_> = ["1/2", "2/2"]
        .iter()
        .map(|s| p.recon(&["check", "site.yml", "-i", "two.yml", "--shard", s]))
        .collect();
    let passed: Vec<_> = runs.iter().filter(|r| r.code == 0).collect();
    assert_eq!(
        passed.len(),
        1,
        "one shard has only the good host: {runs:?}"
    );
    assert!(
        passed[0].stdout.contains("1 task compiled for 1 host"),
        "{runs:?}"
    );
    let failed = runs
        .iter()
        .find(|r| r.code != 0)
        .expect("the bad host's shard");
    assert!(failed.stderr.contains("app"), "{failed:?}");
}
