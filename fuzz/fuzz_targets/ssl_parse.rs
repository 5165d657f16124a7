//! Certificate and key parsing (Qt: `QSslCertificate::fromData`,
//! `QSslKey`) on bytes the input chooses, every accessor on what parses,
//! and chain verification over what parses. Bad input must give an
//! error, never a panic; and what parses round-trips:
//! - `from_der(c.to_der()) == c` and `from_pem(c.to_pem()) == c`;
//! - `SslKey::from_der(k.to_der()) == k`, `from_pem(k.to_pem()) == k`;
//! - `verify_chain` answers for any chain, roots, host name and time.
//!
//! Input: one selector byte, then the bytes to parse (the host name for
//! verification is taken from the front of them).

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use sigloop::ssl::{
    verify_chain, DigestAlgorithm, SslCertificate, SslKey, SubjectInfo, VerifyPurpose,
};
use sigloop_fuzz::{CappedAlloc, Input};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

const INFOS: [SubjectInfo; 9] = [
    SubjectInfo::Organization,
    SubjectInfo::CommonName,
    SubjectInfo::LocalityName,
    SubjectInfo::OrganizationalUnitName,
    SubjectInfo::CountryName,
    SubjectInfo::StateOrProvinceName,
    SubjectInfo::DistinguishedNameQualifier,
    SubjectInfo::SerialNumber,
    SubjectInfo::EmailAddress,
];

/// Every accessor answers, and both encodings round-trip.
fn exercise(certificate: &SslCertificate) {
    let back = SslCertificate::from_der(certificate.to_der()).expect("DER round trip");
    assert_eq!(&back, certificate);
    let back = SslCertificate::from_pem(certificate.to_pem().as_bytes()).expect("PEM round trip");
    assert_eq!(&back, certificate);
    let _ = (certificate.version(), certificate.serial_number());
    for info in INFOS {
        let _ = (certificate.subject_info(info), certificate.issuer_info(info));
    }
    let _ = certificate.subject_info_attributes();
    let _ = certificate.issuer_info_attributes();
    let _ = (certificate.subject_display_name(), certificate.issuer_display_name());
    let _ = certificate.subject_alternative_names();
    let _ = (certificate.effective_date(), certificate.expiry_date());
    let _ = certificate.digest(DigestAlgorithm::default());
    let _ = certificate.digest(DigestAlgorithm::Sha512);
    let _ = certificate.is_self_signed();
    if let Ok(key) = certificate.public_key() {
        exercise_key(&key);
    }
    let _ = format!("{certificate:?}");
}

fn exercise_key(key: &SslKey) {
    let _ = (key.algorithm(), key.key_type(), key.length(), format!("{key:?}"));
    assert_eq!(&SslKey::from_der(key.to_der()).expect("key DER round trip"), key);
    assert_eq!(&SslKey::from_pem(key.to_pem().as_bytes()).expect("key PEM round trip"), key);
}

fn verify(chain: &[SslCertificate], host: &str, selector: u8) {
    let purpose = match selector % 3 {
        0 => VerifyPurpose::Any,
        1 => VerifyPurpose::Server,
        _ => VerifyPurpose::Client,
    };
    // Each certificate once as the only root, and no roots at all.
    let now = UNIX_EPOCH + Duration::from_secs(u64::from(selector) * 40_000_000);
    let _ = verify_chain(chain, &[], Some(host), purpose, u32::from(selector >> 4), now);
    for root in chain {
        let roots = std::slice::from_ref(root);
        let _ = verify_chain(chain, roots, Some(host), purpose, 0, now);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let selector = input.byte();
    let host_len = usize::from(input.byte() % 64);
    let host = String::from_utf8_lossy(input.take(host_len)).into_owned();
    let rest = input.rest();
    match selector % 4 {
        0 => {
            if let Ok(chain) = SslCertificate::list_from_der(rest) {
                chain.iter().for_each(exercise);
                verify(&chain, &host, selector);
            }
        }
        1 => {
            if let Ok(chain) = SslCertificate::list_from_pem(rest) {
                chain.iter().for_each(exercise);
                verify(&chain, &host, selector);
            }
        }
        2 => {
            if let Ok(key) = SslKey::from_der(rest) {
                exercise_key(&key);
            }
        }
        _ => {
            if let Ok(key) = SslKey::from_pem(rest) {
                exercise_key(&key);
            }
        }
    }
});
