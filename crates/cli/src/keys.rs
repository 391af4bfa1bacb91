//! `k2cse key inspect`: which provider and key an encrypted section uses. Shows the public
//! key's fingerprint, never key material. `key import`/`key export` move a key between an
//! `aspnet_regiis`-format file and a Windows key container.

use std::io::{self, Write as _};

use k2cse_core::protect::{self, Declared, ProviderKind, ProviderSpec, provider};

use k2cse_core::report::{KeyExportReport, KeyImportReport, KeyReport, Schema as _};

use crate::Outcome;
use crate::args::{ContainerChoice, KeyExportArgs, KeyImportArgs, KeyInspectArgs};
use crate::context::Context;
use crate::render::write_json;

/// `k2cse key inspect`
pub fn inspect(
    ctx: &Context,
    args: &KeyInspectArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let mut doc = k2cse_core::Document::load(&ctx.path)?;
    let section_provider = doc.protection().map(|p| p.provider);
    let name = args
        .provider
        .clone()
        .or_else(|| section_provider.clone())
        .unwrap_or_else(|| "K2ConfigurationKey".to_owned());
    let spec = provider::resolve(doc.main_file(), &name).map_err(|(location, message)| {
        k2cse_core::Error::Crypto {
            location,
            provider: name.clone(),
            message,
        }
    })?;
    let source = ctx.keys.describe(&spec);
    let public = protect::public_key(&spec, &ctx.keys);
    let opens_section = match (&section_provider, &public) {
        (Some(p), Ok(_)) if *p == name => Some(
            doc.unlock(ctx.keys.clone())
                .map(|_| ())
                .map_err(|e| e.to_string()),
        ),
        _ => None,
    };
    let (bits, fingerprint, key_error) = match &public {
        Ok((key, fingerprint)) => (Some(rsa_bits(key)), Some(fingerprint.clone()), None),
        Err(e) => (None, None, Some(e.clone())),
    };
    let private = ctx.keys.rsa.as_ref().map(|k| k.has_private());
    if ctx.json {
        write_json(
            out,
            &KeyReport {
                provider: &spec,
                section_encrypted_with: section_provider.as_deref(),
                key_source: &source,
                key_bits: bits,
                public_key_sha256: fingerprint.as_deref(),
                has_private_key: private,
                key_error: key_error.as_deref(),
                opens_section: opens_section.as_ref().map(Result::is_ok),
                open_error: opens_section
                    .as_ref()
                    .and_then(|r| r.as_ref().err())
                    .map(String::as_str),
            }
            .document(),
        )?;
        return Ok(Outcome::Ok);
    }
    let facts = Facts {
        spec: &spec,
        source: &source,
        bits,
        fingerprint: fingerprint.as_deref(),
        key_error: key_error.as_deref(),
        private,
        section_provider: section_provider.as_deref(),
        name: &name,
        opens_section,
    };
    facts.write(out)?;
    Ok(Outcome::Ok)
}

/// What `key inspect` found, for the text report.
struct Facts<'a> {
    spec: &'a ProviderSpec,
    source: &'a str,
    bits: Option<usize>,
    fingerprint: Option<&'a str>,
    key_error: Option<&'a str>,
    private: Option<bool>,
    section_provider: Option<&'a str>,
    name: &'a str,
    opens_section: Option<Result<(), String>>,
}

impl Facts<'_> {
    fn write(self, out: &mut dyn io::Write) -> io::Result<()> {
        let Self {
            spec,
            source,
            bits,
            fingerprint,
            key_error,
            private,
            section_provider,
            name,
            opens_section,
        } = self;
        let kind = match &spec.kind {
            ProviderKind::Rsa => "RsaProtectedConfigurationProvider".to_owned(),
            ProviderKind::Dpapi => "DpapiProtectedConfigurationProvider".to_owned(),
            ProviderKind::Other(t) => t.clone(),
        };
        writeln!(out, "provider        {} ({kind})", spec.name)?;
        match &spec.declared {
            Declared::InFile(location) => writeln!(out, "declared at     {location}")?,
            Declared::MachineDefault => {
                writeln!(out, "declared at     .NET machine.config default")?;
            }
        }
        if spec.kind == ProviderKind::Rsa {
            let store = if spec.use_machine_container {
                "machine"
            } else {
                "user"
            };
            writeln!(
                out,
                "key container   {:?} ({store} store)",
                spec.key_container
            )?;
            writeln!(out, "useOAEP         {}", spec.use_oaep)?;
            writeln!(out, "useFIPS         {}", spec.use_fips)?;
        }
        writeln!(out, "key source      {source}")?;
        match (&bits, &fingerprint, &key_error) {
            (Some(bits), Some(fingerprint), _) => {
                writeln!(out, "key size        {bits} bits")?;
                writeln!(out, "public key      SHA-256 {fingerprint}")?;
            }
            (_, _, Some(e)) => writeln!(out, "key             unavailable: {e}")?,
            _ => {}
        }
        if let Some(private) = private {
            writeln!(
                out,
                "private key     {}",
                if private {
                    "present (not shown)"
                } else {
                    "absent: this key can encrypt but not decrypt"
                }
            )?;
        }
        match &section_provider {
            None => writeln!(out, "section         not encrypted")?,
            Some(p) if *p != name => writeln!(
                out,
                "section         encrypted with another provider ({p:?})"
            )?,
            Some(_) => match opens_section {
                Some(Ok(())) => writeln!(
                    out,
                    "section         encrypted with this provider; this key decrypts it"
                )?,
                Some(Err(e)) => writeln!(
                    out,
                    "section         encrypted with this provider; NOT decrypted: {e}"
                )?,
                None => writeln!(out, "section         encrypted with this provider")?,
            },
        }
        Ok(())
    }
}

fn rsa_bits(key: &rsa::PublicKey) -> usize {
    use rsa::traits::PublicKeyParts as _;
    key.size() * 8
}

/// The provider spec `choice` names: a container given directly, or a provider of the config.
fn chosen_spec(ctx: &Context, choice: &ContainerChoice) -> anyhow::Result<ProviderSpec> {
    if let Some(container) = &choice.container {
        return Ok(ProviderSpec::for_container(container, !choice.user_store));
    }
    if ctx.path.as_os_str().is_empty() {
        anyhow::bail!(
            "no config file found to read the provider from: pass --config, or name the key \
             container with --container"
        );
    }
    let doc = k2cse_core::Document::load(&ctx.path)?;
    let name = choice
        .provider
        .clone()
        .or_else(|| doc.protection().map(|p| p.provider))
        .unwrap_or_else(|| "K2ConfigurationKey".to_owned());
    provider::resolve(doc.main_file(), &name).map_err(|(location, message)| {
        k2cse_core::Error::Crypto {
            location,
            provider: name.clone(),
            message,
        }
        .into()
    })
}

/// `k2cse key import FILE`
pub fn import(
    ctx: &Context,
    args: &KeyImportArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let spec = chosen_spec(ctx, &args.container)?;
    let key = protect::RsaKey::from_file(&args.file)?;
    let outcome = protect::import_key(&spec, &key, args.replace)
        .map_err(|message| anyhow::anyhow!("{message}"))?;
    if ctx.json {
        write_json(
            out,
            &KeyImportReport {
                container: &spec.key_container,
                machine_store: spec.use_machine_container,
                outcome,
                public_key_sha256: key.fingerprint(),
            }
            .document(),
        )?;
        return Ok(Outcome::Ok);
    }
    let what = match outcome {
        protect::ImportOutcome::Created => "created with",
        protect::ImportOutcome::Replaced => "now holds",
        protect::ImportOutcome::Unchanged => "already holds",
    };
    writeln!(
        out,
        "key container {:?} ({} store) {what} key SHA-256 {}",
        spec.key_container,
        if spec.use_machine_container {
            "machine"
        } else {
            "user"
        },
        key.fingerprint()
    )?;
    if outcome != protect::ImportOutcome::Unchanged {
        writeln!(
            out,
            "the K2 service account needs read access: aspnet_regiis -pa \"{}\" \"DOMAIN\\account\"",
            spec.key_container
        )?;
    }
    Ok(Outcome::Ok)
}

/// `k2cse key export --to FILE`
pub fn export(
    ctx: &Context,
    args: &KeyExportArgs,
    out: &mut dyn io::Write,
) -> anyhow::Result<Outcome> {
    let spec = chosen_spec(ctx, &args.container)?;
    let xml = protect::export_key(&spec).map_err(|message| anyhow::anyhow!("{message}"))?;
    let key = protect::RsaKey::from_text(&args.to, &xml)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&args.to).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (an existing file is never overwritten)",
            args.to.display()
        )
    })?;
    file.write_all(xml.as_bytes())?;
    file.sync_all()?;
    if ctx.json {
        write_json(
            out,
            &KeyExportReport {
                container: &spec.key_container,
                machine_store: spec.use_machine_container,
                file: &args.to,
                public_key_sha256: key.fingerprint(),
            }
            .document(),
        )?;
    } else {
        writeln!(
            out,
            "wrote the private key of {:?} (SHA-256 {}) to {}; keep it as safe as the server",
            spec.key_container,
            key.fingerprint(),
            args.to.display()
        )?;
    }
    Ok(Outcome::Ok)
}
