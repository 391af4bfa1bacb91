//! The session-key ciphers of W3C XML Encryption as .NET's `EncryptedXml` uses them: CBC with
//! the IV prepended to the cipher text, and ISO 10126 padding (random filler, last byte = pad
//! length). We write PKCS#7 padding, which is a valid ISO 10126 filler, and accept both.

use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use rand::Rng as _;
use zeroize::Zeroizing;

/// The data algorithms of XML Encryption that .NET's protected configuration uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DataAlgorithm {
    /// `tripledes-cbc`: .NET's default (`useFIPS="false"`).
    #[serde(rename = "tripledes-cbc", alias = "tripledes", alias = "3des")]
    TripleDes,
    /// `aes128-cbc`
    #[serde(rename = "aes128-cbc", alias = "aes128")]
    Aes128,
    /// `aes192-cbc`
    #[serde(rename = "aes192-cbc", alias = "aes192")]
    Aes192,
    /// `aes256-cbc`: what .NET uses with `useFIPS="true"`.
    #[serde(rename = "aes256-cbc", alias = "aes256")]
    Aes256,
}

impl std::str::FromStr for DataAlgorithm {
    type Err = String;

    /// `tripledes-cbc` (or `tripledes`, `3des`), `aes128-cbc`, `aes192-cbc`, `aes256-cbc` (or
    /// without `-cbc`).
    fn from_str(s: &str) -> Result<Self, String> {
        let all = [Self::TripleDes, Self::Aes128, Self::Aes192, Self::Aes256];
        let s = s.to_ascii_lowercase();
        if s == "3des" {
            return Ok(Self::TripleDes);
        }
        all.into_iter()
            .find(|a| a.label() == s || a.label().trim_end_matches("-cbc") == s)
            .ok_or_else(|| format!("unknown algorithm {s:?}; use tripledes-cbc, aes128-cbc, aes192-cbc or aes256-cbc"))
    }
}

impl DataAlgorithm {
    /// The algorithm's URI in `<EncryptionMethod Algorithm="...">`.
    pub fn uri(self) -> &'static str {
        match self {
            Self::TripleDes => "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
            Self::Aes128 => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            Self::Aes192 => "http://www.w3.org/2001/04/xmlenc#aes192-cbc",
            Self::Aes256 => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
        }
    }

    /// The algorithm named by `uri`, if supported.
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::TripleDes, Self::Aes128, Self::Aes192, Self::Aes256]
            .into_iter()
            .find(|a| a.uri() == uri.trim())
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::TripleDes | Self::Aes192 => 24,
            Self::Aes128 => 16,
            Self::Aes256 => 32,
        }
    }

    /// Block (and IV) length in bytes.
    pub fn block_len(self) -> usize {
        match self {
            Self::TripleDes => 8,
            _ => 16,
        }
    }

    /// A short name for messages and `--algorithm`.
    pub fn label(self) -> &'static str {
        match self {
            Self::TripleDes => "tripledes-cbc",
            Self::Aes128 => "aes128-cbc",
            Self::Aes192 => "aes192-cbc",
            Self::Aes256 => "aes256-cbc",
        }
    }
}

/// Why symmetric decryption failed. Never holds key or plain-text bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymmetricError {
    /// The session key has the wrong length for the algorithm (usually: the wrong RSA key).
    #[error("the session key is {found} bytes; {algorithm} needs {expected}")]
    KeyLength {
        /// Algorithm.
        algorithm: &'static str,
        /// Expected bytes.
        expected: usize,
        /// Found bytes.
        found: usize,
    },
    /// The cipher text is not a whole number of blocks after the IV.
    #[error(
        "the encrypted data is truncated ({len} bytes is not an IV plus whole {block}-byte blocks)"
    )]
    Truncated {
        /// Bytes found.
        len: usize,
        /// Block length.
        block: usize,
    },
    /// The padding is wrong: a wrong key, or corrupted data.
    #[error("bad padding after decryption (wrong key, or corrupted data)")]
    Padding,
}

/// A fresh random session key for `algorithm`.
pub fn random_key(algorithm: DataAlgorithm) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(vec![0u8; algorithm.key_len()]);
    rand::rng().fill_bytes(&mut key);
    key
}

/// Decrypts `data` (IV followed by cipher text) and removes the padding.
pub fn decrypt(
    algorithm: DataAlgorithm,
    key: &[u8],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SymmetricError> {
    let block = algorithm.block_len();
    if key.len() != algorithm.key_len() {
        return Err(SymmetricError::KeyLength {
            algorithm: algorithm.label(),
            expected: algorithm.key_len(),
            found: key.len(),
        });
    }
    if data.len() < 2 * block || !data.len().is_multiple_of(block) {
        return Err(SymmetricError::Truncated {
            len: data.len(),
            block,
        });
    }
    let (iv, body) = data.split_at(block);
    let padded = Zeroizing::new(match algorithm {
        DataAlgorithm::TripleDes => fast_tdes::decrypt(key, iv, body)
            .map_or_else(|| cbc_decrypt::<des::TdesEde3>(key, iv, body), Ok),
        DataAlgorithm::Aes128 => cbc_decrypt::<aes::Aes128>(key, iv, body),
        DataAlgorithm::Aes192 => cbc_decrypt::<aes::Aes192>(key, iv, body),
        DataAlgorithm::Aes256 => cbc_decrypt::<aes::Aes256>(key, iv, body),
    }?);
    let pad = usize::from(*padded.last().ok_or(SymmetricError::Padding)?);
    if pad == 0 || pad > block || pad > padded.len() {
        return Err(SymmetricError::Padding);
    }
    Ok(Zeroizing::new(padded[..padded.len() - pad].to_vec()))
}

/// Encrypts `plaintext` with a fresh random IV, returning IV followed by cipher text.
pub fn encrypt(
    algorithm: DataAlgorithm,
    key: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SymmetricError> {
    if key.len() != algorithm.key_len() {
        return Err(SymmetricError::KeyLength {
            algorithm: algorithm.label(),
            expected: algorithm.key_len(),
            found: key.len(),
        });
    }
    let mut iv = vec![0u8; algorithm.block_len()];
    rand::rng().fill_bytes(&mut iv);
    let body = match algorithm {
        DataAlgorithm::TripleDes => fast_tdes::encrypt(key, &iv, plaintext)
            .map_or_else(|| cbc_encrypt::<des::TdesEde3>(key, &iv, plaintext), Ok),
        DataAlgorithm::Aes128 => cbc_encrypt::<aes::Aes128>(key, &iv, plaintext),
        DataAlgorithm::Aes192 => cbc_encrypt::<aes::Aes192>(key, &iv, plaintext),
        DataAlgorithm::Aes256 => cbc_encrypt::<aes::Aes256>(key, &iv, plaintext),
    }?;
    iv.extend_from_slice(&body);
    Ok(iv)
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], body: &[u8]) -> Result<Vec<u8>, SymmetricError>
where
    C: cbc::cipher::BlockCipherDecrypt + cbc::cipher::KeyInit,
{
    let decryptor =
        cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|_| SymmetricError::Padding)?;
    decryptor
        .decrypt_padded_vec::<NoPadding>(body)
        .map_err(|_| SymmetricError::Padding)
}

fn cbc_encrypt<C>(key: &[u8], iv: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SymmetricError>
where
    C: cbc::cipher::BlockCipherEncrypt + cbc::cipher::KeyInit,
{
    let encryptor =
        cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(|_| SymmetricError::Padding)?;
    Ok(encryptor.encrypt_padded_vec::<Pkcs7>(plaintext))
}

/// Triple DES through AWS-LC (`aws-lc-rs`, feature `legacy-des`): its DES is the
/// table-driven C code of OpenSSL/BoringSSL, about three times faster than the `des` crate's
/// (docs/performance.md); AES stays with the `aes` crate, which already uses AES-NI. AWS-LC
/// refuses weak and degenerate 3DES keys (as .NET does); for those it returns `None` and the
/// caller uses the `des` crate, so every key that worked before still works. No random bytes
/// are drawn from AWS-LC (IV and session key come from `rand`), so its entropy set-up never
/// runs here.
mod fast_tdes {
    #![allow(deprecated)] // aws-lc-rs marks every 3DES item deprecated: legacy interoperability, which this is.

    use aws_lc_rs::cipher::{
        DES_EDE3_FOR_LEGACY_USE_ONLY, DecryptingKey, DecryptionContext, EncryptingKey,
        EncryptionContext, UnboundCipherKey,
    };
    use aws_lc_rs::iv::FixedLength;

    const BLOCK: usize = 8;

    fn iv(iv: &[u8]) -> Option<[u8; BLOCK]> {
        iv.try_into().ok()
    }

    /// CBC-decrypts whole blocks, padding left in place.
    pub fn decrypt(key: &[u8], iv_bytes: &[u8], body: &[u8]) -> Option<Vec<u8>> {
        let key =
            DecryptingKey::cbc(UnboundCipherKey::new(&DES_EDE3_FOR_LEGACY_USE_ONLY, key).ok()?)
                .ok()?;
        let mut out = body.to_vec();
        let context = DecryptionContext::Iv64(FixedLength::from(iv(iv_bytes)?));
        let len = key.decrypt(&mut out, context).ok()?.len();
        out.truncate(len);
        Some(out)
    }

    /// PKCS#7-pads and CBC-encrypts with the given IV.
    pub fn encrypt(key: &[u8], iv_bytes: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
        let key =
            EncryptingKey::cbc(UnboundCipherKey::new(&DES_EDE3_FOR_LEGACY_USE_ONLY, key).ok()?)
                .ok()?;
        let pad = BLOCK - plaintext.len() % BLOCK;
        let mut out = Vec::with_capacity(plaintext.len() + pad);
        out.extend_from_slice(plaintext);
        out.resize(plaintext.len() + pad, u8::try_from(pad).ok()?);
        let context = EncryptionContext::Iv64(FixedLength::from(iv(iv_bytes)?));
        key.less_safe_encrypt(&mut out, context).ok()?;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_lc_and_the_des_crate_agree_on_triple_des() {
        // The fast path must produce exactly the bytes of the reference implementation, in
        // both directions, for every length around the block size.
        let key = random_key(DataAlgorithm::TripleDes);
        let iv = [0x5Au8; 8];
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 1000] {
            let plain: Vec<u8> = (0..len).map(|i: u32| (i * 7 % 251) as u8).collect();
            let fast = fast_tdes::encrypt(&key, &iv, &plain).unwrap();
            let reference = cbc_encrypt::<des::TdesEde3>(&key, &iv, &plain).unwrap();
            assert_eq!(fast, reference, "encrypt {len}");
            let back = fast_tdes::decrypt(&key, &iv, &fast).unwrap();
            assert_eq!(
                back,
                cbc_decrypt::<des::TdesEde3>(&key, &iv, &fast).unwrap()
            );
        }
    }

    #[test]
    fn degenerate_triple_des_keys_still_work_through_the_des_crate() {
        // K1 == K2 == K3: AWS-LC refuses it, the `des` crate (single DES in effect) does not.
        let key = [0x13u8, 0x34, 0x57, 0x79, 0x9B, 0xBC, 0xDF, 0xF1].repeat(3);
        assert!(fast_tdes::encrypt(&key, &[0; 8], b"x").is_none());
        let enc = encrypt(DataAlgorithm::TripleDes, &key, b"hello").unwrap();
        assert_eq!(
            *decrypt(DataAlgorithm::TripleDes, &key, &enc).unwrap(),
            b"hello"
        );
    }

    #[test]
    fn every_algorithm_round_trips() {
        for alg in [
            DataAlgorithm::TripleDes,
            DataAlgorithm::Aes128,
            DataAlgorithm::Aes192,
            DataAlgorithm::Aes256,
        ] {
            let key = random_key(alg);
            for len in [0, 1, 7, 8, 15, 16, 17, 100] {
                let plain = vec![0x41u8; len];
                let enc = encrypt(alg, &key, &plain).unwrap();
                assert_eq!(enc.len() % alg.block_len(), 0);
                assert_eq!(*decrypt(alg, &key, &enc).unwrap(), plain, "{alg:?} {len}");
            }
            assert_eq!(DataAlgorithm::from_uri(alg.uri()), Some(alg));
        }
    }

    #[test]
    fn iso10126_padding_with_random_filler_is_accepted() {
        // EncryptedXml pads with random bytes and the pad length last.
        let alg = DataAlgorithm::TripleDes;
        let key = random_key(alg);
        let iv = [9u8; 8];
        let mut padded = b"hello".to_vec();
        padded.extend_from_slice(&[0xA7, 0x13, 3]);
        let body = cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .unwrap()
            .encrypt_padded_vec::<NoPadding>(&padded);
        let data = [iv.as_slice(), &body].concat();
        assert_eq!(*decrypt(alg, &key, &data).unwrap(), b"hello");
    }

    #[test]
    fn wrong_keys_and_damage_are_errors_not_panics() {
        let alg = DataAlgorithm::Aes256;
        let key = random_key(alg);
        let enc = encrypt(alg, &key, b"<connectionStrings/>").unwrap();
        assert!(matches!(
            decrypt(alg, &key[..16], &enc),
            Err(SymmetricError::KeyLength { .. })
        ));
        assert!(matches!(
            decrypt(alg, &key, &enc[..enc.len() - 3]),
            Err(SymmetricError::Truncated { .. })
        ));
        assert!(matches!(
            decrypt(alg, &key, &enc[..16]),
            Err(SymmetricError::Truncated { .. })
        ));
        let other = random_key(alg);
        // A wrong key fails the padding check (or, 1 time in ~256, yields garbage that later
        // fails to parse as XML); never a panic.
        let _ = decrypt(alg, &other, &enc);
    }
}
