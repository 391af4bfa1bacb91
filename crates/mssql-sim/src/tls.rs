//! TLS as TDS 7.x does it: the handshake travels inside PRELOGIN packets, then TLS records flow
//! directly on the socket.
//!
//! [`PreloginFramed`] sits between rustls and the TCP stream. While `handshake` is set it
//! unwraps incoming PRELOGIN packets into a byte stream and wraps outgoing bytes into PRELOGIN
//! packets; afterwards it passes bytes through untouched.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::{CryptoProvider, aws_lc_rs};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::wire::{HEADER_LEN, STATUS_EOM, packet_type};

/// A generated server certificate and the acceptor built from it.
#[derive(Clone)]
pub struct Identity {
    /// The certificate in PEM, for clients that want to trust it explicitly.
    pub certificate_pem: String,
    /// The rustls acceptor.
    pub acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, as a fresh SQL Server generates
/// one when no certificate is configured.
pub fn self_signed() -> anyhow::Result<Identity> {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    let certificate_pem = cert.cert.pem();
    let chain = vec![CertificateDer::from(cert.cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
    // TLS 1.2 only, like SQL Server's TDS 7.x handshake (TLS 1.3 comes with TDS 8.0 strict
    // mode). It also matters for clients: in TLS 1.3 the client speaks last, and FreeTDS 1.3
    // keeps its Finished message buffered until after LOGIN7, which breaks the handshake.
    // The process's installed provider (k2cse installs ring, see crates/cli/src/main.rs), else
    // aws-lc-rs; named explicitly because rustls refuses to guess when a build enables both.
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(aws_lc_rs::default_provider()));
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&tokio_rustls::rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Identity {
        certificate_pem,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// A stream that frames the TLS handshake in PRELOGIN packets.
#[derive(Debug)]
pub struct PreloginFramed<S> {
    inner: S,
    handshake: bool,
    header: [u8; HEADER_LEN],
    header_filled: usize,
    payload_left: usize,
    pending: Vec<u8>,
    pending_from: usize,
    /// Bytes at the start of `header` that turned out to be TLS data, still to be returned.
    replay: usize,
}

impl<S> PreloginFramed<S> {
    /// Wraps `inner` in handshake mode.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            handshake: true,
            header: [0; HEADER_LEN],
            header_filled: 0,
            payload_left: 0,
            pending: Vec::new(),
            pending_from: 0,
            replay: 0,
        }
    }

    /// Switches to pass-through once the TLS handshake is done.
    pub fn handshake_done(&mut self) {
        self.handshake = false;
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncWrite + Unpin> PreloginFramed<S> {
    /// Writes out framed bytes queued during the handshake.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pending_from < self.pending.len() {
            let n = ready!(
                Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.pending_from..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending_from += n;
        }
        self.pending.clear();
        self.pending_from = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for PreloginFramed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Our side of the handshake must be on the wire before we wait for the answer to it.
        ready!(this.drain(cx))?;
        if this.replay > 0 {
            let n = this.replay.min(buf.remaining());
            buf.put_slice(&this.header[..n]);
            this.header.copy_within(n..this.replay, 0);
            this.replay -= n;
            return Poll::Ready(Ok(()));
        }
        if !this.handshake {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        while this.payload_left == 0 {
            let mut header = ReadBuf::new(&mut this.header[this.header_filled..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut header))?;
            let got = header.filled().len();
            if got == 0 {
                return Poll::Ready(Ok(()));
            }
            this.header_filled += got;
            if this.header[0] != packet_type::PRELOGIN {
                // Not a packet but a TLS record (0x12 is no TLS content type): the client has
                // finished its handshake and sent data, which rustls reads while it completes
                // ours. From here on bytes pass through, starting with these.
                this.handshake = false;
                let n = this.header_filled.min(buf.remaining());
                buf.put_slice(&this.header[..n]);
                this.header.copy_within(n..this.header_filled, 0);
                this.header_filled -= n;
                this.replay = this.header_filled;
                return Poll::Ready(Ok(()));
            }
            if this.header_filled == HEADER_LEN {
                this.header_filled = 0;
                let len = usize::from(u16::from_be_bytes([this.header[2], this.header[3]]));
                this.payload_left = len.saturating_sub(HEADER_LEN);
            }
        }
        let want = this.payload_left.min(buf.remaining());
        let mut limited = ReadBuf::new(buf.initialize_unfilled_to(want));
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut limited))?;
        let got = limited.filled().len();
        buf.advance(got);
        this.payload_left -= got;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PreloginFramed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.handshake {
            ready!(this.drain(cx))?;
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        // Each write becomes whole packets; they go out on flush (or the next read).
        for chunk in buf.chunks(4096 - HEADER_LEN) {
            let len = u16::try_from(chunk.len() + HEADER_LEN)
                .unwrap_or(u16::MAX)
                .to_be_bytes();
            this.pending.extend_from_slice(&[
                packet_type::PRELOGIN,
                STATUS_EOM,
                len[0],
                len[1],
                0,
                0,
                0,
                0,
            ]);
            this.pending.extend_from_slice(chunk);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
