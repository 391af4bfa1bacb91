//! The `<EncryptedData>` element of W3C XML Encryption, as .NET's protected-configuration
//! providers write it: read with the byte spans of its cipher values (so re-encrypting changes
//! only those bytes), and written afresh when a plain section is protected.

use std::ops::Range;

use base64::Engine as _;

use super::symmetric::DataAlgorithm;

/// How the session key is encrypted with RSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyTransport {
    /// `rsa-1_5`, which .NET writes even when it used OAEP (`useOAEP="true"`).
    Rsa15,
    /// `rsa-oaep-mgf1p` (SHA-1), as other XML Encryption tools write OAEP.
    RsaOaep,
}

impl KeyTransport {
    /// The URI in `<EncryptionMethod Algorithm="...">`.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Rsa15 => "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
            Self::RsaOaep => "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
        }
    }

    fn from_uri(uri: &str) -> Option<Self> {
        [Self::Rsa15, Self::RsaOaep]
            .into_iter()
            .find(|t| t.uri() == uri.trim())
    }
}

/// `<EncryptedKey>` inside the data's `<KeyInfo>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedKeyXml {
    /// Key transport algorithm named in the XML.
    pub transport: KeyTransport,
    /// `<KeyName>` (.NET writes `Rsa Key`).
    pub key_name: Option<String>,
    /// The encrypted session key.
    pub cipher: Vec<u8>,
    /// Bytes of its `<CipherValue>` text in the host file.
    pub cipher_value: Range<usize>,
}

/// An `<EncryptedData>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedDataXml {
    /// The data algorithm; `None` when the element names none (DPAPI).
    pub data_algorithm: Option<DataAlgorithm>,
    /// The encrypted session key (RSA provider), if present.
    pub key: Option<EncryptedKeyXml>,
    /// IV followed by cipher text (RSA) or the DPAPI blob.
    pub cipher: Vec<u8>,
    /// Bytes of its `<CipherValue>` text in the host file.
    pub cipher_value: Range<usize>,
}

/// Reads the `<EncryptedData>` element spanning `element` in `text`. Errors are plain
/// messages (the caller adds file and provider); they never contain key material.
pub fn parse(text: &str, element: Range<usize>) -> Result<EncryptedDataXml, String> {
    let base = element.start;
    let doc = roxmltree::Document::parse(&text[element])
        .map_err(|e| format!("the EncryptedData element is not readable: {e}"))?;
    let data = doc.root_element();
    if data.tag_name().name() != "EncryptedData" {
        return Err(format!(
            "expected <EncryptedData> inside the protected section, found <{}>",
            data.tag_name().name()
        ));
    }
    let data_algorithm = match child(data, "EncryptionMethod").and_then(|m| m.attribute("Algorithm")) {
        None => None,
        Some(uri) => Some(DataAlgorithm::from_uri(uri).ok_or_else(|| {
            format!("unsupported data encryption algorithm {uri:?} (k2cse reads tripledes-cbc and aes128/192/256-cbc)")
        })?),
    };
    let key = match data.descendants().find(|n| n.has_tag_name("EncryptedKey")) {
        None => None,
        Some(ek) => {
            let uri = child(ek, "EncryptionMethod")
                .and_then(|m| m.attribute("Algorithm"))
                .unwrap_or_default();
            let transport = KeyTransport::from_uri(uri)
                .ok_or_else(|| format!("unsupported key transport algorithm {uri:?} (k2cse reads rsa-1_5 and rsa-oaep-mgf1p)"))?;
            let key_name = ek
                .descendants()
                .find(|n| n.has_tag_name("KeyName"))
                .and_then(|n| n.text())
                .map(|t| t.trim().to_owned());
            let (cipher, cipher_value) = cipher_value(ek, base, "EncryptedKey")?;
            Some(EncryptedKeyXml {
                transport,
                key_name,
                cipher,
                cipher_value,
            })
        }
    };
    let (cipher, cipher_value) = cipher_value(data, base, "EncryptedData")?;
    Ok(EncryptedDataXml {
        data_algorithm,
        key,
        cipher,
        cipher_value,
    })
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(name))
}

/// The decoded `<CipherData><CipherValue>` directly under `node`, and its text span.
fn cipher_value(
    node: roxmltree::Node<'_, '_>,
    base: usize,
    owner: &str,
) -> Result<(Vec<u8>, Range<usize>), String> {
    let value = child(node, "CipherData")
        .and_then(|c| child(c, "CipherValue"))
        .ok_or_else(|| format!("<{owner}> has no <CipherData><CipherValue>"))?;
    let text_node = value
        .first_child()
        .filter(roxmltree::Node::is_text)
        .ok_or_else(|| format!("the <CipherValue> of <{owner}> is empty"))?;
    let b64: String = text_node
        .text()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| {
            format!("the <CipherValue> of <{owner}> is not valid base64 (truncated or corrupted?)")
        })?;
    let range = text_node.range();
    Ok((bytes, base + range.start..base + range.end))
}

/// Base64 as .NET writes cipher values: standard alphabet, padded, one line.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A new `<EncryptedData>` element in the layout .NET's configuration writer uses, each line
/// after the first starting with `indent` and nesting by `unit`.
pub fn render_rsa(
    data: DataAlgorithm,
    transport: KeyTransport,
    key_cipher: &[u8],
    cipher: &[u8],
    indent: &str,
    unit: &str,
    eol: &str,
) -> String {
    let i = |level: usize| format!("{eol}{indent}{}", unit.repeat(level));
    format!(
        "<EncryptedData Type=\"http://www.w3.org/2001/04/xmlenc#Element\"{}xmlns=\"http://www.w3.org/2001/04/xmlenc#\">\
         {}<EncryptionMethod Algorithm=\"{}\" />\
         {}<KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\
         {}<EncryptedKey xmlns=\"http://www.w3.org/2001/04/xmlenc#\">\
         {}<EncryptionMethod Algorithm=\"{}\" />\
         {}<KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\">\
         {}<KeyName>Rsa Key</KeyName>\
         {}</KeyInfo>\
         {}<CipherData>\
         {}<CipherValue>{}</CipherValue>\
         {}</CipherData>\
         {}</EncryptedKey>\
         {}</KeyInfo>\
         {}<CipherData>\
         {}<CipherValue>{}</CipherValue>\
         {}</CipherData>\
         {}</EncryptedData>",
        i(1),
        i(1),
        data.uri(),
        i(1),
        i(2),
        i(3),
        transport.uri(),
        i(3),
        i(4),
        i(3),
        i(3),
        i(4),
        base64(key_cipher),
        i(3),
        i(2),
        i(1),
        i(1),
        i(2),
        base64(cipher),
        i(1),
        i(0),
    )
}

/// A new DPAPI `<EncryptedData>` element (no key info: the key is the machine's or user's).
pub fn render_dpapi(cipher: &[u8], indent: &str, unit: &str, eol: &str) -> String {
    let i = |level: usize| format!("{eol}{indent}{}", unit.repeat(level));
    format!(
        "<EncryptedData>{}<CipherData>{}<CipherValue>{}</CipherValue>{}</CipherData>{}</EncryptedData>",
        i(1),
        i(2),
        base64(cipher),
        i(1),
        i(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_elements_read_back_with_their_spans() {
        let xml = render_rsa(
            DataAlgorithm::Aes256,
            KeyTransport::Rsa15,
            &[1, 2, 3],
            &[9; 40],
            "    ",
            "  ",
            "\r\n",
        );
        let host = format!("<x>\r\n    {xml}\r\n</x>");
        let start = host.find("<EncryptedData").unwrap();
        let end = host.find("</x>").unwrap() - 2;
        let parsed = parse(&host, start..end).unwrap();
        assert_eq!(parsed.data_algorithm, Some(DataAlgorithm::Aes256));
        assert_eq!(parsed.cipher, vec![9; 40]);
        let key = parsed.key.unwrap();
        assert_eq!(key.cipher, [1, 2, 3]);
        assert_eq!(key.key_name.as_deref(), Some("Rsa Key"));
        assert_eq!(&host[key.cipher_value], base64(&[1, 2, 3]));
        assert_eq!(&host[parsed.cipher_value], base64(&[9; 40]));
        assert!(
            xml.contains("\r\n            <KeyName>Rsa Key</KeyName>\r\n"),
            "{xml}"
        );
    }

    #[test]
    fn damaged_elements_are_refused_with_reasons() {
        let good = render_rsa(
            DataAlgorithm::TripleDes,
            KeyTransport::Rsa15,
            &[1],
            &[2; 16],
            "",
            "  ",
            "\n",
        );
        for (from, to, needle) in [
            (
                "tripledes-cbc",
                "des-cbc",
                "unsupported data encryption algorithm",
            ),
            ("rsa-1_5", "rsa-2_0", "unsupported key transport"),
            ("AgICAgICAgICAgICAgICAg==", "AgICA!!", "not valid base64"),
            (
                "<CipherValue>AQ==</CipherValue>",
                "<CipherValue></CipherValue>",
                "is empty",
            ),
        ] {
            let bad = good.replacen(from, to, 1);
            let err = parse(&bad, 0..bad.len()).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
