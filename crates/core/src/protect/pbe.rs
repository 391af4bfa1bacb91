//! The older password-based encryptions of `ENCRYPTED PRIVATE KEY` (PKCS#8) files, which the
//! `pkcs8`/`pkcs5` crates parse but do not decrypt:
//!
//! - PKCS#5 v1.5 PBES1 (RFC 8018 §6.1): `openssl pkcs8 -topk8 -v1 PBE-MD5-DES` or
//!   `PBE-SHA1-DES` — PBKDF1 (MD5 or SHA-1), single DES-CBC;
//! - PKCS#12 PBE (RFC 7292 appendix C): `openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES` (the key
//!   encryption of `openssl pkcs12` exports before OpenSSL 3 and of older Windows tools) and
//!   `PBE-SHA1-2DES` — the RFC 7292 appendix B KDF with SHA-1, Triple DES-CBC.
//!
//! The PKCS#12 KDF is written here (about 40 lines) rather than taken from the `pkcs12` crate:
//! its only release with our `der`/`digest` versions is a pre-release (0.2.0-pre.0) that pins
//! pre-releases of `cms` and `x509-cert` with `=`, and 0.1.0 would bring a second copy of the
//! `RustCrypto` stack (`der` 0.7, `digest` 0.10). It is checked against OpenSSL's output
//! (`tests/tests/key_files.rs`).
//!
//! RC2 and RC4 variants are refused with a message that says how to convert the key.

use md5::compute as md5_digest;
use pkcs8::der::asn1::{AnyRef, ObjectIdentifier, OctetString};
use pkcs8::der::{Decode as _, Encode as _};
use pkcs8::spki::AlgorithmIdentifierRef;
use sha1::{Digest as _, Sha1};
use zeroize::Zeroizing;

use super::symmetric::{self, DataAlgorithm};

const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBE_MD5_DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.3");
const PBE_SHA1_DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.10");
const PKCS12_PBE: &str = "1.2.840.113549.1.12.1.";
const PKCS12_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PKCS12_SHA1_2DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4");

/// What the PEM holds: a PBES2 key for the `pkcs8` crate, or one decrypted here.
pub enum Opened {
    /// PBES2: the `pkcs8` crate decrypts it.
    Pbes2,
    /// The decrypted `PrivateKeyInfo` DER.
    PrivateKeyInfo(Zeroizing<Vec<u8>>),
}

/// Opens an `ENCRYPTED PRIVATE KEY` DER (`EncryptedPrivateKeyInfo`) that uses PBES1 or a
/// PKCS#12 PBE; returns `Opened::Pbes2` for the scheme the `pkcs8` crate handles.
pub fn open(der: &[u8], passphrase: &str) -> Result<Opened, String> {
    let malformed = |e: pkcs8::der::Error| format!("malformed encrypted PKCS#8 key: {e}");
    let parts: Vec<AnyRef<'_>> = Vec::from_der(der).map_err(malformed)?;
    let [algorithm, data] = parts.as_slice() else {
        return Err("malformed encrypted PKCS#8 key: expected an algorithm and the data".into());
    };
    let algorithm: AlgorithmIdentifierRef<'_> = algorithm.decode_as().map_err(malformed)?;
    let data: OctetString = data.decode_as().map_err(malformed)?;
    let oid = algorithm.oid;
    if oid == PBES2 {
        return Ok(Opened::Pbes2);
    }
    let known = oid == PBE_MD5_DES
        || oid == PBE_SHA1_DES
        || oid == PKCS12_SHA1_3DES
        || oid == PKCS12_SHA1_2DES;
    if !known {
        let family = if oid.to_string().starts_with(PKCS12_PBE) {
            "a PKCS#12 RC2/RC4 encryption"
        } else {
            "an encryption"
        };
        return Err(format!(
            "the key is protected with {family} ({oid}) that k2cse does not read (convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc)"
        ));
    }
    let (salt, rounds) = parameters(algorithm.parameters).map_err(malformed)?;
    let plain = if oid == PBE_MD5_DES || oid == PBE_SHA1_DES {
        let derived = pbkdf1(oid == PBE_MD5_DES, passphrase.as_bytes(), &salt, rounds);
        des_cbc_decrypt(&derived[..8], &derived[8..16], data.as_bytes())
    } else {
        let password = bmp_password(passphrase);
        let key_len = if oid == PKCS12_SHA1_3DES { 24 } else { 16 };
        let mut key = pkcs12_kdf(&password, &salt, KeyUse::Encryption, rounds, key_len);
        if key_len == 16 {
            // Two-key Triple DES: K3 = K1.
            let first = Zeroizing::new(key[..8].to_vec());
            key.extend_from_slice(&first);
        }
        let iv = pkcs12_kdf(&password, &salt, KeyUse::Iv, rounds, 8);
        let mut input = Zeroizing::new(iv.to_vec());
        input.extend_from_slice(data.as_bytes());
        symmetric::decrypt(DataAlgorithm::TripleDes, &key, &input).ok()
    };
    // A wrong passphrase almost always breaks the padding; when the padding happens to look
    // right, the DER check below catches it.
    let wrong = || "cannot open the password-protected key (wrong passphrase?)".to_owned();
    let plain = plain.ok_or_else(wrong)?;
    let info = pkcs8::PrivateKeyInfoRef::from_der(&plain).map_err(|_| wrong())?;
    let der = info.to_der().map_err(|_| wrong())?;
    Ok(Opened::PrivateKeyInfo(Zeroizing::new(der)))
}

/// `PBEParameter`/`pkcs-12PbeParams`: `SEQUENCE { salt OCTET STRING, iterations INTEGER }`.
fn parameters(params: Option<AnyRef<'_>>) -> Result<(Vec<u8>, u32), pkcs8::der::Error> {
    let params = params.ok_or_else(|| pkcs8::der::Tag::Sequence.value_error())?;
    let fields: Vec<AnyRef<'_>> = params.decode_as()?;
    let [salt, rounds] = fields.as_slice() else {
        return Err(pkcs8::der::Tag::Sequence.value_error().into());
    };
    let salt: OctetString = salt.decode_as()?;
    let rounds: u32 = rounds.decode_as()?;
    Ok((salt.as_bytes().to_vec(), rounds))
}

/// PBKDF1 (RFC 8018 §5.1): `T = Hash^c(P || S)`; PBES1 takes the key from the first 8 bytes
/// and the IV from the next 8.
fn pbkdf1(md5: bool, password: &[u8], salt: &[u8], rounds: u32) -> Zeroizing<Vec<u8>> {
    let mut t = Zeroizing::new(password.to_vec());
    t.extend_from_slice(salt);
    for _ in 0..rounds.max(1) {
        *t = if md5 {
            md5_digest(&*t).0.to_vec()
        } else {
            Sha1::digest(&*t).to_vec()
        };
    }
    t
}

/// The password as PKCS#12 wants it: UTF-16 big-endian with a two-byte terminator (what
/// OpenSSL's `PKCS12_key_gen_utf8` makes of a UTF-8 passphrase).
fn bmp_password(passphrase: &str) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(passphrase.len() * 2 + 2));
    for unit in passphrase.encode_utf16() {
        bytes.extend_from_slice(&unit.to_be_bytes());
    }
    bytes.extend_from_slice(&[0, 0]);
    bytes
}

#[derive(Clone, Copy)]
enum KeyUse {
    Encryption = 1,
    Iv = 2,
}

/// RFC 7292 appendix B.2 with SHA-1 (u = 20, v = 64 bytes); the step numbers are the RFC's.
fn pkcs12_kdf(
    password: &[u8],
    salt: &[u8],
    id: KeyUse,
    rounds: u32,
    len: usize,
) -> Zeroizing<Vec<u8>> {
    const V: usize = 64;
    // 1. D: v bytes of ID.
    let diversifier = [id as u8; V];
    // 2.-4. I = S || P, each repeated to a multiple of v bytes.
    let repeat = |data: &[u8]| -> Vec<u8> {
        let n = V * data.len().div_ceil(V);
        data.iter().copied().cycle().take(n).collect()
    };
    let mut input = Zeroizing::new(repeat(salt));
    input.extend_from_slice(&repeat(password));
    let mut out = Zeroizing::new(Vec::with_capacity(len + 20));
    while out.len() < len {
        // 6.a A = H^r(D || I).
        let mut hasher = Sha1::new();
        hasher.update(diversifier);
        hasher.update(&*input);
        let mut a = hasher.finalize();
        for _ in 1..rounds.max(1) {
            a = Sha1::digest(a);
        }
        out.extend_from_slice(&a);
        if out.len() >= len {
            break;
        }
        // 6.b B = A repeated to v bytes; 6.c each v-byte block I_j = (I_j + B + 1) mod 2^v.
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for block in input.chunks_mut(V) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().zip(&b).rev() {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum.to_le_bytes()[0];
                carry = sum >> 8;
            }
        }
    }
    out.truncate(len);
    out
}

/// Single DES-CBC with PKCS#7 padding; `None` when the padding is wrong.
fn des_cbc_decrypt(key: &[u8], iv: &[u8], body: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    use cbc::cipher::{BlockModeDecrypt as _, KeyIvInit as _, block_padding::NoPadding};
    if body.is_empty() || !body.len().is_multiple_of(8) {
        return None;
    }
    let decryptor = cbc::Decryptor::<des::Des>::new_from_slices(key, iv).ok()?;
    let padded = Zeroizing::new(decryptor.decrypt_padded_vec::<NoPadding>(body).ok()?);
    let pad = usize::from(*padded.last()?);
    if pad == 0
        || pad > 8
        || padded[padded.len() - pad..]
            .iter()
            .any(|&p| usize::from(p) != pad)
    {
        return None;
    }
    Some(Zeroizing::new(padded[..padded.len() - pad].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs12_kdf_matches_the_published_vectors() {
        // The test vectors of RFC 7292's reference implementation, as used by OpenSSL's and
        // Bouncy Castle's tests: password "smeg", salt 0A58CF64530D823F, 1 iteration.
        let password = bmp_password("smeg");
        let salt = [0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F];
        let key = pkcs12_kdf(&password, &salt, KeyUse::Encryption, 1, 24);
        assert_eq!(
            hex(&key),
            "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"
        );
        let iv = pkcs12_kdf(&password, &salt, KeyUse::Iv, 1, 8);
        assert_eq!(hex(&iv), "79993dfe048d3b76");
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().fold(String::new(), |mut s, b| {
            use std::fmt::Write as _;
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}
