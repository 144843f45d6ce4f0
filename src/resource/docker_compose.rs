//! `docker_compose: { project_src, files, project_name, pull, remove_orphans, wait, wait_timeout,
//! state }`: a compose project up (or down) on the host, with compose v2 (`docker compose`) or v1
//! (`docker-compose`, what Debian 12 ships), whichever the host has. The plan predicts per service
//! what `up` will do the way compose itself decides it: a container whose
//! `com.docker.compose.config-hash` label differs from `config --hash` is recreated, one whose
//! image id differs from the local image of its reference is recreated, a missing one is created
//! (its image pulled when missing), a stopped one started, one of a service no longer defined
//! removed with `remove_orphans`, everything else left alone.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::args::{checked_path, normalize_path};
use super::compose_grants;
use super::compose_swap::{self, Swap};
use super::{BuildContext, Claim, ClaimKind, Problem, Resource, Situation};
use crate::error::{Error, Result};
use crate::facts::{CommandOutput, FactSet, Facts, Handle, PathState, Want};
use crate::fields::arg::{Arg, Groups, Type};
use crate::fields::Fields;
use crate::plan::{Action, Change, Field};
use crate::script::{n, p, w, Script};
use crate::yaml::Node;

/// When images are pulled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pull {
    /// Only images not on the host (compose's default).
    Missing,
    /// Every `up` pulls first; whether that changes an image is known only after.
    Always,
    /// Never: a missing image is a planning error.
    Never,
}

/// A managed compose project.
#[derive(Debug, Clone)]
pub(crate) struct Compose {
    project_src: String,
    files: Vec<String>,
    project: String,
    pull: Pull,
    remove_orphans: bool,
    wait: bool,
    wait_timeout: u64,
    present: bool,
    /// Services swapped behind nginx instead of recreated in place (`compose_swap`).
    swap: Vec<Swap>,
}

/// The arguments of `docker_compose`.
pub(super) const ARGS: Groups = &[&[
    Arg::path("project_src")
        .required()
        .doc("the folder holding the compose files")
        .ansible(&["project_src"]),
    Arg::strings("files")
        .default_note("compose's own")
        .doc("the compose files")
        .ansible(&["files"]),
    Arg::str("project_name").doc("the compose project (lower-case letters, digits, `-`, `_`)")
        .default_note("from the folder name")
        .ansible(&["project_name"]),
    Arg::one_of("pull", &["missing", "always", "never"])
        .default("missing")
        .doc("when images are pulled (Ansible's `policy`/`yes`/`no` are translated)")
        .ansible(&["pull"]),
    Arg::bool("remove_orphans")
        .default("false")
        .doc("remove containers of services no longer in the files")
        .ansible(&["remove_orphans"]),
    Arg::bool("wait")
        .default("false")
        .doc("wait until services are running or healthy")
        .ansible(&["wait"]),
    Arg::int("wait_timeout")
        .default("60")
        .doc("seconds `wait` waits")
        .ansible(&["wait_timeout"]),
    Arg::one_of("state", &["present", "absent"]).doc("`absent`: the project down")
        .default("present")
        .ansible(&["state"]),
    Arg::new("swap", Type::List("a list of `{ service, port, upstream, reload, serialize, check, drain }`"))
        .doc("services swapped behind nginx: `{ service, port, upstream, reload, serialize, check, drain }`"),
]];

/// The project name compose derives from a folder name: lower case, only `a-z0-9_-`.
pub(crate) fn project_name_of(folder: &str) -> String {
    folder
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect()
}

/// Builds a `docker_compose` project from its arguments.
pub(super) fn build(args: &Node, _cx: &BuildContext<'_>) -> Result<Compose> {
    let f = Fields::declared(args, "`docker_compose`", ARGS)?;
    let src_node = f.require("project_src")?;
    let project_src = checked_path(&f.required_string("project_src")?, src_node)?;
    let files = f
        .string_list("files")?
        .into_iter()
        .map(|(file, node)| {
            if file.is_empty() {
                Err(Error::invalid("a compose file name is empty", &node.span))
            } else {
                Ok(file)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let project = if let (Some(name), Some(node)) =
        (f.string("project_name")?, f.get("project_name"))
    {
        if name.is_empty() || project_name_of(&name) != name || name.starts_with(['-', '_']) {
            return Err(Error::invalid(
                format!("`project_name` must be lower-case letters, digits, `-` and `_`, starting with a letter or digit, not `{name}`"),
                &node.span,
            ));
        }
        name
    } else {
        let base = project_src.rsplit('/').next().unwrap_or_default();
        let name = project_name_of(base);
        if name.is_empty() || name.starts_with(['-', '_']) {
            return Err(Error::invalid(
                format!(
                    "cannot derive a compose project name from `{project_src}`: set `project_name`"
                ),
                &src_node.span,
            ));
        }
        name
    };
    let pull = match f.string("pull")?.as_deref() {
        None | Some("missing") => Pull::Missing,
        Some("always") => Pull::Always,
        Some("never") => Pull::Never,
        Some(other) => {
            return Err(Error::invalid(
                format!("`pull` must be `missing`, `always` or `never`, not `{other}`"),
                &f.require("pull")?.span,
            )
            .suggest(other, ["missing", "always", "never"]))
        }
    };
    let present = match f.string("state")?.as_deref() {
        None | Some("present") => true,
        Some("absent") => false,
        Some(other) => {
            return Err(Error::invalid(
                format!("`state` must be `present` or `absent`, not `{other}`"),
                &f.require("state")?.span,
            )
            .suggest(other, ["present", "absent"]))
        }
    };
    let wait_timeout = match (f.string("wait_timeout")?, f.get("wait_timeout")) {
        (Some(text), Some(node)) => {
            text.parse::<u64>().ok().filter(|t| *t > 0).ok_or_else(|| {
                Error::invalid(
                    "`wait_timeout` must be a positive number of seconds",
                    &node.span,
                )
            })?
        }
        _ => 60,
    };
    Ok(Compose {
        project_src,
        files,
        project,
        pull,
        remove_orphans: f.flag("remove_orphans")?,
        wait: f.flag("wait")?,
        wait_timeout,
        present,
        swap: compose_swap::build(f.get("swap"))?,
    })
}

/// One container of the project, as `docker inspect` reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Container {
    pub(crate) service: String,
    pub(crate) id: String,
    pub(crate) status: String,
    pub(crate) image: String,
    pub(crate) hash: String,
}

/// The probe's answer, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    /// `v1`, `v2` or `none`.
    pub(crate) tool: String,
    /// Why docker itself cannot be used (daemon down, no permission on its socket).
    pub(crate) docker_error: Option<String>,
    /// The project folder is not there (yet).
    pub(crate) no_dir: bool,
    /// `config` failed: the compose files are missing or invalid.
    pub(crate) config_error: Option<String>,
    /// Service → config hash, in compose's order.
    pub(crate) hashes: Vec<(String, String)>,
    /// Service → (image reference, local image id when present).
    pub(crate) images: BTreeMap<String, (String, Option<String>)>,
    pub(crate) containers: Vec<Container>,
    /// sha256 of each compose file (`compose_files` order) as the probe found it; `None`: absent.
    pub(crate) file_shas: Vec<Option<String>>,
    /// `compose config`'s output: the new side of each service's grants.
    pub(crate) config: Option<String>,
    /// Container id → the stable part of `docker inspect` (config, host config, mounts).
    pub(crate) inspected: BTreeMap<String, serde_json::Value>,
    /// Swapped service → the host addresses its running containers publish its port on.
    pub(crate) addrs: BTreeMap<String, Vec<String>>,
}

/// Parses the probe's lines.
pub(crate) fn parse(output: &str) -> Observed {
    let mut o = Observed::default();
    for line in output.lines() {
        let mut words = line.split(' ');
        match words.next().unwrap_or_default() {
            "tool" => words.next().unwrap_or("none").clone_into(&mut o.tool),
            "dockerr" => {
                o.docker_error = Some(
                    crate::text::from_base64(words.next().unwrap_or_default())
                        .trim()
                        .to_owned(),
                );
            }
            "nodir" => o.no_dir = true,
            "swapaddr" => {
                if let Some(service) = words.next() {
                    let addrs = o.addrs.entry(service.to_owned()).or_default();
                    addrs.extend(words.next().filter(|a| !a.is_empty()).map(str::to_owned));
                }
            }
            "cfg" => {
                o.config = Some(crate::text::from_base64(words.next().unwrap_or_default()));
            }
            "ins" => {
                if let (Some(id), Some(json)) = (words.next(), words.next()) {
                    let env = crate::text::from_base64(words.next().unwrap_or_default());
                    if let Ok(mut value) =
                        serde_json::from_str::<serde_json::Value>(&crate::text::from_base64(json))
                    {
                        value["Config"]["Env"] = env.lines().map(str::to_owned).collect();
                        o.inspected.insert(id.to_owned(), value);
                    }
                }
            }
            "sha" => o
                .file_shas
                .push(words.next().filter(|s| *s != "-").map(str::to_owned)),
            "configerr" => {
                o.config_error = Some(
                    crate::text::from_base64(words.next().unwrap_or_default())
                        .trim()
                        .to_owned(),
                );
            }
            "hash" => {
                if let (Some(service), Some(hash)) = (words.next(), words.next()) {
                    o.hashes.push((service.to_owned(), hash.to_owned()));
                }
            }
            "image" => {
                if let (Some(service), Some(image), Some(id)) =
                    (words.next(), words.next(), words.next())
                {
                    let id = (id != "-").then(|| id.to_owned());
                    o.images.insert(service.to_owned(), (image.to_owned(), id));
                }
            }
            "ctr" => {
                let fields: Vec<&str> = words.collect();
                if let [service, id, status, image, hash] = fields[..] {
                    o.containers.push(Container {
                        service: service.to_owned(),
                        id: id.to_owned(),
                        status: status.to_owned(),
                        image: image.to_owned(),
                        hash: hash.to_owned(),
                    });
                }
            }
            _ => {}
        }
    }
    o
}

fn short(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

/// What compose will do to one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServicePlan {
    Create {
        pull: Option<String>,
    },
    Recreate {
        container: String,
        why: String,
    },
    Start {
        container: String,
        status: String,
    },
    /// `pull: always`: pulled, and recreated only if that brings a new image.
    Pull {
        image: String,
    },
    Remove {
        container: String,
    },
    Unchanged,
}

/// The per-service prediction from the probe's answer (the pure heart of the plan).
pub(crate) fn predict(
    o: &Observed,
    pull: Pull,
    remove_orphans: bool,
) -> Result<Vec<(String, ServicePlan)>, Problem> {
    let mut out = Vec::new();
    for (service, hash) in &o.hashes {
        let image = o.images.get(service);
        let local_image = image.and_then(|(_, id)| id.as_deref());
        let containers: Vec<&Container> = o
            .containers
            .iter()
            .filter(|c| c.service == *service)
            .collect();
        let plan = if containers.is_empty() {
            match image {
                Some((reference, None)) if pull == Pull::Never => {
                    return Err(Problem::new(format!(
                        "service `{service}`: image `{reference}` is not on the host and `pull: never`"
                    )))
                }
                Some((reference, None)) => ServicePlan::Create {
                    pull: Some(reference.clone()),
                },
                Some((reference, Some(_))) if pull == Pull::Always => ServicePlan::Create {
                    pull: Some(reference.clone()),
                },
                _ => ServicePlan::Create { pull: None },
            }
        } else if let Some(c) = containers
            .iter()
            // First: compose v1's config hash covers the image id too, so an image change
            // also changes the hash; the image is the more telling reason.
            .find(|c| local_image.is_some_and(|id| id != c.image))
        {
            ServicePlan::Recreate {
                container: c.id.clone(),
                why: format!(
                    "its image changed ({} -> {})",
                    short(&c.image),
                    short(local_image.unwrap_or_default())
                ),
            }
        } else if let Some(c) = containers.iter().find(|c| c.hash != *hash) {
            ServicePlan::Recreate {
                container: c.id.clone(),
                why: "its configuration changed".to_owned(),
            }
        } else if let Some((reference, None)) = image {
            if pull == Pull::Never {
                return Err(Problem::new(format!(
                    "service `{service}`: image `{reference}` is not on the host and `pull: never`"
                )));
            }
            ServicePlan::Recreate {
                container: containers[0].id.clone(),
                why: format!("its image `{reference}` is not on the host: pull"),
            }
        } else if pull == Pull::Always && image.is_some() {
            ServicePlan::Pull {
                image: image.map(|(r, _)| r.clone()).unwrap_or_default(),
            }
        } else if let Some(c) = containers.iter().find(|c| c.status != "running") {
            ServicePlan::Start {
                container: c.id.clone(),
                status: c.status.clone(),
            }
        } else {
            ServicePlan::Unchanged
        };
        out.push((service.clone(), plan));
    }
    if remove_orphans {
        for c in &o.containers {
            if !o.hashes.iter().any(|(s, _)| *s == c.service) {
                out.push((
                    c.service.clone(),
                    ServicePlan::Remove {
                        container: c.id.clone(),
                    },
                ));
            }
        }
    }
    Ok(out)
}

/// Up (with these flags) or down.
#[derive(Debug)]
pub(crate) enum Decision {
    Up {
        /// Indexes into `swap` of the services the plan saw changed: swapped, not recreated.
        swap: Vec<usize>,
        /// A compose file changes earlier in this plan: every swapped service is swapped when
        /// its config hash turns out changed at apply time.
        recheck: bool,
    },
    Down,
}

/// Detects compose v2 or v1 and defines `_dc`; prints `tool …` in the probe. `$_dcb` (set by
/// the apply to `_bounded SECS`, empty in the probe, which is bounded as a whole) bounds it.
const TOOL: &str =
    "if docker compose version >/dev/null 2>&1; then _dc() { ${_dcb:-} docker compose \"$@\"; }; _tool=v2\n\
elif command -v docker-compose >/dev/null 2>&1; then _dc() { ${_dcb:-} docker-compose \"$@\"; }; _tool=v1\n\
else _tool=none; fi\n";

/// Every container of project `$_p` (not one-off `run` containers), one `ctr` line each, sorted
/// so the answer is stable while nothing changes.
const CONTAINERS: &str = "docker ps -aq --no-trunc --filter \"label=com.docker.compose.project=$_p\" --filter label=com.docker.compose.oneoff=False \\\n\
\x20 | while read -r _c; do docker inspect -f 'ctr {{index .Config.Labels \"com.docker.compose.service\"}} {{.Id}} {{.State.Status}} {{.Image}} {{index .Config.Labels \"com.docker.compose.config-hash\"}}' \"$_c\"; done | sort\n";

/// `ins ID JSON ENV` (base64) per container: what the plan compares grants with. Only settings,
/// never state (health logs, start times), so the answer is stable while nothing changes; the
/// environment's names only (`ENV`, one a line), never its values, as in `cfg` (the probe
/// blanks the values of `environment:` in `compose config`'s output before it leaves the host).
const INSPECT: &str = r#"docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$_p" --filter label=com.docker.compose.oneoff=False | sort \
  | while read -r _c; do
    printf 'ins %s ' "$_c"
    docker inspect -f '{"Config":{"Image":{{json .Config.Image}},"Cmd":{{json .Config.Cmd}},"User":{{json .Config.User}}},"HostConfig":{{json .HostConfig}},"Mounts":{{json .Mounts}}}' "$_c" | base64 -w0
    printf ' '; docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$_c" | sed 's/=.*//' | base64 -w0; echo
  done
"#;

/// Prints `cfg CONFIG` (base64): `compose config`'s output with every `environment:` value
/// replaced by `x`, so no value leaves the host.
const CONFIG: &str = r#"printf 'cfg '; printf '%s\n' "$_cfg" | awk '/^    environment:/ { e = 1; print; next }
  e && /^       / { next } e && /^      / { sub(/:.*/, ": x"); print; next } { e = 0; print }' | base64 -w0; echo
"#;

/// The facts a project needs: the probe's answer and the state of each compose file.
#[derive(Debug)]
pub(crate) struct Asked {
    output: Handle<CommandOutput>,
    files: Vec<Handle<PathState>>,
    /// Each swapped service's upstream file (`swap` order).
    upstreams: Vec<Handle<PathState>>,
}

/// The file names compose looks for when none are given (v1 and v2).
const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

impl Compose {
    /// The compose files' paths on the host (relative names are in `project_src`).
    fn compose_files(&self) -> Vec<String> {
        let names: Vec<&str> = if self.files.is_empty() {
            DEFAULT_FILES.to_vec()
        } else {
            self.files.iter().map(String::as_str).collect()
        };
        names
            .into_iter()
            .map(|name| {
                if name.starts_with('/') {
                    normalize_path(name)
                } else {
                    normalize_path(&format!("{}/{name}", self.project_src))
                }
            })
            .collect()
    }

    /// `_p=NAME`, `cd` is separate; `set -- -f F …` holds the compose file arguments.
    fn setup(&self, s: &mut Script) {
        s.fill(
            "_p={}\n_src={}\nset --",
            [w(&self.project), p(&self.project_src)],
        );
        for file in &self.files {
            s.code(" -f").words([file.as_str()]);
        }
        s.code("\n").code(TOOL);
        if !self.swap.is_empty() {
            s.code(compose_swap::FUNCTIONS);
        }
    }

    fn probe(&self) -> Script {
        let mut s = Script::new();
        self.setup(&mut s);
        s.code("printf 'tool %s\\n' \"$_tool\"\n[ \"$_tool\" = none ] && exit 0\n");
        s.code(
            "if ! _e=$(docker version -f '{{.Server.Version}}' 2>&1); then printf 'dockerr '; printf %s \"$_e\" | base64 -w0; echo; exit 0; fi\n",
        );
        s.code(CONTAINERS);
        if !self.present {
            return s;
        }
        s.code(INSPECT);
        for swap in &self.swap {
            swap.probe(&mut s);
        }
        for file in self.compose_files() {
            s.fill(
                "_h=$(sha256sum 2>/dev/null < {}) || _h=-\nprintf 'sha %s\\n' \"${_h%% *}\"\n",
                [p(&file)],
            );
        }
        s.code(
            "cd -- \"$_src\" 2>/dev/null || { echo nodir; exit 0; }\n\
             if ! _cfg=$(_dc -p \"$_p\" \"$@\" config 2>&1); then printf 'configerr '; printf %s \"$_cfg\" | base64 -w0; echo; exit 0; fi\n",
        );
        s.code(CONFIG);
        s.code(
            "_dc -p \"$_p\" \"$@\" config --hash='*' 2>/dev/null | sed 's/^/hash /'\n\
             printf '%s\\n' \"$_cfg\" | awk '/^services:/ { s = 1; next } /^[^ ]/ { s = 0 }\n\
             \x20 s && /^  [^ ]/ { v = $1; sub(/:$/, \"\", v) } s && /^    image: / { print v, $2 }' \\\n\
             \x20 | while read -r _s _i; do printf 'image %s %s %s\\n' \"$_s\" \"$_i\" \"$(docker image inspect -f '{{.Id}}' \"$_i\" 2>/dev/null || echo -)\"; done\n",
        );
        s
    }

    /// The plan of a project whose compose file is missing: an error, unless an earlier task
    /// of this plan may create it (then `up` runs after it, its services known after apply).
    fn missing_project(
        &self,
        o: &Observed,
        situation: Situation,
    ) -> Result<(Change, Decision), Problem> {
        if !situation.after_changes {
            // Nothing before it changes in this plan, so nothing creates the file.
            let why = o.config_error.clone().unwrap_or_else(|| {
                format!("the project folder `{}` does not exist", self.project_src)
            });
            return Err(Problem::new(format!(
                "no compose file for `{}` and no earlier task of this plan creates it: {why}",
                self.project
            )));
        }
        // An earlier task of this plan (a git checkout, a template) may create it.
        let why = o.config_error.clone().unwrap_or_else(|| {
            format!(
                "the project folder `{}` does not exist yet",
                self.project_src
            )
        });
        let change = Change::new(Action::Create).reason(format!(
            "{why}: `up` runs after the tasks before it; which services change is known after apply"
        ));
        Ok((
            change,
            Decision::Up {
                swap: Vec::new(),
                recheck: true,
            },
        ))
    }

    /// The plan fields of swapped services `up` leaves alone whose upstream file points
    /// elsewhere than their running container.
    fn upstream_fields(
        &self,
        mut change: Change,
        o: &Observed,
        upstreams: &[String],
        services: &[(String, ServicePlan)],
    ) -> Result<Change, Problem> {
        for (swap, content) in self.swap.iter().zip(upstreams) {
            if !o.hashes.iter().any(|(s, _)| *s == swap.service) {
                return Err(Problem::new(format!(
                    "`swap` names service `{}`, which the compose project does not define",
                    swap.service
                )));
            }
            let settled = services
                .iter()
                .any(|(s, p)| *s == swap.service && *p == ServicePlan::Unchanged);
            if let Some((before, after)) = settled
                .then(|| swap.drift(o.addrs.get(&swap.service), content))
                .transpose()?
                .flatten()
            {
                change = change.field(SERVICE, Some(before), Some(after));
            }
        }
        Ok(change)
    }

    /// The `because` line of an `up`: what is left alone, orphans kept, root-equivalent grants.
    fn reason(
        &self,
        o: &Observed,
        alone: &[&str],
        situation: Situation,
        warnings: &[String],
    ) -> String {
        let mut reason = format!("`{}` up with compose {}", self.project, o.tool);
        if !alone.is_empty() {
            let _ = write!(reason, "; left alone: {}", alone.join(", "));
        }
        let orphans: Vec<&str> = o
            .containers
            .iter()
            .filter(|c| !self.remove_orphans && !o.hashes.iter().any(|(s, _)| *s == c.service))
            .map(|c| c.service.as_str())
            .collect();
        if !orphans.is_empty() {
            let _ = write!(
                reason,
                "; orphans kept (remove_orphans is off): {}",
                orphans.join(", ")
            );
        }
        if situation.triggered {
            reason.push_str("; a task before it changes in this plan");
        }
        if !warnings.is_empty() {
            let _ = write!(
                reason,
                "\nWARNING: root-equivalent grants (the container can take over the host): {}",
                warnings.join("; ")
            );
        }
        reason
    }

    /// The swap entry of `service`, with its index.
    fn swap_of(&self, service: &str) -> Option<(usize, &Swap)> {
        self.swap
            .iter()
            .enumerate()
            .find(|(_, s)| s.service == service)
    }

    fn decide_present(
        &self,
        o: &Observed,
        situation: Situation,
        upstreams: &[String],
    ) -> Result<Option<(Change, Decision)>, Problem> {
        if o.no_dir || o.config_error.as_deref().is_some_and(missing_file) {
            return self.missing_project(o, situation).map(Some);
        }
        if let Some(error) = &o.config_error {
            return Err(Problem::new(format!(
                "compose cannot read the project in `{}`: {error}",
                self.project_src
            )));
        }
        let config = o.config.as_deref().and_then(|text| {
            crate::yaml::parse_text(std::path::Path::new("compose config"), text.to_owned()).ok()
        });
        let new_grants = |service: &str| {
            config
                .as_ref()
                .and_then(|c| c.get("services"))
                .and_then(|s| s.get(service))
                .map(compose_grants::from_config)
        };
        let mut warnings = Vec::new();
        let services = predict(o, self.pull, self.remove_orphans)?;
        let mut change = Change::new(if o.containers.is_empty() {
            Action::Create
        } else {
            Action::Update
        });
        let mut alone = Vec::new();
        let mut swapped = Vec::new();
        for (service, plan) in &services {
            let (before, after) = match plan {
                ServicePlan::Unchanged => {
                    alone.push(service.as_str());
                    continue;
                }
                ServicePlan::Create { pull: Some(image) } => {
                    (None, format!("{service}: create (pull {image})"))
                }
                ServicePlan::Create { pull: None } => (None, format!("{service}: create")),
                ServicePlan::Recreate { container, why } => (
                    Some(format!("{service} {}", short(container))),
                    match self.swap_of(service) {
                        Some((i, swap)) => {
                            swapped.push(i);
                            format!("recreate: {why}; {}", swap.describe())
                        }
                        None => format!("recreate: {why}"),
                    },
                ),
                ServicePlan::Start { container, status } => (
                    Some(format!("{service} {} ({status})", short(container))),
                    "start".to_owned(),
                ),
                ServicePlan::Pull { image } => (
                    Some(service.clone()),
                    format!("pull {image}; recreated if it brings a new image (known after apply)"),
                ),
                ServicePlan::Remove { container } => {
                    change = change.field(
                        SERVICE,
                        Some(format!("{service} {} (orphan)", short(container))),
                        None,
                    );
                    continue;
                }
            };
            change = change.field(SERVICE, before, Some(after));
            let Some(new) = new_grants(service) else {
                continue;
            };
            change = grant_fields(change, service, plan, &new, o, &mut warnings);
        }
        let change = self.upstream_fields(change, o, upstreams, &services)?;
        if change.fields.is_empty() {
            return Ok(None);
        }
        let reason = self.reason(o, &alone, situation, &warnings);
        Ok(Some((
            change.reason(reason),
            Decision::Up {
                swap: swapped,
                recheck: false,
            },
        )))
    }
}

/// The plan fields of what a created or recreated service is given (or what changed in it),
/// and a warning naming its root-equivalent grants.
fn grant_fields(
    mut change: Change,
    service: &str,
    plan: &ServicePlan,
    new: &compose_grants::Grants,
    o: &Observed,
    warnings: &mut Vec<String>,
) -> Change {
    match plan {
        ServicePlan::Create { .. } => {
            for (name, value) in compose_grants::summary(new) {
                change = change.field(SERVICE, None, Some(format!("{service} {name}: {value}")));
            }
        }
        ServicePlan::Recreate { container, .. } => {
            if let Some(old) = o.inspected.get(container) {
                let old = compose_grants::from_inspect(old);
                for (name, before, after) in compose_grants::diff(&old, new) {
                    change = change.field(
                        SERVICE,
                        Some(format!("{service} {name}: {before}")),
                        Some(format!("{name}: {after}")),
                    );
                }
            }
        }
        _ => return change,
    }
    let grants = compose_grants::root_equivalent(new);
    if !grants.is_empty() {
        warnings.push(format!("`{service}` gets {}", grants.join(", ")));
    }
    change
}

/// Whether a `config` error means "no compose file here (yet)" rather than a broken one.
fn missing_file(error: &str) -> bool {
    let e = error.to_lowercase();
    e.contains("can't find a suitable configuration file")
        || e.contains("no configuration file provided")
        || e.contains("no such file or directory")
}

/// One compose service's container: created, recreated, started or removed.
const SERVICE: Field = Field::new("service");

impl Resource for Compose {
    type Asked = Asked;
    type Decision = Decision;
    const FIELDS: &'static [Field] = &[SERVICE];

    fn id(&self) -> String {
        self.project.clone()
    }

    fn claims(&self) -> Vec<Claim> {
        let state = if self.present { "present" } else { "absent" };
        vec![Claim::new(
            ClaimKind::Other("compose_project".to_owned()),
            &self.project,
        )
        .wanting([
            ("state", Some(state.to_owned())),
            ("project_src", Some(self.project_src.clone())),
            ("files", Some(self.files.join(", "))),
        ])]
        .into_iter()
        .chain(self.swap.iter().map(|s| Claim::path(&s.front.upstream)))
        .collect()
    }

    fn needs(&self) -> Vec<String> {
        if self.present {
            std::iter::once(self.project_src.clone())
                .chain(self.compose_files())
                .collect()
        } else {
            Vec::new()
        }
    }

    fn ask(&self, facts: &mut FactSet) -> Self::Asked {
        let files = if self.present {
            self.compose_files()
                .iter()
                .map(|f| facts.path(f, Want::Never))
                .collect()
        } else {
            Vec::new()
        };
        Asked {
            output: facts.output(self.probe()),
            files,
            upstreams: self
                .swap
                .iter()
                .map(|s| facts.path(&s.front.upstream, Want::Always))
                .collect(),
        }
    }

    fn decide(
        &self,
        asked: &Self::Asked,
        facts: &Facts,
        situation: Situation,
    ) -> Result<Option<(Change, Decision)>, Problem> {
        let o = parse(&facts.get(asked.output).stdout);
        if o.tool == "none" && (self.present || !o.containers.is_empty()) {
            return Err(Problem::new(
                "neither `docker compose` (v2) nor `docker-compose` (v1) is installed on the host",
            ));
        }
        if let Some(error) = &o.docker_error {
            if self.present || o.tool != "none" {
                return Err(Problem::new(format!(
                    "the Docker engine cannot be used: {error}"
                )));
            }
        }
        if self.present {
            // A compose file behind a link another account controls is a located refusal, as
            // for every path the probe reads. (Whoever controls the project folder decides
            // what `up` runs as root anyway: see ARCHITECTURE.md, links.)
            for (handle, path) in asked.files.iter().zip(self.compose_files()) {
                super::refuse_unsafe(&path, facts.get(*handle))?;
            }
            // A compose file that an earlier step of this plan rewrites: its services' fate is
            // decided by the new file, which only exists after that step.
            let rewritten = asked
                .files
                .iter()
                .zip(&o.file_shas)
                .zip(self.compose_files())
                .find(|((handle, seen), _)| {
                    facts.get(**handle).sha256.as_deref() != seen.as_deref()
                })
                .map(|(_, path)| path);
            if let Some(path) = rewritten {
                let change = Change::new(if o.containers.is_empty() {
                    Action::Create
                } else {
                    Action::Update
                })
                .reason(format!(
                    "`{path}` changes earlier in this plan: which services `up` creates or recreates is known after apply"
                ));
                return Ok(Some((
                    change,
                    Decision::Up {
                        swap: Vec::new(),
                        recheck: true,
                    },
                )));
            }
            let upstreams: Vec<String> = asked
                .upstreams
                .iter()
                .zip(&self.swap)
                .map(|(handle, swap)| {
                    let state = facts.get(*handle);
                    super::refuse_unsafe(&swap.front.upstream, state)?;
                    Ok(
                        String::from_utf8_lossy(state.content.as_deref().unwrap_or_default())
                            .into_owned(),
                    )
                })
                .collect::<Result<_, Problem>>()?;
            return self.decide_present(&o, situation, &upstreams);
        }
        if o.containers.is_empty() {
            return Ok(None);
        }
        let mut change = Change::new(Action::Delete);
        for c in &o.containers {
            change = change.field(
                SERVICE,
                Some(format!("{} {}", c.service, short(&c.id))),
                None,
            );
        }
        Ok(Some((
            change.reason(format!(
                "`{}` down: its containers and networks are removed (volumes are kept)",
                self.project
            )),
            Decision::Down,
        )))
    }

    fn script(&self, d: &Decision, s: &mut Script) {
        self.setup(s);
        match d {
            Decision::Down => {
                s.code(
                    "docker ps -aq --filter \"label=com.docker.compose.project=$_p\" | xargs -r docker rm -f >/dev/null || exit 1\n\
                     docker network ls -q --filter \"label=com.docker.compose.project=$_p\" | xargs -r docker network rm >/dev/null || exit 1\n",
                );
            }
            Decision::Up { swap, recheck } => {
                s.code(
                    "[ \"$_tool\" != none ] || { echo 'neither docker compose nor docker-compose is installed' >&2; exit 1; }\n\
                     cd -- \"$_src\" || exit 1\n",
                );
                s.code("_dcb='").bounded().code("'\n");
                if self.pull == Pull::Always {
                    s.code("_dc -p \"$_p\" \"$@\" pull || exit 1\n");
                }
                for (i, entry) in self.swap.iter().enumerate() {
                    if swap.contains(&i) || *recheck {
                        entry.script(swap.contains(&i), s);
                    }
                }
                s.code("_dc -p \"$_p\" \"$@\" up -d");
                if self.remove_orphans {
                    s.code(" --remove-orphans");
                }
                s.code(" || exit 1\n");
                for entry in &self.swap {
                    entry.follow(s);
                }
                if self.wait {
                    s.fill(
                        "_end=$(( $(date +%s) + {} ))\n\
                         while :; do\n\
                         \x20 _bad=$(docker ps -aq --filter \"label=com.docker.compose.project=$_p\" --filter label=com.docker.compose.oneoff=False \\\n\
                         \x20   | while read -r _c; do docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}' \"$_c\"; done \\\n\
                         \x20   | awk '$2 != \"running\" || ($3 != \"-\" && $3 != \"healthy\")')\n\
                         \x20 [ -z \"$_bad\" ] && exit 0\n\
                         \x20 if [ \"$(date +%s)\" -ge \"$_end\" ]; then printf 'not running and healthy after %s s:\\n%s\\n' {} \"$_bad\" >&2; exit 1; fi\n\
                         \x20 sleep 1\n\
                         done\n",
                        [n(self.wait_timeout), n(self.wait_timeout)],
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(containers: &[(&str, &str, &str, &str)]) -> Observed {
        Observed {
            tool: "v1".into(),
            hashes: vec![("web".into(), "h1".into()), ("db".into(), "h2".into())],
            images: [
                (
                    "web".to_owned(),
                    ("img".to_owned(), Some("sha256:i1".to_owned())),
                ),
                (
                    "db".to_owned(),
                    ("img".to_owned(), Some("sha256:i1".to_owned())),
                ),
            ]
            .into_iter()
            .collect(),
            containers: containers
                .iter()
                .map(|(service, hash, status, image)| Container {
                    service: (*service).to_owned(),
                    id: format!("{service}-id"),
                    status: (*status).to_owned(),
                    image: (*image).to_owned(),
                    hash: (*hash).to_owned(),
                })
                .collect(),
            ..Observed::default()
        }
    }

    #[test]
    fn each_service_is_predicted_the_way_compose_decides() {
        let fresh = predict(&observed(&[]), Pull::Missing, false).expect("ok");
        assert!(fresh
            .iter()
            .all(|(_, p)| *p == ServicePlan::Create { pull: None }));

        let up = [
            ("web", "h1", "running", "sha256:i1"),
            ("db", "h2", "running", "sha256:i1"),
        ];
        let same = predict(&observed(&up), Pull::Missing, false).expect("ok");
        assert!(same.iter().all(|(_, p)| *p == ServicePlan::Unchanged));

        let changed = [
            ("web", "h9", "running", "sha256:i1"),
            ("db", "h2", "exited", "sha256:i1"),
        ];
        let plan = predict(&observed(&changed), Pull::Missing, false).expect("ok");
        assert!(matches!(plan[0].1, ServicePlan::Recreate { .. }));
        assert!(matches!(plan[1].1, ServicePlan::Start { .. }));

        let image = [
            ("web", "h1", "running", "sha256:old"),
            ("db", "h2", "running", "sha256:i1"),
        ];
        let plan = predict(&observed(&image), Pull::Missing, false).expect("ok");
        assert!(
            matches!(&plan[0].1, ServicePlan::Recreate { why, .. } if why.contains("image changed"))
        );
        assert_eq!(plan[1].1, ServicePlan::Unchanged);

        let orphan = [
            ("web", "h1", "running", "sha256:i1"),
            ("db", "h2", "running", "sha256:i1"),
            ("old", "h3", "running", "sha256:i1"),
        ];
        assert_eq!(
            predict(&observed(&orphan), Pull::Missing, false)
                .expect("ok")
                .len(),
            2
        );
        let plan = predict(&observed(&orphan), Pull::Missing, true).expect("ok");
        assert!(matches!(plan[2], (ref s, ServicePlan::Remove { .. }) if s == "old"));

        let always = predict(&observed(&up), Pull::Always, false).expect("ok");
        assert!(always
            .iter()
            .all(|(_, p)| matches!(p, ServicePlan::Pull { .. })));

        let mut missing = observed(&[]);
        missing.images.insert("web".into(), ("gone:1".into(), None));
        let problem = predict(&missing, Pull::Never, false).expect_err("never pull");
        assert!(problem.0.contains("gone:1"));
    }

    #[test]
    fn a_compose_file_rewritten_earlier_in_the_plan_makes_the_services_known_after_apply() {
        use crate::facts::{FactValue, PathKind};
        use crate::resource::testing::decide;
        let compose = Compose {
            project_src: "/srv/stack".into(),
            files: Vec::new(),
            project: "stack".into(),
            pull: Pull::Missing,
            remove_orphans: false,
            wait: false,
            wait_timeout: 60,
            present: true,
            swap: Vec::new(),
        };
        let file = |sha: Option<&str>| {
            FactValue::Path(PathState {
                kind: if sha.is_some() {
                    PathKind::File
                } else {
                    PathKind::Absent
                },
                sha256: sha.map(str::to_owned),
                ..PathState::default()
            })
        };
        let probe = |seen: &str| {
            FactValue::Output(CommandOutput {
                status: 0,
                stdout: format!("tool v1\nsha -\nsha -\nsha {seen}\nsha -\nhash web h1\nctr web id running img h1\n"),
            })
        };
        let answers = |now: &str, seen: &str| {
            vec![
                file(None),
                file(None),
                file(Some(now)),
                file(None),
                probe(seen),
            ]
        };
        assert!(decide(&compose, answers("aaa", "aaa"))
            .expect("ok")
            .is_none());
        let (change, _) = decide(&compose, answers("bbb", "aaa"))
            .expect("ok")
            .expect("change");
        let reason = change.reason.unwrap_or_default();
        assert!(
            reason.contains("/srv/stack/docker-compose.yml` changes earlier"),
            "{reason}"
        );
    }

    #[test]
    fn probe_lines_parse() {
        let o = parse("tool v1\nctr web abc running sha256:i hash1\nhash web hash1\nimage web local/x:1 sha256:i\nimage db local/y:1 -\n");
        assert_eq!(o.tool, "v1");
        assert_eq!(o.containers[0].hash, "hash1");
        assert_eq!(o.hashes, vec![("web".to_owned(), "hash1".to_owned())]);
        assert_eq!(o.images["db"].1, None);
        assert_eq!(project_name_of("My App.1"), "myapp1");
    }
}
