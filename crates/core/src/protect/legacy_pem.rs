//! "Traditional" password-protected PEM keys, as `openssl rsa -des3` (OpenSSL 1.x's default)
//! writes them: `-----BEGIN RSA PRIVATE KEY-----`, `Proc-Type: 4,ENCRYPTED`,
//! `DEK-Info: DES-EDE3-CBC,<IV in hex>`, then the PKCS#1 key encrypted with a key derived by
//! OpenSSL's `EVP_BytesToKey` (MD5, one round, the first 8 IV bytes as salt).

use base64::Engine as _;
use zeroize::Zeroizing;

use super::symmetric::{self, DataAlgorithm};

/// Whether `text` is a traditional encrypted PEM key.
pub fn is_encrypted(text: &str) -> bool {
    text.lines()
        .take(3)
        .any(|l| l.trim().eq_ignore_ascii_case("Proc-Type: 4,ENCRYPTED"))
}

/// The PKCS#1 DER of a traditional encrypted PEM key opened with `passphrase`.
pub fn decrypt(text: &str, passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut lines = text.lines().map(str::trim).skip(1);
    let mut dek = None;
    let mut body = String::new();
    for line in lines.by_ref() {
        if let Some(info) = line.strip_prefix("DEK-Info:") {
            dek = Some(info.trim().to_owned());
        } else if line.is_empty() {
            break;
        }
    }
    for line in lines.take_while(|l| !l.starts_with("-----END")) {
        body.push_str(line);
    }
    let dek = dek.ok_or("the encrypted PEM key has no DEK-Info header")?;
    let (cipher, iv_hex) = dek.split_once(',').ok_or("malformed DEK-Info header")?;
    let algorithm = match cipher.trim().to_ascii_uppercase().as_str() {
        "DES-EDE3-CBC" => DataAlgorithm::TripleDes,
        "AES-128-CBC" => DataAlgorithm::Aes128,
        "AES-192-CBC" => DataAlgorithm::Aes192,
        "AES-256-CBC" => DataAlgorithm::Aes256,
        other => {
            return Err(format!(
                "the PEM key is encrypted with {other}, which k2cse does not read (convert it: openssl pkcs8 -topk8 -v2 aes-256-cbc)"
            ));
        }
    };
    let iv = hex(iv_hex.trim()).ok_or("malformed IV in the DEK-Info header")?;
    if iv.len() != algorithm.block_len() {
        return Err("the DEK-Info IV has the wrong length".into());
    }
    let key = bytes_to_key(passphrase, &iv[..8], algorithm.key_len());
    let cipher_text = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("the encrypted PEM key is not valid base64: {e}"))?;
    let mut data = iv;
    data.extend_from_slice(&cipher_text);
    symmetric::decrypt(algorithm, &key, &data)
        .map_err(|_| "cannot open the password-protected key (wrong passphrase?)".to_owned())
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration.
fn bytes_to_key(passphrase: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut key = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut previous: Option<[u8; 16]> = None;
    while key.len() < len {
        let mut input = Zeroizing::new(Vec::new());
        if let Some(p) = previous {
            input.extend_from_slice(&p);
        }
        input.extend_from_slice(passphrase);
        input.extend_from_slice(salt);
        let digest = md5::compute(&*input).0;
        key.extend_from_slice(&digest);
        previous = Some(digest);
    }
    key.truncate(len);
    key
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
