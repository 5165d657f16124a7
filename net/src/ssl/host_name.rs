//! Qt's host name check for a server certificate
//! (`QSslSocketPrivate::isMatchingHostname`): IP addresses against the
//! IP alternative names; names, in their ASCII (IDNA) form, against the
//! common names and then the DNS alternative names, with a wildcard
//! allowed only as the whole or the end of the leftmost label of a name
//! with at least three labels, never for an IP address, never in an
//! IDNA (`xn--`) label.

use crate::{ConversionMode, HostAddress};

use super::{AlternativeNameType, SslCertificate, SubjectInfo};

/// Whether `certificate` is valid for `peer_name`, as Qt decides.
pub(crate) fn matches(certificate: &SslCertificate, peer_name: &str) -> bool {
    let alternative_names = certificate.subject_alternative_names();
    if let Ok(address) = peer_name.parse::<HostAddress>() {
        let ip_match = alternative_names
            .iter()
            .filter(|(kind, _)| *kind == AlternativeNameType::IpAddressEntry)
            .filter_map(|(_, text)| text.parse::<HostAddress>().ok())
            .any(|listed| listed.is_equal(&address, ConversionMode::STRICT_CONVERSION));
        if ip_match {
            return true;
        }
    }
    let host = to_ace(peer_name);
    let common_names = certificate.subject_info(SubjectInfo::CommonName);
    let dns_names = alternative_names
        .iter()
        .filter(|(kind, _)| *kind == AlternativeNameType::DnsEntry)
        .map(|(_, name)| name.clone());
    common_names
        .into_iter()
        .chain(dns_names)
        .any(|pattern| name_matches(&pattern, &host))
}

/// One certificate name (`pattern`, maybe a wildcard) against a host name
/// already in ASCII lower case.
fn name_matches(pattern: &str, host: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let Some(star) = chars.iter().position(|c| *c == '*') else {
        return to_ace(pattern) == host;
    };
    let Some(first_dot) = chars.iter().position(|c| *c == '.') else {
        return false;
    };
    // At least three labels, the last one not empty.
    let Some(second_dot) = chars[first_dot + 1..].iter().position(|c| *c == '.') else {
        return false;
    };
    if first_dot + 1 + second_dot + 1 >= chars.len() {
        return false;
    }
    // The star ends the first label, and there is only one.
    if star + 1 != first_dot || chars.iter().rposition(|c| *c == '*') != Some(star) {
        return false;
    }
    // No wildcard inside an IDNA label (RFC 6125 §7.2).
    // (`get`, not indexing: the fourth byte may be inside a character.)
    if pattern
        .get(..4)
        .is_some_and(|start| start.eq_ignore_ascii_case("xn--"))
    {
        return false;
    }
    let host_chars: Vec<char> = host.chars().collect();
    if star > 0 {
        let prefix: String = chars[..star].iter().collect();
        let host_prefix: String = host_chars.iter().take(star).collect();
        if host_prefix.to_lowercase() != prefix.to_lowercase() {
            return false;
        }
    }
    let host_rest: String = match host_chars.iter().position(|c| *c == '.') {
        Some(dot) => host_chars[dot + 1..].iter().collect(),
        None => host.to_owned(),
    };
    let pattern_rest: String = chars[first_dot + 1..].iter().collect();
    if host_rest != pattern_rest && host_rest != to_ace(&pattern_rest) {
        return false;
    }
    // A wildcard never matches an IP address.
    host.parse::<HostAddress>().is_err()
}

/// A name's ASCII-compatible form, as `QUrl::toAce` gives it: each label
/// lower-cased, non-ASCII labels Punycode-encoded with `xn--`; empty for
/// a name with a leading dot or an empty label inside (a trailing dot is
/// kept).
pub(crate) fn to_ace(name: &str) -> String {
    if name.starts_with('.') || name.contains("..") {
        return String::new();
    }
    name.split('.')
        .map(|label| {
            let lower = label.to_lowercase();
            if lower.is_ascii() {
                lower
            } else {
                format!("xn--{}", punycode(&lower))
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// RFC 3492 Punycode encoding of one label.
fn punycode(label: &str) -> String {
    const BASE: u32 = 36;
    const T_MIN: u32 = 1;
    const T_MAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    fn digit(d: u32) -> char {
        // 0..25 are a..z, 26..35 are 0..9.
        char::from_u32(if d < 26 { d + 97 } else { d + 22 }).unwrap_or('?')
    }
    fn adapt(mut delta: u32, points: u32, first: bool) -> u32 {
        delta /= if first { DAMP } else { 2 };
        delta += delta / points;
        let mut k = 0;
        while delta > ((BASE - T_MIN) * T_MAX) / 2 {
            delta /= BASE - T_MIN;
            k += BASE;
        }
        k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
    }
    let input: Vec<u32> = label.chars().map(u32::from).collect();
    let mut output: String = label.chars().filter(char::is_ascii).collect();
    let basic = output.chars().count() as u32;
    let mut handled = basic;
    if basic > 0 {
        output.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    while (handled as usize) < input.len() {
        let Some(m) = input.iter().copied().filter(|c| *c >= n).min() else {
            break;
        };
        // Labels are short; saturating arithmetic keeps absurd input from
        // overflowing (the result is then merely wrong, never a panic).
        delta = delta.saturating_add((m - n).saturating_mul(handled + 1));
        n = m;
        for &c in &input {
            if c < n {
                delta = delta.saturating_add(1);
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        T_MIN
                    } else if k >= bias + T_MAX {
                        T_MAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    output.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                output.push(digit(q));
                bias = adapt(delta, handled + 1, handled == basic);
                delta = 0;
                handled += 1;
            }
        }
        delta = delta.saturating_add(1);
        n = n.saturating_add(1);
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punycode_matches_rfc_3492_and_idna_examples() {
        assert_eq!(to_ace("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(to_ace("BÜCHER.Example"), "xn--bcher-kva.example");
        assert_eq!(to_ace("München"), "xn--mnchen-3ya");
        assert_eq!(to_ace("例え"), "xn--r8jz45g");
        assert_eq!(to_ace("LocalHost"), "localhost");
    }

    /// What Qt 6.11's `QSslCertificate::verify` said, name by name: `true`
    /// where it reported no HostNameMismatch.
    #[test]
    fn wildcards_follow_qts_rules() {
        let cases = [
            ("*.example.com", "a.example.com", true),
            ("*.example.com", "a.b.example.com", false),
            ("*.example.com", "example.com", false),
            ("*.example.com", ".example.com", false),
            ("*.example.com", "b.example.org", false),
            ("a*.example.com", "ab.example.com", true),
            ("a*.example.com", "a.example.com", true),
            ("a*.example.com", "b.example.com", false),
            ("*a.example.com", "ba.example.com", false),
            ("*.com", "a.com", false),
            ("a.*.example.com", "a.b.example.com", false),
            ("*.0.0.1", "127.0.0.1", false),
            ("*.0.0.1", "a.0.0.1", true),
            ("*.*.example.com", "a.b.example.com", false),
            ("xn--*.example.com", "xn--a.example.com", false),
            ("*.xn--bcher-kva.example", "a.xn--bcher-kva.example", true),
            ("localhost.", "localhost", false),
            ("localhost", "localhost.", false),
            // Found by fuzzing: a multi-byte character across byte 4 of
            // the pattern panicked the `xn--` check.
            ("ab\u{fffd}*.example.com", "ab\u{fffd}x.example.com", false),
            ("ab\u{fffd}*.example.com", "abc.example.com", false),
        ];
        for (pattern, host, expected) in cases {
            assert_eq!(
                name_matches(pattern, &to_ace(host)),
                expected,
                "{pattern} vs {host}"
            );
        }
    }
}
