//! Artifacts: a release archive is streamed to an account at most once per run, checked by hash
//! on the host before use, and named by hash in saved plans (which stay small).

use std::fmt::Write as _;

use crate::harness::Project;

const RELEASE: &str = r#"- name: deploy
  hosts: all
  tasks:
    - release: { root: "{{ root }}/{{ inventory_hostname }}", version: v1, src: big.tar.gz }
"#;

/// Incompressible content, so the archive is as big on the wire as on disk.
const PAYLOAD: usize = 2 * 1024 * 1024;

/// Three targets of one account (the local connection), each with its own release root.
fn project() -> (Project, u64) {
    let p = Project::new();
    let root = p.host_root();
    std::fs::create_dir_all(&root).expect("root");
    let mut hosts = String::from("all:\n  vars: { ansible_connection: local }\n  hosts:\n");
    for name in ["one", "two", "three"] {
        let _ = writeln!(hosts, "    {name}: {{ root: {} }}", root.display());
    }
    p.file("inventory/hosts.yml", &hosts)
        .file("site.yml", RELEASE);
    let size = p.tarball("big.tar.gz", &[("blob.bin", &incompressible(PAYLOAD))]);
    (p, size)
}

/// `len` bytes that do not compress.
pub(crate) fn incompressible(len: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(len + 8);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    data
}

/// `bytes_sent` of every host in the `--stats` table.
pub(crate) fn bytes_sent(stdout: &str) -> u64 {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("HOST") || !l.contains("SENT"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_release_reaches_an_account_once_per_run_and_is_checked_before_use() {
    let (p, size) = project();
    let run = p.recon(&["apply", "site.yml", "--stats"]);
    run.expect_code(0);
    for name in ["one", "two", "three"] {
        let unpacked = p.host(&format!("{name}/v1/blob.bin"));
        assert_eq!(
            std::fs::metadata(&unpacked).expect("unpacked").len(),
            PAYLOAD as u64
        );
    }
    let sent = bytes_sent(&run.stdout);
    assert!(
        sent > size && sent < size + size / 2,
        "three targets of one account: the {size}-byte archive went once, not thrice ({sent} bytes sent)\n{}",
        run.stdout
    );
    // The account's blob store holds it under its hash, private to the account.
    let blobs = p.dir().join(".cache/recon/blobs");
    assert_eq!(crate::harness::mode(&blobs), 0o700);
    let stored: Vec<_> = std::fs::read_dir(&blobs)
        .expect("blob store")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].len(), 64, "named by sha256: {stored:?}");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
}

#[test]
fn a_blob_damaged_on_the_host_is_replaced_by_the_next_run() {
    let (p, _) = project();
    // The first run delivers the blob; then it is damaged. The next run sends it again.
    p.recon(&["apply", "site.yml", "-l", "one"]).expect_code(0);
    let blobs = p.dir().join(".cache/recon/blobs");
    let blob = std::fs::read_dir(&blobs)
        .expect("blob store")
        .flatten()
        .next()
        .expect("one blob")
        .path();
    std::fs::write(&blob, b"tampered").expect("tamper");
    // A saved plan for `two` refers to the blob by hash; applying it sends it again (a new run).
    p.recon(&["plan", "site.yml", "-l", "two", "-o", "two.plan"])
        .expect_code(0);
    p.recon(&["apply", "two.plan"]).expect_code(0);
    assert!(p.host("two/v1/blob.bin").exists());
}

#[test]
fn a_saved_plan_names_the_archive_by_hash_and_stays_small() {
    let (p, size) = project();
    p.recon(&["plan", "site.yml", "-o", "release.plan"])
        .expect_code(0);
    let saved = std::fs::metadata(p.dir().join("release.plan"))
        .expect("saved")
        .len();
    // Three hosts' apply scripts (about 20 KB each, mostly the shell helpers every script
    // carries), never the 2 MB archive itself.
    assert!(
        saved < 96 * 1024,
        "a saved plan for a {size}-byte release is {saved} bytes"
    );
    assert_eq!(
        crate::harness::mode(&p.dir().join("release.plan")),
        0o600,
        "saved plans may hold secrets"
    );
    p.recon(&["apply", "release.plan"]).expect_code(0);
    assert!(p.host("three/v1/blob.bin").exists());
}

#[test]
fn a_large_file_travels_as_an_artifact_once_and_arrives_exactly() {
    let (p, _) = project();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(p.dir().join("files/big.bin"), &big).expect("write");
    p.file(
        "files.yml",
        r#"- hosts: all
  tasks:
    - file: { path: "{{ root }}/{{ inventory_hostname }}.bin", src: big.bin, mode: "0600" }
    - template: { src: big.j2, dest: "{{ root }}/{{ inventory_hostname }}.txt" }
"#,
    )
    .file(
        "templates/big.j2",
        &format!("{{{{ inventory_hostname }}}}\n{}\n", "x".repeat(100_000)),
    );
    let run = p.recon(&["apply", "files.yml", "--stats"]);
    run.expect_code(0);
    for name in ["one", "two", "three"] {
        assert_eq!(
            std::fs::read(p.host(&format!("{name}.bin"))).expect("file"),
            big
        );
        assert_eq!(crate::harness::mode(&p.host(&format!("{name}.bin"))), 0o600);
        let text = p.read_host(&format!("{name}.txt"));
        assert!(text.starts_with(&format!("{name}\n")), "rendered per host");
    }
    let sent = bytes_sent(&run.stdout);
    // The 300 kB file went once; the three 100 kB templates differ per host, so each went once.
    assert!(
        sent < 300_000 + 3 * 100_000 + 200_000,
        "{sent} bytes sent\n{}",
        run.stdout
    );
    p.recon(&["plan", "files.yml", "--detailed-exitcode"])
        .expect_code(0);
}
