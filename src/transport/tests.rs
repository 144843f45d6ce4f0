//! Both transports end to end against real programs: `sh` here, and the integration tests'
//! throwaway OpenSSH server for SSH. They live next to the code because attachments, keepalive
//! settings and memory use are not reachable from the command line yet.

#[path = "../../tests/harness/sshd.rs"]
#[allow(clippy::missing_panics_doc)] // a test harness: it panics by design, with the sshd log
mod sshd;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::{
    script_with_attachments, Attachment, ConnectOptions, ConnectionKind, Invocation, Local, Target,
    Transport,
};
use crate::script::{n, w, Script};
use sshd::Sshd;

/// Where sshd appends its log (opened in append mode, so a test may write marker lines into it
/// to bracket what happened in between).
fn log_path(sshd: &Sshd) -> std::path::PathBuf {
    sshd.dir.path().join("sshd.log")
}

/// Reads two attachments into files with `head -c`, as artifact scripts will, and prints their
/// sha256 sums and sizes.
fn two_file_script(a: u64, b: u64) -> Script {
    let mut script = Script::new();
    script.fill(
        "set -e\nd=$(mktemp -d)\nhead -c {} > \"$d/a\"\nhead -c {} > \"$d/b\"\n\
         cd \"$d\" && sha256sum a b && wc -c < a && wc -c < b\nrm -rf \"$d\"\n",
        [n(a), n(b)],
    );
    script
}

/// A file of `size` bytes of a non-repeating pattern, written in small pieces.
fn pattern_file(dir: &Path, name: &str, size: u64, seed: u64) -> Attachment {
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut x = seed | 1;
    let mut left = size;
    while left > 0 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let bytes = x.to_le_bytes();
        let n = usize::try_from(left.min(8)).expect("small");
        file.write_all(&bytes[..n]).expect("write");
        left -= n as u64;
    }
    file.flush().expect("flush");
    Attachment { path, size }
}

/// The file's digest from the real `sha256sum` (fast even in a debug build).
fn sha256_hex(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_owned()
}

/// Runs the two-attachment script on `transport` and checks the remote side got both files
/// byte for byte.
fn check_two_attachments(transport: &mut dyn Transport, files: &[Attachment; 2]) {
    let script = two_file_script(files[0].size, files[1].size);
    let command = script_with_attachments(script.as_str().len(), false);
    let before = transport.stats().bytes_sent;
    let out = transport
        .run(
            &Invocation {
                command: command.as_str(),
                stdin: script.as_bytes(),
                attachments: files,
                watch: None,
            },
            &AtomicBool::new(false),
        )
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status,
        0,
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!(
        "{}  a\n{}  b\n{}\n{}\n",
        sha256_hex(&files[0].path),
        sha256_hex(&files[1].path),
        files[0].size,
        files[1].size
    );
    assert_eq!(stdout, want);
    assert_eq!(
        transport.stats().bytes_sent - before,
        script.as_str().len() as u64 + files[0].size + files[1].size,
        "bytes_sent counts the attachments"
    );
}

fn ssh_target(sshd: &Sshd) -> Target {
    Target {
        connection: ConnectionKind::Ssh,
        address: "127.0.0.1".to_owned(),
        port: Some(sshd.port),
        user: Some("root".to_owned()),
        identity_file: Some(sshd.client_key.display().to_string()),
        known_hosts_file: Some(sshd.known_hosts.display().to_string()),
        become_: None,
    }
}

const BIG: u64 = 50 * 1024 * 1024;

#[test]
fn attachments_arrive_byte_exact_locally_including_50_mb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        pattern_file(dir.path(), "small", 1000, 1),
        pattern_file(dir.path(), "big", BIG, 2),
    ];
    check_two_attachments(&mut Local::default(), &files);
}

#[test]
fn attachments_arrive_byte_exact_over_ssh_including_50_mb() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        pattern_file(dir.path(), "small", 1000, 3),
        pattern_file(dir.path(), "big", BIG, 4),
    ];
    let mut ssh = super::connect(&ssh_target(&sshd), &ConnectOptions::default()).expect("connects");
    check_two_attachments(ssh.as_mut(), &files);
    // The session is still good for the next command.
    let out = ssh
        .run_script(b"echo again", false, &AtomicBool::new(false))
        .expect("runs");
    assert_eq!(out.stdout, b"again\n");
}

#[test]
fn an_attachment_that_changed_size_is_an_error_and_the_script_sees_a_short_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut file = pattern_file(dir.path(), "a", 100, 5);
    file.size = 200;
    let seen = dir.path().join("seen");
    let mut script = Script::new();
    script.fill("head -c 200 > {}\n", [w(&seen.display().to_string())]);
    let command = script_with_attachments(script.as_str().len(), false);
    let sshd = Sshd::start();
    sshd.authorize("root");
    let ssh = super::connect(&ssh_target(&sshd), &ConnectOptions::default()).expect("connects");
    for mut transport in [Box::new(Local::default()) as Box<dyn Transport>, ssh] {
        let err = transport
            .run(
                &Invocation {
                    command: command.as_str(),
                    stdin: script.as_bytes(),
                    attachments: std::slice::from_ref(&file),
                    watch: None,
                },
                &AtomicBool::new(false),
            )
            .expect_err("size mismatch");
        assert!(
            err.message
                .contains("expected 200 bytes, but it now has 100 bytes"),
            "{}",
            err.message
        );
        // The remote side got the script but no attachment byte, and its read ended.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&seen).map_or(true, |m| m.len() != 0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(std::fs::metadata(&seen).map(|m| m.len()).ok(), Some(0));
        std::fs::remove_file(&seen).expect("remove");
    }
}

#[test]
fn keepalives_are_sent_while_a_silent_command_runs() {
    let sshd = Sshd::start_logging("DEBUG1");
    sshd.authorize("root");
    let log = log_path(&sshd).display().to_string();
    // Counts the keepalives sshd logged between the script's own start and end markers, so
    // the ones libssh2 sends by itself while blocking (channel open and close) do not count.
    let quiet = |interval: u64, seconds: &str| {
        let options = ConnectOptions {
            keepalive_interval: Duration::from_secs(interval),
            ..ConnectOptions::default()
        };
        let mut ssh = super::connect(&ssh_target(&sshd), &options).expect("connects");
        let script = format!("echo MARK-START >> {log}; sleep {seconds}; echo MARK-END >> {log}");
        let out = ssh
            .run_script(script.as_bytes(), false, &AtomicBool::new(false))
            .expect("runs");
        assert_eq!(out.status, 0);
        let text = sshd.log();
        let start = text.rfind("MARK-START").expect("start marker");
        let end = text.rfind("MARK-END").expect("end marker");
        text[start..end]
            .matches("rtype keepalive@libssh2.org")
            .count()
    };
    // libssh2 raises a 1 s interval to 2 s: sends are due 2 s and 4 s into the 4.5 s sleep.
    let sent = quiet(1, "4.5");
    assert!(
        (2..=3).contains(&sent),
        "{sent} keepalives in 4.5 s at one per 2 s\n{}",
        sshd.log()
    );
    assert_eq!(quiet(0, "2.5"), 0, "none when disabled");
}

#[test]
fn stop_interrupts_the_script_that_printed_its_pid_on_both_transports() {
    let sshd = Sshd::start();
    sshd.authorize("root");
    let ssh = super::connect(&ssh_target(&sshd), &ConnectOptions::default()).expect("connects");
    let script = b"printf '@@pid %s\\n' $$; trap 'kill $!; echo got INT; exit 3' INT; sleep 20 >/dev/null & wait";
    for mut transport in [Box::new(Local::default()) as Box<dyn Transport>, ssh] {
        let stop = AtomicBool::new(false);
        let started = Instant::now();
        let out = std::thread::scope(|scope| {
            scope.spawn(|| {
                // Long enough for the script to have started and printed its pid even on a
                // loaded machine; the interrupt must still end it well before `sleep 20`.
                std::thread::sleep(Duration::from_millis(1500));
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            transport.run_script(script, false, &stop).expect("runs")
        });
        assert_eq!(out.status, 3, "{}", String::from_utf8_lossy(&out.stdout));
        assert!(String::from_utf8_lossy(&out.stdout).ends_with("got INT\n"));
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_background_process_holding_stdin_does_not_hang_either_transport() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = pattern_file(dir.path(), "a", 4 * 1024 * 1024, 8);
    // The script leaves a process that holds stdin open without reading, and exits: the
    // attachment can never be sent in full.
    let script =
        Script::of("exec 3<&0; sleep 30 <&3 >/dev/null 2>&1 3<&- & exec 3<&-; echo \"$!\"\n");
    let command = script_with_attachments(script.as_str().len(), false);
    let sshd = Sshd::start();
    sshd.authorize("root");
    let ssh = super::connect(&ssh_target(&sshd), &ConnectOptions::default()).expect("connects");
    for mut transport in [Box::new(Local::default()) as Box<dyn Transport>, ssh] {
        let started = Instant::now();
        let out = transport
            .run(
                &Invocation {
                    command: command.as_str(),
                    stdin: script.as_bytes(),
                    attachments: std::slice::from_ref(&file),
                    watch: None,
                },
                &AtomicBool::new(false),
            )
            .expect("runs");
        let elapsed = started.elapsed();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let _ = std::process::Command::new("kill").arg(&pid).status();
        assert_eq!(out.status, 0);
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }
}

/// Environment variable that makes `memory_does_not_grow_with_attachment_size` do the
/// measuring in a fresh process of this test binary, away from other tests' allocations.
const MEASURE: &str = "RECON_TRANSPORT_MEASURE_RSS";

/// Peak RSS (kB) since the last reset, from /proc/self/status.
fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn memory_does_not_grow_with_attachment_size() {
    if std::env::var_os(MEASURE).is_none() {
        let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "transport::tests::memory_does_not_grow_with_attachment_size",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(MEASURE, "1")
            .output()
            .expect("runs itself");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let files = [
        pattern_file(dir.path(), "small", 10, 6),
        pattern_file(dir.path(), "big", BIG, 7),
    ];
    let sshd = Sshd::start();
    sshd.authorize("root");
    let mut ssh = super::connect(&ssh_target(&sshd), &ConnectOptions::default()).expect("connects");
    for (name, transport) in [
        ("local", &mut Local::default() as &mut dyn Transport),
        ("ssh", ssh.as_mut()),
    ] {
        // Writing 5 resets the peak to the current RSS (Linux >= 4.0).
        std::fs::write("/proc/self/clear_refs", "5").expect("reset peak RSS");
        let base = peak_kb();
        check_two_attachments(transport, &files);
        let grown = peak_kb().saturating_sub(base);
        eprintln!(
            "{name}: peak RSS grew by {grown} kB streaming {} MB",
            BIG >> 20
        );
        assert!(grown < 16 * 1024, "{name}: peak RSS grew by {grown} kB");
    }
}
