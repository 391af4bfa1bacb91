//! Checks of single values against their type.

/// How a boolean was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoolSpelling {
    /// `True` / `False` in any case.
    Standard,
    /// `yes` / `no`: .NET's connection-string builders accept it, `bool.Parse` does not.
    YesNo,
    /// Not a boolean.
    Invalid,
}

/// Classifies a boolean value (surrounding white space allowed, as .NET trims it).
pub fn boolean(value: &str) -> BoolSpelling {
    let v = value.trim().to_ascii_lowercase();
    match v.as_str() {
        "true" | "false" => BoolSpelling::Standard,
        "yes" | "no" => BoolSpelling::YesNo,
        _ => BoolSpelling::Invalid,
    }
}

/// Why a URL is not acceptable, or `Ok(is_https)`.
pub fn url(value: &str) -> Result<bool, String> {
    let parsed =
        url::Url::parse(value.trim()).map_err(|e| format!("{value:?} is not a valid URL ({e})"))?;
    match parsed.scheme() {
        "https" | "http" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(parsed.scheme() == "https")
        }
        "https" | "http" => Err(format!("{value:?} has no host name")),
        other => Err(format!(
            "{value:?} uses the {other}: scheme; expected https://"
        )),
    }
}

/// The host of a URL value, lower-cased, if it parses.
pub fn url_host(value: &str) -> Option<String> {
    url::Url::parse(value.trim())
        .ok()?
        .host_str()
        .map(str::to_ascii_lowercase)
}

/// Checks K2's poll interval: digits with an optional `S`, `M`, `H` or `D` suffix; a bare
/// number means seconds. Returns the interval in seconds.
pub fn poll_interval(value: &str) -> Result<u64, String> {
    let v = value.trim();
    let (digits, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&v[..i], c.to_ascii_uppercase()),
        _ => (v, 'S'),
    };
    let factor = match unit {
        'S' => 1,
        'M' => 60,
        'H' => 3600,
        'D' => 86400,
        other => {
            return Err(format!(
                "{value:?}: unknown unit {other:?} (use S, M, H or D)"
            ));
        }
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{value:?} is not a whole number followed by S, M, H or D"
        ));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{value:?} is too large"))?;
    if n == 0 {
        return Err(format!("{value:?} is zero; K2 would poll without pause"));
    }
    n.checked_mul(factor)
        .ok_or_else(|| format!("{value:?} is too large"))
}

/// A whole number in `min..=max`.
pub fn number(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number"))?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is outside {min}-{max}"))
    }
}

/// The allowed spelling matching `value` case-insensitively.
pub fn choice<'a>(value: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .copied()
        .find(|a| a.eq_ignore_ascii_case(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_intervals() {
        assert_eq!(poll_interval("30S"), Ok(30));
        assert_eq!(poll_interval("2M"), Ok(120));
        assert_eq!(poll_interval("1h"), Ok(3600));
        assert_eq!(poll_interval("1D"), Ok(86400));
        assert_eq!(poll_interval("45"), Ok(45));
        for bad in [
            "",
            "S",
            "30X",
            "1.5M",
            "-1",
            "0",
            "3 0S",
            "99999999999999999999",
        ] {
            assert!(poll_interval(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            url("https://outlook.office365.com/EWS/Exchange.asmx"),
            Ok(true)
        );
        assert_eq!(url("http://mail.local/EWS/Exchange.asmx"), Ok(false));
        assert!(url("outlook.office365.com/EWS").is_err());
        assert!(url("ftp://x/y").is_err());
        assert_eq!(
            url_host("https://Outlook.Office365.com/x").as_deref(),
            Some("outlook.office365.com")
        );
    }

    #[test]
    fn numbers_choices_booleans() {
        assert_eq!(number("587", 1, 65535), Ok(587));
        assert!(number("70000", 1, 65535).is_err());
        assert!(number("25a", 1, 65535).is_err());
        assert_eq!(
            choice("starttls", &["StartTls", "BootTls"]),
            Some("StartTls")
        );
        assert_eq!(choice("Ssl", &["StartTls"]), None);
        assert_eq!(boolean(" TRUE "), BoolSpelling::Standard);
        assert_eq!(boolean("no"), BoolSpelling::YesNo);
        assert_eq!(boolean("1"), BoolSpelling::Invalid);
    }
}
