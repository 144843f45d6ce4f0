//! What a compose service is given, in one vocabulary for both sides of a plan: the new side
//! from `compose config` (YAML), the old side from `docker inspect` of the running container
//! (JSON). "Recreate: its configuration changed" hides what matters to the host's owner; the
//! plan shows the image, the command, the environment's NAMES (never values), ports, bind
//! mounts, devices, the user, privileged mode, the pid/network/ipc namespaces and added
//! capabilities, and flags the grants that equal root on the host.

use serde_json::Value as Json;

use crate::yaml::Node;

/// One service's grant-relevant configuration, normalized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Grants {
    pub(crate) image: String,
    /// `None` when the compose file leaves it to the image (not compared then).
    pub(crate) command: Option<Vec<String>>,
    pub(crate) env: Vec<String>,
    /// `HOST_PORT:PORT/PROTO`, sorted.
    pub(crate) ports: Vec<String>,
    /// Bind mounts `SOURCE:TARGET`, sorted.
    pub(crate) binds: Vec<String>,
    pub(crate) privileged: bool,
    /// `host` (or another container's) when shared, empty for the default.
    pub(crate) pid: String,
    pub(crate) network: String,
    pub(crate) ipc: String,
    /// Capability names without `CAP_`, upper case, sorted.
    pub(crate) cap_add: Vec<String>,
    /// `HOST:CONTAINER`, sorted.
    pub(crate) devices: Vec<String>,
    pub(crate) user: String,
}

/// A namespace mode as the plan compares it: shared ones kept, private/default ones empty.
fn mode(text: &str) -> String {
    let t = text.trim();
    if t == "host" || t.starts_with("container:") || t.starts_with("service:") || t == "none" {
        t.to_owned()
    } else {
        String::new()
    }
}

fn cap(text: &str) -> String {
    text.trim().trim_start_matches("CAP_").to_uppercase()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

fn scalars(node: Option<&Node>) -> Vec<String> {
    node.and_then(Node::as_seq)
        .map(|items| {
            items
                .iter()
                .filter_map(|n| n.scalar_text().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `HOST:CONTAINER` of a short volume or device syntax (`/a:/b:ro`), or `None` for a named
/// volume or an anonymous one.
fn bind_of(short: &str) -> Option<String> {
    let mut parts = short.splitn(3, ':');
    let (source, target) = (parts.next()?, parts.next()?);
    (source.starts_with('/') || source.starts_with('.') || source.starts_with('~'))
        .then(|| format!("{source}:{target}"))
}

/// The grants of service node `service` of `compose config`'s output.
pub(crate) fn from_config(service: &Node) -> Grants {
    let text = |key: &str| {
        service
            .get(key)
            .and_then(Node::scalar_text)
            .unwrap_or_default()
            .to_owned()
    };
    let command = service.get("command").map(|c| match c.scalar_text() {
        Some(line) => line.split_whitespace().map(str::to_owned).collect(),
        None => scalars(Some(c)),
    });
    let env = match service.get("environment") {
        Some(node) => match node.as_map() {
            Some(entries) => entries.iter().map(|(k, _)| k.key().to_owned()).collect(),
            None => scalars(Some(node))
                .into_iter()
                .map(|e| e.split('=').next().unwrap_or_default().to_owned())
                .collect(),
        },
        None => Vec::new(),
    };
    let ports = service
        .get("ports")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            if let Some(short) = p.scalar_text() {
                return Some(short.to_owned());
            }
            let get = |k: &str| p.get(k).and_then(Node::scalar_text).unwrap_or_default();
            let published = get("published");
            (!published.is_empty()).then(|| {
                let proto = Some(get("protocol"))
                    .filter(|s| !s.is_empty())
                    .unwrap_or("tcp");
                format!("{published}:{}/{proto}", get("target"))
            })
        })
        .collect();
    let binds = service
        .get("volumes")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| {
            if let Some(short) = v.scalar_text() {
                return bind_of(short);
            }
            let get = |k: &str| v.get(k).and_then(Node::scalar_text).unwrap_or_default();
            (get("type") == "bind").then(|| format!("{}:{}", get("source"), get("target")))
        })
        .collect();
    Grants {
        image: text("image"),
        command,
        env: sorted(env),
        ports: sorted(ports),
        binds: sorted(binds),
        privileged: text("privileged") == "true",
        pid: mode(&text("pid")),
        network: mode(&text("network_mode")),
        ipc: mode(&text("ipc")),
        cap_add: sorted(
            scalars(service.get("cap_add"))
                .iter()
                .map(|c| cap(c))
                .collect(),
        ),
        devices: sorted(
            scalars(service.get("devices"))
                .iter()
                .filter_map(|d| bind_of(d))
                .collect(),
        ),
        user: text("user"),
    }
}

/// The grants of a container from `docker inspect`'s JSON object.
pub(crate) fn from_inspect(c: &Json) -> Grants {
    let config = &c["Config"];
    let host = &c["HostConfig"];
    let strings = |v: &Json| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let text = |v: &Json| v.as_str().unwrap_or_default().to_owned();
    let mut ports = Vec::new();
    if let Some(bindings) = host["PortBindings"].as_object() {
        for (port, list) in bindings {
            for b in list.as_array().map(Vec::as_slice).unwrap_or_default() {
                ports.push(format!("{}:{port}", text(&b["HostPort"])));
            }
        }
    }
    let binds = c["Mounts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| m["Type"] == "bind")
        .map(|m| format!("{}:{}", text(&m["Source"]), text(&m["Destination"])))
        .collect();
    let devices = host["Devices"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|d| format!("{}:{}", text(&d["PathOnHost"]), text(&d["PathInContainer"])))
        .collect();
    Grants {
        image: text(&config["Image"]),
        command: Some(strings(&config["Cmd"])),
        env: sorted(
            strings(&config["Env"])
                .iter()
                .map(|e| e.split('=').next().unwrap_or_default().to_owned())
                .collect(),
        ),
        ports: sorted(ports),
        binds: sorted(binds),
        privileged: host["Privileged"].as_bool().unwrap_or(false),
        pid: mode(&text(&host["PidMode"])),
        network: mode(&text(&host["NetworkMode"])),
        ipc: mode(&text(&host["IpcMode"])),
        cap_add: sorted(strings(&host["CapAdd"]).iter().map(|c| cap(c)).collect()),
        devices: sorted(devices),
        user: text(&config["User"]),
    }
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".to_owned()
    } else {
        v.join(", ")
    }
}

fn flag(on: bool) -> String {
    if on { "true" } else { "false" }.to_owned()
}

fn or_default(text: &str) -> String {
    if text.is_empty() {
        "(default)".to_owned()
    } else {
        text.to_owned()
    }
}

/// `(name, value)` of every attribute the plan shows, in a fixed order.
fn shown(g: &Grants) -> Vec<(&'static str, String)> {
    let mut out = vec![("image", g.image.clone())];
    if let Some(command) = &g.command {
        out.push(("command", list(command)));
    }
    out.extend([
        ("env names", list(&g.env)),
        ("ports", list(&g.ports)),
        ("bind mounts", list(&g.binds)),
        ("privileged", flag(g.privileged)),
        ("pid", or_default(&g.pid)),
        ("network_mode", or_default(&g.network)),
        ("ipc", or_default(&g.ipc)),
        ("cap_add", list(&g.cap_add)),
        ("devices", list(&g.devices)),
        ("user", or_default(&g.user)),
    ]);
    out
}

/// What differs between the container and the new configuration: `(name, before, after)`.
/// The command is compared only when the compose file sets it; environment names only for
/// names the compose file adds (the image brings its own, `PATH` and the like).
pub(crate) fn diff(old: &Grants, new: &Grants) -> Vec<(&'static str, String, String)> {
    let mut old = old.clone();
    if new.command.is_none() {
        old.command = None;
    }
    let added: Vec<String> = new
        .env
        .iter()
        .filter(|e| !old.env.contains(e))
        .cloned()
        .collect();
    let mut out: Vec<(&'static str, String, String)> = shown(&old)
        .into_iter()
        .zip(shown(new))
        .filter(|((name, before), (_, after))| *name != "env names" && before != after)
        .map(|((name, before), (_, after))| (name, before, after))
        .collect();
    if !added.is_empty() {
        out.push((
            "env names",
            "-".to_owned(),
            format!("+ {}", added.join(", ")),
        ));
    }
    out
}

/// What a new container is given, beyond the defaults: `(name, value)`.
pub(crate) fn summary(new: &Grants) -> Vec<(&'static str, String)> {
    shown(new)
        .into_iter()
        .filter(|(name, value)| {
            *name == "image" || !(value == "(none)" || value == "(default)" || value == "false")
        })
        .collect()
}

/// The grants that make the container root on the host, in words.
pub(crate) fn root_equivalent(g: &Grants) -> Vec<String> {
    let mut out = Vec::new();
    for bind in &g.binds {
        let source = bind.split(':').next().unwrap_or_default();
        let source = source.trim_end_matches('/');
        if source.is_empty() {
            out.push(format!("bind mount of `/` ({bind})"));
        } else if source.ends_with("/docker.sock") {
            out.push(format!("bind mount of the docker socket ({bind})"));
        }
    }
    if g.privileged {
        out.push("privileged".to_owned());
    }
    if g.pid == "host" {
        out.push("pid: host".to_owned());
    }
    if g.network == "host" {
        out.push("network_mode: host".to_owned());
    }
    for c in &g.cap_add {
        if c == "SYS_ADMIN" || c == "ALL" {
            out.push(format!("cap_add {c}"));
        }
    }
    if !g.devices.is_empty() {
        out.push(format!("devices {}", g.devices.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Grants {
        let root =
            crate::yaml::parse_text(std::path::Path::new("c.yml"), text.to_owned()).expect("yaml");
        from_config(
            root.get("services")
                .and_then(|s| s.get("web"))
                .expect("web"),
        )
    }

    #[test]
    fn grants_from_compose_and_inspect_compare_and_root_grants_are_flagged() {
        let new = config(
            "services:\n  web:\n    image: busybox\n    privileged: true\n    pid: host\n    network_mode: host\n    cap_add: [SYS_ADMIN]\n    devices: ['/dev/sda:/dev/sda']\n    volumes:\n    - /:/host:rw\n    - type: bind\n      source: /var/run/docker.sock\n      target: /var/run/docker.sock\n    - data:/data\n    environment:\n      TOKEN: s3cret\n",
        );
        assert_eq!(
            new.binds,
            ["/:/host", "/var/run/docker.sock:/var/run/docker.sock"]
        );
        let flagged = root_equivalent(&new);
        assert_eq!(flagged.len(), 7, "{flagged:?}");
        let old = from_inspect(&serde_json::json!({
            "Config": { "Image": "busybox", "Cmd": ["sh"], "Env": ["PATH=/bin"], "User": "" },
            "HostConfig": { "Privileged": false, "PidMode": "", "NetworkMode": "p_default",
                            "IpcMode": "private", "CapAdd": null, "Devices": [] },
            "Mounts": [{ "Type": "volume", "Name": "p_data", "Destination": "/data" }]
        }));
        assert!(root_equivalent(&old).is_empty());
        let changes = diff(&old, &new);
        let names: Vec<&str> = changes.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(
            names,
            [
                "bind mounts",
                "privileged",
                "pid",
                "network_mode",
                "cap_add",
                "devices",
                "env names"
            ]
        );
        assert!(
            !format!("{changes:?}").contains("s3cret"),
            "values never shown"
        );
        assert!(diff(&old, &old).is_empty());
    }
}
