//! `CryptoAPI` key blobs and error codes, kept free of Windows calls so they are tested on
//! every platform.
//!
//! A `PRIVATEKEYBLOB` is what `CryptImportKey`/`CryptExportKey` exchange: a `BLOBHEADER`
//! (type, version 2, `CALG_RSA_KEYX`), an `RSAPUBKEY` (magic `RSA2`, bit length, public
//! exponent), then modulus, P, Q, DP, DQ, `InverseQ` and D, every number little-endian and padded
//! to its fixed width (the modulus and D to `bits / 8` bytes, the rest to `bits / 16`). The
//! `<RSAKeyValue>` XML of `aspnet_regiis -px` holds the same numbers big-endian in base64.

use std::fmt::Write as _;

use base64::Engine as _;
use rsa::pkcs1::der::Decode as _;
use zeroize::Zeroizing;

use super::RsaKey;

const PRIVATEKEYBLOB: u8 = 7;
const CUR_BLOB_VERSION: u8 = 2;
const CALG_RSA_KEYX: u32 = 0x0000_a400;
const MAGIC_RSA2: &[u8; 4] = b"RSA2";
const HEADER_LEN: usize = 20;

/// The `PRIVATEKEYBLOB` of a key file's private key.
pub fn private_key_blob(key: &RsaKey) -> Result<Zeroizing<Vec<u8>>, String> {
    let der = key
        .private_pkcs1_der()
        .ok_or("the key file holds only a public key; importing needs the private key")?;
    let parts = rsa::pkcs1::RsaPrivateKeyRef::from_der(&der)
        .map_err(|e| format!("cannot encode the private key: {e}"))?;
    let bits = key.bits();
    if !bits.is_multiple_of(16) {
        return Err(format!(
            "a {bits}-bit key cannot be stored in a CryptoAPI container"
        ));
    }
    let exponent = parts.public_exponent.as_bytes();
    if exponent.len() > 4 {
        return Err("the public exponent does not fit CryptoAPI's 32 bits".to_owned());
    }
    let full = bits / 8;
    let half = bits / 16;
    let mut blob = Zeroizing::new(Vec::with_capacity(HEADER_LEN + full * 2 + half * 5));
    blob.extend_from_slice(&[PRIVATEKEYBLOB, CUR_BLOB_VERSION, 0, 0]);
    blob.extend_from_slice(&CALG_RSA_KEYX.to_le_bytes());
    blob.extend_from_slice(MAGIC_RSA2);
    blob.extend_from_slice(
        &u32::try_from(bits)
            .map_err(|_| "key too large")?
            .to_le_bytes(),
    );
    let mut exponent_le = [0u8; 4];
    for (slot, byte) in exponent_le.iter_mut().zip(exponent.iter().rev()) {
        *slot = *byte;
    }
    blob.extend_from_slice(&exponent_le);
    for (number, width) in [
        (parts.modulus.as_bytes(), full),
        (parts.prime1.as_bytes(), half),
        (parts.prime2.as_bytes(), half),
        (parts.exponent1.as_bytes(), half),
        (parts.exponent2.as_bytes(), half),
        (parts.coefficient.as_bytes(), half),
        (parts.private_exponent.as_bytes(), full),
    ] {
        push_le(&mut blob, number, width)?;
    }
    Ok(blob)
}

/// The `<RSAKeyValue>` XML (as `aspnet_regiis -px ... -pri` writes it) of a `PRIVATEKEYBLOB`.
pub fn key_xml_from_private_blob(blob: &[u8]) -> Result<Zeroizing<String>, String> {
    let header = blob.get(..HEADER_LEN).ok_or("short private key blob")?;
    if header[0] != PRIVATEKEYBLOB || &header[8..12] != MAGIC_RSA2 {
        return Err("not an RSA PRIVATEKEYBLOB".to_owned());
    }
    let bits = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as usize;
    let (full, half) = (bits / 8, bits / 16);
    let mut rest = &blob[HEADER_LEN..];
    let mut take = |width: usize| -> Result<Zeroizing<Vec<u8>>, String> {
        if rest.len() < width {
            return Err("short private key blob".to_owned());
        }
        let (number, tail) = rest.split_at(width);
        rest = tail;
        Ok(Zeroizing::new(number.iter().rev().copied().collect()))
    };
    let modulus = take(full)?;
    let fields = [
        ("P", take(half)?),
        ("Q", take(half)?),
        ("DP", take(half)?),
        ("DQ", take(half)?),
        ("InverseQ", take(half)?),
        ("D", take(full)?),
    ];
    let exponent: Vec<u8> = header[16..20]
        .iter()
        .rev()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut xml = Zeroizing::new(String::with_capacity(bits * 2));
    let _ = write!(
        xml,
        "<RSAKeyValue><Modulus>{}</Modulus><Exponent>{}</Exponent>",
        b64(&modulus),
        b64(&exponent)
    );
    for (name, value) in &fields {
        let _ = write!(xml, "<{name}>{}</{name}>", b64(value));
    }
    xml.push_str("</RSAKeyValue>");
    Ok(xml)
}

fn push_le(blob: &mut Vec<u8>, big_endian: &[u8], width: usize) -> Result<(), String> {
    let trimmed = &big_endian[big_endian.iter().take_while(|b| **b == 0).count()..];
    if trimmed.len() > width {
        return Err("a key component is wider than CryptoAPI allows for this key size".to_owned());
    }
    blob.extend(trimmed.iter().rev());
    blob.resize(blob.len() + width - trimmed.len(), 0);
    Ok(())
}

/// What failed when k2cse touched a key container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerAction {
    /// Opening it to decrypt, encrypt or read the public key.
    Open,
    /// Creating it or importing a key into it.
    Import,
    /// Exporting its key.
    Export,
}

/// `NTE_BAD_KEYSET`: the container does not exist.
pub const NTE_BAD_KEYSET: u32 = 0x8009_0016;
/// `NTE_EXISTS`: the container already exists.
pub const NTE_EXISTS: u32 = 0x8009_000F;
/// `NTE_PERM`: access denied by the provider.
pub const NTE_PERM: u32 = 0x8009_0010;
/// `NTE_BAD_KEY_STATE`: the key is not exportable.
pub const NTE_BAD_KEY_STATE: u32 = 0x8009_000B;
const ERROR_ACCESS_DENIED: u32 = 5;
const E_ACCESSDENIED: u32 = 0x8007_0005;

/// The message for a `CryptoAPI` failure `code` on the container named by `container`, saying
/// what to do about it. Access denied is the common case on a K2 server: the machine container
/// is readable only by the account that created it, administrators, and the accounts
/// `aspnet_regiis -pa` granted.
pub fn container_error(
    action: ContainerAction,
    container: &str,
    machine: bool,
    code: u32,
) -> String {
    let store = if machine { "machine" } else { "user" };
    let what = format!("the {store} key container {container:?}");
    let hex = format!("Windows error 0x{code:08X}");
    match code {
        ERROR_ACCESS_DENIED | E_ACCESSDENIED | NTE_PERM => format!(
            "access to {what} was denied ({hex}): run k2cse as the K2 service account, or as an \
             administrator from an elevated prompt; or grant this account access with \
             `aspnet_regiis -pa \"{container}\" \"DOMAIN\\account\"`; or pass --key-file with an \
             exported key"
        ),
        NTE_BAD_KEYSET if action == ContainerAction::Open => format!(
            "{what} does not exist on this machine ({hex}): run k2cse on the K2 server, check \
             the provider's keyContainerName{}, import the exported key with `k2cse key import`, \
             or pass --key-file",
            if machine {
                ""
            } else {
                " (useMachineContainer is false: the container belongs to one user)"
            }
        ),
        NTE_EXISTS => format!(
            "{what} already exists with a different key ({hex}); pass --replace to overwrite it \
             (sections encrypted with the old key can then no longer be decrypted)"
        ),
        NTE_BAD_KEY_STATE if action == ContainerAction::Export => format!(
            "the key in {what} is not exportable ({hex}); it was created without the exportable \
             flag, so only this machine can use it: run k2cse here"
        ),
        _ => format!(
            "cannot {} {what} ({hex})",
            match action {
                ContainerAction::Open => "open",
                ContainerAction::Import => "import a key into",
                ContainerAction::Export => "export the key of",
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_key() -> RsaKey {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/keys/k2-test-key.xml"
        );
        RsaKey::from_file(std::path::Path::new(path)).unwrap()
    }

    #[test]
    fn private_blob_round_trips_through_the_xml_export_format() {
        let key = fixture_key();
        let blob = private_key_blob(&key).unwrap();
        let bits = key.bits();
        assert_eq!(blob.len(), HEADER_LEN + bits / 8 * 2 + bits / 16 * 5);
        assert_eq!(&blob[..8], &[7, 2, 0, 0, 0x00, 0xa4, 0, 0]);
        assert_eq!(&blob[8..12], b"RSA2");
        let xml = key_xml_from_private_blob(&blob).unwrap();
        let again = RsaKey::from_text(std::path::Path::new("export.xml"), &xml).unwrap();
        assert_eq!(again.fingerprint(), key.fingerprint());
        assert!(again.has_private());
        // The exported key decrypts what the original encrypts.
        let cipher = key.encrypt(false, b"session key bytes").unwrap();
        assert_eq!(
            &*again.decrypt(false, &cipher).unwrap(),
            b"session key bytes"
        );
        assert_eq!(private_key_blob(&again).unwrap(), blob);
    }

    #[test]
    fn public_only_keys_and_foreign_blobs_are_refused() {
        let public_pem = fixture_key().public_pem();
        let public = RsaKey::from_text(std::path::Path::new("pub.pem"), &public_pem).unwrap();
        assert!(
            private_key_blob(&public)
                .unwrap_err()
                .contains("only a public key")
        );
        assert!(key_xml_from_private_blob(&[6, 2, 0, 0]).is_err());
        let mut blob = private_key_blob(&fixture_key()).unwrap().to_vec();
        blob[0] = 6; // PUBLICKEYBLOB
        assert!(key_xml_from_private_blob(&blob).is_err());
        blob[0] = 7;
        blob.truncate(100);
        assert!(
            key_xml_from_private_blob(&blob)
                .unwrap_err()
                .contains("short")
        );
    }

    #[test]
    fn access_denied_says_which_account_to_use() {
        for code in [5, 0x8007_0005, NTE_PERM] {
            let text = container_error(ContainerAction::Open, "K2ConfigurationKey", true, code);
            assert!(
                text.starts_with("access to the machine key container"),
                "{text}"
            );
            assert!(text.contains("K2 service account"), "{text}");
            assert!(
                text.contains("aspnet_regiis -pa \"K2ConfigurationKey\""),
                "{text}"
            );
        }
        let missing = container_error(ContainerAction::Open, "K2", false, NTE_BAD_KEYSET);
        assert!(missing.contains("does not exist"), "{missing}");
        assert!(missing.contains("belongs to one user"), "{missing}");
        assert!(missing.contains("0x80090016"), "{missing}");
        let other = container_error(ContainerAction::Export, "K2", true, 0x1234);
        assert_eq!(
            other,
            "cannot export the key of the machine key container \"K2\" (Windows error 0x00001234)"
        );
    }
}
