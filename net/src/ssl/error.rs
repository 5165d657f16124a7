//! Qt's certificate verification errors: `QSslError` and its
//! `QSslError::SslError` codes.

use std::fmt;

use super::SslCertificate;

/// Why a certificate (chain) failed verification, with Qt's numeric values.
///
/// The values are Qt's `QSslError::SslError` (Qt 6), so `kind as i32`
/// matches what a Qt program prints; [`SslErrorKind::text`] gives Qt's
/// English description.
///
/// Qt: `QSslError::SslError`
///
/// ```
/// use sigloop_net::ssl::SslErrorKind;
///
/// assert_eq!(SslErrorKind::HostNameMismatch as i32, 22);
/// assert_eq!(SslErrorKind::from_i32(9), Some(SslErrorKind::SelfSignedCertificate));
/// assert_eq!(
///     SslErrorKind::SelfSignedCertificate.text(),
///     "The certificate is self-signed, and untrusted"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SslErrorKind {
    /// No error. Qt: `QSslError::NoError`
    NoError = 0,
    /// The issuer of a certificate in the chain could not be found.
    /// Qt: `QSslError::UnableToGetIssuerCertificate`
    UnableToGetIssuerCertificate = 1,
    /// The certificate's signature could not be decrypted.
    /// Qt: `QSslError::UnableToDecryptCertificateSignature`
    UnableToDecryptCertificateSignature = 2,
    /// The issuer's public key could not be read.
    /// Qt: `QSslError::UnableToDecodeIssuerPublicKey`
    UnableToDecodeIssuerPublicKey = 3,
    /// The signature does not verify with the issuer's key.
    /// Qt: `QSslError::CertificateSignatureFailed`
    CertificateSignatureFailed = 4,
    /// The certificate's validity starts in the future.
    /// Qt: `QSslError::CertificateNotYetValid`
    CertificateNotYetValid = 5,
    /// The certificate's validity ended in the past.
    /// Qt: `QSslError::CertificateExpired`
    CertificateExpired = 6,
    /// The notBefore field is malformed. Qt: `QSslError::InvalidNotBeforeField`
    InvalidNotBeforeField = 7,
    /// The notAfter field is malformed. Qt: `QSslError::InvalidNotAfterField`
    InvalidNotAfterField = 8,
    /// The peer's certificate signs itself and is not trusted.
    /// Qt: `QSslError::SelfSignedCertificate`
    SelfSignedCertificate = 9,
    /// The chain ends in a self-signed root that is not trusted.
    /// Qt: `QSslError::SelfSignedCertificateInChain`
    SelfSignedCertificateInChain = 10,
    /// The issuer of the last certificate of the chain is not known
    /// locally. Qt: `QSslError::UnableToGetLocalIssuerCertificate`
    UnableToGetLocalIssuerCertificate = 11,
    /// The chain has one certificate whose issuer is unknown.
    /// Qt: `QSslError::UnableToVerifyFirstCertificate`
    UnableToVerifyFirstCertificate = 12,
    /// The certificate was revoked. Qt: `QSslError::CertificateRevoked`
    CertificateRevoked = 13,
    /// A certificate used as a CA is not a CA (no `CA:TRUE`, or no
    /// keyCertSign). Qt: `QSslError::InvalidCaCertificate`
    InvalidCaCertificate = 14,
    /// A CA's basicConstraints pathLenConstraint is exceeded.
    /// Qt: `QSslError::PathLengthExceeded`
    PathLengthExceeded = 15,
    /// The certificate's key usage does not allow this use (a client
    /// certificate presented by a server, for example).
    /// Qt: `QSslError::InvalidPurpose`
    InvalidPurpose = 16,
    /// The root is not trusted for this purpose.
    /// Qt: `QSslError::CertificateUntrusted`
    CertificateUntrusted = 17,
    /// The root rejects this purpose. Qt: `QSslError::CertificateRejected`
    CertificateRejected = 18,
    /// The candidate issuer's subject does not match the issuer name.
    /// Qt: `QSslError::SubjectIssuerMismatch`
    SubjectIssuerMismatch = 19,
    /// The candidate issuer does not match the authority key identifier.
    /// Qt: `QSslError::AuthorityIssuerSerialNumberMismatch`
    AuthorityIssuerSerialNumberMismatch = 20,
    /// The peer sent no certificate. Qt: `QSslError::NoPeerCertificate`
    NoPeerCertificate = 21,
    /// The certificate is not for the host name that was asked for.
    /// Qt: `QSslError::HostNameMismatch`
    HostNameMismatch = 22,
    /// TLS is not available. Qt: `QSslError::NoSslSupport`
    NoSslSupport = 23,
    /// The certificate is on Qt's blacklist.
    /// Qt: `QSslError::CertificateBlacklisted`
    CertificateBlacklisted = 24,
    /// The OCSP status of the certificate is unknown.
    /// Qt: `QSslError::CertificateStatusUnknown`
    CertificateStatusUnknown = 25,
    /// No OCSP response was found. Qt: `QSslError::OcspNoResponseFound`
    OcspNoResponseFound = 26,
    /// The OCSP request was malformed. Qt: `QSslError::OcspMalformedRequest`
    OcspMalformedRequest = 27,
    /// The OCSP response was malformed. Qt: `QSslError::OcspMalformedResponse`
    OcspMalformedResponse = 28,
    /// The OCSP responder failed internally. Qt: `QSslError::OcspInternalError`
    OcspInternalError = 29,
    /// The OCSP responder asks to try later. Qt: `QSslError::OcspTryLater`
    OcspTryLater = 30,
    /// The OCSP responder requires a signed request.
    /// Qt: `QSslError::OcspSigRequred` (sic)
    OcspSigRequired = 31,
    /// The client may not ask this OCSP responder.
    /// Qt: `QSslError::OcspUnauthorized`
    OcspUnauthorized = 32,
    /// The OCSP responder's identity could not be verified.
    /// Qt: `QSslError::OcspResponseCannotBeTrusted`
    OcspResponseCannotBeTrusted = 33,
    /// The OCSP response is about an unknown certificate.
    /// Qt: `QSslError::OcspResponseCertIdUnknown`
    OcspResponseCertIdUnknown = 34,
    /// The OCSP response has expired. Qt: `QSslError::OcspResponseExpired`
    OcspResponseExpired = 35,
    /// The OCSP responder does not know the certificate's status.
    /// Qt: `QSslError::OcspStatusUnknown`
    OcspStatusUnknown = 36,
    /// Any other error. Qt: `QSslError::UnspecifiedError`
    UnspecifiedError = -1,
}

/// Every kind, in Qt's declaration order.
const ALL: [SslErrorKind; 38] = {
    use SslErrorKind::*;
    [
        NoError,
        UnableToGetIssuerCertificate,
        UnableToDecryptCertificateSignature,
        UnableToDecodeIssuerPublicKey,
        CertificateSignatureFailed,
        CertificateNotYetValid,
        CertificateExpired,
        InvalidNotBeforeField,
        InvalidNotAfterField,
        SelfSignedCertificate,
        SelfSignedCertificateInChain,
        UnableToGetLocalIssuerCertificate,
        UnableToVerifyFirstCertificate,
        CertificateRevoked,
        InvalidCaCertificate,
        PathLengthExceeded,
        InvalidPurpose,
        CertificateUntrusted,
        CertificateRejected,
        SubjectIssuerMismatch,
        AuthorityIssuerSerialNumberMismatch,
        NoPeerCertificate,
        HostNameMismatch,
        NoSslSupport,
        CertificateBlacklisted,
        CertificateStatusUnknown,
        OcspNoResponseFound,
        OcspMalformedRequest,
        OcspMalformedResponse,
        OcspInternalError,
        OcspTryLater,
        OcspSigRequired,
        OcspUnauthorized,
        OcspResponseCannotBeTrusted,
        OcspResponseCertIdUnknown,
        OcspResponseExpired,
        OcspStatusUnknown,
        UnspecifiedError,
    ]
};

impl SslErrorKind {
    /// The kind with Qt's numeric value `value`, if there is one.
    ///
    /// ```
    /// use sigloop_net::ssl::SslErrorKind;
    ///
    /// assert_eq!(SslErrorKind::from_i32(-1), Some(SslErrorKind::UnspecifiedError));
    /// assert_eq!(SslErrorKind::from_i32(37), None);
    /// ```
    pub fn from_i32(value: i32) -> Option<Self> {
        ALL.iter().copied().find(|kind| *kind as i32 == value)
    }

    /// Every kind, in Qt's declaration order (`UnspecifiedError` last).
    ///
    /// ```
    /// use sigloop_net::ssl::SslErrorKind;
    ///
    /// assert_eq!(SslErrorKind::all()[0], SslErrorKind::NoError);
    /// assert_eq!(SslErrorKind::all().len(), 38);
    /// ```
    pub fn all() -> &'static [SslErrorKind] {
        &ALL
    }

    /// Qt's English description of the error, as `QSslError::errorString()`
    /// returns it.
    ///
    /// Qt 6 has no text for `CertificateRevoked` and
    /// `CertificateStatusUnknown` (they read "Unknown error") and an empty
    /// one for `NoSslSupport`; these are kept as Qt has them.
    ///
    /// Qt: `QSslError::errorString()`
    ///
    /// ```
    /// use sigloop_net::ssl::SslErrorKind;
    ///
    /// assert_eq!(
    ///     SslErrorKind::HostNameMismatch.text(),
    ///     "The host name did not match any of the valid hosts for this certificate"
    /// );
    /// ```
    pub fn text(self) -> &'static str {
        use SslErrorKind::*;
        match self {
            NoError => "No error",
            UnableToGetIssuerCertificate => "The issuer certificate could not be found",
            UnableToDecryptCertificateSignature => {
                "The certificate signature could not be decrypted"
            }
            UnableToDecodeIssuerPublicKey => "The public key in the certificate could not be read",
            CertificateSignatureFailed => "The signature of the certificate is invalid",
            CertificateNotYetValid => "The certificate is not yet valid",
            CertificateExpired => "The certificate has expired",
            InvalidNotBeforeField => "The certificate's notBefore field contains an invalid time",
            InvalidNotAfterField => "The certificate's notAfter field contains an invalid time",
            SelfSignedCertificate => "The certificate is self-signed, and untrusted",
            SelfSignedCertificateInChain => {
                "The root certificate of the certificate chain is self-signed, and untrusted"
            }
            UnableToGetLocalIssuerCertificate => {
                "The issuer certificate of a locally looked up certificate could not be found"
            }
            UnableToVerifyFirstCertificate => "No certificates could be verified",
            InvalidCaCertificate => "One of the CA certificates is invalid",
            PathLengthExceeded => "The basicConstraints path length parameter has been exceeded",
            InvalidPurpose => "The supplied certificate is unsuitable for this purpose",
            CertificateUntrusted => "The root CA certificate is not trusted for this purpose",
            CertificateRejected => {
                "The root CA certificate is marked to reject the specified purpose"
            }
            SubjectIssuerMismatch => {
                "The current candidate issuer certificate was rejected because its subject name \
                 did not match the issuer name of the current certificate"
            }
            AuthorityIssuerSerialNumberMismatch => {
                "The current candidate issuer certificate was rejected because its issuer name \
                 and serial number was present and did not match the authority key identifier of \
                 the current certificate"
            }
            NoPeerCertificate => "The peer did not present any certificate",
            HostNameMismatch => {
                "The host name did not match any of the valid hosts for this certificate"
            }
            NoSslSupport => "",
            CertificateBlacklisted => "The peer certificate is blacklisted",
            OcspNoResponseFound => "No OCSP status response found",
            OcspMalformedRequest => "The OCSP status request had invalid syntax",
            OcspMalformedResponse => {
                "OCSP response contains an unexpected number of SingleResponse structures"
            }
            OcspInternalError => "OCSP responder reached an inconsistent internal state",
            OcspTryLater => {
                "OCSP responder was unable to return a status for the requested certificate"
            }
            OcspSigRequired => {
                "The server requires the client to sign the OCSP request in order to construct a \
                 response"
            }
            OcspUnauthorized => {
                "The client is not authorized to request OCSP status from this server"
            }
            OcspResponseCannotBeTrusted => "OCSP responder's identity cannot be verified",
            OcspResponseCertIdUnknown => {
                "The identity of a certificate in an OCSP response cannot be established"
            }
            OcspResponseExpired => "The certificate status response has expired",
            OcspStatusUnknown => "The certificate's status is unknown",
            CertificateRevoked | CertificateStatusUnknown | UnspecifiedError => "Unknown error",
        }
    }
}

impl fmt::Display for SslErrorKind {
    /// Qt's text ([`SslErrorKind::text`]), as Qt's `QDebug` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// One verification error: its kind and, when it concerns one, the
/// certificate.
///
/// Two errors are equal when kind and certificate are equal: Qt's rule
/// for matching a list given to `ignore_ssl_errors` against what the
/// handshake found.
///
/// Qt: `QSslError`
///
/// ```
/// use sigloop_net::ssl::{SslError, SslErrorKind};
///
/// let error = SslError::new(SslErrorKind::HostNameMismatch, None);
/// assert_eq!(error.error(), SslErrorKind::HostNameMismatch);
/// assert_eq!(
///     error.error_string(),
///     "The host name did not match any of the valid hosts for this certificate"
/// );
/// assert!(error.certificate().is_none());
/// assert_eq!(error, SslErrorKind::HostNameMismatch.into());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SslError {
    kind: SslErrorKind,
    certificate: Option<SslCertificate>,
}

impl SslError {
    /// An error of `kind`, about `certificate` if given.
    ///
    /// Qt: `QSslError::QSslError(SslError, const QSslCertificate &)`
    ///
    /// ```
    /// use sigloop_net::ssl::{SslError, SslErrorKind};
    ///
    /// let error = SslError::new(SslErrorKind::CertificateExpired, None);
    /// assert_eq!(error.error(), SslErrorKind::CertificateExpired);
    /// ```
    pub fn new(kind: SslErrorKind, certificate: Option<SslCertificate>) -> Self {
        SslError { kind, certificate }
    }

    /// The kind of error. Qt: `QSslError::error()`
    ///
    /// ```
    /// use sigloop_net::ssl::{SslError, SslErrorKind};
    ///
    /// assert_eq!(SslError::default().error(), SslErrorKind::NoError);
    /// ```
    pub fn error(&self) -> SslErrorKind {
        self.kind
    }

    /// Qt's English description. Qt: `QSslError::errorString()`
    ///
    /// ```
    /// use sigloop_net::ssl::{SslError, SslErrorKind};
    ///
    /// let error = SslError::new(SslErrorKind::CertificateExpired, None);
    /// assert_eq!(error.error_string(), "The certificate has expired");
    /// ```
    pub fn error_string(&self) -> String {
        self.kind.text().to_owned()
    }

    /// The certificate the error is about, if any (Qt returns a null
    /// certificate where this returns `None`).
    ///
    /// Qt: `QSslError::certificate()`
    ///
    /// ```
    /// use sigloop_net::ssl::{SslError, SslErrorKind};
    ///
    /// assert!(SslError::new(SslErrorKind::NoPeerCertificate, None).certificate().is_none());
    /// ```
    pub fn certificate(&self) -> Option<&SslCertificate> {
        self.certificate.as_ref()
    }
}

impl Default for SslError {
    /// `NoError` without a certificate. Qt: `QSslError::QSslError()`
    fn default() -> Self {
        SslError::new(SslErrorKind::NoError, None)
    }
}

impl From<SslErrorKind> for SslError {
    /// An error without a certificate. Qt: `QSslError::QSslError(SslError)`
    fn from(kind: SslErrorKind) -> Self {
        SslError::new(kind, None)
    }
}

impl fmt::Display for SslError {
    /// Qt's text, as Qt's `QDebug` prints a `QSslError`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.text())
    }
}

/// Why bytes could not be read as a certificate or a key.
///
/// Qt reports these cases with a null `QSslCertificate` or `QSslKey`;
/// sigloop says what was wrong.
///
/// ```
/// use sigloop_net::ssl::{SslCertificate, SslParseError};
///
/// let error = SslCertificate::from_pem(b"no PEM here").unwrap_err();
/// assert_eq!(error, SslParseError::NotFound("CERTIFICATE"));
/// assert_eq!(error.to_string(), "no PEM section CERTIFICATE found");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslParseError {
    /// The PEM armour or its base64 is malformed.
    Pem(String),
    /// The input holds no PEM section of this label.
    NotFound(&'static str),
    /// The DER structure is malformed (or is not a certificate / key).
    Der(String),
    /// The private key is encrypted with a passphrase, which sigloop does
    /// not decrypt.
    Encrypted,
    /// The key is well formed but of an algorithm or size rustls (ring)
    /// cannot use.
    Unsupported(String),
    /// Reading the file failed.
    Io(String),
}

impl fmt::Display for SslParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SslParseError::Pem(reason) => write!(f, "malformed PEM: {reason}"),
            SslParseError::NotFound(label) => write!(f, "no PEM section {label} found"),
            SslParseError::Der(reason) => write!(f, "malformed DER: {reason}"),
            SslParseError::Encrypted => {
                f.write_str("the private key is encrypted; passphrases are not supported")
            }
            SslParseError::Unsupported(reason) => write!(f, "unsupported key: {reason}"),
            SslParseError::Io(reason) => write!(f, "cannot read: {reason}"),
        }
    }
}

impl std::error::Error for SslParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_qts_and_round_trip() {
        for (index, kind) in ALL.iter().enumerate() {
            let expected = if *kind == SslErrorKind::UnspecifiedError {
                -1
            } else {
                index as i32
            };
            assert_eq!(*kind as i32, expected, "{kind:?}");
            assert_eq!(SslErrorKind::from_i32(expected), Some(*kind));
        }
        assert_eq!(SslErrorKind::from_i32(37), None);
        assert_eq!(SslErrorKind::from_i32(-2), None);
    }

    /// The texts real Qt 6.11 (PySide6) returns for a sample of kinds,
    /// including the ones without a text of their own.
    #[test]
    fn texts_are_qts() {
        use SslErrorKind::*;
        let cases = [
            (NoError, "No error"),
            (CertificateRevoked, "Unknown error"),
            (CertificateStatusUnknown, "Unknown error"),
            (UnspecifiedError, "Unknown error"),
            (NoSslSupport, ""),
            (
                OcspSigRequired,
                "The server requires the client to sign the OCSP request in order to construct a \
                 response",
            ),
            (
                SubjectIssuerMismatch,
                "The current candidate issuer certificate was rejected because its subject name \
                 did not match the issuer name of the current certificate",
            ),
        ];
        for (kind, text) in cases {
            assert_eq!(kind.text(), text, "{kind:?}");
            assert_eq!(SslError::from(kind).to_string(), text);
        }
    }

    #[test]
    fn equality_needs_the_same_kind() {
        let a = SslError::from(SslErrorKind::CertificateExpired);
        assert_eq!(a, SslError::new(SslErrorKind::CertificateExpired, None));
        assert_ne!(a, SslError::from(SslErrorKind::CertificateNotYetValid));
    }
}
