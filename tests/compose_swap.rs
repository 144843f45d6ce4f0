//! `docker_compose` `swap:` on a real Docker engine behind a real nginx (harness/docker.rs,
//! harness/web.rs): a busybox httpd serving its image's `/variant` file, two image tags built
//! here. Under a bounded load through nginx, a new image is swapped in (new container beside the
//! old, checked on its own published port, upstream switched with a confirmed reload, old one
//! drained and removed) without a failed request; a broken new version never takes traffic and
//! the old container keeps serving; a compose file rewritten by an earlier task is swapped too.

use std::path::Path;
use std::time::Duration;

use crate::harness::docker::{self, tag_variant, CleanImage, CleanProject};
use crate::harness::load::{Figures, Load};
use crate::harness::web::Nginx;
use crate::harness::{free_port, Project};

const DOMAIN: &str = "swap.test";

/// The compose file: image `tag`, httpd listening on `listen` (8080 is the published one).
fn compose_file(tag: &str, listen: u16) -> String {
    format!(
        "version: \"3\"\nservices:\n  web:\n    image: {tag}\n    command: [\"httpd\", \"-f\", \"-p\", \"{listen}\", \"-h\", \"/\"]\n    stop_signal: SIGKILL\n    ports: [\"127.0.0.1::8080\"]\n"
    )
}

fn site(name: &str, nginx: &Nginx, upstream: &Path) -> String {
    let check =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("roles/nginx_site/files/nginx-site-check.sh");
    let dir = nginx.config.parent().expect("nginx dir");
    format!(
        "- hosts: all\n  tasks:\n    - docker_compose:\n        project_src: \"{{{{ root }}}}/stack\"\n        project_name: {name}\n        swap:\n          - service: web\n            port: 8080\n            upstream: {up}\n            reload: \"sh {check} /usr/sbin/nginx {conf} {up} {DOMAIN} {stamp} {pid}\"\n            serialize: {lock}\n            check: {{ path: /variant, timeout: 15 }}\n            drain: 2\n",
        up = upstream.display(),
        check = check.display(),
        conf = nginx.config.display(),
        stamp = dir.join("reload.stamp").display(),
        pid = dir.join("nginx.pid").display(),
        lock = dir.join("reload.lock").display(),
    )
}

/// The site nginx serves: every request to the upstream file's server.
fn nginx_site(port: u16, upstream: &Path) -> String {
    format!(
        "upstream swapweb {{\n    include {};\n}}\nserver {{\n    listen 127.0.0.1:{port};\n    server_name {DOMAIN};\n    location / {{ proxy_pass http://swapweb; }}\n}}\n",
        upstream.display()
    )
}

/// A GET of /variant through nginx every 20 ms, 120 s at most.
fn start_load(port: u16) -> Load {
    Load::start(
        port,
        DOMAIN,
        "/variant",
        Duration::from_millis(20),
        Duration::from_secs(120),
    )
}

/// Stops the load; an answer other than a 200 carrying one of `versions` counts as failed.
fn figures(load: Load, versions: &[&str]) -> (Figures, Vec<String>) {
    let samples = load.finish();
    let good = |(status, body): &(u16, String)| *status == 200 && versions.contains(&body.trim());
    let wrong = samples
        .iter()
        .filter(|s| !s.answer.as_ref().is_some_and(good))
        .map(|s| format!("at {:?}: {:?}", s.at, s.answer))
        .collect();
    (Figures::of(&samples, good), wrong)
}

/// Applies under load and asserts a clean swap: no failed request (answers from `versions`),
/// one container, not one of `before`, serving the last of `versions`, and nothing left to plan.
/// Returns the containers.
fn apply_swapped(
    p: &Project,
    clean: &CleanProject,
    site_port: u16,
    before: &[(String, String)],
    versions: &[&str],
    what: &str,
) -> Vec<(String, String)> {
    let load = start_load(site_port);
    let apply = p.recon(&["apply", "site.yml"]);
    let (figures, wrong) = figures(load, versions);
    apply.expect_code(0);
    println!("swap {what}: {figures}");
    assert_eq!(figures.failed, 0, "failed requests: {wrong:?}");
    let now = clean.containers();
    assert_eq!(now.len(), 1, "the old container is gone: {now:?}");
    assert!(!before.contains(&now[0]), "a new container serves");
    assert_eq!(
        Nginx::get(site_port, DOMAIN, "/variant").map(|(s, b)| (s, b.trim().to_owned())),
        Some((200, versions[versions.len() - 1].to_owned()))
    );
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes.");
    now
}

#[test]
fn a_changed_service_is_swapped_behind_nginx_without_a_failed_request() {
    docker::ensure();
    let pid = std::process::id();
    let name = format!("reconswap{pid}");
    let clean = CleanProject(name.clone());
    let (v1, v2) = (format!("recon-swap{pid}:1"), format!("recon-swap{pid}:2"));
    let _images = (CleanImage(v1.clone()), CleanImage(v2.clone()));
    tag_variant(&v1, "v1");
    tag_variant(&v2, "v2");

    let p = Project::new();
    std::fs::create_dir_all(p.host("stack")).expect("stack");
    std::fs::create_dir_all(p.host("nginx")).expect("nginx dir");
    let upstream = p.host("nginx/upstream.conf");
    // Until the first apply, nginx routes to a closed port.
    std::fs::write(&upstream, "server 127.0.0.1:1;\n").expect("upstream");
    let site_port = free_port();
    std::fs::write(p.host("nginx/site.conf"), nginx_site(site_port, &upstream)).expect("site");
    let nginx = Nginx::start(&p.host("nginx/site.conf").display().to_string());
    p.file("site.yml", &site(&name, &nginx, &upstream));
    std::fs::write(p.host("stack/docker-compose.yml"), compose_file(&v1, 8080)).expect("compose");

    // First deploy: created in place, then the upstream follows its container.
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(
        Nginx::get(site_port, DOMAIN, "/variant").map(|(s, b)| (s, b.trim().to_owned())),
        Some((200, "v1".to_owned()))
    );
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes.");
    let first = clean.containers();
    assert_eq!(first.len(), 1, "{first:?}");

    // A new image: swapped under load.
    std::fs::write(p.host("stack/docker-compose.yml"), compose_file(&v2, 8080)).expect("compose");
    p.recon(&["plan", "site.yml"]).expect_code(0).stdout_has(
        "swap: new container checked on its own port, then nginx switches; old drains 2s",
    );
    let second = apply_swapped(
        &p,
        &clean,
        site_port,
        &first,
        &["v1", "v2"],
        "upgrade v1 -> v2",
    );

    // A broken version (httpd on the wrong port): never takes traffic, the old one serves on.
    std::fs::write(p.host("stack/docker-compose.yml"), compose_file(&v2, 8081)).expect("compose");
    let load = start_load(site_port);
    let apply = p.recon(&["apply", "site.yml"]);
    let (broken, wrong) = figures(load, &["v2"]);
    println!("swap broken version: {broken}");
    assert_ne!(apply.code, 0, "{}{}", apply.stdout, apply.stderr);
    assert!(
        format!("{}{}", apply.stdout, apply.stderr)
            .contains("failed its check and never took traffic"),
        "{}{}",
        apply.stdout,
        apply.stderr
    );
    assert_eq!(broken.failed, 0, "failed requests: {wrong:?}");
    assert_eq!(
        clean.containers(),
        second,
        "the new container was removed, the old one kept"
    );
    assert!(std::fs::read_to_string(&upstream)
        .expect("upstream")
        .contains("server 127.0.0.1:"));

    // The compose file written by a task before it (the usual deploy: a new image tag in a
    // template): the plan cannot tell, the apply swaps because the config hash changed.
    p.file("files/docker-compose.yml", &compose_file(&v1, 8080));
    let tasks = site(&name, &nginx, &upstream).replacen(
        "  tasks:\n",
        "  tasks:\n    - file: { path: \"{{ root }}/stack/docker-compose.yml\", src: docker-compose.yml }\n",
        1,
    );
    p.file("site.yml", &tasks);
    apply_swapped(
        &p,
        &clean,
        site_port,
        &second,
        &["v2", "v1"],
        "after an earlier task rewrote the compose file",
    );
}
