//! The head of the proxy's HTTP response: status line and header fields,
//! read incrementally (Qt: `QHttpNetworkReplyPrivate::readStatus()` and
//! `readHeader()`).

/// Qt skips these before a status line (left over from an earlier reply).
const LEADING_NOISE: &[u8] = &[11, b'\n', b'\r', b' ', 31];
/// The most header bytes and fields accepted; more is not a proxy's reply.
pub(super) const MAX_HEAD_BYTES: usize = 64 * 1024;
pub(super) const MAX_FIELDS: usize = 100;

/// A parsed status line and header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResponseHead {
    pub(super) major: u8,
    pub(super) minor: u8,
    pub(super) status: u16,
    /// Header fields in order, names as sent.
    pub(super) fields: Vec<(String, Vec<u8>)>,
}

impl ResponseHead {
    /// The first field named `name` (case-insensitive).
    pub(super) fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Every field named `name`, in order.
    pub(super) fn fields_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The body length to skip: a `Content-Length` that is a positive
    /// number, else 0 (Qt's `toInt` rule).
    pub(super) fn content_length(&self) -> u64 {
        self.field("content-length")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    }

    /// Whether the proxy closes the connection after this response:
    /// `Proxy-Connection`, else `Connection`, says `close` or `keep-alive`;
    /// without either HTTP/1.0 closes and HTTP/1.1 keeps it (Qt's rule).
    pub(super) fn will_close(&self) -> bool {
        let value = self
            .field("proxy-connection")
            .filter(|v| !v.is_empty())
            .or_else(|| self.field("connection"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        match value.as_slice() {
            b"close" => true,
            b"keep-alive" => false,
            _ => (self.major, self.minor) <= (1, 0),
        }
    }
}

/// The result of looking at the buffered bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Parsed {
    /// The head is not complete yet; scan again from this offset.
    Incomplete(usize),
    /// Not an HTTP response (Qt: "Did not receive HTTP response from proxy").
    NotHttp,
    /// The head, and how many bytes of the buffer it took.
    Done(ResponseHead, usize),
}

/// Looks for a complete response head at the start of `buf`, scanning for
/// its end from `scan_from` (what an earlier `Incomplete` returned), so
/// bytes dripping in one by one cost linear time.
pub(super) fn parse(buf: &[u8], scan_from: usize) -> Parsed {
    let start = buf
        .iter()
        .position(|b| !LEADING_NOISE.contains(b))
        .unwrap_or(buf.len());
    let text = &buf[start..];
    let magic_len = text.len().min(5);
    if text[..magic_len] != b"HTTP/"[..magic_len] {
        return Parsed::NotHttp;
    }
    let from = scan_from.saturating_sub(start);
    let Some(end) = find_head_end(text, from) else {
        if text.len() > MAX_HEAD_BYTES {
            return Parsed::NotHttp;
        }
        // A terminator may straddle the next read: rescan the last bytes.
        return Parsed::Incomplete(start + text.len().saturating_sub(3));
    };
    if end > MAX_HEAD_BYTES {
        return Parsed::NotHttp;
    }
    match parse_head(&text[..end]) {
        Some(head) => Parsed::Done(head, start + end),
        None => Parsed::NotHttp,
    }
}

/// The length of the head including its blank line (LF or CRLF endings).
fn find_head_end(text: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < text.len() {
        if text[i] == b'\n' {
            match text.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if text.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn parse_head(head: &[u8]) -> Option<ResponseHead> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let (major, minor, status) = parse_status_line(lines.next()?)?;
    let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if matches!(line[0], b' ' | b'\t') {
            // An obsolete folded line continues the previous field.
            if let Some((_, value)) = fields.last_mut() {
                value.push(b' ');
                value.extend_from_slice(line.trim_ascii());
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = String::from_utf8_lossy(line[..colon].trim_ascii()).into_owned();
        fields.push((name, line[colon + 1..].trim_ascii().to_vec()));
        if fields.len() > MAX_FIELDS {
            return None;
        }
    }
    Some(ResponseHead {
        major,
        minor,
        status,
        fields,
    })
}

/// `HTTP/d.d SP code [SP reason]`.
fn parse_status_line(line: &[u8]) -> Option<(u8, u8, u16)> {
    let rest = line.strip_prefix(b"HTTP/")?;
    let [major, b'.', minor, b' ', code @ ..] = rest else {
        return None;
    };
    if !major.is_ascii_digit() || !minor.is_ascii_digit() {
        return None;
    }
    let code = code.split(|&b| b == b' ').next().unwrap_or_default();
    if code.is_empty() || code.len() > 3 || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Some((major - b'0', minor - b'0', status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(buf: &[u8]) -> (ResponseHead, usize) {
        match parse(buf, 0) {
            Parsed::Done(head, len) => (head, len),
            other => panic!("{other:?} for {buf:?}"),
        }
    }

    #[test]
    fn status_line_and_fields() {
        let buf = b"HTTP/1.1 407 Proxy Auth\r\nProxy-Authenticate: Basic realm=\"x\"\r\nX:  a \r\n  b\r\n\r\nrest";
        let (head, len) = done(buf);
        assert_eq!((head.major, head.minor, head.status), (1, 1, 407));
        assert_eq!(
            head.field("proxy-authenticate"),
            Some(&b"Basic realm=\"x\""[..])
        );
        assert_eq!(head.field("x"), Some(&b"a b"[..]));
        assert_eq!(len, buf.len() - 4, "the head ends before the body");
        let (head, _) = done(b"\r\n HTTP/1.0 200\n\n");
        assert_eq!((head.major, head.minor, head.status), (1, 0, 200));
    }

    #[test]
    fn not_http_as_soon_as_five_bytes_say_so() {
        assert_eq!(parse(b"SSH-2", 0), Parsed::NotHttp);
        assert_eq!(parse(b"HTTP", 0), Parsed::Incomplete(1));
        assert_eq!(parse(b"\x05\x00", 0), Parsed::NotHttp);
        for bad in [
            &b"HTTP/1.1 2000 x\r\n\r\n"[..],
            b"HTTP/x.1 200\r\n\r\n",
            b"HTTP/1.1200\r\n\r\n",
            b"HTTP/1.1 \r\n\r\n",
        ] {
            assert_eq!(parse(bad, 0), Parsed::NotHttp, "{bad:?}");
        }
    }

    #[test]
    fn limits() {
        let mut big = b"HTTP/1.1 200 OK\r\n".to_vec();
        big.resize(MAX_HEAD_BYTES + 10, b'a');
        assert_eq!(parse(&big, 0), Parsed::NotHttp);
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_FIELDS {
            many.extend_from_slice(format!("F{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse(&many, 0), Parsed::NotHttp);
    }

    #[test]
    fn will_close_and_content_length() {
        let head = |text: &[u8]| done(text).0;
        assert!(head(b"HTTP/1.0 407 x\r\n\r\n").will_close());
        assert!(!head(b"HTTP/1.1 407 x\r\n\r\n").will_close());
        assert!(head(b"HTTP/1.1 407 x\r\nConnection: Close\r\n\r\n").will_close());
        assert!(!head(
            b"HTTP/1.0 407 x\r\nProxy-Connection: keep-alive\r\nConnection: close\r\n\r\n"
        )
        .will_close());
        assert_eq!(
            head(b"HTTP/1.1 407 x\r\nContent-Length: 12\r\n\r\n").content_length(),
            12
        );
        assert_eq!(
            head(b"HTTP/1.1 407 x\r\nContent-Length: -1\r\n\r\n").content_length(),
            0
        );
        assert_eq!(
            head(b"HTTP/1.1 407 x\r\nContent-Length: x\r\n\r\n").content_length(),
            0
        );
    }
}
