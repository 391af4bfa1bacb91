//! Checks of single values against their type.

use std::borrow::Cow;

use super::http_url;

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
    if let Some(plain) = http_url::plain(value.trim()) {
        return Ok(plain.https);
    }
    let parsed = url::Url::parse(value.trim())
        .map_err(|e| format!("\"{value}\" is not a valid URL ({e})"))?;
    match parsed.scheme() {
        "https" | "http" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
            Ok(parsed.scheme() == "https")
        }
        "https" | "http" => Err(format!("\"{value}\" has no host name")),
        other => Err(format!(
            "\"{value}\" uses the {other}: scheme; expected https://"
        )),
    }
}

/// The host of a URL value, lower-cased, if it parses.
pub fn url_host(value: &str) -> Option<Cow<'_, str>> {
    if let Some(plain) = http_url::plain(value.trim()) {
        return Some(if plain.host.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(plain.host.to_ascii_lowercase())
        } else {
            Cow::Borrowed(plain.host)
        });
    }
    url::Url::parse(value.trim())
        .ok()?
        .host_str()
        .map(|host| Cow::Owned(host.to_ascii_lowercase()))
}

/// Reads K2's poll interval as the vendor's parser does (`PollIntervalTime` in K2's
/// `ExchangeWebServicesConnectionStringBuilder`, public source `k2field/SC.ConnectionStringEditor`):
/// if the last character is not a digit it is the unit — `S`, `M`, `H` or `D`, case-sensitive,
/// anything else throws `ArgumentOutOfRangeException` — and the rest is read by `double.Parse`
/// (so `1.5M` is 90 seconds and `2m` throws); `TimeSpan.FromSeconds` etc. then throw on a
/// non-finite or too large number. A zero or negative interval parses but makes no sense for a
/// polling timer, so it is refused too. Returns the interval in seconds (to the millisecond).
pub fn poll_interval(value: &str) -> Result<f64, String> {
    let Some(last) = value.chars().last() else {
        return Err("is empty (K2: IndexOutOfRangeException); write e.g. 30S".to_owned());
    };
    let (number, unit) = if last.is_ascii_digit() {
        (value, 'S')
    } else {
        (&value[..value.len() - last.len_utf8()], last)
    };
    let factor = match unit {
        'S' => 1.0,
        'M' => 60.0,
        'H' => 3600.0,
        'D' => 86400.0,
        other if matches!(other.to_ascii_uppercase(), 'S' | 'M' | 'H' | 'D') => {
            return Err(format!(
                "\"{value}\": the unit is case-sensitive, \"{other}\" throws in K2 (ArgumentOutOfRangeException); write \"{}\"",
                other.to_ascii_uppercase()
            ));
        }
        other => {
            return Err(format!(
                "\"{value}\": unknown unit \"{other}\" (K2: ArgumentOutOfRangeException; use S, M, H or D)"
            ));
        }
    };
    let n = dotnet_double(number).ok_or_else(|| {
        format!("\"{value}\": \"{number}\" is not a number (K2: FormatException from double.Parse)")
    })?;
    // TimeSpan.FromSeconds & co.: milliseconds, rounded half away from zero, within Int64 ticks.
    let millis = n * factor * 1000.0;
    if !millis.is_finite() || millis.abs() + 0.5 > 922_337_203_685_477.0 {
        return Err(format!(
            "\"{value}\" is out of range (K2: OverflowException from TimeSpan)"
        ));
    }
    let seconds = (millis + 0.5_f64.copysign(millis)).trunc() / 1000.0;
    if seconds <= 0.0 {
        return Err(format!(
            "\"{value}\" is not a positive interval; K2 would poll without pause"
        ));
    }
    Ok(seconds)
}

/// `double.Parse(s)` with `NumberStyles.Float | AllowThousands` and the invariant (or en-US)
/// culture: white space around, a leading sign, digits with `,` group separators after the
/// first digit, a `.` fraction, an exponent. `NaN` and `Infinity` come back as such.
fn dotnet_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' '));
    match t {
        "NaN" => return Some(f64::NAN),
        "Infinity" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" => return Some(f64::NEG_INFINITY),
        _ => {}
    }
    let mut clean = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    if let Some(&c) = chars.peek()
        && (c == '+' || c == '-')
    {
        clean.push(c);
        chars.next();
    }
    let mut digits = 0;
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            digits += 1;
            clean.push(c);
        } else if c != ',' || digits == 0 {
            break;
        }
        chars.next();
    }
    if chars.peek() == Some(&'.') {
        clean.push('.');
        chars.next();
        while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit()) {
            digits += 1;
            clean.push(c);
            chars.next();
        }
    }
    if digits == 0 {
        return None;
    }
    if let Some(&e) = chars.peek().filter(|c| matches!(c, 'e' | 'E')) {
        clean.push(e);
        chars.next();
        if let Some(&c) = chars.peek().filter(|c| matches!(c, '+' | '-')) {
            clean.push(c);
            chars.next();
        }
        let mut exp = 0;
        while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit()) {
            exp += 1;
            clean.push(c);
            chars.next();
        }
        if exp == 0 {
            return None;
        }
    }
    if chars.next().is_some() {
        return None;
    }
    clean.parse().ok()
}

/// A whole number in `min..=max`.
pub fn number(value: &str, min: i64, max: i64) -> Result<i64, String> {
    let n: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("\"{value}\" is not a whole number"))?;
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
    fn poll_intervals_as_the_vendor_parses_them() {
        for (v, secs) in [
            ("30S", 30.0),
            ("2M", 120.0),
            ("1H", 3600.0),
            ("1D", 86400.0),
            ("45", 45.0),
            ("1.5M", 90.0),
            (".5M", 30.0),
            ("5.S", 5.0),
            ("1e1S", 10.0),
            ("1,000S", 1000.0),
            ("2 M", 120.0),
            ("+3H", 10800.0),
            ("0.0005S", 0.001),
        ] {
            assert_eq!(poll_interval(v), Ok(secs), "{v}");
        }
        for bad in [
            "", "S", "2m", "1h", "30X", "-1", "0", "0S", "3 0S", "1.5.M", ",5S", "1e", "NaN",
            "Infinity", "9e99D", "2M ", " ", "5.",
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
