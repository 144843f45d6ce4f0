//! The resource reference, generated from the registry and each kind's declared arguments: the
//! text `recon doc KIND` prints and the page docs/resources.md (written and checked by the
//! `resources_doc` test). Generated, so neither can list an argument the parser does not take,
//! or miss one it does.

use std::fmt::Write as _;

use super::registry::Kind;
use crate::fields::arg::Arg;

/// Where the generated page lives, from the repository root.
#[cfg(test)]
pub(crate) const PAGE: &str = "docs/resources.md";

/// How to regenerate the page, for the test that finds it stale.
#[cfg(test)]
pub(crate) const REGENERATE: &str = "RECON_BLESS=1 cargo test --lib resources_doc";

/// Every declared argument of `kind`, its own first.
fn args_of(kind: &Kind) -> impl Iterator<Item = &'static Arg> {
    kind.args.iter().flat_map(|group| group.iter())
}

/// The page docs/resources.md: every kind, its summary and a table of its arguments.
#[cfg(test)]
pub(crate) fn markdown() -> String {
    let mut out = String::from("# Resources\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the argument declarations (`ARGS`) in src/resource/: do not edit.\n     \
         Regenerate with `{REGENERATE}`. -->\n"
    );
    out.push_str(
        "Every resource kind recon has, with the arguments it takes: their type, their default \
         (what an argument not given means) and the Ansible module arguments recon translates \
         into it. `recon doc KIND` prints the same in a terminal. How each kind decides what to \
         change is in the [reference](reference.md#resources).\n\n",
    );
    let documented = || {
        super::registry::KINDS
            .iter()
            .filter(|k| k.name != super::registry::EXAMPLE)
    };
    let links: Vec<String> = documented()
        .map(|k| format!("[`{}`](#{})", k.name, k.name))
        .collect();
    let _ = writeln!(out, "{}\n", links.join(" "));
    for kind in documented() {
        let _ = writeln!(out, "## {}\n\n{}.\n", kind.name, capitalized(kind.summary));
        out.push_str("| argument | type | default | Ansible | what it does |\n");
        out.push_str("|---|---|---|---|---|\n");
        for arg in args_of(kind) {
            let ansible: Vec<String> = arg.ansible.iter().map(|a| format!("`{a}`")).collect();
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                arg.name,
                cell(&arg.type_name()),
                cell(&arg.default_text()),
                ansible.join(", "),
                cell(arg.doc),
            );
        }
        out.push('\n');
    }
    out
}

/// A table cell: a `|` would end it.
#[cfg(test)]
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The summary as a sentence.
#[cfg(test)]
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// What `recon doc KIND` prints: the summary, then each argument with its type, default,
/// Ansible names and doc.
pub(crate) fn text(kind: &Kind) -> String {
    let mut out = format!("{}: {}\n\nArguments:\n", kind.name, kind.summary);
    for arg in args_of(kind) {
        let _ = writeln!(
            out,
            "  {} ({}; {})",
            arg.name,
            arg.type_name(),
            arg.default_text().replace('`', "")
        );
        let mut about = arg.doc.replace('`', "");
        if !arg.ansible.is_empty() {
            if !about.is_empty() {
                about.push_str(". ");
            }
            let _ = write!(about, "Ansible: {}", arg.ansible.join(", "));
        }
        if !about.is_empty() {
            let _ = writeln!(out, "      {about}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::registry::KINDS;
    use super::*;

    /// docs/resources.md is what the declarations generate; `RECON_BLESS=1` rewrites it.
    #[test]
    fn resources_doc() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PAGE);
        let generated = markdown();
        if std::env::var_os("RECON_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write docs/resources.md");
            return;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "{PAGE} is stale: the argument declarations changed. Regenerate it with `{REGENERATE}`"
        );
    }

    /// Every kind documents every argument, and names are unique within a kind.
    #[test]
    fn every_argument_documented_once() {
        let mut undocumented = Vec::new();
        for kind in KINDS {
            let mut seen = std::collections::BTreeSet::new();
            for arg in args_of(kind) {
                if arg.doc.is_empty() {
                    undocumented.push(format!("{}.{}", kind.name, arg.name));
                }
                assert!(
                    seen.insert(arg.name),
                    "`{}` declares `{}` twice",
                    kind.name,
                    arg.name
                );
            }
            assert!(!seen.is_empty(), "`{}` declares no argument", kind.name);
        }
        assert!(undocumented.is_empty(), "no doc: {undocumented:?}");
    }

    #[test]
    fn text_lists_types_defaults_and_ansible_names() {
        let kind = KINDS.iter().find(|k| k.name == "sysctl").expect("sysctl");
        let text = text(kind);
        assert!(text.contains("  reload (bool; true)\n"), "{text}");
        assert!(text.contains("  name (string; required)\n"), "{text}");
        assert!(text.contains("Ansible: name, key"), "{text}");
    }
}
