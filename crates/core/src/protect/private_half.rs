//! The private half of an RSA key, in two implementations: AWS-LC for the private-key
//! operation, the `rsa` crate for keys AWS-LC does not take and for exports.
//!
//! Why two: the `rsa` crate's constant-time arithmetic takes about 3 ms for one 2048-bit
//! decryption on this project's machines, AWS-LC (OpenSSL's assembly) about 0.3 ms, and that
//! operation was most of what an encrypted section adds to every edit. Building the `rsa`
//! crate's key (its checks and CRT precomputation) cost about as much again, so it is built
//! only when needed: an `<RSAKeyValue>` export, which carries every CRT value, goes to AWS-LC
//! as it is (a key AWS-LC refuses, under 2048 bits or over 8192, is read by the `rsa` crate
//! at once, with the same checks and messages as before; a decryption AWS-LC does not
//! manage is tried again by the `rsa` crate, see [`PrivateHalf::decrypt`]). AWS-LC blinds the operation with random bytes; its
//! generator is seeded from the OS alone (`AWS_LC_SYS_NO_JITTER_ENTROPY` in
//! `.cargo/config.toml`), else the first draw would spend ~50 ms collecting CPU jitter.

use std::sync::{Arc, OnceLock};

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, Pkcs1PrivateDecryptingKey, PrivateDecryptingKey,
};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rsa::{Oaep, Pkcs1v15Encrypt, PrivateKey};
use zeroize::{Zeroize as _, Zeroizing};

/// The private half of an [`super::keys::RsaKey`].
#[derive(Clone)]
pub(super) struct PrivateHalf {
    /// PKCS#8 DER of the key, wiped when dropped: what both implementations are read from.
    der: Zeroizing<Vec<u8>>,
    /// AWS-LC's key; `None` when AWS-LC does not take it. Read on first use.
    aws_lc: OnceLock<Option<Arc<PrivateDecryptingKey>>>,
    /// The `rsa` crate's key. Read on first use.
    rsa: OnceLock<Result<PrivateKey, String>>,
}

/// The CRT form of a key, as an `<RSAKeyValue>` export holds it (big-endian integers).
pub(super) struct CrtParts<'a> {
    pub modulus: &'a [u8],
    pub exponent: &'a [u8],
    pub d: &'a [u8],
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub dp: &'a [u8],
    pub dq: &'a [u8],
    pub inverse_q: &'a [u8],
}

impl PrivateHalf {
    /// A key the `rsa` crate has read (PEM files, or what AWS-LC refused).
    pub(super) fn from_rsa(key: PrivateKey) -> Result<Self, String> {
        let der = key
            .to_pkcs8_der()
            .map_err(|e| format!("invalid private key: {e}"))?;
        Ok(Self {
            der: Zeroizing::new(der.as_bytes().to_vec()),
            aws_lc: OnceLock::new(),
            rsa: OnceLock::from(Ok(key)),
        })
    }

    /// A key in CRT form, if AWS-LC takes it; else `None`.
    pub(super) fn from_crt(parts: &CrtParts<'_>) -> Option<Self> {
        use rsa::pkcs1::der::asn1::{OctetStringRef, UintRef};
        let uint = |bytes| UintRef::new(bytes).ok();
        let pkcs1 = rsa::pkcs1::RsaPrivateKey {
            modulus: uint(parts.modulus)?,
            public_exponent: uint(parts.exponent)?,
            private_exponent: uint(parts.d)?,
            prime1: uint(parts.p)?,
            prime2: uint(parts.q)?,
            exponent1: uint(parts.dp)?,
            exponent2: uint(parts.dq)?,
            coefficient: uint(parts.inverse_q)?,
            other_prime_infos: None,
        }
        .to_pkcs1_der()
        .ok()?;
        let info = rsa::pkcs8::PrivateKeyInfoRef::new(
            rsa::pkcs1::ALGORITHM_ID,
            OctetStringRef::new(pkcs1.as_bytes()).ok()?,
        );
        let der: rsa::pkcs8::SecretDocument = info.try_into().ok()?;
        let key = PrivateDecryptingKey::from_pkcs8(der.as_bytes()).ok()?;
        Some(Self {
            der: Zeroizing::new(der.as_bytes().to_vec()),
            aws_lc: OnceLock::from(Some(Arc::new(key))),
            rsa: OnceLock::new(),
        })
    }

    /// The `rsa` crate's key (for exports, and keys AWS-LC does not take).
    pub(super) fn rsa(&self) -> Result<&PrivateKey, String> {
        self.rsa
            .get_or_init(|| {
                PrivateKey::from_pkcs8_der(&self.der)
                    .map_err(|e| format!("invalid private key: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn aws_lc(&self) -> Option<&PrivateDecryptingKey> {
        self.aws_lc
            .get_or_init(|| {
                PrivateDecryptingKey::from_pkcs8(&self.der)
                    .ok()
                    .map(Arc::new)
            })
            .as_deref()
    }

    /// RSA-decrypts `data` (OAEP with SHA-1, or PKCS#1 v1.5); `Err` when the key does not
    /// open it.
    pub(super) fn decrypt(&self, oaep: bool, data: &[u8]) -> Result<Vec<u8>, ()> {
        if let Some(plain) = self
            .aws_lc()
            .and_then(|key| aws_lc_decrypt(key, oaep, data).ok())
        {
            return Ok(plain);
        }
        // AWS-LC does not take the key, or did not open `data` with it: the `rsa` crate
        // decides, as it always did (it recomputes the CRT values from D, so whatever AWS-LC
        // makes of damaged ones, such a key opens what it opened before). A wrong key costs
        // this second try.
        let key = self.rsa().map_err(drop)?;
        if oaep {
            key.decrypt(Oaep::<sha1::Sha1>::new(), data).map_err(drop)
        } else {
            key.decrypt(Pkcs1v15Encrypt, data).map_err(drop)
        }
    }

    /// Whether AWS-LC does the private-key operation (tests).
    #[cfg(test)]
    pub(super) fn uses_aws_lc(&self) -> bool {
        self.aws_lc().is_some()
    }

    /// The PKCS#1 DER of the key, through the `rsa` crate (as before this type existed).
    pub(super) fn pkcs1_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        let der = self.rsa().ok()?.to_pkcs1_der().ok()?;
        Some(Zeroizing::new(der.as_bytes().to_vec()))
    }
}

fn aws_lc_decrypt(key: &PrivateDecryptingKey, oaep: bool, data: &[u8]) -> Result<Vec<u8>, ()> {
    let mut out = vec![0; key.key_size_bytes()];
    // `PrivateDecryptingKey` is a reference-counted handle: the clone is cheap.
    let written = if oaep {
        OaepPrivateDecryptingKey::new(key.clone()).and_then(|k| {
            k.decrypt(&OAEP_SHA1_MGF1SHA1, data, &mut out, None)
                .map(|p| p.len())
        })
    } else {
        Pkcs1PrivateDecryptingKey::new(key.clone())
            .and_then(|k| k.decrypt(data, &mut out).map(|p| p.len()))
    };
    if let Ok(len) = written {
        // AWS-LC may have used the rest as scratch space.
        out[len..].zeroize();
        out.truncate(len);
        Ok(out)
    } else {
        out.zeroize();
        Err(())
    }
}
