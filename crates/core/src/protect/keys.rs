//! RSA keys from files: the `<RSAKeyValue>` XML that `aspnet_regiis -px NAME file.xml -pri`
//! exports, or PEM (PKCS#1 or PKCS#8, private or public; password-protected PKCS#8 with PBES2,
//! PBES1 or a PKCS#12 PBE — `pbe.rs` — or traditional `Proc-Type: 4,ENCRYPTED` PEM).

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rsa::pkcs1::{DecodeRsaPrivateKey as _, DecodeRsaPublicKey as _};
use rsa::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _,
    LineEnding,
};
use rsa::traits::PublicKeyParts as _;
use rsa::{BoxedUint, Oaep, Pkcs1v15Encrypt, PrivateKey, PublicKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::private_half::{CrtParts, PrivateHalf};

/// Why a key file could not be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct KeyError {
    /// The key file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// An RSA key: always the public half, the private half when the file has it.
#[derive(Clone)]
pub struct RsaKey {
    private: Option<PrivateHalf>,
    public: PublicKey,
    path: PathBuf,
}

impl fmt::Debug for RsaKey {
    /// Prints where the key came from and its fingerprint, never its numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("path", &self.path)
            .field("bits", &self.bits())
            .field("private", &self.private.is_some())
            .field("sha256", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The text of a key file: UTF-8, or UTF-16 (with a BOM, or recognised by its zero bytes) —
/// Windows PowerShell 5 writes `aspnet_regiis -px` output redirected with `>` as UTF-16 LE.
pub fn key_text(bytes: &[u8]) -> Zeroizing<String> {
    let utf16 = |little: bool, body: &[u8]| {
        let units = body.chunks_exact(2).map(|p| {
            if little {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        });
        Zeroizing::new(
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect::<String>(),
        )
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(true, rest),
        [0xFE, 0xFF, rest @ ..] => utf16(false, rest),
        [a, 0, ..] if *a != 0 => utf16(true, bytes),
        [0, b, ..] if *b != 0 => utf16(false, bytes),
        _ => Zeroizing::new(String::from_utf8_lossy(bytes).into_owned()),
    }
}

impl RsaKey {
    /// Reads a key file (`<RSAKeyValue>` XML or PEM).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        Self::from_file_with_passphrase(path, None)
    }

    /// Reads a key file; `passphrase` opens a password-protected PEM key (`ENCRYPTED PRIVATE
    /// KEY`, PKCS#8 with PBES2 — AES or Triple DES, HMAC-SHA1 or SHA-256 —, PBES1 (MD5 or
    /// SHA-1 with DES), a PKCS#12 PBE (SHA-1 with two- or three-key Triple DES), or a traditional
    /// `Proc-Type: 4,ENCRYPTED` key).
    pub fn from_file_with_passphrase(
        path: &Path,
        passphrase: Option<&crate::secret::Secret>,
    ) -> Result<Self, KeyError> {
        // A key file is a few KiB: a FIFO or /dev/zero given as key is refused at once.
        let text = crate::bounded::read(path, 1024 * 1024, "key file").map_err(|e| KeyError {
            path: path.to_owned(),
            message: match e {
                crate::Error::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            },
        })?;
        let text = Zeroizing::new(text);
        let text = key_text(&text);
        Self::from_text_with_passphrase(path, &text, passphrase)
    }

    /// Whether the key text is a password-protected PEM key.
    pub fn needs_passphrase(text: &str) -> bool {
        let text = text.trim_start_matches('\u{FEFF}').trim_start();
        text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY")
            || (text.starts_with("-----BEGIN RSA PRIVATE KEY")
                && super::legacy_pem::is_encrypted(text))
    }

    /// Parses key text; `path` is for messages.
    pub fn from_text(path: &Path, text: &str) -> Result<Self, KeyError> {
        Self::from_text_with_passphrase(path, text, None)
    }

    /// Parses key text, opening a password-protected PEM key with `passphrase`.
    pub fn from_text_with_passphrase(
        path: &Path,
        text: &str,
        passphrase: Option<&crate::secret::Secret>,
    ) -> Result<Self, KeyError> {
        let error = |message: String| KeyError {
            path: path.to_owned(),
            message,
        };
        let trimmed = text.trim_start_matches('\u{FEFF}').trim();
        let (private, public) = if trimmed.starts_with('<') {
            from_xml(trimmed).map_err(error)?
        } else if trimmed.starts_with("-----BEGIN") {
            from_pem(trimmed, passphrase).map_err(error)?
        } else {
            return Err(error("not a key file: expected an <RSAKeyValue> export (aspnet_regiis -px NAME FILE -pri) or a PEM key".into()));
        };
        Ok(Self {
            private,
            public,
            path: path.to_owned(),
        })
    }

    /// Where the key was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public.size() * 8
    }

    /// Whether the private half is present (needed to decrypt).
    pub fn has_private(&self) -> bool {
        self.private.is_some()
    }

    /// SHA-256 of the DER `SubjectPublicKeyInfo`, lower-case hex: the same as
    /// `openssl pkey -pubout -outform DER | sha256sum`.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.public)
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// RSA-decrypts a session key (big-endian, as XML Encryption stores it).
    pub fn decrypt(&self, oaep: bool, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        let Some(private) = &self.private else {
            return Err(format!(
                "{} holds only a public key; decrypting needs the private key (export it with -pri)",
                self.path.display()
            ));
        };
        private
            .decrypt(oaep, data)
            .map(Zeroizing::new)
            .map_err(|()| "the key does not decrypt the session key (wrong key?)".to_owned())
    }

    /// RSA-encrypts a session key.
    pub fn encrypt(&self, oaep: bool, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut rng = rand::rng();
        let result = if oaep {
            self.public
                .encrypt(&mut rng, Oaep::<sha1::Sha1>::new(), data)
        } else {
            self.public.encrypt(&mut rng, Pkcs1v15Encrypt, data)
        };
        result.map_err(|e| format!("RSA encryption failed: {e}"))
    }

    /// The private key as PKCS#8 PEM, for tools such as `openssl` and `xmlsec1`.
    pub fn private_pkcs8_pem(&self) -> Option<Zeroizing<String>> {
        let pem = self
            .private
            .as_ref()?
            .rsa()
            .ok()?
            .to_pkcs8_pem(LineEnding::LF)
            .ok()?;
        Some(Zeroizing::new(pem.as_str().to_owned()))
    }

    /// The private key as PKCS#1 DER, for converting to `CryptoAPI` blobs.
    pub(crate) fn private_pkcs1_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.private.as_ref()?.pkcs1_der()
    }

    /// The public key as SPKI PEM.
    pub fn public_pem(&self) -> String {
        self.public
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }
}

/// SHA-256 of a public key's DER `SubjectPublicKeyInfo`, lower-case hex.
pub fn fingerprint_of(public: &PublicKey) -> String {
    let der = public
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    Sha256::digest(&der)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

type KeyPair = (Option<PrivateHalf>, PublicKey);

/// `<RSAKeyValue><Modulus/><Exponent/>[<P/><Q/><DP/><DQ/><InverseQ/><D/>]</RSAKeyValue>`, each
/// a base64 big-endian integer (.NET's `RSA.ToXmlString`).
fn from_xml(text: &str) -> Result<KeyPair, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not well-formed XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "RSAKeyValue" {
        return Err(format!(
            "expected <RSAKeyValue>, found <{}>",
            root.tag_name().name()
        ));
    }
    let field = |name: &str| -> Result<Option<Zeroizing<Vec<u8>>>, String> {
        let Some(node) = root.children().find(|n| n.has_tag_name(name)) else {
            return Ok(None);
        };
        let b64: String = node
            .text()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| format!("<{name}> is not valid base64"))?;
        Ok(Some(Zeroizing::new(bytes)))
    };
    let number = |bytes: &[u8]| BoxedUint::from_be_slice_vartime(bytes);
    let (Some(modulus), Some(exponent)) = (field("Modulus")?, field("Exponent")?) else {
        return Err("<RSAKeyValue> needs <Modulus> and <Exponent>".into());
    };
    let public = PublicKey::new(number(&modulus), number(&exponent))
        .map_err(|e| format!("invalid public key: {e}"))?;
    let Some(private_exponent) = field("D")? else {
        return Ok((None, public));
    };
    let (p, q) = (field("P")?, field("Q")?);
    let (dp, dq, inverse_q) = (field("DP")?, field("DQ")?, field("InverseQ")?);
    // Every CRT value at hand: AWS-LC reads the key as it is (it checks the result of each
    // private-key operation, not the CRT values); the `rsa` crate's key, whose checks and
    // precomputation cost about as much as a decryption, waits until something needs it
    // (see `private_half.rs`). So a key the `rsa` crate would refuse is refused when first
    // used rather than when read.
    if let (Some(p), Some(q), Some(dp), Some(dq), Some(inverse_q)) = (&p, &q, &dp, &dq, &inverse_q)
    {
        let parts = CrtParts {
            modulus: &modulus,
            exponent: &exponent,
            d: &private_exponent,
            p,
            q,
            dp,
            dq,
            inverse_q,
        };
        if let Some(private) = PrivateHalf::from_crt(&parts) {
            return Ok((Some(private), public));
        }
    }
    let primes = match (p, q) {
        (Some(first), Some(second)) => vec![number(&first), number(&second)],
        _ => Vec::new(),
    };
    let private = PrivateKey::from_components(
        number(&modulus),
        number(&exponent),
        number(&private_exponent),
        primes,
    )
    .map_err(|e| format!("invalid private key: {e}"))?;
    Ok((Some(PrivateHalf::from_rsa(private)?), public))
}

fn from_pem(text: &str, passphrase: Option<&crate::secret::Secret>) -> Result<KeyPair, String> {
    let label = text.lines().next().unwrap_or_default();
    let private = if label.contains("BEGIN RSA PRIVATE KEY")
        && super::legacy_pem::is_encrypted(text)
    {
        let Some(passphrase) = passphrase else {
            return Err("the PEM key is password-protected: store its passphrase with `k2cse secret set key-file-passphrase --account PATH` or set K2CSE_KEY_PASSPHRASE".into());
        };
        let der = super::legacy_pem::decrypt(text, passphrase.expose().as_bytes())?;
        PrivateKey::from_pkcs1_der(&der)
            .map_err(|_| "cannot open the password-protected key (wrong passphrase?)".to_owned())?
    } else if label.contains("BEGIN RSA PRIVATE KEY") {
        PrivateKey::from_pkcs1_pem(text).map_err(|e| format!("invalid PKCS#1 private key: {e}"))?
    } else if label.contains("BEGIN PRIVATE KEY") {
        PrivateKey::from_pkcs8_pem(text).map_err(|e| format!("invalid PKCS#8 private key: {e}"))?
    } else if label.contains("BEGIN PUBLIC KEY") {
        let public =
            PublicKey::from_public_key_pem(text).map_err(|e| format!("invalid public key: {e}"))?;
        return Ok((None, public));
    } else if label.contains("BEGIN RSA PUBLIC KEY") {
        let public =
            PublicKey::from_pkcs1_pem(text).map_err(|e| format!("invalid public key: {e}"))?;
        return Ok((None, public));
    } else if label.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        let Some(passphrase) = passphrase else {
            return Err("the PEM key is password-protected: store its passphrase with `k2cse secret set key-file-passphrase --account PATH` or set K2CSE_KEY_PASSPHRASE".into());
        };
        let (_, der) = pkcs8::der::pem::decode_vec(text.as_bytes())
            .map_err(|e| format!("invalid encrypted PKCS#8 key: {e}"))?;
        let der = Zeroizing::new(der);
        match super::pbe::open(&der, passphrase.expose())? {
            super::pbe::Opened::Pbes2 => {
                PrivateKey::from_pkcs8_encrypted_der(&der, passphrase.expose().as_bytes()).map_err(
                    |e| format!("cannot open the password-protected key (wrong passphrase?): {e}"),
                )?
            }
            super::pbe::Opened::PrivateKeyInfo(info) => PrivateKey::from_pkcs8_der(&info)
                .map_err(|e| format!("invalid PKCS#8 private key: {e}"))?,
        }
    } else {
        return Err(format!("unsupported PEM type {label:?}"));
    };
    let public = private.to_public_key();
    Ok((Some(PrivateHalf::from_rsa(private)?), public))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    const KEY_XML: &str = include_str!("../../../../tests/fixtures/keys/k2-test-key.xml");

    #[test]
    fn reads_dotnet_xml_and_pem_exports_of_the_same_key() {
        let xml = RsaKey::from_text(Path::new("k.xml"), KEY_XML).unwrap();
        assert!(xml.has_private());
        assert_eq!(xml.bits(), 2048);
        let pem = xml.private_pkcs8_pem().unwrap();
        let from_pem = RsaKey::from_text(Path::new("k.pem"), &pem).unwrap();
        assert_eq!(from_pem.fingerprint(), xml.fingerprint());
        let session = [5u8; 24];
        for oaep in [false, true] {
            let enc = from_pem.encrypt(oaep, &session).unwrap();
            assert_eq!(*xml.decrypt(oaep, &enc).unwrap(), session);
            // The wrong padding never yields the key: AWS-LC reports an error; the rsa crate's
            // PKCS#1 v1.5 decryption (keys AWS-LC does not take) rejects implicitly, returning
            // unrelated bytes rather than an error, against timing attacks.
            assert!(
                xml.decrypt(!oaep, &enc)
                    .map_or(true, |wrong| *wrong != session)
            );
        }
    }

    #[test]
    fn aws_lc_decrypts_to_the_same_bytes_as_the_rsa_crate_and_small_keys_fall_back() {
        let other = include_str!("../../../../tests/fixtures/keys/other-key.xml");
        let small = include_str!("../../../../tests/fixtures/keys/small-1024.pem");
        let pem = RsaKey::from_text(Path::new("k.xml"), KEY_XML)
            .unwrap()
            .private_pkcs8_pem()
            .unwrap();
        let session = [7u8; 24];
        // XML (CRT values read by AWS-LC as they are), PEM (read by the rsa crate first), and
        // a 1024-bit key (AWS-LC refuses it: the rsa crate decrypts).
        for (text, aws_lc) in [
            (KEY_XML, true),
            (other, true),
            (&*pem, true),
            (small, false),
        ] {
            let key = RsaKey::from_text(Path::new("k"), text).unwrap();
            let private = key.private.as_ref().unwrap();
            assert_eq!(private.uses_aws_lc(), aws_lc, "bits {}", key.bits());
            let slow = private.rsa().unwrap();
            for oaep in [false, true] {
                let enc = key.encrypt(oaep, &session).unwrap();
                let by_rsa_crate = if oaep {
                    slow.decrypt(Oaep::<sha1::Sha1>::new(), &enc).unwrap()
                } else {
                    slow.decrypt(Pkcs1v15Encrypt, &enc).unwrap()
                };
                assert_eq!(by_rsa_crate, session);
                assert_eq!(*key.decrypt(oaep, &enc).unwrap(), session);
            }
        }
        // The wrong key opens nothing.
        let key = RsaKey::from_text(Path::new("k"), KEY_XML).unwrap();
        let other = RsaKey::from_text(Path::new("o"), other).unwrap();
        for oaep in [false, true] {
            let enc = other.encrypt(oaep, &session).unwrap();
            assert!(
                key.decrypt(oaep, &enc)
                    .map_or(true, |wrong| *wrong != session)
            );
        }
    }

    #[test]
    fn an_xml_key_with_damaged_crt_values_still_opens_what_it_opened_before() {
        // AWS-LC reads DP as it is (it checks the result of the private-key operation, not
        // the CRT values); the rsa crate, which recomputes them from D, P and Q, is the
        // fallback. Either way the key opens what it encrypts, as it did before.
        let dp = KEY_XML
            .split("<DP>")
            .nth(1)
            .unwrap()
            .split("</DP>")
            .next()
            .unwrap();
        let mut damaged = dp.as_bytes().to_vec();
        damaged[5] = if damaged[5] == b'A' { b'B' } else { b'A' };
        let text = KEY_XML.replace(dp, std::str::from_utf8(&damaged).unwrap());
        let key = RsaKey::from_text(Path::new("k"), &text).unwrap();
        for oaep in [false, true] {
            let enc = key.encrypt(oaep, &[9; 24]).unwrap();
            assert_eq!(*key.decrypt(oaep, &enc).unwrap(), [9; 24]);
        }
    }

    #[test]
    fn public_only_keys_encrypt_but_cannot_decrypt() {
        let public_xml = KEY_XML.split("<P>").next().unwrap().to_owned() + "</RSAKeyValue>";
        let key = RsaKey::from_text(Path::new("pub.xml"), &public_xml).unwrap();
        assert!(!key.has_private());
        let enc = key.encrypt(false, b"x").unwrap();
        assert!(
            key.decrypt(false, &enc)
                .unwrap_err()
                .contains("only a public key")
        );
    }

    #[test]
    fn password_protected_pem_keys_open_with_their_passphrase() {
        // `openssl pkey -aes-256-cbc` of the XML test key, passphrase "open sesame".
        let pem = include_str!("../../../../tests/fixtures/keys/k2-test-key.encrypted.pem");
        let key = RsaKey::from_text(Path::new("k.xml"), KEY_XML).unwrap();
        assert!(RsaKey::needs_passphrase(pem));
        let path = Path::new("k.pem");
        let opened =
            RsaKey::from_text_with_passphrase(path, pem, Some(&Secret::new("open sesame")))
                .unwrap();
        assert_eq!(opened.fingerprint(), key.fingerprint());
        assert!(opened.has_private());
        let wrong =
            RsaKey::from_text_with_passphrase(path, pem, Some(&Secret::new("nope"))).unwrap_err();
        assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
        let missing = RsaKey::from_text(path, pem).unwrap_err();
        assert!(
            missing.to_string().contains("key-file-passphrase"),
            "{missing}"
        );
    }

    #[test]
    fn pem_keys_in_the_forms_openssl_writes_open_with_their_passphrase() {
        let key = RsaKey::from_text(Path::new("k.xml"), KEY_XML).unwrap();
        let pass = Secret::new("open sesame");
        for pem in [
            // `openssl pkcs8 -topk8 -v2 des3` (PBES2, 3DES, HMAC-SHA256) and `-v2prf hmacWithSHA1`.
            include_str!("../../../../tests/fixtures/keys/k2-test-key.pbes2-3des.pem"),
            include_str!("../../../../tests/fixtures/keys/k2-test-key.pbes2-3des-sha1.pem"),
            // `openssl rsa -traditional -des3`: Proc-Type 4,ENCRYPTED, DES-EDE3-CBC.
            include_str!("../../../../tests/fixtures/keys/k2-test-key.traditional-des3.pem"),
        ] {
            assert!(RsaKey::needs_passphrase(pem));
            let opened =
                RsaKey::from_text_with_passphrase(Path::new("k.pem"), pem, Some(&pass)).unwrap();
            assert_eq!(opened.fingerprint(), key.fingerprint());
            let wrong = RsaKey::from_text_with_passphrase(
                Path::new("k.pem"),
                pem,
                Some(&Secret::new("nope")),
            );
            assert!(wrong.is_err());
        }
    }

    #[test]
    fn bad_key_files_say_what_is_wrong_without_key_material() {
        for (text, needle) in [
            ("hello", "not a key file"),
            (
                "<RSAKeyValue><Modulus>!!!</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>",
                "not valid base64",
            ),
            ("<Other/>", "expected <RSAKeyValue>"),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
                "password-protected",
            ),
        ] {
            let err = RsaKey::from_text(Path::new("bad.key"), text).unwrap_err();
            assert!(
                err.to_string().starts_with("bad.key: ") && err.to_string().contains(needle),
                "{err}"
            );
        }
        let debug = format!(
            "{:?}",
            RsaKey::from_text(Path::new("k.xml"), KEY_XML).unwrap()
        );
        assert!(
            !debug.contains("Modulus") && debug.contains("sha256"),
            "{debug}"
        );
    }
}
