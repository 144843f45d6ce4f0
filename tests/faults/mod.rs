//! Trust under faults (issue 8, classes 4–8): each test puts recon in a hostile or broken world
//! (revoked host keys, hostile tarballs, a port already bound, nginx stopped, `--limit` with a
//! conflict) and asserts what is on the host afterwards and that the next run converges.

mod archives;
mod claims;
mod known_hosts;

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
