//! Unix accounts for SSH tests: created once, shared by every test that logs in as them.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long `ensure_user` retries a locked `/etc/passwd`.
const PATIENCE: Duration = Duration::from_secs(15);

/// Creates Unix account `name` (home under /home, shell /bin/sh) unless it exists; returns its
/// home. Safe to call concurrently: a global lock serialises this binary's calls, and useradd's
/// "already exists" or lock contention with other processes is retried by re-reading passwd.
///
/// The password field is `*`, not useradd's default `!`: with `UsePAM no`, sshd rejects
/// accounts whose password starts with `!` as locked, even for public-key logins.
pub(crate) fn ensure_user(name: &str) -> PathBuf {
    static USERS: Mutex<()> = Mutex::new(());
    let _guard = USERS.lock().unwrap_or_else(PoisonError::into_inner);
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(home) = home_of(name) {
            return home;
        }
        let out = Command::new("/usr/sbin/useradd")
            .args(["-m", "-s", "/bin/sh", "-p", "*", name])
            .stdin(Stdio::null())
            .output()
            .expect("run /usr/sbin/useradd");
        // Exit 9: name taken meanwhile (another process); the next passwd read finds it.
        if !out.status.success() && out.status.code() != Some(9) {
            assert!(
                Instant::now() < deadline,
                "useradd {name} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // Most likely /etc/passwd is locked by a concurrent useradd.
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The home folder of `name` from the passwd database, or `None` when there is no such user.
fn home_of(name: &str) -> Option<PathBuf> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .stdin(Stdio::null())
        .output()
        .expect("run getent");
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let home = line
        .trim_end()
        .split(':')
        .nth(5)
        .expect("passwd home field");
    Some(PathBuf::from(home))
}
