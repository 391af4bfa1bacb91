//! TDS packets and the little-endian byte helpers every message needs.
//!
//! A TDS message is split into packets: an 8-byte header (type, status, big-endian length,
//! SPID, packet id, window) and a payload; the last packet has the EOM status bit.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

/// Packet types this server reads or writes.
pub mod packet_type {
    /// SQL batch.
    pub const SQL_BATCH: u8 = 0x01;
    /// Remote procedure call.
    pub const RPC: u8 = 0x03;
    /// Server response.
    pub const TABULAR_RESULT: u8 = 0x04;
    /// Attention (cancel).
    pub const ATTENTION: u8 = 0x06;
    /// Transaction manager request.
    pub const TRANSACTION_MANAGER: u8 = 0x0E;
    /// LOGIN7.
    pub const LOGIN7: u8 = 0x10;
    /// PRELOGIN (and the TLS handshake wrapped in it).
    pub const PRELOGIN: u8 = 0x12;
}

/// Header size.
pub const HEADER_LEN: usize = 8;
/// Status bit: end of message.
pub const STATUS_EOM: u8 = 0x01;
/// Largest message accepted (bounded input: a hostile client cannot make us allocate more).
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// A whole message: its packet type and the concatenated payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Packet type of its packets.
    pub kind: u8,
    /// Payload.
    pub data: Vec<u8>,
}

/// Reads packets until one has the EOM bit; `None` at a clean end of stream.
pub async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> io::Result<Option<Message>> {
    let mut data = Vec::new();
    let mut kind = None;
    loop {
        let mut header = [0u8; HEADER_LEN];
        match stream.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && kind.is_none() => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if len < HEADER_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("TDS packet length {len} is shorter than its header"),
            ));
        }
        if data.len() + len > MAX_MESSAGE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TDS message too large",
            ));
        }
        let start = data.len();
        data.resize(start + len - HEADER_LEN, 0);
        stream.read_exact(&mut data[start..]).await?;
        kind.get_or_insert(header[0]);
        if header[1] & STATUS_EOM != 0 {
            return Ok(Some(Message {
                kind: header[0],
                data,
            }));
        }
    }
}

/// Writes `payload` as packets of at most `packet_size` bytes each (header included).
pub async fn write_message<S: AsyncWrite + Unpin>(
    stream: &mut S,
    kind: u8,
    payload: &[u8],
    packet_size: usize,
) -> io::Result<()> {
    let chunk = packet_size.max(512) - HEADER_LEN;
    let mut out = Vec::with_capacity(payload.len() + HEADER_LEN * (payload.len() / chunk + 1));
    let mut pieces = payload.chunks(chunk).peekable();
    let mut id: u8 = 1;
    if pieces.peek().is_none() {
        out.extend_from_slice(&header(kind, STATUS_EOM, HEADER_LEN, id));
    }
    while let Some(piece) = pieces.next() {
        let status = if pieces.peek().is_none() {
            STATUS_EOM
        } else {
            0
        };
        out.extend_from_slice(&header(kind, status, HEADER_LEN + piece.len(), id));
        out.extend_from_slice(piece);
        id = id.wrapping_add(1);
    }
    stream.write_all(&out).await?;
    stream.flush().await
}

fn header(kind: u8, status: u8, len: usize, id: u8) -> [u8; HEADER_LEN] {
    let len = u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes();
    [kind, status, len[0], len[1], 0, 0, id, 0]
}

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed TDS message: {0}")]
pub struct Malformed(pub String);

/// A cursor over a message's bytes, every read bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads `data` from the start.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Moves to `pos`.
    pub fn seek(&mut self, pos: usize) -> Result<(), Malformed> {
        if pos > self.data.len() {
            return Err(Malformed(format!(
                "offset {pos} beyond the message ({} bytes)",
                self.data.len()
            )));
        }
        self.pos = pos;
        Ok(())
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| {
                Malformed(format!(
                    "{n} bytes wanted at offset {}, {} left",
                    self.pos,
                    self.remaining()
                ))
            })?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// A byte.
    pub fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.bytes(1)?[0])
    }

    /// Little-endian u16.
    pub fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.bytes(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Little-endian u32.
    pub fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.bytes(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Little-endian u64.
    pub fn u64(&mut self) -> Result<u64, Malformed> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// `n` UTF-16LE code units as a string.
    pub fn utf16(&mut self, chars: usize) -> Result<String, Malformed> {
        let b = self.bytes(
            chars
                .checked_mul(2)
                .ok_or_else(|| Malformed("length overflow".into()))?,
        )?;
        utf16(b)
    }

    /// `B_VARCHAR`: a byte count of characters, then UTF-16LE.
    pub fn b_varchar(&mut self) -> Result<String, Malformed> {
        let n = usize::from(self.u8()?);
        self.utf16(n)
    }

    /// `US_VARCHAR`: a u16 count of characters, then UTF-16LE.
    pub fn us_varchar(&mut self) -> Result<String, Malformed> {
        let n = usize::from(self.u16()?);
        self.utf16(n)
    }
}

/// UTF-16LE bytes to a string.
pub fn utf16(bytes: &[u8]) -> Result<String, Malformed> {
    if !bytes.len().is_multiple_of(2) {
        return Err(Malformed("odd-length UTF-16 data".into()));
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| Malformed("invalid UTF-16".into()))
}

/// A growing little-endian buffer for responses.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// A byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Little-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Little-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Little-endian i32.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Little-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// UTF-16LE text without a length.
    pub fn utf16(&mut self, s: &str) -> &mut Self {
        for u in s.encode_utf16() {
            self.buf.extend_from_slice(&u.to_le_bytes());
        }
        self
    }

    /// `B_VARCHAR` (at most 255 characters; longer text is cut).
    pub fn b_varchar(&mut self, s: &str) -> &mut Self {
        let units: Vec<u16> = s.encode_utf16().take(255).collect();
        self.u8(u8::try_from(units.len()).unwrap_or(u8::MAX));
        for u in units {
            self.buf.extend_from_slice(&u.to_le_bytes());
        }
        self
    }

    /// `US_VARCHAR` (at most 65,535 characters).
    pub fn us_varchar(&mut self, s: &str) -> &mut Self {
        let units: Vec<u16> = s.encode_utf16().take(usize::from(u16::MAX)).collect();
        self.u16(u16::try_from(units.len()).unwrap_or(u16::MAX));
        for u in units {
            self.buf.extend_from_slice(&u.to_le_bytes());
        }
        self
    }

    /// Current length.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Overwrites a little-endian u16 at `at` (for lengths known only afterwards).
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        self.buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_split_into_packets_and_join_again() {
        let payload: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        write_message(&mut wire, packet_type::TABULAR_RESULT, &payload, 4096)
            .await
            .unwrap();
        assert_eq!(wire.len(), payload.len() + 3 * HEADER_LEN);
        let back = read_message(&mut wire.as_slice()).await.unwrap().unwrap();
        assert_eq!(
            back,
            Message {
                kind: packet_type::TABULAR_RESULT,
                data: payload
            }
        );
        let mut empty = Vec::new();
        write_message(&mut empty, packet_type::TABULAR_RESULT, &[], 4096)
            .await
            .unwrap();
        assert_eq!(
            read_message(&mut empty.as_slice())
                .await
                .unwrap()
                .unwrap()
                .data,
            Vec::<u8>::new()
        );
    }

    #[tokio::test]
    async fn hostile_lengths_are_refused() {
        let short = [0x01u8, 1, 0, 4, 0, 0, 0, 0];
        assert!(read_message(&mut short.as_slice()).await.is_err());
        let mut r = Reader::new(&[1, 2]);
        assert!(r.u32().is_err());
        assert!(r.utf16(usize::MAX).is_err());
    }
}
