//! `QSslKey`: a private or public key, read from PEM or DER.

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::pem::SectionKind;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};
use x509_parser::asn1_rs::Tag;

use super::der::{self, oid, Tlv};
use super::{pem, SslParseError};

/// A key's algorithm. Qt: `QSsl::KeyAlgorithm`
///
/// ```
/// use sigloop_net::ssl::KeyAlgorithm;
///
/// assert_eq!(KeyAlgorithm::Ec as i32, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// A key Qt has no algorithm value for; sigloop gives Ed25519 and
    /// Ed448 keys this value. Qt: `QSsl::Opaque`
    Opaque = 0,
    /// RSA. Qt: `QSsl::Rsa`
    Rsa = 1,
    /// DSA. Qt: `QSsl::Dsa`
    Dsa = 2,
    /// Elliptic curve (ECDSA). Qt: `QSsl::Ec`
    Ec = 3,
    /// Diffie-Hellman. Qt: `QSsl::Dh`
    Dh = 4,
}

/// Whether a key is private or public. Qt: `QSsl::KeyType`
///
/// ```
/// use sigloop_net::ssl::KeyType;
///
/// assert_eq!(KeyType::PublicKey as i32, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// A private key. Qt: `QSsl::PrivateKey`
    PrivateKey = 0,
    /// A public key. Qt: `QSsl::PublicKey`
    PublicKey = 1,
}

/// The DER structure a key was read from; it decides the PEM label and
/// what rustls is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Encoding {
    /// PKCS#8 `PrivateKeyInfo` (PEM `PRIVATE KEY`).
    Pkcs8,
    /// SEC1 `ECPrivateKey` (PEM `EC PRIVATE KEY`).
    Sec1,
    /// PKCS#1 `RSAPrivateKey` (PEM `RSA PRIVATE KEY`).
    Pkcs1,
    /// X.509 `SubjectPublicKeyInfo` (PEM `PUBLIC KEY`).
    Spki,
}

impl Encoding {
    fn pem_label(self) -> &'static str {
        match self {
            Encoding::Pkcs8 => "PRIVATE KEY",
            Encoding::Sec1 => "EC PRIVATE KEY",
            Encoding::Pkcs1 => "RSA PRIVATE KEY",
            Encoding::Spki => "PUBLIC KEY",
        }
    }
}

/// A private key (to prove a certificate is ours) or a public key (from a
/// certificate).
///
/// Private keys are read from PKCS#8 (`PRIVATE KEY`), SEC1
/// (`EC PRIVATE KEY`) and PKCS#1 (`RSA PRIVATE KEY`), in PEM or DER;
/// public keys from `SubjectPublicKeyInfo` (`PUBLIC KEY`) or
/// [`SslCertificate::public_key`](super::SslCertificate::public_key). A
/// private key is checked by loading it into ring, so a key that reads
/// is one TLS can use. `Debug` never shows key material.
///
/// Qt: `QSslKey`
///
/// ```
/// use sigloop_net::ssl::{KeyAlgorithm, KeyType, SslKey};
///
/// let pem = "-----BEGIN PRIVATE KEY-----
/// MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7tlrYRx3cOqW0E/7
/// 0Zsfof9ctp7RHQkTDwdKQzwXUpGhRANCAARFFws9Uwpo3uTRp9S9CmTA9nCVC8W2
/// ampIelKDcUwiPHw9DhlZ0/ZKNW/XfHFm5WuMu3MdOXoX+KPatKiN6A+2
/// -----END PRIVATE KEY-----
/// ";
/// let key = SslKey::from_pem(pem.as_bytes())?;
/// assert_eq!(key.algorithm(), KeyAlgorithm::Ec);
/// assert_eq!(key.key_type(), KeyType::PrivateKey);
/// assert_eq!(key.length(), 256);
/// assert_eq!(key.to_pem(), pem);
/// # Ok::<(), sigloop_net::ssl::SslParseError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SslKey {
    der: Arc<[u8]>,
    encoding: Encoding,
    algorithm: KeyAlgorithm,
    length: u32,
}

impl SslKey {
    /// Reads the first key in PEM text: a private key (`PRIVATE KEY`,
    /// `EC PRIVATE KEY`, `RSA PRIVATE KEY`) or else a `PUBLIC KEY`.
    /// Certificates and other sections in the text are skipped.
    ///
    /// Qt: `QSslKey::QSslKey(const QByteArray &, QSsl::KeyAlgorithm,
    /// QSsl::Pem, ...)` (the algorithm is found from the key itself)
    ///
    /// # Errors
    ///
    /// [`SslParseError::NotFound`] without a key section,
    /// [`SslParseError::Encrypted`] for a passphrase-protected key,
    /// [`SslParseError::Pem`] / [`SslParseError::Der`] for malformed input,
    /// [`SslParseError::Unsupported`] for a key ring cannot use.
    ///
    /// ```
    /// use sigloop_net::ssl::{SslKey, SslParseError};
    ///
    /// assert_eq!(SslKey::from_pem(b"").unwrap_err(), SslParseError::NotFound("PRIVATE KEY"));
    /// ```
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, SslParseError> {
        let sections = pem::sections(pem_text)?;
        let private = sections.iter().find_map(|(kind, der)| {
            let encoding = match kind {
                SectionKind::PrivateKey => Encoding::Pkcs8,
                SectionKind::EcPrivateKey => Encoding::Sec1,
                SectionKind::RsaPrivateKey => Encoding::Pkcs1,
                _ => return None,
            };
            Some((encoding, der))
        });
        if let Some((encoding, der)) = private {
            return Self::decode(encoding, der);
        }
        match sections
            .iter()
            .find(|(kind, _)| *kind == SectionKind::PublicKey)
        {
            Some((_, der)) => Self::decode(Encoding::Spki, der),
            None => Err(SslParseError::NotFound("PRIVATE KEY")),
        }
    }

    /// Reads a DER key: PKCS#8, SEC1 or PKCS#1 private key, or a
    /// `SubjectPublicKeyInfo` public key (tried in that order).
    ///
    /// Qt: `QSslKey::QSslKey(const QByteArray &, QSsl::KeyAlgorithm,
    /// QSsl::Der, ...)`
    ///
    /// # Errors
    ///
    /// [`SslParseError::Der`] when the bytes are none of these;
    /// [`SslParseError::Unsupported`] for a key ring cannot use.
    ///
    /// ```
    /// use sigloop_net::ssl::SslKey;
    ///
    /// assert!(SslKey::from_der(&[0x30, 0x00]).is_err());
    /// ```
    pub fn from_der(der: &[u8]) -> Result<Self, SslParseError> {
        let mut first_error = None;
        for encoding in [
            Encoding::Pkcs8,
            Encoding::Sec1,
            Encoding::Pkcs1,
            Encoding::Spki,
        ] {
            match Self::decode(encoding, der) {
                Ok(key) => return Ok(key),
                // A structure that read but that ring refused says more
                // than "not DER of that kind".
                Err(error @ SslParseError::Unsupported(_)) => return Err(error),
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| SslParseError::Der("empty".into())))
    }

    /// A public key from a DER `SubjectPublicKeyInfo` (a certificate's).
    pub(crate) fn from_spki(der: &[u8]) -> Result<Self, SslParseError> {
        Self::decode(Encoding::Spki, der)
    }

    fn decode(encoding: Encoding, der: &[u8]) -> Result<Self, SslParseError> {
        let (algorithm, length) = match encoding {
            Encoding::Pkcs8 => pkcs8_info(der),
            Encoding::Sec1 => sec1_info(der).map(|bits| (KeyAlgorithm::Ec, bits)),
            Encoding::Pkcs1 => pkcs1_info(der).map(|bits| (KeyAlgorithm::Rsa, bits)),
            Encoding::Spki => spki_info(der),
        }
        .map_err(SslParseError::Der)?;
        let key = SslKey {
            der: der.into(),
            encoding,
            algorithm,
            length,
        };
        if let Some(private) = key.to_rustls() {
            rustls::crypto::ring::sign::any_supported_type(&private)
                .map_err(|e| SslParseError::Unsupported(e.to_string()))?;
        }
        Ok(key)
    }

    /// The key's algorithm. Qt: `QSslKey::algorithm()`
    ///
    /// ```
    /// # let pem = "-----BEGIN PUBLIC KEY-----
    /// # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8GwNhr5nhRBc/Ka1VcUzKr/nQu7s
    /// # 9PKZVcPLnem72fBPVZv4njhbA+VLr1HEUyHbTFgQdECdxKMt33dHYk+K4A==
    /// # -----END PUBLIC KEY-----
    /// # ";
    /// use sigloop_net::ssl::{KeyAlgorithm, SslKey};
    ///
    /// assert_eq!(SslKey::from_pem(pem.as_bytes())?.algorithm(), KeyAlgorithm::Ec);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Private or public. Qt: `QSslKey::type()`
    ///
    /// ```
    /// # let pem = "-----BEGIN PUBLIC KEY-----
    /// # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8GwNhr5nhRBc/Ka1VcUzKr/nQu7s
    /// # 9PKZVcPLnem72fBPVZv4njhbA+VLr1HEUyHbTFgQdECdxKMt33dHYk+K4A==
    /// # -----END PUBLIC KEY-----
    /// # ";
    /// use sigloop_net::ssl::{KeyType, SslKey};
    ///
    /// assert_eq!(SslKey::from_pem(pem.as_bytes())?.key_type(), KeyType::PublicKey);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn key_type(&self) -> KeyType {
        match self.encoding {
            Encoding::Spki => KeyType::PublicKey,
            Encoding::Pkcs8 | Encoding::Sec1 | Encoding::Pkcs1 => KeyType::PrivateKey,
        }
    }

    /// The key's size in bits: the modulus for RSA, the curve's order for
    /// EC (256, 384, 521), 256 for Ed25519 and 456 for Ed448.
    ///
    /// Qt: `QSslKey::length()`
    ///
    /// ```
    /// # let pem = "-----BEGIN PUBLIC KEY-----
    /// # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8GwNhr5nhRBc/Ka1VcUzKr/nQu7s
    /// # 9PKZVcPLnem72fBPVZv4njhbA+VLr1HEUyHbTFgQdECdxKMt33dHYk+K4A==
    /// # -----END PUBLIC KEY-----
    /// # ";
    /// use sigloop_net::ssl::SslKey;
    ///
    /// assert_eq!(SslKey::from_pem(pem.as_bytes())?.length(), 256);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn length(&self) -> u32 {
        self.length
    }

    /// The key in DER, in the structure it was read from (PKCS#8, SEC1,
    /// PKCS#1 or SubjectPublicKeyInfo).
    ///
    /// Qt: `QSslKey::toDer()`
    ///
    /// ```
    /// # let pem = "-----BEGIN PUBLIC KEY-----
    /// # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8GwNhr5nhRBc/Ka1VcUzKr/nQu7s
    /// # 9PKZVcPLnem72fBPVZv4njhbA+VLr1HEUyHbTFgQdECdxKMt33dHYk+K4A==
    /// # -----END PUBLIC KEY-----
    /// # ";
    /// use sigloop_net::ssl::SslKey;
    ///
    /// let key = SslKey::from_pem(pem.as_bytes())?;
    /// assert_eq!(SslKey::from_der(key.to_der())?, key);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The key in PEM, labelled for its structure (`PRIVATE KEY`,
    /// `EC PRIVATE KEY`, `RSA PRIVATE KEY` or `PUBLIC KEY`).
    ///
    /// Qt: `QSslKey::toPem()`
    ///
    /// ```
    /// # let pem = "-----BEGIN PUBLIC KEY-----
    /// # MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8GwNhr5nhRBc/Ka1VcUzKr/nQu7s
    /// # 9PKZVcPLnem72fBPVZv4njhbA+VLr1HEUyHbTFgQdECdxKMt33dHYk+K4A==
    /// # -----END PUBLIC KEY-----
    /// # ";
    /// use sigloop_net::ssl::SslKey;
    ///
    /// assert_eq!(SslKey::from_pem(pem.as_bytes())?.to_pem(), pem);
    /// # Ok::<(), sigloop_net::ssl::SslParseError>(())
    /// ```
    pub fn to_pem(&self) -> String {
        pem::encode(self.encoding.pem_label(), &self.der)
    }

    /// The private key as rustls takes it; `None` for a public key.
    pub(crate) fn to_rustls(&self) -> Option<PrivateKeyDer<'static>> {
        let der = self.der.to_vec();
        match self.encoding {
            Encoding::Pkcs8 => Some(PrivatePkcs8KeyDer::from(der).into()),
            Encoding::Sec1 => Some(PrivateSec1KeyDer::from(der).into()),
            Encoding::Pkcs1 => Some(PrivatePkcs1KeyDer::from(der).into()),
            Encoding::Spki => None,
        }
    }
}

impl fmt::Debug for SslKey {
    /// As Qt's `QDebug` prints a `QSslKey`: type, algorithm, length; never
    /// the key itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SslKey({:?}, {:?}, {})",
            self.key_type(),
            self.algorithm,
            self.length
        )
    }
}

/// Algorithm and size from an AlgorithmIdentifier and the key bits it
/// describes (`key` is the PKCS#8 private key or the SPKI public key).
fn algorithm_info(
    algorithm: &Tlv<'_>,
    key: &[u8],
    private: bool,
) -> Result<(KeyAlgorithm, u32), String> {
    let parts = der::sequence(algorithm, "AlgorithmIdentifier")?;
    let oid_tlv = parts
        .first()
        .filter(|t| t.is(Tag::Oid))
        .ok_or("AlgorithmIdentifier: no algorithm OID")?;
    match oid_tlv.content {
        oid::RSA | oid::RSA_PSS => {
            let bits = if private {
                pkcs1_info(key)?
            } else {
                // RSAPublicKey ::= SEQUENCE { modulus, publicExponent }
                let fields = der::sequence(&der::single(key)?, "RSAPublicKey")?;
                rsa_modulus_bits(&fields)?
            };
            Ok((KeyAlgorithm::Rsa, bits))
        }
        oid::EC => {
            let curve = parts.get(1).ok_or("EC key without a named curve")?;
            Ok((KeyAlgorithm::Ec, curve_bits(curve)?))
        }
        oid::ED25519 => Ok((KeyAlgorithm::Opaque, 256)),
        oid::ED448 => Ok((KeyAlgorithm::Opaque, 456)),
        oid::DSA => Ok((KeyAlgorithm::Dsa, 0)),
        oid::DH => Ok((KeyAlgorithm::Dh, 0)),
        other => Err(format!("unknown key algorithm (OID bytes {other:02x?})")),
    }
}

/// PKCS#8: `SEQUENCE { version, AlgorithmIdentifier, OCTET STRING key, ... }`.
fn pkcs8_info(der: &[u8]) -> Result<(KeyAlgorithm, u32), String> {
    let fields = der::sequence(&der::single(der)?, "PrivateKeyInfo")?;
    match fields.as_slice() {
        [version, algorithm, key, ..] if version.is(Tag::Integer) && key.is(Tag::OctetString) => {
            algorithm_info(algorithm, key.content, true)
        }
        _ => Err("PrivateKeyInfo: expected version, algorithm and key".into()),
    }
}

/// SubjectPublicKeyInfo: `SEQUENCE { AlgorithmIdentifier, BIT STRING key }`.
fn spki_info(der: &[u8]) -> Result<(KeyAlgorithm, u32), String> {
    let fields = der::sequence(&der::single(der)?, "SubjectPublicKeyInfo")?;
    match fields.as_slice() {
        [algorithm, key] if key.is(Tag::BitString) && !key.content.is_empty() => {
            // The first content octet counts the unused bits.
            algorithm_info(algorithm, &key.content[1..], false)
        }
        _ => Err("SubjectPublicKeyInfo: expected algorithm and key".into()),
    }
}

/// SEC1: `SEQUENCE { version 1, OCTET STRING key, [0] curve OPTIONAL, ... }`.
fn sec1_info(der: &[u8]) -> Result<u32, String> {
    let fields = der::sequence(&der::single(der)?, "ECPrivateKey")?;
    match fields.as_slice() {
        [version, key, rest @ ..] if version.is(Tag::Integer) && key.is(Tag::OctetString) => {
            let parameters = rest
                .iter()
                .find(|t| t.is_context(0))
                .ok_or("ECPrivateKey without a named curve")?;
            curve_bits(&der::single(parameters.content)?)
        }
        _ => Err("ECPrivateKey: expected version and key".into()),
    }
}

/// PKCS#1: `SEQUENCE { version, modulus, publicExponent, ... }`.
fn pkcs1_info(der: &[u8]) -> Result<u32, String> {
    let fields = der::sequence(&der::single(der)?, "RSAPrivateKey")?;
    match fields.as_slice() {
        [version, rest @ ..] if version.is(Tag::Integer) && rest.len() >= 8 => {
            rsa_modulus_bits(rest)
        }
        _ => Err("RSAPrivateKey: expected version and eight integers".into()),
    }
}

fn rsa_modulus_bits(fields: &[Tlv<'_>]) -> Result<u32, String> {
    match fields.first() {
        Some(modulus) if modulus.is(Tag::Integer) => Ok(der::integer_bits(modulus.content)),
        _ => Err("RSA key without a modulus".into()),
    }
}

/// The size of a named curve; explicit curve parameters are refused.
fn curve_bits(curve: &Tlv<'_>) -> Result<u32, String> {
    if !curve.is(Tag::Oid) {
        return Err(
            "EC key with explicit curve parameters (only named curves are supported)".into(),
        );
    }
    match curve.content {
        oid::P256 => Ok(256),
        oid::P384 => Ok(384),
        oid::P521 => Ok(521),
        other => Err(format!("unknown elliptic curve (OID bytes {other:02x?})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rcgen_key(algorithm: &'static rcgen::SignatureAlgorithm) -> rcgen::KeyPair {
        rcgen::KeyPair::generate_for(algorithm).unwrap()
    }

    #[test]
    fn pkcs8_ec_keys_read_with_their_curve_size() {
        for (algorithm, bits) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, 256),
            (&rcgen::PKCS_ECDSA_P384_SHA384, 384),
        ] {
            let pair = rcgen_key(algorithm);
            let key = SslKey::from_pem(pair.serialize_pem().as_bytes()).unwrap();
            assert_eq!(key.algorithm(), KeyAlgorithm::Ec);
            assert_eq!(key.key_type(), KeyType::PrivateKey);
            assert_eq!(key.length(), bits);
            assert_eq!(key.to_der(), pair.serialize_der().as_slice());
            assert_eq!(key.to_pem(), pair.serialize_pem());
            assert_eq!(SslKey::from_der(key.to_der()).unwrap(), key);
            assert!(matches!(key.to_rustls(), Some(PrivateKeyDer::Pkcs8(_))));

            let public = SslKey::from_pem(pair.public_key_pem().as_bytes()).unwrap();
            assert_eq!(public.key_type(), KeyType::PublicKey);
            assert_eq!(
                (public.algorithm(), public.length()),
                (KeyAlgorithm::Ec, bits)
            );
            assert!(public.to_rustls().is_none());
            assert!(public.to_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        }
    }

    #[test]
    fn ed25519_keys_are_opaque() {
        let pair = rcgen_key(&rcgen::PKCS_ED25519);
        let key = SslKey::from_der(&pair.serialize_der()).unwrap();
        assert_eq!((key.algorithm(), key.length()), (KeyAlgorithm::Opaque, 256));
    }

    /// A SEC1 key, as `openssl ecparam -genkey` writes it.
    const SEC1_P256: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIO7Za2Ecd3DqltBP+9GbH6H/XLae0R0JEw8HSkM8F1KRoAoGCCqGSM49
AwEHoUQDQgAERRcLPVMKaN7k0afUvQpkwPZwlQvFtmpqSHpSg3FMIjx8PQ4ZWdP2
SjVv13xxZuVrjLtzHTl6F/ij2rSojegPtg==
-----END EC PRIVATE KEY-----
";

    #[test]
    fn sec1_keys_read_and_keep_their_label() {
        let key = SslKey::from_pem(SEC1_P256.as_bytes()).unwrap();
        assert_eq!((key.algorithm(), key.length()), (KeyAlgorithm::Ec, 256));
        assert_eq!(key.to_pem(), SEC1_P256);
        assert!(matches!(key.to_rustls(), Some(PrivateKeyDer::Sec1(_))));
        assert_eq!(SslKey::from_der(key.to_der()).unwrap(), key);
        assert_eq!(format!("{key:?}"), "SslKey(PrivateKey, Ec, 256)");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(SslKey::from_der(b""), Err(SslParseError::Der(_))));
        assert!(matches!(
            SslKey::from_der(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            Err(SslParseError::Der(_))
        ));
        assert_eq!(
            SslKey::from_pem(b"hello"),
            Err(SslParseError::NotFound("PRIVATE KEY"))
        );
        // A PKCS#8 structure whose key ring rejects.
        let mut der = rcgen_key(&rcgen::PKCS_ECDSA_P256_SHA256).serialize_der();
        let last = der.len() - 1;
        der[last] ^= 0xff;
        assert!(matches!(
            SslKey::from_der(&der),
            Err(SslParseError::Unsupported(_))
        ));
    }
}

#[cfg(test)]
mod rsa_tests {
    use super::*;

    // Throwaway keys made with `openssl genrsa -traditional` and
    // `openssl pkey` (PKCS#8) for these tests only.
    const PKCS1_2048: &str = include_str!("testdata/rsa2048-pkcs1.key");
    const PKCS8_2048: &str = include_str!("testdata/rsa2048-pkcs8.key");
    const PKCS1_1024: &str = include_str!("testdata/rsa1024-pkcs1.key");

    /// Qt 6.11 reads these as RSA, 2048 bits, and writes PKCS#1 back.
    #[test]
    fn rsa_keys_read_in_both_structures() {
        let pkcs1 = SslKey::from_pem(PKCS1_2048.as_bytes()).unwrap();
        assert_eq!(
            (pkcs1.algorithm(), pkcs1.length()),
            (KeyAlgorithm::Rsa, 2048)
        );
        assert_eq!(pkcs1.to_pem(), PKCS1_2048);
        assert!(matches!(pkcs1.to_rustls(), Some(PrivateKeyDer::Pkcs1(_))));
        assert_eq!(SslKey::from_der(pkcs1.to_der()).unwrap(), pkcs1);

        let pkcs8 = SslKey::from_pem(PKCS8_2048.as_bytes()).unwrap();
        assert_eq!(
            (pkcs8.algorithm(), pkcs8.length()),
            (KeyAlgorithm::Rsa, 2048)
        );
        assert!(matches!(pkcs8.to_rustls(), Some(PrivateKeyDer::Pkcs8(_))));
        assert_ne!(pkcs8, pkcs1, "same key, other structure");
    }

    /// Qt (OpenSSL) takes a 1024-bit RSA key; ring does not sign with
    /// one, so sigloop says so when the key is read.
    #[test]
    fn short_rsa_keys_are_refused_with_a_reason() {
        match SslKey::from_pem(PKCS1_1024.as_bytes()) {
            Err(SslParseError::Unsupported(reason)) => assert!(!reason.is_empty()),
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }
}
