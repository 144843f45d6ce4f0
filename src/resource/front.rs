//! The front both zero-downtime switches put a new backend behind (`cutover`, `docker_compose`
//! `swap:`): the upstream file an nginx site includes, the command that reloads the front and
//! confirms it loaded, the node-wide lock around that, the check a new backend passes on its
//! own port before it takes traffic, and how long the old one drains. One definition, so both
//! take the same arguments, with the same defaults and the same errors.

use super::http_check::HttpCheck;
use crate::error::{Error, Result};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::yaml::Node;

/// The front's arguments, as both switches spell them.
/// The front's arguments, shared by `cutover` and `docker_compose`'s `swap` entries.
pub(super) const ARGS: &[Arg] = &[
    Arg::path("upstream")
        .required()
        .doc("the file the site's nginx `upstream` block includes"),
    Arg::str("reload")
        .required()
        .doc("the front's confirmed reload command"),
    Arg::str("serialize").doc("a lock name: switches under one lock run one at a time"),
    Arg::map("check")
        .default_note("required in `cutover`")
        .doc("`{ path, status, contains, identity, timeout }` the new backend must answer"),
    Arg::int("drain")
        .default("2")
        .doc("seconds the old backend keeps serving after the switch"),
];

/// What a new backend must answer on its own port before it takes traffic.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) contains: Option<String>,
    pub(crate) identity: Option<String>,
    pub(crate) timeout: u32,
}

impl Default for Check {
    /// A 200 on `/` within 30 s: what a swap checks when its entry names no check.
    fn default() -> Self {
        Check {
            path: "/".to_owned(),
            status: 200,
            contains: None,
            identity: None,
            timeout: 30,
        }
    }
}

/// The front of one switch.
#[derive(Debug, Clone)]
pub(crate) struct Front {
    pub(crate) upstream: String,
    pub(crate) reload: String,
    pub(crate) serialize: Option<String>,
    pub(crate) check: Check,
    pub(crate) drain: u32,
}

impl Front {
    /// Reads the front's arguments from `f`; `check` may be left out only when `check_required`
    /// is false (then `Check::default()`).
    pub(super) fn parse(f: &Fields<'_>, check_required: bool) -> Result<Front> {
        let check = match f.get("check") {
            Some(node) => parse_check(node)?,
            None if check_required => parse_check(f.require("check")?)?,
            None => Check::default(),
        };
        Ok(Front {
            upstream: super::args::checked_path(
                &f.required_string("upstream")?,
                f.require("upstream")?,
            )?,
            reload: f.required_string("reload")?,
            serialize: f.string("serialize")?,
            check,
            drain: number(f, "drain", 2, "a number of seconds")?,
        })
    }

    /// The check as an `http_check` aimed at `url` (empty: the script sets `$_url` itself),
    /// marking `release` under `root`'s `link` when it fails (a cutover's release).
    pub(super) fn gate(&self, url: String, release: Option<(String, String)>) -> HttpCheck {
        let (release, link) =
            release.map_or((None, String::new()), |(root, link)| (Some(root), link));
        HttpCheck {
            url,
            host: None,
            status: self.check.status,
            contains: self.check.contains.clone(),
            timeout: self.check.timeout,
            release,
            link,
            restart: None,
            identity: self.check.identity.clone(),
            direct: None,
        }
    }
}

/// A number argument with a default; `what` names what it must be in the error.
pub(super) fn number<T: std::str::FromStr>(
    f: &Fields<'_>,
    key: &str,
    default: T,
    what: &str,
) -> Result<T> {
    match (f.string(key)?, f.get(key)) {
        (Some(text), Some(node)) => text
            .parse()
            .map_err(|_| Error::invalid(format!("`{key}` must be {what}"), &node.span)),
        _ => Ok(default),
    }
}

/// The arguments of a front's `check`.
pub(super) const CHECK: Groups = &[&[
    Arg::str("path")
        .default("/")
        .doc("what is asked of the new backend (starts with `/`)"),
    Arg::int("status").default("200").doc("the status expected"),
    Arg::str("contains").doc("text the body must contain"),
    Arg::str("identity").doc("text only this app's answers carry"),
    Arg::int("timeout")
        .default("30")
        .doc("seconds the check keeps trying"),
]];

/// A `check: { path, status, contains, identity, timeout }` mapping.
fn parse_check(check_node: &Node) -> Result<Check> {
    let c = Fields::declared(check_node, "`check`", CHECK)?;
    let path = c.text("path")?;
    if !path.starts_with('/') {
        return Err(Error::invalid(
            format!("`path` must start with `/`, not `{path}`"),
            &check_node.span,
        ));
    }
    Ok(Check {
        path,
        status: u16::try_from(c.whole("status")?).unwrap_or(200),
        contains: c.string("contains")?.filter(|s| !s.is_empty()),
        identity: c.string("identity")?.filter(|s| !s.is_empty()),
        timeout: u32::try_from(c.whole("timeout")?).unwrap_or(u32::MAX),
    })
}
