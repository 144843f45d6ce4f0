//! Where and how to connect, read from a host's variables (Ansible spellings accepted).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::template::Context;

/// Local or SSH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ConnectionKind {
    Local,
    Ssh,
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
}

impl Target {
    /// Reads `connection`/`ansible_connection`, `host`/`ansible_host`, `port`/`ansible_port`,
    /// `user`/`ansible_user`, `identity_file`/`ansible_ssh_private_key_file` and
    /// `known_hosts_file`. The address defaults to the inventory name.
    pub(crate) fn from_vars(host: &str, vars: &Context) -> Result<Self> {
        let get = |names: &[&str]| -> Result<Option<String>> {
            for name in names {
                if let Some(v) = vars.resolve(name)? {
                    if !v.is_none() && !v.is_undefined() {
                        return Ok(Some(v.to_string()));
                    }
                }
            }
            Ok(None)
        };
        let connection = match get(&["connection", "ansible_connection"])?.as_deref() {
            None | Some("ssh" | "smart" | "paramiko") => ConnectionKind::Ssh,
            Some("local") => ConnectionKind::Local,
            Some(other) => {
                return Err(Error::usage(format!(
                    "host `{host}`: unknown connection `{other}` (expected `ssh` or `local`)"
                )))
            }
        };
        let port = match get(&["port", "ansible_port", "ansible_ssh_port"])? {
            None => None,
            Some(p) => Some(p.parse().map_err(|_| {
                Error::usage(format!(
                    "host `{host}`: port `{p}` is not a TCP port number"
                ))
            })?),
        };
        Ok(Self {
            connection,
            address: get(&["host", "ansible_host", "ansible_ssh_host"])?
                .unwrap_or_else(|| host.to_owned()),
            port,
            user: get(&["user", "ansible_user", "ansible_ssh_user"])?,
            identity_file: get(&["identity_file", "ansible_ssh_private_key_file"])?,
            known_hosts_file: get(&["known_hosts_file"])?,
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
