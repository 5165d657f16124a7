//! The few DER reads key parsing needs (PKCS#8, SEC1, PKCS#1 and
//! SubjectPublicKeyInfo headers), on `asn1-rs`'s TLV reader.
//!
//! Only the outer structure is read here: enough to know the algorithm,
//! the curve and the key size. Whether the key itself is sound is ring's
//! call when the key is loaded.

use x509_parser::asn1_rs::{Any, Class, FromDer, Tag};

/// Object identifiers' content octets (the value of the OID's TLV).
pub(crate) mod oid {
    /// rsaEncryption, 1.2.840.113549.1.1.1
    pub const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// id-RSASSA-PSS, 1.2.840.113549.1.1.10
    pub const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    /// id-ecPublicKey, 1.2.840.10045.2.1
    pub const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// id-dsa, 1.2.840.10040.4.1
    pub const DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
    /// dhpublicnumber, 1.2.840.10046.2.1
    pub const DH: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3e, 0x02, 0x01];
    /// id-Ed25519, 1.3.101.112
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    /// id-Ed448, 1.3.101.113
    pub const ED448: &[u8] = &[0x2b, 0x65, 0x71];
    /// prime256v1 (P-256), 1.2.840.10045.3.1.7
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1 (P-384), 1.3.132.0.34
    pub const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// secp521r1 (P-521), 1.3.132.0.35
    pub const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
}

/// One TLV: its class, tag and content octets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub class: Class,
    pub tag: Tag,
    pub content: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Whether this is a universal `tag`.
    pub fn is(&self, tag: Tag) -> bool {
        self.class == Class::Universal && self.tag == tag
    }

    /// Whether this is the context-specific `[number]`.
    pub fn is_context(&self, number: u32) -> bool {
        self.class == Class::ContextSpecific && self.tag == Tag(number)
    }

    /// The TLVs inside a constructed value (a SEQUENCE's elements).
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, String> {
        all(self.content)
    }
}

/// The first TLV of `input` and what follows it.
pub(crate) fn next(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let (rest, any) = Any::from_der(input).map_err(|e| format!("malformed DER: {e}"))?;
    let tlv = Tlv {
        class: any.class(),
        tag: any.tag(),
        content: any.data,
    };
    Ok((tlv, rest))
}

/// Exactly one TLV: trailing bytes are an error.
pub(crate) fn single(input: &[u8]) -> Result<Tlv<'_>, String> {
    let (tlv, rest) = next(input)?;
    if !rest.is_empty() {
        return Err(format!("{} bytes after the DER value", rest.len()));
    }
    Ok(tlv)
}

/// Every TLV in `input`, in order.
pub(crate) fn all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, String> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tlv, rest) = next(input)?;
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// A SEQUENCE's elements; an error if `tlv` is not a SEQUENCE.
pub(crate) fn sequence<'a>(tlv: &Tlv<'a>, what: &str) -> Result<Vec<Tlv<'a>>, String> {
    if !tlv.is(Tag::Sequence) {
        return Err(format!("{what}: expected a SEQUENCE"));
    }
    tlv.children()
}

/// The significant bits of a non-negative INTEGER's content octets (the
/// size of an RSA modulus).
pub(crate) fn integer_bits(content: &[u8]) -> u32 {
    let mut bytes = content;
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    match bytes.first() {
        None => 0,
        Some(first) => {
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX / 8);
            (len - 1) * 8 + (8 - first.leading_zeros())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_bits_counts_significant_bits() {
        assert_eq!(integer_bits(&[]), 0);
        assert_eq!(integer_bits(&[0]), 0);
        assert_eq!(integer_bits(&[1]), 1);
        assert_eq!(integer_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(integer_bits(&[0x7f, 0xff]), 15);
    }

    #[test]
    fn single_rejects_trailing_bytes_and_truncation() {
        // INTEGER 5, then a stray byte.
        assert!(single(&[0x02, 0x01, 0x05, 0x00]).is_err());
        assert!(single(&[0x02, 0x02, 0x05]).is_err());
        let tlv = single(&[0x02, 0x01, 0x05]).unwrap();
        assert!(tlv.is(Tag::Integer));
        assert_eq!(tlv.content, &[5]);
    }
}
