//! A cap on what a server may make the client buffer.
//!
//! tiberius collects a TDS message until its end-of-message packet, and a whole result set
//! before `into_results` returns: a hostile or broken endpoint that never sets the
//! end-of-message bit (or streams an endless reply) made the client grow by 2 GB in 12 s.
//! The stream under tiberius counts the bytes read since the client last wrote (one server
//! reply: TDS is strictly request/response) and fails the read once a reply exceeds
//! [`REPLY_CAP`]. K2's `[HostServer].[Configuration]` holds a few hundred short rows, so the
//! largest legitimate reply is a few hundred KiB; 64 MiB leaves two orders of magnitude of
//! room while keeping the client's memory bounded.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most bytes one server reply may hold.
pub const REPLY_CAP: u64 = 64 * 1024 * 1024;

/// The text the failed read carries, so that tiberius's error (which keeps only the I/O
/// error's kind and text) can be told apart from a network failure.
const OVER_CAP: &str = "k2cse: server reply exceeds the cap of";

/// A stream that refuses a server reply longer than its cap.
#[derive(Debug)]
pub struct BoundedStream<S> {
    inner: S,
    cap: u64,
    /// Bytes read since the last write.
    reply: u64,
}

impl<S> BoundedStream<S> {
    /// `inner`, with replies capped at `cap` bytes.
    pub fn new(inner: S, cap: u64) -> Self {
        Self {
            inner,
            cap,
            reply: 0,
        }
    }
}

/// The read error for a reply over `cap` bytes.
fn over_cap(cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{OVER_CAP} {} MiB", cap / (1024 * 1024)),
    )
}

/// Whether a tiberius error message is the cap's (see [`OVER_CAP`]).
pub fn is_over_cap(message: &str) -> bool {
    message.contains(OVER_CAP)
}

impl<S: AsyncRead + Unpin> AsyncRead for BoundedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.reply > this.cap {
            return Poll::Ready(Err(over_cap(this.cap)));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = buf.filled().len() - before;
            this.reply = this.reply.saturating_add(read as u64);
            if this.reply > this.cap {
                // Drop what was just read: tiberius must not get to buffer past the cap.
                buf.set_filled(before);
                return Poll::Ready(Err(over_cap(this.cap)));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for BoundedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = polled
            && n > 0
        {
            // A new request: the next bytes read are a new reply.
            this.reply = 0;
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_reply_over_the_cap_fails_and_a_write_starts_a_new_reply() {
        runtime().block_on(async {
            let (client, mut server) = tokio::io::duplex(1024);
            let mut bounded = BoundedStream::new(client, 100);
            server.write_all(&[7; 100]).await.expect("write");
            let mut got = vec![0; 100];
            bounded.read_exact(&mut got).await.expect("within the cap");
            bounded.write_all(b"next request").await.expect("write");
            let mut request = [0; 12];
            server.read_exact(&mut request).await.expect("read");
            server.write_all(&[7; 101]).await.expect("write");
            let mut got = vec![0; 101];
            let err = bounded
                .read_exact(&mut got)
                .await
                .expect_err("over the cap");
            assert!(is_over_cap(&err.to_string()), "{err}");
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        });
    }
}
