//! Rules that look at one entry.

use super::exchange_online;
use super::values::{self, BoolSpelling};
use super::{
    BAD_URL, BOOLEAN, BOOLEAN_SPELLING, CHOICE, DUPLICATE_KEY, Diagnostic, EMPTY, ENTITY,
    INSECURE_URL, LintOptions, MAILBOX_MISMATCH, NO_ENDPOINT, NUMBER, OAUTH_INCOMPLETE,
    OAUTH_PASSWORD, POLL_INTERVAL, SMTP_CREDENTIALS, SMTP_HOST, SQL_DATA_SOURCE, SYNTAX, Severity,
    UNKNOWN_KEY, URL_IGNORED,
};
use crate::connstr::same_key;
use crate::entry::schema::ValueType;
use crate::entry::{EntityRule, Entry, Kind, eq_ignore_case, sql_client};

/// Runs every single-entry rule on `entry`.
pub fn check(entry: &Entry, options: LintOptions, out: &mut Vec<Diagnostic>) {
    let name = entry.name.as_str();
    let here = |d: Diagnostic| d.entry(name).at(Some(&entry.location));
    let cs = match &entry.parsed {
        Err(err) => {
            out.push(
                Diagnostic::new(SYNTAX, format!("{err}"), "fix the quoting: values with ; or quotes must be in \"...\" or '...' with the quote doubled inside")
                    .entry(name)
                    .at(entry.error_location.as_ref().or(Some(&entry.location))),
            );
            return;
        }
        Ok(cs) => cs,
    };
    if cs.is_blank() {
        out.push(here(Diagnostic::new(
            EMPTY,
            format!("entry \"{name}\" has an empty connection string; K2 fails with \"Value cannot be null. Parameter name: connectionString\""),
            "fill it in (k2cse set) or remove the entry (k2cse remove)",
        )));
        return;
    }
    for key in cs.duplicate_keys() {
        out.push(
            here(Diagnostic::new(
                DUPLICATE_KEY,
                format!("key \"{key}\" is given more than once; only the last value counts"),
                "keep one",
            ))
            .key(key),
        );
    }
    let Some(spec) = entry.kind.spec() else {
        return;
    };
    check_entity(entry, spec.entity, out);
    let mut seen_specs: Vec<&str> = Vec::new();
    for (key, value) in entry.pairs() {
        let Some(key_spec) = entry.kind.key_spec(key) else {
            let mut d = Diagnostic::new(
                UNKNOWN_KEY,
                format!("{} entries have no key \"{key}\"", spec.title),
                format!(
                    "known keys: {}",
                    spec.keys
                        .iter()
                        .map(|k| k.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            if spec.unknown_key_is_error {
                d.severity = Severity::Error;
                d.message
                    .to_mut()
                    .push_str(" (SqlClient: \"Keyword not supported\")");
            }
            if entry.kind == Kind::HostServerDb
                && let Some(instead) = sql_client::newer_client(key)
            {
                d.message = format!(
                    "\"{key}\" is a keyword of Microsoft.Data.SqlClient, the newer SQL client; K2 runs on .NET Framework's System.Data.SqlClient, which throws \"Keyword not supported\" and the K2 service does not start"
                )
                .into();
                d.hint = match instead {
                    Some(k) => format!("write it as {k} (the .NET Framework spelling)").into(),
                    None => "remove it: .NET Framework's SqlClient has no such setting".into(),
                };
            }
            out.push(here(d).key(key));
            continue;
        };
        if seen_specs.contains(&key_spec.name) {
            out.push(
                here(Diagnostic::new(
                    DUPLICATE_KEY,
                    format!(
                        "\"{}\" is set under two spellings; only the last counts",
                        key_spec.name
                    ),
                    "keep one",
                ))
                .key(key),
            );
        }
        seen_specs.push(key_spec.name);
        if !value.trim().is_empty()
            && let Some(d) = check_value(entry, key, value, key_spec.value_type)
        {
            out.push(here(d).key(key));
        }
    }
    match entry.kind {
        Kind::EwsConnection | Kind::EwsDestination => check_ews(entry, options, out),
        Kind::Smtp => check_smtp(entry, options, out),
        Kind::HostServerDb => check_sql(entry, out),
        _ => {}
    }
}

fn check_sql(entry: &Entry, out: &mut Vec<Diagnostic>) {
    let here = |d: Diagnostic| d.entry(entry.name.as_str()).at(Some(&entry.location));
    if entry
        .setting("Data Source")
        .is_none_or(|v| v.trim().is_empty())
    {
        out.push(here(Diagnostic::new(
            SQL_DATA_SOURCE,
            "HostserverDB has no Data Source: K2 cannot find its database server",
            "set Data Source=SERVER[\\INSTANCE][,PORT]",
        )));
    }
    // SqlConnectionString's constructor: Max Pool Size < Min Pool Size throws.
    let size = |k: &str| entry.setting(k).and_then(|v| v.trim().parse::<i64>().ok());
    if let (Some(min), Some(max)) = (size("Min Pool Size"), size("Max Pool Size"))
        && min > max
    {
        out.push(here(Diagnostic::new(
            NUMBER,
            format!("Min Pool Size {min} is larger than Max Pool Size {max} (SqlClient: \"Invalid min or max pool size values\")"),
            "make Min Pool Size at most Max Pool Size",
        )));
    }
}

fn check_entity(entry: &Entry, rule: EntityRule, out: &mut Vec<Diagnostic>) {
    let entity = entry.name.entity();
    let message = match (rule, entity) {
        (EntityRule::Required, None | Some("")) => {
            "has no target entity; K2 expects Type:mailbox for EWS connections"
        }
        (EntityRule::None, Some(_)) => {
            "has a :suffix, which K2 does not expect on this entry (it will not be found)"
        }
        _ => return,
    };
    out.push(
        Diagnostic::new(
            ENTITY,
            format!("entry \"{}\" {message}", entry.name.as_str()),
            "rename the entry (k2cse rename)",
        )
        .entry(entry.name.as_str())
        .at(Some(&entry.location)),
    );
}

/// Type checks of one value; empty when fine.
fn check_value(entry: &Entry, key: &str, value: &str, value_type: ValueType) -> Option<Diagnostic> {
    if entry.kind == Kind::HostServerDb
        && same_key(key, "Encrypt")
        && sql_client::newer_encrypt_value(value)
    {
        return Some(Diagnostic::new(
            BOOLEAN,
            format!(
                "Encrypt={} is Microsoft.Data.SqlClient's (the newer SQL client); K2's .NET Framework SqlClient accepts only True/False (or Yes/No) and throws \"Invalid value for key 'encrypt'\"",
                value.trim()
            ),
            "use Encrypt=True (with TrustServerCertificate=False to validate the certificate)",
        ));
    }
    match value_type {
        ValueType::Bool => match values::boolean(value) {
            BoolSpelling::Standard => None,
            // SqlConnectionStringBuilder accepts yes/no; K2's own builders may not.
            BoolSpelling::YesNo if entry.kind == Kind::HostServerDb => None,
            BoolSpelling::YesNo => Some(Diagnostic::new(
                BOOLEAN_SPELLING,
                format!("{key}={value}: write True or False"),
                format!("k2cse set NAME \"{key}=True\""),
            )),
            BoolSpelling::Invalid => Some(Diagnostic::new(
                BOOLEAN,
                format!("{key} must be True or False, not \"{value}\""),
                "use True or False",
            )),
        },
        ValueType::Url => match values::url(value) {
            Ok(true) => None,
            Ok(false) => Some(Diagnostic::new(
                INSECURE_URL,
                format!(
                    "{key} \"{value}\" is not https; credentials and mail would cross the network unencrypted"
                ),
                "use https://",
            )),
            Err(why) => Some(Diagnostic::new(
                BAD_URL,
                format!("{key}: {why}"),
                "give an absolute URL such as https://mail.example.com/EWS/Exchange.asmx",
            )),
        },
        ValueType::Int { min, max } => values::number(value, min, max).err().map(|why| {
            Diagnostic::new(
                NUMBER,
                format!("{key}: {why}"),
                format!("use a whole number from {min} to {max}"),
            )
        }),
        ValueType::Enum { values: allowed } => {
            values::choice(value, allowed).is_none().then(|| {
                Diagnostic::new(
                    CHOICE,
                    format!("{key} \"{value}\" is not one of {}", allowed.join(", ")),
                    format!("use one of {}", allowed.join(", ")),
                )
            })
        }
        ValueType::Interval => values::poll_interval(value).err().map(|why| {
            Diagnostic::new(
                POLL_INTERVAL,
                format!("{key}: {why}"),
                "use a number with S, M, H or D in capitals (30S, 2M, 1.5H) or a number of seconds",
            )
        }),
        ValueType::Text | ValueType::Account | ValueType::Secret => None,
    }
}

fn check_ews(entry: &Entry, options: LintOptions, out: &mut Vec<Diagnostic>) {
    let name = entry.name.as_str();
    let here = |d: Diagnostic| d.entry(name).at(Some(&entry.location));
    let set = |key: &str| entry.setting(key).filter(|v| !v.trim().is_empty());
    let autodiscover = set("Autodiscover").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let url = set("URL");
    let resource = set("OAuth Resource");
    let audience = set("OAuth Resource Audience");
    if autodiscover && url.is_some() {
        out.push(
            here(Diagnostic::new(
                URL_IGNORED,
                "URL is set but Autodiscover=True, so K2 ignores the URL",
                "set Autodiscover=False to use the URL, or unset URL",
            ))
            .key("URL"),
        );
    }
    if !autodiscover && url.is_none() && resource.is_none() {
        out.push(here(Diagnostic::new(
            NO_ENDPOINT,
            "Autodiscover is False and there is no URL or OAuth resource: K2 has no EWS endpoint",
            "set URL=https://SERVER/EWS/Exchange.asmx, or Autodiscover=True",
        )));
    }
    match (resource, audience) {
        (Some(_), None) => out.push(
            here(Diagnostic::new(
                OAUTH_INCOMPLETE,
                "OAuth Resource is set without OAuth Resource Audience",
                "add OAuth Resource Audience=https://outlook.office365.com (Exchange Online)",
            ))
            .key("OAuth Resource Audience"),
        ),
        (None, Some(_)) => out.push(
            here(Diagnostic::new(
                OAUTH_INCOMPLETE,
                "OAuth Resource Audience is set without OAuth Resource",
                "add OAuth Resource=<name of the K2 OAuth resource>",
            ))
            .key("OAuth Resource"),
        ),
        _ => {}
    }
    if resource.is_some() {
        let user = set("User ID");
        match (entry.name.entity().filter(|e| !e.is_empty()), user) {
            (Some(mailbox), Some(user)) if !eq_ignore_case(mailbox, user.trim()) => out.push(
                here(Diagnostic::new(MAILBOX_MISMATCH, format!("the entry is for mailbox \"{mailbox}\" but User ID is \"{user}\"; the OAuth token is looked up by User ID"), format!("set User ID={mailbox}, or rename the entry"))).key("User ID"),
            ),
            (Some(mailbox), None) => out.push(here(Diagnostic::new(MAILBOX_MISMATCH, format!("OAuth entry for \"{mailbox}\" has no User ID"), format!("set User ID={mailbox}"))).key("User ID")),
            _ => {}
        }
        if set("Password").is_some() {
            out.push(here(Diagnostic::new(OAUTH_PASSWORD, "a Password is stored in plain text although the entry signs in with OAuth, which does not use it", "unset Password")).key("Password"));
        }
    }
    exchange_online::check_ews(entry, options, out);
}

fn check_smtp(entry: &Entry, options: LintOptions, out: &mut Vec<Diagnostic>) {
    let name = entry.name.as_str();
    let here = |d: Diagnostic| d.entry(name).at(Some(&entry.location));
    let set = |key: &str| entry.setting(key).filter(|v| !v.trim().is_empty());
    if set("Host Name").is_none() {
        out.push(
            here(Diagnostic::new(
                SMTP_HOST,
                "SMTP entry without Host Name: K2 cannot send mail through it",
                "set Host Name=smtp.example.com",
            ))
            .key("Host Name"),
        );
    }
    let plain = set("Authentication").is_some_and(|a| a.trim().eq_ignore_ascii_case("plain"));
    if plain && (set("User ID").is_none() || set("Password").is_none()) {
        out.push(here(Diagnostic::new(
            SMTP_CREDENTIALS,
            "Authentication=Plain needs both User ID and Password",
            "set User ID and Password, or use Authentication=Windows or Anonymous",
        )));
    }
    exchange_online::check_smtp(entry, options, out);
}
