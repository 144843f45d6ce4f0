//! Trust under faults: each test puts recon in a hostile or broken world (a full disk, links
//! another account planted, revoked host keys, hostile tarballs, a port already bound, nginx
//! stopped, `--limit` with a conflict) and asserts what is on the host afterwards and that the
//! next run converges. Interrupted runs and dropped links are in tests/interrupted.rs.

mod archives;
mod claims;
mod disk;
mod health;
mod known_hosts;
mod lock_holder;
mod reload;
mod stage;

/// `stderr` with the error renderer's line wrapping undone (`\n  │ ` continuation lines), so a
/// test can look for a whole sentence.
pub(crate) fn unwrapped(stderr: &str) -> String {
    stderr.replace("\n  │ ", " ")
}

/// Asserts that the run's stderr, unwrapped, contains each of `needles`.
pub(crate) fn stderr_says(run: &crate::harness::Run, needles: &[&str]) {
    let text = unwrapped(&run.stderr);
    for needle in needles {
        assert!(
            text.contains(needle),
            "stderr lacks {needle:?}\n--- stderr\n{}",
            run.stderr
        );
    }
}

/// Polls `condition` for up to 10 s (nginx reloads and restarts settle asynchronously).
pub(crate) fn eventually(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met within 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
