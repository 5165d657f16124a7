//! `OpenMode::TEXT` on the read side, as Qt's `QIODevice` does it on Unix.
//!
//! Qt removes every `'\r'` from what `read`, `readAll`, `peek` and
//! `getChar` return, and turns a `"\r\n"` that ends a `readLine` into
//! `"\n"` (a `'\r'` inside the line stays). Sizes stay raw:
//! `bytesAvailable` and `canReadLine` count the bytes the device holds.
//! Writes are not converted on Unix. These are the pure parts; the
//! [`IoDevice`](crate::IoDevice) methods apply them.

/// Removes every `'\r'` from `bytes`, in place.
pub(crate) fn strip_cr(bytes: &mut Vec<u8>) {
    bytes.retain(|&b| b != b'\r');
}

/// Turns a final `"\r\n"` into `"\n"` (Qt's `readLine` in text mode).
pub(crate) fn fix_line_end(line: &mut Vec<u8>) {
    if line.ends_with(b"\r\n") {
        line.remove(line.len() - 2);
    }
}

/// How many bytes of `bytes` are not `'\r'`.
pub(crate) fn visible_len(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b != b'\r').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_removes_every_carriage_return() {
        let mut data = b"ab\r\ncd\rxy\r\n\r\nz\r".to_vec();
        strip_cr(&mut data);
        assert_eq!(data, b"ab\ncdxy\n\nz");
        assert_eq!(visible_len(b"\r\r\rA"), 1);
    }

    #[test]
    fn only_a_final_crlf_becomes_lf() {
        for (line, expected) in [
            (&b"a\rb\r\n"[..], &b"a\rb\n"[..]),
            (b"\r\r\n", b"\r\n"),
            (b"x\r", b"x\r"),
            (b"\r\n", b"\n"),
            (b"", b""),
        ] {
            let mut line = line.to_vec();
            fix_line_end(&mut line);
            assert_eq!(line, expected);
        }
    }
}
