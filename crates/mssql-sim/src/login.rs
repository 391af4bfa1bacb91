//! PRELOGIN (with encryption negotiation) and LOGIN7.

use crate::wire::{Malformed, Reader, Writer};

/// The ENCRYPTION option values of PRELOGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireEncryption {
    /// `ENCRYPT_OFF` (0): TLS for the login packet only.
    Off,
    /// `ENCRYPT_ON` (1).
    On,
    /// `ENCRYPT_NOT_SUP` (2).
    NotSupported,
    /// `ENCRYPT_REQ` (3).
    Required,
}

impl WireEncryption {
    fn from_byte(b: u8) -> Self {
        match b {
            0 => Self::Off,
            1 => Self::On,
            3 => Self::Required,
            _ => Self::NotSupported,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::On => 1,
            Self::NotSupported => 2,
            Self::Required => 3,
        }
    }
}

/// How this server treats TLS, like SQL Server's "Force Encryption" setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerEncryption {
    /// TLS available; used when the client asks (SQL Server's default).
    #[default]
    Optional,
    /// TLS required for the whole session ("Force Encryption = Yes").
    Forced,
    /// No TLS at all (a server without a certificate).
    Unsupported,
}

/// What the session does after PRELOGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No TLS.
    Plain,
    /// TLS for the LOGIN7 packet, then plain text.
    LoginOnly,
    /// TLS for everything after PRELOGIN.
    Full,
    /// The client cannot meet the server's requirement: close the connection.
    Refuse,
}

/// Reads the client's PRELOGIN and returns its ENCRYPTION option.
pub fn client_encryption(data: &[u8]) -> Result<WireEncryption, Malformed> {
    let mut r = Reader::new(data);
    loop {
        let token = r.u8()?;
        if token == 0xFF {
            return Ok(WireEncryption::NotSupported);
        }
        let offset = u16::from_be_bytes([r.u8()?, r.u8()?]);
        let _len = u16::from_be_bytes([r.u8()?, r.u8()?]);
        if token == 1 {
            let mut at = Reader::new(data);
            at.seek(usize::from(offset))?;
            return Ok(WireEncryption::from_byte(at.u8()?));
        }
    }
}

/// The server's ENCRYPTION answer and the resulting session mode, per MS-TDS 2.2.6.5.
pub fn negotiate(server: ServerEncryption, client: WireEncryption) -> (WireEncryption, Mode) {
    use WireEncryption as W;
    match (server, client) {
        (ServerEncryption::Unsupported, _) | (ServerEncryption::Optional, W::NotSupported) => {
            (W::NotSupported, Mode::Plain)
        }
        (ServerEncryption::Optional, W::Off) => (W::Off, Mode::LoginOnly),
        (ServerEncryption::Optional, W::On | W::Required) => (W::On, Mode::Full),
        (ServerEncryption::Forced, W::NotSupported) => (W::Required, Mode::Refuse),
        (ServerEncryption::Forced, _) => (W::Required, Mode::Full),
    }
}

/// The server's PRELOGIN response.
pub fn prelogin_response(encryption: WireEncryption) -> Vec<u8> {
    // VERSION (6 bytes), ENCRYPTION (1), INSTOPT (1: valid), THREADID (0), MARS (1: off).
    let options: [(u8, u16); 5] = [(0, 6), (1, 1), (2, 1), (3, 0), (4, 1)];
    let mut offset = u16::try_from(options.len() * 5 + 1).unwrap_or(0);
    let mut w = Writer::default();
    for (token, len) in options {
        w.u8(token)
            .bytes(&offset.to_be_bytes())
            .bytes(&len.to_be_bytes());
        offset += len;
    }
    w.u8(0xFF);
    // SQL Server 2019 (15.0.2000), sub-build 0.
    w.bytes(&[15, 0, 0x07, 0xD0, 0, 0]);
    w.u8(encryption.byte());
    w.u8(0);
    w.u8(0);
    w.buf
}

/// What LOGIN7 carries that the simulator uses.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// TDS version the client speaks.
    pub tds_version: u32,
    /// Requested packet size.
    pub packet_size: u32,
    /// SQL login name (empty for integrated authentication).
    pub user: String,
    /// Its password (de-obfuscated).
    pub password: String,
    /// Application name.
    pub app: String,
    /// Initial database, if requested.
    pub database: String,
    /// Whether the client asked for integrated (SSPI) authentication.
    pub integrated: bool,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("tds_version", &format_args!("{:#010x}", self.tds_version))
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// Parses LOGIN7 (MS-TDS 2.2.6.4).
pub fn parse_login(data: &[u8]) -> Result<Login, Malformed> {
    let mut r = Reader::new(data);
    let _length = r.u32()?;
    let tds_version = r.u32()?;
    let packet_size = r.u32()?;
    r.bytes(12)?; // client prog version, PID, connection id
    let _flags1 = r.u8()?;
    let flags2 = r.u8()?;
    r.bytes(10)?; // type flags, flags3, time zone, LCID
    let mut field = || -> Result<(u16, u16), Malformed> { Ok((r.u16()?, r.u16()?)) };
    let host = field()?;
    let user = field()?;
    let password = field()?;
    let app = field()?;
    let _server = field()?;
    let _extension = field()?;
    let _library = field()?;
    let _language = field()?;
    let database = field()?;
    let text = |(offset, chars): (u16, u16)| -> Result<String, Malformed> {
        let mut at = Reader::new(data);
        at.seek(usize::from(offset))?;
        at.utf16(usize::from(chars))
    };
    let _ = text(host)?;
    let password = {
        let mut at = Reader::new(data);
        at.seek(usize::from(password.0))?;
        let raw = at.bytes(usize::from(password.1) * 2)?;
        // Each byte was nibble-swapped then XORed with 0xA5.
        let plain: Vec<u8> = raw.iter().map(|b| (b ^ 0xA5).rotate_left(4)).collect();
        crate::wire::utf16(&plain)?
    };
    Ok(Login {
        tds_version,
        packet_size,
        user: text(user)?,
        password,
        app: text(app)?,
        database: text(database)?,
        integrated: flags2 & 0x80 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_ms_tds() {
        use WireEncryption as W;
        assert_eq!(
            negotiate(ServerEncryption::Optional, W::NotSupported),
            (W::NotSupported, Mode::Plain)
        );
        assert_eq!(
            negotiate(ServerEncryption::Optional, W::Off),
            (W::Off, Mode::LoginOnly)
        );
        assert_eq!(
            negotiate(ServerEncryption::Optional, W::Required),
            (W::On, Mode::Full)
        );
        assert_eq!(
            negotiate(ServerEncryption::Forced, W::NotSupported).1,
            Mode::Refuse
        );
        assert_eq!(
            negotiate(ServerEncryption::Unsupported, W::Required),
            (W::NotSupported, Mode::Plain)
        );
        let response = prelogin_response(W::On);
        assert_eq!(client_encryption(&response).unwrap(), W::On);
    }
}
