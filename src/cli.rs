//! Command-line syntax (clap). Validation and meaning live in `run.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// recon: declarative deploys over SSH. Plans exactly, applies atomically.
#[derive(Debug, Parser)]
#[command(name = "recon", version, about, max_term_width = 100)]
pub(crate) struct Arguments {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show what apply would change on each host (reads hosts, never writes)
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// Converge hosts: plan, then apply (a playbook, or a plan saved with `plan -o`)
    #[command(
        after_help = APPLY_EXAMPLES,
        mut_arg("playbook", |a| a.value_name("PLAYBOOK_OR_PLAN").help(
            "The playbook (YAML), or a plan saved with `recon plan -o FILE`: applied exactly as \
             saved, or refused when a host changed since (--limit, --tags, -e and --become then \
             do not apply: the plan already decided)"
        ))
    )]
    Apply(ApplyArgs),
    /// Validate a playbook and inventory without contacting any host
    #[command(after_help = CHECK_EXAMPLES)]
    Check(Selection),
    /// Print one host's resource graph as Graphviz DOT
    #[command(after_help = GRAPH_EXAMPLES)]
    Graph(GraphArgs),
    /// List hosts, groups and their resolved variables
    #[command(after_help = INVENTORY_EXAMPLES)]
    Inventory(InventoryArgs),
    /// Run one command on every host matching a pattern (ad hoc, like `ansible -a`)
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// List each target's releases (current, good, failed)
    #[command(after_help = RELEASES_EXAMPLES)]
    Releases(ReleasesArgs),
    /// Switch targets back to the previous good release (or --to VERSION), restart and re-check
    #[command(after_help = ROLLBACK_EXAMPLES)]
    Rollback(RollbackArgs),
    /// Encrypt, decrypt, view and edit Ansible Vault files and strings
    Vault(VaultArgs),
    /// Create a new project: inventory (localhost), playbook, role, template, group_vars
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print recon's man page (roff), generated from this command line definition
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
    /// Work with `apply --json` reports (merge the reports of `--shard` runs into one recap)
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Show a resource's arguments: type, default, Ansible names (no KIND: list the resources)
    #[command(after_help = DOC_EXAMPLES)]
    Doc(DocArgs),
}

/// `recon doc [KIND]`.
#[derive(Debug, Args)]
pub(crate) struct DocArgs {
    /// The resource kind (`file`, `service`, ...)
    pub(crate) kind: Option<String>,
}

const DOC_EXAMPLES: &str = "Examples:
  recon doc
  recon doc sysctl";

/// `recon man [--dir DIR]`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write recon.1 and one recon-SUBCOMMAND.1 page per subcommand into this folder instead of
    /// printing recon.1
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<std::path::PathBuf>,
}

/// `recon completions SHELL`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

const COMPLETIONS_EXAMPLES: &str = "Examples:
  recon completions bash > /etc/bash_completion.d/recon
  recon completions zsh > \"${fpath[1]}/_recon\"
  recon completions fish > ~/.config/fish/completions/recon.fish";

const MAN_EXAMPLES: &str = "Examples:
  recon man | man -l -
  recon man --dir /usr/local/share/man/man1";

impl Command {
    /// The vault password options of a command that reads inventories or playbooks.
    pub(crate) fn vault_passwords(&self) -> Option<&VaultPasswords> {
        let source = match self {
            Command::Plan(a) => &a.selection.source,
            Command::Apply(a) => &a.selection.source,
            Command::Check(s) => &s.source,
            Command::Graph(a) => &a.selection.source,
            Command::Inventory(a) => &a.source,
            Command::Run(a) => &a.source,
            Command::Releases(a) => &a.source,
            Command::Rollback(a) => &a.apply.selection.source,
            Command::Vault(_)
            | Command::Init(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Report(_)
            | Command::Doc(_) => return None,
        };
        Some(&source.vault)
    }
}

/// Where Ansible Vault passwords come from (besides `RECON_VAULT_PASSWORD_FILE` and
/// `ANSIBLE_VAULT_PASSWORD_FILE`).
#[derive(Debug, Clone, Args, Default)]
pub(crate) struct VaultPasswords {
    /// Vault password file, or an executable that prints the password (repeatable)
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub(crate) password_files: Vec<PathBuf>,
    /// Labelled vault password: `LABEL@FILE`, `LABEL@prompt`, or `FILE` (repeatable)
    #[arg(long = "vault-id", value_name = "ID")]
    pub(crate) vault_ids: Vec<String>,
}

// One example block per command, shown after its options (`recon CMD --help`).
const PLAN_EXAMPLES: &str = "Examples:
  recon plan site.yml                          # every host the playbook targets
  recon plan site.yml -l web01 -t config       # one host, only tasks tagged `config`
  recon plan site.yml -o release.plan          # save it; `recon apply release.plan` applies exactly it
  recon plan site.yml --detailed-exitcode      # exit 2 when changes are pending (CI drift check)";
const APPLY_EXAMPLES: &str = "Examples:
  recon apply site.yml -e version=v1.2.0       # plan, show the plan, apply it
  recon apply site.yml -l 'web*' --forks 8     # some hosts, 8 at a time
  recon apply release.plan                     # a plan saved with `recon plan -o release.plan`";
const CHECK_EXAMPLES: &str = "Examples:
  recon check site.yml                         # ./inventory
  recon check playbooks/digicam.yml -i inventory/squads.yml -e version=v1.0.1";
const GRAPH_EXAMPLES: &str = "Examples:
  recon graph site.yml --host web01 | dot -Tsvg > web01.svg";
const INVENTORY_EXAMPLES: &str = "Examples:
  recon inventory -i inventory/squads.yml
  recon inventory --json | jq '.hosts.alpha'";
const RUN_EXAMPLES: &str = "Examples:
  recon run all -- uptime                      # one argument: a sh command line
  recon run 'web*' -- 'df -h / | tail -1'
  recon run squads --become -- systemctl status nginx   # several arguments: argv, no shell";
const RELEASES_EXAMPLES: &str = "Examples:
  recon releases playbooks/digicam.yml -i inventory/squads.yml
  recon releases playbooks/digicam.yml -l alpha --json";
const ROLLBACK_EXAMPLES: &str = "Examples:
  recon rollback playbooks/digicam.yml -i inventory/squads.yml              # previous good release
  recon rollback playbooks/digicam.yml -i inventory/squads.yml --to v1.0.0 -l alpha";
const REPORT_EXAMPLES: &str = "Examples:
  recon apply site.yml --shard 1/2 --json > shard-1.json   # on one CI runner
  recon apply site.yml --shard 2/2 --json > shard-2.json   # on another
  recon report merge shard-*.json                          # one recap; exit 1 if any host failed";
const INIT_EXAMPLES: &str = "Examples:
  recon init myapp && cd myapp && recon check site.yml && recon plan site.yml";

/// Where hosts and their variables come from (every command that reads an inventory).
#[derive(Debug, Clone, Args)]
pub(crate) struct InventorySource {
    /// Inventory file or folder [default: ./inventory]
    #[arg(short, long)]
    pub(crate) inventory: Option<PathBuf>,
    /// Extra variables, highest precedence: `key=value` or `@file.yml` (repeatable)
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub(crate) extra_vars: Vec<String>,
    #[command(flatten)]
    pub(crate) vault: VaultPasswords,
}

/// Which playbook, inventory, hosts and tasks.
#[derive(Debug, Args)]
pub(crate) struct Selection {
    /// The playbook (YAML)
    pub(crate) playbook: PathBuf,
    #[command(flatten)]
    pub(crate) source: InventorySource,
    /// Only hosts matching this pattern (`web`, `web*`, `a:&b`, `all:!db`)
    #[arg(short, long)]
    pub(crate) limit: Option<String>,
    /// Only tasks with one of these tags (comma-separated)
    #[arg(short, long, value_delimiter = ',')]
    pub(crate) tags: Vec<String>,
    /// Skip tasks with one of these tags (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub(crate) skip_tags: Vec<String>,
    /// Run every play as `become: true` (each host's script under `sudo -n`), like ansible's -b
    #[arg(short, long = "become")]
    pub(crate) become_: bool,
    /// Only the I-th of N parts of the selected targets (`2/4`): nodes (address and port) are
    /// dealt out in name order, so all targets of one node land in the same shard
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub(crate) shard: Option<Shard>,
}

/// `--shard I/N`: part `index` (1-based) of `count` parts; the compiler picks its hosts.
pub(crate) use crate::compile::Shard;

/// Why `--shard` does not parse: clap prints it after the option's name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NotAShard {
    /// No `/` in the text.
    NoSlash(String),
    /// Numbers missing, zero, or I above N.
    OutOfRange(String),
}

impl std::fmt::Display for NotAShard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSlash(text) => write!(f, "`{text}` is not I/N (e.g. 1/4)"),
            Self::OutOfRange(text) => {
                write!(f, "`{text}` is not I/N with 1 <= I <= N (e.g. 1/4)")
            }
        }
    }
}

impl std::error::Error for NotAShard {}

/// Parses `I/N` with 1 <= I <= N.
fn parse_shard(text: &str) -> Result<Shard, NotAShard> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| NotAShard::NoSlash(text.to_owned()))?;
    let parse = |t: &str| t.trim().parse::<usize>().ok().filter(|v| *v >= 1);
    match (parse(i), parse(n)) {
        (Some(index), Some(count)) if index <= count => Ok(Shard { index, count }),
        _ => Err(NotAShard::OutOfRange(text.to_owned())),
    }
}

/// How hosts are contacted.
#[derive(Debug, Args)]
pub(crate) struct Connection {
    /// Hosts worked on in parallel
    #[arg(short, long, default_value_t = 32)]
    pub(crate) forks: usize,
    /// Connections opened at once to one node (targets sharing an address and port); keep it
    /// below sshd's MaxStartups (10)
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub(crate) node_forks: usize,
    /// Record unknown SSH host keys in known_hosts (changed keys are always refused)
    #[arg(long)]
    pub(crate) accept_new_host_keys: bool,
    /// Seconds to wait for a TCP connection and the SSH handshake
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub(crate) connect_timeout: u64,
}

/// `recon plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Print the plan as JSON (same data as the human view)
    #[arg(long)]
    pub(crate) json: bool,
    /// Exit 2 when changes are pending (0 none, 1 error)
    #[arg(long)]
    pub(crate) detailed_exitcode: bool,
    /// Save the plan; `recon apply FILE` applies exactly it, or refuses if hosts changed
    #[arg(short, long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Also list hosts without changes
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Show every host's changes in full (by default hosts whose changes differ only in their
    /// own inventory values are shown once, under the list of their names)
    #[arg(long)]
    pub(crate) no_group: bool,
}

/// `recon apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Print the report as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// Print connections, channels and bytes per host
    #[arg(long)]
    pub(crate) stats: bool,
    /// Seconds to wait for another apply's lock on a host
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) lock_timeout: u64,
    /// Also list hosts without changes
    #[arg(short, long)]
    pub(crate) verbose: bool,
    /// Show every host's changes in full (by default hosts whose changes differ only in their
    /// own inventory values are shown once, under the list of their names)
    #[arg(long)]
    pub(crate) no_group: bool,
    /// Stop the rollout (`serial:` batches) after a batch in which more than this percentage of
    /// its hosts failed; overrides the plays' `max_fail_percentage`
    #[arg(long, value_name = "PERCENT")]
    pub(crate) max_fail_percent: Option<u8>,
}

/// `recon graph`.
#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) selection: Selection,
    /// The host whose graph to print
    #[arg(long)]
    pub(crate) host: String,
}

/// `recon inventory`.
#[derive(Debug, Args)]
pub(crate) struct InventoryArgs {
    #[command(flatten)]
    pub(crate) source: InventorySource,
    /// Print as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `recon run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Host pattern (`all`, a group, `web*`, `a:&b`, `a:!b`)
    pub(crate) pattern: String,
    #[command(flatten)]
    pub(crate) source: InventorySource,
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Run under `sudo -n`
    #[arg(short, long = "become")]
    pub(crate) become_: bool,
    /// Print results as JSON
    #[arg(long)]
    pub(crate) json: bool,
    /// One argument: a POSIX sh command line. Several: a program and its arguments, no shell
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// `recon releases`: which targets, but not which tasks (tags select tasks, not releases).
#[derive(Debug, Args)]
pub(crate) struct ReleasesArgs {
    /// The playbook (YAML) whose `release` tasks name the targets
    pub(crate) playbook: PathBuf,
    #[command(flatten)]
    pub(crate) source: InventorySource,
    /// Only hosts matching this pattern (`web`, `web*`, `a:&b`, `all:!db`)
    #[arg(short, long)]
    pub(crate) limit: Option<String>,
    #[command(flatten)]
    pub(crate) connection: Connection,
    /// Print as JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `recon rollback`.
#[derive(Debug, Args)]
pub(crate) struct RollbackArgs {
    #[command(flatten)]
    pub(crate) apply: ApplyArgs,
    /// The release to switch to [default: the newest good release older than the current one]
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: Option<String>,
}

/// `recon vault`.
#[derive(Debug, Args)]
pub(crate) struct VaultArgs {
    #[command(subcommand)]
    pub(crate) action: VaultAction,
}

/// What `recon vault` does; files are written 0600 through a temp file and a rename.
#[derive(Debug, Subcommand)]
pub(crate) enum VaultAction {
    /// Create a new encrypted file with $EDITOR
    Create(VaultEditArgs),
    /// Decrypt a file into $EDITOR (a private temp file) and encrypt it again
    Edit(VaultEditArgs),
    /// Encrypt files in place (or to --output)
    Encrypt(VaultFilesArgs),
    /// Decrypt files in place (or to --output)
    Decrypt(VaultFilesArgs),
    /// Print decrypted files
    View(VaultFilesArgs),
    /// Encrypt files again with a new password
    Rekey(VaultRekeyArgs),
    /// Encrypt a string into an inline `!vault |` value for a YAML file
    #[command(alias = "encrypt_string")]
    EncryptString(VaultStringArgs),
}

/// Passwords for `recon vault`, and which one encrypts.
#[derive(Debug, Args)]
pub(crate) struct VaultKeys {
    #[command(flatten)]
    pub(crate) passwords: VaultPasswords,
    /// The vault id (label) to encrypt with, when several are given
    #[arg(long, value_name = "LABEL")]
    pub(crate) encrypt_vault_id: Option<String>,
}

/// `recon vault create|edit`.
#[derive(Debug, Args)]
pub(crate) struct VaultEditArgs {
    /// The file
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) keys: VaultKeys,
}

/// `recon vault encrypt|decrypt|view`.
#[derive(Debug, Args)]
pub(crate) struct VaultFilesArgs {
    /// The files (`-` reads stdin)
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) keys: VaultKeys,
    /// Write the result here instead of in place (`-` for stdout; one input file only)
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// `recon vault rekey`.
#[derive(Debug, Args)]
pub(crate) struct VaultRekeyArgs {
    /// The files
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) keys: VaultKeys,
    /// The new password's file (or executable)
    #[arg(long, value_name = "FILE")]
    pub(crate) new_vault_password_file: Option<PathBuf>,
    /// The new password as `LABEL@FILE`, `LABEL@prompt` or `FILE`
    #[arg(long, value_name = "ID", conflicts_with = "new_vault_password_file")]
    pub(crate) new_vault_id: Option<String>,
}

/// `recon vault encrypt-string`.
#[derive(Debug, Args)]
pub(crate) struct VaultStringArgs {
    /// The string to encrypt [default: read stdin as is, newline included]
    pub(crate) string: Option<String>,
    /// Print it as `NAME: !vault |` (a YAML variable)
    #[arg(short, long)]
    pub(crate) name: Option<String>,
    #[command(flatten)]
    pub(crate) keys: VaultKeys,
}

impl ReleasesArgs {
    /// The same targets as a full selection (every task, so every `release` task counts).
    pub(crate) fn selection(&self) -> Selection {
        Selection {
            playbook: self.playbook.clone(),
            source: self.source.clone(),
            limit: self.limit.clone(),
            tags: Vec::new(),
            skip_tags: Vec::new(),
            become_: false,
            shard: None,
        }
    }
}

/// `recon init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// The folder to create the project in (created if missing; existing files are never
    /// overwritten)
    #[arg(default_value = ".")]
    pub(crate) dir: PathBuf,
}

/// `recon report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(subcommand)]
    pub(crate) action: ReportAction,
}

/// What `recon report` does.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportAction {
    /// Combine the `apply --json` reports of shards into one recap (checks that every target
    /// is in exactly one report)
    Merge(MergeArgs),
}

/// `recon report merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The reports (`recon apply --json` output), one per shard
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    /// Print the merged report as JSON (the shape of `apply --json`)
    #[arg(long)]
    pub(crate) json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_shard("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
