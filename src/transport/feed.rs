//! The stdin stream of an invocation, handed out in bounded chunks: recon's own bytes first,
//! then each attachment read from disk as the channel accepts data. Memory stays at one chunk
//! however large the attachments are, and a file that changed size since it was planned is an
//! error instead of a silently different stream.

use std::fs::File;
use std::io::Read;

use super::{Attachment, Invocation, TransportError, TransportErrorKind};

/// Bytes read from an attachment at a time: big enough for few syscalls and full SSH packets.
const CHUNK: usize = 64 * 1024;

/// The not-yet-sent rest of one invocation's stdin.
pub(crate) struct Feed<'a> {
    stdin: &'a [u8],
    attachments: std::slice::Iter<'a, Attachment>,
    current: Option<Open<'a>>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    sent: u64,
}

/// The attachment being streamed and how many of its bytes are still to be read.
struct Open<'a> {
    file: File,
    attachment: &'a Attachment,
    remaining: u64,
}

impl<'a> Feed<'a> {
    /// Nothing is opened yet: attachments are opened (and their size checked) when reached.
    pub(crate) fn new(invocation: &Invocation<'a>) -> Self {
        Self {
            stdin: invocation.stdin,
            attachments: invocation.attachments.iter(),
            current: None,
            buf: Vec::new(),
            start: 0,
            end: 0,
            sent: 0,
        }
    }

    /// The next bytes to send; empty once everything was sent.
    pub(crate) fn pending(&mut self) -> Result<&[u8], TransportError> {
        if !self.stdin.is_empty() {
            return Ok(self.stdin);
        }
        if self.start == self.end {
            self.refill()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// Marks the first `n` bytes of the last `pending()` as sent.
    pub(crate) fn advance(&mut self, n: usize) {
        if self.stdin.is_empty() {
            self.start = (self.start + n).min(self.end);
        } else {
            self.stdin = &self.stdin[n.min(self.stdin.len())..];
        }
        self.sent += n as u64;
    }

    /// Bytes accepted by the channel so far (for `--stats`).
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Reads the next chunk of the current (or next) attachment; leaves the buffer empty at the
    /// end of the stream.
    fn refill(&mut self) -> Result<(), TransportError> {
        self.start = 0;
        self.end = 0;
        loop {
            let Some(open) = self.current.as_mut() else {
                let Some(attachment) = self.attachments.next() else {
                    return Ok(());
                };
                self.current = Some(open_attachment(attachment)?);
                continue;
            };
            if open.remaining == 0 {
                expect_end(open)?;
                self.current = None;
                continue;
            }
            if self.buf.is_empty() {
                self.buf = vec![0; CHUNK];
            }
            let want = usize::try_from(open.remaining).map_or(CHUNK, |r| r.min(CHUNK));
            let n = read_some(&mut open.file, &mut self.buf[..want], open.attachment)?;
            if n == 0 {
                return Err(changed(
                    open.attachment,
                    &format!("it ended {} bytes early", open.remaining),
                ));
            }
            open.remaining -= n as u64;
            self.end = n;
            return Ok(());
        }
    }
}

/// Opens an attachment and checks it still has the size it was planned with.
fn open_attachment(attachment: &Attachment) -> Result<Open<'_>, TransportError> {
    let file = File::open(&attachment.path).map_err(|e| {
        TransportError::new(
            TransportErrorKind::Io,
            format!("cannot read attachment {}: {e}", attachment.path.display()),
        )
    })?;
    let actual = file
        .metadata()
        .map_err(|e| changed(attachment, &e.to_string()))?
        .len();
    if actual != attachment.size {
        return Err(changed(attachment, &format!("it now has {actual} bytes")));
    }
    Ok(Open {
        file,
        attachment,
        remaining: attachment.size,
    })
}

/// A file that grew while it was streamed would send a prefix that matches nothing.
fn expect_end(open: &mut Open<'_>) -> Result<(), TransportError> {
    let mut probe = [0u8; 1];
    if read_some(&mut open.file, &mut probe, open.attachment)? == 0 {
        Ok(())
    } else {
        Err(changed(open.attachment, "it grew while being sent"))
    }
}

/// One read, retried on EINTR, with the attachment named in the error.
fn read_some(
    file: &mut File,
    buf: &mut [u8],
    attachment: &Attachment,
) -> Result<usize, TransportError> {
    loop {
        match file.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(TransportError::new(
                    TransportErrorKind::Io,
                    format!("cannot read attachment {}: {e}", attachment.path.display()),
                ))
            }
        }
    }
}

/// The error for an attachment that no longer matches its plan.
fn changed(attachment: &Attachment, why: &str) -> TransportError {
    TransportError::new(
        TransportErrorKind::Io,
        format!(
            "attachment {} changed since it was planned: expected {} bytes, but {why}",
            attachment.path.display(),
            attachment.size
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::{Attachment, Feed, Invocation, TransportError};

    /// Drains `feed` in chunks of at most `step` bytes, as a slow channel would.
    fn drain(feed: &mut Feed<'_>, step: usize) -> Result<Vec<u8>, TransportError> {
        let mut out = Vec::new();
        loop {
            let chunk = feed.pending()?;
            if chunk.is_empty() {
                return Ok(out);
            }
            let n = chunk.len().min(step);
            out.extend_from_slice(&chunk[..n]);
            feed.advance(n);
        }
    }

    /// Writes `bytes` to `dir/name` and describes it as an attachment of that size.
    fn attachment(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> Attachment {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write attachment");
        Attachment {
            path,
            size: bytes.len() as u64,
        }
    }

    #[test]
    fn stdin_then_each_attachment_in_order_exactly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let files = [
            attachment(&dir, "a", b"first"),
            attachment(&dir, "empty", b""),
            attachment(&dir, "big", &big),
        ];
        let invocation = Invocation {
            command: "sh -s",
            stdin: b"script\n",
            attachments: &files,
            watch: None,
        };
        let mut feed = Feed::new(&invocation);
        let got = drain(&mut feed, 1000).expect("drains");
        let mut want = b"script\nfirst".to_vec();
        want.extend_from_slice(&big);
        assert_eq!(got, want);
        assert_eq!(feed.sent(), want.len() as u64);
    }

    #[test]
    fn a_file_whose_size_changed_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut file = attachment(&dir, "a", b"12345");
        file.size = 4;
        let files = [file];
        let invocation = Invocation {
            command: "sh -s",
            stdin: b"x",
            attachments: &files,
            watch: None,
        };
        let err = drain(&mut Feed::new(&invocation), 100).expect_err("size mismatch");
        assert!(
            err.message
                .contains("expected 4 bytes, but it now has 5 bytes"),
            "{err}"
        );
    }
}
