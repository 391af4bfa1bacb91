//! Exchange Online: which hosts are Microsoft's, and the dates Microsoft switches things off.
//!
//! Every date a rule depends on lives in [`DATES`], with the announcement it comes from, so a
//! rule never hard-codes one and docs/lint-rules.md can list them. Rules compare against
//! `LintOptions::today`, which tests pin so they never rot.

use std::sync::LazyLock;

use time::Date;
use time::macros::date;

use super::values;
use super::{
    Diagnostic, EWS_BASIC_AUTH, EWS_ONLINE, LintOptions, SMTP_BASIC_AUTH_ONLINE, Severity,
};
use crate::entry::Entry;

/// A dated change in Exchange Online, and where Microsoft announced it.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// What happens.
    pub what: &'static str,
    /// From when (inclusive).
    pub date: Date,
    /// The announcement.
    pub source: &'static str,
}

/// Basic authentication for EWS in Exchange Online is off.
pub const EWS_BASIC_AUTH_OFF: Deadline = Deadline {
    what: "Basic authentication (user name and password) for EWS in Exchange Online is turned off",
    date: date!(2022 - 10 - 01),
    source: "Microsoft, \"Deprecation of Basic authentication in Exchange Online\" (Exchange Team blog, Sept 2022)",
};
/// The phased block of EWS in Exchange Online starts.
pub const EWS_BLOCK_STARTS: Deadline = Deadline {
    what: "EWS in Exchange Online is blocked unless the tenant allow-lists the app",
    date: date!(2026 - 10 - 01),
    source: "Microsoft 365 message center MC1227454 (Feb 2026)",
};
/// EWS in Exchange Online is shut down for good.
pub const EWS_SHUTDOWN: Deadline = Deadline {
    what: "EWS in Exchange Online is shut down, no exceptions",
    date: date!(2027 - 04 - 01),
    source: "Microsoft 365 message center MC1227454 (Feb 2026)",
};
/// SMTP AUTH with Basic authentication is disabled by default for existing tenants (the day
/// after the end of December 2026).
pub const SMTP_BASIC_AUTH_OFF: Deadline = Deadline {
    what: "SMTP AUTH with Basic authentication is disabled by default for existing tenants (550 5.7.30)",
    date: date!(2027 - 01 - 01),
    source: "Microsoft 365 message center MC786329 (updated 2026-01-27): end of December 2026",
};

/// Every dated rule input, in date order.
pub const DATES: &[Deadline] = &[
    EWS_BASIC_AUTH_OFF,
    EWS_BLOCK_STARTS,
    SMTP_BASIC_AUTH_OFF,
    EWS_SHUTDOWN,
];

/// An Exchange Online host name (it and its sub-domains), with the Microsoft page that lists it.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// The host name.
    pub name: &'static str,
    /// The cloud it belongs to.
    pub cloud: &'static str,
    /// Where Microsoft lists it (the endpoint-set IDs are those of Microsoft's endpoint web
    /// service, the same on the page and in its JSON).
    pub source: &'static str,
}

const WORLDWIDE: &str = "https://learn.microsoft.com/en-us/microsoft-365/enterprise/urls-and-ip-address-ranges (Exchange Online ID 1: outlook.office.com, outlook.office365.com on TCP 443; ID 2: outlook.office365.com, smtp.office365.com on TCP 587)";
const LEGACY_TLS: &str = "https://learn.microsoft.com/en-us/exchange/mail-flow-best-practices/opt-in-exchange-online-endpoint-for-legacy-tls-using-smtp-auth (the opt-in SMTP AUTH endpoint for TLS 1.0/1.1 clients)";
const GCC_HIGH: &str = "https://learn.microsoft.com/en-us/microsoft-365/enterprise/microsoft-365-u-s-government-gcc-high-endpoints (Exchange Online ID 1: outlook.office365.us on TCP 443; ID 5: outlook.office365.us on TCP 587)";
const GCC_HIGH_SMTP_VENDORS: &str = "not in Microsoft's GCC High endpoint list (which names outlook.office365.us for TCP 587); the SMTP host vendors' GCC High guides use, kept so that such entries are recognised";
const DOD: &str = "https://learn.microsoft.com/en-us/microsoft-365/enterprise/microsoft-365-u-s-government-dod-endpoints (Exchange Online ID 1: outlook-dod.office365.us, webmail.apps.mil on TCP 443; ID 4: the same hosts on TCP 587)";
const CHINA: &str = "https://learn.microsoft.com/en-us/microsoft-365/enterprise/urls-and-ip-address-ranges-21vianet (Exchange Online ID 1: partner.outlook.cn on TCP 443; ID 20: *.partner.outlook.cn on TCP 587) and https://learn.microsoft.com/en-us/previous-versions/office/office-365-api/api/o365-china-endpoints";
const GERMANY: &str = "https://learn.microsoft.com/en-us/microsoft-365/enterprise/microsoft-365-germany-endpoints (Exchange Online ID 1 and ID 3: outlook.office.de; Office 365 Germany is closed)";

/// Exchange Online's EWS hosts, worldwide and in the sovereign clouds (GCC, unlike GCC High,
/// uses the worldwide hosts).
pub const EWS_HOSTS: &[Host] = &[
    Host {
        name: "outlook.office365.com",
        cloud: "worldwide",
        source: WORLDWIDE,
    },
    Host {
        name: "outlook.office.com",
        cloud: "worldwide",
        source: WORLDWIDE,
    },
    Host {
        name: "outlook.office365.us",
        cloud: "US Government GCC High",
        source: GCC_HIGH,
    },
    Host {
        name: "outlook-dod.office365.us",
        cloud: "US Government DoD",
        source: DOD,
    },
    Host {
        name: "webmail.apps.mil",
        cloud: "US Government DoD",
        source: DOD,
    },
    Host {
        name: "partner.outlook.cn",
        cloud: "China (21Vianet)",
        source: CHINA,
    },
    Host {
        name: "outlook.office.de",
        cloud: "Germany (closed)",
        source: GERMANY,
    },
];

/// Exchange Online's SMTP AUTH client-submission hosts (TCP 587).
pub const SMTP_HOSTS: &[Host] = &[
    Host {
        name: "smtp.office365.com",
        cloud: "worldwide",
        source: WORLDWIDE,
    },
    Host {
        name: "outlook.office365.com",
        cloud: "worldwide",
        source: WORLDWIDE,
    },
    Host {
        name: "smtp-legacy.office365.com",
        cloud: "worldwide",
        source: LEGACY_TLS,
    },
    Host {
        name: "outlook.office365.us",
        cloud: "US Government GCC High",
        source: GCC_HIGH,
    },
    Host {
        name: "smtp.office365.us",
        cloud: "US Government GCC High",
        source: GCC_HIGH_SMTP_VENDORS,
    },
    Host {
        name: "outlook-dod.office365.us",
        cloud: "US Government DoD",
        source: DOD,
    },
    Host {
        name: "webmail.apps.mil",
        cloud: "US Government DoD",
        source: DOD,
    },
    // Microsoft lists *.partner.outlook.cn for TCP 587 (e.g. smtp.partner.outlook.cn).
    Host {
        name: "partner.outlook.cn",
        cloud: "China (21Vianet)",
        source: CHINA,
    },
    Host {
        name: "outlook.office.de",
        cloud: "Germany (closed)",
        source: GERMANY,
    },
];

/// The table entry `host` is (or is a sub-domain of), if any.
pub fn find(host: &str, table: &'static [Host]) -> Option<&'static Host> {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    table.iter().find(|h| {
        host == h.name
            || host
                .strip_suffix(h.name)
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// Whether `host` is an Exchange Online EWS endpoint.
pub fn is_ews_host(host: &str) -> bool {
    find(host, EWS_HOSTS).is_some()
}

/// Whether `host` is an Exchange Online SMTP AUTH endpoint.
pub fn is_smtp_host(host: &str) -> bool {
    find(host, SMTP_HOSTS).is_some()
}

fn set<'e>(entry: &'e Entry, key: &str) -> Option<&'e str> {
    entry.setting(key).filter(|v| !v.trim().is_empty())
}

/// K2C020's message before the block, during it, and after the shutdown: the same words for
/// every entry, so a config with the finding on each of 100,000 entries holds them once.
static EWS_ONLINE_MESSAGES: LazyLock<[String; 3]> = LazyLock::new(|| {
    let (block, shutdown) = (EWS_BLOCK_STARTS.date, EWS_SHUTDOWN.date);
    let lead = "this EWS entry targets Exchange Online";
    [
        format!(
            "{lead}: Microsoft starts blocking EWS in Exchange Online on {block} and shuts it down on {shutdown}"
        ),
        format!(
            "{lead}: Microsoft has been blocking EWS in Exchange Online since {block} (unless the tenant allow-lists the app) and shuts it down on {shutdown}"
        ),
        format!("{lead}: Microsoft shut EWS in Exchange Online down on {shutdown}"),
    ]
});

/// EWS rules: the retirement (K2C020) and Basic authentication (K2C022).
pub fn check_ews(entry: &Entry, options: LintOptions, out: &mut Vec<Diagnostic>) {
    let here = |d: Diagnostic| d.entry(entry.name.as_str()).at(Some(&entry.location));
    let url = set(entry, "URL");
    let audience = set(entry, "OAuth Resource Audience");
    let online = |v: Option<&str>| {
        v.and_then(values::url_host)
            .is_some_and(|h| is_ews_host(&h))
    };
    if !(online(url) || online(audience)) {
        return;
    }
    let period = if options.today < EWS_BLOCK_STARTS.date {
        0
    } else if options.today < EWS_SHUTDOWN.date {
        1
    } else {
        2
    };
    let mut d = Diagnostic::new(
        EWS_ONLINE,
        EWS_ONLINE_MESSAGES[period].as_str(),
        "on K2 5.8.1 or later, migrate Exchange Online mail to Microsoft Graph (Nintex: \"Migrate Exchange Web Services (EWS) for Exchange Online to Microsoft Graph\"); Exchange on-premises is not affected",
    );
    if period == 2 {
        d.severity = Severity::Error;
    }
    out.push(here(d));
    if set(entry, "Password").is_some() && set(entry, "OAuth Resource").is_none() {
        out.push(
            here(Diagnostic::new(
                EWS_BASIC_AUTH,
                format!(
                    "this EWS entry signs in to Exchange Online with a password (Basic authentication), which Exchange Online has refused since {}",
                    EWS_BASIC_AUTH_OFF.date
                ),
                "use OAuth: set OAuth Resource and OAuth Resource Audience=https://outlook.office365.com (or the sovereign cloud's host), User ID=<mailbox>, and unset Password",
            ))
            .key("Password"),
        );
    }
}

/// SMTP AUTH with Basic authentication against Exchange Online (K2C034).
pub fn check_smtp(entry: &Entry, options: LintOptions, out: &mut Vec<Diagnostic>) {
    let Some(host) = set(entry, "Host Name").filter(|h| is_smtp_host(h)) else {
        return;
    };
    let plain =
        set(entry, "Authentication").is_some_and(|a| a.trim().eq_ignore_ascii_case("plain"));
    if !plain && set(entry, "Password").is_none() {
        return;
    }
    let off = SMTP_BASIC_AUTH_OFF.date;
    let (when, severity) = if options.today < off {
        (
            format!(
                "Microsoft disables SMTP AUTH Basic authentication by default at the end of December 2026 (from {off}, MC786329)"
            ),
            Severity::Warning,
        )
    } else {
        (
            format!(
                "Microsoft has disabled SMTP AUTH Basic authentication by default since {off} (MC786329); mail fails with 550 5.7.30 unless the tenant re-enabled it"
            ),
            Severity::Error,
        )
    };
    let mut d = Diagnostic::new(
        SMTP_BASIC_AUTH_ONLINE,
        format!("this SMTP entry sends through Exchange Online ({}) with a user name and password: {when}", host.trim()),
        "K2's SMTP connection has no OAuth: on K2 5.8.1+ send Exchange Online mail through Microsoft Graph, or use one of Microsoft's alternatives (an inbound connector / SMTP relay on port 25, High Volume Email, Azure Communication Services Email); a tenant admin can re-enable SMTP AUTH until Microsoft's final removal date",
    )
    .entry(entry.name.as_str())
    .at(Some(&entry.location))
    .key("Authentication");
    d.severity = severity;
    out.push(d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_dates() {
        assert!(is_ews_host("outlook.office365.com"));
        assert!(is_ews_host("OUTLOOK.OFFICE365.US"));
        assert!(is_ews_host("webmail.apps.mil"));
        assert!(is_ews_host("partner.outlook.cn"));
        assert!(!is_ews_host("evil-outlook.office365.com.example"));
        assert!(!is_ews_host("myoutlook.office365.com"));
        assert!(is_smtp_host("smtp.office365.com"));
        assert!(is_smtp_host("smtp-legacy.office365.com"));
        assert!(is_smtp_host("smtp.office365.us"));
        assert!(!is_smtp_host("smtp.example.com"));
        assert!(DATES.windows(2).all(|w| w[0].date <= w[1].date));
    }

    #[test]
    fn docs_name_every_host_and_its_source() {
        let docs = include_str!("../../../../docs/lint-rules.md");
        for host in EWS_HOSTS.iter().chain(SMTP_HOSTS) {
            assert!(docs.contains(&format!("`{}`", host.name)), "{}", host.name);
            let source = host.source.split_whitespace().next().unwrap_or_default();
            if source.starts_with("https://") {
                assert!(docs.contains(&format!("<{source}>")), "{source}");
            }
        }
    }
}
