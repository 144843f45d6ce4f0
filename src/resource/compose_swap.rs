//! The container swap of a `docker_compose` service behind nginx (`swap:`), in Kamal's order: the
//! changed service's new container starts beside the old one (`up --no-deps --no-recreate
//! --scale SERVICE=N+1`), is checked on its own published port until healthy, the upstream file
//! the nginx site includes is written to point at it and the front reloaded (the reload command
//! confirms it), the old container drains, then stops and is removed. A new container that
//! fails its check is removed before it takes traffic; the old one keeps serving.
//!
//! Why a published ephemeral port (`ports: ["127.0.0.1::PORT"]`) and not the container's IP on
//! its network: the port is reachable from the host whatever the engine's networking (rootless
//! engines and Docker Desktop do not route bridge IPs to the host), and two containers of one
//! service each get their own, which is exactly what a swap needs.

use super::front::{self, number, Front};
use super::http_check::HttpCheck;
use super::Problem;
use crate::error::{Error, Result};
use crate::fields::arg::{Arg, Groups};
use crate::fields::Fields;
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// One swapped service: its container port, the front's upstream file and how to reload it.
#[derive(Debug, Clone)]
pub(crate) struct Swap {
    pub(crate) service: String,
    /// The port the service listens on inside its container (published on an ephemeral port).
    pub(crate) port: u16,
    pub(crate) front: Front,
}

/// A swap entry's arguments: its own, then the front's.
pub(super) const ARGS: Groups = &[
    &[
        Arg::str("service").required().doc("the compose service"),
        Arg::int("port")
            .required()
            .doc("the port it listens on in its container"),
    ],
    front::ARGS,
];

/// Builds the `swap` list (absent: no service is swapped).
pub(super) fn build(node: Option<&Node>) -> Result<Vec<Swap>> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let Some(items) = node.as_seq() else {
        return Err(Error::invalid(
            "`swap` must be a list of `{ service, port, upstream, reload, serialize, check, drain }`",
            &node.span,
        ));
    };
    let mut swaps: Vec<Swap> = Vec::new();
    for item in items {
        let swap = one(item)?;
        if swaps.iter().any(|s| s.service == swap.service) {
            return Err(Error::invalid(
                format!("service `{}` is listed twice in `swap`", swap.service),
                &item.span,
            ));
        }
        swaps.push(swap);
    }
    Ok(swaps)
}

/// One `swap` entry.
fn one(node: &Node) -> Result<Swap> {
    let f = Fields::declared(node, "a `swap` entry", ARGS)?;
    let service = f.required_string("service")?;
    let port: u16 = number(&f, "port", 0, "a TCP port")?;
    if port == 0 {
        return Err(Error::invalid(
            "`port` (the port the service listens on in its container) must be a TCP port",
            &f.require("port")?.span,
        ));
    }
    Ok(Swap {
        service,
        port,
        front: Front::parse(&f, false)?,
    })
}

/// The upstream file's exact bytes when the service's container publishes on `addr`.
pub(crate) fn upstream_text(service: &str, addr: &str) -> String {
    format!("# Managed by recon (docker_compose swap): service {service}\nserver {addr};\n")
}

/// `_ids`: the running containers of service `$_s` in project `$_p`, one id a line.
/// `_addr ID PORT`: where the host reaches a container's published `PORT` (`0.0.0.0` read as
/// loopback), empty when it is not published.
pub(crate) const FUNCTIONS: &str = "_ids() { docker ps -q --no-trunc --filter \"label=com.docker.compose.project=$_p\" --filter \"label=com.docker.compose.service=$_s\" --filter label=com.docker.compose.oneoff=False --filter status=running; }\n\
_addr() { docker port \"$1\" \"$2\" 2>/dev/null | head -n 1 | sed 's/^0\\.0\\.0\\.0:/127.0.0.1:/'; }\n";

impl Swap {
    /// The probe's lines: `swapaddr SERVICE ADDR` for each running container of the service.
    pub(crate) fn probe(&self, s: &mut Script) {
        s.fill(
            "_s={}\nfor _c in $(_ids); do printf 'swapaddr %s %s\\n' \"$_s\" \"$(_addr \"$_c\" {})\"; done\n",
            [w(&self.service), n(self.port)],
        );
    }

    /// For a service `up` leaves alone: whether its upstream file points elsewhere than its one
    /// running container (`(before, after)` plan texts), or a problem when it cannot be told.
    pub(crate) fn drift(
        &self,
        addrs: Option<&Vec<String>>,
        content: &str,
    ) -> Result<Option<(String, String)>, Problem> {
        let addrs = addrs.map(Vec::as_slice).unwrap_or_default();
        let [addr] = addrs else {
            if addrs.is_empty() {
                return Err(Problem::new(format!(
                    "service `{}` is swapped but runs no container publishing port {} on the host (`ports: [\"127.0.0.1::{}\"]`)",
                    self.service, self.port, self.port
                )));
            }
            return Err(Problem::new(format!(
                "service `{}` runs {} containers (an interrupted swap?): remove the one nginx does not route to",
                self.service,
                addrs.len()
            )));
        };
        if content == upstream_text(&self.service, addr) {
            return Ok(None);
        }
        let before = content
            .lines()
            .find_map(|l| l.strip_prefix("server "))
            .unwrap_or("none")
            .trim_end_matches(';');
        Ok(Some((
            format!(
                "{} upstream {}: {before}",
                self.service, self.front.upstream
            ),
            format!("{addr} (nginx reloaded)"),
        )))
    }

    /// The plan text of a swapped recreate.
    pub(crate) fn describe(&self) -> String {
        format!(
            "swap: new container checked on its own port, then nginx switches; old drains {}s",
            self.front.drain
        )
    }

    /// The check aimed at the new container (`$_url` is set in the script, from its address).
    fn gate(&self) -> HttpCheck {
        self.front.gate(String::new(), None)
    }

    /// A subshell (so the lock is held only while it runs) that writes the upstream file to
    /// `$_addr` and reloads the front under the lock; on a reload that fails, the previous file
    /// comes back (`$_prev`) and the subshell fails.
    fn switch(&self, s: &mut Script) {
        s.code("(\n");
        if let Some(lock) = &self.front.serialize {
            s.fill("_serialize {} || exit 1\n", [p(lock)]);
        }
        s.fill(
            "_prev=$(cat -- {} 2>/dev/null) || _prev=\n_raw=1\n",
            [p(&self.front.upstream)],
        )
        .fill(
            "printf '# Managed by recon (docker_compose swap): service %s\\nserver %s;\\n' {} \"$_addr\" | _put {} 0644 - - || exit 1\n",
            [w(&self.service), p(&self.front.upstream)],
        )
        .code("if ! ")
        .user_command(&self.front.reload)
        .fill(
            " </dev/null; then\n  [ -n \"$_prev\" ] && printf '%s\\n' \"$_prev\" | _put {} 0644 - -\n  echo \"the front did not load the switch to $_addr\"; exit 1\nfi\n)",
            [p(&self.front.upstream)],
        );
    }

    /// The swap of a changed service. With `always` false it runs only when the running
    /// container's config hash differs from the project's (its compose file changed earlier in
    /// this plan, so the plan could not tell).
    pub(crate) fn script(&self, always: bool, s: &mut Script) {
        s.fill("if ! (\n_s={}\n_old=$(_ids)\n", [w(&self.service)]);
        if !always {
            s.code(
                "_h=$(_dc -p \"$_p\" \"$@\" config --hash=\"$_s\" 2>/dev/null | sed -n \"s/^$_s //p\")\n\
                 for _c in $_old; do [ \"$(docker inspect -f '{{index .Config.Labels \"com.docker.compose.config-hash\"}}' \"$_c\")\" = \"$_h\" ] && exit 0; done\n",
            );
        }
        s.code("[ -n \"$_old\" ] || exit 0\n_dc -p \"$_p\" \"$@\" up -d --no-deps --no-recreate --scale \"$_s=$(( $(printf '%s\\n' \"$_old\" | grep -c .) + 1 ))\" \"$_s\" || exit 1\n\
             _new=$(_ids | grep -vxF \"$_old\" | head -n 1)\n\
             [ -n \"$_new\" ] || { echo \"compose started no new container for $_s\"; exit 1; }\n");
        s.fill(
            "_addr=$(_addr \"$_new\" {})\n[ -n \"$_addr\" ] || { docker rm -f \"$_new\" >/dev/null; echo \"service $_s does not publish port {} on the host (ports: [\\\"127.0.0.1::{}\\\"]): it cannot be checked or swapped\"; exit 1; }\n",
            [n(self.port), n(self.port), n(self.port)],
        );
        self.gate().settings(s);
        s.fill("_url=\"http://$_addr\"{}\n", [w(&self.front.check.path)]).code(
            "if ! _check body; then\n  _failed\n  docker rm -f \"$_new\" >/dev/null\n  echo \"the new container of $_s failed its check and never took traffic; it is removed and the old one keeps serving\"\n  exit 1\nfi\n",
        );
        s.code("if ! ");
        self.switch(s);
        s.code(" then\n  docker rm -f \"$_new\" >/dev/null\n  echo \"the new container of $_s is removed; the old one keeps serving\"\n  exit 1\nfi\n");
        s.fill(
            "echo \"$_s: the new container serves at $_addr; the old one drains {}s, then stops\"\nsleep {}\n",
            [n(self.front.drain), n(self.front.drain)],
        )
        .bounded()
        .code("docker stop $_old >/dev/null || exit 1\ndocker rm $_old >/dev/null || exit 1\n) then exit 1; fi\n");
    }

    /// After `up`: the upstream file follows the service's one running container (a first
    /// create, a file that drifted); written and the front reloaded only when it differs.
    pub(crate) fn follow(&self, s: &mut Script) {
        s.fill(
            "if ! (\n_s={}\n_c=$(_ids | head -n 1)\n_addr=$(_addr \"$_c\" {})\n",
            [w(&self.service), n(self.port)],
        )
        .code("[ -n \"$_addr\" ] || { echo \"service $_s runs no container publishing its port on the host: the upstream is left alone\"; exit 1; }\n")
        .fill(
            "[ \"$(cat -- {} 2>/dev/null)\" = \"$(printf '# Managed by recon (docker_compose swap): service %s\\nserver %s;' {} \"$_addr\")\" ] && exit 0\n",
            [p(&self.front.upstream), w(&self.service)],
        );
        self.switch(s);
        s.code(" || exit 1\n) then exit 1; fi\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_entries_parse_and_refuse_duplicates() {
        let doc = crate::yaml::parse_text(
            std::path::Path::new("t"),
            "- { service: web, port: 80, upstream: /etc/nginx/up.conf, reload: 'nginx -s reload', check: { path: /health, timeout: 5 }, drain: 3 }\n".to_owned(),
        )
        .expect("yaml");
        let swaps = build(Some(&doc)).expect("ok");
        assert_eq!(swaps[0].front.check.path, "/health");
        assert_eq!((swaps[0].port, swaps[0].front.drain), (80, 3));
        assert!(swaps[0].describe().contains("old drains 3s"));
        let twice = crate::yaml::parse_text(
            std::path::Path::new("t"),
            "- { service: web, port: 80, upstream: /u, reload: r }\n- { service: web, port: 81, upstream: /v, reload: r }\n".to_owned(),
        )
        .expect("yaml");
        assert!(build(Some(&twice)).is_err());
        // The upstream follows the one running container; two (an interrupted swap) or none
        // are refused with the reason.
        let swap = &swaps[0];
        let addrs = vec!["127.0.0.1:5".to_owned()];
        let here = upstream_text("web", "127.0.0.1:5");
        assert_eq!(swap.drift(Some(&addrs), &here).expect("ok"), None);
        let (before, after) = swap
            .drift(Some(&addrs), "server 127.0.0.1:4;\n")
            .expect("ok")
            .expect("drift");
        assert!(before.ends_with(": 127.0.0.1:4") && after.starts_with("127.0.0.1:5"));
        assert!(swap.drift(None, &here).is_err());
        let two = vec!["127.0.0.1:5".to_owned(), "127.0.0.1:6".to_owned()];
        assert!(swap.drift(Some(&two), &here).is_err());
        assert_eq!(
            upstream_text("web", "127.0.0.1:5"),
            "# Managed by recon (docker_compose swap): service web\nserver 127.0.0.1:5;\n"
        );
    }
}
