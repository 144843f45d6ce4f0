//! The control machine itself: scripts run in a child `sh`, in its own process group so a
//! terminal Ctrl-C reaches only recon, which then decides how to stop.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Output, Stats, Transport, TransportError, TransportErrorKind};

/// Runs scripts locally.
#[derive(Debug, Default)]
pub(crate) struct Local {
    stats: Stats,
}

impl Transport for Local {
    fn run_script(
        &mut self,
        script: &[u8],
        become_: bool,
        stop: &AtomicBool,
    ) -> Result<Output, TransportError> {
        let io = |e: std::io::Error| {
            TransportError::new(TransportErrorKind::Io, format!("cannot run sh: {e}"))
        };
        let mut command = if become_ {
            Command::new("sudo")
        } else {
            Command::new("sh")
        };
        if become_ {
            command.args(["-n", "sh", "-s"]);
        } else {
            command.arg("-s");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(io)?;
        self.stats.channels += 1;
        if self.stats.connections == 0 {
            self.stats.connections = 1;
        }
        self.stats.bytes_sent += script.len() as u64;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| io(std::io::Error::other("no stdin")))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| io(std::io::Error::other("no stdout")))?;
        let mut stderr = child
            .stderr
            .take()
            .ok_or_else(|| io(std::io::Error::other("no stderr")))?;
        let pid = child.id();
        // Feed stdin and drain both outputs concurrently, so no pipe can fill and deadlock.
        let (out, err) = std::thread::scope(|scope| {
            scope.spawn(move || {
                let _ = stdin.write_all(script);
            });
            let out = scope.spawn(move || {
                let mut buf = Vec::new();
                let _ = stdout.read_to_end(&mut buf);
                buf
            });
            let err = scope.spawn(move || {
                let mut buf = Vec::new();
                let _ = stderr.read_to_end(&mut buf);
                buf
            });
            let mut signalled = false;
            while !out.is_finished() || !err.is_finished() {
                if !signalled && stop.load(Ordering::SeqCst) {
                    signalled = true;
                    let _ = Command::new("kill")
                        .args(["-INT", &pid.to_string()])
                        .status();
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (
                out.join().unwrap_or_default(),
                err.join().unwrap_or_default(),
            )
        });
        let status = child.wait().map_err(io)?;
        self.stats.bytes_received += (out.len() + err.len()) as u64;
        Ok(Output {
            status: status.code().unwrap_or(-1),
            stdout: out,
            stderr: err,
        })
    }

    fn stats(&self) -> Stats {
        self.stats
    }
}
