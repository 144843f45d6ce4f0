//! The go-cart stack end to end with the shipped playbook and roles, on real components: a
//! test sshd (root logs in), the compose repository in a bare git repository served over SSH
//! with a deploy key, a real Docker engine (harness/docker.rs), pebble as the ACME CA (which
//! validates the http-01 challenge through nginx's webroot), certbot, and nginx terminating TLS
//! in front of the app. The firewall role is switched off
//! (`gocart_firewall: false`): ufw is driven only inside a network namespace (tests/firewall.rs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::accounts::ensure_user;
use crate::harness::docker::{self, CleanProject, IMAGE};
use crate::harness::pebble::Pebble;
use crate::harness::sshd::Sshd;
use crate::harness::web::Nginx;
use crate::harness::{copy_tree, free_port, mode, Project};

/// The account serving the bare repository.
const SERVER: &str = "recon_gocartsrv";
/// The app account (the playbook's `cartogram`), this test's own.
const APP_USER: &str = "recon_gocart";
const DOMAIN: &str = "gocart.test";

fn run(dir: &Path, program: &str, args: &[&str], env: &[(&str, String)]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Puts the machine back: the app account, the trusted-directory line, the bare repository.
struct Cleanup {
    git_config: String,
    checkout: String,
    bare: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = Command::new("userdel").args(["-r", APP_USER]).output();
        if let Ok(text) = std::fs::read_to_string(&self.git_config) {
            let ours = format!("directory = {}", self.checkout);
            let mut kept = String::new();
            for line in text.lines().filter(|l| l.trim() != ours) {
                kept.push_str(line);
                kept.push('\n');
            }
            if kept == "[safe]\n" {
                // Only what this test added (the file did not exist before): take it all back.
                let _ = std::fs::remove_file(&self.git_config);
            } else {
                let _ = std::fs::write(&self.git_config, kept);
            }
        }
        let _ = std::fs::remove_dir_all(&self.bare);
    }
}

fn id_of(rows: &[(String, String)], service: &str) -> String {
    rows.iter()
        .find(|(s, _)| s == service)
        .map_or(String::new(), |(_, id)| id.clone())
}

/// GET / through nginx over HTTPS, verifying the certificate against pebble's root; retried
/// while nginx reloads.
fn https_get(port: u16, root: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "5", "--cacert"])
            .arg(root)
            .arg("--resolve")
            .arg(format!("{DOMAIN}:{port}:127.0.0.1"))
            .arg(format!("https://{DOMAIN}:{port}/"))
            .output()
            .expect("curl");
        let body = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && body.contains("go-cart app ok") {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "no answer over https: {body}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn gocart_stack_deploys_end_to_end_and_changes_exactly_what_changed() {
    docker::ensure();
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let _ = Command::new("userdel").args(["-r", APP_USER]).output();
    let server_home = ensure_user(SERVER);
    let sshd = Sshd::start();
    sshd.authorize("root");
    sshd.authorize(SERVER);
    let ssh_env = vec![(
        "GIT_SSH_COMMAND",
        format!(
            "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o UserKnownHostsFile={} -o BatchMode=yes",
            sshd.client_key.display(),
            sshd.known_hosts.display()
        ),
    )];
    let git_id = [
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "-c",
        "init.defaultBranch=main",
    ];

    // The compose repository: examples/gocart pushed to a bare repository over SSH.
    let pid = std::process::id();
    let bare = server_home.join(format!("gocart-{pid}.git"));
    let checkout = format!("/home/{APP_USER}/gocart");
    // The system git config of the git on PATH (Debian's is /etc/gitconfig; a git built from
    // source reads /usr/local/etc/gitconfig): where the role lets root's git trust the checkout.
    let git_config = run(Path::new("/"), "git", &["var", "GIT_CONFIG_SYSTEM"], &[]);
    let _cleanup = Cleanup {
        git_config: git_config.clone(),
        checkout: checkout.clone(),
        bare: bare.clone(),
    };
    let _ = std::fs::remove_dir_all(&bare);
    run(
        &server_home,
        "git",
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            &bare.display().to_string(),
        ],
        &[],
    );
    run(
        &server_home,
        "chown",
        &["-R", SERVER, &bare.display().to_string()],
        &[],
    );
    let work = tempfile::tempdir().expect("work");
    copy_tree(&repo_root.join("examples/gocart"), work.path());
    let url = format!("ssh://{SERVER}@127.0.0.1:{}{}", sshd.port, bare.display());
    let git = |args: &[&str]| {
        let all: Vec<&str> = git_id.iter().chain(args).copied().collect();
        run(work.path(), "git", &all, &ssh_env)
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "go-cart stack"]);
    git(&["remote", "add", "origin", &url]);
    git(&["push", "-q", "origin", "main"]);

    // The server side: pebble, nginx including the site file the playbook writes.
    let plain_port = free_port();
    let pebble = Pebble::start(plain_port);
    let stage = tempfile::tempdir().expect("stage");
    std::fs::set_permissions(
        stage.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let s = stage.path().display().to_string();
    std::fs::create_dir_all(stage.path().join("sites")).expect("sites");
    std::fs::create_dir_all(stage.path().join("cron.d")).expect("cron.d");
    let nginx = Nginx::start(&format!("{s}/sites/*.conf"));
    let conf = nginx.config.display().to_string();
    let (tls_port, app_port) = (free_port(), free_port());
    let project_name = format!("recongocart{pid}");
    let clean = CleanProject(project_name.clone());

    let p = Project::new();
    copy_tree(&repo_root.join("playbooks"), &p.dir().join("playbooks"));
    copy_tree(&repo_root.join("roles"), &p.dir().join("roles"));
    p.file("vault-pass", "gocart test vault password\n");
    // The API key is a vault value, as `recon vault encrypt-string` prints it.
    let sealed = p.recon(&[
        "vault",
        "encrypt-string",
        "--vault-password-file",
        "vault-pass",
        "-n",
        "gocart_mapbox_token",
        "pk.test-mapbox-token",
    ]);
    sealed.expect_code(0).stdout_has("!vault |");
    let mut mapbox = String::new();
    for line in sealed.stdout.lines() {
        mapbox.push_str("          ");
        mapbox.push_str(line);
        mapbox.push('\n');
    }
    let ci_key = std::fs::read_to_string(sshd.client_key.with_extension("pub")).expect("pub");
    let inventory = |renew: &str| {
        format!(
            "all:\n  children:\n    gocart:\n      hosts:\n        web:\n\
             \x20         ansible_host: 127.0.0.1\n\
             \x20         ansible_port: {port}\n\
             \x20         ansible_ssh_private_key_file: {key}\n\
             \x20         recon_known_hosts_file: {kh}\n\
             \x20         domain: {DOMAIN}\n\
             \x20         gocart_user: {APP_USER}\n\
             \x20         gocart_repo: \"{url}\"\n\
             \x20         gocart_repo_key: {key}\n\
             \x20         gocart_repo_known_hosts: {kh}\n\
             \x20         gocart_ci_key: \"{ci}\"\n\
             \x20         gocart_image: {IMAGE}\n\
             \x20         gocart_project: {project_name}\n\
             \x20         gocart_db_password: \"{{{{ lookup('password', 'credentials/gocart_db length=32 chars=ascii_letters,digits') }}}}\"\n\
             \x20         gocart_secret_key: \"{{{{ lookup('password', 'credentials/gocart_key length=48 chars=ascii_letters,digits') }}}}\"\n\
             {token}\
             \x20         app_port: {app_port}\n\
             \x20         certbot_server: \"{server}\"\n\
             \x20         certbot_ca_bundle: {ca}\n\
             \x20         certbot_email: admin@gocart.test\n\
             \x20         certbot_webroot: {s}/webroot\n\
             \x20         certbot_config_dir: {s}/letsencrypt\n\
             \x20         certbot_work_dir: {s}/certbot-work\n\
             \x20         certbot_logs_dir: {s}/certbot-logs\n\
             \x20         certbot_cron_file: {s}/cron.d/certbot-renew\n\
             \x20         certbot_renew_hook: /usr/sbin/nginx -s reload -c {conf}\n\
             \x20         certbot_renew_state: {renew}\n\
             \x20         nginx_site_conf: {s}/sites/gocart.conf\n\
             \x20         nginx_tls_conf: {s}/sites/gocart-tls.conf\n\
             \x20         nginx_check: /usr/sbin/nginx -t -c {conf}\n\
             \x20         nginx_reload: /usr/sbin/nginx -s reload -c {conf}\n\
             \x20         http_listen: 127.0.0.1:{plain_port}\n\
             \x20         https_listen: 127.0.0.1:{tls_port} \n\
             \x20         git_system_config: {git_config}\n\
             \x20         gocart_firewall: false\n",
            port = sshd.port,
            key = sshd.client_key.display(),
            kh = sshd.known_hosts.display(),
            ci = ci_key.trim(),
            token = mapbox,
            server = pebble.directory,
            ca = pebble.listener_ca.display(),
        )
    };
    p.file("inventory/gocart.yml", &inventory("present"));
    let recon = |verb: &str, extra: &[&str]| {
        let mut args = vec![
            verb,
            "playbooks/gocart.yml",
            "-i",
            "inventory/gocart.yml",
            "--vault-password-file",
            "vault-pass",
        ];
        args.extend_from_slice(extra);
        p.recon(&args)
    };

    // The whole stack in one apply.
    let first = recon("apply", &[]);
    first
        .expect_code(0)
        .stdout_has(&format!("+ user {APP_USER}"))
        .stdout_has("+ git ")
        .stdout_has("POSTGRES_PASSWORD=********")
        .stdout_has("+ docker_compose")
        .stdout_has("certbot renew");
    assert!(
        !first.stdout.contains("pk.test-mapbox-token"),
        "the vault value never shows\n{}",
        first.stdout
    );
    first.stdout_has("MAPBOX_TOKEN=********");
    // pebble validated the http-01 challenge by fetching it from nginx's webroot.
    let access =
        std::fs::read_to_string(nginx.config.parent().expect("nginx dir").join("access.log"))
            .unwrap_or_default();
    assert!(
        access.contains("GET /.well-known/acme-challenge/") && access.contains("\" 200 "),
        "pebble fetched no challenge through nginx:\n{access}\n{}",
        pebble.log()
    );
    let body = https_get(tls_port, &pebble.issuing_root());
    assert!(body.contains("database: db"), "{body}");
    assert!(body.contains("api key: set"), "{body}");

    // Account, group, checkout owner, env file, deploy key, renew entry.
    let groups = run(Path::new("/"), "id", &["-Gn", APP_USER], &[]);
    assert!(groups.split(' ').any(|g| g == "docker"), "{groups}");
    let owner = run(
        Path::new("/"),
        "stat",
        &["-c", "%U", &format!("{checkout}/docker-compose.yml")],
        &[],
    );
    assert_eq!(owner, APP_USER);
    let env_file = PathBuf::from(format!("{checkout}/.env"));
    assert_eq!(mode(&env_file), 0o600);
    let env_text = std::fs::read_to_string(&env_file).expect(".env");
    assert!(
        env_text.contains("MAPBOX_TOKEN=pk.test-mapbox-token"),
        "{env_text}"
    );
    let password = env_text
        .lines()
        .find_map(|l| l.strip_prefix("POSTGRES_PASSWORD="))
        .unwrap_or_default();
    assert_eq!(password.len(), 32, "a generated password");
    assert!(!first.stdout.contains(password), "the password never shows");
    // The test sshd runs with `UsePAM no`, where a key login to an account whose password is
    // useradd's locked `!` is refused; Debian's sshd (PAM) accepts it. Unlock for this sshd only.
    run(Path::new("/"), "usermod", &["-p", "*", APP_USER], &[]);
    let whoami = sshd.ssh(APP_USER).arg("id -un").output().expect("ssh");
    assert_eq!(
        String::from_utf8_lossy(&whoami.stdout).trim(),
        APP_USER,
        "the CI deploy key logs in: {}",
        String::from_utf8_lossy(&whoami.stderr)
    );
    let cron = std::fs::read_to_string(stage.path().join("cron.d/certbot-renew")).expect("cron");
    assert!(cron.contains("17 2 * * * root certbot renew"), "{cron}");
    let containers = clean.containers();
    assert_eq!(containers.len(), 3, "{containers:?}");

    // Converged.
    recon("plan", &["--detailed-exitcode"])
        .expect_code(0)
        .stdout_has("No changes.");

    // One service changes upstream: the checkout is updated first, then the plan names exactly
    // that service's recreation, and only its container is replaced.
    let compose = work.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).expect("compose");
    let redis_old =
        "  redis:\n    image: ${GOCART_IMAGE:-redis:7}\n    command: [\"sleep\", \"2147483647\"]";
    assert!(text.contains(redis_old), "{text}");
    std::fs::write(
        &compose,
        text.replace(
            redis_old,
            "  redis:\n    image: ${GOCART_IMAGE:-redis:7}\n    command: [\"sleep\", \"2147483646\"]",
        ),
    )
    .expect("edit compose");
    git(&["commit", "-q", "-am", "redis: another command"]);
    git(&["push", "-q", "origin", "main"]);
    recon("apply", &["--tags", "checkout"])
        .expect_code(0)
        .stdout_has("~ git ");
    let redis = id_of(&containers, "redis");
    recon("plan", &[])
        .expect_code(0)
        .stdout_has(&format!(
            "service: redis {} -> recreate: its configuration changed",
            &redis[..12]
        ))
        .stdout_has("left alone: app, db")
        .stdout_has("Plan: 0 to add, 1 to change, 0 to remove");
    recon("apply", &[]).expect_code(0);
    let after = clean.containers();
    assert_ne!(id_of(&after, "redis"), redis, "redis was recreated");
    assert_eq!(
        id_of(&after, "app"),
        id_of(&containers, "app"),
        "app kept its container"
    );
    assert_eq!(
        id_of(&after, "db"),
        id_of(&containers, "db"),
        "db kept its container"
    );
    https_get(tls_port, &pebble.issuing_root());
    recon("plan", &["--detailed-exitcode"]).expect_code(0);

    // Removing the renew entry plans and applies exactly that removal.
    p.file("inventory/gocart.yml", &inventory("absent"));
    recon("plan", &[])
        .expect_code(0)
        .stdout_has("- cron certbot renew")
        .stdout_has("Plan: 0 to add, 0 to change, 1 to remove");
    recon("apply", &[]).expect_code(0);
    let cron =
        std::fs::read_to_string(stage.path().join("cron.d/certbot-renew")).unwrap_or_default();
    assert!(!cron.contains("certbot renew"), "{cron}");
    recon("plan", &["--detailed-exitcode"]).expect_code(0);
    https_get(tls_port, &pebble.issuing_root());
    drop(nginx);
}

/// The shipped playbooks compile for the shipped inventories: go-cart with its firewall role on
/// (the end-to-end test switches it off), and digicam waypoint 9 (the API as a container behind
/// the same nginx_site role), which needs a python image no registry here can provide, so it
/// is checked, not deployed.
#[test]
fn shipped_gocart_and_digicam_docker_playbooks_check() {
    let repo_root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = Project::new();
    for dir in ["playbooks", "roles", "inventory", "examples/digicam"] {
        copy_tree(&repo_root.join(dir), &p.dir().join(dir));
    }
    let _ = std::fs::remove_dir_all(p.dir().join("playbooks/credentials"));
    p.file("vault-pass", "check only\n");
    p.recon(&[
        "check",
        "playbooks/gocart.yml",
        "-i",
        "inventory/gocart.yml",
        "--vault-password-file",
        "vault-pass",
    ])
    .expect_code(0)
    .stdout_has("1 play, 20 tasks compiled for 1 host");
    p.recon(&[
        "check",
        "playbooks/digicam-docker.yml",
        "-i",
        "inventory/squads.yml",
    ])
    .expect_code(0)
    .stdout_has("33 tasks compiled for 3 hosts");
}
