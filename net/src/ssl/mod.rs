//! TLS: QtNetwork's SSL classes on rustls (ring provider).
//!
//! This module holds the certificate side: [`SslCertificate`] (X.509
//! certificates and Qt's view of their fields), [`SslKey`] (private and
//! public keys), [`SslError`] / [`SslErrorKind`] (Qt's verification
//! errors, values and texts) and the system's CA certificates
//! ([`system_ca_certificates`]), and [`verify_chain`], which verifies a
//! chain and reports every error as Qt does.
//!
//! The connection side: [`SslSocket`] (`QSslSocket`: a
//! [`TcpSocket`](crate::TcpSocket) whose bytes go through a rustls
//! session held in the socket engine), [`SslServer`] (Qt 6.4's
//! `QSslServer`), [`SslConfiguration`] (`QSslConfiguration`, with the
//! process default), [`SslCipher`], [`SslProtocol`], [`PeerVerifyMode`]
//! and the alert types.
//!
//! Why ring: it builds with the C compiler every machine has, where
//! rustls' default provider (aws-lc-rs) needs cmake.
//!
//! ```
//! use sigloop_net::ssl::{SslCertificate, SslErrorKind};
//!
//! # let pem = include_str!("testdata/doc-ca.crt");
//! let certificates = SslCertificate::list_from_pem(pem.as_bytes())?;
//! assert_eq!(certificates[0].subject_display_name(), "sigloop doc CA");
//! assert_eq!(SslErrorKind::CertificateExpired.text(), "The certificate has expired");
//! # Ok::<(), sigloop_net::ssl::SslParseError>(())
//! ```

mod alert;
mod certificate;
mod cipher;
pub(crate) mod configuration;
mod der;
mod error;
mod handshake;
mod host_name;
mod key;
mod pem;
mod server;
mod socket;
mod system;
pub(crate) mod verify;

pub use certificate::{AlternativeNameType, DigestAlgorithm, SslCertificate, SubjectInfo};
pub use error::{SslError, SslErrorKind, SslParseError};
pub use key::{KeyAlgorithm, KeyType, SslKey};
pub use system::system_ca_certificates;
pub use verify::{verify_chain, VerifyPurpose};

pub use alert::{AlertLevel, AlertType};
pub use cipher::SslCipher;
pub use configuration::{
    NextProtocolNegotiationStatus, PeerVerifyMode, SslConfiguration, SslProtocol,
};
pub use server::{SslServer, WeakSslServer};
pub(crate) use socket::SslSignals;
pub use socket::{Alert, PauseMode, SslMode, SslSocket, WeakSslSocket};
