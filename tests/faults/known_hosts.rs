//! `@revoked` and `@cert-authority` lines in known_hosts, against a real sshd.

use crate::harness::sshd::Sshd;
use crate::harness::Project;

/// A project whose host `sq` is root on `sshd`, checked against `known_hosts` (the text given).
fn project(sshd: &Sshd, known_hosts: &str) -> Project {
    sshd.authorize("root");
    let p = Project::new();
    let known = p.dir().join("known_hosts");
    std::fs::write(&known, known_hosts).expect("write known_hosts");
    p.file(
        "inventory/hosts.yml",
        &format!(
            "all:\n  hosts:\n    sq: {{ ansible_host: 127.0.0.1, ansible_port: {}, ansible_user: root, ansible_ssh_private_key_file: {}, recon_known_hosts_file: {}, root: {} }}\n",
            sshd.port,
            sshd.client_key.display(),
            known.display(),
            p.host_root().display()
        ),
    )
    .file(
        "site.yml",
        "- hosts: all\n  tasks:\n    - directory: { path: \"{{ root }}/app\" }\n",
    );
    p
}

/// The `keytype base64` part of the server's known_hosts line.
fn server_key(sshd: &Sshd) -> String {
    let line = sshd.host_key_line();
    let mut f = line.split_whitespace().skip(1);
    format!("{} {}", f.next().expect("key type"), f.next().expect("key"))
}

#[test]
fn a_revoked_host_key_is_refused_even_when_also_listed_and_with_accept_new() {
    let sshd = Sshd::start();
    let text = format!(
        "{}\n@revoked * {}\n",
        sshd.host_key_line(),
        server_key(&sshd)
    );
    let p = project(&sshd, &text);
    for args in [
        &["plan", "site.yml"][..],
        &["apply", "site.yml", "--accept-new-host-keys"][..],
    ] {
        p.recon(args)
            .expect_code(1)
            .stdout_has("is REVOKED (@revoked at ")
            .stdout_has("known_hosts:2)");
    }
    assert!(!p.host_root().exists(), "nothing written");
    // Without the revocation the same file is accepted and the host converges.
    std::fs::write(
        p.dir().join("known_hosts"),
        format!("{}\n", sshd.host_key_line()),
    )
    .expect("rewrite");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert!(p.host_root().join("app").is_dir());
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

#[test]
fn a_cert_authority_line_is_not_taken_for_a_host_key() {
    let sshd = Sshd::start();
    // The server's own key as a CA for every host: OpenSSH would use it only to check host
    // certificates; it must not make the plain key trusted.
    let text = format!("@cert-authority * {}\n", server_key(&sshd));
    let p = project(&sshd, &text);
    p.recon(&["plan", "site.yml"])
        .expect_code(1)
        .stdout_has("is unknown (ED25519 SHA256:")
        .stdout_has("@cert-authority lines are not used: recon does not verify host certificates");
    assert!(!p.host_root().exists());
}
