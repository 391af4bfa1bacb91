//! The kinds of entry K2 knows, recognised by their type name.

use super::name::eq_ignore_case;
use super::schema::{self, KeySpec};

/// What an entry configures, from its type name (compared case-insensitively, as K2 does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Kind {
    /// `SourceCode.MessageBus.Ews.ExchangeWebServicesConnection[:mailbox]`: a mailbox K2
    /// listens to (`SmartActions`) and sends from.
    EwsConnection,
    /// `SourceCode.MessageBus.Ews.ExchangeWebServicesDestination[:mailbox]`: an EWS sender.
    EwsDestination,
    /// `SourceCode.Net.Mail.SmtpConnection[:mailbox]`: an SMTP sender; without an entity, the
    /// default one.
    Smtp,
    /// `HostserverDB`: the ADO.NET connection string of the K2 database.
    HostServerDb,
    /// `HostServer`: the K2 client connection string K2 uses to reach itself.
    HostServer,
    /// Anything else: listed and editable as raw pairs, never rewritten unasked.
    Other,
}

/// Whether a kind takes a `:Entity` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntityRule {
    /// Must have one (K2's editor: "Please provide an entity name.").
    Required,
    /// May have one.
    Optional,
    /// Must not have one.
    None,
}

/// The static description of a kind.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct KindSpec {
    /// The kind.
    pub kind: Kind,
    /// The type name as K2 writes it.
    pub type_name: &'static str,
    /// A short human name.
    pub title: &'static str,
    /// Whether an entity suffix is expected.
    pub entity: EntityRule,
    /// The keys this kind understands.
    #[serde(skip)]
    pub keys: &'static [KeySpec],
    /// Whether an unknown key is an error (the builder rejects it) or only a warning.
    pub unknown_key_is_error: bool,
}

/// Every known kind, in display order.
pub static KINDS: &[KindSpec] = &[
    KindSpec {
        kind: Kind::EwsConnection,
        type_name: "SourceCode.MessageBus.Ews.ExchangeWebServicesConnection",
        title: "Exchange Web Services connection",
        entity: EntityRule::Required,
        keys: schema::EWS_KEYS,
        unknown_key_is_error: false,
    },
    KindSpec {
        kind: Kind::EwsDestination,
        type_name: "SourceCode.MessageBus.Ews.ExchangeWebServicesDestination",
        title: "Exchange Web Services destination",
        entity: EntityRule::Optional,
        keys: schema::EWS_KEYS,
        unknown_key_is_error: false,
    },
    KindSpec {
        kind: Kind::Smtp,
        type_name: "SourceCode.Net.Mail.SmtpConnection",
        title: "SMTP connection",
        entity: EntityRule::Optional,
        keys: schema::SMTP_KEYS,
        unknown_key_is_error: false,
    },
    KindSpec {
        kind: Kind::HostServerDb,
        type_name: "HostserverDB",
        title: "K2 database (SQL Server)",
        entity: EntityRule::None,
        keys: schema::SQL_KEYS,
        // SqlConnectionStringBuilder throws "Keyword not supported" on unknown keys.
        unknown_key_is_error: true,
    },
    KindSpec {
        kind: Kind::HostServer,
        type_name: "HostServer",
        title: "K2 client connection",
        entity: EntityRule::None,
        keys: schema::K2_CLIENT_KEYS,
        unknown_key_is_error: false,
    },
];

impl Kind {
    /// The kind of an entry whose type (the part before the first `:`) is `type_name`.
    pub fn of_type(type_name: &str) -> Self {
        KINDS
            .iter()
            .find(|k| eq_ignore_case(k.type_name, type_name))
            .map_or(Self::Other, |k| k.kind)
    }

    /// The description of this kind; `None` for [`Kind::Other`].
    pub fn spec(self) -> Option<&'static KindSpec> {
        KINDS.iter().find(|k| k.kind == self)
    }

    /// The schema entry for `key`, if this kind knows it.
    pub fn key_spec(self, key: &str) -> Option<&'static KeySpec> {
        let keys = self.spec()?.keys;
        // Callers mostly ask by the schema's own spelling (`Entry::setting("Poll Interval")`):
        // an exact match is a length check and a memcmp per key, where `matches` folds every
        // name and synonym. Same answer: no spelling of one key matches another key
        // (`every_spelling_names_only_its_own_key`).
        keys.iter()
            .find(|k| k.name == key)
            .or_else(|| keys.iter().find(|k| k.matches(key)))
    }

    /// Whether values of `key` are secrets (by schema, or by name for unknown keys).
    pub fn is_secret(self, key: &str) -> bool {
        match self.key_spec(key) {
            Some(spec) => spec.is_secret(),
            None => schema::looks_secret(key),
        }
    }

    /// Whether this is one of the EWS kinds.
    pub fn is_ews(self) -> bool {
        matches!(self, Self::EwsConnection | Self::EwsDestination)
    }

    /// A stable identifier for JSON and the command line (`ews-connection`, `smtp`, ...).
    pub fn id(self) -> &'static str {
        match self {
            Self::EwsConnection => "ews-connection",
            Self::EwsDestination => "ews-destination",
            Self::Smtp => "smtp",
            Self::HostServerDb => "hostserver-db",
            Self::HostServer => "hostserver",
            Self::Other => "other",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_recognised_case_insensitively() {
        assert_eq!(Kind::of_type("HostServerDB"), Kind::HostServerDb);
        assert_eq!(
            Kind::of_type("sourcecode.net.mail.smtpconnection"),
            Kind::Smtp
        );
        assert_eq!(
            Kind::of_type("SourceCode.MessageBus.Ews.ExchangeWebServicesDestination"),
            Kind::EwsDestination
        );
        assert_eq!(Kind::of_type("SourceCode.Something.Else"), Kind::Other);
    }

    #[test]
    fn synonyms_and_case_variants_find_the_same_key() {
        assert_eq!(
            Kind::EwsConnection.key_spec("Url").map(|k| k.name),
            Some("URL")
        );
        assert_eq!(Kind::Smtp.key_spec("Tls").map(|k| k.name), Some("TLS"));
        assert_eq!(
            Kind::HostServerDb.key_spec("server").map(|k| k.name),
            Some("Data Source")
        );
        assert_eq!(
            Kind::HostServerDb.key_spec("PWD").map(|k| k.name),
            Some("Password")
        );
        assert!(Kind::EwsConnection.key_spec("Colour").is_none());
    }

    #[test]
    fn every_spelling_names_only_its_own_key() {
        // `key_spec` tries exact names first; that gives the same answer as the first key
        // whose name or synonym matches only if no spelling of one key matches an earlier one.
        for spec in KINDS {
            for (i, key) in spec.keys.iter().enumerate() {
                for spelling in std::iter::once(key.name).chain(key.synonyms.iter().copied()) {
                    let first = spec.keys.iter().position(|k| k.matches(spelling));
                    assert_eq!(first, Some(i), "{:?}: {spelling:?}", spec.kind);
                    let found = spec.kind.key_spec(spelling);
                    assert!(found.is_some_and(|k| std::ptr::eq(k, key)), "{spelling:?}");
                    let upper = spelling.to_uppercase();
                    assert_eq!(spec.kind.key_spec(&upper).map(|k| k.name), Some(key.name));
                }
            }
        }
    }

    #[test]
    fn secrets_by_schema_and_by_name() {
        assert!(Kind::Smtp.is_secret("password"));
        assert!(Kind::HostServerDb.is_secret("pwd"));
        assert!(!Kind::HostServer.is_secret("EncryptedPassword"));
        assert!(Kind::Other.is_secret("Client Secret"));
        assert!(Kind::Other.is_secret("AccessToken"));
        assert!(!Kind::Other.is_secret("Host"));
        assert!(Kind::Other.is_secret("Api Key"));
        assert!(Kind::Other.is_secret("client_secret"));
    }
}
