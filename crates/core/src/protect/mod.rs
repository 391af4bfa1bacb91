//! Protected configuration: the encrypted `<connectionStrings>` section K2 servers keep, read
//! and written the way .NET's providers do.
//!
//! - [`provider`]: which provider a section names and its settings;
//! - [`xmlenc`]: the `<EncryptedData>` element;
//! - [`symmetric`]: the session-key ciphers (Triple DES, AES; CBC, IV prefix, ISO 10126);
//! - [`keys`]: RSA keys from `aspnet_regiis -px` XML exports or PEM files;
//! - `windows` (Windows only): the `CryptoAPI` key container and DPAPI.
//!
//! All cryptography comes from the `RustCrypto` crates (`rsa`, `des`, `aes`, `cbc`) or Windows'; nothing is
//! implemented here. Decrypted text and session keys live in [`Zeroizing`] buffers.

pub mod capi;
pub mod keys;
mod legacy_pem;
mod pbe;
mod private_half;
pub mod provider;
pub mod symmetric;
#[cfg(windows)]
mod windows;
pub mod xmlenc;

use std::sync::Arc;

use zeroize::Zeroizing;

pub use keys::{KeyError, RsaKey};
pub use provider::{Declared, ProviderKind, ProviderSpec};
pub use symmetric::DataAlgorithm;
pub use xmlenc::KeyTransport;

/// The keys k2cse may use to decrypt and encrypt.
#[derive(Debug, Clone, Default)]
pub struct KeyStore {
    /// A key from `--key-file`.
    pub rsa: Option<Arc<RsaKey>>,
    /// Whether the operating system's key stores may be used (the `CryptoAPI` key container
    /// named by the provider, DPAPI). Only meaningful on Windows.
    pub os_store: bool,
}

impl KeyStore {
    /// A store with `--key-file`, and the OS stores on Windows.
    pub fn new(rsa: Option<RsaKey>) -> Self {
        Self {
            rsa: rsa.map(Arc::new),
            os_store: cfg!(windows),
        }
    }

    /// Whether any key source is available.
    pub fn is_empty(&self) -> bool {
        self.rsa.is_none() && !(self.os_store && cfg!(windows))
    }

    /// A short description of where keys come from, for messages.
    pub fn describe(&self, spec: &ProviderSpec) -> String {
        match (&self.rsa, spec.kind == ProviderKind::Dpapi) {
            (_, true) => "Windows DPAPI".to_owned(),
            (Some(key), false) => format!("key file {}", key.path().display()),
            (None, false) => format!(
                "the {} key container {:?}",
                if spec.use_machine_container {
                    "machine"
                } else {
                    "user"
                },
                spec.key_container
            ),
        }
    }
}

/// How a section was (and will again be) encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "provider")]
pub enum Scheme {
    /// RSA provider: data algorithm, the key transport URI written, and whether OAEP padding
    /// is actually used (.NET writes the `rsa-1_5` URI even for OAEP).
    Rsa {
        /// Data algorithm.
        data: DataAlgorithm,
        /// Key transport URI in the XML.
        transport: KeyTransport,
        /// OAEP padding in use.
        oaep: bool,
    },
    /// DPAPI.
    Dpapi,
}

/// The encrypted parts to write back into an `<EncryptedData>` element.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// The RSA-encrypted session key (`None` for DPAPI).
    pub key_cipher: Option<Vec<u8>>,
    /// IV and cipher text, or the DPAPI blob.
    pub cipher: Vec<u8>,
}

/// Decrypts an `<EncryptedData>` element: the section's plain text and how it was encrypted.
/// Errors are messages saying what went wrong and what to do (the caller adds file and
/// provider); they never contain key material or plain text.
pub fn unseal(
    spec: &ProviderSpec,
    keys: &KeyStore,
    data: &xmlenc::EncryptedDataXml,
) -> Result<(Zeroizing<String>, Scheme), String> {
    match &spec.kind {
        ProviderKind::Rsa => unseal_rsa(spec, keys, data),
        ProviderKind::Dpapi => {
            let plain = dpapi_unprotect(spec, keys, &data.cipher)?;
            Ok((plain, Scheme::Dpapi))
        }
        ProviderKind::Other(type_name) => Err(format!(
            "provider type {type_name:?} is not supported (k2cse reads RsaProtectedConfigurationProvider and DpapiProtectedConfigurationProvider sections)"
        )),
    }
}

fn unseal_rsa(
    spec: &ProviderSpec,
    keys: &KeyStore,
    data: &xmlenc::EncryptedDataXml,
) -> Result<(Zeroizing<String>, Scheme), String> {
    let algorithm = data
        .data_algorithm
        .ok_or("the EncryptedData element names no encryption method")?;
    let key = data
        .key
        .as_ref()
        .ok_or("the EncryptedData element has no EncryptedKey (is the provider right?)")?;
    // .NET writes the rsa-1_5 URI even with useOAEP="true": the provider's setting decides,
    // and the other padding is tried when it fails. PKCS#1 v1.5 decryption may reject
    // implicitly (the rsa crate, for keys AWS-LC does not take, returns unrelated bytes
    // instead of an error), so "fails" is also judged by what follows: the session
    // key's length (wrong key), the padding of the data (damaged data), UTF-8 — and the
    // caller parses the result as XML.
    // Damage that no key explains is reported as such, before any key is tried.
    let block = algorithm.block_len();
    if data.cipher.len() < 2 * block || !data.cipher.len().is_multiple_of(block) {
        return Err(format!(
            "the encrypted data is damaged: its CipherValue holds {} bytes, not an IV plus whole {block}-byte blocks, so no key can decrypt it (restore the file from a backup)",
            data.cipher.len()
        ));
    }
    let order = match key.transport {
        KeyTransport::RsaOaep => vec![true],
        KeyTransport::Rsa15 => vec![spec.use_oaep, !spec.use_oaep],
    };
    // The first attempt uses the padding .NET would use; its error is the one reported (a
    // failed retry with the other padding says nothing more).
    let mut first_error: Option<Failure> = None;
    for oaep in order {
        let failure = match rsa_decrypt(spec, keys, oaep, &key.cipher) {
            Err(e) => Failure::WrongKey(e),
            Ok(session) => match symmetric::decrypt(algorithm, &session, &data.cipher) {
                Ok(plain) => match String::from_utf8(plain.to_vec()) {
                    Ok(text) => {
                        return Ok((
                            Zeroizing::new(text),
                            Scheme::Rsa {
                                data: algorithm,
                                transport: key.transport,
                                oaep,
                            },
                        ));
                    }
                    Err(_) => {
                        Failure::Damaged("the decrypted section is not UTF-8 text".to_owned())
                    }
                },
                // A session key of the wrong length: the RSA key is not the one used.
                Err(e @ symmetric::SymmetricError::KeyLength { .. }) => {
                    Failure::WrongKey(e.to_string())
                }
                // The key opened the session key, but the data does not decrypt: damaged.
                Err(symmetric::SymmetricError::Padding) => {
                    Failure::Damaged("its padding is wrong after decryption".to_owned())
                }
                Err(e) => Failure::Damaged(e.to_string()),
            },
        };
        first_error.get_or_insert(failure);
    }
    Err(match first_error {
        Some(Failure::Damaged(e)) => format!(
            "the encrypted data is damaged: {} opens its session key, but the data does not decrypt ({e}); restore the file from a backup",
            keys.describe(spec)
        ),
        Some(Failure::WrongKey(e)) => {
            format!("cannot decrypt with {}: {e}", keys.describe(spec))
        }
        None => format!("cannot decrypt with {}", keys.describe(spec)),
    })
}

/// Why one decryption attempt failed.
enum Failure {
    /// The key is not the one the section was encrypted with (or there is none).
    WrongKey(String),
    /// The key fits, the data does not: the cipher text was changed.
    Damaged(String),
}

/// Encrypts `plain` (the whole `<connectionStrings>` element) as `scheme` says, with a fresh
/// session key and IV.
pub fn seal(
    spec: &ProviderSpec,
    keys: &KeyStore,
    scheme: Scheme,
    plain: &str,
) -> Result<Sealed, String> {
    match scheme {
        Scheme::Rsa { data, oaep, .. } => {
            let session = symmetric::random_key(data);
            let cipher =
                symmetric::encrypt(data, &session, plain.as_bytes()).map_err(|e| e.to_string())?;
            let key_cipher = rsa_encrypt(spec, keys, oaep, &session)?;
            Ok(Sealed {
                key_cipher: Some(key_cipher),
                cipher,
            })
        }
        Scheme::Dpapi => Ok(Sealed {
            key_cipher: None,
            cipher: dpapi_protect(spec, keys, plain)?,
        }),
    }
}

/// The scheme .NET would use for a new encryption with `spec`.
pub fn default_scheme(
    spec: &ProviderSpec,
    algorithm: Option<DataAlgorithm>,
) -> Result<Scheme, String> {
    match &spec.kind {
        ProviderKind::Rsa => Ok(Scheme::Rsa {
            data: algorithm.unwrap_or(if spec.use_fips {
                DataAlgorithm::Aes256
            } else {
                DataAlgorithm::TripleDes
            }),
            transport: KeyTransport::Rsa15,
            oaep: spec.use_oaep,
        }),
        ProviderKind::Dpapi => Ok(Scheme::Dpapi),
        ProviderKind::Other(t) => Err(format!("provider type {t:?} is not supported")),
    }
}

/// The public key the RSA operations would use: the key file's, or (Windows) the container's.
pub fn public_key(
    spec: &ProviderSpec,
    keys: &KeyStore,
) -> Result<(rsa::PublicKey, String), String> {
    if let Some(key) = &keys.rsa {
        return Ok((key.public().clone(), key.fingerprint()));
    }
    os_public_key(spec, keys)
}

/// What [`import_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportOutcome {
    /// The container did not exist; it now holds the key.
    Created,
    /// The container held another key, which `replace` allowed to overwrite.
    Replaced,
    /// The container already held this key; nothing changed.
    Unchanged,
}

/// Puts `key` into the `CryptoAPI` container `spec` names (Windows only), as
/// `aspnet_regiis -pi` does: after it, k2cse and K2 decrypt with the container and no key file.
/// A container holding a different key is left alone unless `replace`.
pub fn import_key(
    spec: &ProviderSpec,
    key: &RsaKey,
    replace: bool,
) -> Result<ImportOutcome, String> {
    if spec.kind != ProviderKind::Rsa {
        return Err(format!(
            "provider {:?} is not an RSA provider; DPAPI has no key to import",
            spec.name
        ));
    }
    let blob = capi::private_key_blob(key)?;
    let os = KeyStore {
        rsa: None,
        os_store: true,
    };
    let outcome = match os_public_key(spec, &os) {
        Ok((_, fingerprint)) if fingerprint == key.fingerprint() => {
            return Ok(ImportOutcome::Unchanged);
        }
        Ok(_) if !replace => {
            return Err(capi::container_error(
                capi::ContainerAction::Import,
                &spec.key_container,
                spec.use_machine_container,
                capi::NTE_EXISTS,
            ));
        }
        Ok(_) => ImportOutcome::Replaced,
        Err(_) => ImportOutcome::Created,
    };
    os_import(spec, &blob)?;
    Ok(outcome)
}

/// The private key of the container `spec` names as `<RSAKeyValue>` XML, the format of
/// `aspnet_regiis -px ... -pri` (Windows only; the key must be exportable).
pub fn export_key(spec: &ProviderSpec) -> Result<Zeroizing<String>, String> {
    let blob = os_export(spec)?;
    capi::key_xml_from_private_blob(&blob)
}

#[cfg(windows)]
fn os_import(spec: &ProviderSpec, blob: &[u8]) -> Result<(), String> {
    windows::container_import(spec, blob)
}

#[cfg(windows)]
fn os_export(spec: &ProviderSpec) -> Result<Zeroizing<Vec<u8>>, String> {
    windows::container_export(spec)
}

#[cfg(not(windows))]
const NO_CONTAINERS: &str = "CryptoAPI key containers exist only on Windows: run this on the K2 \
    server (elsewhere, pass the exported key with --key-file)";

#[cfg(not(windows))]
fn os_import(_: &ProviderSpec, _: &[u8]) -> Result<(), String> {
    Err(NO_CONTAINERS.to_owned())
}

#[cfg(not(windows))]
fn os_export(_: &ProviderSpec) -> Result<Zeroizing<Vec<u8>>, String> {
    Err(NO_CONTAINERS.to_owned())
}

fn rsa_decrypt(
    spec: &ProviderSpec,
    keys: &KeyStore,
    oaep: bool,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, String> {
    if let Some(key) = &keys.rsa {
        return key.decrypt(oaep, data);
    }
    os_rsa_decrypt(spec, keys, oaep, data)
}

fn rsa_encrypt(
    spec: &ProviderSpec,
    keys: &KeyStore,
    oaep: bool,
    data: &[u8],
) -> Result<Vec<u8>, String> {
    if let Some(key) = &keys.rsa {
        return key.encrypt(oaep, data);
    }
    os_rsa_encrypt(spec, keys, oaep, data)
}

/// What to do without a key: export the provider's own container on the K2 server.
pub fn need_key(spec: &ProviderSpec) -> String {
    format!(
        "no key: pass --key-file with the provider's key, exported on the K2 server with \
         `aspnet_regiis -px \"{}\" key.xml -pri` (or a PEM private key)",
        spec.key_container
    )
}

#[cfg(windows)]
fn os_rsa_decrypt(
    spec: &ProviderSpec,
    keys: &KeyStore,
    oaep: bool,
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, String> {
    if !keys.os_store {
        return Err(need_key(spec));
    }
    windows::container_decrypt(spec, oaep, data)
}

#[cfg(windows)]
fn os_rsa_encrypt(
    spec: &ProviderSpec,
    keys: &KeyStore,
    oaep: bool,
    data: &[u8],
) -> Result<Vec<u8>, String> {
    if !keys.os_store {
        return Err(need_key(spec));
    }
    windows::container_encrypt(spec, oaep, data)
}

#[cfg(windows)]
fn os_public_key(spec: &ProviderSpec, keys: &KeyStore) -> Result<(rsa::PublicKey, String), String> {
    if !keys.os_store {
        return Err(need_key(spec));
    }
    windows::container_public_key(spec)
}

#[cfg(windows)]
fn dpapi_unprotect(
    spec: &ProviderSpec,
    _keys: &KeyStore,
    blob: &[u8],
) -> Result<Zeroizing<String>, String> {
    windows::dpapi_unprotect(spec, blob)
}

#[cfg(windows)]
fn dpapi_protect(spec: &ProviderSpec, _keys: &KeyStore, plain: &str) -> Result<Vec<u8>, String> {
    windows::dpapi_protect(spec, plain)
}

#[cfg(not(windows))]
fn os_rsa_decrypt(
    spec: &ProviderSpec,
    _: &KeyStore,
    _: bool,
    _: &[u8],
) -> Result<Zeroizing<Vec<u8>>, String> {
    Err(need_key(spec))
}

#[cfg(not(windows))]
fn os_rsa_encrypt(spec: &ProviderSpec, _: &KeyStore, _: bool, _: &[u8]) -> Result<Vec<u8>, String> {
    Err(need_key(spec))
}

#[cfg(not(windows))]
fn os_public_key(spec: &ProviderSpec, _: &KeyStore) -> Result<(rsa::PublicKey, String), String> {
    Err(need_key(spec))
}

#[cfg(not(windows))]
const DPAPI_ELSEWHERE: &str = "this section is protected with Windows DPAPI, whose keys never leave the \
    Windows machine (or user) that encrypted it: run k2cse on that K2 server, or re-protect the \
    section there with the RSA provider (k2cse protect --provider RsaProtectedConfigurationProvider)";

#[cfg(not(windows))]
fn dpapi_unprotect(_: &ProviderSpec, _: &KeyStore, _: &[u8]) -> Result<Zeroizing<String>, String> {
    Err(DPAPI_ELSEWHERE.to_owned())
}

#[cfg(not(windows))]
fn dpapi_protect(_: &ProviderSpec, _: &KeyStore, _: &str) -> Result<Vec<u8>, String> {
    Err(DPAPI_ELSEWHERE.to_owned())
}

#[cfg(test)]
mod tests;
