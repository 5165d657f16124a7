//! [`Variant`] (Qt: `QVariant`) as Qt streams it: a type id, a null flag
//! (from Qt 4.2 on) and the value, with the type ids of each era.

use std::collections::{BTreeMap, HashMap};

use super::{
    DataStream, DataStreamStatus, DataStreamVersion, Date, DateTime, ReadFrom, Time, Uuid, WriteTo,
};

/// How deeply lists and maps of variants may nest when read. Deeper input
/// is [`ReadCorruptData`](DataStreamStatus::ReadCorruptData): a few bytes
/// per level must not be able to exhaust the stack.
pub(super) const MAX_NESTING: u32 = 128;

/// Qt 4's id of a user type; its name follows.
const QT4_USER_TYPE: u32 = 127;
/// Qt 4 ids are Qt 5's plus this, for Qt 5 ids from 31 on.
const QT4_SHIFT: u32 = 97;

/// A value of one of the types Qt programs put in a `QVariant` on the
/// wire, read and written byte for byte as Qt's `QDataStream` does for
/// every stream version.
///
/// Qt's names are kept, so `QVariant(qint16(5))` is `Variant::Short(5)`
/// and reads back as such. A type that an older stream version cannot
/// carry is written as Qt writes it there: as an invalid variant (Qt 3
/// streams had no `QUrl`, `QUuid`, `QVariantHash`, 8/16-bit integers or
/// `float`), or by name (`QUuid` in Qt 4 streams).
///
/// Reading a type id sigloop does not know (a GUI type such as `QColor`,
/// a user type) cannot tell how long the value is: the read fails with
/// [`ReadCorruptData`](DataStreamStatus::ReadCorruptData) and returns
/// [`Invalid`](Self::Invalid). Lists and maps nest at most 128 deep.
///
/// A null `QString` or `QByteArray` inside a variant reads as empty, as
/// `String` and `Vec<u8>` do elsewhere.
///
/// Qt: `QVariant` (`QVariantList`, `QVariantMap`, `QVariantHash`).
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use sigloop_core::{DataStream, Variant};
///
/// let mut bytes = Vec::new();
/// DataStream::writer(&mut bytes).write(&Variant::Int(5));
/// assert_eq!(bytes, [0, 0, 0, 2, 0, 0, 0, 0, 5]); // id 2, not null, 5
///
/// let message = Variant::Map(BTreeMap::from([
///     ("name".to_string(), Variant::String("sigloop".into())),
///     ("ports".to_string(), Variant::List(vec![Variant::UShort(80), Variant::UShort(443)])),
/// ]));
/// let mut bytes = Vec::new();
/// DataStream::writer(&mut bytes).write(&message);
/// let back: Variant = DataStream::reader(&bytes).read();
/// assert_eq!(back, message);
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Variant {
    /// No value. Qt: `QVariant()`.
    #[default]
    Invalid,
    /// Qt: `bool` (type 1).
    Bool(bool),
    /// Qt: `int` (type 2).
    Int(i32),
    /// Qt: `uint` (type 3).
    UInt(u32),
    /// Qt: `qlonglong` (type 4).
    LongLong(i64),
    /// Qt: `qulonglong` (type 5).
    ULongLong(u64),
    /// Qt: `double` (type 6); written with the stream's floating-point
    /// precision, as Qt does.
    Double(f64),
    /// Qt: `short` (type 33).
    Short(i16),
    /// Qt: `ushort` (type 36).
    UShort(u16),
    /// Qt: `char` (type 34).
    Char(i8),
    /// Qt: `signed char` (type 40).
    SChar(i8),
    /// Qt: `uchar` (type 37).
    UChar(u8),
    /// Qt: `float` (type 38); written with the stream's floating-point
    /// precision, as Qt does.
    Float(f32),
    /// Qt: `QString` (type 10).
    String(String),
    /// Qt: `QStringList` (type 11).
    StringList(Vec<String>),
    /// Qt: `QByteArray` (type 12).
    ByteArray(Vec<u8>),
    /// Qt: `QVariantList` (type 9).
    List(Vec<Variant>),
    /// Qt: `QVariantMap`, a `QMap<QString, QVariant>` (type 8).
    Map(BTreeMap<String, Variant>),
    /// Qt: `QVariantHash`, a `QHash<QString, QVariant>` (type 28).
    Hash(HashMap<String, Variant>),
    /// Qt: `QDate` (type 14).
    Date(Date),
    /// Qt: `QTime` (type 15).
    Time(Time),
    /// Qt: `QDateTime` (type 16).
    DateTime(DateTime),
    /// Qt: `QUrl` (type 17), in its encoded form (`QUrl::toEncoded()`:
    /// ASCII, percent-encoded). Empty is Qt's empty, invalid URL.
    Url(String),
    /// Qt: `QUuid` (type 30).
    Uuid(Uuid),
}

/// Qt 5 and 6 type ids (`QMetaType::Type`).
mod id {
    pub(super) const INVALID: u32 = 0;
    pub(super) const BOOL: u32 = 1;
    pub(super) const INT: u32 = 2;
    pub(super) const UINT: u32 = 3;
    pub(super) const LONG_LONG: u32 = 4;
    pub(super) const ULONG_LONG: u32 = 5;
    pub(super) const DOUBLE: u32 = 6;
    pub(super) const MAP: u32 = 8;
    pub(super) const LIST: u32 = 9;
    pub(super) const STRING: u32 = 10;
    pub(super) const STRING_LIST: u32 = 11;
    pub(super) const BYTE_ARRAY: u32 = 12;
    pub(super) const DATE: u32 = 14;
    pub(super) const TIME: u32 = 15;
    pub(super) const DATE_TIME: u32 = 16;
    pub(super) const URL: u32 = 17;
    pub(super) const HASH: u32 = 28;
    pub(super) const UUID: u32 = 30;
    pub(super) const SHORT: u32 = 33;
    pub(super) const CHAR: u32 = 34;
    pub(super) const USHORT: u32 = 36;
    pub(super) const UCHAR: u32 = 37;
    pub(super) const FLOAT: u32 = 38;
    pub(super) const SCHAR: u32 = 40;
}

/// Qt 3's type ids (streams before Qt 4.0), for the types Qt 3 had.
const QT3_IDS: [(u32, u32); 15] = [
    (id::INVALID, 0),
    (id::MAP, 1),
    (id::LIST, 2),
    (id::STRING, 3),
    (id::STRING_LIST, 4),
    (id::INT, 16),
    (id::UINT, 17),
    (id::BOOL, 18),
    (id::DOUBLE, 19),
    (id::DATE, 26),
    (id::TIME, 27),
    (id::DATE_TIME, 28),
    (id::BYTE_ARRAY, 29),
    (id::LONG_LONG, 33),
    (id::ULONG_LONG, 34),
];

/// How a type is named on the wire in a given stream version.
enum WireType {
    /// A numeric type id.
    Id(u32),
    /// Qt 4's user type: id 127 and the type's name.
    Named(&'static std::ffi::CStr),
    /// The version cannot carry it: Qt writes an invalid variant.
    Unsupported,
}

fn wire_type(id: u32, version: DataStreamVersion) -> WireType {
    if version < DataStreamVersion::QT_4_0 {
        return match QT3_IDS.iter().find(|(qt, _)| *qt == id) {
            Some(&(_, old)) => WireType::Id(old),
            None => WireType::Unsupported,
        };
    }
    if version < DataStreamVersion::QT_5_0 {
        return match id {
            // QUuid was not a built-in type in Qt 4.
            id::UUID => WireType::Named(c"QUuid"),
            id if id >= 128 - QT4_SHIFT => WireType::Id(id + QT4_SHIFT),
            id => WireType::Id(id),
        };
    }
    WireType::Id(id)
}

/// The Qt 5/6 id of a type id read from a stream of `version`.
fn from_wire(wire: u32, version: DataStreamVersion) -> Option<u32> {
    if version < DataStreamVersion::QT_4_0 {
        return QT3_IDS
            .iter()
            .find(|(_, old)| *old == wire)
            .map(|&(qt, _)| qt);
    }
    if version < DataStreamVersion::QT_5_0 && wire >= 128 {
        return Some(wire - QT4_SHIFT);
    }
    Some(wire)
}

impl Variant {
    /// Qt's type id (`QMetaType::Type`, as in Qt 5 and 6); 0 for
    /// [`Invalid`](Self::Invalid). Qt: `QVariant::typeId()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::Variant;
    /// assert_eq!(Variant::String("x".into()).type_id(), 10);
    /// assert_eq!(Variant::Invalid.type_id(), 0);
    /// ```
    pub fn type_id(&self) -> u32 {
        match self {
            Variant::Invalid => id::INVALID,
            Variant::Bool(_) => id::BOOL,
            Variant::Int(_) => id::INT,
            Variant::UInt(_) => id::UINT,
            Variant::LongLong(_) => id::LONG_LONG,
            Variant::ULongLong(_) => id::ULONG_LONG,
            Variant::Double(_) => id::DOUBLE,
            Variant::Short(_) => id::SHORT,
            Variant::UShort(_) => id::USHORT,
            Variant::Char(_) => id::CHAR,
            Variant::SChar(_) => id::SCHAR,
            Variant::UChar(_) => id::UCHAR,
            Variant::Float(_) => id::FLOAT,
            Variant::String(_) => id::STRING,
            Variant::StringList(_) => id::STRING_LIST,
            Variant::ByteArray(_) => id::BYTE_ARRAY,
            Variant::List(_) => id::LIST,
            Variant::Map(_) => id::MAP,
            Variant::Hash(_) => id::HASH,
            Variant::Date(_) => id::DATE,
            Variant::Time(_) => id::TIME,
            Variant::DateTime(_) => id::DATE_TIME,
            Variant::Url(_) => id::URL,
            Variant::Uuid(_) => id::UUID,
        }
    }

    /// Whether this holds a value. Qt: `QVariant::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Variant::default().is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        !matches!(self, Variant::Invalid)
    }

    /// Writes the value alone, after its id and null flag.
    fn write_value(&self, s: &mut DataStream<'_>) {
        let _ = match self {
            Variant::Invalid => s,
            Variant::Bool(v) => s.write(v),
            Variant::Int(v) => s.write(v),
            Variant::UInt(v) => s.write(v),
            Variant::LongLong(v) => s.write(v),
            Variant::ULongLong(v) => s.write(v),
            Variant::Double(v) => s.write(v),
            Variant::Short(v) => s.write(v),
            Variant::UShort(v) => s.write(v),
            Variant::Char(v) | Variant::SChar(v) => s.write(v),
            Variant::UChar(v) => s.write(v),
            Variant::Float(v) => s.write(v),
            Variant::String(v) => s.write(v),
            Variant::StringList(v) => s.write(v),
            Variant::ByteArray(v) => s.write(v),
            Variant::List(v) => s.write(v),
            Variant::Map(v) => s.write(v),
            Variant::Hash(v) => s.write(v),
            Variant::Date(v) => s.write(v),
            Variant::Time(v) => s.write(v),
            Variant::DateTime(v) => s.write(v),
            // Qt writes a null byte array for an empty (invalid) URL.
            Variant::Url(v) if v.is_empty() => s.write(&None::<Vec<u8>>),
            Variant::Url(v) => s.write(v.as_bytes()),
            Variant::Uuid(v) => s.write(v),
        };
    }

    /// Reads the value of Qt 5/6 type `id`; `None` for a type sigloop
    /// does not know.
    fn read_value(id: u32, s: &mut DataStream<'_>) -> Option<Variant> {
        Some(match id {
            id::BOOL => Variant::Bool(s.read()),
            id::INT => Variant::Int(s.read()),
            id::UINT => Variant::UInt(s.read()),
            id::LONG_LONG => Variant::LongLong(s.read()),
            id::ULONG_LONG => Variant::ULongLong(s.read()),
            id::DOUBLE => Variant::Double(s.read()),
            id::SHORT => Variant::Short(s.read()),
            id::USHORT => Variant::UShort(s.read()),
            id::CHAR => Variant::Char(s.read()),
            id::SCHAR => Variant::SChar(s.read()),
            id::UCHAR => Variant::UChar(s.read()),
            id::FLOAT => Variant::Float(s.read()),
            id::STRING => Variant::String(s.read()),
            id::STRING_LIST => Variant::StringList(s.read()),
            id::BYTE_ARRAY => Variant::ByteArray(s.read()),
            id::LIST => Variant::List(s.read()),
            id::MAP => Variant::Map(s.read()),
            id::HASH => Variant::Hash(s.read()),
            id::DATE => Variant::Date(s.read()),
            id::TIME => Variant::Time(s.read()),
            id::DATE_TIME => Variant::DateTime(s.read()),
            id::URL => {
                let bytes: Vec<u8> = s.read();
                match String::from_utf8(bytes) {
                    Ok(url) => Variant::Url(url),
                    Err(_) => {
                        // An encoded URL is ASCII; anything else is not one.
                        s.set_status(DataStreamStatus::ReadCorruptData);
                        Variant::Invalid
                    }
                }
            }
            id::UUID => Variant::Uuid(s.read()),
            _ => return None,
        })
    }
}

impl WriteTo for Variant {
    /// A `QVariant`: the type id (`quint32`, in the numbering of the
    /// stream's version), a null flag (`qint8`, from
    /// [`QT_4_2`](DataStreamVersion::QT_4_2) on; 1 only for
    /// [`Invalid`](Variant::Invalid)), then the value. An invalid variant
    /// carries a null `QString` before [`QT_5_0`](DataStreamVersion::QT_5_0).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        let version = stream.version();
        let (wire, name) = match wire_type(self.type_id(), version) {
            WireType::Id(wire) => (wire, None),
            WireType::Named(name) => (QT4_USER_TYPE, Some(name)),
            WireType::Unsupported => return Variant::Invalid.write_to(stream),
        };
        stream.write(&wire);
        if version >= DataStreamVersion::QT_4_2 {
            stream.write(&i8::from(!self.is_valid()));
        }
        if let Some(name) = name {
            stream.write_c_str(name);
        }
        if !self.is_valid() {
            if version < DataStreamVersion::QT_5_0 {
                stream.write(&None::<&str>);
            }
            return;
        }
        self.write_value(stream);
    }
}

impl ReadFrom for Variant {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        if stream.variant_depth >= MAX_NESTING {
            stream.set_status(DataStreamStatus::ReadCorruptData);
            return Variant::Invalid;
        }
        stream.variant_depth += 1;
        let value = read_variant(stream);
        stream.variant_depth -= 1;
        if stream.is_ok() {
            value
        } else {
            Variant::Invalid
        }
    }
}

fn read_variant(s: &mut DataStream<'_>) -> Variant {
    let version = s.version();
    let wire: u32 = s.read();
    if version >= DataStreamVersion::QT_4_2 {
        // Qt reads the flag and keeps the value it reads regardless.
        let _null: i8 = s.read();
    }
    if !s.is_ok() {
        return Variant::Invalid;
    }
    let id = if version >= DataStreamVersion::QT_4_0
        && version < DataStreamVersion::QT_5_0
        && wire == QT4_USER_TYPE
    {
        match s.read_bytes().as_slice() {
            b"QUuid\0" => Some(id::UUID),
            _ => None,
        }
    } else {
        from_wire(wire, version)
    };
    match id {
        Some(id::INVALID) => {
            if version < DataStreamVersion::QT_5_0 {
                let _: Option<String> = s.read();
            }
            Variant::Invalid
        }
        Some(id) => Variant::read_value(id, s).unwrap_or_else(|| {
            s.set_status(DataStreamStatus::ReadCorruptData);
            Variant::Invalid
        }),
        None => {
            s.set_status(DataStreamStatus::ReadCorruptData);
            Variant::Invalid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Buffer, IoDevice, OpenMode};

    fn bytes_of(value: &Variant, version: DataStreamVersion) -> Vec<u8> {
        let mut out = Vec::new();
        let mut s = DataStream::writer(&mut out);
        s.set_version(version);
        s.write(value);
        out
    }

    fn read(bytes: &[u8]) -> (Variant, DataStreamStatus) {
        let mut s = DataStream::reader(bytes);
        let value: Variant = s.read();
        (value, s.status())
    }

    /// `levels` lists, each holding the next, around an int.
    fn nested(levels: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..levels {
            out.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 0, 1]);
        }
        out.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 7]);
        out
    }

    #[test]
    fn nesting_is_bounded_without_exhausting_the_stack() {
        let limit = MAX_NESTING as usize;
        let (ok, status) = read(&nested(limit - 1));
        assert_eq!(status, DataStreamStatus::Ok);
        assert!(matches!(ok, Variant::List(_)));
        for levels in [limit, 100_000] {
            let (value, status) = read(&nested(levels));
            assert_eq!(status, DataStreamStatus::ReadCorruptData, "{levels} levels");
            assert_eq!(value, Variant::Invalid);
        }
        // The stream is usable again: the depth unwound.
        let mut s = DataStream::reader(&[0, 0, 0, 1, 0, 1]);
        assert_eq!(s.read::<Variant>(), Variant::Bool(true));
    }

    #[test]
    fn a_huge_count_costs_only_the_bytes_that_are_there() {
        // A list claiming 4 billion variants, then two ints.
        let mut bytes = vec![0, 0, 0, 9, 0, 0xff, 0xff, 0xff, 0xf0];
        bytes.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 1]);
        bytes.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 2]);
        let (value, status) = read(&bytes);
        assert_eq!(status, DataStreamStatus::ReadPastEnd);
        assert_eq!(value, Variant::Invalid);
        // A map and a string list likewise.
        for id in [8u8, 11, 28] {
            let (_, status) = read(&[0, 0, 0, id, 0, 0xff, 0xff, 0xff, 0xf0]);
            assert_eq!(status, DataStreamStatus::ReadPastEnd, "type {id}");
        }
    }

    #[test]
    fn unknown_types_are_corrupt_data() {
        // QRect (19), a Qt 6 user type (65536) and Qt 4's user type with
        // a name sigloop does not know.
        for bytes in [
            &[0, 0, 0, 19, 0, 0, 0, 0, 1][..],
            &[0, 1, 0, 0, 0, 0, 0, 0, 1],
        ] {
            let (value, status) = read(bytes);
            assert_eq!(status, DataStreamStatus::ReadCorruptData);
            assert_eq!(value, Variant::Invalid);
        }
        let mut s = DataStream::reader(&[0, 0, 0, 127, 0, 0, 0, 0, 3, b'F', b'o', 0]);
        s.set_version(DataStreamVersion::QT_4_6);
        assert_eq!(s.read::<Variant>(), Variant::Invalid);
        assert_eq!(s.status(), DataStreamStatus::ReadCorruptData);
        // A URL that is not ASCII text.
        let (_, status) = read(&[0, 0, 0, 17, 0, 0, 0, 0, 1, 0xff]);
        assert_eq!(status, DataStreamStatus::ReadCorruptData);
    }

    fn sample() -> Variant {
        Variant::Map(BTreeMap::from([
            (
                "a".to_string(),
                Variant::List(vec![Variant::Short(-2), Variant::Float(0.5)]),
            ),
            (
                "d".to_string(),
                Variant::DateTime(DateTime {
                    date: Date::from_ymd(2024, 2, 29).unwrap(),
                    time: Time::from_hms_msec(1, 2, 3, 4).unwrap(),
                    spec: super::super::TimeSpec::Utc,
                }),
            ),
            ("u".to_string(), Variant::Uuid(Uuid::from_bytes([9; 16]))),
            ("s".to_string(), Variant::StringList(vec!["x".into()])),
            (
                "h".to_string(),
                Variant::Hash(HashMap::from([("k".into(), Variant::Url("y:z".into()))])),
            ),
        ]))
    }

    #[test]
    fn every_truncation_fails_cleanly_and_every_version_round_trips() {
        for number in 1..=DataStreamVersion::NEWEST.number() {
            let version = DataStreamVersion::from_number(number);
            let bytes = bytes_of(&sample(), version);
            let mut s = DataStream::reader(&bytes);
            s.set_version(version);
            let back: Variant = s.read();
            assert!(s.status().is_ok() && s.at_end(), "version {number}");
            assert_eq!(bytes_of(&back, version), bytes, "version {number}");
            for cut in 0..bytes.len() {
                let mut s = DataStream::reader(&bytes[..cut]);
                s.set_version(version);
                assert_eq!(
                    s.read::<Variant>(),
                    Variant::Invalid,
                    "version {number}, cut {cut}"
                );
                assert!(!s.status().is_ok());
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        // A fixed pseudo-random sequence (xorshift), mixed with the
        // sample's bytes so that many reads get past the type id.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let base = bytes_of(&sample(), DataStreamVersion::NEWEST);
        for round in 0..2000 {
            let mut bytes = base.clone();
            for _ in 0..(round % 8 + 1) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % bytes.len() as u64) as usize;
                bytes[at] = (state >> 32) as u8;
            }
            let mut s = DataStream::reader(&bytes);
            let _: Variant = s.read();
        }
    }

    #[test]
    fn a_transaction_waits_for_the_whole_variant() {
        let bytes = bytes_of(&sample(), DataStreamVersion::NEWEST);
        let (first, rest) = bytes.split_at(bytes.len() / 2);
        let buf = Buffer::new();
        buf.open(OpenMode::READ_WRITE).unwrap();
        buf.write(first).unwrap();
        buf.seek(0).unwrap();
        let mut s = DataStream::new(&buf);
        s.start_transaction();
        let _: Variant = s.read();
        assert!(!s.commit_transaction());
        assert_eq!(buf.bytes_available(), first.len());
        let end = buf.size();
        buf.seek(end).unwrap();
        buf.write(rest).unwrap();
        buf.seek(0).unwrap();
        s.start_transaction();
        let value: Variant = s.read();
        assert!(s.commit_transaction());
        assert_eq!(value, sample());
    }
}
