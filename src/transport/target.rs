//! Where and how to connect, read from a host's variables under Ansible's names only: a plain
//! inventory variable called `port`, `user` or `host` is an ordinary variable (a squad's app port),
//! never a connection setting, exactly as in Ansible.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Local or SSH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ConnectionKind {
    Local,
    Ssh,
}

/// Settings that apply when a host's variables are silent: `ansible.cfg` (`remote_user`,
/// `private_key_file`) and the play's `remote_user` keyword, which ranks above the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConnectionDefaults {
    pub(crate) remote_user: Option<String>,
    pub(crate) private_key_file: Option<String>,
}

impl ConnectionDefaults {
    /// These defaults with a play's `remote_user` keyword on top (Ansible: keyword beats config).
    pub(crate) fn with_remote_user(&self, remote_user: Option<&str>) -> Self {
        Self {
            remote_user: remote_user.map(str::to_owned).or(self.remote_user.clone()),
            private_key_file: self.private_key_file.clone(),
        }
    }
}

/// A host's connection facts. Targets with the same address and port are one physical node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Target {
    pub(crate) connection: ConnectionKind,
    pub(crate) address: String,
    /// `None`: from `~/.ssh/config`, else 22.
    pub(crate) port: Option<u16>,
    pub(crate) user: Option<String>,
    pub(crate) identity_file: Option<String>,
    pub(crate) known_hosts_file: Option<String>,
    /// `ansible_become` when the host sets it: it overrides the play's `become` keyword.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) become_: Option<bool>,
}

impl Target {
    /// Reads `ansible_connection`, `ansible_host`, `ansible_port`, `ansible_user`,
    /// `ansible_ssh_private_key_file`, `ansible_become*` and recon's `recon_known_hosts_file`
    /// (plus Ansible's older `ansible_ssh_host/port/user`). The address defaults to the
    /// inventory name. `vars` renders one variable to its text (`None` when unset or none;
    /// `template::Context::text`): a plain lookup, so that `transport` needs no `template`.
    pub(crate) fn from_vars(
        host: &str,
        vars: &dyn Fn(&str) -> Result<Option<String>>,
        defaults: &ConnectionDefaults,
    ) -> Result<Self> {
        let get = |names: &[&str]| -> Result<Option<String>> {
            for name in names {
                if let Some(v) = vars(name)? {
                    return Ok(Some(v));
                }
            }
            Ok(None)
        };
        let connection = match get(&["ansible_connection"])?.as_deref() {
            None | Some("ssh" | "smart" | "paramiko" | "paramiko_ssh") => ConnectionKind::Ssh,
            Some("local") => ConnectionKind::Local,
            Some(other) => {
                return Err(Error::usage(format!(
                "host `{host}`: unknown ansible_connection `{other}` (expected `ssh` or `local`)"
            )))
            }
        };
        let port = match get(&["ansible_port", "ansible_ssh_port"])? {
            None => None,
            Some(p) => Some(p.parse().map_err(|_| {
                Error::usage(format!(
                    "host `{host}`: ansible_port `{p}` is not a TCP port number"
                ))
            })?),
        };
        Ok(Self {
            connection,
            address: get(&["ansible_host", "ansible_ssh_host"])?.unwrap_or_else(|| host.to_owned()),
            port,
            user: get(&["ansible_user", "ansible_ssh_user"])?.or(defaults.remote_user.clone()),
            identity_file: get(&["ansible_ssh_private_key_file", "ansible_private_key_file"])?
                .or(defaults.private_key_file.clone()),
            known_hosts_file: get(&["recon_known_hosts_file"])?,
            become_: become_setting(host, &get)?,
        })
    }

    /// The physical node: targets with the same address and port share one sshd.
    pub(crate) fn node(&self) -> String {
        match self.connection {
            ConnectionKind::Local => "local".to_owned(),
            ConnectionKind::Ssh => format!("{}:{}", self.address, self.port.unwrap_or(22)),
        }
    }
}

/// `ansible_become` (a boolean as Ansible reads one), checked against what recon can do: become
/// is `sudo -n`, so another method is refused here instead of silently ignored
/// (`ansible_become_user` is read per task, see `TaskSpec::become_user`).
fn become_setting(
    host: &str,
    get: &dyn Fn(&[&str]) -> Result<Option<String>>,
) -> Result<Option<bool>> {
    if let Some(method) = get(&["ansible_become_method"])? {
        if method != "sudo" {
            return Err(Error::usage(format!(
                "host `{host}`: ansible_become_method `{method}` is not supported (recon becomes root with `sudo -n`)"
            )));
        }
    }
    match get(&["ansible_become"])? {
        None => Ok(None),
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" | "y" | "t" => Ok(Some(true)),
            "false" | "no" | "off" | "0" | "n" | "f" | "" => Ok(Some(false)),
            _ => Err(Error::usage(format!(
                "host `{host}`: ansible_become `{v}` is not a boolean"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::source::SourceFile;
    use crate::template::{Context, Templar, Var};
    use crate::yaml;

    fn target(vars_yaml: &str, defaults: &ConnectionDefaults) -> Result<Target> {
        let node = yaml::parse(&SourceFile::new("t.yml", vars_yaml)).expect("yaml");
        let vars: BTreeMap<String, Var> = node
            .as_map()
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| (k.key().to_owned(), Var::Raw(v.clone())))
            .collect();
        let templar = Arc::new(Templar::new());
        let ctx = Context::new(&templar, vars);
        Target::from_vars("web1", &|name| ctx.text(name), defaults)
    }

    #[test]
    fn plain_port_user_host_are_not_connection_settings() {
        let t = target(
            "{port: 9001, user: app, host: 10.9.9.9}",
            &ConnectionDefaults::default(),
        )
        .expect("target");
        assert_eq!((t.address.as_str(), t.port, t.user), ("web1", None, None));
    }

    #[test]
    fn ansible_names_set_the_connection() {
        let t = target(
            "{ansible_host: 10.0.0.1, ansible_port: 2222, ansible_user: a, ansible_connection: paramiko, ansible_ssh_private_key_file: /k, recon_known_hosts_file: /kh, ansible_become: 'yes'}",
            &ConnectionDefaults::default(),
        )
        .expect("target");
        assert_eq!(t.node(), "10.0.0.1:2222");
        assert_eq!(t.user.as_deref(), Some("a"));
        assert_eq!(t.connection, ConnectionKind::Ssh);
        assert_eq!(t.identity_file.as_deref(), Some("/k"));
        assert_eq!(t.known_hosts_file.as_deref(), Some("/kh"));
        assert_eq!(t.become_, Some(true));
    }

    #[test]
    fn variables_beat_play_keyword_which_beats_config() {
        let config = ConnectionDefaults {
            remote_user: Some("cfg".into()),
            private_key_file: Some("/cfg_key".into()),
        };
        let t = target("{}", &config).expect("target");
        assert_eq!(t.user.as_deref(), Some("cfg"));
        assert_eq!(t.identity_file.as_deref(), Some("/cfg_key"));
        let play = config.with_remote_user(Some("play"));
        assert_eq!(
            target("{}", &play).expect("target").user.as_deref(),
            Some("play")
        );
        let t = target("{ansible_user: var}", &play).expect("target");
        assert_eq!(t.user.as_deref(), Some("var"));
    }

    #[test]
    fn unsupported_become_settings_are_clear_errors() {
        let d = ConnectionDefaults::default();
        let err = target("{ansible_become_method: su}", &d).expect_err("su");
        assert!(
            err.to_string().contains("ansible_become_method `su`"),
            "{err}"
        );
        // Another user is read per task (`TaskSpec::become_user`), not refused here.
        assert!(target("{ansible_become_user: postgres}", &d).is_ok());
        let err = target("{ansible_connection: winrm}", &d).expect_err("winrm");
        assert!(err.to_string().contains("`winrm`"), "{err}");
        assert!(target(
            "{ansible_become_method: sudo, ansible_become_user: root}",
            &d
        )
        .is_ok());
    }
}
