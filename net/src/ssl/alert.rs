//! TLS alerts as Qt names them (`QSsl::AlertLevel`, `QSsl::AlertType`),
//! for [`SslSocket::alert_sent`](crate::ssl::SslSocket::alert_sent) and
//! [`SslSocket::alert_received`](crate::ssl::SslSocket::alert_received).

/// How serious an alert is. Qt: `QSsl::AlertLevel`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::AlertLevel;
/// assert_eq!(AlertLevel::Fatal as i32, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AlertLevel {
    /// Qt: `QSsl::AlertLevel::Warning` (close_notify is one).
    Warning = 0,
    /// Qt: `QSsl::AlertLevel::Fatal`: the connection ends.
    Fatal = 1,
    /// Qt: `QSsl::AlertLevel::Unknown`.
    Unknown = 2,
}

/// What an alert says, with the TLS alert numbers Qt uses as values.
/// Qt: `QSsl::AlertType`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::AlertType;
/// assert_eq!(AlertType::CloseNotify as i32, 0);
/// assert_eq!(AlertType::UnknownCa.description(), "unknown CA");
/// assert_eq!(AlertType::from_code(48), AlertType::UnknownCa);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[allow(missing_docs)] // Each variant is the TLS alert of the same name.
pub enum AlertType {
    CloseNotify = 0,
    UnexpectedMessage = 10,
    BadRecordMac = 20,
    RecordOverflow = 22,
    DecompressionFailure = 30,
    HandshakeFailure = 40,
    NoCertificate = 41,
    BadCertificate = 42,
    UnsupportedCertificate = 43,
    CertificateRevoked = 44,
    CertificateExpired = 45,
    CertificateUnknown = 46,
    IllegalParameter = 47,
    UnknownCa = 48,
    AccessDenied = 49,
    DecodeError = 50,
    DecryptError = 51,
    ExportRestriction = 60,
    ProtocolVersion = 70,
    InsufficientSecurity = 71,
    InternalError = 80,
    InappropriateFallback = 86,
    UserCancelled = 90,
    NoRenegotiation = 100,
    MissingExtension = 109,
    UnsupportedExtension = 110,
    CertificateUnobtainable = 111,
    UnrecognizedName = 112,
    BadCertificateStatusResponse = 113,
    BadCertificateHashValue = 114,
    UnknownPskIdentity = 115,
    CertificateRequired = 116,
    NoApplicationProtocol = 120,
    /// Any number TLS does not define.
    UnknownAlertMessage = 255,
}

use AlertType::*;

/// Every alert with its number and OpenSSL's long description (the text
/// Qt passes with the signal).
const TABLE: &[(AlertType, &str)] = &[
    (CloseNotify, "close notify"),
    (UnexpectedMessage, "unexpected_message"),
    (BadRecordMac, "bad record mac"),
    (RecordOverflow, "record overflow"),
    (DecompressionFailure, "decompression failure"),
    (HandshakeFailure, "handshake failure"),
    (NoCertificate, "no certificate"),
    (BadCertificate, "bad certificate"),
    (UnsupportedCertificate, "unsupported certificate"),
    (CertificateRevoked, "certificate revoked"),
    (CertificateExpired, "certificate expired"),
    (CertificateUnknown, "certificate unknown"),
    (IllegalParameter, "illegal parameter"),
    (UnknownCa, "unknown CA"),
    (AccessDenied, "access denied"),
    (DecodeError, "decode error"),
    (DecryptError, "decrypt error"),
    (ExportRestriction, "export restriction"),
    (ProtocolVersion, "protocol version"),
    (InsufficientSecurity, "insufficient security"),
    (InternalError, "internal error"),
    (InappropriateFallback, "inappropriate fallback"),
    (UserCancelled, "user canceled"),
    (NoRenegotiation, "no renegotiation"),
    (MissingExtension, "missing extension"),
    (UnsupportedExtension, "unsupported extension"),
    (CertificateUnobtainable, "certificate unobtainable"),
    (UnrecognizedName, "unrecognized name"),
    (
        BadCertificateStatusResponse,
        "bad certificate status response",
    ),
    (BadCertificateHashValue, "bad certificate hash value"),
    (UnknownPskIdentity, "unknown PSK identity"),
    (CertificateRequired, "certificate required"),
    (NoApplicationProtocol, "no application protocol"),
];

impl AlertType {
    /// The alert with TLS number `code` ([`UnknownAlertMessage`](Self::UnknownAlertMessage)
    /// for a number TLS does not define).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::AlertType;
    /// assert_eq!(AlertType::from_code(0), AlertType::CloseNotify);
    /// assert_eq!(AlertType::from_code(7), AlertType::UnknownAlertMessage);
    /// ```
    pub fn from_code(code: u8) -> AlertType {
        TABLE
            .iter()
            .find(|(alert, _)| *alert as i32 == i32::from(code))
            .map_or(UnknownAlertMessage, |(alert, _)| *alert)
    }

    /// The description Qt passes with the alert signals (OpenSSL's long
    /// text, e.g. "close notify", "bad certificate").
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::AlertType;
    /// assert_eq!(AlertType::CloseNotify.description(), "close notify");
    /// ```
    pub fn description(self) -> &'static str {
        TABLE
            .iter()
            .find(|(alert, _)| *alert == self)
            .map_or("unknown", |(_, text)| text)
    }

    /// The alert rustls reports.
    pub(crate) fn from_rustls(alert: rustls::AlertDescription) -> AlertType {
        AlertType::from_code(u8::from(alert))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (alert, _) in TABLE {
            assert_eq!(AlertType::from_code(*alert as u8), *alert);
        }
        assert_eq!(AlertType::from_code(200), UnknownAlertMessage);
    }
}
