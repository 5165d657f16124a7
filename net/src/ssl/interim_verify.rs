//! Chain verification until `verify::verify_chain` (the tls-certs
//! branch) lands: the checks the handshake needs, in Qt's order for the
//! common cases. Replaced by `verify::verify_chain` at the merge.

use std::time::SystemTime;

use super::{AlternativeNameType, SslCertificate, SslError, SslErrorKind};

/// Whose chain is checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum VerifyPurpose {
    /// A server's chain (we are the client).
    Server,
    /// A client's chain (we are the server).
    Client,
}

fn signed_by(subject: &SslCertificate, issuer: &SslCertificate) -> bool {
    let issuer_x509 = issuer.x509();
    subject.x509().issuer() == issuer_x509.subject()
        && subject
            .x509()
            .verify_signature(Some(issuer_x509.public_key()))
            .is_ok()
}

fn name_matches(certificate: &SslCertificate, name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    certificate
        .subject_alternative_names()
        .iter()
        .any(|(kind, value)| match kind {
            AlternativeNameType::DnsEntry => {
                let value = value.to_ascii_lowercase();
                value == name
                    || value.strip_prefix("*.").is_some_and(|rest| {
                        name.split_once('.').is_some_and(|(_, tail)| tail == rest)
                    })
            }
            AlternativeNameType::IpAddressEntry => {
                value.parse::<std::net::IpAddr>().ok() == name.parse().ok()
                    && name.parse::<std::net::IpAddr>().is_ok()
            }
            _ => false,
        })
}

/// Qt's errors for `chain` against `roots`.
pub(crate) fn verify_chain(
    chain: &[SslCertificate],
    roots: &[SslCertificate],
    peer_name: Option<&str>,
    _purpose: VerifyPurpose,
    _depth: u32,
    now: SystemTime,
) -> Vec<SslError> {
    let mut errors = Vec::new();
    let Some(leaf) = chain.first() else {
        return errors;
    };
    let mut path = vec![leaf.clone()];
    let mut trusted = false;
    loop {
        let last = path.last().cloned().unwrap_or_else(|| leaf.clone());
        if roots.iter().any(|r| r == &last || signed_by(&last, r)) {
            trusted = true;
            break;
        }
        if last.is_self_signed() {
            let kind = if path.len() == 1 {
                SslErrorKind::SelfSignedCertificate
            } else {
                SslErrorKind::SelfSignedCertificateInChain
            };
            errors.push(SslError::new(kind, Some(last)));
            break;
        }
        match chain
            .iter()
            .find(|c| !path.contains(c) && signed_by(&last, c))
        {
            Some(issuer) => path.push(issuer.clone()),
            None => {
                let kind = if path.len() == 1 {
                    SslErrorKind::UnableToGetLocalIssuerCertificate
                } else {
                    SslErrorKind::UnableToGetIssuerCertificate
                };
                errors.push(SslError::new(kind, Some(last)));
                break;
            }
        }
    }
    let _ = trusted;
    for certificate in path.iter() {
        if now < certificate.effective_date() {
            errors.push(SslError::new(
                SslErrorKind::CertificateNotYetValid,
                Some(certificate.clone()),
            ));
        } else if now > certificate.expiry_date() {
            errors.push(SslError::new(
                SslErrorKind::CertificateExpired,
                Some(certificate.clone()),
            ));
        }
    }
    if let Some(name) = peer_name {
        if !name_matches(leaf, name) {
            errors.push(SslError::new(
                SslErrorKind::HostNameMismatch,
                Some(leaf.clone()),
            ));
        }
    }
    errors
}
