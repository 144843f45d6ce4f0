//! Task lists and variable maps as written: shared by plays (parse.rs) and roles (role.rs).

use super::{TaskSpec, TASK_KEYWORDS};
use crate::error::{Error, ErrorKind, Result};
use crate::fields::{wrong_type, Fields};
use crate::resource::{is_kind, KINDS};
use crate::yaml::Node;

pub(super) fn variables(node: Option<&Node>) -> Result<Vec<(String, Node)>> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    if node.is_null() {
        return Ok(Vec::new());
    }
    let entries = node
        .as_map()
        .ok_or_else(|| wrong_type(node, "a mapping of variables", "variables"))?;
    Ok(entries
        .iter()
        .map(|(k, v)| (k.key().to_owned(), v.clone()))
        .collect())
}

pub(super) fn task_list(node: Option<&Node>, context: &str) -> Result<Vec<TaskSpec>> {
    let Some(node) = node.filter(|n| !n.is_null()) else {
        return Ok(Vec::new());
    };
    let items = node
        .as_seq()
        .ok_or_else(|| wrong_type(node, "a list of tasks", context))?;
    items.iter().map(parse_task).collect()
}

fn parse_task(node: &Node) -> Result<TaskSpec> {
    let entries = node
        .as_map()
        .ok_or_else(|| wrong_type(node, "a mapping", "a task"))?;
    let mut resources = Vec::new();
    for (key, _) in entries {
        let k = key.key();
        if TASK_KEYWORDS.contains(&k) {
            continue;
        }
        if is_kind(k) {
            resources.push(key);
        } else {
            let candidates = KINDS
                .iter()
                .map(|kind| kind.name)
                .chain(TASK_KEYWORDS.iter().copied());
            return Err(
                Error::at(ErrorKind::UnknownResource { name: k.to_owned() }, &key.span)
                    .with_label("not a resource type or task keyword")
                    .suggest(k, candidates),
            );
        }
    }
    let kind_key = match resources.as_slice() {
        [one] => *one,
        [] => {
            let kinds: Vec<String> = KINDS.iter().map(|k| format!("`{}`", k.name)).collect();
            return Err(Error::at(
                ErrorKind::NoResource {
                    kinds: kinds.join(", "),
                },
                &node.span,
            )
            .with_label("this task"));
        }
        [_, second, ..] => {
            let names = resources.iter().map(|k| k.key().to_owned()).collect();
            return Err(
                Error::at(ErrorKind::SeveralResources { names }, &second.span)
                    .with_label("second resource"),
            );
        }
    };
    let allowed: Vec<&str> = TASK_KEYWORDS
        .iter()
        .copied()
        .chain([kind_key.key()])
        .collect();
    let f = Fields::new(node, "a task", &allowed)?;
    let args = node
        .get(kind_key.key())
        .cloned()
        .unwrap_or_else(|| Node::string(String::new(), kind_key.span.clone()));
    Ok(TaskSpec {
        name: f.get("name").cloned(),
        kind: kind_key.key().to_owned(),
        args,
        notify: f
            .string_list("notify")?
            .into_iter()
            .map(|(s, n)| (s, n.span.clone()))
            .collect(),
        listen: f
            .string_list("listen")?
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
        when: f.get("when").cloned(),
        loop_items: f.get("loop").cloned(),
        tags: f.string_list("tags")?.into_iter().map(|(s, _)| s).collect(),
        claims: f.mapping("claims")?.cloned(),
        after: f
            .string_list("after")?
            .into_iter()
            .map(|(s, n)| (s, n.span.clone()))
            .collect(),
        vars: variables(f.mapping("vars")?)?,
        become_: f.boolean("become")?,
        sensitive: f.boolean("no_log")?.unwrap_or(false)
            || f.boolean("sensitive")?.unwrap_or(false),
        span: node.span.clone(),
    })
}
