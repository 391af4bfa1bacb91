//! A backup's bytes: a POSIX tar (`manifest.json` first, then each part), optionally wrapped
//! in `age` passphrase encryption (scrypt + ChaCha20-Poly1305; no home-made crypto).
//!
//! Reading verifies everything before returning: the tar's end-of-archive blocks are present
//! (a truncated copy is refused, not half-read), every member is listed in the manifest,
//! every listed part is present with the size and SHA-256 the manifest gives. An encrypted
//! backup is also authenticated by `age`: any altered byte fails decryption.

use std::io::{Read as _, Write as _};
use std::path::Path;

use age::secrecy::SecretString;

use super::{
    Backup, BackupError, DatabaseRows, FORMAT, FORMAT_VERSION, Manifest, TABLE, sha256_hex,
};
use crate::secret::Secret;

/// Nothing a K2 configuration produces comes near this; bounding it keeps a hostile or
/// mistaken input from exhausting memory.
pub const MAX_BACKUP_BYTES: u64 = 256 * 1024 * 1024;

/// The first bytes of every `age` file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// How to encrypt a backup: a passphrase, and optionally the scrypt work factor (`log2 N`;
/// by default `age` picks one that takes about a second here).
#[derive(Debug, Clone)]
pub struct Encryption {
    /// The passphrase.
    pub passphrase: Secret,
    /// scrypt's `log2 N`, when not `age`'s choice.
    pub work_factor: Option<u8>,
}

impl Encryption {
    /// Encryption with `passphrase` and `age`'s default work factor.
    pub fn new(passphrase: Secret) -> Self {
        Self {
            passphrase,
            work_factor: None,
        }
    }
}

/// Whether `bytes` start like an encrypted backup.
pub fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(AGE_MAGIC)
}

impl Backup {
    /// The archive's bytes (encrypted when `encryption` is given). `path` only names the
    /// destination in errors.
    pub fn encode(
        &self,
        path: &Path,
        encryption: Option<&Encryption>,
    ) -> Result<Vec<u8>, BackupError> {
        let mut manifest = self.manifest.clone();
        let rows_json = match (&self.rows, manifest.database.as_mut()) {
            (Some(rows), Some(part)) => {
                let json = serde_json::to_vec_pretty(&DatabaseRows {
                    table: TABLE.into(),
                    rows: rows.clone(),
                })
                .map_err(|e| manifest_error(path, &e))?;
                part.size = json.len() as u64;
                part.sha256 = sha256_hex(&json);
                Some((part.part.clone(), json))
            }
            _ => None,
        };
        let manifest_json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| manifest_error(path, &e))?;
        let mtime = time::OffsetDateTime::parse(
            &manifest.created,
            &time::format_description::well_known::Rfc3339,
        )
        .map_or(0, |t| t.unix_timestamp().max(0).cast_unsigned());
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |name: &str, bytes: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o600);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, name, bytes)
                .map_err(|e| io_error(path, &e))
        };
        add("manifest.json", &manifest_json)?;
        for (file, bytes) in manifest.files.iter().zip(&self.files) {
            add(&file.part, bytes)?;
        }
        if let Some((name, json)) = &rows_json {
            add(name, json)?;
        }
        let tar = tar.into_inner().map_err(|e| io_error(path, &e))?;
        match encryption {
            None => Ok(tar),
            Some(encryption) => encrypt(path, &tar, encryption),
        }
    }

    /// Reads and verifies a backup. `passphrase` is needed only for an encrypted one.
    pub fn decode(
        path: &Path,
        bytes: &[u8],
        passphrase: Option<&Secret>,
    ) -> Result<Self, BackupError> {
        if bytes.len() as u64 > MAX_BACKUP_BYTES {
            return Err(BackupError::TooLarge {
                path: path.to_owned(),
                limit: MAX_BACKUP_BYTES,
            });
        }
        if is_encrypted(bytes) {
            let passphrase = passphrase.ok_or_else(|| BackupError::PassphraseRequired {
                path: path.to_owned(),
            })?;
            let tar = decrypt(path, bytes, passphrase)?;
            return Self::from_tar(path, &tar);
        }
        Self::from_tar(path, bytes)
    }

    fn from_tar(path: &Path, tar: &[u8]) -> Result<Self, BackupError> {
        let truncated = |detail: String| BackupError::Truncated {
            path: path.to_owned(),
            detail,
        };
        if tar.len() < 1536 || !tar.len().is_multiple_of(512) {
            if tar.len() < 512 || tar.get(257..262) != Some(b"ustar") {
                return Err(BackupError::NotABackup {
                    path: path.to_owned(),
                    detail: "neither a tar archive nor an age-encrypted file".into(),
                });
            }
            return Err(truncated(format!(
                "{} bytes is not a whole archive",
                tar.len()
            )));
        }
        if tar[tar.len() - 1024..].iter().any(|&b| b != 0) {
            return Err(truncated("the end-of-archive marker is missing".into()));
        }
        let members = read_members(path, tar)?;
        let mut members = members.into_iter();
        let manifest = match members.next() {
            Some((name, json)) if name == "manifest.json" => parse_manifest(path, &json)?,
            _ => {
                return Err(BackupError::Manifest {
                    path: path.to_owned(),
                    message: "manifest.json is not the archive's first member".into(),
                });
            }
        };
        let mut members: Vec<(String, Vec<u8>)> = members.collect();
        let mut take = |part: &str, size: u64, sha256: &str| -> Result<Vec<u8>, BackupError> {
            let i = members.iter().position(|(n, _)| n == part).ok_or_else(|| {
                BackupError::MissingPart {
                    path: path.to_owned(),
                    part: part.to_owned(),
                }
            })?;
            let (_, data) = members.swap_remove(i);
            let altered = |detail: String| BackupError::Altered {
                path: path.to_owned(),
                part: part.to_owned(),
                detail,
            };
            if data.len() as u64 != size {
                return Err(altered(format!(
                    "{} bytes, the manifest says {size}",
                    data.len()
                )));
            }
            let digest = sha256_hex(&data);
            if digest != sha256 {
                return Err(altered(format!(
                    "SHA-256 {digest}, the manifest says {sha256}"
                )));
            }
            Ok(data)
        };
        let mut files = Vec::new();
        for file in &manifest.files {
            files.push(take(&file.part, file.size, &file.sha256)?);
        }
        let rows = match &manifest.database {
            Some(db) => {
                let json = take(&db.part, db.size, &db.sha256)?;
                let parsed: DatabaseRows =
                    serde_json::from_slice(&json).map_err(|e| BackupError::Altered {
                        path: path.to_owned(),
                        part: db.part.clone(),
                        detail: e.to_string(),
                    })?;
                Some(parsed.rows)
            }
            None => None,
        };
        if let Some((name, _)) = members.first() {
            return Err(BackupError::UnexpectedPart {
                path: path.to_owned(),
                part: name.clone(),
            });
        }
        Ok(Self {
            manifest,
            files,
            rows,
        })
    }
}

/// Every member of the tar, in order; a name seen twice is refused (which copy would count?).
fn read_members(path: &Path, tar: &[u8]) -> Result<Vec<(String, Vec<u8>)>, BackupError> {
    let truncated = |detail: String| BackupError::Truncated {
        path: path.to_owned(),
        detail,
    };
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(tar);
    let entries = archive.entries().map_err(|e| not_a_backup(path, &e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| truncated(e.to_string()))?;
        let name = entry
            .path()
            .map_err(|e| not_a_backup(path, &e))?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry
            .read_to_end(&mut data)
            .map_err(|e| truncated(format!("{name}: {e}")))?;
        if members.iter().any(|(n, _)| *n == name) {
            return Err(BackupError::UnexpectedPart {
                path: path.to_owned(),
                part: name,
            });
        }
        members.push((name, data));
    }
    Ok(members)
}

fn parse_manifest(path: &Path, json: &[u8]) -> Result<Manifest, BackupError> {
    let error = |message: String| BackupError::Manifest {
        path: path.to_owned(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_slice(json).map_err(|e| error(e.to_string()))?;
    if value.get("format").and_then(serde_json::Value::as_str) != Some(FORMAT) {
        return Err(error(format!("\"format\" is not {FORMAT:?}")));
    }
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| error("\"format_version\" is missing".into()))?;
    if version > FORMAT_VERSION {
        return Err(BackupError::UnsupportedVersion {
            path: path.to_owned(),
            version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| error(e.to_string()))
}

fn encrypt(path: &Path, plain: &[u8], encryption: &Encryption) -> Result<Vec<u8>, BackupError> {
    let fail = |message: String| BackupError::Write {
        path: path.to_owned(),
        message,
    };
    let mut recipient = age::scrypt::Recipient::new(SecretString::from(
        encryption.passphrase.expose().to_owned(),
    ));
    if let Some(log_n) = encryption.work_factor.filter(|n| (1..64).contains(n)) {
        recipient.set_work_factor(log_n);
    }
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| fail(e.to_string()))?;
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| fail(e.to_string()))?;
    writer.write_all(plain).map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))?;
    Ok(out)
}

fn decrypt(path: &Path, bytes: &[u8], passphrase: &Secret) -> Result<Vec<u8>, BackupError> {
    use age::DecryptError as D;
    let damaged = |e: &dyn std::fmt::Display| BackupError::Truncated {
        path: path.to_owned(),
        detail: format!("decryption failed ({e}): the encrypted backup is cut short or altered"),
    };
    let decryptor = age::Decryptor::new_buffered(bytes).map_err(|e| match e {
        D::Io(e) => damaged(&e),
        other => BackupError::NotABackup {
            path: path.to_owned(),
            detail: format!("unreadable age header: {other}"),
        },
    })?;
    let identity = age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_owned()));
    // Unwrapping the file key is where a wrong passphrase shows (scrypt stanza's tag); an
    // altered header fails its MAC instead.
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            D::DecryptionFailed | D::NoMatchingKeys | D::KeyDecryptionFailed => {
                BackupError::WrongPassphrase {
                    path: path.to_owned(),
                }
            }
            other => damaged(&other),
        })?;
    let mut plain = Vec::with_capacity(bytes.len());
    (&mut reader)
        .take(MAX_BACKUP_BYTES)
        .read_to_end(&mut plain)
        .map_err(|e| BackupError::Truncated {
            path: path.to_owned(),
            detail: format!(
                "decryption failed ({e}): the encrypted backup is cut short or altered"
            ),
        })?;
    Ok(plain)
}

fn manifest_error(path: &Path, e: &serde_json::Error) -> BackupError {
    BackupError::Manifest {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> BackupError {
    BackupError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn not_a_backup(path: &Path, e: &std::io::Error) -> BackupError {
    BackupError::NotABackup {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}
