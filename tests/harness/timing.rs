//! Per-test durations for scripts/test.sh's summary, without nightly `--report-time` or an extra
//! tool: a guard started with a test's project appends `test-name seconds` to the file named by
//! `RECON_TEST_TIMINGS` when it is dropped (the test ends, passed or failed). Nothing is written
//! when the variable is unset (a plain `cargo test`).

use std::io::Write as _;
use std::time::Instant;

/// Started when a test makes its project; records on drop.
pub(crate) struct Timing {
    start: Instant,
}

impl Timing {
    pub(crate) fn start() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Drop for Timing {
    fn drop(&mut self) {
        let Some(file) = std::env::var_os("RECON_TEST_TIMINGS") else {
            return;
        };
        // libtest names each test's thread after the test.
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        // One short line per write in append mode: lines of parallel tests do not interleave.
        let line = format!("{name} {:.1}\n", self.start.elapsed().as_secs_f64());
        if let Ok(mut out) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)
        {
            let _ = out.write_all(line.as_bytes());
        }
    }
}
