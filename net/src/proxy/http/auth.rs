//! HTTP proxy authentication: reading `Proxy-Authenticate` challenges and
//! writing `Proxy-Authorization` credentials, Basic (RFC 7617) and Digest
//! with MD5 (RFC 7616, as Qt's `QAuthenticator` does it).
//!
//! NTLM and Negotiate, which Qt also offers, are not supported: no
//! well-kept Rust crate does NTLM, and a challenge offering only them is
//! reported like an unparsable one.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use md5::{Digest, Md5};

use crate::proxy::authenticator::latin1;
use crate::proxy::Authenticator;

/// The scheme chosen from a challenge, weakest first (Qt prefers the
/// strongest offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Scheme {
    None,
    Basic,
    DigestMd5,
}

/// What the proxy asked for, and the state of the answer to it.
#[derive(Debug, Clone)]
pub(super) struct AuthState {
    pub(super) scheme: Scheme,
    options: HashMap<String, Vec<u8>>,
    nonce_count: u32,
    cnonce: String,
}

impl Default for AuthState {
    fn default() -> Self {
        AuthState {
            scheme: Scheme::None,
            options: HashMap::new(),
            nonce_count: 0,
            cnonce: random_cnonce(),
        }
    }
}

impl AuthState {
    /// Takes the strongest supported challenge among the
    /// `Proxy-Authenticate` values; `None` if there is none (Qt: phase
    /// `Invalid`). Sets the authenticator's realm.
    pub(super) fn read_challenges<'a>(
        &mut self,
        values: impl Iterator<Item = &'a [u8]>,
        authenticator: &mut Authenticator,
    ) -> Option<()> {
        let mut best: Option<(Scheme, &[u8])> = None;
        for value in values {
            let lower = value.to_ascii_lowercase();
            let candidate = if lower.starts_with(b"basic") {
                (Scheme::Basic, value.get(5..).unwrap_or_default())
            } else if lower.starts_with(b"digest")
                && digest_is_md5(value.get(6..).unwrap_or_default())
            {
                (Scheme::DigestMd5, value.get(6..).unwrap_or_default())
            } else {
                continue;
            };
            if best.is_none_or(|(scheme, _)| candidate.0 > scheme) {
                best = Some(candidate);
            }
        }
        let (scheme, params) = best?;
        self.scheme = scheme;
        self.options = parse_params(params.trim_ascii());
        let realm = self
            .options
            .get("realm")
            .map(|r| latin1_to_string(r))
            .unwrap_or_default();
        authenticator.set_realm(realm);
        Some(())
    }

    /// The `Proxy-Authorization` value for a request `method path`, or
    /// `None` before any challenge.
    pub(super) fn authorization(
        &mut self,
        auth: &Authenticator,
        method: &str,
        path: &str,
    ) -> Option<Vec<u8>> {
        match self.scheme {
            Scheme::None => None,
            Scheme::Basic => {
                let mut pair = latin1(auth.user());
                pair.push(b':');
                pair.extend_from_slice(&latin1(auth.password()));
                let mut value = b"Basic ".to_vec();
                value.extend_from_slice(base64(&pair).as_bytes());
                Some(value)
            }
            Scheme::DigestMd5 => Some(self.digest(auth, method, path)),
        }
    }

    /// RFC 7616 with MD5 or MD5-sess, `qop=auth` when offered; the field
    /// order is Qt's.
    fn digest(&mut self, auth: &Authenticator, method: &str, path: &str) -> Vec<u8> {
        self.nonce_count = self.nonce_count.wrapping_add(1);
        let nc = format!("{:08x}", self.nonce_count);
        let get = |k: &str| self.options.get(k).cloned().unwrap_or_default();
        let (nonce, opaque, qop, algorithm) =
            (get("nonce"), get("opaque"), get("qop"), get("algorithm"));
        let (user, realm) = (latin1(auth.user()), latin1(auth.realm()));
        let mut ha1 = md5_hex(&[&user, b":", &realm, b":", &latin1(auth.password())]);
        if algorithm.eq_ignore_ascii_case(b"md5-sess") {
            ha1 = md5_hex(&[ha1.as_bytes(), b":", &nonce, b":", self.cnonce.as_bytes()]);
        }
        let ha2 = md5_hex(&[method.as_bytes(), b":", path.as_bytes()]);
        let response = if qop.is_empty() {
            md5_hex(&[ha1.as_bytes(), b":", &nonce, b":", ha2.as_bytes()])
        } else {
            let parts: [&[u8]; 11] = [
                ha1.as_bytes(),
                b":",
                &nonce,
                b":",
                nc.as_bytes(),
                b":",
                self.cnonce.as_bytes(),
                b":",
                &qop,
                b":",
                ha2.as_bytes(),
            ];
            md5_hex(&parts)
        };
        let mut out = b"Digest ".to_vec();
        let mut field = |name: &str, value: &[u8], quoted: bool| {
            if out.len() > 7 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            if quoted {
                out.push(b'"');
            }
            out.extend_from_slice(value);
            if quoted {
                out.push(b'"');
            }
        };
        field("username", &user, true);
        field("realm", &realm, true);
        field("nonce", &nonce, true);
        field("uri", path.as_bytes(), true);
        if !opaque.is_empty() {
            field("opaque", &opaque, true);
        }
        field("response", response.as_bytes(), true);
        if !algorithm.is_empty() {
            field("algorithm", &algorithm, false);
        }
        if !qop.is_empty() {
            field("qop", &qop, false);
            field("nc", nc.as_bytes(), false);
            field("cnonce", self.cnonce.as_bytes(), true);
        }
        out
    }

    #[cfg(test)]
    pub(super) fn set_cnonce(&mut self, cnonce: &str) {
        self.cnonce = cnonce.to_owned();
    }
}

/// Qt takes a Digest challenge only for MD5 (or a variant such as
/// MD5-sess), or when it names no algorithm.
fn digest_is_md5(params: &[u8]) -> bool {
    match parse_params(params.trim_ascii()).get("algorithm") {
        Some(alg) => alg.len() >= 3 && alg[..3].eq_ignore_ascii_case(b"md5"),
        None => true,
    }
}

/// `key=value, key="quoted \"value\""` (Qt's
/// `parseDigestAuthenticationChallenge`); keys in lower case. A `qop` list
/// without `auth` drops every option, as Qt does; with it, `qop` is `auth`.
fn parse_params(text: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut options = HashMap::new();
    let mut i = 0;
    while i < text.len() {
        while i < text.len() && matches!(text[i], b' ' | b'\n' | b'\r' | b'\t' | b',') {
            i += 1;
        }
        let key_start = i;
        while i < text.len() && text[i] != b'=' {
            i += 1;
        }
        let key = String::from_utf8_lossy(text[key_start..i].trim_ascii()).to_ascii_lowercase();
        i += 1;
        if i >= text.len() {
            break;
        }
        let quoted = text[i] == b'"';
        if quoted {
            i += 1;
        }
        let mut value = Vec::new();
        while i < text.len() {
            let mut byte = text[i];
            if byte == b'\\' && i + 1 < text.len() {
                i += 1;
                byte = text[i];
            } else if (quoted && byte == b'"') || (!quoted && byte == b',') {
                break;
            }
            value.push(byte);
            i += 1;
        }
        while i < text.len() && text[i] != b',' {
            i += 1;
        }
        i += 1;
        let value = if quoted {
            value
        } else {
            value.trim_ascii().to_vec()
        };
        options.insert(key, value);
    }
    if let Some(qop) = options.get("qop") {
        if !qop.split(|&b| b == b',').any(|t| t.trim_ascii() == b"auth") {
            return HashMap::new();
        }
        options.insert("qop".to_owned(), b"auth".to_vec());
    }
    options
}

fn latin1_to_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A 32-hex-digit client nonce (Qt: the MD5 of random numbers). The
/// randomness is std's per-process random hash keys, mixed with the time
/// and a counter.
fn random_cnonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut seed = Vec::new();
    for _ in 0..2 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        hasher.write_u128(now.as_nanos());
        seed.extend_from_slice(&hasher.finish().to_le_bytes());
    }
    md5_hex(&[&seed])
}

/// Standard base64 with padding (RFC 4648 §4).
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn params_follow_qts_parser() {
        let p = parse_params(br#"realm="a \"q\" b", nonce=abc , qop="auth,auth-int", stale=TRUE"#);
        assert_eq!(p["realm"], b"a \"q\" b");
        assert_eq!(p["nonce"], b"abc");
        assert_eq!(p["qop"], b"auth");
        assert_eq!(p["stale"], b"TRUE");
        assert!(parse_params(br#"realm="r", qop="auth-int""#).is_empty());
        // Hostile inputs end without panicking.
        for text in [&b"="[..], b"\"", b"a=\"", b"a=\\", b",,,=", b"a=b\\"] {
            let _ = parse_params(text);
        }
    }

    #[test]
    fn strongest_supported_scheme_wins() {
        let mut state = AuthState::default();
        let mut auth = Authenticator::new();
        let values: [&[u8]; 3] = [
            b"Basic realm=\"b\"",
            b"NTLM",
            b"Digest realm=\"d\", nonce=\"n\"",
        ];
        state
            .read_challenges(values.into_iter(), &mut auth)
            .unwrap();
        assert_eq!((state.scheme, auth.realm()), (Scheme::DigestMd5, "d"));
        let sha: [&[u8]; 2] = [
            b"Digest realm=\"s\", algorithm=SHA-256",
            b"Basic realm=\"b\"",
        ];
        state.read_challenges(sha.into_iter(), &mut auth).unwrap();
        assert_eq!((state.scheme, auth.realm()), (Scheme::Basic, "b"));
        let only_ntlm: [&[u8]; 1] = [b"NTLM"];
        assert!(state
            .read_challenges(only_ntlm.into_iter(), &mut auth)
            .is_none());
    }

    /// RFC 2617 §3.5's example (MD5, qop=auth), which RFC 7616 keeps.
    #[test]
    fn digest_matches_the_rfc_example() {
        let mut state = AuthState::default();
        let mut auth = Authenticator::new();
        let challenge: [&[u8]; 1] = [br#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#];
        state
            .read_challenges(challenge.into_iter(), &mut auth)
            .unwrap();
        state.set_cnonce("0a4f113b");
        auth.set_user("Mufasa");
        auth.set_password("Circle Of Life");
        let value = state
            .authorization(&auth, "GET", "/dir/index.html")
            .unwrap();
        let value = String::from_utf8(value).unwrap();
        assert_eq!(
            value,
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             uri=\"/dir/index.html\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", \
             response=\"6629fae49393a05397450978507c4ef1\", qop=auth, nc=00000001, cnonce=\"0a4f113b\""
        );
        let again = String::from_utf8(state.authorization(&auth, "GET", "/").unwrap()).unwrap();
        assert!(again.contains("nc=00000002"), "{again}");
    }

    #[test]
    fn basic_is_latin1_base64() {
        let mut state = AuthState::default();
        let mut auth = Authenticator::new();
        let challenge: [&[u8]; 1] = [b"Basic realm=\"squid\""];
        state
            .read_challenges(challenge.into_iter(), &mut auth)
            .unwrap();
        auth.set_user("Aladdin");
        auth.set_password("open sesame");
        let value = state.authorization(&auth, "CONNECT", "h:1").unwrap();
        assert_eq!(value, b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(random_cnonce().len(), 32);
        assert_ne!(random_cnonce(), random_cnonce());
    }
}
