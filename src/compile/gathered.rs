//! Ansible facts (`gather_facts`): a small read-only script run once per host before compile,
//! only for plays that gather (Ansible's default) *and* whose content names a fact, so a play
//! that never reads one costs nothing. Its `key=value` answer becomes `ansible_facts.*` and the
//! `ansible_*` names.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Value as JValue;

use super::Compiler;
use crate::error::Result;
use crate::inventory::{self, Inventory};
use crate::playbook::{Play, Playbook, TaskSpec};
use crate::template::Context;
use crate::transport::Target;
use crate::vars::Scopes;
use crate::yaml::{Node, Value};

/// The fact script: POSIX sh, reads only, prints `key=value` lines (values on one line).
pub(crate) const FACT_SCRIPT: &str = r#"LC_ALL=C; export LC_ALL
p() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')"; }
p hostname "$(uname -n | cut -d. -f1)"
p nodename "$(uname -n)"
p fqdn "$(hostname -f 2>/dev/null || uname -n)"
p system "$(uname -s)"
p kernel "$(uname -r)"
p architecture "$(uname -m)"
p user_id "$(id -un)"
p user_uid "$(id -u)"
p user_gid "$(id -g)"
p user_dir "$HOME"
p user_shell "${SHELL:-}"
p processor_vcpus "$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1)"
p memtotal_mb "$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo 2>/dev/null)"
if [ -r /etc/os-release ]; then
  ( . /etc/os-release
    p os_id "${ID:-}"; p os_like "${ID_LIKE:-}"; p os_name "${NAME:-}"
    p os_version "${VERSION_ID:-}"; p os_codename "${VERSION_CODENAME:-}"
    p os_pretty "${PRETTY_NAME:-}" )
fi
if [ -d /run/systemd/system ]; then p service_mgr systemd
elif command -v openrc >/dev/null 2>&1; then p service_mgr openrc
else p service_mgr sysvinit; fi
p python_version_info "$(python3 -c 'import sys; print(*sys.version_info)' 2>/dev/null)"
p python_executable "$(command -v python3 2>/dev/null)"
p interfaces "$(ls /sys/class/net 2>/dev/null)"
p ipv4_all "$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }')"
p domain "$(hostname -d 2>/dev/null)"
p date_time "$(date '+%Y %m %d %H %M %S %Z %z %s %A %w %W')"
p date_utc "$(date -u '+%Y-%m-%dT%H:%M:%SZ %Y-%m-%dT%H:%M:%S.000000Z')"
for _i in /sys/class/net/*; do
  [ -e "$_i" ] || continue
  _n=${_i##*/}
  _a=$(ip -o -4 addr show dev "$_n" 2>/dev/null | awk '{ print $4; exit }')
  p "iface_$_n" "$(cat "$_i/address" 2>/dev/null) $(cat "$_i/mtu" 2>/dev/null) $(cat "$_i/flags" 2>/dev/null) ${_a:--}"
done
route=$(ip -4 route get 192.0.2.1 2>/dev/null | head -n 1)
p ipv4_address "$(printf '%s\n' "$route" | sed -n 's/.* src \([0-9.]*\).*/\1/p')"
p ipv4_interface "$(printf '%s\n' "$route" | sed -n 's/.* dev \([^ ]*\).*/\1/p')"
p ipv4_gateway "$(printf '%s\n' "$route" | sed -n 's/.* via \([0-9.]*\).*/\1/p')"
"#;

/// Fact names (without `ansible_`) a play may use; naming one is what makes a play gather.
const NAMES: &[&str] = &[
    "facts",
    "hostname",
    "nodename",
    "fqdn",
    "system",
    "kernel",
    "architecture",
    "machine",
    "user_id",
    "user_uid",
    "user_gid",
    "user_dir",
    "user_shell",
    "processor_vcpus",
    "processor_count",
    "processor_nproc",
    "memtotal_mb",
    "distribution",
    "distribution_version",
    "distribution_major_version",
    "distribution_release",
    "os_family",
    "default_ipv4",
    "env",
    "pkg_mgr",
    "service_mgr",
    "lsb",
    "python",
    "python_version",
    "interfaces",
    "all_ipv4_addresses",
    "domain",
    "date_time",
];

/// Ansible's `os_family` for an os-release `ID` (and `ID_LIKE`).
fn os_family(id: &str, like: &str) -> &'static str {
    let known = |name: &str| -> Option<&'static str> {
        Some(match name {
            "debian" | "ubuntu" | "linuxmint" | "raspbian" | "devuan" | "kali" | "pop" => "Debian",
            "rhel" | "centos" | "fedora" | "rocky" | "almalinux" | "ol" | "amzn" | "scientific" => {
                "RedHat"
            }
            "alpine" => "Alpine",
            "arch" | "manjaro" => "Archlinux",
            "sles" | "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" | "suse" => "Suse",
            "gentoo" => "Gentoo",
            _ => return None,
        })
    };
    std::iter::once(id)
        .chain(like.split_whitespace())
        .find_map(known)
        .unwrap_or("Linux")
}

/// Ansible's `distribution` name for an os-release `ID`.
fn distribution(id: &str, name: &str) -> String {
    match id {
        "debian" => "Debian".into(),
        "ubuntu" => "Ubuntu".into(),
        "centos" => "CentOS".into(),
        "rhel" => "RedHat".into(),
        "fedora" => "Fedora".into(),
        "rocky" => "Rocky".into(),
        "almalinux" => "AlmaLinux".into(),
        "alpine" => "Alpine".into(),
        "arch" => "Archlinux".into(),
        "amzn" => "Amazon".into(),
        _ => name.split_whitespace().next().unwrap_or(id).to_owned(),
    }
}

/// The fact script's answer → the `ansible_facts` mapping (Ansible's names and shapes).
pub(crate) fn parse(stdout: &str) -> JValue {
    let raw: BTreeMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| raw.get(k).copied().unwrap_or_default().trim().to_owned();
    let int = |k: &str| get(k).parse::<i64>().map_or(JValue::from(()), JValue::from);
    let (id, version) = (get("os_id"), get("os_version"));
    let family = os_family(&id, &get("os_like"));
    let pkg_mgr = match family {
        "Debian" => "apt",
        "RedHat" => "dnf",
        "Alpine" => "apk",
        "Archlinux" => "pacman",
        "Suse" => "zypper",
        _ => "unknown",
    };
    let mut facts: BTreeMap<&str, JValue> = BTreeMap::new();
    for key in [
        "hostname",
        "nodename",
        "fqdn",
        "system",
        "kernel",
        "architecture",
    ] {
        facts.insert(key, JValue::from(get(key)));
    }
    facts.insert("machine", JValue::from(get("architecture")));
    for key in ["user_id", "user_dir", "user_shell"] {
        facts.insert(key, JValue::from(get(key)));
    }
    facts.insert("user_uid", int("user_uid"));
    facts.insert("user_gid", int("user_gid"));
    for key in ["processor_vcpus", "processor_count", "processor_nproc"] {
        facts.insert(key, int("processor_vcpus"));
    }
    facts.insert("memtotal_mb", int("memtotal_mb"));
    facts.insert("os_family", JValue::from(family));
    facts.insert(
        "distribution",
        JValue::from(distribution(&id, &get("os_name"))),
    );
    facts.insert("distribution_version", JValue::from(version.clone()));
    facts.insert(
        "distribution_major_version",
        JValue::from(version.split('.').next().unwrap_or_default()),
    );
    facts.insert("distribution_release", JValue::from(get("os_codename")));
    facts.insert("pkg_mgr", JValue::from(pkg_mgr));
    let ipv4: BTreeMap<&str, JValue> = [
        ("address", JValue::from(get("ipv4_address"))),
        ("interface", JValue::from(get("ipv4_interface"))),
        ("gateway", JValue::from(get("ipv4_gateway"))),
    ]
    .into();
    facts.insert("default_ipv4", JValue::from(ipv4));
    let env: BTreeMap<&str, JValue> = [
        ("HOME", JValue::from(get("user_dir"))),
        ("USER", JValue::from(get("user_id"))),
        ("SHELL", JValue::from(get("user_shell"))),
    ]
    .into();
    facts.insert("env", JValue::from(env));
    facts.insert("service_mgr", JValue::from(get("service_mgr")));
    let distro = distribution(&id, &get("os_name"));
    let lsb: BTreeMap<&str, JValue> = [
        ("id", JValue::from(distro.clone())),
        ("release", JValue::from(version.clone())),
        ("codename", JValue::from(get("os_codename"))),
        ("description", JValue::from(get("os_pretty"))),
        (
            "major_release",
            JValue::from(version.split('.').next().unwrap_or_default()),
        ),
    ]
    .into();
    facts.insert("lsb", JValue::from(lsb));
    let (python, python_version) = python_facts(&raw, &get("python_executable"));
    facts.insert("python", python);
    facts.insert("python_version", python_version);
    let words = |k: &str| -> JValue { get(k).split_whitespace().map(JValue::from).collect() };
    facts.insert("interfaces", words("interfaces"));
    facts.insert("all_ipv4_addresses", words("ipv4_all"));
    facts.insert("domain", JValue::from(get("domain")));
    facts.insert("date_time", date_time(&get("date_time"), &get("date_utc")));
    let interfaces: Vec<(String, JValue)> = raw
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("iface_")?, *v)))
        .map(|(name, line)| (name.replace(['-', '.', ':'], "_"), interface(name, line)))
        .collect();
    let mut facts: BTreeMap<String, JValue> =
        facts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (key, value) in interfaces {
        facts.entry(key).or_insert(value);
    }
    JValue::from(facts)
}

/// `ansible_python` and `ansible_python_version` from the interpreter the fact script found.
fn python_facts(raw: &BTreeMap<&str, &str>, executable: &str) -> (JValue, JValue) {
    let info: Vec<&str> = raw
        .get("python_version_info")
        .copied()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let number = |p: &str| {
        p.parse::<i64>()
            .map_or_else(|_| JValue::from(p), JValue::from)
    };
    let part = |i: usize| info.get(i).map_or_else(|| JValue::from(()), |p| number(p));
    let python: BTreeMap<&str, JValue> = [
        ("executable", JValue::from(executable)),
        ("type", JValue::from("cpython")),
        (
            "version",
            JValue::from_iter([
                ("major", part(0)),
                ("minor", part(1)),
                ("micro", part(2)),
                ("releaselevel", part(3)),
                ("serial", part(4)),
            ]),
        ),
        ("version_info", info.iter().map(|p| number(p)).collect()),
    ]
    .into();
    let version = info.iter().take(3).copied().collect::<Vec<_>>().join(".");
    (JValue::from(python), JValue::from(version))
}

/// One interface's fact (`ansible_eth0`) from `MAC MTU FLAGS ADDRESS/PREFIX` (`-`: no IPv4).
fn interface(name: &str, line: &str) -> JValue {
    let f: Vec<&str> = line.split_whitespace().collect();
    let at = |i: usize| f.get(i).copied().unwrap_or_default();
    let flags = u32::from_str_radix(at(2).trim_start_matches("0x"), 16).unwrap_or(0);
    let mut map: BTreeMap<&str, JValue> = BTreeMap::new();
    map.insert("device", JValue::from(name));
    map.insert("macaddress", JValue::from(at(0)));
    map.insert(
        "mtu",
        at(1).parse::<i64>().map_or(JValue::from(()), JValue::from),
    );
    map.insert("active", JValue::from(flags & 1 == 1));
    map.insert(
        "type",
        JValue::from(if name == "lo" { "loopback" } else { "ether" }),
    );
    if let Some((address, prefix)) = at(3).split_once('/') {
        if let (Ok(ip), Ok(bits)) = (address.parse::<std::net::Ipv4Addr>(), prefix.parse::<u32>()) {
            let mask = u32::MAX.checked_shl(32 - bits.min(32)).unwrap_or(0);
            let network = u32::from(ip) & mask;
            let ipv4: BTreeMap<&str, JValue> = [
                ("address", JValue::from(address)),
                ("prefix", JValue::from(prefix)),
                (
                    "netmask",
                    JValue::from(std::net::Ipv4Addr::from(mask).to_string()),
                ),
                (
                    "network",
                    JValue::from(std::net::Ipv4Addr::from(network).to_string()),
                ),
                (
                    "broadcast",
                    JValue::from(std::net::Ipv4Addr::from(network | !mask).to_string()),
                ),
            ]
            .into();
            map.insert("ipv4", JValue::from(ipv4));
        }
    }
    JValue::from(map)
}

/// `ansible_date_time` from the host's `date` (local time, as Ansible reads it) and its UTC
/// ISO 8601 forms.
fn date_time(local: &str, utc: &str) -> JValue {
    let f: Vec<&str> = local.split_whitespace().collect();
    let at = |i: usize| f.get(i).copied().unwrap_or_default();
    let u: Vec<&str> = utc.split_whitespace().collect();
    let mut map: BTreeMap<&str, JValue> = BTreeMap::new();
    for (key, i) in [
        ("year", 0),
        ("month", 1),
        ("day", 2),
        ("hour", 3),
        ("minute", 4),
        ("second", 5),
        ("tz", 6),
        ("tz_dst", 6),
        ("tz_offset", 7),
        ("epoch", 8),
        ("epoch_int", 8),
        ("weekday", 9),
        ("weekday_number", 10),
        ("weeknumber", 11),
    ] {
        map.insert(key, JValue::from(at(i)));
    }
    map.insert(
        "date",
        JValue::from(format!("{}-{}-{}", at(0), at(1), at(2))),
    );
    map.insert(
        "time",
        JValue::from(format!("{}:{}:{}", at(3), at(4), at(5))),
    );
    map.insert(
        "iso8601",
        JValue::from(u.first().copied().unwrap_or_default()),
    );
    map.insert(
        "iso8601_micro",
        JValue::from(u.get(1).copied().unwrap_or_default()),
    );
    let basic_short = format!("{}{}{}T{}{}{}", at(0), at(1), at(2), at(3), at(4), at(5));
    map.insert(
        "iso8601_basic",
        JValue::from(format!("{basic_short}000000")),
    );
    map.insert("iso8601_basic_short", JValue::from(basic_short));
    JValue::from(map)
}

/// `ansible_facts` plus each fact as `ansible_NAME`, for the builtins of a host.
pub(crate) fn names(facts: &JValue) -> Vec<(String, JValue)> {
    let mut out = vec![("ansible_facts".to_owned(), facts.clone())];
    if let Ok(keys) = facts.try_iter() {
        for key in keys {
            let value = facts.get_item(&key).unwrap_or_default();
            out.push((format!("ansible_{key}"), value));
        }
    }
    out
}

/// Whether `word` (after `ansible_`) is the not-fact `entry`: an entry ending in `_` is a
/// prefix, others are the name itself or `name_...` (`become_user`), except `host` and `user`
/// whose longer names are facts (`ansible_hostname`, `ansible_user_id`).
fn not_fact(entry: &str, word: &str) -> bool {
    if entry.ends_with('_') {
        return word.starts_with(entry);
    }
    word == entry
        || (!matches!(entry, "host" | "user")
            && word
                .strip_prefix(entry)
                .is_some_and(|rest| rest.starts_with('_')))
}

/// `ansible_*` names that are not facts (connection settings, magic variables).
const NOT_FACTS: &[&str] = &[
    "host",
    "port",
    "user",
    "connection",
    "ssh_",
    "become",
    "python_interpreter",
    "password",
    "private_key_file",
    "managed",
    "version",
    "check_mode",
    "diff_mode",
    "play_",
    "run_tags",
    "skip_tags",
    "verbosity",
    "limit",
    "loop",
    "index_var",
    "parent_role_",
    "role_",
    "search_path",
    "inventory_",
    "forks",
    "config_file",
    "collection_name",
    "dependent_role_names",
    "local",
    "shell_",
    "remote_tmp",
    "timeout",
    "pipelining",
    "sudo",
];

/// Whether `text` names a fact (`ansible_facts`, `ansible_os_family`, an interface such as
/// `ansible_eth0`, ...): any `ansible_` name but the connection settings and magic variables.
fn names_a_fact(text: &str) -> bool {
    text.match_indices("ansible_").any(|(i, _)| {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
        let rest = &text[i + "ansible_".len()..];
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if NAMES.iter().any(|n| word == *n) {
            return true;
        }
        if word.is_empty() {
            // `'ansible_' ~ iface`: an interface fact by a computed name.
            return rest.starts_with(['\'', '"']);
        }
        !NOT_FACTS.iter().any(|n| not_fact(n, &word))
    })
}

fn node_names_a_fact(node: &Node) -> bool {
    match &node.value {
        Value::Scalar { text, .. } => names_a_fact(text),
        Value::Seq(items) => items.iter().any(node_names_a_fact),
        Value::Map(entries) => entries
            .iter()
            .any(|(k, v)| node_names_a_fact(k) || node_names_a_fact(v)),
    }
}

fn task_names_a_fact(t: &TaskSpec) -> bool {
    node_names_a_fact(&t.args)
        || t.when.iter().any(node_names_a_fact)
        || t.name.as_ref().is_some_and(node_names_a_fact)
        || t.loop_items
            .as_ref()
            .is_some_and(|l| node_names_a_fact(&l.items))
        || t.vars.iter().any(|(_, v)| node_names_a_fact(v))
}

/// Any file under `dir` (templates, task files a dynamic include may read) naming a fact.
fn files_name_a_fact(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(|e| e.ok().map(|e| e.path())).any(|p| {
        if p.is_dir() {
            files_name_a_fact(&p)
        } else {
            std::fs::read_to_string(&p).is_ok_and(|t| names_a_fact(&t))
        }
    })
}

/// Whether `play` gathers facts: `gather_facts` is not false and something it uses names one.
pub(crate) fn play_needs_facts(play: &Play, playbook_dir: &Path) -> bool {
    if !play.gather_facts {
        return false;
    }
    let roles = play.all_roles();
    play.tasks
        .iter()
        .chain(&play.handlers)
        .any(task_names_a_fact)
        || play.vars.iter().any(|(_, v)| node_names_a_fact(v))
        || play.vars_files.iter().any(node_names_a_fact)
        || roles.iter().any(|r| {
            r.role
                .defaults
                .iter()
                .chain(&r.role.vars)
                .chain(&r.params)
                .any(|(_, v)| node_names_a_fact(v))
                || r.role.handlers.iter().any(task_names_a_fact)
                || files_name_a_fact(&r.role.dir.join("templates"))
                || files_name_a_fact(&r.role.dir.join("tasks"))
                || files_name_a_fact(&r.role.dir.join("vars"))
        })
        || files_name_a_fact(&playbook_dir.join("templates"))
}

impl Compiler<'_> {
    /// The hosts (with their connection) whose facts some play needs, each once.
    pub(crate) fn fact_targets(
        playbook: &Playbook,
        inventory: &Inventory,
        options: &super::Options,
    ) -> Result<Vec<(String, Target)>> {
        let templar = std::sync::Arc::new(crate::template::Templar::new());
        let limited: Option<std::collections::HashSet<&str>> = match &options.limit {
            Some(pattern) => Some(inventory::select(inventory, pattern)?.into_iter().collect()),
            None => None,
        };
        let mut seen = std::collections::HashSet::new();
        let mut out: Vec<(String, Target)> = Vec::new();
        for play in &playbook.plays {
            if !play_needs_facts(play, &playbook.dir) {
                continue;
            }
            let Ok((mut hosts, _)) = inventory::select_play(inventory, &play.hosts) else {
                continue;
            };
            if let Some(limit) = &limited {
                hosts.retain(|h| limit.contains(h));
            }
            for host in hosts {
                if !seen.insert(host) {
                    continue;
                }
                let scopes = Scopes {
                    inventory: inventory.host(host).map(|h| &h.vars),
                    play: vec![play.vars.as_slice()],
                    extra: &options.extra_vars,
                    builtins: vec![("inventory_hostname", JValue::from(host))],
                    ..Scopes::default()
                };
                let ctx = Context::new(&templar, scopes.flatten());
                let defaults = inventory
                    .defaults
                    .with_remote_user(play.remote_user.as_deref());
                if let Ok(target) = Target::from_vars(host, &|var| ctx.text(var), &defaults) {
                    out.push((host.to_owned(), target));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fact_script_answers_on_this_machine_in_ansibles_names() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(FACT_SCRIPT)
            .output()
            .expect("sh");
        assert!(out.status.success());
        let facts = parse(&String::from_utf8_lossy(&out.stdout));
        let get = |k: &str| facts.get_attr(k).expect("fact").to_string();
        assert_eq!(get("architecture"), std::env::consts::ARCH);
        assert_eq!(get("os_family"), "Debian");
        assert!(get("processor_vcpus").parse::<u32>().expect("number") >= 1);
        assert!(get("memtotal_mb").parse::<u64>().expect("number") > 0);
        assert!(!get("hostname").is_empty());
    }

    #[test]
    fn only_fact_names_count() {
        assert!(names_a_fact("{{ ansible_os_family }}.yml"));
        assert!(names_a_fact("{{ ansible_facts['hostname'] }}"));
        assert!(!names_a_fact("{{ ansible_user }}"));
        // Facts that start like a connection setting are facts; the settings' families not.
        assert!(names_a_fact("{{ ansible_hostname }}"));
        assert!(names_a_fact("{{ ansible_user_id }}"));
        assert!(!names_a_fact("{{ ansible_host }}"));
        assert!(!names_a_fact("{{ ansible_become_user }}"));
        assert!(!names_a_fact("{{ ansible_ssh_common_args }}"));
    }
}
