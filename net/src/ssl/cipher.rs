//! `SslCipher` (Qt: `QSslCipher`): the cipher suite of a session.

use std::fmt;

use super::configuration::SslProtocol;

/// A TLS cipher suite, with the fields Qt reports for it.
///
/// Names are OpenSSL's, as Qt's OpenSSL backend reports them
/// (`TLS_AES_256_GCM_SHA384`, `ECDHE-RSA-AES128-GCM-SHA256`), so the
/// names a Qt program compares against keep working. The suites are
/// those rustls offers with its ring provider: three for TLS 1.3, six for
/// TLS 1.2 (ECDHE with ECDSA or RSA, AES-GCM or ChaCha20-Poly1305).
///
/// Qt: `QSslCipher`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::{SslCipher, SslProtocol};
///
/// let cipher = SslCipher::new("TLS_AES_128_GCM_SHA256");
/// assert!(!cipher.is_null());
/// assert_eq!(cipher.protocol(), SslProtocol::TlsV1_3);
/// assert_eq!(cipher.protocol_string(), "TLSv1.3");
/// assert_eq!(cipher.used_bits(), 128);
/// assert_eq!(cipher.encryption_method(), "AESGCM(128)");
/// assert!(SslCipher::new("RC4-MD5").is_null());
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SslCipher {
    suite: Option<&'static Suite>,
}

/// What Qt reports about one suite.
#[derive(PartialEq, Eq, Debug)]
struct Suite {
    /// rustls' name for it.
    rustls: C,
    name: &'static str,
    protocol: SslProtocol,
    bits: u32,
    key_exchange: &'static str,
    authentication: &'static str,
    encryption: &'static str,
}

use rustls::CipherSuite as C;

/// The suites rustls offers with ring, in rustls' order of preference.
/// Key exchange and authentication read "any" for TLS 1.3, where the
/// suite does not fix them (OpenSSL's `Kx=any Au=any`).
static SUITES: &[Suite] = &[
    Suite {
        rustls: C::TLS13_AES_256_GCM_SHA384,
        name: "TLS_AES_256_GCM_SHA384",
        protocol: SslProtocol::TlsV1_3,
        bits: 256,
        key_exchange: "any",
        authentication: "any",
        encryption: "AESGCM(256)",
    },
    Suite {
        rustls: C::TLS13_AES_128_GCM_SHA256,
        name: "TLS_AES_128_GCM_SHA256",
        protocol: SslProtocol::TlsV1_3,
        bits: 128,
        key_exchange: "any",
        authentication: "any",
        encryption: "AESGCM(128)",
    },
    Suite {
        rustls: C::TLS13_CHACHA20_POLY1305_SHA256,
        name: "TLS_CHACHA20_POLY1305_SHA256",
        protocol: SslProtocol::TlsV1_3,
        bits: 256,
        key_exchange: "any",
        authentication: "any",
        encryption: "CHACHA20/POLY1305(256)",
    },
    Suite {
        rustls: C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        name: "ECDHE-ECDSA-AES256-GCM-SHA384",
        protocol: SslProtocol::TlsV1_2,
        bits: 256,
        key_exchange: "ECDH",
        authentication: "ECDSA",
        encryption: "AESGCM(256)",
    },
    Suite {
        rustls: C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        name: "ECDHE-ECDSA-AES128-GCM-SHA256",
        protocol: SslProtocol::TlsV1_2,
        bits: 128,
        key_exchange: "ECDH",
        authentication: "ECDSA",
        encryption: "AESGCM(128)",
    },
    Suite {
        rustls: C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        name: "ECDHE-ECDSA-CHACHA20-POLY1305",
        protocol: SslProtocol::TlsV1_2,
        bits: 256,
        key_exchange: "ECDH",
        authentication: "ECDSA",
        encryption: "CHACHA20/POLY1305(256)",
    },
    Suite {
        rustls: C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        name: "ECDHE-RSA-AES256-GCM-SHA384",
        protocol: SslProtocol::TlsV1_2,
        bits: 256,
        key_exchange: "ECDH",
        authentication: "RSA",
        encryption: "AESGCM(256)",
    },
    Suite {
        rustls: C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        name: "ECDHE-RSA-AES128-GCM-SHA256",
        protocol: SslProtocol::TlsV1_2,
        bits: 128,
        key_exchange: "ECDH",
        authentication: "RSA",
        encryption: "AESGCM(128)",
    },
    Suite {
        rustls: C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        name: "ECDHE-RSA-CHACHA20-POLY1305",
        protocol: SslProtocol::TlsV1_2,
        bits: 256,
        key_exchange: "ECDH",
        authentication: "RSA",
        encryption: "CHACHA20/POLY1305(256)",
    },
];

impl SslCipher {
    /// The supported cipher called `name` (OpenSSL's name), or a null
    /// cipher if there is none. Qt: `QSslCipher::QSslCipher(name)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cipher = sigloop_net::ssl::SslCipher::new("ECDHE-RSA-AES256-GCM-SHA384");
    /// assert_eq!(cipher.key_exchange_method(), "ECDH");
    /// assert_eq!(cipher.authentication_method(), "RSA");
    /// ```
    pub fn new(name: &str) -> SslCipher {
        SslCipher {
            suite: SUITES.iter().find(|s| s.name == name),
        }
    }

    /// Every cipher suite a socket can negotiate, most preferred first.
    /// Qt: `QSslConfiguration::supportedCiphers()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let all = sigloop_net::ssl::SslCipher::supported();
    /// assert_eq!(all.len(), 9);
    /// assert_eq!(all[0].name(), "TLS_AES_256_GCM_SHA384");
    /// ```
    pub fn supported() -> Vec<SslCipher> {
        SUITES
            .iter()
            .map(|suite| SslCipher { suite: Some(suite) })
            .collect()
    }

    /// The suite rustls negotiated.
    pub(crate) fn from_rustls(suite: rustls::CipherSuite) -> SslCipher {
        SslCipher {
            suite: SUITES.iter().find(|s| s.rustls == suite),
        }
    }

    /// Whether this is the null cipher (no session, or an unknown name).
    /// Qt: `QSslCipher::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslCipher::default().is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        self.suite.is_none()
    }

    /// OpenSSL's name of the suite ("" if null). Qt: `QSslCipher::name()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cipher = sigloop_net::ssl::SslCipher::new("TLS_AES_256_GCM_SHA384");
    /// assert_eq!(cipher.name(), "TLS_AES_256_GCM_SHA384");
    /// ```
    pub fn name(&self) -> &str {
        self.suite.map_or("", |s| s.name)
    }

    /// The protocol the suite belongs to ([`SslProtocol::UnknownProtocol`]
    /// if null). Qt: `QSslCipher::protocol()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslCipher, SslProtocol};
    /// assert_eq!(SslCipher::new("ECDHE-ECDSA-AES128-GCM-SHA256").protocol(), SslProtocol::TlsV1_2);
    /// ```
    pub fn protocol(&self) -> SslProtocol {
        self.suite
            .map_or(SslProtocol::UnknownProtocol, |s| s.protocol)
    }

    /// The protocol as OpenSSL writes it ("TLSv1.2", "TLSv1.3").
    /// Qt: `QSslCipher::protocolString()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cipher = sigloop_net::ssl::SslCipher::new("ECDHE-RSA-CHACHA20-POLY1305");
    /// assert_eq!(cipher.protocol_string(), "TLSv1.2");
    /// ```
    pub fn protocol_string(&self) -> &str {
        match self.protocol() {
            SslProtocol::TlsV1_3 => "TLSv1.3",
            SslProtocol::TlsV1_2 => "TLSv1.2",
            _ => "",
        }
    }

    /// The key size in bits (0 if null). Qt: `QSslCipher::supportedBits()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslCipher::new("TLS_AES_256_GCM_SHA384").supported_bits(), 256);
    /// ```
    pub fn supported_bits(&self) -> u32 {
        self.suite.map_or(0, |s| s.bits)
    }

    /// The bits the suite uses: the same as
    /// [`supported_bits`](Self::supported_bits) for every suite rustls
    /// has. Qt: `QSslCipher::usedBits()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslCipher::new("TLS_AES_128_GCM_SHA256").used_bits(), 128);
    /// ```
    pub fn used_bits(&self) -> u32 {
        self.supported_bits()
    }

    /// The key exchange ("ECDH"; "any" for TLS 1.3).
    /// Qt: `QSslCipher::keyExchangeMethod()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslCipher::new("TLS_AES_128_GCM_SHA256").key_exchange_method(), "any");
    /// ```
    pub fn key_exchange_method(&self) -> &str {
        self.suite.map_or("", |s| s.key_exchange)
    }

    /// The authentication ("RSA", "ECDSA"; "any" for TLS 1.3).
    /// Qt: `QSslCipher::authenticationMethod()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslCipher::new("ECDHE-ECDSA-AES256-GCM-SHA384").authentication_method(), "ECDSA");
    /// ```
    pub fn authentication_method(&self) -> &str {
        self.suite.map_or("", |s| s.authentication)
    }

    /// The bulk cipher, as OpenSSL writes it ("AESGCM(256)").
    /// Qt: `QSslCipher::encryptionMethod()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let cipher = sigloop_net::ssl::SslCipher::new("TLS_CHACHA20_POLY1305_SHA256");
    /// assert_eq!(cipher.encryption_method(), "CHACHA20/POLY1305(256)");
    /// ```
    pub fn encryption_method(&self) -> &str {
        self.suite.map_or("", |s| s.encryption)
    }
}

impl std::hash::Hash for SslCipher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl fmt::Debug for SslCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SslCipher")
            .field("name", &self.name())
            .field("protocol", &self.protocol_string())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every suite rustls offers with ring has a row, so a negotiated
    /// session never reports a null cipher.
    #[test]
    fn every_ring_suite_has_a_row() {
        let provider = crate::ssl::configuration::provider();
        for suite in &provider.cipher_suites {
            let cipher = SslCipher::from_rustls(suite.suite());
            assert!(!cipher.is_null(), "{:?}", suite.suite());
        }
        assert_eq!(provider.cipher_suites.len(), SUITES.len());
    }
}
