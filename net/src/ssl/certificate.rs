//! `QSslCertificate`: an X.509 certificate and Qt's view of its fields.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::SectionKind;
use x509_parser::asn1_rs::Tag;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use super::{pem, SslKey, SslParseError};

/// The fields of a certificate's subject or issuer name Qt names.
///
/// Qt: `QSslCertificate::SubjectInfo`
///
/// ```
/// use sigloop_net::ssl::SubjectInfo;
///
/// assert_eq!(SubjectInfo::CommonName.short_name(), "CN");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubjectInfo {
    /// `O`. Qt: `QSslCertificate::Organization`
    Organization = 0,
    /// `CN`. Qt: `QSslCertificate::CommonName`
    CommonName = 1,
    /// `L`. Qt: `QSslCertificate::LocalityName`
    LocalityName = 2,
    /// `OU`. Qt: `QSslCertificate::OrganizationalUnitName`
    OrganizationalUnitName = 3,
    /// `C`. Qt: `QSslCertificate::CountryName`
    CountryName = 4,
    /// `ST`. Qt: `QSslCertificate::StateOrProvinceName`
    StateOrProvinceName = 5,
    /// `dnQualifier`. Qt: `QSslCertificate::DistinguishedNameQualifier`
    DistinguishedNameQualifier = 6,
    /// `serialNumber` (of the subject, not the certificate's).
    /// Qt: `QSslCertificate::SerialNumber`
    SerialNumber = 7,
    /// `emailAddress`. Qt: `QSslCertificate::EmailAddress`
    EmailAddress = 8,
}

impl SubjectInfo {
    /// OpenSSL's short name for the attribute, which is how Qt names it in
    /// `subjectInfoAttributes()` and looks it up in `subjectInfo(QByteArray)`.
    ///
    /// ```
    /// use sigloop_net::ssl::SubjectInfo;
    ///
    /// assert_eq!(SubjectInfo::StateOrProvinceName.short_name(), "ST");
    /// ```
    pub fn short_name(self) -> &'static str {
        match self {
            SubjectInfo::Organization => "O",
            SubjectInfo::CommonName => "CN",
            SubjectInfo::LocalityName => "L",
            SubjectInfo::OrganizationalUnitName => "OU",
            SubjectInfo::CountryName => "C",
            SubjectInfo::StateOrProvinceName => "ST",
            SubjectInfo::DistinguishedNameQualifier => "dnQualifier",
            SubjectInfo::SerialNumber => "serialNumber",
            SubjectInfo::EmailAddress => "emailAddress",
        }
    }
}

/// The kind of a subject alternative name. Qt: `QSsl::AlternativeNameEntryType`
///
/// ```
/// use sigloop_net::ssl::AlternativeNameType;
///
/// assert_eq!(AlternativeNameType::DnsEntry as i32, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlternativeNameType {
    /// An e-mail address (rfc822Name). Qt: `QSsl::EmailEntry`
    EmailEntry = 0,
    /// A DNS name. Qt: `QSsl::DnsEntry`
    DnsEntry = 1,
    /// An IPv4 or IPv6 address, as text. Qt: `QSsl::IpAddressEntry`
    IpAddressEntry = 2,
}

/// A hash function for [`SslCertificate::digest`].
///
/// Qt: `QCryptographicHash::Algorithm` (the ones a certificate digest
/// uses); the default is Qt's default, MD5.
///
/// ```
/// use sigloop_net::ssl::DigestAlgorithm;
///
/// assert_eq!(DigestAlgorithm::default(), DigestAlgorithm::Md5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// MD5 (16 bytes). Qt: `QCryptographicHash::Md5`
    #[default]
    Md5,
    /// SHA-1 (20 bytes). Qt: `QCryptographicHash::Sha1`
    Sha1,
    /// SHA-256 (32 bytes). Qt: `QCryptographicHash::Sha256`
    Sha256,
    /// SHA-384 (48 bytes). Qt: `QCryptographicHash::Sha384`
    Sha384,
    /// SHA-512 (64 bytes). Qt: `QCryptographicHash::Sha512`
    Sha512,
}

/// An X.509 certificate.
///
/// Cheap to clone (the DER is shared). Two certificates are equal when
/// their DER encodings are, as in Qt. Fields are read from the DER when
/// asked for.
///
/// Qt: `QSslCertificate`
///
/// ```
/// use sigloop_net::ssl::{SslCertificate, SubjectInfo};
///
/// # let pem = include_str!("testdata/doc-ca.crt");
/// let certificate = SslCertificate::from_pem(pem.as_bytes())?;
/// assert_eq!(certificate.subject_info(SubjectInfo::CommonName), ["sigloop doc CA"]);
/// assert_eq!(certificate.subject_display_name(), "sigloop doc CA");
/// assert!(certificate.is_self_signed());
/// assert_eq!(SslCertificate::from_der(certificate.to_der())?, certificate);
/// # Ok::<(), sigloop_net::ssl::SslParseError>(())
/// ```
#[derive(Clone)]
pub struct SslCertificate {
    inner: Arc<Inner>,
}

/// The DER, and what path building compares most often, read once.
struct Inner {
    der: Box<[u8]>,
    /// Subject and issuer names in OpenSSL's canonical form.
    subject: CanonicalName,
    issuer: CanonicalName,
    /// Names match and the key identifiers agree (OpenSSL's
    /// `check_issued(x, x)`, key usage not considered).
    self_issued: bool,
    /// `self_issued` and key usage allows signing certificates (OpenSSL's
    /// `EXFLAG_SS`, Qt's `isSelfSigned()`).
    self_signed: bool,
    /// Validity, seconds since the Unix epoch.
    not_before: i64,
    not_after: i64,
}

impl PartialEq for SslCertificate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner) || self.inner.der == other.inner.der
    }
}

impl Eq for SslCertificate {}

impl std::hash::Hash for SslCertificate {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.der.hash(state);
    }
}

impl SslCertificate {
    /// Reads one DER certificate; bytes after it are an error.
    ///
    /// Qt: `QSslCertificate::QSslCertificate(const QByteArray &, QSsl::Der)`
    ///
    /// # Errors
    ///
    /// [`SslParseError::Der`] when the bytes are not exactly one X.509
    /// certificate.
    ///
    /// ```
    /// use sigloop_net::ssl::{SslCertificate, SslParseError};
    ///
    /// assert!(matches!(SslCertificate::from_der(b"\x30\x00"), Err(SslParseError::Der(_))));
    /// ```
    pub fn from_der(der: &[u8]) -> Result<Self, SslParseError> {
        let (rest, _) = X509Certificate::from_der(der)
            .map_err(|e| SslParseError::Der(format!("not an X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(SslParseError::Der(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        Ok(Self::from_checked_der(der))
    }

    /// A certificate from DER that parsed as exactly one certificate.
    fn from_checked_der(der: &[u8]) -> Self {
        let parsed = match X509Certificate::from_der(der) {
            Ok((_, parsed)) => parsed,
            Err(e) => unreachable!("the caller parsed this DER: {e}"),
        };
        let subject = canonical_name(parsed.subject());
        let issuer = canonical_name(parsed.issuer());
        let self_issued =
            subject == issuer && super::verify::key_identifiers_match(&parsed, &parsed);
        let validity = parsed.validity();
        let inner = Inner {
            der: der.into(),
            self_signed: self_issued && super::verify::may_sign_certificates(&parsed),
            self_issued,
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            subject,
            issuer,
        };
        SslCertificate {
            inner: Arc::new(inner),
        }
    }

    /// The subject name in OpenSSL's canonical form.
    pub(crate) fn canonical_subject(&self) -> &CanonicalName {
        &self.inner.subject
    }

    /// The issuer name in OpenSSL's canonical form.
    pub(crate) fn canonical_issuer(&self) -> &CanonicalName {
        &self.inner.issuer
    }

    /// OpenSSL's `check_issued(x, x)`: self-issued, key usage aside.
    pub(crate) fn is_self_issued(&self) -> bool {
        self.inner.self_issued
    }

    /// Reads every certificate of concatenated DER certificates.
    ///
    /// Qt: `QSslCertificate::fromData(data, QSsl::Der)`
    ///
    /// # Errors
    ///
    /// [`SslParseError::Der`] when a certificate is malformed, or when
    /// there is none.
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// let two = [ca.to_der(), ca.to_der()].concat();
    /// assert_eq!(SslCertificate::list_from_der(&two)?, [ca.clone(), ca]);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn list_from_der(mut der: &[u8]) -> Result<Vec<Self>, SslParseError> {
        let mut out = Vec::new();
        while !der.is_empty() {
            let (rest, _) = X509Certificate::from_der(der)
                .map_err(|e| SslParseError::Der(format!("certificate {}: {e}", out.len() + 1)))?;
            let used = der.len() - rest.len();
            out.push(Self::from_checked_der(&der[..used]));
            der = rest;
        }
        if out.is_empty() {
            return Err(SslParseError::Der("no certificate".into()));
        }
        Ok(out)
    }

    /// Reads the first `CERTIFICATE` section of PEM text.
    ///
    /// Qt: `QSslCertificate::QSslCertificate(const QByteArray &, QSsl::Pem)`
    ///
    /// # Errors
    ///
    /// [`SslParseError::NotFound`] without a certificate section;
    /// [`SslParseError::Pem`] / [`SslParseError::Der`] for malformed ones.
    ///
    /// ```
    /// use sigloop_net::ssl::{SslCertificate, SslParseError};
    ///
    /// assert_eq!(
    ///     SslCertificate::from_pem(b"").unwrap_err(),
    ///     SslParseError::NotFound("CERTIFICATE")
    /// );
    /// ```
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, SslParseError> {
        Self::list_from_pem(pem_text)?
            .into_iter()
            .next()
            .ok_or(SslParseError::NotFound("CERTIFICATE"))
    }

    /// Reads every `CERTIFICATE` section of PEM text, in order (a chain,
    /// a CA bundle). Other sections and text around them are skipped.
    ///
    /// Qt: `QSslCertificate::fromData(data, QSsl::Pem)`
    ///
    /// # Errors
    ///
    /// [`SslParseError::NotFound`] when there is no certificate;
    /// [`SslParseError::Pem`] / [`SslParseError::Der`] when one is
    /// malformed (Qt skips those; sigloop says which).
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let bundle = format!("# two copies\n{pem}{pem}");
    /// assert_eq!(SslCertificate::list_from_pem(bundle.as_bytes())?.len(), 2);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn list_from_pem(pem_text: &[u8]) -> Result<Vec<Self>, SslParseError> {
        let mut out = Vec::new();
        for (kind, der) in pem::sections(pem_text)? {
            if kind == SectionKind::Certificate {
                out.push(Self::from_der(&der)?);
            }
        }
        if out.is_empty() {
            return Err(SslParseError::NotFound("CERTIFICATE"));
        }
        Ok(out)
    }

    /// Reads every certificate in the file at `path`: PEM if the file has
    /// a PEM armour line, concatenated DER otherwise.
    ///
    /// Qt: `QSslCertificate::fromPath()` (without its wildcard patterns)
    ///
    /// # Errors
    ///
    /// [`SslParseError::Io`] when the file cannot be read, else as
    /// [`SslCertificate::list_from_pem`] / [`SslCertificate::list_from_der`].
    ///
    /// ```
    /// use sigloop_net::ssl::{SslCertificate, SslParseError};
    ///
    /// let missing = SslCertificate::from_path("/nonexistent/ca.pem");
    /// assert!(matches!(missing, Err(SslParseError::Io(_))));
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Vec<Self>, SslParseError> {
        let path = path.as_ref();
        let data = std::fs::read(path)
            .map_err(|e| SslParseError::Io(format!("{}: {e}", path.display())))?;
        if data.windows(11).any(|w| w == b"-----BEGIN ") {
            Self::list_from_pem(&data)
        } else {
            Self::list_from_der(&data)
        }
    }

    /// The certificate's DER encoding. Qt: `QSslCertificate::toDer()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.to_der()[0], 0x30); // a SEQUENCE
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn to_der(&self) -> &[u8] {
        &self.inner.der
    }

    /// The certificate as PEM (`CERTIFICATE`, 64-column lines).
    ///
    /// Qt: `QSslCertificate::toPem()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.to_pem(), pem);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.inner.der)
    }

    /// The parsed certificate. The constructors checked that the DER
    /// parses, and parsing is deterministic.
    pub(crate) fn x509(&self) -> X509Certificate<'_> {
        match X509Certificate::from_der(&self.inner.der) {
            Ok((_, parsed)) => parsed,
            Err(e) => unreachable!("SslCertificate holds DER that parsed: {e}"),
        }
    }

    /// The X.509 version: 1, 2 or 3 (Qt gives the same number as text).
    ///
    /// Qt: `QSslCertificate::version()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// assert_eq!(SslCertificate::from_pem(pem.as_bytes())?.version(), 3);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn version(&self) -> u32 {
        self.x509().version().0.saturating_add(1)
    }

    /// The serial number as Qt writes it: the magnitude's bytes in
    /// lower-case hex, colon-separated, without a sign octet (`80` for
    /// serial 128, `10:00` for 4096).
    ///
    /// Qt: `QSslCertificate::serialNumber()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let serial = SslCertificate::from_pem(pem.as_bytes())?.serial_number();
    /// assert_eq!(serial, "10:00");
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn serial_number(&self) -> String {
        let parsed = self.x509();
        let raw = parsed.raw_serial();
        let magnitude = if raw.first().is_some_and(|b| b & 0x80 != 0) {
            // A negative serial (forbidden, but seen): OpenSSL keeps the
            // magnitude, the two's complement negated.
            negate(raw)
        } else {
            raw.to_vec()
        };
        let mut bytes = magnitude.as_slice();
        while let [0, rest @ ..] = bytes {
            if rest.is_empty() {
                break;
            }
            bytes = rest;
        }
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
        hex.join(":")
    }

    /// The values of `info` in the subject name, last-listed first as Qt
    /// returns them (a subject `CN=one, CN=two` gives `["two", "one"]`).
    ///
    /// Qt: `QSslCertificate::subjectInfo(SubjectInfo)`
    ///
    /// ```
    /// use sigloop_net::ssl::{SslCertificate, SubjectInfo};
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.subject_info(SubjectInfo::Organization), ["sigloop"]);
    /// assert!(ca.subject_info(SubjectInfo::LocalityName).is_empty());
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn subject_info(&self, info: SubjectInfo) -> Vec<String> {
        self.subject_info_by_name(info.short_name())
    }

    /// The values of the subject attribute named `attribute`: OpenSSL's
    /// short name (`"CN"`, `"street"`) or, for attributes without one, the
    /// dotted OID, as [`SslCertificate::subject_info_attributes`] lists
    /// them.
    ///
    /// Qt: `QSslCertificate::subjectInfo(const QByteArray &)`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.subject_info_by_name("CN"), ["sigloop doc CA"]);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn subject_info_by_name(&self, attribute: &str) -> Vec<String> {
        name_values(self.x509().subject(), attribute)
    }

    /// The attribute names present in the subject, sorted, each once.
    ///
    /// Qt: `QSslCertificate::subjectInfoAttributes()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.subject_info_attributes(), ["CN", "O"]);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn subject_info_attributes(&self) -> Vec<String> {
        name_attributes(self.x509().subject())
    }

    /// As [`SslCertificate::subject_info`], for the issuer's name.
    ///
    /// Qt: `QSslCertificate::issuerInfo(SubjectInfo)`
    ///
    /// ```
    /// use sigloop_net::ssl::{SslCertificate, SubjectInfo};
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.issuer_info(SubjectInfo::CommonName), ["sigloop doc CA"]);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn issuer_info(&self, info: SubjectInfo) -> Vec<String> {
        self.issuer_info_by_name(info.short_name())
    }

    /// As [`SslCertificate::subject_info_by_name`], for the issuer's name.
    ///
    /// Qt: `QSslCertificate::issuerInfo(const QByteArray &)`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.issuer_info_by_name("O"), ["sigloop"]);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn issuer_info_by_name(&self, attribute: &str) -> Vec<String> {
        name_values(self.x509().issuer(), attribute)
    }

    /// As [`SslCertificate::subject_info_attributes`], for the issuer.
    ///
    /// Qt: `QSslCertificate::issuerInfoAttributes()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.issuer_info_attributes(), ["CN", "O"]);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn issuer_info_attributes(&self) -> Vec<String> {
        name_attributes(self.x509().issuer())
    }

    /// A name for people: the subject's common name, else its
    /// organization, else its organizational unit, else empty (first of
    /// Qt's value order, see [`SslCertificate::subject_info`]).
    ///
    /// Qt: `QSslCertificate::subjectDisplayName()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.subject_display_name(), "sigloop doc CA");
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn subject_display_name(&self) -> String {
        display_name(self.x509().subject())
    }

    /// As [`SslCertificate::subject_display_name`], for the issuer.
    ///
    /// Qt: `QSslCertificate::issuerDisplayName()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.issuer_display_name(), "sigloop doc CA");
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn issuer_display_name(&self) -> String {
        display_name(self.x509().issuer())
    }

    /// The subject alternative names Qt knows (e-mail, DNS, IP), grouped
    /// by kind in [`AlternativeNameType`] order and, within a kind,
    /// last-listed first, as Qt's `QMultiMap` iterates them. IP addresses
    /// are text (`"127.0.0.1"`, `"::1"`); URIs and other kinds are left
    /// out, as Qt does.
    ///
    /// Qt: `QSslCertificate::subjectAlternativeNames()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert!(ca.subject_alternative_names().is_empty());
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn subject_alternative_names(&self) -> Vec<(AlternativeNameType, String)> {
        let parsed = self.x509();
        let Ok(Some(san)) = parsed.subject_alternative_name() else {
            return Vec::new();
        };
        let mut names: Vec<(AlternativeNameType, String)> = san
            .value
            .general_names
            .iter()
            .filter_map(alternative_name)
            .collect();
        // Qt's QMultiMap: keys ascending, each key's values newest first.
        names.reverse();
        names.sort_by_key(|(kind, _)| *kind);
        names
    }

    /// When the certificate becomes valid (notBefore).
    ///
    /// Qt: `QSslCertificate::effectiveDate()`
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// // 2025-01-01 00:00:00 UTC
    /// assert_eq!(ca.effective_date(), UNIX_EPOCH + Duration::from_secs(1_735_689_600));
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn effective_date(&self) -> SystemTime {
        system_time(self.inner.not_before)
    }

    /// When the certificate stops being valid (notAfter).
    ///
    /// Qt: `QSslCertificate::expiryDate()`
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert!(ca.expiry_date() > ca.effective_date());
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn expiry_date(&self) -> SystemTime {
        system_time(self.inner.not_after)
    }

    /// The hash of the DER encoding with `algorithm` (Qt's default is
    /// MD5: pass `DigestAlgorithm::default()`).
    ///
    /// Qt: `QSslCertificate::digest()`
    ///
    /// ```
    /// use sigloop_net::ssl::{DigestAlgorithm, SslCertificate};
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let ca = SslCertificate::from_pem(pem.as_bytes())?;
    /// assert_eq!(ca.digest(DigestAlgorithm::default()).len(), 16);
    /// assert_eq!(ca.digest(DigestAlgorithm::Sha256).len(), 32);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn digest(&self, algorithm: DigestAlgorithm) -> Vec<u8> {
        use md5::Digest as _;
        let ring_algorithm = match algorithm {
            DigestAlgorithm::Md5 => return md5::Md5::digest(&self.inner.der).to_vec(),
            // SHA-1 for fingerprints only, which is what this is.
            DigestAlgorithm::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlgorithm::Sha256 => &ring::digest::SHA256,
            DigestAlgorithm::Sha384 => &ring::digest::SHA384,
            DigestAlgorithm::Sha512 => &ring::digest::SHA512,
        };
        ring::digest::digest(ring_algorithm, &self.inner.der)
            .as_ref()
            .to_vec()
    }

    /// Whether the certificate is self-issued as OpenSSL judges it for
    /// Qt: subject equals issuer, the authority key identifier (if any)
    /// matches the subject key identifier, and a key usage extension (if
    /// any) allows certificate signing. The signature is not checked.
    ///
    /// Qt: `QSslCertificate::isSelfSigned()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslCertificate;
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// assert!(SslCertificate::from_pem(pem.as_bytes())?.is_self_signed());
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn is_self_signed(&self) -> bool {
        self.inner.self_signed
    }

    /// The subject's public key.
    ///
    /// Qt: `QSslCertificate::publicKey()`
    ///
    /// # Errors
    ///
    /// [`SslParseError`] when the key is of an algorithm or curve sigloop
    /// cannot read (Qt returns a null key).
    ///
    /// ```
    /// use sigloop_net::ssl::{KeyAlgorithm, KeyType, SslCertificate};
    ///
    /// # let pem = include_str!("testdata/doc-ca.crt");
    /// let key = SslCertificate::from_pem(pem.as_bytes())?.public_key()?;
    /// assert_eq!(key.key_type(), KeyType::PublicKey);
    /// assert_eq!((key.algorithm(), key.length()), (KeyAlgorithm::Ec, 256));
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn public_key(&self) -> Result<SslKey, SslParseError> {
        SslKey::from_spki(self.x509().public_key().raw)
    }
}

impl fmt::Debug for SslCertificate {
    /// The fields Qt's `QDebug` prints for a `QSslCertificate`: version,
    /// serial number, base64 MD5 digest, issuer and subject display names,
    /// alternative names, validity.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslCertificate")
            .field("version", &self.version())
            .field("serial_number", &self.serial_number())
            .field(
                "digest",
                &crate::proxy::http::base64(&self.digest(DigestAlgorithm::Md5)),
            )
            .field("issuer", &self.issuer_display_name())
            .field("subject", &self.subject_display_name())
            .field(
                "subject_alternative_names",
                &self.subject_alternative_names(),
            )
            .field("effective_date", &self.effective_date())
            .field("expiry_date", &self.expiry_date())
            .finish()
    }
}

/// A name as OpenSSL compares names (`X509_NAME_cmp` on the canonical
/// encoding): per RDN, its attributes as (OID, value with case folded and
/// runs of white space made one space), sorted.
pub(crate) type CanonicalName = Vec<Vec<(String, String)>>;

pub(crate) fn canonical_name(name: &X509Name<'_>) -> CanonicalName {
    name.iter_rdn()
        .map(|rdn| {
            let mut set: Vec<(String, String)> = rdn
                .iter()
                .map(|attribute| {
                    let text = attribute_text(attribute);
                    let folded = text
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase();
                    (attribute.attr_type().to_id_string(), folded)
                })
                .collect();
            set.sort();
            set
        })
        .collect()
}

/// `value`'s magnitude when read as a negative two's complement number.
fn negate(value: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = value.iter().map(|b| !b).collect();
    for byte in out.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            break;
        }
    }
    out
}

fn system_time(seconds: i64) -> SystemTime {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// OpenSSL's short names for the attributes certificates carry; others
/// are named by their dotted OID.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "street"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "title"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.42", "GN"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
];

/// How Qt names an attribute: its short name, or its dotted OID.
fn attribute_name(attribute: &AttributeTypeAndValue<'_>) -> String {
    let dotted = attribute.attr_type().to_id_string();
    SHORT_NAMES
        .iter()
        .find(|(oid, _)| *oid == dotted)
        .map_or(dotted, |(_, short)| (*short).to_owned())
}

/// An attribute's value as text, decoded from its ASN.1 string type as
/// OpenSSL's `ASN1_STRING_to_UTF8` does.
fn attribute_text(attribute: &AttributeTypeAndValue<'_>) -> String {
    let value = attribute.attr_value();
    let data = value.data;
    match value.tag() {
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|pair| u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        Tag::UniversalString => data
            .chunks(4)
            .map(|quad| {
                let mut bytes = [0u8; 4];
                bytes[..quad.len()].copy_from_slice(quad);
                char::from_u32(u32::from_be_bytes(bytes)).unwrap_or('\u{fffd}')
            })
            .collect(),
        // T.61 as Latin-1, as OpenSSL does.
        Tag::T61String => data.iter().map(|b| char::from(*b)).collect(),
        _ => String::from_utf8_lossy(data).into_owned(),
    }
}

/// The values of `attribute` in `name`, last first (Qt's QMultiMap order).
fn name_values(name: &X509Name<'_>, attribute: &str) -> Vec<String> {
    let mut values: Vec<String> = name
        .iter_attributes()
        .filter(|a| attribute_name(a) == attribute)
        .map(attribute_text)
        .collect();
    values.reverse();
    values
}

fn name_attributes(name: &X509Name<'_>) -> Vec<String> {
    let mut names: Vec<String> = name.iter_attributes().map(attribute_name).collect();
    names.sort();
    names.dedup();
    names
}

fn display_name(name: &X509Name<'_>) -> String {
    [
        SubjectInfo::CommonName,
        SubjectInfo::Organization,
        SubjectInfo::OrganizationalUnitName,
    ]
    .into_iter()
    .find_map(|info| name_values(name, info.short_name()).into_iter().next())
    .unwrap_or_default()
}

fn alternative_name(name: &GeneralName<'_>) -> Option<(AlternativeNameType, String)> {
    match name {
        GeneralName::RFC822Name(email) => {
            Some((AlternativeNameType::EmailEntry, (*email).to_owned()))
        }
        GeneralName::DNSName(dns) => Some((AlternativeNameType::DnsEntry, (*dns).to_owned())),
        GeneralName::IPAddress(octets) => {
            let address = match octets.len() {
                4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(*octets).ok()?)),
                16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(*octets).ok()?)),
                _ => return None,
            };
            Some((AlternativeNameType::IpAddressEntry, address.to_string()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_serials_give_their_magnitude() {
        assert_eq!(negate(&[0xfb]), [0x05]);
        assert_eq!(negate(&[0xff, 0x00]), [0x01, 0x00]);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The doc CA as Qt 6.11 and `openssl x509 -fingerprint` read it.
    #[test]
    fn doc_ca_reads_as_qt_and_openssl_read_it() {
        let ca = SslCertificate::from_pem(include_bytes!("testdata/doc-ca.crt")).unwrap();
        assert_eq!(
            hex(&ca.digest(DigestAlgorithm::Md5)),
            "1d6a3143c3bc2eac97b5ce14775507fd"
        );
        assert_eq!(
            hex(&ca.digest(DigestAlgorithm::Sha1)),
            "caf3e118d3814127d72395807fe58cc2afef9abd"
        );
        assert_eq!(
            hex(&ca.digest(DigestAlgorithm::Sha256)),
            "765099e4461c32a84f0389765319089a64adf7af5737174ff6a6f56646d95626"
        );
        assert_eq!(ca.serial_number(), "10:00");
        // notAfter is a GeneralizedTime (2050): Qt gives 2524608000.
        assert_eq!(
            ca.effective_date(),
            UNIX_EPOCH + Duration::from_secs(1_735_689_600)
        );
        assert_eq!(
            ca.expiry_date(),
            UNIX_EPOCH + Duration::from_secs(2_524_608_000)
        );
    }

    /// The fields Qt's QDebug prints; the MD5 digest in base64 as Qt
    /// prints it (`digest().toBase64()`).
    #[test]
    fn debug_shows_qts_fields() {
        let ca = SslCertificate::from_pem(include_bytes!("testdata/doc-ca.crt")).unwrap();
        let text = format!("{ca:?}");
        for part in [
            "version: 3",
            "serial_number: \"10:00\"",
            "digest: \"HWoxQ8O8LqyXtc4Ud1UH/Q==\"",
            "issuer: \"sigloop doc CA\"",
            "subject: \"sigloop doc CA\"",
        ] {
            assert!(text.contains(part), "{part} missing from {text}");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(SslCertificate::from_der(b"").is_err());
        assert!(SslCertificate::list_from_der(b"").is_err());
        assert!(SslCertificate::list_from_pem(
            b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"
        )
        .is_err());
    }
}
