use super::*;

/// Every string of `lengths` characters from `alphabet` (exhaustive tests of the special cases).
pub(super) fn every_string(
    alphabet: &[char],
    lengths: std::ops::RangeInclusive<u32>,
) -> impl Iterator<Item = String> + '_ {
    lengths.flat_map(move |len| {
        (0..alphabet.len().pow(len)).map(move |mut n| {
            let mut text = String::new();
            for _ in 0..len {
                text.push(alphabet[n % alphabet.len()]);
                n /= alphabet.len();
            }
            text
        })
    })
}

fn map(s: &str) -> Vec<(String, String)> {
    let cs = ConnectionString::parse(s).unwrap();
    let mut v: Vec<_> = cs
        .effective()
        .into_iter()
        .map(|(k, v)| (fold_key(k), v.to_owned()))
        .collect();
    v.sort();
    v
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

#[test]
fn reads_the_k2_oauth_example() {
    let cs = ConnectionString::parse(
        "Autodiscover=False;OAuth Resource=EWS;OAuth Resource Audience=https://outlook.office365.com;User ID=k2@denallix.com",
    )
    .unwrap();
    assert_eq!(cs.get("autodiscover"), Some("False"));
    assert_eq!(cs.get("OAUTH RESOURCE"), Some("EWS"));
    assert_eq!(cs.get("user id"), Some("k2@denallix.com"));
    assert_eq!(cs.get("Password"), None);
}

#[test]
fn grammar_edge_cases_match_dotnet() {
    // Each expectation was observed with Mono's DbConnectionStringBuilder.
    assert_eq!(map("a=1;b=2;A=3"), pairs(&[("a", "3"), ("b", "2")]));
    assert_eq!(map("k==ey=v"), pairs(&[("k=ey", "v")]));
    assert_eq!(map("a=\"\""), pairs(&[("a", "")]));
    assert_eq!(map("a=;b=1"), pairs(&[("b", "1")]));
    assert_eq!(map("a=1;a="), pairs(&[]));
    assert_eq!(map("a = = b"), pairs(&[("a", "= b")]));
    assert_eq!(map("a=1;;;b=2 ; "), pairs(&[("a", "1"), ("b", "2")]));
    assert_eq!(map("a=\"x\"\"y\""), pairs(&[("a", "x\"y")]));
    assert_eq!(map("a='it''s'"), pairs(&[("a", "it's")]));
    assert_eq!(
        map("  Key With Space  =  value with space  "),
        pairs(&[("key with space", "value with space")])
    );
    assert_eq!(map("a=1\0"), pairs(&[("a", "1")]));
    assert_eq!(map(" ;  ; "), pairs(&[]));
    assert_eq!(map("\u{130}=1"), pairs(&[("\u{130}", "1")]));
    assert_eq!(map("\u{3a3}A=1"), pairs(&[("\u{3c3}a", "1")]));
    assert_eq!(map("a=b\u{180e}"), pairs(&[("a", "b\u{180e}")]));
}

#[test]
fn rejects_what_dotnet_rejects_at_the_same_index() {
    for (input, index) in [
        ("=a=1", 0),
        ("a='x'y", 0),
        ("a=x'", 0),
        ("a=1;b", 4),
        ("a=1;b=\"open", 4),
        ("a=1; \u{1}b=2", 4),
        ("a=1;\u{0} x", 6),
        ("é=1;b=x\"", 4),
        ("\u{1F600}=1;b='", 5),
    ] {
        let err = ConnectionString::parse(input).unwrap_err();
        assert_eq!(err.index, index, "input {input:?}");
    }
}

#[test]
fn spans_point_at_the_source() {
    let text = "Host Name = smtp.example.com ; Port='25';Password=\"p;w\"";
    let cs = ConnectionString::parse(text).unwrap();
    let spans: Vec<_> = cs
        .pairs()
        .iter()
        .map(|p| (&text[p.key_span.clone()], &text[p.value_span.clone()]))
        .collect();
    assert_eq!(
        spans,
        [
            ("Host Name", "smtp.example.com"),
            ("Port", "'25'"),
            ("Password", "\"p;w\"")
        ]
    );
}

#[test]
fn setting_an_existing_key_rewrites_only_its_value() {
    let cs =
        ConnectionString::parse("Autodiscover=False; URL = 'https://a/EWS' ;User ID=x").unwrap();
    let changed = cs.with_value("url", "https://b/EWS/Exchange.asmx").unwrap();
    assert_eq!(
        changed.as_str(),
        "Autodiscover=False; URL = https://b/EWS/Exchange.asmx ;User ID=x"
    );
}

#[test]
fn setting_a_new_key_copies_the_separator_style() {
    let cs = ConnectionString::parse("a=1; b=2").unwrap();
    assert_eq!(
        cs.with_value("Poll Interval", "30S").unwrap().as_str(),
        "a=1; b=2; Poll Interval=30S"
    );
    let cs = ConnectionString::parse("a=1;").unwrap();
    assert_eq!(
        cs.with_value("b", "x y").unwrap().as_str(),
        "a=1;b=\"x y\";"
    );
    let cs = ConnectionString::parse("").unwrap();
    assert_eq!(cs.with_value("k=ey", "v").unwrap().as_str(), "k==ey=v");
}

#[test]
fn setting_overrides_duplicates_and_removals() {
    let cs = ConnectionString::parse("a=1;b=2;a=").unwrap();
    let changed = cs.with_value("A", "3").unwrap();
    assert_eq!(changed.as_str(), "a=1;b=2;a=3");
    assert_eq!(changed.get("a"), Some("3"));
}

#[test]
fn removing_a_key_removes_every_occurrence_and_one_separator() {
    let cs = ConnectionString::parse("x=1;a=2; y=3;A=4").unwrap();
    assert_eq!(cs.without_key("a").as_str(), "x=1; y=3");
    let cs = ConnectionString::parse("a=1").unwrap();
    assert_eq!(cs.without_key("a").as_str(), "");
    let cs = ConnectionString::parse("a=1;b=2;").unwrap();
    assert_eq!(cs.without_key("b").as_str(), "a=1;");
    assert_eq!(cs.without_key("missing"), cs);
}

#[test]
fn values_are_quoted_like_dotnet() {
    for (value, written) in [
        ("plain", "plain"),
        ("", "\"\""),
        ("has space", "\"has space\""),
        ("a=b", "\"a=b\""),
        ("say \"hi\"", "'say \"hi\"'"),
        ("it's", "\"it's\""),
        ("both ' and \"", "\"both ' and \"\"\""),
        ("semi;colon", "\"semi;colon\""),
    ] {
        assert_eq!(format_value(value), written);
        let reread = ConnectionString::parse(format!("k={written}")).unwrap();
        assert_eq!(reread.get("k"), Some(value), "round trip of {value:?}");
    }
}

#[test]
fn invalid_keys_and_values_are_refused() {
    let cs = ConnectionString::parse("").unwrap();
    assert!(cs.with_value(" lead", "x").is_err());
    assert!(cs.with_value("trail ", "x").is_err());
    assert!(cs.with_value(";semi", "x").is_err());
    assert!(cs.with_value("ctl\u{1}", "x").is_err());
    assert!(cs.with_value("", "x").is_err());
    assert!(cs.with_value("k", "nul\0").is_err());
}

#[test]
fn dotnet_normal_form() {
    let cs = ConnectionString::parse("Data Source=.;a=1;A=2;x=").unwrap();
    assert_eq!(cs.to_dotnet_string(), "data source=.;a=2");
}

#[test]
fn debug_output_never_shows_values() {
    let cs = ConnectionString::parse("User ID=a;Password=hunter2").unwrap();
    let debug = format!("{cs:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("Password"));
}

#[test]
fn duplicate_keys_are_reported_once() {
    let cs = ConnectionString::parse("a=1;A=2;a=3;b=1;c=;c=").unwrap();
    assert_eq!(cs.duplicate_keys(), ["A"]);
}

#[test]
fn same_key_is_equality_of_folded_keys() {
    // `same_key` compares without allocating; it must agree with `fold_key` on every pair,
    // ASCII or not (the Kelvin sign and dotted I stay themselves; ß has no single upper case).
    let keys = [
        "Data Source",
        "data source",
        "DATA SOURCE",
        "Data  Source",
        "User ID",
        "user id ",
        "\u{212a}ey",
        "kEY",
        "Key",
        "\u{130}d",
        "id",
        "İD",
        "straße",
        "STRASSE",
        "Straße",
        "ÄÖÜ",
        "äöü",
        "Σίσυφος",
        "ΣΊΣΥΦΟΣ",
        "𐐀x",
        "𐐨X",
        "a\u{212a}",
        "ak",
        "aK",
        "ab",
        "abÄ",
        "abä",
        "ä",
        "a",
        "Ⱥb",
        "ⱥB",
        "",
    ];
    for a in keys {
        for b in keys {
            assert_eq!(same_key(a, b), fold_key(a) == fold_key(b), "{a:?} {b:?}");
        }
    }
}

#[test]
fn ascii_keys_fold_as_character_by_character() {
    // `fold_key` lower-cases ASCII keys in one go; that must be what `fold_char` does to each
    // character (every ASCII character, including controls and punctuation).
    let all: String = (0u8..0x80).map(char::from).collect();
    let by_char: String = all.chars().map(fold_char).collect();
    assert_eq!(fold_key(&all), by_char);
    assert_eq!(fold_key("Data Source=;X"), "data source=;x");
    // Not ASCII: the slow path, which leaves the Kelvin sign alone.
    assert_eq!(fold_key("\u{212a}EY"), "\u{212a}ey");
}

/// The byte-by-byte check of ASCII keys says what the character rules say (.NET's
/// `ConnectionStringValidKeyPattern`: not empty, no leading `;` or white space, no trailing
/// white space, no control character), for every key of up to three characters from the
/// characters where bytes and characters could disagree (U+000B is white space to Rust's
/// `char` but not to `u8::is_ascii_whitespace`).
#[test]
fn ascii_key_validation_agrees_with_the_character_rules() {
    const ALPHABET: [char; 10] = [
        ' ', '\t', '\u{0B}', '\u{0C}', ';', 'a', '\u{1F}', '\u{7F}', '=', 'é',
    ];
    let by_chars = |key: &str| {
        !(key.is_empty()
            || key.starts_with(';')
            || key.starts_with(char::is_whitespace)
            || key.ends_with(char::is_whitespace)
            || key.chars().any(char::is_control))
    };
    for key in every_string(&ALPHABET, 0..=3) {
        assert_eq!(validate_key(&key).is_ok(), by_chars(&key), "{key:?}");
    }
}
