//! Translators for the modules that fetch, wait or install (`get_url`, `uri`, `wait_for`,
//! `unarchive`, `pip`):
//! kept apart from `modules.rs` so each module's Ansible semantics sit in one place.

use super::args::{truthy, unsupported, Args, Mapped, IGNORED_FILE_ARGS};
use crate::error::{Error, Result};

/// A recon resource of `kind` from the translated arguments.
fn resource(kind: &'static str, args: Args) -> Mapped {
    Mapped::Resource {
        kind,
        args: args.into_node(),
    }
}

/// Ansible's URL arguments recon does not model (proxies, agent string, ciphers, netrc):
/// dropped, as documented in the README.
const IGNORED_URL_ARGS: &[&str] = &[
    "http_agent",
    "use_proxy",
    "use_netrc",
    "ciphers",
    "decompress",
    "unredirected_headers",
    "ca_path",
    "use_gssapi",
    "force_basic_auth",
];

/// URL arguments recon cannot honour: credentials and client certificates would have to reach
/// the host's command line, where other accounts can read them.
const CREDENTIALS: &[&str] = &[
    "url_username",
    "url_password",
    "username",
    "password",
    "user",
    "client_cert",
    "client_key",
];

fn refuse_credentials(a: &mut Args, module: &str) -> Result<()> {
    for key in CREDENTIALS {
        unsupported(
            a,
            module,
            key,
            "put the credentials in the URL's host-side config (a netrc file is not read either)",
        )?;
    }
    Ok(())
}

/// `get_url` → recon `download` (`dest` → `path`).
pub(super) fn get_url(mut a: Args) -> Result<Mapped> {
    refuse_credentials(&mut a, "get_url")?;
    if let Some(backup) = a.take(&["backup"]).filter(truthy) {
        return Err(Error::invalid(
            "`get_url` argument `backup` is not supported by recon",
            &backup.span,
        )
        .with_label("here")
        .with_help("recon replaces the file atomically and keeps no backup"));
    }
    let force = a.take(&["force", "thirsty"]);
    a.ignore(IGNORED_FILE_ARGS);
    a.ignore(IGNORED_URL_ARGS);
    a.ignore(&["tmp_dest"]);
    if let Some(force) = force {
        a.put("force", force);
    }
    if let Some((checksum, node)) = a.text(&["checksum"]) {
        if !checksum.trim().is_empty() {
            a.put("checksum", node);
        }
    }
    if let Some((dest, node)) = a.text(&["dest"]) {
        if dest.ends_with('/') {
            return Err(Error::invalid(
                "`get_url` into a directory (`dest` ending in `/`) is not supported: the file name would come from the server",
                &node.span,
            )
            .with_label("a directory")
            .with_help("give the file's full path as `dest`"));
        }
        a.put("path", node);
    }
    Ok(resource("download", a))
}

/// `uri` → recon `wait_for` with `url`: one request (GET or HEAD) checked by the probe, so a
/// URL that answers as expected plans nothing, as Ansible reports `ok`.
pub(super) fn uri(mut a: Args) -> Result<Mapped> {
    refuse_credentials(&mut a, "uri")?;
    for (key, help) in [
        (
            "body",
            "a request with a body changes state: run it with `command` and a guard",
        ),
        (
            "src",
            "a request with a body changes state: run it with `command` and a guard",
        ),
        ("dest", "save a URL to a file with `get_url`"),
        ("unix_socket", "recon checks TCP URLs only"),
        ("creates", "guard a request with `command` and `creates`"),
        ("removes", "guard a request with `command` and `removes`"),
    ] {
        unsupported(&mut a, "uri", key, help)?;
    }
    if let Some((method, node)) = a.text(&["method"]) {
        let upper = method.to_ascii_uppercase();
        if upper != "GET" && upper != "HEAD" {
            return Err(Error::invalid(
                format!("`uri` with `method: {method}` changes state and recon cannot plan it"),
                &node.span,
            )
            .with_label("not GET or HEAD")
            .with_help("run the request with `command` (curl) and a `creates`/`unless` guard"));
        }
        a.put_str("method", &upper, &node.span);
    }
    if let Some(codes) = a.take(&["status_code"]) {
        a.put("status", codes);
    }
    if let Some((follow, node)) = a.text(&["follow_redirects"]) {
        let on = !matches!(follow.as_str(), "no" | "none" | "false" | "False");
        a.put_str(
            "follow_redirects",
            if on { "true" } else { "false" },
            &node.span,
        );
    }
    // Ansible's `timeout` is the request's: one attempt, no waiting beyond it.
    let span = a.span.clone();
    match a.take(&["timeout"]) {
        Some(t) => a.put("connect_timeout", t),
        None => a.put_str("connect_timeout", "30", &span),
    }
    a.put_str("timeout", "0", &span);
    a.ignore(IGNORED_URL_ARGS);
    a.ignore(&["return_content", "body_format", "force", "remote_src"]);
    Ok(resource("wait_for", a))
}

/// `wait_for` → recon `wait_for` (same argument names).
pub(super) fn wait_for(mut a: Args) -> Result<Mapped> {
    unsupported(
        &mut a,
        "wait_for",
        "exclude_hosts",
        "`drained` counts every active connection to the port",
    )?;
    unsupported(
        &mut a,
        "wait_for",
        "active_connection_states",
        "`drained` counts ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2 and TIME_WAIT",
    )?;
    if let Some(path) = a.take(&["path"]) {
        a.put("path", path);
    }
    Ok(resource("wait_for", a))
}

/// `unarchive` with `remote_src` → recon `unpack` (same argument names). An archive on the
/// control machine or at a URL is a located error: recon would have to copy or fetch it first.
pub(super) fn unarchive(mut a: Args) -> Result<Mapped> {
    let remote = a.take(&["remote_src"]).is_some_and(|n| truthy(&n));
    let copy_off = a.take(&["copy"]).is_some_and(|n| !truthy(&n));
    if let Some((src, node)) = a.text(&["src"]) {
        if !(remote || copy_off) || src.contains("://") {
            return Err(Error::invalid(
                "`unarchive` of an archive that is not on the host is not supported",
                &node.span,
            )
            .with_label("on the control machine or a URL")
            .with_help("fetch it with `get_url` (or `copy` it), then `unarchive` with `remote_src: yes`; a release folder is recon's `release`"));
        }
        a.put("src", node);
    }
    for key in ["owner", "group", "mode"] {
        unsupported(
            &mut a,
            "unarchive",
            key,
            "recon extracts as the task's account; set attributes with `file` afterwards",
        )?;
    }
    unsupported(&mut a, "unarchive", "keep_newer", "recon overwrites")?;
    if a.take(&["list_files"]).is_some_and(|n| truthy(&n)) {
        return Err(Error::invalid(
            "`unarchive` argument `list_files` is not supported by recon",
            &a.span,
        )
        .with_label("here"));
    }
    a.ignore(IGNORED_FILE_ARGS);
    a.ignore(&["validate_certs", "io_buffer_size", "decrypt"]);
    Ok(resource("unpack", a))
}

/// `pip` → recon `pip` (same argument names; `name: a,b` is a list, as in Ansible;
/// `break_system_packages` is pip's own flag).
pub(super) fn pip(mut a: Args) -> Result<Mapped> {
    if let Some((names, node)) = a.text(&["name"]) {
        if node.as_seq().is_some() {
            a.put("name", node);
        } else {
            let items: Vec<String> = names
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            a.put_list("name", &items, &node.span);
        }
    }
    if let Some(flag) = a.take(&["break_system_packages"]) {
        if truthy(&flag) {
            let extra = a.text(&["extra_args"]).map(|(t, _)| t).unwrap_or_default();
            a.put_str(
                "extra_args",
                &format!("{extra} --break-system-packages"),
                &flag.span,
            );
        }
    }
    unsupported(&mut a, "pip", "umask", "pip runs with the account's umask")?;
    Ok(resource("pip", a))
}
