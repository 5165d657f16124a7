//! `SslConfiguration` (Qt: `QSslConfiguration`): what a TLS socket uses
//! for its handshake, with the process-wide default every new socket
//! copies; and the enums that go with it (`QSsl::SslProtocol`,
//! `QSslSocket::PeerVerifyMode`, the ALPN status).
//!
//! A configuration builds the rustls configurations it needs once and
//! keeps them: every socket made from the same configuration (or a copy
//! of it) shares them, and with them one TLS session cache. That is how
//! session resumption maps onto Qt's: Qt's OpenSSL backend caches the
//! last session per `QSslContext` and resumes it on the next connection;
//! here the client keeps rustls' session cache (TLS 1.3 tickets and TLS
//! 1.2 session ids, up to 256 servers) and the server its session store,
//! both shared by the copies of a configuration. Changing a setting makes
//! a new configuration with new caches.

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::ClientSessionMemoryCache;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::server::ServerSessionMemoryCache;

use super::handshake::{NoCertificate, SignaturesOnly};
use super::{SslCertificate, SslKey};

/// TLS protocol versions, with Qt's values. rustls speaks TLS 1.2 and
/// 1.3; the older versions and DTLS are refused when a handshake starts
/// (Qt's `SslInvalidUserDataError`, "Attempted to use an unsupported
/// protocol.").
///
/// Qt: `QSsl::SslProtocol`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::SslProtocol;
/// assert_eq!(SslProtocol::SecureProtocols as i32, 4);
/// assert_eq!(SslProtocol::TlsV1_3 as i32, 12);
/// assert_eq!(SslProtocol::TlsV1_2.qt_name(), "TlsV1_2");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum SslProtocol {
    /// Qt: `QSsl::TlsV1_0` (not available: rustls has no TLS 1.0).
    TlsV1_0 = 0,
    /// Qt: `QSsl::TlsV1_1` (not available: rustls has no TLS 1.1).
    TlsV1_1 = 1,
    /// Qt: `QSsl::TlsV1_2`: TLS 1.2 only.
    TlsV1_2 = 2,
    /// Qt: `QSsl::AnyProtocol`: every version rustls has (1.2, 1.3).
    AnyProtocol = 3,
    /// Qt: `QSsl::SecureProtocols`, the default: TLS 1.2 and 1.3.
    #[default]
    SecureProtocols = 4,
    /// Qt: `QSsl::TlsV1_0OrLater`: here TLS 1.2 and 1.3.
    TlsV1_0OrLater = 5,
    /// Qt: `QSsl::TlsV1_1OrLater`: here TLS 1.2 and 1.3.
    TlsV1_1OrLater = 6,
    /// Qt: `QSsl::TlsV1_2OrLater`: TLS 1.2 and 1.3.
    TlsV1_2OrLater = 7,
    /// Qt: `QSsl::DtlsV1_0` (datagram TLS; not for sockets).
    DtlsV1_0 = 8,
    /// Qt: `QSsl::DtlsV1_0OrLater`.
    DtlsV1_0OrLater = 9,
    /// Qt: `QSsl::DtlsV1_2`.
    DtlsV1_2 = 10,
    /// Qt: `QSsl::DtlsV1_2OrLater`.
    DtlsV1_2OrLater = 11,
    /// Qt: `QSsl::TlsV1_3`: TLS 1.3 only.
    TlsV1_3 = 12,
    /// Qt: `QSsl::TlsV1_3OrLater`: TLS 1.3.
    TlsV1_3OrLater = 13,
    /// Qt: `QSsl::UnknownProtocol` (-1): no session, or a cipher's
    /// protocol is unknown.
    UnknownProtocol = -1,
}

impl SslProtocol {
    /// Qt's enumerator name (`"TlsV1_3"`), as Qt's traces print it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslProtocol::TlsV1_3.qt_name(), "TlsV1_3");
    /// ```
    pub fn qt_name(self) -> &'static str {
        use SslProtocol::*;
        match self {
            TlsV1_0 => "TlsV1_0",
            TlsV1_1 => "TlsV1_1",
            TlsV1_2 => "TlsV1_2",
            AnyProtocol => "AnyProtocol",
            SecureProtocols => "SecureProtocols",
            TlsV1_0OrLater => "TlsV1_0OrLater",
            TlsV1_1OrLater => "TlsV1_1OrLater",
            TlsV1_2OrLater => "TlsV1_2OrLater",
            DtlsV1_0 => "DtlsV1_0",
            DtlsV1_0OrLater => "DtlsV1_0OrLater",
            DtlsV1_2 => "DtlsV1_2",
            DtlsV1_2OrLater => "DtlsV1_2OrLater",
            TlsV1_3 => "TlsV1_3",
            TlsV1_3OrLater => "TlsV1_3OrLater",
            UnknownProtocol => "UnknownProtocol",
        }
    }

    /// The versions rustls may negotiate for this setting; `None` when it
    /// has none of them.
    fn versions(self) -> Option<&'static [&'static rustls::SupportedProtocolVersion]> {
        use SslProtocol::*;
        static BOTH: &[&rustls::SupportedProtocolVersion] =
            &[&rustls::version::TLS13, &rustls::version::TLS12];
        static V12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
        static V13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
        match self {
            TlsV1_2 => Some(V12),
            TlsV1_3 | TlsV1_3OrLater => Some(V13),
            AnyProtocol | SecureProtocols | TlsV1_0OrLater | TlsV1_1OrLater | TlsV1_2OrLater => {
                Some(BOTH)
            }
            TlsV1_0 | TlsV1_1 | DtlsV1_0 | DtlsV1_0OrLater | DtlsV1_2 | DtlsV1_2OrLater
            | UnknownProtocol => None,
        }
    }

    /// The protocol rustls negotiated.
    pub(crate) fn from_rustls(version: rustls::ProtocolVersion) -> SslProtocol {
        match version {
            rustls::ProtocolVersion::TLSv1_2 => SslProtocol::TlsV1_2,
            rustls::ProtocolVersion::TLSv1_3 => SslProtocol::TlsV1_3,
            _ => SslProtocol::UnknownProtocol,
        }
    }
}

/// Whether and how a socket asks for and checks its peer's certificate.
///
/// Qt: `QSslSocket::PeerVerifyMode`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::PeerVerifyMode;
/// assert_eq!(PeerVerifyMode::default(), PeerVerifyMode::AutoVerifyPeer);
/// assert_eq!(PeerVerifyMode::VerifyPeer as i32, 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum PeerVerifyMode {
    /// No certificate is asked for, and verification errors never fail
    /// the handshake (they are still reported). Qt: `VerifyNone`.
    VerifyNone = 0,
    /// A certificate is asked for; a missing or invalid one does not fail
    /// the handshake (the default for servers). Qt: `QueryPeer`.
    QueryPeer = 1,
    /// A certificate is asked for and must be valid (the default for
    /// clients). Qt: `VerifyPeer`.
    VerifyPeer = 2,
    /// `VerifyPeer` for clients, `QueryPeer` for servers.
    /// Qt: `AutoVerifyPeer`.
    #[default]
    AutoVerifyPeer = 3,
}

/// How the ALPN negotiation ended.
///
/// Qt: `QSslConfiguration::NextProtocolNegotiationStatus`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::NextProtocolNegotiationStatus;
/// assert_eq!(NextProtocolNegotiationStatus::Negotiated as i32, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum NextProtocolNegotiationStatus {
    /// No protocol was negotiated (none offered, or the peer chose none).
    /// Qt: `NextProtocolNegotiationNone`.
    #[default]
    None = 0,
    /// A protocol was agreed. Qt: `NextProtocolNegotiationNegotiated`.
    Negotiated = 1,
    /// The peers have no protocol in common. Qt:
    /// `NextProtocolNegotiationUnsupported`. rustls ends such a handshake
    /// with the `no_application_protocol` alert instead (RFC 7301), so a
    /// socket reports a failed handshake, never this status.
    Unsupported = 2,
}

/// What a configuration holds.
#[derive(Clone)]
struct Settings {
    /// CA certificates set or added.
    ca_certificates: Vec<SslCertificate>,
    /// The system's CA certificates join `ca_certificates` when a
    /// handshake needs them (Qt's on-demand loading).
    system_cas: bool,
    local_chain: Vec<SslCertificate>,
    private_key: Option<SslKey>,
    peer_verify_mode: PeerVerifyMode,
    peer_verify_depth: i32,
    protocol: SslProtocol,
    allowed_next_protocols: Vec<Vec<u8>>,
    missing_certificate_is_fatal: bool,
    handshake_must_interrupt_on_error: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            ca_certificates: Vec::new(),
            system_cas: true,
            local_chain: Vec::new(),
            private_key: None,
            peer_verify_mode: PeerVerifyMode::AutoVerifyPeer,
            peer_verify_depth: 0,
            protocol: SslProtocol::SecureProtocols,
            allowed_next_protocols: Vec::new(),
            missing_certificate_is_fatal: false,
            handshake_must_interrupt_on_error: false,
        }
    }
}

/// The settings with the rustls configurations built from them.
#[derive(Default)]
struct Inner {
    settings: Settings,
    client: OnceLock<Result<Arc<rustls::ClientConfig>, String>>,
    server: OnceLock<Result<Arc<rustls::ServerConfig>, String>>,
}

impl Clone for Inner {
    /// A changed copy builds its own rustls configurations.
    fn clone(&self) -> Inner {
        Inner {
            settings: self.settings.clone(),
            client: OnceLock::new(),
            server: OnceLock::new(),
        }
    }
}

/// The TLS settings of a socket: CA certificates, the local certificate
/// chain and private key, peer verification, protocol versions and ALPN.
///
/// A value type, cheap to clone (the settings are shared until one copy
/// changes). Each new [`SslSocket`](crate::ssl::SslSocket) starts with a
/// copy of [`default_configuration`](Self::default_configuration); change
/// a socket's with [`SslSocket::set_ssl_configuration`](crate::ssl::SslSocket::set_ssl_configuration)
/// before its handshake. Copies share one TLS session cache (see the
/// module docs).
///
/// Qt: `QSslConfiguration`.
///
/// # Examples
///
/// ```
/// use sigloop_net::ssl::{PeerVerifyMode, SslConfiguration, SslProtocol};
///
/// let mut config = SslConfiguration::default_configuration();
/// assert_eq!(config.protocol(), SslProtocol::SecureProtocols);
/// config.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
/// config.set_allowed_next_protocols(vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
/// assert_eq!(config.allowed_next_protocols().len(), 2);
/// assert_ne!(config, SslConfiguration::default_configuration());
/// ```
#[derive(Clone, Default)]
pub struct SslConfiguration {
    inner: Arc<Inner>,
}

/// The process-wide default (`None`: the built-in one).
static DEFAULT: Mutex<Option<SslConfiguration>> = Mutex::new(None);

/// The crypto provider every configuration uses: ring.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    // rustls 0.23.48 deprecates ring's provider because ring has no
    // post-quantum key exchange; ring is still the provider that builds
    // with only a C compiler (see the module docs), so it stays.
    #[allow(deprecated)]
    let make = rustls::crypto::ring::default_provider;
    PROVIDER.get_or_init(|| Arc::new(make())).clone()
}

impl SslConfiguration {
    /// The built-in settings: no CA certificate of its own but the
    /// system's when a handshake needs them, no local certificate,
    /// `AutoVerifyPeer`, depth 0 (unlimited), `SecureProtocols`, no ALPN.
    /// Qt: `QSslConfiguration::QSslConfiguration()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let config = sigloop_net::ssl::SslConfiguration::new();
    /// assert!(config.local_certificate().is_none());
    /// assert_eq!(config.peer_verify_depth(), 0);
    /// ```
    pub fn new() -> SslConfiguration {
        SslConfiguration::default()
    }

    /// The configuration new sockets copy (the built-in one unless
    /// [`set_default_configuration`](Self::set_default_configuration)
    /// replaced it). Qt: `QSslConfiguration::defaultConfiguration()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::SslConfiguration;
    /// assert_eq!(SslConfiguration::default_configuration(), SslConfiguration::new());
    /// ```
    pub fn default_configuration() -> SslConfiguration {
        let guard = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
        guard.clone().unwrap_or_default()
    }

    /// Replaces the process-wide default; sockets made afterwards copy it,
    /// existing ones keep theirs. Qt: `QSslConfiguration::setDefaultConfiguration()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslConfiguration, SslProtocol};
    /// let mut config = SslConfiguration::default_configuration();
    /// config.set_protocol(SslProtocol::TlsV1_2OrLater);
    /// SslConfiguration::set_default_configuration(config.clone());
    /// assert_eq!(SslConfiguration::default_configuration(), config);
    /// # SslConfiguration::set_default_configuration(SslConfiguration::new());
    /// ```
    pub fn set_default_configuration(configuration: SslConfiguration) {
        let mut guard = DEFAULT.lock().unwrap_or_else(|e| e.into_inner());
        *guard = Some(configuration);
    }

    fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    fn settings_mut(&mut self) -> &mut Settings {
        &mut Arc::make_mut(&mut self.inner).settings
    }

    // ----- CA certificates ---------------------------------------------

    /// The certificates a peer's chain may lead to: those set or added,
    /// then the system's unless [`set_ca_certificates`](Self::set_ca_certificates)
    /// replaced them. Qt: `QSslConfiguration::caCertificates()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::SslConfiguration;
    /// let mut config = SslConfiguration::new();
    /// config.set_ca_certificates(Vec::new());
    /// assert!(config.ca_certificates().is_empty());
    /// ```
    pub fn ca_certificates(&self) -> Vec<SslCertificate> {
        let mut all = self.settings().ca_certificates.clone();
        if self.settings().system_cas {
            all.extend(super::system_ca_certificates());
        }
        all
    }

    /// Trusts exactly `certificates` (the system's are no longer loaded).
    /// Qt: `QSslConfiguration::setCaCertificates()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = sigloop_net::ssl::SslConfiguration::new();
    /// config.set_ca_certificates(Vec::new());
    /// assert!(config.ca_certificates().is_empty());
    /// ```
    pub fn set_ca_certificates(&mut self, certificates: Vec<SslCertificate>) {
        let settings = self.settings_mut();
        settings.ca_certificates = certificates;
        settings.system_cas = false;
    }

    /// Trusts `certificate` too. Unlike Qt, which stops loading the
    /// system's certificates on demand once one is added, the system's
    /// stay trusted: call [`set_ca_certificates`](Self::set_ca_certificates)
    /// to trust only your own. Qt: `QSslConfiguration::addCaCertificate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pem = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.pem();
    /// use sigloop_net::ssl::{SslCertificate, SslConfiguration};
    /// let ca = SslCertificate::from_pem(pem.as_bytes()).unwrap();
    /// let mut config = SslConfiguration::new();
    /// config.set_ca_certificates(Vec::new());
    /// config.add_ca_certificate(ca.clone());
    /// assert_eq!(config.ca_certificates(), vec![ca]);
    /// ```
    pub fn add_ca_certificate(&mut self, certificate: SslCertificate) {
        self.settings_mut().ca_certificates.push(certificate);
    }

    /// Trusts `certificates` too (see [`add_ca_certificate`](Self::add_ca_certificate)).
    /// Qt: `QSslConfiguration::addCaCertificates()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = sigloop_net::ssl::SslConfiguration::new();
    /// config.set_ca_certificates(Vec::new());
    /// config.add_ca_certificates(Vec::new());
    /// assert!(config.ca_certificates().is_empty());
    /// ```
    pub fn add_ca_certificates(&mut self, certificates: Vec<SslCertificate>) {
        self.settings_mut().ca_certificates.extend(certificates);
    }

    /// The system's CA certificates. Qt: `QSslConfiguration::systemCaCertificates()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let _roots = sigloop_net::ssl::SslConfiguration::system_ca_certificates();
    /// ```
    pub fn system_ca_certificates() -> Vec<SslCertificate> {
        super::system_ca_certificates()
    }

    // ----- local certificate and key -------------------------------------

    /// The certificate this side presents (the first of the chain).
    /// Qt: `QSslConfiguration::localCertificate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslConfiguration::new().local_certificate().is_none());
    /// ```
    pub fn local_certificate(&self) -> Option<SslCertificate> {
        self.settings().local_chain.first().cloned()
    }

    /// Presents `certificate` alone. Qt: `QSslConfiguration::setLocalCertificate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pem = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap().cert.pem();
    /// use sigloop_net::ssl::{SslCertificate, SslConfiguration};
    /// let certificate = SslCertificate::from_pem(pem.as_bytes()).unwrap();
    /// let mut config = SslConfiguration::new();
    /// config.set_local_certificate(certificate.clone());
    /// assert_eq!(config.local_certificate(), Some(certificate));
    /// ```
    pub fn set_local_certificate(&mut self, certificate: SslCertificate) {
        self.settings_mut().local_chain = vec![certificate];
    }

    /// The chain this side presents, its own certificate first.
    /// Qt: `QSslConfiguration::localCertificateChain()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslConfiguration::new().local_certificate_chain().is_empty());
    /// ```
    pub fn local_certificate_chain(&self) -> Vec<SslCertificate> {
        self.settings().local_chain.clone()
    }

    /// Presents `chain` (own certificate first, then intermediates).
    /// Qt: `QSslConfiguration::setLocalCertificateChain()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = sigloop_net::ssl::SslConfiguration::new();
    /// config.set_local_certificate_chain(Vec::new());
    /// assert!(config.local_certificate().is_none());
    /// ```
    pub fn set_local_certificate_chain(&mut self, chain: Vec<SslCertificate>) {
        self.settings_mut().local_chain = chain;
    }

    /// The private key of the local certificate.
    /// Qt: `QSslConfiguration::privateKey()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslConfiguration::new().private_key().is_none());
    /// ```
    pub fn private_key(&self) -> Option<SslKey> {
        self.settings().private_key.clone()
    }

    /// Sets the private key of the local certificate.
    /// Qt: `QSslConfiguration::setPrivateKey()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let pem = rcgen::KeyPair::generate().unwrap().serialize_pem();
    /// use sigloop_net::ssl::{SslConfiguration, SslKey};
    /// let key = SslKey::from_pem(pem.as_bytes()).unwrap();
    /// let mut config = SslConfiguration::new();
    /// config.set_private_key(key.clone());
    /// assert_eq!(config.private_key(), Some(key));
    /// ```
    pub fn set_private_key(&mut self, key: SslKey) {
        self.settings_mut().private_key = Some(key);
    }

    // ----- verification ------------------------------------------------

    /// Qt: `QSslConfiguration::peerVerifyMode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{PeerVerifyMode, SslConfiguration};
    /// assert_eq!(SslConfiguration::new().peer_verify_mode(), PeerVerifyMode::AutoVerifyPeer);
    /// ```
    pub fn peer_verify_mode(&self) -> PeerVerifyMode {
        self.settings().peer_verify_mode
    }

    /// Qt: `QSslConfiguration::setPeerVerifyMode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{PeerVerifyMode, SslConfiguration};
    /// let mut config = SslConfiguration::new();
    /// config.set_peer_verify_mode(PeerVerifyMode::QueryPeer);
    /// assert_eq!(config.peer_verify_mode(), PeerVerifyMode::QueryPeer);
    /// ```
    pub fn set_peer_verify_mode(&mut self, mode: PeerVerifyMode) {
        self.settings_mut().peer_verify_mode = mode;
    }

    /// How many certificates of the peer's chain are checked; 0 means
    /// all. Qt: `QSslConfiguration::peerVerifyDepth()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_net::ssl::SslConfiguration::new().peer_verify_depth(), 0);
    /// ```
    pub fn peer_verify_depth(&self) -> i32 {
        self.settings().peer_verify_depth
    }

    /// Sets the verify depth; a negative depth is refused with Qt's
    /// warning and changes nothing. Qt: `QSslConfiguration::setPeerVerifyDepth()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = sigloop_net::ssl::SslConfiguration::new();
    /// config.set_peer_verify_depth(2);
    /// config.set_peer_verify_depth(-1); // warning, ignored
    /// assert_eq!(config.peer_verify_depth(), 2);
    /// ```
    pub fn set_peer_verify_depth(&mut self, depth: i32) {
        if depth < 0 {
            log::warn!(
                "SslConfiguration::set_peer_verify_depth: cannot set negative depth of {depth}"
            );
            return;
        }
        self.settings_mut().peer_verify_depth = depth;
    }

    /// Whether a server fails the handshake when a client it asked for a
    /// certificate sends none (with `VerifyPeer`). Default `false`.
    /// Qt: `QSslConfiguration::missingCertificateIsFatal()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::ssl::SslConfiguration::new().missing_certificate_is_fatal());
    /// ```
    pub fn missing_certificate_is_fatal(&self) -> bool {
        self.settings().missing_certificate_is_fatal
    }

    /// Sets [`missing_certificate_is_fatal`](Self::missing_certificate_is_fatal):
    /// rustls then refuses the client at the TLS level (the
    /// `certificate_required` alert) instead of reporting
    /// `NoPeerCertificate` after the handshake.
    /// Qt: `QSslConfiguration::setMissingCertificateIsFatal()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = sigloop_net::ssl::SslConfiguration::new();
    /// config.set_missing_certificate_is_fatal(true);
    /// assert!(config.missing_certificate_is_fatal());
    /// ```
    pub fn set_missing_certificate_is_fatal(&mut self, fatal: bool) {
        self.settings_mut().missing_certificate_is_fatal = fatal;
    }

    /// Whether a verification error interrupts the handshake with
    /// `handshake_interrupted_on_error` first. Default `false`.
    /// Qt: `QSslConfiguration::handshakeMustInterruptOnError()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_net::ssl::SslConfiguration::new().handshake_must_interrupt_on_error());
    /// ```
    pub fn handshake_must_interrupt_on_error(&self) -> bool {
        self.settings().handshake_must_interrupt_on_error
    }

    /// Sets [`handshake_must_interrupt_on_error`](Self::handshake_must_interrupt_on_error).
    /// Qt: `QSslConfiguration::setHandshakeMustInterruptOnError()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = sigloop_net::ssl::SslConfiguration::new();
    /// config.set_handshake_must_interrupt_on_error(true);
    /// assert!(config.handshake_must_interrupt_on_error());
    /// ```
    pub fn set_handshake_must_interrupt_on_error(&mut self, interrupt: bool) {
        self.settings_mut().handshake_must_interrupt_on_error = interrupt;
    }

    // ----- protocol and ALPN ---------------------------------------------

    /// Qt: `QSslConfiguration::protocol()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslConfiguration, SslProtocol};
    /// assert_eq!(SslConfiguration::new().protocol(), SslProtocol::SecureProtocols);
    /// ```
    pub fn protocol(&self) -> SslProtocol {
        self.settings().protocol
    }

    /// Qt: `QSslConfiguration::setProtocol()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslConfiguration, SslProtocol};
    /// let mut config = SslConfiguration::new();
    /// config.set_protocol(SslProtocol::TlsV1_3);
    /// assert_eq!(config.protocol(), SslProtocol::TlsV1_3);
    /// ```
    pub fn set_protocol(&mut self, protocol: SslProtocol) {
        self.settings_mut().protocol = protocol;
    }

    /// The application protocols offered (client) or accepted (server)
    /// through ALPN, most preferred first.
    /// Qt: `QSslConfiguration::allowedNextProtocols()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_net::ssl::SslConfiguration::new().allowed_next_protocols().is_empty());
    /// ```
    pub fn allowed_next_protocols(&self) -> Vec<Vec<u8>> {
        self.settings().allowed_next_protocols.clone()
    }

    /// Qt: `QSslConfiguration::setAllowedNextProtocols()`. Empty names and
    /// names over 255 bytes cannot go into ALPN and are left out with a
    /// warning.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut config = sigloop_net::ssl::SslConfiguration::new();
    /// config.set_allowed_next_protocols(vec![b"h2".to_vec()]);
    /// assert_eq!(config.allowed_next_protocols(), vec![b"h2".to_vec()]);
    /// ```
    pub fn set_allowed_next_protocols(&mut self, protocols: Vec<Vec<u8>>) {
        let valid: Vec<Vec<u8>> = protocols
            .into_iter()
            .filter(|p| {
                let ok = !p.is_empty() && p.len() <= 255;
                if !ok {
                    log::warn!("SslConfiguration::set_allowed_next_protocols: a protocol name must be 1 to 255 bytes long");
                }
                ok
            })
            .collect();
        self.settings_mut().allowed_next_protocols = valid;
    }

    // ----- for the TLS layer ---------------------------------------------

    /// CA certificates for verification (the system's loaded on demand).
    pub(crate) fn trust_anchors(&self) -> Vec<SslCertificate> {
        self.ca_certificates()
    }

    /// Whether the protocol setting is one rustls can speak; `Err` holds
    /// the warning.
    pub(crate) fn check_protocol(&self) -> Result<(), String> {
        match self.protocol().versions() {
            Some(_) => Ok(()),
            None => Err(format!(
                "the protocol {} is not available (rustls speaks TLS 1.2 and 1.3)",
                self.protocol().qt_name()
            )),
        }
    }

    /// The rustls client configuration, built once per configuration.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        self.inner
            .client
            .get_or_init(|| self.build_client().map(Arc::new))
            .clone()
    }

    /// The rustls server configuration, built once per configuration.
    pub(crate) fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, String> {
        self.inner
            .server
            .get_or_init(|| self.build_server().map(Arc::new))
            .clone()
    }

    fn versions(&self) -> Result<&'static [&'static rustls::SupportedProtocolVersion], String> {
        self.check_protocol()?;
        self.protocol().versions().ok_or_else(String::new)
    }

    /// The local chain and key as rustls takes them; `None` without a
    /// certificate.
    fn identity(
        &self,
    ) -> Result<
        Option<(
            Vec<CertificateDer<'static>>,
            rustls::pki_types::PrivateKeyDer<'static>,
        )>,
        String,
    > {
        let settings = self.settings();
        if settings.local_chain.is_empty() {
            return Ok(None);
        }
        let key = settings
            .private_key
            .as_ref()
            .and_then(SslKey::to_rustls)
            .ok_or_else(|| "Cannot provide a certificate with no key".to_owned())?;
        let chain = settings
            .local_chain
            .iter()
            .map(|c| CertificateDer::from(c.to_der().to_vec()))
            .collect();
        Ok(Some((chain, key)))
    }

    fn build_client(&self) -> Result<rustls::ClientConfig, String> {
        let provider = provider();
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(self.versions()?)
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SignaturesOnly::new(
                provider, false, false,
            )));
        let mut config = match self.identity()? {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("Private key does not certify public key, {e}"))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.settings().allowed_next_protocols.clone();
        config.resumption =
            rustls::client::Resumption::store(Arc::new(ClientSessionMemoryCache::new(256)));
        Ok(config)
    }

    fn build_server(&self) -> Result<rustls::ServerConfig, String> {
        let provider = provider();
        let settings = self.settings();
        // A server asks for a certificate unless told not to (Qt:
        // `AutoVerifyPeer` is `QueryPeer` on a server).
        let ask = settings.peer_verify_mode != PeerVerifyMode::VerifyNone;
        let mandatory = settings.peer_verify_mode == PeerVerifyMode::VerifyPeer
            && settings.missing_certificate_is_fatal;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(self.versions()?)
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(Arc::new(SignaturesOnly::new(provider, ask, mandatory)));
        let mut config = match self.identity()? {
            Some((chain, key)) => builder
                .with_single_cert(chain, key)
                .map_err(|e| format!("Private key does not certify public key, {e}"))?,
            // No certificate: the handshake fails as OpenSSL's does, at
            // the TLS level, when a client asks for one.
            None => builder.with_cert_resolver(Arc::new(NoCertificate)),
        };
        config.alpn_protocols = settings.allowed_next_protocols.clone();
        config.session_storage = ServerSessionMemoryCache::new(256);
        Ok(config)
    }
}

impl PartialEq for SslConfiguration {
    /// Qt's `operator==`: the same settings.
    fn eq(&self, other: &SslConfiguration) -> bool {
        let (a, b) = (self.settings(), other.settings());
        a.ca_certificates == b.ca_certificates
            && a.system_cas == b.system_cas
            && a.local_chain == b.local_chain
            && a.private_key == b.private_key
            && a.peer_verify_mode == b.peer_verify_mode
            && a.peer_verify_depth == b.peer_verify_depth
            && a.protocol == b.protocol
            && a.allowed_next_protocols == b.allowed_next_protocols
            && a.missing_certificate_is_fatal == b.missing_certificate_is_fatal
            && a.handshake_must_interrupt_on_error == b.handshake_must_interrupt_on_error
    }
}

impl Eq for SslConfiguration {}

impl fmt::Debug for SslConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.settings();
        f.debug_struct("SslConfiguration")
            .field("protocol", &s.protocol)
            .field("peer_verify_mode", &s.peer_verify_mode)
            .field("peer_verify_depth", &s.peer_verify_depth)
            .field("ca_certificates", &s.ca_certificates.len())
            .field("system_cas", &s.system_cas)
            .field("local_chain", &s.local_chain.len())
            .field("allowed_next_protocols", &s.allowed_next_protocols)
            .finish()
    }
}

impl SslCertificate {
    /// Verifies `chain` (the certificate first, then its issuers) against
    /// the default configuration's CA certificates, and its name against
    /// `host_name` when given; returns every error, in Qt's order (empty:
    /// trusted). No purpose is checked.
    /// Qt: `QSslCertificate::verify(certificateChain, hostName)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_net::ssl::{SslCertificate, SslErrorKind};
    /// let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    /// let certificate = SslCertificate::from_pem(made.cert.pem().as_bytes()).unwrap();
    /// let errors = SslCertificate::verify(&[certificate], Some("localhost"));
    /// assert_eq!(errors[0].error(), SslErrorKind::SelfSignedCertificate);
    /// assert!(SslCertificate::verify(&[], None)[0].error() == SslErrorKind::UnspecifiedError);
    /// ```
    pub fn verify(chain: &[SslCertificate], host_name: Option<&str>) -> Vec<super::SslError> {
        let roots = SslConfiguration::default_configuration().ca_certificates();
        super::verify_chain(
            chain,
            &roots,
            host_name,
            super::VerifyPurpose::Any,
            0,
            std::time::SystemTime::now(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The process default lives in a static and configurations travel
    /// to worker threads with their sockets' descriptors.
    #[test]
    fn a_configuration_is_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<SslConfiguration>();
    }

    /// Copies share the built rustls configuration (and so the session
    /// cache); a changed copy builds its own.
    #[test]
    fn copies_share_the_session_cache_until_changed() {
        let config = SslConfiguration::new();
        let copy = config.clone();
        let a = config.client_config().unwrap();
        let b = copy.client_config().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let mut changed = copy.clone();
        changed.set_protocol(SslProtocol::TlsV1_3);
        assert!(!Arc::ptr_eq(&a, &changed.client_config().unwrap()));
    }

    #[test]
    fn old_protocols_are_refused_with_a_reason() {
        let mut config = SslConfiguration::new();
        config.set_protocol(SslProtocol::TlsV1_1);
        assert!(config.check_protocol().unwrap_err().contains("TlsV1_1"));
        assert!(config.client_config().is_err());
    }
}
