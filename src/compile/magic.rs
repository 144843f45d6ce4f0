//! Ansible's magic variables beyond the basic built-ins: what real roles and templates read
//! without defining (`group_names`, `ansible_managed`, `ansible_version`, `ansible_check_mode`,
//! `ansible_play_hosts`, `role_name`, ...). Their values are fixed for a run, so a plan and the
//! apply after it see the same ones. What every host shares is built once per run, and a play's
//! host list once per play: built per task, they made compiling quadratic in the hosts.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use minijinja::Value as JValue;

use super::{Compiler, Options};
use crate::inventory::{self, Host, Inventory};
use crate::playbook::{Play, Playbook};

/// The ansible-core release whose behaviour recon follows: content that tests
/// `ansible_version.full is version('2.12', '>=')` takes its modern path.
const ANSIBLE_VERSION: (u32, u32, u32) = (2, 17, 0);

/// Ansible's default `ansible_managed` text (its `DEFAULT_MANAGED_STR`, without the
/// time-dependent placeholders, which would make every plan differ).
const ANSIBLE_MANAGED: &str = "Ansible managed";

/// The built-ins every host of a run shares, built once by the compiler.
#[derive(Clone)]
pub(super) struct Shared {
    /// `groups`: every group's members, in inventory order.
    pub(super) groups: JValue,
    /// `omit`, `playbook_dir`, `inventory_dir` and the run's magic variables.
    pub(super) common: Vec<(&'static str, JValue)>,
}

impl Shared {
    /// What `playbook` on `inventory` with `options` gives every host.
    pub(super) fn new(playbook: &Playbook, inventory: &Inventory, options: &Options) -> Self {
        // One pass over the hosts (not one per group): members in inventory order.
        let mut members: BTreeMap<&str, Vec<JValue>> = inventory
            .groups
            .keys()
            .map(|g| (g.as_str(), Vec::new()))
            .collect();
        for host in inventory.hosts.iter() {
            for group in &host.groups {
                if let Some(list) = members.get_mut(group.as_str()) {
                    list.push(JValue::from(host.name.as_str()));
                }
            }
        }
        let groups: JValue = members
            .into_iter()
            .map(|(g, list)| (g, JValue::from(list)))
            .collect();
        let (major, minor, revision) = ANSIBLE_VERSION;
        let full = format!("{major}.{minor}.{revision}");
        let version: JValue = [
            ("full", JValue::from(full.clone())),
            ("string", JValue::from(full)),
            ("major", JValue::from(major)),
            ("minor", JValue::from(minor)),
            ("revision", JValue::from(revision)),
        ]
        .into_iter()
        .collect();
        let words = |list: &[String]| list.iter().map(JValue::from).collect::<JValue>();
        let run_tags = if options.tags.is_empty() {
            // Ansible's `["all"]` when no `--tags` are given.
            vec!["all".to_owned()]
        } else {
            options.tags.clone()
        };
        let inventory_dir = JValue::from(inventory.dir.display().to_string());
        let common = vec![
            ("omit", JValue::from(crate::template::OMIT)),
            (
                "playbook_dir",
                JValue::from(playbook.dir.display().to_string()),
            ),
            ("inventory_dir", inventory_dir.clone()),
            ("ansible_managed", JValue::from(ANSIBLE_MANAGED)),
            ("ansible_version", version),
            ("ansible_check_mode", JValue::from(false)),
            ("ansible_diff_mode", JValue::from(false)),
            ("ansible_verbosity", JValue::from(0)),
            ("ansible_run_tags", words(&run_tags)),
            ("ansible_skip_tags", words(&options.skip_tags)),
            ("inventory_file", inventory_dir),
        ];
        Self { groups, common }
    }

    /// A host's built-ins without a play or role: its names, `groups`, `group_names` and the
    /// shared ones (what `hostvars[host]` holds besides its variables).
    pub(super) fn of_host(&self, name: &str, host: Option<&Host>) -> Vec<(&'static str, JValue)> {
        let mut group_names: Vec<&str> = host
            .map(|h| h.groups.iter().map(String::as_str).collect())
            .unwrap_or_default();
        group_names.retain(|g| *g != "all");
        group_names.sort_unstable();
        let mut out = Vec::with_capacity(self.common.len() + 4);
        out.extend([
            ("inventory_hostname", JValue::from(name)),
            (
                "inventory_hostname_short",
                JValue::from(name.split('.').next().unwrap_or(name)),
            ),
            ("groups", self.groups.clone()),
            (
                "group_names",
                group_names.into_iter().map(JValue::from).collect(),
            ),
        ]);
        out.extend(self.common.iter().cloned());
        out
    }
}

/// Each play's hosts after `--limit`, computed the first time a host of the play asks.
pub(super) struct PlayHosts(Vec<OnceLock<JValue>>);

impl PlayHosts {
    /// Room for every play of `playbook`.
    pub(super) fn new(playbook: &Playbook) -> Self {
        Self(playbook.plays.iter().map(|_| OnceLock::new()).collect())
    }
}

impl Compiler<'_> {
    /// The play-dependent magic variables of `play`.
    pub(super) fn play_magic(&self, play: &Play) -> [(&'static str, JValue); 5] {
        let hosts = self.play_hosts(play);
        [
            ("ansible_play_name", JValue::from(play.name.as_str())),
            ("ansible_play_hosts", hosts.clone()),
            ("ansible_play_hosts_all", hosts.clone()),
            ("ansible_play_batch", hosts.clone()),
            ("play_hosts", hosts),
        ]
    }

    /// The play's hosts after `--limit` (a pattern that selects nothing is reported elsewhere),
    /// once per play of the playbook.
    pub(super) fn play_hosts(&self, play: &Play) -> JValue {
        let slot = self
            .playbook
            .plays
            .iter()
            .position(|p| std::ptr::eq(p, play))
            .and_then(|i| self.play_hosts.0.get(i));
        match slot {
            Some(slot) => slot.get_or_init(|| self.select_play_hosts(play)).clone(),
            None => self.select_play_hosts(play),
        }
    }

    /// Selects the play's hosts, matching the pattern as plays do (terms that match nothing are
    /// warned about elsewhere).
    fn select_play_hosts(&self, play: &Play) -> JValue {
        let mut hosts = inventory::select_play(self.inventory, &play.hosts)
            .map(|(h, _)| h)
            .unwrap_or_default();
        if let Some(limit) = &self.options.limit {
            let limited: HashSet<&str> = inventory::select(self.inventory, limit)
                .unwrap_or_default()
                .into_iter()
                .collect();
            hosts.retain(|h| limited.contains(h));
        }
        hosts.into_iter().map(JValue::from).collect()
    }
}
