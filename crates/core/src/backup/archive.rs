//! A backup's bytes: a POSIX tar (each part, then `manifest.json`), optionally wrapped
//! in `age` passphrase encryption (scrypt + ChaCha20-Poly1305; no home-made crypto).
//!
//! Reading verifies everything before returning: the tar's end-of-archive blocks are present
//! (a truncated copy is refused, not half-read), every member is listed in the manifest,
//! every listed part is present with the size and SHA-256 the manifest gives. An encrypted
//! backup is also authenticated by `age`: any altered byte fails decryption.

use std::io::{Read as _, Write};
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

/// scrypt's `log2 N` for new encrypted backups: about a second on a current server. Fixed,
/// not calibrated on the writing machine (as `age` would), so that a backup made on a fast
/// server opens on a slow laptop, and a machine with a coarse clock (Wine) cannot pick a cost
/// that takes minutes elsewhere.
pub const DEFAULT_WORK_FACTOR: u8 = 18;

/// The highest `log2 N` a reader accepts: 16 times the default. Beyond that a file would make
/// k2cse spend minutes (or memory) before it could even say the passphrase is wrong.
pub const MAX_WORK_FACTOR: u8 = DEFAULT_WORK_FACTOR + 4;

/// How to encrypt a backup: a passphrase, and optionally the scrypt work factor (`log2 N`).
#[derive(Debug, Clone)]
pub struct Encryption {
    /// The passphrase.
    pub passphrase: Secret,
    /// scrypt's `log2 N` [default: [`DEFAULT_WORK_FACTOR`]; at most [`MAX_WORK_FACTOR`]].
    pub work_factor: Option<u8>,
}

impl Encryption {
    /// Encryption with `passphrase` and the default work factor.
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
    pub fn encode(&self, path: &Path, encryption: Option<&Encryption>) -> crate::Result<Vec<u8>> {
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
        let mut members: Vec<Member<'_>> = manifest
            .files
            .iter()
            .zip(&self.files)
            .map(|(file, bytes)| Member {
                name: file.part.clone(),
                size: bytes.len() as u64,
                data: Box::new(bytes.as_slice()),
            })
            .collect();
        if let Some((name, json)) = &rows_json {
            members.push(Member {
                name: name.clone(),
                size: json.len() as u64,
                data: Box::new(json.as_slice()),
            });
        }
        let mut out = Vec::new();
        write_archive(&mut out, path, members, || Ok(manifest), encryption)?;
        Ok(out)
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
        if tar.len() < 512 || tar.get(257..262) != Some(b"ustar") {
            return Err(BackupError::NotABackup {
                path: path.to_owned(),
                detail: "neither a tar archive nor an age-encrypted file".into(),
            });
        }
        if tar.len() < 1536 || !tar.len().is_multiple_of(512) {
            return Err(truncated(format!(
                "{} bytes is not a whole archive",
                tar.len()
            )));
        }
        if tar[tar.len() - 1024..].iter().any(|&b| b != 0) {
            return Err(truncated("the end-of-archive marker is missing".into()));
        }
        let members = read_members(path, tar)?;
        let mut members = members;
        let manifest = match members.iter().position(|(name, _)| name == "manifest.json") {
            Some(i) => parse_manifest(path, &members.remove(i).1)?,
            None => {
                return Err(BackupError::Manifest {
                    path: path.to_owned(),
                    message: "the archive has no manifest.json".into(),
                });
            }
        };
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

/// One archive member to write: its name, its size, and where its bytes come from.
pub(super) struct Member<'a> {
    pub(super) name: String,
    pub(super) size: u64,
    pub(super) data: Box<dyn std::io::Read + 'a>,
}

/// Writes the archive to `out` as it goes (nothing is held in memory but a buffer): each
/// member, then the manifest, which `manifest` makes once the members have gone by (so that a
/// writer can hash a part while copying it), all inside `age` encryption when asked.
pub(super) fn write_archive<W: Write>(
    out: W,
    path: &Path,
    members: Vec<Member<'_>>,
    manifest: impl FnOnce() -> crate::Result<Manifest>,
    encryption: Option<&Encryption>,
) -> crate::Result<()> {
    let fail = |e: &dyn std::fmt::Display| BackupError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mtime = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .max(0)
        .cast_unsigned();
    let write_tar = |sink: &mut dyn Write| -> crate::Result<()> {
        let mut tar = tar::Builder::new(sink);
        let mut add = |name: &str, size: u64, data: &mut dyn std::io::Read| {
            let mut header = tar::Header::new_ustar();
            header.set_size(size);
            header.set_mode(0o600);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            // `take`: a source that grew meanwhile cannot overrun the size in the header (the
            // caller checks what it read).
            tar.append_data(&mut header, name, data.take(size))
        };
        for mut member in members {
            add(&member.name, member.size, &mut member.data).map_err(|e| fail(&e))?;
        }
        let manifest = manifest()?;
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| manifest_error(path, &e))?;
        add("manifest.json", json.len() as u64, &mut json.as_slice()).map_err(|e| fail(&e))?;
        tar.finish().map_err(|e| fail(&e).into())
    };
    match encryption {
        None => {
            let mut out = out;
            write_tar(&mut out)
        }
        Some(encryption) => {
            let mut recipient = age::scrypt::Recipient::new(SecretString::from(
                encryption.passphrase.expose().to_owned(),
            ));
            recipient.set_work_factor(
                encryption
                    .work_factor
                    .filter(|n| (1..=MAX_WORK_FACTOR).contains(n))
                    .unwrap_or(DEFAULT_WORK_FACTOR),
            );
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .map_err(|e| fail(&e))?;
            let mut writer = encryptor.wrap_output(out).map_err(|e| fail(&e))?;
            write_tar(&mut writer)?;
            writer.finish().map(drop).map_err(|e| fail(&e).into())
        }
    }
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
    let mut identity =
        age::scrypt::Identity::new(SecretString::from(passphrase.expose().to_owned()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
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

fn not_a_backup(path: &Path, e: &std::io::Error) -> BackupError {
    BackupError::NotABackup {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}
