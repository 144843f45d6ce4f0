//! Ansible's magic variables beyond the basic built-ins: what real roles and templates read
//! without defining (`group_names`, `ansible_managed`, `ansible_version`, `ansible_check_mode`,
//! `ansible_play_hosts`, `role_name`, ...). Their values are fixed for a run, so a plan and the
//! apply after it see the same ones.

use minijinja::Value as JValue;

use super::Compiler;
use crate::inventory;
use crate::playbook::Play;

/// The ansible-core release whose behaviour recon follows: content that tests
/// `ansible_version.full is version('2.12', '>=')` takes its modern path.
const ANSIBLE_VERSION: (u32, u32, u32) = (2, 17, 0);

/// Ansible's default `ansible_managed` text (its `DEFAULT_MANAGED_STR`, without the
/// time-dependent placeholders, which would make every plan differ).
const ANSIBLE_MANAGED: &str = "Ansible managed";

impl Compiler<'_> {
    /// The magic variables of `host` in `play` (none of them play-dependent without a play).
    pub(super) fn magic(&self, host: &str, play: Option<&Play>) -> Vec<(&'static str, JValue)> {
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
        let mut group_names: Vec<&str> = self
            .inventory
            .host(host)
            .map(|h| h.groups.iter().map(String::as_str).collect())
            .unwrap_or_default();
        group_names.retain(|g| *g != "all");
        group_names.sort_unstable();
        let words = |list: &[String]| list.iter().map(JValue::from).collect::<JValue>();
        let mut out = vec![
            (
                "group_names",
                group_names.into_iter().map(JValue::from).collect(),
            ),
            ("ansible_managed", JValue::from(ANSIBLE_MANAGED)),
            ("ansible_version", version),
            ("ansible_check_mode", JValue::from(false)),
            ("ansible_diff_mode", JValue::from(false)),
            ("ansible_verbosity", JValue::from(0)),
            ("ansible_run_tags", words(&self.run_tags())),
            ("ansible_skip_tags", words(&self.options.skip_tags)),
            (
                "inventory_file",
                JValue::from(self.inventory.dir.display().to_string()),
            ),
        ];
        if let Some(play) = play {
            let hosts = self.play_hosts(play);
            out.extend([
                ("ansible_play_name", JValue::from(play.name.as_str())),
                ("ansible_play_hosts", hosts.clone()),
                ("ansible_play_hosts_all", hosts.clone()),
                ("ansible_play_batch", hosts.clone()),
                ("play_hosts", hosts),
            ]);
        }
        out
    }

    /// `--tags`, or Ansible's `["all"]` when none are given.
    fn run_tags(&self) -> Vec<String> {
        if self.options.tags.is_empty() {
            vec!["all".to_owned()]
        } else {
            self.options.tags.clone()
        }
    }

    /// The play's hosts after `--limit` (a pattern that selects nothing is reported elsewhere).
    fn play_hosts(&self, play: &Play) -> JValue {
        let mut hosts = inventory::select_play(self.inventory, &play.hosts)
            .map(|(h, _)| h)
            .unwrap_or_default();
        if let Some(limit) = &self.options.limit {
            let limited = inventory::select(self.inventory, limit).unwrap_or_default();
            hosts.retain(|h| limited.contains(h));
        }
        hosts.into_iter().map(JValue::from).collect()
    }
}
