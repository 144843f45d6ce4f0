//! Drives one exec channel in libssh2's non-blocking mode: writes stdin (script, then
//! attachments) whenever the channel takes data, drains stdout and stderr always (so neither
//! side can fill a window and deadlock), and between rounds without progress sleeps in poll(2)
//! on the TCP socket instead of spinning. The sleep is bounded so a Ctrl-C and the session's
//! keepalives are still served while a step runs for minutes on an idle link.

use std::io::{ErrorKind as IoKind, Read, Write};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use ssh2::{BlockDirections, Channel, Session};

use super::feed::Feed;
use super::{TransportError, TransportErrorKind, Watch};

/// Longest sleep in poll(2): how late a Ctrl-C may be noticed.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// libssh2's "would block" for calls that return `ssh2::Error` rather than `io::Error`.
const EAGAIN: ssh2::ErrorCode = ssh2::ErrorCode::Session(-37);

/// What the remote command printed.
pub(crate) struct Drained {
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Session-wide pieces the pump needs besides the channel.
pub(crate) struct Link<'a> {
    pub(crate) session: &'a Session,
    pub(crate) socket: BorrowedFd<'a>,
    /// Zero: no keepalives.
    pub(crate) keepalive: Duration,
}

/// Feeds `feed` into `channel` and drains its output until the remote side closed its output,
/// handing each piece of stdout to `watch` as it arrives. `interrupt` is called once, with the stdout so far, when `stop` turns true; it may use the
/// session in blocking mode. A feed error (an attachment changed) closes the channel so the
/// remote side sees a short read, and is returned.
pub(crate) fn pump(
    link: &Link<'_>,
    channel: &mut Channel,
    feed: &mut Feed<'_>,
    watch: Option<Watch<'_>>,
    stop: &AtomicBool,
    interrupt: &mut dyn FnMut(&[u8]),
) -> Result<Drained, TransportError> {
    let lost = |e: std::io::Error| {
        TransportError::new(TransportErrorKind::Io, format!("SSH connection lost: {e}"))
    };
    link.session.set_blocking(false);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 64 * 1024];
    let (mut input_done, mut eof_sent, mut signalled) = (false, false, false);
    let mut keepalive_due = Instant::now() + link.keepalive;
    loop {
        let mut progress = false;
        if !input_done {
            let chunk = match feed.pending() {
                Ok(chunk) => chunk,
                Err(e) => {
                    abandon(link.session, channel);
                    return Err(e);
                }
            };
            if chunk.is_empty() {
                input_done = true;
            } else {
                match channel.write(chunk) {
                    Ok(n) => {
                        feed.advance(n);
                        progress |= n > 0;
                    }
                    Err(e) if e.kind() == IoKind::WouldBlock => {}
                    // The command exited without reading all its input: nothing left to feed.
                    Err(_) if channel.eof() => input_done = true,
                    Err(e) => return Err(lost(e).with_partial(out)),
                }
            }
        } else if !eof_sent {
            match channel.send_eof() {
                Ok(()) => {
                    eof_sent = true;
                    progress = true;
                }
                Err(e) if e.code() == EAGAIN => {}
                Err(_) if channel.eof() => eof_sent = true,
                Err(e) => return Err(lost(std::io::Error::other(e)).with_partial(out)),
            }
        }
        let mut finished = 0;
        let mut broken = None;
        for (stream, sink) in [(0, &mut out), (1, &mut err)] {
            match channel.stream(stream).read(&mut buf) {
                Ok(0) => finished += 1,
                Ok(n) => {
                    sink.extend_from_slice(&buf[..n]);
                    if let (0, Some(watch)) = (stream, watch) {
                        (watch.0)(&buf[..n]);
                    }
                    progress = true;
                }
                Err(e) if e.kind() == IoKind::WouldBlock => {}
                Err(e) => broken = Some(e),
            }
        }
        if let Some(e) = broken {
            return Err(lost(e).with_partial(out));
        }
        // Both outputs ended: the command is done (any unread input no longer matters).
        if finished == 2 {
            break;
        }
        if !signalled && stop.load(Ordering::SeqCst) {
            signalled = true;
            interrupt(&out);
            link.session.set_blocking(false);
        }
        if !link.keepalive.is_zero() && Instant::now() >= keepalive_due {
            let next = match link.session.keepalive_send() {
                Ok(next) => next,
                Err(e) => return Err(lost(std::io::Error::other(e)).with_partial(out)),
            };
            // `next` is whole seconds rounded down (0 when less than one is left): a keepalive
            // may go out up to a second late, which is harmless at intervals of seconds.
            keepalive_due = Instant::now() + Duration::from_secs(u64::from(next.max(1)));
        }
        // libssh2 reads every packet the socket holds into its queue, so data for the stream
        // read first may already wait there: only sleep when nothing does.
        if !progress && channel.read_window().available == 0 {
            let mut timeout = STOP_CHECK;
            if !link.keepalive.is_zero() {
                timeout = timeout.min(keepalive_due.saturating_duration_since(Instant::now()));
            }
            wait_for_socket(link, timeout).map_err(lost)?;
        }
    }
    Ok(Drained {
        stdout: out,
        stderr: err,
    })
}

/// Sleeps until the socket is ready in the direction libssh2 last blocked on (reading when it
/// did not block: then we wait for the remote side), or `timeout` passes.
fn wait_for_socket(link: &Link<'_>, timeout: Duration) -> std::io::Result<()> {
    let events = match link.session.block_directions() {
        BlockDirections::Outbound => PollFlags::OUT,
        BlockDirections::Both => PollFlags::IN | PollFlags::OUT,
        BlockDirections::Inbound | BlockDirections::None => PollFlags::IN,
    };
    let mut fds = [PollFd::from_borrowed_fd(link.socket, events)];
    let timeout = Timespec::try_from(timeout.min(STOP_CHECK)).unwrap_or(Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    });
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Ends the channel early: EOF and close, so the remote command's reads come up short.
fn abandon(session: &Session, channel: &mut Channel) {
    session.set_blocking(true);
    let _ = channel.send_eof();
    let _ = channel.close();
}
