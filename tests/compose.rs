//! The `docker_compose` resource on a real Docker engine (harness/docker.rs) with the compose the
//! host has (Debian 12: v1, `docker-compose`): a two-service project comes up and waits until
//! healthy, re-plans to nothing, a change to one service plans and recreates exactly that one
//! (the other keeps its container), a removed service goes with `remove_orphans`, and
//! `state: absent` takes the project down.

use std::fmt::Write as _;

use crate::harness::docker::{self, CleanImage, CleanProject, IMAGE};
use crate::harness::Project;

fn compose_file(db_command: &str, with_db: bool) -> String {
    let mut text = format!(
        "version: \"3\"\nservices:\n  web:\n    image: {IMAGE}\n    command: [\"sleep\", \"3600\"]\n    stop_signal: SIGKILL\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 1s\n"
    );
    if with_db {
        let _ = write!(
            text,
            "  db:\n    image: {IMAGE}\n    command: [\"sleep\", \"{db_command}\"]\n    stop_signal: SIGKILL\n"
        );
    }
    text
}

fn site(name: &str, state: &str) -> String {
    format!(
        "- hosts: all\n  tasks:\n    - docker_compose:\n        project_src: \"{{{{ root }}}}/stack\"\n        project_name: {name}\n        remove_orphans: true\n        wait: true\n        wait_timeout: 30\n        state: {state}\n"
    )
}

fn id_of<'a>(rows: &'a [(String, String)], service: &str) -> &'a str {
    rows.iter()
        .find(|(s, _)| s == service)
        .map_or("", |(_, id)| id.as_str())
}

#[test]
fn compose_project_is_planned_per_service_and_recreates_only_what_changed() {
    docker::ensure();
    let name = format!("reconcompose{}", std::process::id());
    let clean = CleanProject(name.clone());
    let p = Project::new();
    p.file("site.yml", &site(&name, "present"));
    std::fs::create_dir_all(p.host("stack")).expect("stack");
    std::fs::write(
        p.host("stack/docker-compose.yml"),
        compose_file("3601", true),
    )
    .expect("compose file");

    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has(&format!("+ docker_compose {name}"))
        .stdout_has("service: web: create")
        .stdout_has("service: db: create");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let first = clean.containers();
    assert_eq!(first.len(), 2, "{first:?}");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes.");

    // One service changes: exactly it is recreated.
    std::fs::write(
        p.host("stack/docker-compose.yml"),
        compose_file("3602", true),
    )
    .expect("compose file");
    let db = id_of(&first, "db");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has(&format!("~ docker_compose {name}"))
        .stdout_has(&format!(
            "service: db {} -> recreate: its configuration changed",
            &db[..12]
        ))
        .stdout_has("left alone: web");
    let apply = p.recon(&["apply", "site.yml"]);
    apply.expect_code(0);
    let second = clean.containers();
    assert_eq!(
        id_of(&second, "web"),
        id_of(&first, "web"),
        "web kept its container"
    );
    assert_ne!(id_of(&second, "db"), db, "db was recreated");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);

    // A removed service goes with remove_orphans.
    std::fs::write(p.host("stack/docker-compose.yml"), compose_file("", false))
        .expect("compose file");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has("(orphan) -> (none)");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let third = clean.containers();
    assert_eq!(third.len(), 1, "{third:?}");
    assert_eq!(id_of(&third, "web"), id_of(&first, "web"));

    // Down.
    p.file("site.yml", &site(&name, "absent"));
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has(&format!("- docker_compose {name}"));
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert!(clean.containers().is_empty());
    assert_eq!(clean.networks(), 0);
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

#[test]
fn a_broken_compose_file_is_a_clear_planning_error() {
    docker::ensure();
    let name = format!("reconcomposebad{}", std::process::id());
    let _clean = CleanProject(name.clone());
    let p = Project::new();
    p.file("site.yml", &site(&name, "present"));
    std::fs::create_dir_all(p.host("stack")).expect("stack");
    std::fs::write(p.host("stack/docker-compose.yml"), "services: [oops\n").expect("write");
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("compose cannot read the project");
}

#[test]
fn a_service_whose_image_changed_is_recreated_and_only_it() {
    docker::ensure();
    let tag = format!("recon-test/variant{}:1", std::process::id());
    let _image = CleanImage(tag.clone());
    docker::tag_variant(&tag, "one");
    let name = format!("reconcomposeimg{}", std::process::id());
    let clean = CleanProject(name.clone());
    let p = Project::new();
    p.file("site.yml", &site(&name, "present"));
    std::fs::create_dir_all(p.host("stack")).expect("stack");
    std::fs::write(
        p.host("stack/docker-compose.yml"),
        format!(
            "version: \"3\"\nservices:\n  app:\n    image: {tag}\n    command: [\"sleep\", \"600\"]\n    stop_signal: SIGKILL\n  other:\n    image: {IMAGE}\n    command: [\"sleep\", \"600\"]\n    stop_signal: SIGKILL\n"
        ),
    )
    .expect("compose file");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let first = clean.containers();

    // The tag now names another image (as after a pull): exactly `app` is recreated.
    docker::tag_variant(&tag, "two");
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has(&format!(
            "service: app {} -> recreate: its image changed",
            &id_of(&first, "app")[..12]
        ))
        .stdout_has("left alone: other");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    let second = clean.containers();
    assert_ne!(id_of(&second, "app"), id_of(&first, "app"));
    assert_eq!(id_of(&second, "other"), id_of(&first, "other"));
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

/// A service that gains root-equivalent grants: the plan shows each changed setting (before
/// and after, environment names without values) and a warning naming the grants, instead of
/// only "its configuration changed". A project whose compose file nothing creates is a
/// planning error.
#[test]
fn a_recreate_shows_the_grants_that_changed_and_warns_about_root_equivalent_ones() {
    docker::ensure();
    let name = format!("recongrants{}", std::process::id());
    let clean = CleanProject(name.clone());
    let p = Project::new();
    p.file("site.yml", &site(&name, "present"));
    std::fs::create_dir_all(p.host("stack")).expect("stack");
    let plain = format!(
        "version: \"3\"\nservices:\n  web:\n    image: {IMAGE}\n    command: [\"sleep\", \"3600\"]\n    stop_signal: SIGKILL\n"
    );
    std::fs::write(p.host("stack/docker-compose.yml"), &plain).expect("compose file");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(clean.containers().len(), 1);

    let granted = format!(
        "{plain}    privileged: true\n    pid: host\n    network_mode: host\n    cap_add: [SYS_ADMIN]\n    environment:\n      API_TOKEN: hunter2-value\n    volumes:\n      - /:/host\n      - /var/run/docker.sock:/var/run/docker.sock\n"
    );
    std::fs::write(p.host("stack/docker-compose.yml"), &granted).expect("compose file");
    let run = p.recon(&["plan", "site.yml"]);
    run.expect_code(0)
        .stdout_has("recreate: its configuration changed")
        .stdout_has("web privileged: false -> privileged: true")
        .stdout_has("web pid: (default) -> pid: host")
        .stdout_has("web network_mode: (default) -> network_mode: host")
        .stdout_has("web cap_add: (none) -> cap_add: SYS_ADMIN")
        .stdout_has("/:/host")
        .stdout_has("env names: - -> env names: + API_TOKEN")
        .stdout_has("WARNING: root-equivalent grants")
        .stdout_has("bind mount of `/`")
        .stdout_has("bind mount of the docker socket");
    assert!(!run.stdout.contains("hunter2"), "{}", run.stdout);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    // Planning changed nothing.
    assert_eq!(clean.containers().len(), 1);

    // No compose file, and nothing in the plan creates one.
    std::fs::remove_file(p.host("stack/docker-compose.yml")).expect("remove");
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("no compose file for");
}
