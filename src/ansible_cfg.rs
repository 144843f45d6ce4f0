//! `ansible.cfg`: the defaults an Ansible project already declares, so that `recon plan site.yml`
//! in an Ansible checkout finds the same inventory, user, key and roles as `ansible-playbook`.
//!
//! Found as Ansible finds it: `$ANSIBLE_CONFIG` (a file, or a folder holding `ansible.cfg`), then
//! `./ansible.cfg`, then `~/.ansible.cfg`; the first one found is the only one read
//! (`/etc/ansible/ansible.cfg` is not read: recon never looks outside the project and the user's
//! home). Ansible's environment variables (`ANSIBLE_INVENTORY`, `ANSIBLE_REMOTE_USER`, ...)
//! override the file, as they do in Ansible. Relative paths are relative to the file's folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::source::{SourceFile, Span};

/// The `[defaults]` settings recon honours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AnsibleConfig {
    /// The file read, if any.
    pub(crate) path: Option<PathBuf>,
    /// `inventory`: sources used when `-i` is not given (comma-separated in the file).
    pub(crate) inventory: Vec<PathBuf>,
    /// `remote_user`: the SSH user where neither the host nor the play names one.
    pub(crate) remote_user: Option<String>,
    /// `private_key_file`: the key tried first where the host sets no
    /// `ansible_ssh_private_key_file`.
    pub(crate) private_key_file: Option<String>,
    /// `roles_path`: more folders to look for roles in (colon-separated in the file).
    pub(crate) roles_path: Vec<PathBuf>,
    /// `vault_password_file`: where the vault password is (for vault support).
    pub(crate) vault_password_file: Option<PathBuf>,
    /// `host_key_checking`: `Some(false)` makes recon accept and record unknown host keys (as
    /// `--accept-new-host-keys`); a changed key is still refused.
    pub(crate) host_key_checking: Option<bool>,
}

impl AnsibleConfig {
    /// Finds and reads the configuration in Ansible's order; no file is an empty configuration.
    pub(crate) fn discover() -> Result<Self> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut config = match find(env("ANSIBLE_CONFIG").as_deref(), home.as_deref()) {
            Some(path) => Self::read(&path)?,
            None => Self::default(),
        };
        config.apply_env(&env, home.as_deref());
        Ok(config)
    }

    /// Reads one `ansible.cfg`.
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        let file = SourceFile::new(path, text);
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Self::parse(&file, &dir, home.as_deref())
    }

    /// Parses `file` (Python configparser syntax: `key = value` or `key: value`, `#`/`;`
    /// comment lines, `;` inline comments after a space, indented continuation lines).
    pub(crate) fn parse(file: &Arc<SourceFile>, dir: &Path, home: Option<&Path>) -> Result<Self> {
        let mut config = Self {
            path: Some(file.path.clone()),
            ..Self::default()
        };
        let mut section = String::new();
        let mut offset = 0;
        for line in file.text.split_inclusive('\n') {
            let start = offset;
            offset += line.len();
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
                continue;
            }
            let lead = line.len() - line.trim_start().len();
            let span = Span {
                file: Arc::clone(file),
                start: start + lead,
                end: start + lead + trimmed.len(),
            };
            if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                name.trim().clone_into(&mut section);
                continue;
            }
            if lead > 0 {
                // A continuation line: recon's settings are all one-line values.
                continue;
            }
            let Some(at) = trimmed.find(['=', ':']) else {
                return Err(Error::invalid(
                    format!("expected `key = value` in [{section}], got `{trimmed}`"),
                    &span,
                ));
            };
            let key = trimmed[..at].trim().to_ascii_lowercase();
            let value = strip_inline_comment(trimmed[at + 1..].trim());
            if section == "defaults" {
                config
                    .set(&key, value, dir, home)
                    .map_err(|e| e.with_span(&span))?;
            }
        }
        Ok(config)
    }

    /// Applies one `[defaults]` key; unknown keys are ignored, as Ansible ignores them.
    fn set(&mut self, key: &str, value: &str, dir: &Path, home: Option<&Path>) -> Result<()> {
        let path = |v: &str| resolve(v, dir, home);
        match key {
            "inventory" | "hostfile" => {
                self.inventory = list(value, ',').map(path).collect();
            }
            "remote_user" => self.remote_user = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "private_key_file" => {
                self.private_key_file =
                    Some(path(value).display().to_string()).filter(|_| !value.is_empty());
            }
            "roles_path" => self.roles_path = list(value, ':').map(path).collect(),
            "vault_password_file" => {
                self.vault_password_file = Some(path(value)).filter(|_| !value.is_empty());
            }
            "host_key_checking" => {
                self.host_key_checking = Some(boolean(value).ok_or_else(|| {
                    Error::bad_value(format!("host_key_checking `{value}` is not a boolean"))
                })?);
            }
            _ => {}
        }
        Ok(())
    }

    /// `ANSIBLE_INVENTORY`, `ANSIBLE_REMOTE_USER`, `ANSIBLE_PRIVATE_KEY_FILE`,
    /// `ANSIBLE_ROLES_PATH`, `ANSIBLE_VAULT_PASSWORD_FILE`, `ANSIBLE_HOST_KEY_CHECKING` win over
    /// the file; their relative paths are relative to the current folder.
    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) {
        let cwd = Path::new(".");
        for (name, key) in [
            ("ANSIBLE_INVENTORY", "inventory"),
            ("ANSIBLE_REMOTE_USER", "remote_user"),
            ("ANSIBLE_PRIVATE_KEY_FILE", "private_key_file"),
            ("ANSIBLE_ROLES_PATH", "roles_path"),
            ("ANSIBLE_VAULT_PASSWORD_FILE", "vault_password_file"),
            ("ANSIBLE_HOST_KEY_CHECKING", "host_key_checking"),
        ] {
            if let Some(value) = env(name) {
                // An unparsable boolean in the environment is ignored, like an unset one.
                let _ = self.set(key, &value, cwd, home);
            }
        }
    }
}

/// The configuration file to read, in Ansible's order.
fn find(ansible_config: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(env) = ansible_config {
        let path = resolve(env, Path::new("."), home);
        candidates.push(if path.is_dir() {
            path.join("ansible.cfg")
        } else {
            path
        });
    }
    candidates.push(PathBuf::from("ansible.cfg"));
    if let Some(home) = home {
        candidates.push(home.join(".ansible.cfg"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// A separated list without empty items.
fn list(value: &str, sep: char) -> impl Iterator<Item = &str> {
    value.split(sep).map(str::trim).filter(|v| !v.is_empty())
}

/// `~` expanded; relative paths joined to `dir`.
fn resolve(value: &str, dir: &Path, home: Option<&Path>) -> PathBuf {
    let value = value.trim();
    let expanded = match (value.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if value == "~" => home.map_or_else(|| PathBuf::from(value), Path::to_path_buf),
        _ => PathBuf::from(value),
    };
    if expanded.is_absolute() || dir == Path::new(".") {
        expanded
    } else {
        dir.join(expanded)
    }
}

/// configparser's inline comments: `;` after whitespace.
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    (1..bytes.len())
        .find(|&i| bytes[i] == b';' && bytes[i - 1].is_ascii_whitespace())
        .map_or(value, |i| value[..i].trim_end())
}

/// Ansible's boolean strings.
fn boolean(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "y" | "t" => Some(true),
        "false" | "no" | "off" | "0" | "n" | "f" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AnsibleConfig> {
        AnsibleConfig::parse(
            &SourceFile::new("/proj/ansible.cfg", text),
            Path::new("/proj"),
            Some(Path::new("/home/u")),
        )
    }

    #[test]
    fn defaults_that_matter_for_loading_are_read() {
        let config = parse(
            "# comment\n[defaults]\ninventory = hosts.ini, /etc/extra.yml\nremote_user: deploy ; inline\n\
             private_key_file = ~/.ssh/deploy\nroles_path = roles:/shared/roles\n\
             vault_password_file = .vault_pass\nhost_key_checking = False\nforks = 10\n\
             [privilege_escalation]\nbecome = True\n",
        )
        .expect("config");
        assert_eq!(
            config.inventory,
            [
                PathBuf::from("/proj/hosts.ini"),
                PathBuf::from("/etc/extra.yml")
            ]
        );
        assert_eq!(config.remote_user.as_deref(), Some("deploy"));
        assert_eq!(
            config.private_key_file.as_deref(),
            Some("/home/u/.ssh/deploy")
        );
        assert_eq!(
            config.roles_path,
            [PathBuf::from("/proj/roles"), PathBuf::from("/shared/roles")]
        );
        assert_eq!(
            config.vault_password_file,
            Some(PathBuf::from("/proj/.vault_pass"))
        );
        assert_eq!(config.host_key_checking, Some(false));
    }

    #[test]
    fn settings_outside_defaults_are_ignored_and_bad_lines_are_located() {
        let config = parse("[ssh_connection]\nremote_user = x\n").expect("config");
        assert_eq!(config.remote_user, None);
        let err = parse("[defaults]\nhost_key_checking = maybe\n").expect_err("bool");
        assert!(err.to_string().contains("maybe"), "{err}");
        assert_eq!(err.span().map(Span::line_col), Some((2, 1)));
        let err = parse("[defaults]\njunk\n").expect_err("no =");
        assert!(err.to_string().contains("key = value"), "{err}");
    }

    #[test]
    fn ansible_config_env_names_a_file_or_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("ansible.cfg");
        std::fs::write(&file, "[defaults]\n").expect("write");
        let dir_str = dir.path().display().to_string();
        assert_eq!(find(Some(&dir_str), None), Some(file.clone()));
        assert_eq!(find(Some(&file.display().to_string()), None), Some(file));
    }
}
