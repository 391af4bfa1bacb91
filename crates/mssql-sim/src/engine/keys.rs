//! SQL Server's key stack as K2 uses it, emulated per session.
//!
//! A database master key protected by a password (K2's setup creates one), a certificate
//! (`SCHostServerCert`) and a symmetric key (`SCSSOKey`) that can only be opened while the master
//! key is open. `EncryptByKey` needs the key open; `DecryptByKey` returns NULL while it is closed,
//! exactly the behaviour that makes "the value is NULL" a symptom admins see.
//!
//! Ciphertext layout (the simulator's own, shaped like SQL Server's): key GUID (16 bytes),
//! version `01000000`, IV (16 bytes), AES-256-CBC with PKCS#7 padding.

use std::sync::{Arc, Mutex, PoisonError};

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use rand::Rng as _;
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use sha2::{Digest as _, Sha256};

use crate::tokens::ServerMessage;

const VERSION: [u8; 4] = [1, 0, 0, 0];
const HEADER: usize = 16 + 4 + 16;

/// A symmetric key of the database.
#[derive(Clone)]
pub struct SymmetricKey {
    /// Name (`SCSSOKey`).
    pub name: String,
    /// `Key_GUID(name)`.
    pub guid: [u8; 16],
    /// AES-256 key bytes.
    pub secret: [u8; 32],
    /// Certificate that protects it.
    pub certificate: String,
}

impl std::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The database's key objects, loaded when a session opens.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// SHA-256 of the master key password, if the database has a master key.
    pub master_key_password_sha256: Option<[u8; 32]>,
    /// Symmetric keys.
    pub symmetric_keys: Vec<SymmetricKey>,
    /// Certificate names.
    pub certificates: Vec<String>,
}

/// What this session has opened.
#[derive(Debug, Default)]
pub struct KeyState {
    catalog: Catalog,
    master_open: bool,
    open: Vec<usize>,
}

/// Key state shared between the session and its SQLite functions.
pub type SharedKeys = Arc<Mutex<KeyState>>;

/// SHA-256 of a password, as the catalog stores it.
pub fn password_hash(password: &str) -> [u8; 32] {
    Sha256::digest(password.as_bytes()).into()
}

impl KeyState {
    /// A session's state: nothing open.
    pub fn new(catalog: Catalog) -> SharedKeys {
        Arc::new(Mutex::new(Self {
            catalog,
            master_open: false,
            open: Vec::new(),
        }))
    }

    /// `OPEN MASTER KEY DECRYPTION BY PASSWORD = ...`.
    pub fn open_master(&mut self, password: &str) -> Result<(), ServerMessage> {
        match self.catalog.master_key_password_sha256 {
            None => Err(ServerMessage::error(
                15151,
                "Cannot find the symmetric key 'master key', because it does not exist or you do not have permission.",
            )),
            Some(hash) if hash == password_hash(password) => {
                self.master_open = true;
                Ok(())
            }
            Some(_) => Err(ServerMessage::error(
                15313,
                "The key is not encrypted using the specified decryptor.",
            )),
        }
    }

    /// `CLOSE MASTER KEY`.
    pub fn close_master(&mut self) {
        self.master_open = false;
    }

    /// `OPEN SYMMETRIC KEY name DECRYPTION BY CERTIFICATE cert`.
    pub fn open_symmetric(&mut self, name: &str, certificate: &str) -> Result<(), ServerMessage> {
        let Some(index) = self
            .catalog
            .symmetric_keys
            .iter()
            .position(|k| k.name.eq_ignore_ascii_case(name))
        else {
            return Err(ServerMessage::error(
                15151,
                format!(
                    "Cannot find the symmetric key '{name}', because it does not exist or you do not have permission."
                ),
            ));
        };
        if !self
            .catalog
            .certificates
            .iter()
            .any(|c| c.eq_ignore_ascii_case(certificate))
        {
            return Err(ServerMessage::error(
                15151,
                format!(
                    "Cannot find the certificate '{certificate}', because it does not exist or you do not have permission."
                ),
            ));
        }
        if !self.catalog.symmetric_keys[index]
            .certificate
            .eq_ignore_ascii_case(certificate)
        {
            return Err(ServerMessage::error(
                15313,
                "The key is not encrypted using the specified decryptor.",
            ));
        }
        if !self.master_open {
            return Err(ServerMessage::error(
                15581,
                "Please create a master key in the database or open the master key in the session before performing this operation.",
            ));
        }
        if !self.open.contains(&index) {
            self.open.push(index);
        }
        Ok(())
    }

    /// `CLOSE SYMMETRIC KEY name`.
    pub fn close_symmetric(&mut self, name: &str) {
        self.open.retain(|&i| {
            !self.catalog.symmetric_keys[i]
                .name
                .eq_ignore_ascii_case(name)
        });
    }

    /// `CLOSE ALL SYMMETRIC KEYS`.
    pub fn close_all(&mut self) {
        self.open.clear();
    }

    fn open_key_by_guid(&self, guid: &[u8]) -> Option<&SymmetricKey> {
        self.open
            .iter()
            .map(|&i| &self.catalog.symmetric_keys[i])
            .find(|k| k.guid == guid)
    }
}

/// Encrypts with a fresh IV (the simulator's ciphertext layout).
pub fn encrypt(key: &SymmetricKey, plaintext: &[u8]) -> Vec<u8> {
    let mut iv = [0u8; 16];
    rand::rng().fill_bytes(&mut iv);
    let mut out = Vec::with_capacity(HEADER + plaintext.len() + 16);
    out.extend_from_slice(&key.guid);
    out.extend_from_slice(&VERSION);
    out.extend_from_slice(&iv);
    // A 32-byte key and 16-byte IV cannot be rejected.
    if let Ok(encryptor) = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key.secret, &iv) {
        out.extend_from_slice(&encryptor.encrypt_padded_vec::<Pkcs7>(plaintext));
    }
    out
}

fn decrypt(key: &SymmetricKey, blob: &[u8]) -> Option<Vec<u8>> {
    let iv = blob.get(20..HEADER)?;
    let decryptor = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key.secret, iv).ok()?;
    decryptor
        .decrypt_padded_vec::<Pkcs7>(blob.get(HEADER..)?)
        .ok()
}

/// The bytes SQL Server would encrypt for a value: `nvarchar` is UTF-16LE.
fn plaintext_bytes(value: ValueRef<'_>) -> Option<Vec<u8>> {
    match value {
        ValueRef::Null => None,
        ValueRef::Blob(b) => Some(b.to_vec()),
        ValueRef::Text(t) => Some(
            String::from_utf8_lossy(t)
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
        ValueRef::Integer(i) => Some(
            i.to_string()
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
        ValueRef::Real(r) => Some(
            r.to_string()
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
    }
}

fn lock(keys: &SharedKeys) -> std::sync::MutexGuard<'_, KeyState> {
    // A panic elsewhere in the session cannot leave the key state half-updated.
    keys.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Registers `EncryptByKey`, `DecryptByKey` and `Key_GUID` on a session's connection.
pub fn register(conn: &Connection, keys: &SharedKeys) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8;
    let k = Arc::clone(keys);
    conn.create_scalar_function("EncryptByKey", 2, flags, move |ctx: &mut Context<'_>| {
        let state = lock(&k);
        let guid = match ctx.get_raw(0) {
            ValueRef::Blob(g) => g.to_vec(),
            _ => return Ok(SqlValue::Null),
        };
        let (Some(key), Some(plain)) = (
            state.open_key_by_guid(&guid),
            plaintext_bytes(ctx.get_raw(1)),
        ) else {
            return Ok(SqlValue::Null);
        };
        // Its result is varbinary(8000): a longer one is NULL, never truncated ciphertext.
        let cipher = encrypt(key, &plain);
        Ok(if cipher.len() > 8000 {
            SqlValue::Null
        } else {
            SqlValue::Blob(cipher)
        })
    })?;
    let k = Arc::clone(keys);
    conn.create_scalar_function("DecryptByKey", 1, flags, move |ctx: &mut Context<'_>| {
        let state = lock(&k);
        let blob = match ctx.get_raw(0) {
            ValueRef::Blob(blob) => blob,
            // SQL Server takes varbinary only: no implicit conversion from text (Msg 8116).
            ValueRef::Text(_) => {
                return Err(rusqlite::Error::UserFunctionError(
                    "k2sim:8116:Argument data type nvarchar is invalid for argument 1 of decryptbykey function."
                        .into(),
                ));
            }
            _ => return Ok(SqlValue::Null),
        };
        let plain = blob
            .get(..16)
            .and_then(|guid| state.open_key_by_guid(guid))
            .and_then(|key| decrypt(key, blob));
        Ok(plain.map_or(SqlValue::Null, SqlValue::Blob))
    })?;
    let k = Arc::clone(keys);
    conn.create_scalar_function(
        "Key_GUID",
        1,
        flags | FunctionFlags::SQLITE_DETERMINISTIC,
        move |ctx: &mut Context<'_>| {
            let state = lock(&k);
            let name: Option<String> = ctx.get(0)?;
            let guid = name.and_then(|n| {
                state
                    .catalog
                    .symmetric_keys
                    .iter()
                    .find(|key| key.name.eq_ignore_ascii_case(&n))
                    .map(|key| key.guid.to_vec())
            });
            Ok(guid.map_or(SqlValue::Null, SqlValue::Blob))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog {
            master_key_password_sha256: Some(password_hash("right")),
            symmetric_keys: vec![SymmetricKey {
                name: "SCSSOKey".into(),
                guid: [7; 16],
                secret: [9; 32],
                certificate: "SCHostServerCert".into(),
            }],
            certificates: vec!["SCHostServerCert".into()],
        }
    }

    #[test]
    fn the_symmetric_key_needs_the_master_key_and_the_right_password() {
        let keys = KeyState::new(catalog());
        let mut state = lock(&keys);
        assert_eq!(
            state
                .open_symmetric("SCSSOKey", "SCHostServerCert")
                .unwrap_err()
                .number,
            15581
        );
        assert_eq!(state.open_master("wrong").unwrap_err().number, 15313);
        state.open_master("right").unwrap();
        assert_eq!(
            state
                .open_symmetric("Nope", "SCHostServerCert")
                .unwrap_err()
                .number,
            15151
        );
        state
            .open_symmetric("scssokey", "SCHostServerCert")
            .unwrap();
    }

    #[test]
    fn decrypt_by_key_is_null_while_the_key_is_closed() {
        let keys = KeyState::new(catalog());
        let conn = Connection::open_in_memory().unwrap();
        register(&conn, &keys).unwrap();
        let closed: Option<Vec<u8>> = conn
            .query_row("SELECT EncryptByKey(Key_GUID('SCSSOKey'), 'x')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(closed, None);
        {
            let mut state = lock(&keys);
            state.open_master("right").unwrap();
            state
                .open_symmetric("SCSSOKey", "SCHostServerCert")
                .unwrap();
        }
        let blob: Vec<u8> = conn
            .query_row(
                "SELECT EncryptByKey(Key_GUID('SCSSOKey'), 'héllo')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(&blob[..16], &[7; 16]);
        let back: Vec<u8> = conn
            .query_row("SELECT DecryptByKey(?1)", [&blob], |r| r.get(0))
            .unwrap();
        assert_eq!(
            back,
            "héllo"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>()
        );
        lock(&keys).close_all();
        let closed: Option<Vec<u8>> = conn
            .query_row("SELECT DecryptByKey(?1)", [&blob], |r| r.get(0))
            .unwrap();
        assert_eq!(closed, None);
    }
}
