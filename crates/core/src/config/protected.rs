//! Encrypted sections in a [`Document`]: decrypting into an in-memory copy that every edit
//! works on, encrypting it back on save (only the two cipher values change in the file), and
//! turning protection on and off.

use std::path::PathBuf;

use crate::config::document::Document;
use crate::config::file::ConfigFile;
use crate::config::layout::line_indent;
use crate::error::{Error, Result};
use crate::protect::{self, DataAlgorithm, KeyStore, ProviderSpec, Scheme, provider, xmlenc};
use crate::xml::scan::ScanMode;

/// A decrypted section: its plain text (in memory only) and how to encrypt it again.
#[derive(Debug, Clone)]
pub(crate) struct SealedSection {
    /// The decrypted `<connectionStrings>` element. Never written to disk.
    pub plain: ConfigFile,
    /// The provider's settings.
    pub spec: ProviderSpec,
    /// Algorithms in use.
    pub scheme: Scheme,
}

impl Document {
    /// The provider the encrypted section names, with .NET's defaults filled in (`None` when
    /// the section is not encrypted or the provider cannot be resolved).
    pub fn protection_spec(&self) -> Option<protect::ProviderSpec> {
        let protection = self.protection()?;
        provider::resolve(self.main_file(), &protection.provider).ok()
    }

    /// Decrypts an encrypted section with `keys` (a `--key-file`, or on Windows the provider's
    /// key container or DPAPI), so that it can be read and edited like a plain one. Returns
    /// whether the section is encrypted. Does nothing for a plain section (but keeps the keys,
    /// for [`crate::Change::Protect`]).
    pub fn unlock(&mut self, keys: KeyStore) -> Result<bool> {
        self.keys = keys;
        let Some(protection) = self.protection() else {
            return Ok(false);
        };
        if protection.unlocked {
            return Ok(true);
        }
        let crypto = |message: String| Error::Crypto {
            location: protection.location.clone(),
            provider: protection.provider.clone(),
            message,
        };
        let spec = provider::resolve(self.main_file(), &protection.provider).map_err(
            |(location, message)| Error::Crypto {
                location,
                provider: protection.provider.clone(),
                message,
            },
        )?;
        if self.keys.is_empty() && spec.kind != protect::ProviderKind::Dpapi {
            return Err(Error::KeyRequired {
                location: protection.location,
                provider: protection.provider,
                what: protect::need_key(&spec),
            });
        }
        let host = self.host_file();
        let element = encrypted_data(host)
            .ok_or_else(|| crypto("the protected section has no <EncryptedData> element".into()))?;
        let data = xmlenc::parse(host.text(), element).map_err(crypto)?;
        let (mut plain, scheme) = protect::unseal(&spec, &self.keys, &data).map_err(crypto)?;
        let label = PathBuf::from(format!(
            "{} [decrypted connectionStrings]",
            host.path().display()
        ));
        let plain =
            ConfigFile::in_memory(&label, std::mem::take(&mut *plain), ScanMode::SectionFile)
                .map_err(|e| {
                    // The key opened the session key and the padding was right: a wrong key
                    // gets no further, so this is damaged data.
                    crypto(format!(
                        "the encrypted data is damaged: it decrypts, but not to a <connectionStrings> element ({e}); restore the file from a backup"
                    ))
                })?;
        self.sealed = Some(SealedSection {
            plain,
            spec,
            scheme,
        });
        self.invalidate();
        Ok(true)
    }

    /// Encrypts edits of a decrypted section back into the file that holds it, with a fresh
    /// session key and IV. Only the two `<CipherValue>` texts of the file change.
    pub(crate) fn seal(&mut self) -> Result<()> {
        let Some(sealed) = self.sealed.as_ref().filter(|s| s.plain.is_changed()) else {
            return Ok(());
        };
        let host = self.host_file();
        let provider = sealed.spec.name.clone();
        let location = host.section().map_or_else(
            || host.location(0),
            |s| host.location(s.element.range.start),
        );
        let crypto = |message: String| Error::Crypto {
            location: location.clone(),
            provider: provider.clone(),
            message,
        };
        let blobs = protect::seal(&sealed.spec, &self.keys, sealed.scheme, sealed.plain.text())
            .map_err(crypto)?;
        let element = encrypted_data(host)
            .ok_or_else(|| crypto("the protected section lost its <EncryptedData>".into()))?;
        let data = xmlenc::parse(host.text(), element).map_err(crypto)?;
        let mut edits = vec![(data.cipher_value, xmlenc::base64(&blobs.cipher))];
        if let (Some(key), Some(key_cipher)) = (data.key, &blobs.key_cipher) {
            edits.push((key.cipher_value, xmlenc::base64(key_cipher)));
        }
        self.host_file_mut().splice(edits)?;
        if let Some(sealed) = self.sealed.as_mut() {
            sealed.plain.clear_changed();
        }
        Ok(())
    }

    /// Replaces the encrypted section with its decrypted text, as the documented manual
    /// procedure does (K2 encrypts it again when it starts).
    pub(crate) fn unprotect(&mut self) -> Result<()> {
        let Some(protection) = self.protection() else {
            return Err(Error::InvalidChange(
                "the connectionStrings section is not encrypted".into(),
            ));
        };
        let Some(sealed) = self.sealed.take() else {
            return Err(Error::KeyRequired {
                location: protection.location,
                provider: protection.provider,
                what: "decrypting it needs --key-file".into(),
            });
        };
        let range = self.host_file().section().map(|s| s.element.range.clone());
        let Some(range) = range else {
            self.sealed = Some(sealed);
            return Err(Error::InvalidChange(
                "internal: the section disappeared".into(),
            ));
        };
        let result = self
            .host_file_mut()
            .splice(vec![(range, sealed.plain.text().to_owned())]);
        if result.is_err() {
            self.sealed = Some(sealed);
        }
        result
    }

    /// Encrypts a plain section with `provider` (default: `K2ConfigurationKey` when declared,
    /// else the only provider the file declares) as .NET would.
    pub(crate) fn protect(
        &mut self,
        provider_name: Option<&str>,
        algorithm: Option<DataAlgorithm>,
    ) -> Result<()> {
        if let Some(p) = self.protection() {
            return Err(Error::InvalidChange(format!(
                "the connectionStrings section is already encrypted (provider {:?})",
                p.provider
            )));
        }
        let host = self.host_file();
        let section = host.section().ok_or_else(|| {
            Error::InvalidChange("there is no connectionStrings section to encrypt".into())
        })?;
        let location = host.location(section.element.range.start);
        let name = match provider_name {
            Some(name) => name.to_owned(),
            None => default_provider(self.main_file())?,
        };
        let crypto = |message: String| Error::Crypto {
            location: location.clone(),
            provider: name.clone(),
            message,
        };
        let spec = provider::resolve(self.main_file(), &name).map_err(|(location, message)| {
            Error::Crypto {
                location,
                provider: name.clone(),
                message,
            }
        })?;
        let scheme = protect::default_scheme(&spec, algorithm).map_err(crypto)?;
        let text = host.text();
        let plain = &text[section.element.range.clone()];
        let blobs = protect::seal(&spec, &self.keys, scheme, plain).map_err(crypto)?;
        let eol = host.line_ending();
        let indent = line_indent(text, section.element.range.start).unwrap_or("");
        let unit = "  ";
        let inner = match (scheme, &blobs.key_cipher) {
            (
                Scheme::Rsa {
                    data, transport, ..
                },
                Some(key),
            ) => xmlenc::render_rsa(
                data,
                transport,
                key,
                &blobs.cipher,
                &format!("{indent}{unit}"),
                unit,
                eol,
            ),
            _ => xmlenc::render_dpapi(&blobs.cipher, &format!("{indent}{unit}"), unit, eol),
        };
        let start_tag = &text[section.element.start_tag.clone()];
        let open = start_tag
            .trim_end_matches('>')
            .trim_end_matches('/')
            .trim_end();
        let local = &text[section.element.name.clone()];
        let replacement = format!(
            "{open} configProtectionProvider=\"{name}\">{eol}{indent}{unit}{inner}{eol}{indent}</{local}>"
        );
        let range = section.element.range.clone();
        self.host_file_mut().splice(vec![(range, replacement)])?;
        // Decrypt what was just written: the document is then encrypted-and-unlocked, and the
        // round trip is checked before anything reaches the disk.
        let keys = self.keys.clone();
        self.unlock(keys).map(|_| ())
    }
}

/// The byte range of the `<EncryptedData>` child of the file's section.
fn encrypted_data(file: &ConfigFile) -> Option<std::ops::Range<usize>> {
    let text = file.text();
    file.section()?
        .children
        .iter()
        .find(|c| &text[c.name.clone()] == "EncryptedData")
        .map(|c| c.range.clone())
}

/// `K2ConfigurationKey` if the file declares it, else the one provider it declares.
fn default_provider(main: &ConfigFile) -> Result<String> {
    let declared: Vec<ProviderSpec> = provider::providers(main)
        .map_err(|(location, message)| Error::Crypto {
            location,
            provider: String::new(),
            message,
        })?
        .into_iter()
        .filter(|p| matches!(p.declared, protect::Declared::InFile(_)))
        .collect();
    if let Some(k2) = declared.iter().find(|p| p.name == "K2ConfigurationKey") {
        return Ok(k2.name.clone());
    }
    match declared.as_slice() {
        [one] => Ok(one.name.clone()),
        [] => Err(Error::InvalidChange(
            "the file declares no protected-configuration provider; pass --provider (for example RsaProtectedConfigurationProvider, .NET's default)".into(),
        )),
        many => Err(Error::InvalidChange(format!(
            "the file declares several providers ({}); pass --provider",
            many.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}
