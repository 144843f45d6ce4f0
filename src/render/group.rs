//! Which hosts' plans are "the same change": with 32 squads a plan is 32 copies of one change
//! that differ only in each squad's name, port and domain, and the one squad that differs is lost
//! in them. Two hosts' changes are the same when their rendered changes are byte-identical after
//! each host's *own values* are replaced by a placeholder naming them:
//!
//! - the host's inventory name, as `{inventory_hostname}`;
//! - the value of each of the host's inventory variables (host entry, `host_vars`, and the
//!   groups' `vars` it inherits) that not every host shares, as `{variable}`, longest first;
//!
//! each only where it stands as a whole word (not inside a longer name), and only values of at
//! least three characters (a `1` or `on` would match too much). The size of a content that has a
//! diff is shown as `{size}` (it follows from the diff). A value no variable holds, like a mode or
//! a line of a template, is never replaced: hosts that differ in it are shown apart. A plan saved
//! with `plan -o` carries no inventory: there only the host name is replaced.

use std::collections::BTreeMap;

use crate::inventory::Inventory;
use crate::template::Var;
use crate::yaml::Value;

/// Per host, its own values and the placeholder shown in their place, longest value first.
#[derive(Debug, Default)]
pub(crate) struct OwnValues {
    hosts: BTreeMap<String, Vec<(String, String)>>,
}

impl OwnValues {
    /// The own values of every inventory host (see the module comment).
    pub(crate) fn from_inventory(inventory: &Inventory) -> Self {
        let value_of =
            |host: &crate::inventory::Host, name: &str| host.vars.get(name).and_then(scalar);
        // A variable every host has with one value is nobody's own: it stays as it is. Found
        // in one pass over the hosts (asked per host and variable, it was quadratic).
        let mut common: BTreeMap<&str, Option<String>> = BTreeMap::new();
        for (i, host) in inventory.hosts.iter().enumerate() {
            if i == 0 {
                common = host
                    .vars
                    .keys()
                    .map(|name| (name.as_str(), value_of(host, name)))
                    .collect();
                continue;
            }
            for (name, value) in &mut common {
                if value.is_some() && value_of(host, name) != *value {
                    *value = None;
                }
            }
        }
        let shared = |name: &str, value: &str| {
            common
                .get(name)
                .is_some_and(|v| v.as_deref() == Some(value))
        };
        let hosts = inventory
            .hosts
            .iter()
            .map(|host| {
                let mut values: Vec<(String, String)> = host
                    .vars
                    .keys()
                    .filter_map(|name| Some((value_of(host, name)?, name)))
                    .filter(|(value, name)| value.chars().count() >= 3 && !shared(name, value))
                    .map(|(value, name)| (value, format!("{{{name}}}")))
                    .collect();
                values.push((host.name.clone(), "{inventory_hostname}".to_owned()));
                values.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.1.cmp(&b.1)));
                (host.name.clone(), values)
            })
            .collect();
        Self { hosts }
    }

    /// `text` with `host`'s own values replaced by their placeholders, longest value first (a
    /// path that contains the host name becomes `{root}`, not `/srv/{inventory_hostname}`).
    /// Hosts not in the inventory (a saved plan) have only their name replaced.
    pub(crate) fn generalize(&self, host: &str, text: &str) -> String {
        match self.hosts.get(host) {
            Some(values) => values
                .iter()
                .fold(text.to_owned(), |out, (value, placeholder)| {
                    replace_words(&out, value, placeholder)
                }),
            None => replace_words(text, host, "{inventory_hostname}"),
        }
    }
}

/// A variable's text when it is a plain scalar (templated values are not known before rendering).
fn scalar(var: &Var) -> Option<String> {
    match var {
        Var::Raw(node) => match &node.value {
            Value::Scalar { text, .. } if !text.contains("{{") && !text.contains("{%") => {
                Some(text.clone())
            }
            _ => None,
        },
        Var::Ready(value) => value
            .as_str()
            .map(str::to_owned)
            .or_else(|| value.is_number().then(|| value.to_string())),
    }
}

/// Replaces whole-word occurrences of `word` (not preceded or followed by a letter, digit or `_`).
fn replace_words(text: &str, word: &str, with: &str) -> String {
    if word.is_empty() {
        return text.to_owned();
    }
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (i, _) in text.match_indices(word) {
        if i < rest {
            continue;
        }
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let starts_word = word.starts_with(|c: char| !is_ident(c)) || !before.is_some_and(is_ident);
        let ends_word = word.ends_with(|c: char| !is_ident(c)) || !after.is_some_and(is_ident);
        if starts_word && ends_word {
            out.push_str(&text[rest..i]);
            out.push_str(with);
            rest = i + word.len();
        }
    }
    out.push_str(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_only() {
        assert_eq!(
            replace_words(
                "digicam-alpha alphabet squad_alpha alpha.test",
                "alpha",
                "{h}"
            ),
            "digicam-{h} alphabet squad_alpha {h}.test"
        );
        assert_eq!(
            replace_words("/home/squad_alpha/x", "/home/squad_alpha", "{home}"),
            "{home}/x"
        );
        assert_eq!(
            replace_words("port 91011 9101", "9101", "{p}"),
            "port 91011 {p}"
        );
    }
}
