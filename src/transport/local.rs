//! The control machine itself: commands run in a child `sh -c`, in its own process group so a
//! terminal Ctrl-C reaches only recon, which then decides how to stop. Threads feed stdin and
//! drain the outputs, and the caller's thread blocks on them (waking only to check `stop`), so
//! a long step costs no CPU here.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::feed::Feed;
use super::invocation::printed_pid;
use super::{Invocation, Output, Stats, Transport, TransportError, TransportErrorKind};

/// Longest wait between looks at `stop`: how late a Ctrl-C may be noticed.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// `STOP_CHECK` for poll(2).
const STOP_CHECK_TS: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 200_000_000,
};

/// Runs commands locally.
#[derive(Debug, Default)]
pub(crate) struct Local {
    stats: Stats,
}

impl Transport for Local {
    fn run(
        &mut self,
        invocation: &Invocation<'_>,
        stop: &AtomicBool,
    ) -> Result<Output, TransportError> {
        let io = |e: std::io::Error| {
            TransportError::new(TransportErrorKind::Io, format!("cannot run sh: {e}"))
        };
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(invocation.command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(io)?;
        self.stats.channels += 1;
        self.stats.connections = 1;
        let missing = |what: &str| io(std::io::Error::other(format!("no {what} pipe")));
        let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
        let mut stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
        let mut stderr = child.stderr.take().ok_or_else(|| missing("stderr"))?;
        let pid = child.id();
        let sudo = invocation.command.starts_with("sudo ");
        let mut feed = Feed::new(invocation);
        let printed = Mutex::new(Vec::new());
        let outputs_ended = AtomicBool::new(false);
        let (written, err) = std::thread::scope(|scope| {
            let writer = scope.spawn(|| write_all(&mut feed, stdin, &outputs_ended));
            let (done, finished) = mpsc::channel();
            let out_done = done.clone();
            let printed = &printed;
            let watch = invocation.watch;
            scope.spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    match stdout.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            lock(printed).extend_from_slice(&buf[..n]);
                            if let Some(watch) = watch {
                                (watch.0)(&buf[..n]);
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
                let _ = out_done.send(());
            });
            let err = scope.spawn(move || {
                let mut buf = Vec::new();
                let _ = stderr.read_to_end(&mut buf);
                let _ = done.send(());
                buf
            });
            let (mut ended, mut signalled) = (0, false);
            while ended < 2 {
                match finished.recv_timeout(STOP_CHECK) {
                    Ok(()) => ended += 1,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                if !signalled && stop.load(Ordering::SeqCst) {
                    signalled = true;
                    let announced = printed_pid(&lock(printed));
                    interrupt(announced, pid, sudo);
                }
            }
            outputs_ended.store(true, Ordering::SeqCst);
            (
                writer.join().unwrap_or(Ok(())),
                err.join().unwrap_or_default(),
            )
        });
        let out = printed.into_inner().unwrap_or_else(PoisonError::into_inner);
        let status = child.wait().map_err(io)?;
        self.stats.bytes_sent += feed.sent();
        self.stats.bytes_received += (out.len() + err.len()) as u64;
        written?;
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

/// Streams the whole feed into the child's stdin and closes it. A child that stopped reading
/// (broken pipe) simply ends the feed, and so does a command whose output already ended while
/// something it left behind (a background process) holds stdin without reading: the pipe is
/// non-blocking and a full one is waited on in poll(2), looking at `outputs_ended` meanwhile.
/// An attachment that changed is the error.
fn write_all(
    feed: &mut Feed<'_>,
    stdin: ChildStdin,
    outputs_ended: &AtomicBool,
) -> Result<(), TransportError> {
    let result = feed_pipe(feed, &stdin, outputs_ended);
    drop(stdin);
    result
}

/// The loop of `write_all`, on the borrowed pipe.
fn feed_pipe(
    feed: &mut Feed<'_>,
    stdin: &ChildStdin,
    outputs_ended: &AtomicBool,
) -> Result<(), TransportError> {
    let nonblocking = rustix::io::ioctl_fionbio(stdin, true).is_ok();
    let mut pipe = stdin;
    loop {
        let chunk = feed.pending()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match pipe.write(chunk) {
            Ok(n) => feed.advance(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock && nonblocking => {
                if outputs_ended.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let mut fds = [PollFd::new(stdin, PollFlags::OUT)];
                let _ = poll(&mut fds, Some(&STOP_CHECK_TS));
            }
            Err(_) => return Ok(()),
        }
    }
}

/// The stdout collected so far, shared so a Ctrl-C can look for the script's `@@pid` line.
fn lock(buf: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    buf.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sends SIGINT to the script that announced its pid (under `sudo -n` when it runs as root
/// through sudo), else to the command itself: a lone `sh -s` is exec'd by `sh -c`, and sudo
/// relays the signal to its child.
fn interrupt(announced: Option<u32>, child: u32, sudo: bool) {
    let mut kill = match announced {
        Some(pid) if sudo => {
            let mut c = Command::new("sudo");
            c.args(["-n", "kill", "-INT", &pid.to_string()]);
            c
        }
        Some(pid) => {
            let mut c = Command::new("kill");
            c.args(["-INT", &pid.to_string()]);
            c
        }
        None => {
            let mut c = Command::new("kill");
            c.args(["-INT", &child.to_string()]);
            c
        }
    };
    let _ = kill
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
