//! The test PKI: certificates made at test time with rcgen, written as PEM
//! files into a temporary directory (removed when the [`Pki`] drops), so
//! TLS tests need no openssl and no files in the repository.
//!
//! [`Pki::new`] makes the set every TLS test shares:
//!
//! | field | what | verifying it against `ca` gives (Qt) |
//! |---|---|---|
//! | `ca` | root CA, `CN=sigloop test root` | |
//! | `server` | `CN=localhost`, SAN `localhost`, `127.0.0.1`, `::1`, serverAuth, signed by `ca` | no error |
//! | `server_chain` | `server` + `ca` (PEM only) | no error |
//! | `wronghost` | `CN=wrong.example`, SAN `wrong.example` | HostNameMismatch |
//! | `expired` | as `server`, valid 2020-01-01 .. 2020-01-02 | CertificateExpired |
//! | `notyet` | as `server`, valid from 2099 | CertificateNotYetValid |
//! | `selfsigned` | `CN=localhost` signed by itself | SelfSignedCertificate |
//! | `client` | `CN=sigloop-client`, clientAuth only, signed by `ca` | (InvalidPurpose as a server cert) |
//! | `other_ca` | a second root nobody trusts | |
//! | `other_server` | as `server`, signed by `other_ca` | UnableToGetLocalIssuerCertificate |
//! | `other_server_chain` | `other_server` + `other_ca` (PEM only) | SelfSignedCertificateInChain |
//!
//! [`Pki::issue`] makes more (intermediate CAs, odd extensions) for
//! verification tests.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// A certificate and its key, in PEM and as files.
pub struct Issued {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
    /// Where `cert_pem` is written.
    pub cert_path: PathBuf,
    /// Where `key_pem` is written.
    pub key_path: PathBuf,
    key: KeyPair,
    params: CertificateParams,
}

impl Issued {
    /// The certificate as sigloop reads it.
    pub fn certificate(&self) -> sigloop::ssl::SslCertificate {
        sigloop::ssl::SslCertificate::from_pem(self.cert_pem.as_bytes())
            .expect("the test PKI writes valid PEM")
    }

    /// The key as sigloop reads it.
    pub fn ssl_key(&self) -> sigloop::ssl::SslKey {
        sigloop::ssl::SslKey::from_pem(self.key_pem.as_bytes())
            .expect("the test PKI writes valid keys")
    }
}

/// A PEM file of several certificates (a chain).
pub struct Chain {
    /// The certificates, leaf first, PEM concatenated.
    pub pem: String,
    /// Where `pem` is written.
    pub path: PathBuf,
}

/// What [`Pki::issue`] makes.
#[derive(Clone)]
pub struct Spec {
    /// Subject common name (the subject is `O=sigloop tests, CN=...`).
    pub common_name: String,
    /// DNS and IP subject alternative names (IPs are recognized).
    pub alt_names: Vec<String>,
    /// `Some(path length)` for a CA (`None` inside: unconstrained);
    /// `None` for a leaf with `CA:FALSE`.
    pub ca: Option<Option<u8>>,
    /// Leave the basicConstraints extension out entirely.
    pub no_basic_constraints: bool,
    /// Extended key usages (empty: no extension).
    pub extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
    /// Key usages (empty: no extension).
    pub key_usages: Vec<KeyUsagePurpose>,
    /// Validity start.
    pub not_before: SystemTime,
    /// Validity end.
    pub not_after: SystemTime,
    /// Serial number bytes (big-endian); `None`: rcgen's random one.
    pub serial: Option<Vec<u8>>,
}

impl Spec {
    /// A TLS server leaf for `localhost`, valid from yesterday for 825
    /// days, serverAuth.
    pub fn server(common_name: &str, alt_names: &[&str]) -> Spec {
        let now = SystemTime::now();
        Spec {
            common_name: common_name.to_owned(),
            alt_names: alt_names.iter().map(|s| (*s).to_owned()).collect(),
            ca: None,
            no_basic_constraints: false,
            extended_key_usages: vec![ExtendedKeyUsagePurpose::ServerAuth],
            key_usages: vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ],
            not_before: now - DAY,
            not_after: now + 825 * DAY,
            serial: None,
        }
    }

    /// A CA with keyCertSign and cRLSign, valid from yesterday for ten
    /// years; `path_len` as basicConstraints' pathLenConstraint.
    pub fn ca(common_name: &str, path_len: Option<u8>) -> Spec {
        let now = SystemTime::now();
        Spec {
            common_name: common_name.to_owned(),
            alt_names: Vec::new(),
            ca: Some(path_len),
            no_basic_constraints: false,
            extended_key_usages: Vec::new(),
            key_usages: vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            not_before: now - DAY,
            not_after: now + 3650 * DAY,
            serial: None,
        }
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::OrganizationName, "sigloop tests");
        name.push(DnType::CommonName, self.common_name.as_str());
        params.distinguished_name = name;
        params.subject_alt_names = self
            .alt_names
            .iter()
            .map(|name| match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(name.clone().try_into().expect("an IA5 DNS name")),
            })
            .collect();
        params.is_ca = match (self.no_basic_constraints, self.ca) {
            (true, _) => IsCa::NoCa,
            (false, None) => IsCa::ExplicitNoCa,
            (false, Some(None)) => IsCa::Ca(BasicConstraints::Unconstrained),
            (false, Some(Some(len))) => IsCa::Ca(BasicConstraints::Constrained(len)),
        };
        params.key_usages = self.key_usages.clone();
        params.extended_key_usages = self.extended_key_usages.clone();
        params.not_before = self.not_before.into();
        params.not_after = self.not_after.into();
        params.serial_number = self.serial.clone().map(Into::into);
        params.use_authority_key_identifier_extension = true;
        params
    }
}

/// The throwaway PKI of one test: see the module documentation.
pub struct Pki {
    /// The directory holding every PEM file.
    pub dir: PathBuf,
    /// The trusted root.
    pub ca: Issued,
    /// `localhost` (and its IPs), signed by `ca`.
    pub server: Issued,
    /// `server` then `ca`.
    pub server_chain: Chain,
    /// `wrong.example`, signed by `ca`.
    pub wronghost: Issued,
    /// As `server`, validity over in 2020.
    pub expired: Issued,
    /// As `server`, valid from 2099.
    pub notyet: Issued,
    /// `localhost`, self-signed.
    pub selfsigned: Issued,
    /// A clientAuth-only certificate signed by `ca`.
    pub client: Issued,
    /// A root that is not trusted.
    pub other_ca: Issued,
    /// As `server`, signed by `other_ca`.
    pub other_server: Issued,
    /// `other_server` then `other_ca`.
    pub other_server_chain: Chain,
}

/// The names every `localhost` server certificate carries.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

impl Pki {
    /// Makes the PKI in a fresh temporary directory (EC P-256 keys, so it
    /// is quick enough for every test to make its own).
    pub fn new() -> Pki {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sigloop-pki-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the PKI directory");

        let ca = make(&dir, "ca", &Spec::ca("sigloop test root", None), None);
        let other_ca = make(
            &dir,
            "other-ca",
            &Spec::ca("sigloop other root", None),
            None,
        );
        let server = make(
            &dir,
            "server",
            &Spec::server("localhost", &LOCALHOST_NAMES),
            Some(&ca),
        );
        let wronghost = make(
            &dir,
            "wronghost",
            &Spec::server("wrong.example", &["wrong.example"]),
            Some(&ca),
        );
        let mut expired = Spec::server("localhost", &LOCALHOST_NAMES);
        expired.not_before = rcgen::date_time_ymd(2020, 1, 1).into();
        expired.not_after = rcgen::date_time_ymd(2020, 1, 2).into();
        let expired = make(&dir, "expired", &expired, Some(&ca));
        let mut notyet = Spec::server("localhost", &LOCALHOST_NAMES);
        notyet.not_before = rcgen::date_time_ymd(2099, 1, 1).into();
        notyet.not_after = rcgen::date_time_ymd(2099, 12, 31).into();
        let notyet = make(&dir, "notyet", &notyet, Some(&ca));
        let mut selfsigned = Spec::server("localhost", &["localhost", "127.0.0.1"]);
        selfsigned.extended_key_usages.clear();
        selfsigned.key_usages.clear();
        selfsigned.no_basic_constraints = true;
        let selfsigned = make(&dir, "selfsigned", &selfsigned, None);
        let mut client = Spec::server("sigloop-client", &["sigloop-client"]);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = make(&dir, "client", &client, Some(&ca));
        let other_server = make(
            &dir,
            "other-server",
            &Spec::server("localhost", &LOCALHOST_NAMES),
            Some(&other_ca),
        );
        let server_chain = chain(&dir, "server-chain", &[&server, &ca]);
        let other_server_chain = chain(&dir, "other-server-chain", &[&other_server, &other_ca]);
        Pki {
            dir,
            ca,
            server,
            server_chain,
            wronghost,
            expired,
            notyet,
            selfsigned,
            client,
            other_ca,
            other_server,
            other_server_chain,
        }
    }

    /// A new certificate named `name` (files `name.crt`, `name.key`) from
    /// `spec`, signed by `issuer` (self-signed with `None`).
    pub fn issue(&self, name: &str, spec: &Spec, issuer: Option<&Issued>) -> Issued {
        make(&self.dir, name, spec, issuer)
    }

    /// A PEM file `name.pem` of `certificates`, in order.
    pub fn chain(&self, name: &str, certificates: &[&Issued]) -> Chain {
        chain(&self.dir, name, certificates)
    }
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn make(dir: &Path, name: &str, spec: &Spec, issuer: Option<&Issued>) -> Issued {
    let key = KeyPair::generate().expect("generate a P-256 key");
    let params = spec.params();
    let certificate = match issuer {
        Some(issuer) => {
            let signer = Issuer::from_params(&issuer.params, &issuer.key);
            params.signed_by(&key, &signer)
        }
        None => params.self_signed(&key),
    }
    .expect("sign the test certificate");
    let cert_pem = certificate.pem();
    let key_pem = key.serialize_pem();
    let cert_path = dir.join(format!("{name}.crt"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&cert_path, &cert_pem).expect("write the certificate");
    std::fs::write(&key_path, &key_pem).expect("write the key");
    Issued {
        cert_pem,
        key_pem,
        cert_path,
        key_path,
        key,
        params,
    }
}

fn chain(dir: &Path, name: &str, certificates: &[&Issued]) -> Chain {
    let pem: String = certificates.iter().map(|c| c.cert_pem.as_str()).collect();
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, &pem).expect("write the chain");
    Chain { pem, path }
}
