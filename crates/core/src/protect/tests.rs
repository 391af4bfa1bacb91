use std::path::Path;

use super::*;
use crate::protect::provider::Declared;

const KEY_XML: &str = include_str!("../../../../tests/fixtures/keys/k2-test-key.xml");
const OTHER_XML: &str = include_str!("../../../../tests/fixtures/keys/other-key.xml");
const PLAIN: &str = "<connectionStrings>\n  <add name=\"HostserverDB\" connectionString=\"Data Source=x;Password=s3cret\" />\n</connectionStrings>";

fn keys(xml: &str) -> KeyStore {
    KeyStore {
        rsa: Some(Arc::new(
            RsaKey::from_text(Path::new("k.xml"), xml).unwrap(),
        )),
        os_store: false,
    }
}

fn spec(oaep: bool) -> ProviderSpec {
    let mut spec = provider::providers_for_tests("K2ConfigurationKey");
    spec.use_oaep = oaep;
    spec
}

fn element(scheme: Scheme, sealed: &Sealed) -> String {
    let Scheme::Rsa {
        data, transport, ..
    } = scheme
    else {
        panic!()
    };
    xmlenc::render_rsa(
        data,
        transport,
        sealed.key_cipher.as_deref().unwrap(),
        &sealed.cipher,
        "",
        "  ",
        "\n",
    )
}

#[test]
fn sealed_sections_unseal_for_every_algorithm_and_padding() {
    let k = keys(KEY_XML);
    for data in [
        DataAlgorithm::TripleDes,
        DataAlgorithm::Aes128,
        DataAlgorithm::Aes192,
        DataAlgorithm::Aes256,
    ] {
        for oaep in [false, true] {
            let scheme = Scheme::Rsa {
                data,
                transport: KeyTransport::Rsa15,
                oaep,
            };
            let sealed = seal(&spec(oaep), &k, scheme, PLAIN).unwrap();
            let xml = element(scheme, &sealed);
            let parsed = xmlenc::parse(&xml, 0..xml.len()).unwrap();
            // Decided by the provider's useOAEP, with the other padding tried as fallback.
            for provider_says_oaep in [false, true] {
                let (plain, found) = unseal(&spec(provider_says_oaep), &k, &parsed).unwrap();
                assert_eq!(&*plain, PLAIN);
                assert_eq!(found, scheme, "{data:?} oaep={oaep}");
            }
        }
    }
}

#[test]
fn fresh_session_keys_and_ivs_every_time() {
    let k = keys(KEY_XML);
    let scheme = default_scheme(&spec(false), None).unwrap();
    let a = seal(&spec(false), &k, scheme, PLAIN).unwrap();
    let b = seal(&spec(false), &k, scheme, PLAIN).unwrap();
    assert_ne!(a.cipher, b.cipher);
    assert_ne!(a.key_cipher, b.key_cipher);
    assert_eq!(
        scheme,
        Scheme::Rsa {
            data: DataAlgorithm::TripleDes,
            transport: KeyTransport::Rsa15,
            oaep: false
        }
    );
    let mut fips = spec(false);
    fips.use_fips = true;
    assert!(matches!(
        default_scheme(&fips, None).unwrap(),
        Scheme::Rsa {
            data: DataAlgorithm::Aes256,
            ..
        }
    ));
}

#[test]
fn wrong_keys_and_missing_keys_are_explained() {
    let scheme = default_scheme(&spec(false), None).unwrap();
    let sealed = seal(&spec(false), &keys(KEY_XML), scheme, PLAIN).unwrap();
    let xml = element(scheme, &sealed);
    let parsed = xmlenc::parse(&xml, 0..xml.len()).unwrap();
    let err = unseal(&spec(false), &keys(OTHER_XML), &parsed).unwrap_err();
    assert!(
        err.starts_with("cannot decrypt with key file k.xml"),
        "{err}"
    );
    let err = unseal(&spec(false), &KeyStore::default(), &parsed).unwrap_err();
    assert!(err.contains("pass --key-file"), "{err}");
    assert!(!err.contains("s3cret"));
}

#[test]
fn dpapi_and_unknown_providers_say_what_to_do() {
    let mut dpapi = spec(false);
    dpapi.kind = ProviderKind::Dpapi;
    let data = xmlenc::EncryptedDataXml {
        data_algorithm: None,
        key: None,
        cipher: vec![1, 2, 3],
        cipher_value: 0..0,
    };
    let err = unseal(&dpapi, &KeyStore::default(), &data).unwrap_err();
    if cfg!(windows) {
        assert!(err.contains("DPAPI"), "{err}");
    } else {
        assert!(err.contains("never leave the Windows machine"), "{err}");
    }
    let mut other = spec(false);
    other.kind = ProviderKind::Other("Acme.Provider".into());
    other.declared = Declared::MachineDefault;
    assert!(
        unseal(&other, &KeyStore::default(), &data)
            .unwrap_err()
            .contains("not supported")
    );
}
