//! PEM armour (RFC 7468): reading sections with rustls' own PEM reader,
//! writing them with 64-column base64 as OpenSSL (and so Qt) does.

use rustls::pki_types::pem::{self, SectionKind, SliceIter};

use super::SslParseError;

/// Every recognised PEM section of `data`, in order. Text around and
/// between sections, and sections of other labels, are skipped.
///
/// # Errors
///
/// [`SslParseError::Pem`] when a section's armour or base64 is malformed;
/// [`SslParseError::Encrypted`] for a passphrase-encrypted private key.
pub(crate) fn sections(data: &[u8]) -> Result<Vec<(SectionKind, Vec<u8>)>, SslParseError> {
    if is_encrypted_key(data) {
        return Err(SslParseError::Encrypted);
    }
    SliceIter::<(SectionKind, Vec<u8>)>::new(data)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| SslParseError::Pem(e.to_string()))
}

/// Whether `data` holds an encrypted private key: PKCS#8's
/// `ENCRYPTED PRIVATE KEY` or OpenSSL's legacy `Proc-Type: 4,ENCRYPTED`.
fn is_encrypted_key(data: &[u8]) -> bool {
    const MARKERS: [&[u8]; 2] = [
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----",
        b"Proc-Type: 4,ENCRYPTED",
    ];
    MARKERS
        .iter()
        .any(|marker| data.windows(marker.len()).any(|w| w == *marker))
}

/// `der` as a PEM section labelled `label`, lines of 64 base64 characters,
/// ending in a newline.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = crate::proxy::http::base64(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(64) {
        // base64 is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_wraps_at_64_and_round_trips() {
        let der: Vec<u8> = (0..=255).collect();
        let text = encode("CERTIFICATE", &der);
        assert!(text.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(text.ends_with("-----END CERTIFICATE-----\n"));
        assert!(text.lines().all(|line| line.len() <= 64));
        let read = sections(text.as_bytes()).unwrap();
        assert_eq!(read, vec![(SectionKind::Certificate, der)]);
    }

    #[test]
    fn encrypted_keys_are_named_as_such() {
        let pkcs8 =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(sections(pkcs8), Err(SslParseError::Encrypted));
        let legacy = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
                       DEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(sections(legacy), Err(SslParseError::Encrypted));
    }

    #[test]
    fn broken_base64_is_an_error() {
        let text = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(sections(text), Err(SslParseError::Pem(_))));
        let unterminated = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert!(matches!(sections(unterminated), Err(SslParseError::Pem(_))));
    }
}
