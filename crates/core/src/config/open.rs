//! Open-and-unlock, the first step of every front end: load the config and, when its section
//! is encrypted and a key is at hand (a key file, the Windows key store, or DPAPI, which no
//! key file can replace), decrypt it.

use std::path::Path;

use super::Document;
use crate::protect::{self, KeyStore, ProviderKind};

/// What happened to the section's encryption.
#[derive(Debug)]
pub enum Unlock {
    /// The section is not encrypted.
    Plain,
    /// It was decrypted.
    Unlocked,
    /// It is encrypted and no key is at hand: names can be listed, values not.
    NoKey {
        /// The `configProtectionProvider`.
        provider: String,
    },
    /// A key was tried and could not decrypt it.
    Failed {
        /// The `configProtectionProvider`.
        provider: String,
        /// Why.
        error: crate::Error,
    },
}

/// A loaded config and what unlocking it did.
#[derive(Debug)]
pub struct Opened {
    /// The document (still encrypted unless [`Unlock::Plain`] or [`Unlock::Unlocked`]).
    pub doc: Document,
    /// What unlocking did.
    pub unlock: Unlock,
}

impl Opened {
    /// The document, or the error of a key that could not decrypt it (the CLI: a section
    /// left encrypted for want of a key is still listed).
    pub fn into_document(self) -> crate::Result<Document> {
        match self.unlock {
            Unlock::Failed { error, .. } => Err(error),
            _ => Ok(self.doc),
        }
    }
}

/// Loads `path` and unlocks it with `keys` when a key is at hand. A DPAPI section is always
/// tried: no key file can open it, so where the OS cannot (any machine but the one that
/// encrypted it) the error says so, instead of asking for a key.
pub fn open(path: &Path, keys: &KeyStore) -> crate::Result<Opened> {
    let mut doc = Document::load(path)?;
    let Some(protection) = doc.protection() else {
        // Keeps the keys, for a later `Change::Protect`.
        doc.unlock(keys.clone())?;
        return Ok(Opened {
            doc,
            unlock: Unlock::Plain,
        });
    };
    let provider = protection.provider.clone();
    let dpapi = protect::provider::resolve(doc.main_file(), &provider)
        .is_ok_and(|spec| spec.kind == ProviderKind::Dpapi);
    if keys.is_empty() && !dpapi {
        return Ok(Opened {
            doc,
            unlock: Unlock::NoKey { provider },
        });
    }
    let unlock = match doc.unlock(keys.clone()) {
        Ok(_) => Unlock::Unlocked,
        Err(error) => Unlock::Failed { provider, error },
    };
    Ok(Opened { doc, unlock })
}
