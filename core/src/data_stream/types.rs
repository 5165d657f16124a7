//! [`WriteTo`] and [`ReadFrom`] (Qt: `operator<<` and `operator>>` on
//! `QDataStream`) and their implementations for Qt's streamable types.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

use super::{
    size_of_len, ByteOrder, DataStream, DataStreamStatus, DataStreamVersion, FloatingPointPrecision,
};

/// Elements reserved up front when reading a list: a hostile count costs
/// nothing until its elements really arrive.
const PREALLOC_MAX: usize = 1024;

/// A value that can be written to a [`DataStream`] in Qt's format: Qt's
/// `QDataStream &operator<<(QDataStream &, const T &)`.
///
/// | Rust | Qt | Bytes (big-endian) |
/// |---|---|---|
/// | `i8` `u8` `i16` `u16` `i32` `u32` `i64` `u64` | `qint8` … `quint64` | 1, 2, 4 or 8 |
/// | `u16` | `QChar`, `char16_t` | 2 |
/// | `bool` | `bool` | 1: 0 or 1 |
/// | `f64`, `f32` | `double`, `float` | 8 (4 with [`SinglePrecision`](FloatingPointPrecision::SinglePrecision)) |
/// | `str`, `String` | `QString` (never null) | byte length (quint32) + UTF-16 |
/// | `Option<String>`, `Option<&str>` | `QString` (`None` = null) | null: `ffffffff` |
/// | `[u8]`, `Vec<u8>` | `QByteArray` (never null) | length + bytes |
/// | `Option<Vec<u8>>`, `Option<&[u8]>` | `QByteArray` (`None` = null) | null: `ffffffff` |
/// | `[T]`, `Vec<T>` | `QList<T>` (`QVector`), `Vec<String>`: `QStringList` | count + elements |
/// | `BTreeMap<K, V>` | `QMap<K, V>` | count + (key, value) in ascending order |
/// | `HashMap<K, V>` | `QHash<K, V>` | count + (key, value), any order |
/// | `BTreeSet<T>`, `HashSet<T>` | `QSet<T>` | count + elements |
/// | `(A, B)` | `QPair<A, B>`, `std::pair` | first, second |
///
/// Sizes of `0xfffffffe` and more are written as `fffffffe` + quint64
/// from [`DataStreamVersion::QT_6_7`] on, and fail with
/// [`SizeLimitExceeded`](DataStreamStatus::SizeLimitExceeded) before.
/// `BTreeMap`s with `String`/`&str` keys are written in `QString` order
/// (UTF-16 code units), as a `QMap<QString, V>` is, which differs from
/// Rust's order for keys mixing U+E000–U+FFFF with characters beyond
/// U+FFFF.
///
/// Implement it for your own types by writing their fields; writes do
/// nothing once the stream's status is not Ok, so no checks are needed.
///
/// # Examples
///
/// ```
/// use sigloop_core::{DataStream, ReadFrom, WriteTo};
///
/// #[derive(Debug, PartialEq, Default)]
/// struct Point {
///     x: i32,
///     y: i32,
/// }
///
/// impl WriteTo for Point {
///     fn write_to(&self, stream: &mut DataStream<'_>) {
///         stream.write(&self.x).write(&self.y);
///     }
/// }
///
/// impl ReadFrom for Point {
///     fn read_from(stream: &mut DataStream<'_>) -> Self {
///         Point { x: stream.read(), y: stream.read() }
///     }
/// }
///
/// let mut bytes = Vec::new();
/// DataStream::writer(&mut bytes).write(&vec![Point { x: 1, y: -1 }]);
/// assert_eq!(bytes, [0, 0, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]);
/// let back: Vec<Point> = DataStream::reader(&bytes).read();
/// assert_eq!(back, [Point { x: 1, y: -1 }]);
/// ```
pub trait WriteTo {
    /// Writes `self` to `stream`. Qt: `operator<<`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, WriteTo};
    /// let mut bytes = Vec::new();
    /// 0x0102u16.write_to(&mut DataStream::writer(&mut bytes));
    /// assert_eq!(bytes, [1, 2]);
    /// ```
    fn write_to(&self, stream: &mut DataStream<'_>);

    /// Writes a slice of `Self` as a list (count + elements). `u8`
    /// overrides it to write the bytes at once. Not meant to be called
    /// directly: use `stream.write(&vec)`.
    #[doc(hidden)]
    fn write_slice(items: &[Self], stream: &mut DataStream<'_>)
    where
        Self: Sized,
    {
        if !stream.write_size(size_of_len(items.len())) {
            return;
        }
        for item in items {
            item.write_to(stream);
        }
    }

    /// The order Qt sorts this type in as a `QMap` key, when it differs
    /// from Rust's `Ord` (strings: UTF-16 code units); `None` to keep
    /// Rust's order.
    #[doc(hidden)]
    fn qt_key_cmp(&self, _other: &Self) -> Option<Ordering> {
        None
    }
}

/// A value that can be read from a [`DataStream`] in Qt's format: Qt's
/// `QDataStream &operator>>(QDataStream &, T &)`. See [`WriteTo`] for the
/// types and their bytes.
///
/// A read that fails returns zero or empty (as Qt leaves the variable)
/// and records why in the stream's
/// [`status`](DataStream::status). Reading never panics and allocates in
/// proportion to the bytes really there, whatever sizes the input claims:
///
/// - too few bytes: [`ReadPastEnd`](DataStreamStatus::ReadPastEnd); a
///   truncated string reads as empty, a truncated list as empty;
/// - a string with an odd byte length, or (a sigloop difference) one that
///   isn't valid UTF-16:
///   [`ReadCorruptData`](DataStreamStatus::ReadCorruptData);
/// - a negative size (a null marker where a list is expected):
///   [`SizeLimitExceeded`](DataStreamStatus::SizeLimitExceeded);
/// - a `bool` is true for any non-zero byte.
///
/// # Examples
///
/// ```
/// use sigloop_core::{DataStream, DataStreamStatus, ReadFrom};
///
/// let mut s = DataStream::reader(&[0, 0, 0, 2, 0, 0, 0, 7]);
/// let list = Vec::<i32>::read_from(&mut s);
/// assert!(list.is_empty()); // the second element is missing
/// assert_eq!(s.status(), DataStreamStatus::ReadPastEnd);
/// ```
pub trait ReadFrom: Sized {
    /// Reads a value from `stream`. Qt: `operator>>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, ReadFrom};
    /// assert!(bool::read_from(&mut DataStream::reader(&[0x80])));
    /// ```
    fn read_from(stream: &mut DataStream<'_>) -> Self;

    /// Reads a list of `Self` (count + elements). `u8` overrides it to
    /// read a `QByteArray`. Not meant to be called directly: use
    /// `stream.read::<Vec<T>>()`.
    #[doc(hidden)]
    fn read_vec(stream: &mut DataStream<'_>) -> Vec<Self> {
        read_sequence(stream, PREALLOC_MAX, |v: &mut Vec<Self>, item| v.push(item))
    }
}

/// Reads a count and that many elements into a new `C` (Qt:
/// `readArrayBasedContainer`/`readListBasedContainer`): the first failing
/// element empties the container.
fn read_sequence<T: ReadFrom, C: Default + WithCapacity>(
    stream: &mut DataStream<'_>,
    prealloc: usize,
    mut push: impl FnMut(&mut C, T),
) -> C {
    stream.read_container(|s| {
        let Some(n) = read_count(s) else {
            return C::default();
        };
        let mut out = C::with_capacity_hint(n.min(prealloc));
        for _ in 0..n {
            let item = T::read_from(s);
            if !s.is_ok() {
                return C::default();
            }
            push(&mut out, item);
        }
        out
    })
}

/// Reads a count and that many (key, value) pairs (Qt:
/// `readAssociativeContainer`); a later duplicate key replaces the earlier.
fn read_pairs<K: ReadFrom, V: ReadFrom, C: Default>(
    stream: &mut DataStream<'_>,
    mut insert: impl FnMut(&mut C, K, V),
) -> C {
    stream.read_container(|s| {
        let Some(n) = read_count(s) else {
            return C::default();
        };
        let mut out = C::default();
        for _ in 0..n {
            let key = K::read_from(s);
            let value = V::read_from(s);
            if !s.is_ok() {
                return C::default();
            }
            insert(&mut out, key, value);
        }
        out
    })
}

/// A container element count; `None` (SizeLimitExceeded) if negative or
/// beyond memory.
fn read_count(s: &mut DataStream<'_>) -> Option<usize> {
    let size = s.read_size();
    let n = s.checked_len(size);
    if n.is_none() {
        s.set_status(DataStreamStatus::SizeLimitExceeded);
    }
    n
}

/// Containers that can reserve room for elements about to be read.
trait WithCapacity {
    fn with_capacity_hint(n: usize) -> Self;
}

impl<T> WithCapacity for Vec<T> {
    fn with_capacity_hint(n: usize) -> Self {
        Vec::with_capacity(n)
    }
}

impl<T> WithCapacity for BTreeSet<T> {
    fn with_capacity_hint(_n: usize) -> Self {
        BTreeSet::new()
    }
}

impl<T, S: Default> WithCapacity for HashSet<T, S> {
    fn with_capacity_hint(_n: usize) -> Self {
        HashSet::default()
    }
}

// ----------------------------------------------------------------------
// Numbers
// ----------------------------------------------------------------------

macro_rules! int_impl {
    ($($t:ty),*) => {$(
        impl WriteTo for $t {
            fn write_to(&self, stream: &mut DataStream<'_>) {
                let bytes = match stream.byte_order() {
                    ByteOrder::BigEndian => self.to_be_bytes(),
                    ByteOrder::LittleEndian => self.to_le_bytes(),
                };
                stream.write_raw_data(&bytes);
            }
        }

        impl ReadFrom for $t {
            fn read_from(stream: &mut DataStream<'_>) -> Self {
                let order = stream.byte_order();
                match stream.read_array::<{ std::mem::size_of::<$t>() }>() {
                    Some(b) if order == ByteOrder::BigEndian => <$t>::from_be_bytes(b),
                    Some(b) => <$t>::from_le_bytes(b),
                    None => 0,
                }
            }
        }
    )*};
}

int_impl!(i8, i16, u16, i32, u32);

impl WriteTo for u8 {
    fn write_to(&self, stream: &mut DataStream<'_>) {
        stream.write_raw_data(&[*self]);
    }

    /// A `QByteArray`: size + the bytes, written at once.
    fn write_slice(items: &[Self], stream: &mut DataStream<'_>) {
        stream.write_bytes(items);
    }
}

impl ReadFrom for u8 {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        stream.read_array::<1>().map_or(0, |[b]| b)
    }

    /// A `QByteArray` (a null one reads as empty), read in bounded chunks.
    fn read_vec(stream: &mut DataStream<'_>) -> Vec<Self> {
        stream.read_qbytearray().unwrap_or_default()
    }
}

/// Qt's 64-bit write: before version 6 (Qt 3.3) as two quint32, high
/// then low.
fn write_64(stream: &mut DataStream<'_>, v: u64) {
    if stream.version() < DataStreamVersion::QT_3_3 {
        if stream.is_ok() {
            stream.write_u32((v >> 32) as u32);
            stream.write_u32(v as u32);
        }
    } else {
        stream.write_u64(v);
    }
}

/// Qt's 64-bit read. Before version 6 Qt reads two quint32 and takes the
/// *first* as the low half, the reverse of how it writes them; sigloop
/// does the same, to read what such a Qt reads.
fn read_64(stream: &mut DataStream<'_>) -> u64 {
    if stream.version() < DataStreamVersion::QT_3_3 {
        let first = stream.read_u32();
        let second = stream.read_u32();
        (u64::from(second) << 32).wrapping_add(u64::from(first))
    } else {
        stream.read_u64()
    }
}

impl WriteTo for i64 {
    fn write_to(&self, stream: &mut DataStream<'_>) {
        write_64(stream, *self as u64);
    }
}

impl ReadFrom for i64 {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        read_64(stream) as i64
    }
}

impl WriteTo for u64 {
    fn write_to(&self, stream: &mut DataStream<'_>) {
        write_64(stream, *self);
    }
}

impl ReadFrom for u64 {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        read_64(stream)
    }
}

impl WriteTo for bool {
    fn write_to(&self, stream: &mut DataStream<'_>) {
        stream.write_raw_data(&[u8::from(*self)]);
    }
}

impl ReadFrom for bool {
    /// Any non-zero byte is true, as in Qt.
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        u8::read_from(stream) != 0
    }
}

/// Whether floats follow the precision setting (version ≥ Qt_4_6).
fn precision_applies(stream: &DataStream<'_>) -> bool {
    stream.version() >= DataStreamVersion::QT_4_6
}

fn write_f32_bits(stream: &mut DataStream<'_>, v: f32) {
    v.to_bits().write_to(stream);
}

/// A double is 8 bytes at every version (not split like a qint64).
fn write_f64_bits(stream: &mut DataStream<'_>, v: f64) {
    stream.write_u64(v.to_bits());
}

impl WriteTo for f32 {
    /// 8 bytes (a double) under
    /// [`DoublePrecision`](FloatingPointPrecision::DoublePrecision) from
    /// version Qt_4_6 on, otherwise 4.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        if precision_applies(stream)
            && stream.floating_point_precision() == FloatingPointPrecision::DoublePrecision
        {
            write_f64_bits(stream, f64::from(*self));
        } else {
            write_f32_bits(stream, *self);
        }
    }
}

impl ReadFrom for f32 {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        if precision_applies(stream)
            && stream.floating_point_precision() == FloatingPointPrecision::DoublePrecision
        {
            f64::from_bits(stream.read_u64()) as f32
        } else {
            f32::from_bits(u32::read_from(stream))
        }
    }
}

impl WriteTo for f64 {
    /// 4 bytes (rounded to a float) under
    /// [`SinglePrecision`](FloatingPointPrecision::SinglePrecision) from
    /// version Qt_4_6 on, otherwise 8.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        if precision_applies(stream)
            && stream.floating_point_precision() == FloatingPointPrecision::SinglePrecision
        {
            write_f32_bits(stream, *self as f32);
        } else {
            write_f64_bits(stream, *self);
        }
    }
}

impl ReadFrom for f64 {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        if precision_applies(stream)
            && stream.floating_point_precision() == FloatingPointPrecision::SinglePrecision
        {
            f64::from(f32::from_bits(u32::read_from(stream)))
        } else {
            f64::from_bits(stream.read_u64())
        }
    }
}

// ----------------------------------------------------------------------
// Strings and byte arrays
// ----------------------------------------------------------------------

/// UTF-16 code units to a `String`; `None` (with ReadCorruptData) if they
/// are not valid UTF-16.
fn decode_utf16(stream: &mut DataStream<'_>, units: &[u16]) -> Option<String> {
    match String::from_utf16(units) {
        Ok(s) => Some(s),
        Err(_) => {
            stream.set_status(DataStreamStatus::ReadCorruptData);
            None
        }
    }
}

/// `QString` order: by UTF-16 code units.
fn utf16_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

impl WriteTo for str {
    /// A `QString`: byte length + UTF-16 in the stream's byte order.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        stream.write_qstring_units(Some(self.encode_utf16()), self.len());
    }

    fn qt_key_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(utf16_cmp(self, other))
    }
}

impl WriteTo for String {
    fn write_to(&self, stream: &mut DataStream<'_>) {
        self.as_str().write_to(stream);
    }

    fn qt_key_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(utf16_cmp(self, other))
    }
}

impl ReadFrom for String {
    /// A `QString`; a null one reads as empty. Not valid UTF-16:
    /// ReadCorruptData and empty (Qt keeps such strings; see
    /// [`DataStream::read_utf16`]).
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        Option::<String>::read_from(stream).unwrap_or_default()
    }
}

impl WriteTo for Option<&str> {
    /// A `QString`; `None` is the null string (`ffffffff`).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        match self {
            Some(s) => s.write_to(stream),
            None => {
                stream.write_utf16(None);
            }
        }
    }
}

impl WriteTo for Option<String> {
    /// A `QString`; `None` is the null string (`ffffffff`).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        self.as_deref().write_to(stream);
    }
}

impl ReadFrom for Option<String> {
    /// A `QString`: `None` for null (`ffffffff`), and after errors where
    /// Qt leaves a null string (truncated or corrupt text).
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        let units = stream.read_qstring_units()?;
        decode_utf16(stream, &units)
    }
}

impl WriteTo for Option<&[u8]> {
    /// A `QByteArray`; `None` is the null array (`ffffffff`).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        stream.write_qbytearray(*self);
    }
}

impl WriteTo for Option<Vec<u8>> {
    /// A `QByteArray`; `None` is the null array (`ffffffff`).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        stream.write_qbytearray(self.as_deref());
    }
}

impl ReadFrom for Option<Vec<u8>> {
    /// A `QByteArray`: `None` for null (`ffffffff`), and after errors where
    /// Qt leaves a null array.
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        stream.read_qbytearray()
    }
}

// ----------------------------------------------------------------------
// Containers
// ----------------------------------------------------------------------

impl<T: WriteTo> WriteTo for [T] {
    /// A `QList<T>` (for `u8`, a `QByteArray`, the same bytes).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        T::write_slice(self, stream);
    }
}

impl<T: WriteTo> WriteTo for Vec<T> {
    /// A `QList<T>` (for `u8`, a `QByteArray`, the same bytes).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        T::write_slice(self, stream);
    }
}

impl<T: ReadFrom> ReadFrom for Vec<T> {
    /// A `QList<T>`. `Vec<u8>` reads a `QByteArray` (a null one as empty;
    /// a `QList<quint8>` has the same bytes but no null).
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        T::read_vec(stream)
    }
}

impl<T: WriteTo + ?Sized> WriteTo for &T {
    fn write_to(&self, stream: &mut DataStream<'_>) {
        (**self).write_to(stream);
    }

    fn qt_key_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).qt_key_cmp(*other)
    }
}

impl<T: WriteTo + ?Sized> WriteTo for Box<T> {
    fn write_to(&self, stream: &mut DataStream<'_>) {
        (**self).write_to(stream);
    }

    fn qt_key_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).qt_key_cmp(other)
    }
}

impl<T: ReadFrom> ReadFrom for Box<T> {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        Box::new(T::read_from(stream))
    }
}

impl<A: WriteTo, B: WriteTo> WriteTo for (A, B) {
    /// A `QPair`/`std::pair`: first, then second.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        self.0.write_to(stream);
        self.1.write_to(stream);
    }
}

impl<A: ReadFrom, B: ReadFrom> ReadFrom for (A, B) {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        let a = A::read_from(stream);
        let b = B::read_from(stream);
        (a, b)
    }
}

/// Writes a count and the (key, value) pairs in iteration order.
fn write_pairs<'k, K: WriteTo + 'k, V: WriteTo + 'k>(
    stream: &mut DataStream<'_>,
    len: usize,
    pairs: impl Iterator<Item = (&'k K, &'k V)>,
) {
    if !stream.write_size(size_of_len(len)) {
        return;
    }
    for (k, v) in pairs {
        k.write_to(stream);
        v.write_to(stream);
    }
}

impl<K: WriteTo + Ord, V: WriteTo> WriteTo for BTreeMap<K, V> {
    /// A `QMap<K, V>`: ascending key order, Qt's order for string keys.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        let mut keys = self.keys();
        let qt_order = match (keys.next(), keys.next()) {
            (Some(a), Some(b)) => a.qt_key_cmp(b).is_some(),
            _ => false,
        };
        if qt_order {
            let mut entries: Vec<(&K, &V)> = self.iter().collect();
            entries.sort_by(|a, b| a.0.qt_key_cmp(b.0).unwrap_or(Ordering::Equal));
            write_pairs(stream, self.len(), entries.into_iter());
        } else {
            write_pairs(stream, self.len(), self.iter());
        }
    }
}

impl<K: ReadFrom + Ord, V: ReadFrom> ReadFrom for BTreeMap<K, V> {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        read_pairs(stream, |m: &mut BTreeMap<K, V>, k, v| {
            m.insert(k, v);
        })
    }
}

impl<K: WriteTo, V: WriteTo, S> WriteTo for HashMap<K, V, S> {
    /// A `QHash<K, V>`: the map's iteration order.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        write_pairs(stream, self.len(), self.iter());
    }
}

impl<K: ReadFrom + Eq + Hash, V: ReadFrom, S: BuildHasher + Default> ReadFrom for HashMap<K, V, S> {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        read_pairs(stream, |m: &mut HashMap<K, V, S>, k, v| {
            m.insert(k, v);
        })
    }
}

/// Writes a count and the elements in iteration order.
fn write_items<'i, T: WriteTo + 'i>(
    stream: &mut DataStream<'_>,
    len: usize,
    items: impl Iterator<Item = &'i T>,
) {
    if !stream.write_size(size_of_len(len)) {
        return;
    }
    for item in items {
        item.write_to(stream);
    }
}

impl<T: WriteTo> WriteTo for BTreeSet<T> {
    /// A `QSet<T>` (Qt writes its sets in hash order; any order reads).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        write_items(stream, self.len(), self.iter());
    }
}

impl<T: ReadFrom + Ord> ReadFrom for BTreeSet<T> {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        read_sequence(stream, 0, |s: &mut BTreeSet<T>, item| {
            s.insert(item);
        })
    }
}

impl<T: WriteTo, S> WriteTo for HashSet<T, S> {
    /// A `QSet<T>`: the set's iteration order.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        write_items(stream, self.len(), self.iter());
    }
}

impl<T: ReadFrom + Eq + Hash, S: BuildHasher + Default> ReadFrom for HashSet<T, S> {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        read_sequence(stream, 0, |s: &mut HashSet<T, S>, item| {
            s.insert(item);
        })
    }
}
