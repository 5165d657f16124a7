//! Certificate chain verification with Qt's (OpenSSL backend's) errors.
//!
//! Qt collects every error OpenSSL's `X509_verify_cert` reports to its
//! verify callback (which lets verification go on), maps each to a
//! `QSslError::SslError`, and puts its own host name check first. This
//! module follows the same steps, in the same order:
//!
//! 1. the host name ([`host_name::matches`]), when one is given;
//! 2. building the path from the leaf through the peer's certificates to
//!    a trusted root (trusted issuers preferred), and one error if it does
//!    not end at one: `SelfSignedCertificate`,
//!    `SelfSignedCertificateInChain`, `UnableToGetLocalIssuerCertificate`
//!    (`UnableToGetIssuerCertificate` when the path left the trust store;
//!    `UnspecifiedError` first when it grew past the depth limit);
//! 3. per certificate, leaf first: `InvalidCaCertificate` for an issuer
//!    that is not a CA, `InvalidPurpose`, `PathLengthExceeded`;
//! 4. from the top of the path down to the leaf: `UnableToVerifyFirstCertificate`
//!    (a lone leaf with an unknown issuer), key usage forbidding the
//!    issuer to sign certificates (`UnspecifiedError`, as Qt maps it),
//!    `CertificateSignatureFailed`, then `CertificateNotYetValid` and
//!    `CertificateExpired`.
//!
//! Each error carries the certificate at its depth *in the chain the peer
//! sent* (`chain[depth]`, none past its end), as Qt attaches them.

use std::time::SystemTime;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::x509::X509Name;

use super::certificate::canonical_name;
use super::{host_name, SslCertificate, SslError, SslErrorKind};

/// Which use of the certificate [`verify_chain`] checks, as OpenSSL's
/// purpose setting that Qt's socket makes from its mode.
///
/// Qt: no public name; `QSslSocket` checks `Server` in client mode and
/// `Client` in server mode, `QSslCertificate::verify()` checks `Any`.
///
/// ```
/// use sigloop_net::ssl::VerifyPurpose;
///
/// assert_ne!(VerifyPurpose::Server, VerifyPurpose::Client);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerifyPurpose {
    /// No purpose check: `QSslCertificate::verify()`.
    Any,
    /// We are a client checking a server's certificate (OpenSSL's
    /// `ssl_server` purpose): the leaf's extended key usage must allow
    /// serverAuth.
    Server,
    /// We are a server checking a client's certificate (`ssl_client`).
    Client,
}

/// OpenSSL's verify depth when none is set (Qt's `peerVerifyDepth` 0).
const DEFAULT_DEPTH: usize = 100;

/// Every error Qt reports for `chain` (leaf first, as the peer sent it)
/// against the trusted `roots` at time `now`, in Qt's order, each with
/// the certificate Qt attaches (see the module notes above).
///
/// `peer_name`: check the leaf for this host name, as Qt does in client
/// mode (`None` or empty skips it). `depth`: Qt's `peerVerifyDepth`, the
/// number of intermediate certificates allowed (0 = unlimited). An empty
/// chain gives `[UnspecifiedError]`, as `QSslCertificate::verify` does.
/// An empty list means the chain is trusted for `purpose` and
/// `peer_name`.
///
/// Qt: the checks of `QSslCertificate::verify()` and of `QSslSocket`'s
/// handshake (OpenSSL backend), with the roots, purpose and time given.
///
/// ```
/// use std::time::SystemTime;
/// use sigloop_net::ssl::{verify_chain, SslCertificate, SslErrorKind, VerifyPurpose};
///
/// # let pem = include_str!("testdata/doc-ca.crt");
/// let ca = SslCertificate::from_pem(pem.as_bytes())?;
/// // Trusted: only the host name is wrong.
/// let errors = verify_chain(
///     &[ca.clone()],
///     &[ca.clone()],
///     Some("example.com"),
///     VerifyPurpose::Any,
///     0,
///     SystemTime::now(),
/// );
/// assert_eq!(errors.len(), 1);
/// assert_eq!(errors[0].error(), SslErrorKind::HostNameMismatch);
/// // Untrusted: self-signed.
/// let errors = verify_chain(&[ca.clone()], &[], None, VerifyPurpose::Any, 0, SystemTime::now());
/// assert_eq!(errors[0].error(), SslErrorKind::SelfSignedCertificate);
/// assert_eq!(errors[0].certificate(), Some(&ca));
/// # Ok::<(), sigloop_net::ssl::SslParseError>(())
/// ```
pub fn verify_chain(
    chain: &[SslCertificate],
    roots: &[SslCertificate],
    peer_name: Option<&str>,
    purpose: VerifyPurpose,
    depth: u32,
    now: SystemTime,
) -> Vec<SslError> {
    let Some(leaf) = chain.first() else {
        return vec![SslError::new(SslErrorKind::UnspecifiedError, None)];
    };
    let mut errors = Vec::new();
    if let Some(name) = peer_name.filter(|name| !name.is_empty()) {
        if !host_name::matches(leaf, name) {
            errors.push(SslError::new(
                SslErrorKind::HostNameMismatch,
                Some(leaf.clone()),
            ));
        }
    }
    let max_depth = match usize::try_from(depth) {
        Ok(0) | Err(_) => DEFAULT_DEPTH,
        Ok(depth) => depth,
    };
    let path = Path::build(chain, roots, max_depth.saturating_add(1), now);
    let mut found = Vec::new();
    path.check_trust(max_depth.saturating_add(1), &mut found);
    path.check_extensions(purpose, &mut found);
    path.check_signatures_and_times(now, &mut found);
    errors.extend(
        found
            .into_iter()
            .map(|(kind, depth)| SslError::new(kind, chain.get(depth).cloned())),
    );
    errors
}

/// The order Qt emits `peerVerifyError` in during a client handshake:
/// OpenSSL's errors as its callback sees them, then Qt's own host name
/// check, whereas `sslErrors` (and [`verify_chain`]) list the host name
/// first.
pub(crate) fn peer_verify_error_order(errors: &[SslError]) -> Vec<SslError> {
    let (host, rest): (Vec<&SslError>, Vec<&SslError>) = errors
        .iter()
        .partition(|e| e.error() == SslErrorKind::HostNameMismatch);
    rest.into_iter().chain(host).cloned().collect()
}

/// One certificate of the built path.
struct Link<'a> {
    certificate: &'a SslCertificate,
    parsed: X509Certificate<'a>,
    /// From the trust store (not sent by the peer).
    trusted: bool,
}

/// The path OpenSSL builds: leaf first, then issuers.
struct Path<'a> {
    links: Vec<Link<'a>>,
}

/// An error and the depth (index in the path) it was reported at.
type Found = Vec<(SslErrorKind, usize)>;

impl<'a> Path<'a> {
    /// OpenSSL's `build_chain`: from the leaf, take each issuer from the
    /// trust store if it has one, else from the peer's certificates, until
    /// a self-signed certificate, a trusted root, a dead end, or
    /// `max_links`.
    fn build(
        chain: &'a [SslCertificate],
        roots: &'a [SslCertificate],
        max_links: usize,
        now: SystemTime,
    ) -> Self {
        let link = |certificate: &'a SslCertificate, trusted| Link {
            certificate,
            parsed: certificate.x509(),
            trusted,
        };
        let mut links = vec![link(&chain[0], false)];
        let mut used = vec![false; chain.len()];
        used[0] = true;
        while links.len() <= max_links {
            let current = &links[links.len() - 1];
            if likely_issued_by(current.certificate, current.certificate) {
                // Self-signed: trusted if the store holds this very certificate.
                if !current.trusted && roots.contains(current.certificate) {
                    let last = links.len() - 1;
                    links[last].trusted = true;
                }
                break;
            }
            let current_cert = current.certificate;
            if let Some(root) = pick_issuer(current_cert, roots.iter(), now) {
                links.push(link(root, true));
                continue;
            }
            if current.trusted {
                // Past the trust store, the peer's certificates don't count.
                break;
            }
            let candidates = chain
                .iter()
                .enumerate()
                .filter(|(index, _)| !used[*index])
                .map(|(_, certificate)| certificate);
            let Some(issuer) = pick_issuer(current_cert, candidates, now) else {
                break;
            };
            if let Some(index) = chain.iter().position(|c| std::ptr::eq(c, issuer)) {
                used[index] = true;
            }
            links.push(link(issuer, false));
        }
        Path { links }
    }

    fn top(&self) -> &Link<'a> {
        &self.links[self.links.len() - 1]
    }

    /// The end of `build_chain`: one error unless the path ends at a
    /// trusted certificate.
    fn check_trust(&self, max_links: usize, found: &mut Found) {
        let top = self.top();
        if top.trusted {
            return;
        }
        let count = self.links.len();
        let depth = count - 1;
        if count > max_links {
            // X509_V_ERR_CERT_CHAIN_TOO_LONG, which Qt doesn't name.
            found.push((SslErrorKind::UnspecifiedError, depth));
        }
        let kind = if likely_issued_by(top.certificate, top.certificate) {
            if count == 1 {
                SslErrorKind::SelfSignedCertificate
            } else {
                SslErrorKind::SelfSignedCertificateInChain
            }
        } else if self.links.iter().any(|link| link.trusted) {
            SslErrorKind::UnableToGetIssuerCertificate
        } else {
            SslErrorKind::UnableToGetLocalIssuerCertificate
        };
        found.push((kind, depth));
    }

    /// OpenSSL's `check_extensions`, leaf first: critical extensions it
    /// does not know, CA-ness of issuers, purpose, path length.
    fn check_extensions(&self, purpose: VerifyPurpose, found: &mut Found) {
        let count = self.links.len();
        // Non-self-issued intermediates below the current certificate.
        let mut path_length = 0u32;
        for (depth, link) in self.links.iter().enumerate() {
            let x = &link.parsed;
            if has_unknown_critical_extension(x) {
                found.push((SslErrorKind::UnspecifiedError, depth));
            }
            if depth > 0 {
                let ca = ca_kind(x);
                // Intermediates need basicConstraints CA:TRUE; the top may
                // be any kind of CA (an old v1 root, a keyCertSign one).
                if ca == CaKind::NotCa || (depth + 1 < count && ca != CaKind::BasicConstraints) {
                    found.push((SslErrorKind::InvalidCaCertificate, depth));
                }
            }
            // A trusted self-signed root is trusted for every purpose.
            let trusted_root = link.trusted && is_self_signed_parsed(link);
            if !trusted_root && !purpose_allows(x, purpose, depth > 0) {
                found.push((SslErrorKind::InvalidPurpose, depth));
            }
            if depth > 1 {
                if let Some(limit) = path_length_constraint(x) {
                    if path_length > limit {
                        found.push((SslErrorKind::PathLengthExceeded, depth));
                    }
                }
            }
            if depth > 0 && !is_self_issued(x) {
                path_length += 1;
            }
        }
    }

    /// OpenSSL's `internal_verify`: from the top down, each certificate's
    /// signature by the one above it, then its validity period. A top
    /// that is not self-signed is never checked itself.
    fn check_signatures_and_times(&self, now: SystemTime, found: &mut Found) {
        let top_depth = self.links.len() - 1;
        let (mut subject, mut issuer) =
            if likely_issued_by(self.top().certificate, self.top().certificate) {
                (top_depth, top_depth)
            } else if top_depth == 0 {
                found.push((SslErrorKind::UnableToVerifyFirstCertificate, 0));
                check_time(&self.links[0].parsed, 0, now, found);
                return;
            } else {
                (top_depth - 1, top_depth)
            };
        loop {
            if subject != issuer {
                let signer = &self.links[issuer].parsed;
                if !may_sign_certificates(signer) {
                    // X509_V_ERR_KEYUSAGE_NO_CERTSIGN, which Qt doesn't name.
                    found.push((SslErrorKind::UnspecifiedError, issuer));
                }
                if !signature_verifies(&self.links[subject].parsed, signer) {
                    found.push((SslErrorKind::CertificateSignatureFailed, subject));
                }
            }
            check_time(&self.links[subject].parsed, subject, now, found);
            if subject == 0 {
                break;
            }
            issuer = subject;
            subject -= 1;
        }
    }
}

/// Among `candidates` that plausibly issued `subject`, the first valid
/// at `now`, else the one expiring last (OpenSSL's `find_issuer`).
fn pick_issuer<'c>(
    subject: &SslCertificate,
    candidates: impl Iterator<Item = &'c SslCertificate>,
    now: SystemTime,
) -> Option<&'c SslCertificate> {
    let mut fallback: Option<&'c SslCertificate> = None;
    for candidate in candidates {
        if std::ptr::eq(candidate, subject) || candidate == subject {
            continue;
        }
        if !likely_issued(subject, candidate) {
            continue;
        }
        if candidate.effective_date() <= now && now < candidate.expiry_date() {
            return Some(candidate);
        }
        let later = match fallback {
            None => true,
            Some(best) => candidate.expiry_date() > best.expiry_date(),
        };
        if later {
            fallback = Some(candidate);
        }
    }
    fallback
}

fn check_time(x: &X509Certificate<'_>, depth: usize, now: SystemTime, found: &mut Found) {
    let now = match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let validity = x.validity();
    if validity.not_before.timestamp() > now {
        found.push((SslErrorKind::CertificateNotYetValid, depth));
    }
    if validity.not_after.timestamp() <= now {
        found.push((SslErrorKind::CertificateExpired, depth));
    }
}

/// The signature of `subject` checks out with `issuer`'s key (with ring),
/// and the outer signature algorithm is the one the signed part names.
/// Algorithms ring cannot check count as failures.
fn signature_verifies(subject: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    subject.signature_algorithm == subject.tbs_certificate.signature
        && subject.verify_signature(Some(issuer.public_key())).is_ok()
}

/// OpenSSL's `X509_check_ca` answers that matter here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CaKind {
    /// Not a CA (basicConstraints CA:FALSE, no keyCertSign, or nothing).
    NotCa,
    /// basicConstraints CA:TRUE.
    BasicConstraints,
    /// No basicConstraints, but a v1 self-signed certificate or a key
    /// usage with keyCertSign.
    Other,
}

fn ca_kind(x: &X509Certificate<'_>) -> CaKind {
    if !may_sign_certificates(x) {
        return CaKind::NotCa;
    }
    match x.basic_constraints() {
        Ok(Some(constraints)) if constraints.value.ca => CaKind::BasicConstraints,
        Ok(Some(_)) | Err(_) => CaKind::NotCa,
        Ok(None) => {
            let v1_root = x.version().0 == 0 && names_match(x.subject(), x.issuer());
            let signs = matches!(x.key_usage(), Ok(Some(_)));
            if v1_root || signs {
                CaKind::Other
            } else {
                CaKind::NotCa
            }
        }
    }
}

/// OpenSSL's `X509_check_purpose` for the TLS purposes.
fn purpose_allows(x: &X509Certificate<'_>, purpose: VerifyPurpose, as_ca: bool) -> bool {
    use x509_parser::oid_registry::Oid;
    // Netscape and Microsoft Server Gated Crypto count as serverAuth.
    let ns_sgc = Oid::from(&[2, 16, 840, 1, 113_730, 4, 1]).ok();
    let ms_sgc = Oid::from(&[1, 3, 6, 1, 4, 1, 311, 10, 3, 3]).ok();
    let extended = match x.extended_key_usage() {
        Ok(found) => found.map(|e| e.value.clone()),
        Err(_) => return false,
    };
    let eku_allows = |server: bool| match &extended {
        None => true,
        Some(eku) if server => {
            eku.server_auth
                || eku
                    .other
                    .iter()
                    .any(|oid| Some(oid) == ns_sgc.as_ref() || Some(oid) == ms_sgc.as_ref())
        }
        Some(eku) => eku.client_auth,
    };
    let usage = match x.key_usage() {
        Ok(found) => found.map(|k| *k.value),
        Err(_) => return false,
    };
    match purpose {
        VerifyPurpose::Any => true,
        VerifyPurpose::Server | VerifyPurpose::Client => {
            let server = purpose == VerifyPurpose::Server;
            if !eku_allows(server) {
                return false;
            }
            if as_ca {
                return ca_kind(x) != CaKind::NotCa;
            }
            match usage {
                None => true,
                Some(k) if server => {
                    k.digital_signature() || k.key_encipherment() || k.key_agreement()
                }
                Some(k) => k.digital_signature() || k.key_agreement(),
            }
        }
    }
}

fn path_length_constraint(x: &X509Certificate<'_>) -> Option<u32> {
    match x.basic_constraints() {
        Ok(Some(constraints)) if constraints.value.ca => constraints.value.path_len_constraint,
        _ => None,
    }
}

/// Subject and issuer names match and the key identifiers don't say
/// otherwise (OpenSSL's `EXFLAG_SI`).
fn is_self_issued(x: &X509Certificate<'_>) -> bool {
    names_match(x.subject(), x.issuer()) && key_identifiers_match(x, x)
}

fn is_self_signed_parsed(link: &Link<'_>) -> bool {
    link.certificate.is_self_signed()
}

/// A critical extension OpenSSL does not process
/// (`X509_supported_extension`), which fails verification.
fn has_unknown_critical_extension(x: &X509Certificate<'_>) -> bool {
    const KNOWN: [&str; 13] = [
        "2.16.840.1.113730.1.1", // Netscape certificate type
        "2.5.29.15",             // keyUsage
        "2.5.29.17",             // subjectAltName
        "2.5.29.19",             // basicConstraints
        "2.5.29.32",             // certificatePolicies
        "2.5.29.37",             // extKeyUsage
        "2.5.29.36",             // policyConstraints
        "1.3.6.1.5.5.7.1.14",    // proxyCertInfo
        "2.5.29.30",             // nameConstraints
        "2.5.29.33",             // policyMappings
        "2.5.29.54",             // inhibitAnyPolicy
        "1.3.6.1.5.5.7.1.7",     // IP address delegation
        "1.3.6.1.5.5.7.1.8",     // AS identifiers
    ];
    x.extensions()
        .iter()
        .any(|e| e.critical && !KNOWN.contains(&e.oid.to_id_string().as_str()))
}

/// Whether `issuer` plausibly issued `subject` (OpenSSL's
/// `ossl_x509_likely_issued`, what path building uses): names match and
/// the subject's authority key identifier (if any) matches the issuer.
/// Key usage is not looked at: an issuer that may not sign certificates
/// still builds the path, and is reported later.
fn likely_issued(subject: &SslCertificate, issuer: &SslCertificate) -> bool {
    if subject == issuer {
        return subject.is_self_issued();
    }
    // The cached names first: most candidates end here, unparsed.
    subject.canonical_issuer() == issuer.canonical_subject()
        && key_identifiers_match(&subject.x509(), &issuer.x509())
}

/// Whether `issuer` issued `subject` as OpenSSL's `X509_check_issued`
/// judges before any signature check: [`likely_issued`], and the
/// issuer's key usage (if any) allows signing certificates. With
/// `subject == issuer` this is OpenSSL's "self-signed" (`EXFLAG_SS`).
fn likely_issued_by(subject: &SslCertificate, issuer: &SslCertificate) -> bool {
    if subject == issuer {
        return subject.is_self_signed();
    }
    likely_issued(subject, issuer) && may_sign_certificates(&issuer.x509())
}

/// Names are equal as OpenSSL compares them (see [`canonical_name`]).
fn names_match(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    a.as_raw() == b.as_raw() || canonical_name(a) == canonical_name(b)
}

/// OpenSSL's `X509_check_akid`: a key identifier or issuer serial in the
/// subject's authority key identifier must match the issuer.
pub(crate) fn key_identifiers_match(
    subject: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> bool {
    let akid = subject
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(akid) => Some(akid),
            _ => None,
        });
    let Some(akid) = akid else {
        return true;
    };
    let skid = issuer
        .iter_extensions()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(skid) => Some(skid.0),
            _ => None,
        });
    if let (Some(want), Some(have)) = (&akid.key_identifier, skid) {
        if want.0 != have {
            return false;
        }
    }
    if let Some(serial) = akid.authority_cert_serial {
        if serial != issuer.raw_serial() {
            return false;
        }
    }
    true
}

/// OpenSSL's `ku_reject(issuer, keyCertSign)`: without a key usage
/// extension any use is allowed.
pub(crate) fn may_sign_certificates(issuer: &X509Certificate<'_>) -> bool {
    match issuer.key_usage() {
        Ok(Some(usage)) => usage.value.key_cert_sign(),
        Ok(None) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_ca() -> SslCertificate {
        SslCertificate::from_pem(include_bytes!("testdata/doc-ca.crt")).unwrap()
    }

    /// Qt 6.11, a client handshake with an expired self-signed server
    /// certificate for another host: `peerVerifyError` came as
    /// SelfSigned, Expired, HostNameMismatch; `sslErrors` as
    /// HostNameMismatch, SelfSigned, Expired. (The doc CA's key usage has
    /// no TLS use, so the purpose is left out here.)
    #[test]
    fn peer_verify_errors_put_the_host_name_last() {
        let ca = doc_ca();
        let listed = verify_chain(
            std::slice::from_ref(&ca),
            &[],
            Some("nope"),
            VerifyPurpose::Any,
            0,
            in_2060(),
        );
        let kinds = |errors: &[SslError]| errors.iter().map(SslError::error).collect::<Vec<_>>();
        use SslErrorKind::*;
        assert_eq!(
            kinds(&listed),
            [HostNameMismatch, SelfSignedCertificate, CertificateExpired]
        );
        assert_eq!(
            kinds(&peer_verify_error_order(&listed)),
            [SelfSignedCertificate, CertificateExpired, HostNameMismatch]
        );
    }

    /// 2060-01-01, after the doc CA expired (2050).
    fn in_2060() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2_840_140_800)
    }

    #[test]
    fn a_trusted_self_signed_root_passes_every_purpose() {
        let ca = doc_ca();
        for purpose in [
            VerifyPurpose::Any,
            VerifyPurpose::Server,
            VerifyPurpose::Client,
        ] {
            let now = SystemTime::now();
            let one = std::slice::from_ref(&ca);
            assert!(verify_chain(one, one, None, purpose, 0, now).is_empty());
        }
    }

    #[test]
    fn huge_depths_mean_the_default() {
        let ca = doc_ca();
        let now = SystemTime::now();
        assert!(verify_chain(
            std::slice::from_ref(&ca),
            std::slice::from_ref(&ca),
            None,
            VerifyPurpose::Any,
            u32::MAX,
            now
        )
        .is_empty());
    }
}
