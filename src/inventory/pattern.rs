//! Host patterns, as in Ansible: `all`, a group, a host, globs, `a:b` (union), `a:&b`
//! (intersection), `a:!b` (exclusion); `,` separates like `:`. A term that matches nothing and
//! is exactly `localhost`, `127.0.0.1` or `::1` selects the implicit localhost.

use super::Inventory;
use crate::error::{Error, ErrorKind, Result};
use crate::glob::glob;

/// The hosts matching `pattern`, in inventory order. A term that matches nothing is an error, so a
/// typo in `--limit` never silently deploys to nobody (or everybody).
pub(crate) fn select<'a>(inventory: &'a Inventory, pattern: &str) -> Result<Vec<&'a str>> {
    select_with(inventory, pattern, None)
}

/// A play's `hosts:` as Ansible reads it: a term that matches nothing is ignored (Ansible warns
/// "Could not match supplied host pattern, ignoring" and a play left without hosts is skipped);
/// the second value lists those terms, for the warning.
pub(crate) fn select_play<'a>(
    inventory: &'a Inventory,
    pattern: &str,
) -> Result<(Vec<&'a str>, Vec<String>)> {
    let mut unmatched = Vec::new();
    let hosts = select_with(inventory, pattern, Some(&mut unmatched))?;
    Ok((hosts, unmatched))
}

/// `select`; with `unmatched`, terms that match nothing are collected there instead of failing.
fn select_with<'a>(
    inventory: &'a Inventory,
    pattern: &str,
    mut unmatched: Option<&mut Vec<String>>,
) -> Result<Vec<&'a str>> {
    let candidates: Vec<&str> = inventory
        .hosts
        .iter()
        .chain(&inventory.implicit)
        .map(|h| h.name.as_str())
        .collect();
    let mut selected: Vec<bool> = vec![false; candidates.len()];
    let mut first = true;
    for term in pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let (op, name) = match term.as_bytes()[0] {
            b'&' => ('&', &term[1..]),
            b'!' => ('!', &term[1..]),
            _ => ('|', term),
        };
        let mut matched = matches(inventory, name);
        if !matched.iter().any(|m| *m) {
            // Ansible creates the implicit localhost only for a term nothing else matched.
            matched.extend(inventory.implicit.iter().map(|h| h.name == name));
        }
        matched.resize(candidates.len(), false);
        if let Some(list) = unmatched
            .as_deref_mut()
            .filter(|_| !matched.iter().any(|m| *m))
        {
            list.push(name.to_owned());
        } else if !matched.iter().any(|m| *m) {
            return Err(Error::new(ErrorKind::NoHostsMatched {
                pattern: name.to_owned(),
            })
            .suggest(
                name,
                inventory
                    .groups
                    .keys()
                    .map(String::as_str)
                    .chain(inventory.hosts.iter().map(|h| h.name.as_str())),
            ));
        }
        for (sel, m) in selected.iter_mut().zip(matched) {
            *sel = match op {
                '&' => *sel && m,
                '!' => *sel && !m,
                _ => *sel || m,
            };
        }
        if first && op != '|' {
            return Err(Error::usage(format!(
                "host pattern `{pattern}` must start with a group or host, not `{op}`"
            )));
        }
        first = false;
    }
    Ok(candidates
        .into_iter()
        .zip(selected)
        .filter(|(_, s)| *s)
        .map(|(h, _)| h)
        .collect())
}

fn matches(inventory: &Inventory, name: &str) -> Vec<bool> {
    inventory
        .hosts
        .iter()
        .map(|h| {
            name == "all"
                || name == "*"
                || glob(name, &h.name)
                || h.groups.iter().any(|g| glob(name, g))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Group, Host};

    fn inventory() -> Inventory {
        let host = |name: &str, groups: &[&str]| Host {
            name: name.into(),
            vars: std::collections::BTreeMap::default(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        };
        let mut inv = Inventory {
            hosts: std::sync::Arc::new(vec![
                host("web1", &["all", "web"]),
                host("web2", &["all", "web", "eu"]),
                host("db1", &["all", "db", "eu"]),
            ]),
            ..Default::default()
        };
        for g in ["all", "web", "db", "eu"] {
            inv.groups.insert(g.into(), Group::default());
        }
        inv
    }

    #[test]
    fn patterns_follow_ansible_semantics() {
        let inv = inventory();
        let sel = |p: &str| select(&inv, p).expect("pattern").join(" ");
        assert_eq!(sel("all"), "web1 web2 db1");
        assert_eq!(sel("web"), "web1 web2");
        assert_eq!(sel("web:db"), "web1 web2 db1");
        assert_eq!(sel("web:&eu"), "web2");
        assert_eq!(sel("all:!eu"), "web1");
        assert_eq!(sel("web*"), "web1 web2");
        assert_eq!(sel("db1,web1"), "web1 db1");
    }

    #[test]
    fn implicit_localhost_matches_only_its_own_name() {
        let mut inv = inventory();
        inv.implicit = vec![Host {
            name: "localhost".into(),
            vars: std::collections::BTreeMap::default(),
            groups: Vec::new(),
        }];
        let sel = |p: &str| select(&inv, p).expect("pattern").join(" ");
        assert_eq!(sel("localhost"), "localhost");
        assert_eq!(sel("web:localhost"), "web1 web2 localhost");
        assert_eq!(sel("all"), "web1 web2 db1");
        assert!(select(&inv, "local*").is_err());
    }

    #[test]
    fn a_term_matching_nothing_is_an_error_with_a_suggestion() {
        let inv = inventory();
        let err = select(&inv, "wbe").expect_err("no match");
        assert_eq!(err.to_string(), "no hosts match `wbe`");
        assert_eq!(err.help.as_deref(), Some("did you mean `web`?"));
    }

    #[test]
    fn a_play_pattern_ignores_terms_matching_nothing_as_ansible_does() {
        let inv = inventory();
        let (hosts, unmatched) = select_play(&inv, "web:wbe:&eu").expect("lenient");
        assert_eq!((hosts, unmatched), (vec!["web2"], vec!["wbe".to_owned()]));
        let (hosts, unmatched) = select_play(&inv, "nomatch").expect("lenient");
        assert!(hosts.is_empty());
        assert_eq!(unmatched, ["nomatch"]);
    }
}
