//! Which protected-configuration provider a section names, and how it is set up: declared in
//! the file's `<configProtectedData><providers>`, or one of .NET's machine-wide defaults.

use crate::config::ConfigFile;
use crate::error::Location;

/// What kind of provider it is, from its `type`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "type")]
pub enum ProviderKind {
    /// `System.Configuration.RsaProtectedConfigurationProvider`: RSA and XML Encryption.
    Rsa,
    /// `System.Configuration.DpapiProtectedConfigurationProvider`: Windows DPAPI.
    Dpapi,
    /// Any other provider type (k2cse cannot use it).
    Other(String),
}

/// Where the provider's settings came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Declared {
    /// An `<add>` in the file's `<configProtectedData>`.
    InFile(Location),
    /// .NET's `machine.config` default of that name.
    MachineDefault,
}

/// A provider and its settings, with .NET's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[allow(clippy::struct_excessive_bools)] // One field per .NET provider attribute, by design.
pub struct ProviderSpec {
    /// The provider's name (`K2ConfigurationKey` on K2 servers).
    pub name: String,
    /// Its kind.
    #[serde(flatten)]
    pub kind: ProviderKind,
    /// RSA: the key container (`keyContainerName`, default `NetFrameworkConfigurationKey`).
    pub key_container: String,
    /// RSA: machine rather than user container (`useMachineContainer`, default true).
    pub use_machine_container: bool,
    /// RSA: OAEP key transport (`useOAEP`, default false).
    pub use_oaep: bool,
    /// RSA: AES-256 instead of Triple DES for new encryptions (`useFIPS`, default false).
    pub use_fips: bool,
    /// RSA: the `CryptoAPI` provider (`cspProviderName`).
    pub csp_provider_name: Option<String>,
    /// DPAPI: machine rather than user scope (`useMachineProtection`, default true).
    pub use_machine_protection: bool,
    /// DPAPI: additional entropy (`keyEntropy`).
    pub key_entropy: Option<String>,
    /// Where these settings come from.
    pub declared: Declared,
}

impl ProviderSpec {
    /// An RSA provider for the named key container, for commands that work on a container
    /// without a config file (`k2cse key import --container`).
    pub fn for_container(container: &str, machine: bool) -> Self {
        let mut spec = Self::defaults(container, ProviderKind::Rsa, Declared::MachineDefault);
        container.clone_into(&mut spec.key_container);
        spec.use_machine_container = machine;
        spec
    }

    fn defaults(name: &str, kind: ProviderKind, declared: Declared) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            key_container: "NetFrameworkConfigurationKey".to_owned(),
            use_machine_container: true,
            use_oaep: false,
            use_fips: false,
            csp_provider_name: None,
            use_machine_protection: true,
            key_entropy: None,
            declared,
        }
    }
}

/// The providers of `file`'s `<configProtectedData>`, then .NET's two machine defaults
/// (`RsaProtectedConfigurationProvider`, `DataProtectionConfigurationProvider`), as .NET merges
/// them: a `<clear/>` drops the defaults, a `<remove>` drops one.
pub fn providers(file: &ConfigFile) -> Result<Vec<ProviderSpec>, (Location, String)> {
    let mut all = vec![
        ProviderSpec::defaults(
            "RsaProtectedConfigurationProvider",
            ProviderKind::Rsa,
            Declared::MachineDefault,
        ),
        ProviderSpec::defaults(
            "DataProtectionConfigurationProvider",
            ProviderKind::Dpapi,
            Declared::MachineDefault,
        ),
    ];
    let text = file.text();
    let Some((_, range)) = file
        .index()
        .top_level
        .iter()
        .find(|(name, _)| name == "configProtectedData")
    else {
        return Ok(all);
    };
    let base = range.start;
    let fail = |offset: usize, message: String| (file.location(base + offset), message);
    let doc = roxmltree::Document::parse(&text[range.clone()])
        .map_err(|e| fail(0, format!("<configProtectedData> is not readable: {e}")))?;
    let Some(list) = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("providers"))
    else {
        return Ok(all);
    };
    for item in list.children().filter(roxmltree::Node::is_element) {
        let at = item.range().start;
        let name = item.attribute("name");
        match (item.tag_name().name(), name) {
            ("clear", _) => all.clear(),
            ("remove", Some(name)) => all.retain(|p| p.name != name),
            ("add", Some(name)) => {
                let type_name = item.attribute("type").unwrap_or_default();
                let kind = if type_name.contains("RsaProtectedConfigurationProvider") {
                    ProviderKind::Rsa
                } else if type_name.contains("DpapiProtectedConfigurationProvider") {
                    ProviderKind::Dpapi
                } else {
                    ProviderKind::Other(type_name.to_owned())
                };
                let mut spec =
                    ProviderSpec::defaults(name, kind, Declared::InFile(file.location(base + at)));
                // RsaProtectedConfigurationProvider.GetBooleanValue: exactly "true" or "false"
                // (case-sensitive); anything else throws "The value of the property '...'
                // cannot be parsed" (Config_invalid_boolean_attribute) and K2 does not start.
                let flag = |attribute: &str, default: bool| -> Result<bool, (Location, String)> {
                    match item.attribute(attribute) {
                        None => Ok(default),
                        Some("true") => Ok(true),
                        Some("false") => Ok(false),
                        Some(v) => Err(fail(
                            at,
                            format!(
                                "provider {name:?}: {attribute}={v:?} — .NET accepts only \"true\" or \"false\" (lower case) and refuses the file"
                            ),
                        )),
                    }
                };
                // An empty keyContainerName means the default container, as .NET's Initialize.
                if let Some(container) =
                    item.attribute("keyContainerName").filter(|c| !c.is_empty())
                {
                    container.clone_into(&mut spec.key_container);
                }
                spec.use_machine_container = flag("useMachineContainer", true)?;
                spec.use_oaep = flag("useOAEP", false)?;
                spec.use_fips = flag("useFIPS", false)?;
                spec.csp_provider_name = item.attribute("cspProviderName").map(str::to_owned);
                spec.use_machine_protection = flag("useMachineProtection", true)?;
                spec.key_entropy = item.attribute("keyEntropy").map(str::to_owned);
                all.retain(|p| p.name != name);
                all.push(spec);
            }
            (other, _) => {
                return Err(fail(
                    at,
                    format!("<{other}> without a name in <configProtectedData><providers>"),
                ));
            }
        }
    }
    Ok(all)
}

/// The provider called `name`.
pub fn resolve(file: &ConfigFile, name: &str) -> Result<ProviderSpec, (Location, String)> {
    let all = providers(file)?;
    all.iter().find(|p| p.name == name).cloned().ok_or_else(|| {
        let known = all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ");
        (
            file.location(0),
            format!(
                "provider {name:?} is not declared in <configProtectedData><providers> and is not a .NET default (known here: {known}); \
                 add its declaration (K2 servers declare K2ConfigurationKey as an RsaProtectedConfigurationProvider)"
            ),
        )
    })
}

/// An RSA provider with .NET's defaults, for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) fn providers_for_tests(name: &str) -> ProviderSpec {
    ProviderSpec::defaults(name, ProviderKind::Rsa, Declared::MachineDefault)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::xml::scan::ScanMode;

    fn file(text: &str) -> ConfigFile {
        ConfigFile::from_bytes(
            Path::new("p.config"),
            text.as_bytes().to_vec(),
            ScanMode::ConfigFile,
        )
        .unwrap()
    }

    #[test]
    fn declared_providers_override_machine_defaults() {
        let f = file(
            r#"<configuration>
  <configProtectedData>
    <providers>
      <add name="K2ConfigurationKey" type="System.Configuration.RsaProtectedConfigurationProvider, System.Configuration" keyContainerName="K2Key" useMachineContainer="false" useOAEP="true" />
      <add name="K2Dpapi" type="System.Configuration.DpapiProtectedConfigurationProvider" useMachineProtection="false" keyEntropy="salt" />
    </providers>
  </configProtectedData>
</configuration>"#,
        );
        let k2 = resolve(&f, "K2ConfigurationKey").unwrap();
        assert_eq!(k2.kind, ProviderKind::Rsa);
        assert_eq!(k2.key_container, "K2Key");
        assert!(!k2.use_machine_container && k2.use_oaep && !k2.use_fips);
        assert!(matches!(k2.declared, Declared::InFile(ref l) if l.line == 4));
        let dpapi = resolve(&f, "K2Dpapi").unwrap();
        assert_eq!(dpapi.kind, ProviderKind::Dpapi);
        assert!(!dpapi.use_machine_protection);
        let default = resolve(&f, "RsaProtectedConfigurationProvider").unwrap();
        assert_eq!(default.key_container, "NetFrameworkConfigurationKey");
        assert_eq!(default.declared, Declared::MachineDefault);
    }

    #[test]
    fn missing_and_cleared_providers_are_explained() {
        let f = file("<configuration><connectionStrings/></configuration>");
        let (_, message) = resolve(&f, "K2ConfigurationKey").unwrap_err();
        assert!(message.contains("not declared"), "{message}");
        let cleared = file(
            "<configuration><configProtectedData><providers><clear/></providers></configProtectedData></configuration>",
        );
        assert!(resolve(&cleared, "RsaProtectedConfigurationProvider").is_err());
        let bad = file(
            r#"<configuration><configProtectedData><providers><add name="x" type="Rsa" useOAEP="yes"/></providers></configProtectedData></configuration>"#,
        );
        assert!(resolve(&bad, "x").unwrap_err().1.contains("only \"true\""));
    }

    #[test]
    fn provider_attributes_read_as_dotnet_reads_them() {
        let f = file(
            r#"<configuration><configProtectedData><providers>
<add name="empty" type="System.Configuration.RsaProtectedConfigurationProvider" keyContainerName="" />
</providers></configProtectedData></configuration>"#,
        );
        let capital = file(
            r#"<configuration><configProtectedData><providers>
<add name="capital" type="System.Configuration.RsaProtectedConfigurationProvider" useOAEP="True" />
</providers></configProtectedData></configuration>"#,
        );
        // An empty keyContainerName is the default container.
        assert_eq!(
            resolve(&f, "empty").unwrap().key_container,
            "NetFrameworkConfigurationKey"
        );
        // GetBooleanValue compares with "true"/"false" exactly: "True" throws in .NET.
        assert!(resolve(&capital, "capital").is_err());
    }
}
