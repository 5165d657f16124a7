//! `SslCertificate` and `SslKey` on the test PKI: reading PEM/DER/files,
//! Qt's field accessors, and bad input giving errors, not panics.
//!
//! Expected values for Qt-specific formats (serial numbers, the order of
//! repeated attributes and alternative names) are what a real Qt 6.11
//! (PySide6) returned for certificates of the same shape.

mod support;

use std::time::{Duration, UNIX_EPOCH};

use sigloop::ssl::{
    AlternativeNameType, DigestAlgorithm, KeyAlgorithm, KeyType, SslCertificate, SslKey,
    SslParseError, SubjectInfo,
};
use support::certs::{Pki, Spec};

#[test]
fn pem_der_and_files_read_the_same_certificate() {
    let pki = Pki::new();
    let server = SslCertificate::from_pem(pki.server.cert_pem.as_bytes()).unwrap();
    assert_eq!(server.to_pem(), pki.server.cert_pem);
    assert_eq!(SslCertificate::from_der(server.to_der()).unwrap(), server);
    assert_eq!(
        SslCertificate::from_path(&pki.server.cert_path).unwrap(),
        std::slice::from_ref(&server)
    );

    let chain = SslCertificate::list_from_pem(pki.server_chain.pem.as_bytes()).unwrap();
    assert_eq!(chain, [server.clone(), pki.ca.certificate()]);
    assert_eq!(
        SslCertificate::from_path(&pki.server_chain.path).unwrap(),
        chain
    );

    // A DER file of two certificates.
    let der_file = pki.dir.join("chain.der");
    std::fs::write(&der_file, [chain[0].to_der(), chain[1].to_der()].concat()).unwrap();
    assert_eq!(SslCertificate::from_path(&der_file).unwrap(), chain);
    // A key file holds no certificate.
    assert_eq!(
        SslCertificate::from_path(&pki.server.key_path),
        Err(SslParseError::NotFound("CERTIFICATE"))
    );
}

#[test]
fn fields_read_as_qt_reads_them() {
    let pki = Pki::new();
    let server = pki.server.certificate();
    assert_eq!(server.version(), 3);
    assert_eq!(server.subject_info(SubjectInfo::CommonName), ["localhost"]);
    assert_eq!(
        server.subject_info(SubjectInfo::Organization),
        ["sigloop tests"]
    );
    assert_eq!(server.subject_info_attributes(), ["CN", "O"]);
    assert_eq!(server.subject_display_name(), "localhost");
    assert_eq!(server.issuer_display_name(), "sigloop test root");
    assert_eq!(
        server.issuer_info(SubjectInfo::CommonName),
        ["sigloop test root"]
    );
    // Qt: DNS entries, then IP entries; within a kind the last listed first.
    assert_eq!(
        server.subject_alternative_names(),
        [
            (AlternativeNameType::DnsEntry, "localhost".to_owned()),
            (AlternativeNameType::IpAddressEntry, "::1".to_owned()),
            (AlternativeNameType::IpAddressEntry, "127.0.0.1".to_owned()),
        ]
    );
    assert!(server.effective_date() < std::time::SystemTime::now());
    assert!(server.expiry_date() > std::time::SystemTime::now());
    assert!(!server.is_self_signed());
    assert!(pki.ca.certificate().is_self_signed());
    assert!(pki.selfsigned.certificate().is_self_signed());

    let expired = pki.expired.certificate();
    // 2020-01-01 and 2020-01-02, 00:00 UTC.
    assert_eq!(
        expired.effective_date(),
        UNIX_EPOCH + Duration::from_secs(1_577_836_800)
    );
    assert_eq!(
        expired.expiry_date(),
        UNIX_EPOCH + Duration::from_secs(1_577_923_200)
    );
}

#[test]
fn serial_numbers_are_in_qts_format() {
    let pki = Pki::new();
    // Qt 6.11 printed `80` for serial 0x80 (DER 00 80) and `10:00` for 0x1000.
    for (bytes, text) in [
        (vec![0x80], "80"),
        (vec![0x10, 0x00], "10:00"),
        (vec![0x01, 0x02, 0xab], "01:02:ab"),
    ] {
        let mut spec = Spec::server("serial", &[]);
        spec.serial = Some(bytes);
        let issued = pki.issue(&format!("serial-{text}"), &spec, Some(&pki.ca));
        assert_eq!(issued.certificate().serial_number(), text);
    }
}

#[test]
fn digests_match_known_hashes_of_the_der() {
    let pki = Pki::new();
    let ca = pki.ca.certificate();
    let sizes = [
        (DigestAlgorithm::Md5, 16),
        (DigestAlgorithm::Sha1, 20),
        (DigestAlgorithm::Sha256, 32),
        (DigestAlgorithm::Sha384, 48),
        (DigestAlgorithm::Sha512, 64),
    ];
    for (algorithm, size) in sizes {
        assert_eq!(ca.digest(algorithm).len(), size, "{algorithm:?}");
    }
    assert_eq!(
        ca.digest(DigestAlgorithm::default()),
        ca.digest(DigestAlgorithm::Md5)
    );
    assert_ne!(
        ca.digest(DigestAlgorithm::Sha256),
        pki.server.certificate().digest(DigestAlgorithm::Sha256)
    );
}

#[test]
fn keys_read_from_the_pki_match_their_certificates() {
    let pki = Pki::new();
    let key = pki.server.ssl_key();
    assert_eq!(key.key_type(), KeyType::PrivateKey);
    assert_eq!((key.algorithm(), key.length()), (KeyAlgorithm::Ec, 256));
    assert_eq!(SslKey::from_pem(key.to_pem().as_bytes()).unwrap(), key);

    let public = pki.server.certificate().public_key().unwrap();
    assert_eq!(public.key_type(), KeyType::PublicKey);
    assert_eq!(
        (public.algorithm(), public.length()),
        (KeyAlgorithm::Ec, 256)
    );
    assert!(public.to_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_ne!(pki.ca.certificate().public_key().unwrap(), public);
}

#[test]
fn bad_input_is_an_error_with_a_reason() {
    let pki = Pki::new();
    let der = pki.server.certificate().to_der().to_vec();
    // Truncated, extended, or flipped DER.
    assert!(matches!(
        SslCertificate::from_der(&der[..der.len() - 1]),
        Err(SslParseError::Der(_))
    ));
    let mut longer = der.clone();
    longer.push(0);
    assert_eq!(
        SslCertificate::from_der(&longer),
        Err(SslParseError::Der("1 bytes after the certificate".into()))
    );
    // PEM without an end, and a key where a certificate is expected.
    let cut = &pki.server.cert_pem[..pki.server.cert_pem.len() - 30];
    assert!(matches!(
        SslCertificate::from_pem(cut.as_bytes()),
        Err(SslParseError::Pem(_))
    ));
    assert_eq!(
        SslCertificate::from_pem(pki.server.key_pem.as_bytes()),
        Err(SslParseError::NotFound("CERTIFICATE"))
    );
    // A certificate where a key is expected.
    assert_eq!(
        SslKey::from_pem(pki.server.cert_pem.as_bytes()),
        Err(SslParseError::NotFound("PRIVATE KEY"))
    );
    // Every prefix of a certificate and a key fails cleanly.
    let key_der = pki.server.ssl_key().to_der().to_vec();
    for cut in 0..der.len() {
        assert!(SslCertificate::from_der(&der[..cut]).is_err());
    }
    for cut in 0..key_der.len() {
        assert!(SslKey::from_der(&key_der[..cut]).is_err());
    }
}

/// Every single-bit flip of a certificate either fails to parse with an
/// error or gives a certificate whose every accessor and verification
/// answer without panicking (the fuzz target `ssl_parse` goes further).
#[test]
fn flipped_bits_never_panic() {
    let pki = Pki::new();
    let der = pki.server.certificate().to_der().to_vec();
    let roots = [pki.ca.certificate()];
    let mut parsed = 0;
    for position in 0..der.len() * 8 {
        let mut bytes = der.clone();
        bytes[position / 8] ^= 1 << (position % 8);
        let Ok(certificate) = SslCertificate::from_der(&bytes) else {
            continue;
        };
        parsed += 1;
        let _ = format!("{certificate:?}");
        let _ = certificate.subject_info_attributes();
        let _ = certificate.public_key();
        let _ = sigloop::ssl::verify_chain(
            &[certificate],
            &roots,
            Some("localhost"),
            sigloop::ssl::VerifyPurpose::Server,
            0,
            std::time::SystemTime::now(),
        );
    }
    // Most flips land in values (names, key, signature), which still parse.
    assert!(
        parsed > der.len() * 4,
        "only {parsed} of {} flips parsed",
        der.len() * 8
    );
}

/// `SSL_CERT_FILE` and `SSL_CERT_DIR` replace the system store, as in
/// OpenSSL. The store is read once per process, so a child process (this
/// test binary again, as `support::isolate` does) reads it with the
/// variables set.
#[test]
fn system_store_honours_openssls_variables() {
    const SCENARIO: &str = "system_store_honours_openssls_variables";
    if support::isolate::is_child_for(SCENARIO) {
        let roots = sigloop::ssl::system_ca_certificates();
        let names: Vec<String> = roots.iter().map(|c| c.subject_display_name()).collect();
        // Both, once each, from the file and from the directory.
        assert_eq!(names, ["sigloop test root", "sigloop other root"]);
        return;
    }
    let pki = Pki::new();
    let dir = pki.dir.join("ca-dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("0a1b2c3d.0"), &pki.other_ca.cert_pem).unwrap();
    std::fs::write(dir.join("copy.pem"), &pki.ca.cert_pem).unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([SCENARIO, "--exact", "--nocapture"])
        .env(support::isolate::CHILD_ENV, SCENARIO)
        .env("SSL_CERT_FILE", &pki.ca.cert_path)
        .env("SSL_CERT_DIR", &dir)
        .output()
        .expect("run the test binary again");
    assert!(
        output.status.success(),
        "child failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
}
