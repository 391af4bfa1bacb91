//! The `http(s)://host[:port][/...]` URLs of K2's mail settings, read without the `url` crate.
//!
//! Lint reads the scheme and host of every `URL` and `OAuth Resource Audience` value, and with
//! the `url` crate (a full WHATWG parse: IDNA, percent-decoding, a serialized copy) that was a
//! sixth of `list` and `lint` at 100,000 entries. Nearly every such value is plain printable
//! ASCII with a letters-digits-hyphens host, for which WHATWG's answer is simply "the scheme,
//! and the host lower-cased". [`plain`] recognises exactly that form and declines everything
//! else — user info, IPv4/IPv6 hosts, percent signs, backslashes, punycode labels, odd ports,
//! white space, non-ASCII — which the callers hand to the `url` crate as before. A unit test
//! compares the two on generated strings: whenever [`plain`] answers, the `url` crate agrees.

/// An `http` or `https` URL in the plain form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlainHttpUrl<'a> {
    /// Whether the scheme is `https` (in any case).
    pub https: bool,
    /// The host as written: letters, digits, hyphens and dots, not yet lower-cased.
    pub host: &'a str,
}

/// `value` read as an `http(s)` URL if it is in the plain form, or `None` if the `url` crate
/// has to decide (which includes every invalid URL).
pub fn plain(value: &str) -> Option<PlainHttpUrl<'_>> {
    // WHATWG drops tabs and line breaks anywhere and trims controls and spaces, and routes
    // non-ASCII through IDNA or percent-encoding: only printable ASCII without spaces here.
    if !value.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return None;
    }
    // The scheme ends at the first colon (a substring search for "://" costs more than the
    // rest of this function on a short value).
    let (scheme, rest) = value.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    let https = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // User info, an IPv6 literal, percent-encoding, and a backslash (a slash to WHATWG).
    if authority
        .bytes()
        .any(|b| matches!(b, b'@' | b'[' | b']' | b'%' | b'\\'))
    {
        return None;
    }
    let host = match authority.split_once(':') {
        Some((host, port)) if plain_port(port) => host,
        Some(_) => return None,
        None => authority,
    };
    plain_host(host).then_some(PlainHttpUrl { https, host })
}

/// One to five digits, at most 65535 (an empty or out-of-range port is left to the crate).
fn plain_port(port: &str) -> bool {
    (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|n| n <= 65_535)
}

/// A host WHATWG only lower-cases: non-empty labels of letters, digits and hyphens, none a
/// punycode label (`xn--`, which IDNA validates), and a last label that does not start with a
/// digit (WHATWG reads a host ending in a number as an IPv4 address).
fn plain_host(host: &str) -> bool {
    let mut labels = host.split('.').peekable();
    while let Some(label) = labels.next() {
        let bytes = label.as_bytes();
        let Some(first) = bytes.first() else {
            return false;
        };
        if !bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
            || bytes
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"))
            || (labels.peek().is_none() && first.is_ascii_digit())
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn the_urls_k2_is_configured_with_take_the_plain_path() {
        for (value, https, host) in [
            (
                "https://outlook.office365.com/EWS/Exchange.asmx",
                true,
                "outlook.office365.com",
            ),
            (
                "https://outlook.office365.com",
                true,
                "outlook.office365.com",
            ),
            (
                "HTTP://Mail.Denallix.local:8080/ews",
                false,
                "Mail.Denallix.local",
            ),
            (
                "https://outlook.office365.us?x#y",
                true,
                "outlook.office365.us",
            ),
        ] {
            assert_eq!(
                plain(value).map(|p| (p.https, p.host)),
                Some((https, host)),
                "{value}"
            );
        }
    }

    #[test]
    fn anything_unusual_is_left_to_the_url_crate() {
        for value in [
            "https://user@host/",
            "https://[::1]/",
            "https://10.0.0.1/",
            "https://host.123/",
            "https://0x7f.1/",
            "https://xn--bcher-kva.example/",
            "https://ho%41st/",
            "https://host\\path",
            "https://host:/",
            "https://host:65536/",
            "https://host:8a/",
            "https:host",
            "https:///host",
            "https://a..b/",
            "https://host./",
            "https://ho st/",
            "https://ho\tst/",
            "https://hôst/",
            "https://ho_st/",
            "ftp://host/",
            "outlook.office365.com/EWS",
        ] {
            assert_eq!(plain(value), None, "{value}");
        }
    }

    /// The oracle: on every generated string the plain path answers, the `url` crate gives the
    /// same scheme and host.
    #[test]
    fn the_plain_path_agrees_with_the_url_crate_wherever_it_answers() {
        const PIECES: &[&str] = &[
            "http", "https", "HTTPS", "://", ":", "/", "//", "a", "Z", "0", "9", "x", "xn--",
            "xN--", "0x", ".", "-", "443", "65535", "65536", "?", "#", "@", "%41", "\\", "[", "]",
            " ", "\t", "é", "_", "outlook", "com", "1.2.3.4", "ß", "\u{ad}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(state >> 33).unwrap() % n
        };
        let mut answered = 0;
        for round in 0..200_000 {
            let mut value = String::new();
            // Half the strings start like a URL, so the host and port rules get exercised.
            if round % 2 == 0 {
                value.push_str(["http://", "https://", "HTTPs://"][next(3)]);
            }
            for _ in 0..=next(8) {
                value.push_str(PIECES[next(PIECES.len())]);
            }
            let Some(fast) = plain(&value) else { continue };
            answered += 1;
            let full = url::Url::parse(&value)
                .unwrap_or_else(|e| panic!("{value:?}: plain path answered, url crate: {e}"));
            assert_eq!(
                full.scheme(),
                if fast.https { "https" } else { "http" },
                "{value:?}"
            );
            assert_eq!(
                full.host_str(),
                Some(fast.host.to_ascii_lowercase().as_str()),
                "{value:?}"
            );
        }
        // The comparison means something only if the plain path answered often.
        assert!(answered > 5_000, "the plain path answered {answered} times");
    }
}
