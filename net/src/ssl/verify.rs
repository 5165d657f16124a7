//! Certificate chain verification with Qt's (OpenSSL backend's) errors.

use x509_parser::certificate::X509Certificate;
use x509_parser::x509::X509Name;

use super::SslCertificate;

/// Whether `issuer` plausibly issued `subject`, as OpenSSL's
/// `X509_check_issued` judges before any signature check: names match,
/// the subject's authority key identifier (if any) matches the issuer,
/// and the issuer's key usage (if any) allows signing certificates.
pub(crate) fn likely_issued_by(subject: &SslCertificate, issuer: &SslCertificate) -> bool {
    let subject = subject.x509();
    let issuer = issuer.x509();
    names_match(subject.issuer(), issuer.subject())
        && key_identifiers_match(&subject, &issuer)
        && may_sign_certificates(&issuer)
}

/// Name equality as OpenSSL compares names: by canonical form, which
/// ignores case and repeated spaces in string values. Equal DER is
/// always equal.
pub(crate) fn names_match(a: &X509Name<'_>, b: &X509Name<'_>) -> bool {
    a.as_raw() == b.as_raw() || canonical(a) == canonical(b)
}

fn canonical(name: &X509Name<'_>) -> Vec<Vec<(String, String)>> {
    name.iter_rdn()
        .map(|rdn| {
            let mut set: Vec<(String, String)> = rdn
                .iter()
                .map(|attribute| {
                    let text = String::from_utf8_lossy(attribute.attr_value().data);
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

/// OpenSSL's `X509_check_akid`: a key identifier or issuer serial in the
/// subject's authority key identifier must match the issuer.
fn key_identifiers_match(subject: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    use x509_parser::extensions::ParsedExtension;
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
fn may_sign_certificates(issuer: &X509Certificate<'_>) -> bool {
    match issuer.key_usage() {
        Ok(Some(usage)) => usage.value.key_cert_sign(),
        Ok(None) => true,
        Err(_) => false,
    }
}
