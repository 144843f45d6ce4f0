//! Ansible's `get_url`, `unarchive` (remote_src), `uri`, `wait_for` and `pip` applied by recon
//! over the test sshd to an account of this test's own, from a real HTTP server on loopback
//! (python3's http.server, also pip's `--find-links` index for a wheel built here): the files,
//! modes, extracted trees and the virtualenv are what Ansible leaves, a second plan is empty,
//! and drift (a changed member, a file with another checksum) is planned with its reason.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::accounts::ensure_user;

use crate::harness::sshd::Sshd;
use crate::harness::{free_port, Project};

/// The account this test owns (no other test uses it).
const ACCOUNT: &str = "recon_fetch";

/// python3's http.server serving a folder on 127.0.0.1, killed when dropped.
pub(super) struct Http {
    pub(super) port: u16,
    child: Child,
}

impl Http {
    pub(super) fn start(dir: &Path) -> Self {
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "http.server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files the server offers: a text file, the same tree as .tgz and .zip, and a wheel.
pub(super) fn build_www(www: &Path) {
    let src = www.join(".src/app");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::write(src.join("VERSION"), "v1\n").expect("write");
    std::fs::write(src.join("notes.txt"), "left out\n").expect("write");
    std::fs::write(www.join("a.txt"), "hello from the server\n").expect("write");
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(www.join("app.tgz"))
        .arg("-C")
        .arg(www.join(".src"))
        .arg("app")
        .status()
        .expect("tar runs");
    assert!(ok.success());
    let script = r#"import sys, zipfile
www = sys.argv[1]
with zipfile.ZipFile(www + "/app.zip", "w") as z:
    z.write(www + "/.src/app/VERSION", "app/VERSION")
    z.write(www + "/.src/app/notes.txt", "app/notes.txt")
files = {
    "tinypkg/__init__.py": "V = '1.0'\n",
    "tinypkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
    "tinypkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: recon-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = "".join(name + ",,\n" for name in files) + "tinypkg-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile(www + "/wheels/tinypkg-1.0-py3-none-any.whl", "w") as z:
    for name, text in files.items():
        z.writestr(name, text)
    z.writestr("tinypkg-1.0.dist-info/RECORD", record)
"#;
    std::fs::create_dir_all(www.join("wheels")).expect("mkdir");
    let ok = Command::new("python3")
        .args(["-c", script])
        .arg(www)
        .status()
        .expect("python3 runs");
    assert!(ok.success());
}

pub(super) fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

fn inventory(sshd: &Sshd, base: &Path, port: u16, a_sha: &str) -> String {
    let mut out = String::from("all:\n  hosts:\n");
    let _ = write!(
        out,
        "    {ACCOUNT}:\n      ansible_host: 127.0.0.1\n      ansible_port: {}\n      ansible_user: {ACCOUNT}\n      ansible_ssh_private_key_file: {}\n      recon_known_hosts_file: {}\n      base: {}\n      web: http://127.0.0.1:{port}\n      a_sha: {a_sha}\n",
        sshd.port,
        sshd.client_key.display(),
        sshd.known_hosts.display(),
        base.display(),
    );
    out
}

pub(super) const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - name: Base folder
      file: path={{ base }} state=directory mode=0755
    - name: A file with its checksum
      ansible.builtin.get_url:
        url: "{{ web }}/a.txt"
        dest: "{{ base }}/a.txt"
        mode: "0640"
        checksum: "sha256:{{ a_sha }}"
        headers:
          X-Test: "yes"
    - name: The tarball
      get_url: url={{ web }}/app.tgz dest={{ base }}/app.tgz timeout=20
    - name: The zip
      get_url: url={{ web }}/app.zip dest={{ base }}/app.zip force=no
    - file: path={{ base }}/opt state=directory
    - file: path={{ base }}/zipped state=directory
    - name: Unpack the tarball without its top folder
      unarchive:
        src: "{{ base }}/app.tgz"
        dest: "{{ base }}/opt"
        remote_src: yes
        extra_opts: [--strip-components=1]
    - name: Unpack the zip but its notes
      ansible.builtin.unarchive:
        src: "{{ base }}/app.zip"
        dest: "{{ base }}/zipped"
        remote_src: true
        exclude: [app/notes.txt]
    - name: The server answers
      uri: url={{ web }}/a.txt status_code=200,204 timeout=5
    - name: The port is open
      wait_for: port={{ web | regex_replace('.*:', '') }} host=127.0.0.1 timeout=10
    - name: The version is there
      wait_for:
        path: "{{ base }}/opt/VERSION"
        search_regex: "^v1$"
        timeout: 5
    - name: A virtualenv with the wheel
      pip:
        name: tinypkg==1.0
        virtualenv: "{{ base }}/venv"
        virtualenv_command: /usr/bin/python3 -m venv
        extra_args: "--no-index --find-links {{ web }}/wheels/"
"#;

#[test]
fn get_url_unarchive_uri_wait_for_and_pip_apply_over_ssh_and_converge() {
    let sshd = Sshd::start();
    let home = ensure_user(ACCOUNT);
    sshd.authorize(ACCOUNT);
    let base: PathBuf = home.join("fetch");
    let _ = std::fs::remove_dir_all(&base);
    let www = tempfile::tempdir().expect("tempdir");
    build_www(www.path());
    let http = Http::start(www.path());
    let a_sha = sha256(&www.path().join("a.txt"));
    let p = Project::new();
    p.file("site.yml", PLAYBOOK).file(
        "inventory/hosts.yml",
        &inventory(&sshd, &base, http.port, &a_sha),
    );

    p.recon(&["check", "site.yml"]).expect_code(0);
    p.recon(&["plan", "site.yml"])
        .expect_code(0)
        .stdout_has(&format!("content: sha256:{a_sha}"))
        .stdout_has("! unpack ")
        .stdout_has("# because the archive is not there yet")
        .stdout_has("! pip tinypkg==1.0 in ")
        .stdout_has("# because the virtualenv does not exist yet")
        .stdout_has("! wait_for `^v1$` in ");
    p.recon(&["apply", "site.yml"]).expect_code(0);

    assert_eq!(
        std::fs::read_to_string(base.join("a.txt")).expect("a.txt"),
        "hello from the server\n"
    );
    assert_eq!(crate::harness::mode(&base.join("a.txt")), 0o640);
    assert_eq!(crate::harness::mode(&base.join("app.tgz")), 0o644);
    assert_eq!(
        std::fs::read_to_string(base.join("opt/VERSION")).expect("stripped"),
        "v1\n"
    );
    assert!(base.join("opt/notes.txt").exists());
    assert!(base.join("zipped/app/VERSION").exists());
    assert!(
        !base.join("zipped/app/notes.txt").exists(),
        "excluded from the zip"
    );
    let owner = Command::new("stat")
        .args(["-c", "%U"])
        .arg(base.join("a.txt"))
        .output()
        .expect("stat");
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), ACCOUNT);
    let imported = Command::new(base.join("venv/bin/python"))
        .args(["-c", "import tinypkg; print(tinypkg.V)"])
        .output()
        .expect("venv python runs");
    assert_eq!(String::from_utf8_lossy(&imported.stdout), "1.0\n");
    let leftovers: Vec<_> = std::fs::read_dir(&base)
        .expect("ls")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".recon"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes");

    // Drift: a member changed, the checksummed file replaced by other bytes.
    std::fs::write(base.join("opt/VERSION"), "v0\n").expect("write");
    std::fs::write(base.join("a.txt"), "tampered\n").expect("write");
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(2)
        .stdout_has("# because checksum differs")
        .stdout_has("# because differs: VERSION: ");
    p.recon(&["apply", "site.yml"]).expect_code(0);
    assert_eq!(
        std::fs::read_to_string(base.join("a.txt")).expect("a.txt"),
        "hello from the server\n"
    );
    p.recon(&["plan", "site.yml", "--detailed-exitcode"])
        .expect_code(0);
    drop(http);
}

/// What recon cannot honour in these modules is a located error, never a silent difference.
#[test]
fn fetch_module_arguments_recon_cannot_honour_are_located_errors() {
    for (task, error) in [
        (
            "uri: url=http://x/api method=POST body=x",
            "`uri` argument `body` is not supported by recon",
        ),
        (
            "uri: url=http://x/api method=DELETE",
            "`uri` with `method: DELETE` changes state and recon cannot plan it",
        ),
        (
            "get_url: url=http://x/a.tgz dest=/srv/",
            "`get_url` into a directory",
        ),
        (
            "get_url: url=http://x/a.tgz dest=/srv/a.tgz checksum=sha256:http://x/SUMS",
            "a `checksum` read from a URL is not supported",
        ),
        (
            "unarchive: src=app.tgz dest=/srv",
            "`unarchive` of an archive that is not on the host is not supported",
        ),
        (
            "unarchive: src=/tmp/a.tgz dest=/srv remote_src=yes owner=www-data",
            "`unarchive` argument `owner` is not supported by recon",
        ),
        (
            "wait_for: port=80 exclude_hosts=10.0.0.1",
            "`wait_for` argument `exclude_hosts` is not supported by recon",
        ),
        (
            "wait_for: port=80 search_regex=OpenSSH",
            "`search_regex` is only used with `path`",
        ),
        (
            "pip: name=flask umask=0022",
            "`pip` argument `umask` is not supported by recon",
        ),
        (
            "pip: name=flask virtualenv=/srv/v virtualenv_command='python3 -m venv' virtualenv_python=python3.11",
            "`virtualenv_python` cannot be used with the venv module",
        ),
    ] {
        let p = Project::new();
        p.file(
            "site.yml",
            &format!("- hosts: all\n  gather_facts: false\n  tasks:\n    - {task}\n"),
        );
        p.recon(&["check", "site.yml"])
            .expect_code(1)
            .stderr_has(error)
            .stderr_has("site.yml:4");
    }
}

/// Shell metacharacters, quotes, a newline, globs, expansions and a fake free-form argument.
/// Each command substitution would create a canary file in `$HOME` (the project folder).
const HOSTILE: &str =
    "a$(cd;touch c1)b`cd;touch c2`c'd\"e\\f;g&h|i\nj ${HOME} * ~ -n state=absent mode=0777";

const HOSTILE_PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - file: path={{ root }} state=directory
    - get_url:
        url: "{{ web }}/a.txt"
        dest: "{{ root }}/g-{{ h }}"
        mode: "0600"
        checksum: "sha256:{{ a_sha }}"
        headers: { X-H: "{{ h1 }}" }
    - get_url: { url: "{{ web }}/app.tgz", dest: "{{ root }}/t-{{ h }}.tgz" }
    - file: path={{ root }}/x-{{ h }} state=directory
    - unarchive:
        src: "{{ root }}/t-{{ h }}.tgz"
        dest: "{{ root }}/x-{{ h }}"
        remote_src: yes
        exclude: ["{{ h1 }}", app/notes.txt]
    - wait_for:
        path: "{{ root }}/x-{{ h }}/app/VERSION"
        search_regex: "^v1$"
        msg: "{{ h }}"
        timeout: 2
    - wait_for: { path: "{{ root }}/never-{{ h }}", state: absent, timeout: 1 }
    - uri:
        url: "{{ web }}/a.txt"
        headers: { X-H: "{{ h1 }}" }
    - pip:
        name: tinypkg
        virtualenv: "{{ root }}/venv"
        virtualenv_command: /usr/bin/python3 -m venv
        extra_args: "--no-index --find-links {{ wheels | quote }}"
"#;

#[test]
fn hostile_values_through_the_fetch_modules_run_nothing_and_arrive_byte_exact() {
    let www = tempfile::tempdir().expect("tempdir");
    build_www(www.path());
    let http = Http::start(www.path());
    let wheels = www.path().join(format!("w-{HOSTILE}"));
    std::fs::create_dir(&wheels).expect("mkdir");
    std::fs::copy(
        www.path().join("wheels/tinypkg-1.0-py3-none-any.whl"),
        wheels.join("tinypkg-1.0-py3-none-any.whl"),
    )
    .expect("copy wheel");
    let p = Project::new();
    let root = p.host_root();
    let vars = serde_json::json!({
        "h": HOSTILE,
        "h1": HOSTILE.replace('\n', " "),
        "web": format!("http://127.0.0.1:{}", http.port),
        "a_sha": sha256(&www.path().join("a.txt")),
        "wheels": wheels,
    });
    p.file("extra.json", &vars.to_string())
        .file("site.yml", HOSTILE_PLAYBOOK);
    p.recon(&["apply", "site.yml", "-e", "@extra.json"])
        .expect_code(0);
    for canary in ["c1", "c2"] {
        assert!(
            !p.dir().join(canary).exists(),
            "a hostile value ran: {canary}"
        );
    }
    let got = root.join(format!("g-{HOSTILE}"));
    assert_eq!(
        std::fs::read_to_string(&got).expect("downloaded"),
        "hello from the server\n"
    );
    assert_eq!(crate::harness::mode(&got), 0o600);
    let x = root.join(format!("x-{HOSTILE}/app"));
    assert_eq!(
        std::fs::read_to_string(x.join("VERSION")).expect("extracted"),
        "v1\n"
    );
    assert!(!x.join("notes.txt").exists(), "excluded");
    assert!(root.join("venv/lib").is_dir());
    p.recon(&[
        "plan",
        "site.yml",
        "-e",
        "@extra.json",
        "--detailed-exitcode",
    ])
    .expect_code(0);
    drop(http);
}
