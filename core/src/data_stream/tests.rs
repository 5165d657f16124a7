//! Unit tests for `DataStream`: Qt's exact bytes (from the reference's
//! table, observed with PySide6), status and transaction rules, old
//! versions, sizes, and hostile input.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::memory::SliceDevice;
use super::*;
use crate::{Buffer, DeviceError, OpenMode};

use ByteOrder::{BigEndian, LittleEndian};
use DataStreamStatus as St;
use FloatingPointPrecision::{DoublePrecision, SinglePrecision};

/// Bytes from hex, spaces ignored.
fn h(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(digits.len() % 2, 0, "odd hex {hex:?}");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Clone, Copy)]
struct Cfg {
    order: ByteOrder,
    version: DataStreamVersion,
    precision: FloatingPointPrecision,
}

const DEFAULT: Cfg = Cfg {
    order: BigEndian,
    version: DataStreamVersion::NEWEST,
    precision: DoublePrecision,
};

impl Cfg {
    fn le(self) -> Self {
        Cfg {
            order: LittleEndian,
            ..self
        }
    }
    fn v(self, version: DataStreamVersion) -> Self {
        Cfg { version, ..self }
    }
    fn single(self) -> Self {
        Cfg {
            precision: SinglePrecision,
            ..self
        }
    }
    fn apply(self, s: &mut DataStream<'_>) {
        s.set_byte_order(self.order);
        s.set_version(self.version);
        s.set_floating_point_precision(self.precision);
    }
}

/// What `f` writes, as hex, with status Ok required.
fn w(cfg: Cfg, f: impl FnOnce(&mut DataStream<'_>)) -> String {
    let mut out = Vec::new();
    let mut s = DataStream::writer(&mut out);
    cfg.apply(&mut s);
    f(&mut s);
    assert_eq!(s.status(), St::Ok);
    drop(s);
    to_hex(&out)
}

/// Reads a `T` from `hex`: (value, status, at end).
fn r<T: ReadFrom>(cfg: Cfg, hex: &str) -> (T, DataStreamStatus, bool) {
    let bytes = h(hex);
    let mut s = DataStream::reader(&bytes);
    cfg.apply(&mut s);
    let v = s.read::<T>();
    (v, s.status(), s.at_end())
}

fn roundtrip<T: WriteTo + ReadFrom + PartialEq + std::fmt::Debug>(cfg: Cfg, value: &T) {
    let hex = w(cfg, |s| {
        s.write(value);
    });
    let (back, status, at_end) = r::<T>(cfg, &hex);
    assert_eq!(&back, value, "round trip through {hex}");
    assert_eq!(status, St::Ok);
    assert!(at_end);
}

// ----------------------------------------------------------------------
// Exact bytes (QDataStream's serialisation format page; observed with PySide6)
// ----------------------------------------------------------------------

#[test]
fn integers_have_qt_bytes() {
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&-1i8).write(&200u8);
        }),
        "ffc8"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&-2i16);
        }),
        "fffe"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&0xfffeu16);
        }),
        "fffe"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&0x0102_0304u32);
        }),
        "01020304"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&-2i32);
        }),
        "fffffffe"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&0x0102_0304_0506_0708i64);
        }),
        "0102030405060708"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&u64::MAX);
        }),
        "ffffffffffffffff"
    );
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write(&1u32);
        }),
        "01000000"
    );
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write(&-2i16);
        }),
        "feff"
    );
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write(&0x0102_0304_0506_0708u64);
        }),
        "0807060504030201"
    );
    // QChar is a quint16.
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&('A' as u16));
        }),
        "0041"
    );
}

#[test]
fn bool_is_one_byte_and_any_non_zero_reads_true() {
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&true).write(&false);
        }),
        "0100"
    );
    for byte in ["01", "02", "80", "ff"] {
        assert_eq!(r::<bool>(DEFAULT, byte), (true, St::Ok, true));
    }
    assert_eq!(r::<bool>(DEFAULT, "00"), (false, St::Ok, true));
    assert_eq!(r::<bool>(DEFAULT, ""), (false, St::ReadPastEnd, true));
}

#[test]
fn floats_follow_precision_and_version() {
    // DoublePrecision (default): both as 8-byte doubles.
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&1.5f64);
        }),
        "3ff8000000000000"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&1.5f32);
        }),
        "3ff8000000000000"
    );
    // SinglePrecision: both as 4-byte floats.
    assert_eq!(
        w(DEFAULT.single(), |s| {
            s.write(&1.5f32);
        }),
        "3fc00000"
    );
    assert_eq!(
        w(DEFAULT.single(), |s| {
            s.write(&1.5f64);
        }),
        "3fc00000"
    );
    // Before Qt_4_6: float 4, double 8, whatever the precision.
    for cfg in [
        DEFAULT.v(DataStreamVersion::QT_4_5),
        DEFAULT.v(DataStreamVersion::QT_4_5).single(),
    ] {
        assert_eq!(
            w(cfg, |s| {
                s.write(&1.5f32);
            }),
            "3fc00000"
        );
        assert_eq!(
            w(cfg, |s| {
                s.write(&1.5f64);
            }),
            "3ff8000000000000"
        );
        assert_eq!(r::<f32>(cfg, "3fc00000"), (1.5, St::Ok, true));
        assert_eq!(r::<f64>(cfg, "3ff8000000000000"), (1.5, St::Ok, true));
    }
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write(&1.5f64);
        }),
        "000000000000f83f"
    );
    assert_eq!(r::<f32>(DEFAULT, "3ff8000000000000"), (1.5, St::Ok, true));
    assert_eq!(r::<f64>(DEFAULT.single(), "3fc00000"), (1.5, St::Ok, true));
    // A double rounded to single precision.
    let (v, _, _) = r::<f64>(
        DEFAULT.single(),
        &w(DEFAULT.single(), |s| {
            s.write(&0.1f64);
        }),
    );
    assert_eq!(v, f64::from(0.1f32));
    // Truncated: zero and ReadPastEnd.
    assert_eq!(r::<f64>(DEFAULT, "3ff8"), (0.0, St::ReadPastEnd, true));
}

#[test]
fn strings_have_qt_bytes() {
    assert_eq!(
        w(DEFAULT, |s| {
            s.write("Hi");
        }),
        "00000004 0048 0069".replace(' ', "")
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&String::new());
        }),
        "00000000"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&None::<String>);
        }),
        "ffffffff"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&Some(""));
        }),
        "00000000"
    );
    // Non-BMP: a surrogate pair, as observed from PySide6.
    assert_eq!(
        w(DEFAULT, |s| {
            s.write("Hi\u{1F600}");
        }),
        "0000000800480069d83dde00"
    );
    // Little-endian: the length prefix too.
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write("A");
        }),
        "020000004100"
    );
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write(&None::<&str>);
        }),
        "ffffffff"
    );
    roundtrip(DEFAULT, &"h\u{e9}llo \u{1F600}\u{fffd}".to_string());
    roundtrip(DEFAULT.le(), &"h\u{e9}llo \u{1F600}".to_string());
    roundtrip(DEFAULT, &Some("x".to_string()));
    roundtrip(DEFAULT, &None::<String>);
    roundtrip(DEFAULT, &Some(String::new()));
}

#[test]
fn reading_strings_follows_qt() {
    // Null reads as empty String / None, status Ok.
    assert_eq!(
        r::<String>(DEFAULT, "ffffffff"),
        (String::new(), St::Ok, true)
    );
    assert_eq!(
        r::<Option<String>>(DEFAULT, "ffffffff"),
        (None, St::Ok, true)
    );
    assert_eq!(
        r::<Option<String>>(DEFAULT, "00000000"),
        (Some(String::new()), St::Ok, true)
    );
    // Odd byte length: ReadCorruptData, body left unread.
    assert_eq!(
        r::<String>(DEFAULT, "00000003 004100"),
        (String::new(), St::ReadCorruptData, false)
    );
    // Truncated body: empty (null), ReadPastEnd, what was there consumed.
    assert_eq!(
        r::<String>(DEFAULT, "00000004 0048"),
        (String::new(), St::ReadPastEnd, true)
    );
    assert_eq!(
        r::<Option<String>>(DEFAULT, "00000004 0048"),
        (None, St::ReadPastEnd, true)
    );
    // Truncated length: Qt reads size 0, so an empty, non-null string.
    assert_eq!(
        r::<Option<String>>(DEFAULT, "0000"),
        (Some(String::new()), St::ReadPastEnd, true)
    );
    // Lone surrogate: a deliberate difference (Qt keeps it).
    assert_eq!(
        r::<String>(DEFAULT, "00000002 d800"),
        (String::new(), St::ReadCorruptData, true)
    );
    assert_eq!(
        r::<Option<String>>(DEFAULT, "00000004 de00 0041"),
        (None, St::ReadCorruptData, true)
    );
    let bytes = h("00000002 d800 00000002 0041");
    let mut s = DataStream::reader(&bytes);
    assert_eq!(s.read_utf16(), Some(vec![0xd800]));
    assert_eq!(s.read_utf16(), Some(vec![0x41]));
    assert!(s.is_ok());
    let bytes = h("02000000 0041");
    let mut s = DataStream::reader(&bytes);
    s.set_byte_order(LittleEndian);
    assert_eq!(s.read::<String>(), "\u{4100}");
}

#[test]
fn byte_arrays_and_raw_bytes_have_qt_bytes() {
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&b"ab".to_vec());
        }),
        "000000026162"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&b""[..]);
        }),
        "00000000"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&None::<Vec<u8>>);
        }),
        "ffffffff"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&Some(&b""[..]));
        }),
        "00000000"
    );
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write(&b"ab"[..]);
        }),
        "020000006162"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write_bytes(b"ab");
        }),
        "000000026162"
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write_bytes(b"");
        }),
        "00000000"
    );
    // const char*: the length counts the trailing NUL.
    assert_eq!(
        w(DEFAULT, |s| {
            s.write_c_str(c"hi");
        }),
        "00000003686900"
    );
    assert_eq!(
        w(DEFAULT, |s| assert_eq!(s.write_raw_data(b"ab"), Some(2))),
        "6162"
    );

    assert_eq!(
        r::<Vec<u8>>(DEFAULT, "000000026162"),
        (b"ab".to_vec(), St::Ok, true)
    );
    assert_eq!(r::<Vec<u8>>(DEFAULT, "ffffffff"), (vec![], St::Ok, true));
    assert_eq!(
        r::<Option<Vec<u8>>>(DEFAULT, "ffffffff"),
        (None, St::Ok, true)
    );
    assert_eq!(
        r::<Option<Vec<u8>>>(DEFAULT, "00000000"),
        (Some(vec![]), St::Ok, true)
    );
    assert_eq!(
        r::<Option<Vec<u8>>>(DEFAULT, "00000003 6162"),
        (None, St::ReadPastEnd, true)
    );
    let bytes = h("00000003 686900 ffffffff");
    let mut s = DataStream::reader(&bytes);
    assert_eq!(s.read_bytes(), b"hi\0");
    assert_eq!(s.read_bytes(), b"");
    assert_eq!(s.status(), St::SizeLimitExceeded);
}

#[test]
fn containers_have_qt_bytes() {
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&vec![1i32, 2]);
        }),
        "00000002 00000001 00000002".replace(' ', "")
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&Vec::<i32>::new());
        }),
        "00000000"
    );
    // QStringList ["a", ""], as PySide6's writeQStringList writes it.
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&vec!["a".to_string(), String::new()]);
        }),
        "0000000200000002006100000000"
    );
    let map = BTreeMap::from([("b".to_string(), 2i32), ("a".to_string(), 1)]);
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&map);
        }),
        "00000002 00000002 0061 00000001 00000002 0062 00000002".replace(' ', "")
    );
    assert_eq!(
        w(DEFAULT.le(), |s| {
            s.write(&map);
        }),
        "02000000 02000000 6100 01000000 02000000 6200 02000000".replace(' ', "")
    );
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&("k", 7u16));
        }),
        "00000002006b0007"
    );
    let hash = HashMap::from([(5u8, true)]);
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&hash);
        }),
        "000000010501"
    );
    let set = BTreeSet::from([3u8, 1]);
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&set);
        }),
        "000000020103"
    );

    roundtrip(DEFAULT, &vec![vec!["x".to_string()], vec![]]);
    roundtrip(DEFAULT.le(), &map);
    roundtrip(
        DEFAULT,
        &HashMap::from([(1i64, "one".to_string()), (2, String::new())]),
    );
    roundtrip(DEFAULT, &HashSet::from([1u32, 7, 9]));
    roundtrip(DEFAULT, &BTreeSet::from(["b".to_string(), "a".to_string()]));
    roundtrip(DEFAULT, &(Some("p".to_string()), vec![(1u8, -1i8)]));
    roundtrip(DEFAULT, &vec![Some(b"x".to_vec()), None, Some(vec![])]);
    roundtrip(DEFAULT, &Box::new(5u16));
}

#[test]
fn string_keyed_maps_are_written_in_qstring_order() {
    // Qt orders QString keys by UTF-16 code units (seen with a
    // QVariantMap from PySide6): "a" < U+1F600 (d83d…) < U+FFFD. Rust's
    // String order would put U+FFFD before U+1F600.
    let map = BTreeMap::from([
        ("\u{fffd}".to_string(), 1u8),
        ("\u{1F600}".to_string(), 2),
        ("a".to_string(), 3),
    ]);
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&map);
        }),
        "00000003 00000002 0061 03 00000004 d83dde00 02 00000002 fffd 01".replace(' ', "")
    );
    let by_ref: BTreeMap<&str, u8> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        w(DEFAULT, |s| {
            s.write(&by_ref);
        }),
        w(DEFAULT, |s| {
            s.write(&map);
        })
    );
    roundtrip(DEFAULT, &map);
}

#[test]
fn every_type_round_trips_in_every_setting() {
    let cfgs = [
        DEFAULT,
        DEFAULT.le(),
        DEFAULT.single(),
        DEFAULT.v(DataStreamVersion::QT_5_15),
        DEFAULT.v(DataStreamVersion::QT_6_5).le().single(),
        DEFAULT.v(DataStreamVersion::QT_4_0),
    ];
    for cfg in cfgs {
        roundtrip(cfg, &i8::MIN);
        roundtrip(cfg, &u8::MAX);
        roundtrip(cfg, &i16::MIN);
        roundtrip(cfg, &u16::MAX);
        roundtrip(cfg, &i32::MIN);
        roundtrip(cfg, &u32::MAX);
        roundtrip(cfg, &i64::MIN);
        roundtrip(cfg, &u64::MAX);
        roundtrip(cfg, &true);
        roundtrip(cfg, &-2.5f32);
        roundtrip(cfg, &f32::INFINITY);
        roundtrip(cfg, &"z\u{1F600}".to_string());
        roundtrip(cfg, &b"\0\xff".to_vec());
        roundtrip(cfg, &vec!["a".to_string(), String::new()]);
        roundtrip(cfg, &BTreeMap::from([(1u16, vec![1.5f64])]));
    }
}

// ----------------------------------------------------------------------
// Versions
// ----------------------------------------------------------------------

#[test]
fn version_numbers_are_qts() {
    use DataStreamVersion as V;
    let table = [
        (V::QT_4_0, 7),
        (V::QT_4_1, 7),
        (V::QT_4_2, 8),
        (V::QT_4_3, 9),
        (V::QT_4_4, 10),
        (V::QT_4_5, 11),
        (V::QT_4_6, 12),
        (V::QT_4_9, 12),
        (V::QT_5_0, 13),
        (V::QT_5_1, 14),
        (V::QT_5_2, 15),
        (V::QT_5_3, 15),
        (V::QT_5_4, 16),
        (V::QT_5_5, 16),
        (V::QT_5_6, 17),
        (V::QT_5_11, 17),
        (V::QT_5_12, 18),
        (V::QT_5_13, 19),
        (V::QT_5_15, 19),
        (V::QT_6_0, 20),
        (V::QT_6_5, 20),
        (V::QT_6_6, 21),
        (V::QT_6_7, 22),
        (V::QT_6_9, 22),
        (V::QT_6_10, 23),
        (V::QT_6_11, 24),
        (V::NEWEST, 24),
    ];
    for (v, n) in table {
        assert_eq!(v.number(), n, "{v:?}");
    }
    let s = DataStream::reader(&[]);
    assert_eq!(s.version().number(), 24);
    assert_eq!(s.byte_order(), BigEndian);
    assert_eq!(s.floating_point_precision(), DoublePrecision);
    assert_eq!(format!("{:?}", V::QT_5_15), "DataStreamVersion(19)");
}

#[test]
fn pre_qt4_formats_are_qts() {
    use DataStreamVersion as V;
    // Before Qt 3.3 (version 6) a qint64 is two quint32, high first...
    let v = 0x0000_0001_0000_0002u64;
    assert_eq!(
        w(DEFAULT.v(V::QT_3_1), |s| {
            s.write(&v);
        }),
        "0000000100000002"
    );
    // ...and Qt reads the first as the low half (its own asymmetry).
    assert_eq!(
        r::<u64>(DEFAULT.v(V::QT_3_1), "0000000100000002"),
        (0x0000_0002_0000_0001, St::Ok, true)
    );
    assert_eq!(
        w(DEFAULT.v(V::QT_3_3), |s| {
            s.write(&v);
        }),
        "0000000100000002"
    );
    assert_eq!(
        r::<u64>(DEFAULT.v(V::QT_3_3), "0000000100000002"),
        (v, St::Ok, true)
    );
    // Doubles are never split, at any version.
    let cfg = DEFAULT.v(V::QT_3_1).le();
    assert_eq!(
        w(cfg, |s| {
            s.write(&1.5f64);
        }),
        "000000000000f83f"
    );
    assert_eq!(r::<f64>(cfg, "000000000000f83f"), (1.5, St::Ok, true));
    // Null QByteArray before Qt 3.3: written as empty.
    assert_eq!(
        w(DEFAULT.v(V::QT_3_1), |s| {
            s.write(&None::<Vec<u8>>);
        }),
        "00000000"
    );
    assert_eq!(
        w(DEFAULT.v(V::QT_3_3), |s| {
            s.write(&None::<Vec<u8>>);
        }),
        "ffffffff"
    );
    // Null QString before Qt 2.1: written as empty.
    assert_eq!(
        w(DEFAULT.v(V::QT_2_0), |s| {
            s.write(&None::<String>);
        }),
        "00000000"
    );
    assert_eq!(
        w(DEFAULT.v(V::QT_2_1), |s| {
            s.write(&None::<String>);
        }),
        "ffffffff"
    );
    // Qt 1: strings as Latin-1 byte arrays, '?' for the rest.
    assert_eq!(
        w(DEFAULT.v(V::QT_1_0), |s| {
            s.write("A\u{e9}\u{20ac}");
        }),
        "0000000341e93f"
    );
    assert_eq!(
        r::<String>(DEFAULT.v(V::QT_1_0), "0000000341e93f"),
        ("A\u{e9}?".to_string(), St::Ok, true)
    );
}

// ----------------------------------------------------------------------
// Sizes and the Qt 6.7 extension
// ----------------------------------------------------------------------

#[test]
fn large_sizes_use_the_extension_from_qt_6_7() {
    use DataStreamVersion as V;
    let at = |v: V, size: i64| {
        let mut out = Vec::new();
        let mut s = DataStream::writer(&mut out);
        s.set_version(v);
        let ok = s.write_size(size);
        let status = s.status();
        drop(s);
        (to_hex(&out), ok, status)
    };
    assert_eq!(
        at(V::QT_6_7, 0xffff_fffd),
        ("fffffffd".into(), true, St::Ok)
    );
    assert_eq!(
        at(V::QT_6_7, 0xffff_fffe),
        ("fffffffe00000000fffffffe".into(), true, St::Ok)
    );
    assert_eq!(
        at(V::QT_6_11, 0x1_0000_0000),
        ("fffffffe0000000100000000".into(), true, St::Ok)
    );
    // Before 6.7: 0xfffffffe still fits; more can't be written.
    assert_eq!(
        at(V::QT_6_6, 0xffff_fffe),
        ("fffffffe".into(), true, St::Ok)
    );
    assert_eq!(
        at(V::QT_6_6, 0xffff_ffff),
        (String::new(), false, St::SizeLimitExceeded)
    );
    assert_eq!(
        at(V::QT_5_15, 0x1_0000_0000),
        (String::new(), false, St::SizeLimitExceeded)
    );
    assert_eq!(at(V::QT_5_15, -1), ("ffffffff".into(), true, St::Ok));

    // Reading the extension (even for a small size, as Qt does).
    assert_eq!(
        r::<Vec<u8>>(DEFAULT.v(V::QT_6_7), "fffffffe 0000000000000003 616263"),
        (b"abc".to_vec(), St::Ok, true)
    );
    assert_eq!(
        r::<String>(DEFAULT.v(V::QT_6_7).le(), "feffffff 0200000000000000 4100"),
        ("A".to_string(), St::Ok, true)
    );
    // Before 6.7 fffffffe is a plain (huge) size.
    let (status, at_end) = beyond_2_gib();
    assert_eq!(
        r::<Vec<u8>>(DEFAULT.v(V::QT_6_6), "fffffffe 0000000000000003 616263"),
        (vec![], status, at_end)
    );
    // A negative extended size: a list can't have it; -1 is a null string.
    assert_eq!(
        r::<Vec<i32>>(DEFAULT.v(V::QT_6_7), "fffffffe fffffffffffffff0"),
        (vec![], St::SizeLimitExceeded, true)
    );
    assert_eq!(
        r::<Option<String>>(DEFAULT.v(V::QT_6_7), "fffffffe ffffffffffffffff"),
        (None, St::Ok, true)
    );
    assert_eq!(
        r::<Option<String>>(DEFAULT.v(V::QT_6_7), "fffffffe fffffffffffffffe"),
        (None, St::SizeLimitExceeded, true)
    );
}

// ----------------------------------------------------------------------
// Status
// ----------------------------------------------------------------------

#[test]
fn only_the_first_error_is_kept_and_writes_stop() {
    let mut out = Vec::new();
    let mut s = DataStream::writer(&mut out);
    s.write(&1u8);
    s.set_status(St::ReadCorruptData);
    s.set_status(St::WriteFailed);
    assert_eq!(s.status(), St::ReadCorruptData);
    s.write(&2u8).write("x").write_bytes(b"y");
    assert_eq!(s.write_raw_data(b"z"), None);
    s.reset_status();
    s.write(&3u8);
    drop(s);
    assert_eq!(out, [1, 3]);
}

#[test]
fn reads_go_on_after_an_error_outside_transactions() {
    // Qt: a u32 from 2 bytes is 0 with ReadPastEnd, and the bytes are gone.
    let bytes = h("0001 02");
    let mut s = DataStream::reader(&bytes);
    assert_eq!(s.read::<u32>(), 0);
    assert_eq!(s.status(), St::ReadPastEnd);
    assert!(s.at_end());

    let bytes = h("00000003 004100 07");
    let mut s = DataStream::reader(&bytes);
    assert_eq!(s.read::<String>(), "");
    assert_eq!(s.status(), St::ReadCorruptData);
    // Not in a transaction: the next read still reads (the odd body).
    assert_eq!(s.read::<u8>(), 0);
    assert_eq!(s.status(), St::ReadCorruptData);
}

#[test]
fn device_errors_set_the_status() {
    let mut out = Vec::new();
    let mut s = DataStream::writer(&mut out);
    assert_eq!(s.read::<u8>(), 0);
    assert_eq!(s.status(), St::ReadPastEnd);

    let mut s = DataStream::reader(&[]);
    s.write(&1u8);
    assert_eq!(s.status(), St::WriteFailed);

    let closed = Buffer::new();
    let mut s = DataStream::new(&closed);
    s.write(&1u8);
    assert_eq!(s.status(), St::WriteFailed);
    let mut s = DataStream::new(&closed);
    assert_eq!(s.read_raw_data(&mut [0; 2]), None);
    assert_eq!(s.status(), St::ReadPastEnd);
}

#[test]
fn try_read_returns_the_status() {
    let bytes = h("0005 00000003 004100");
    let mut s = DataStream::reader(&bytes);
    assert_eq!(s.try_read::<u16>(), Ok(5));
    assert_eq!(s.try_read::<String>(), Err(St::ReadCorruptData));
    assert_eq!(St::ReadCorruptData.to_string(), "read corrupt data");
}

#[test]
fn containers_save_and_restore_an_earlier_error() {
    // An earlier error doesn't make a good list fail, and comes back after.
    let bytes = h("00000001 0007");
    let mut s = DataStream::reader(&bytes);
    s.set_status(St::ReadCorruptData);
    assert_eq!(s.read::<Vec<u16>>(), [7]);
    assert_eq!(s.status(), St::ReadCorruptData);
    // A failing element empties the list.
    assert_eq!(
        r::<Vec<u16>>(DEFAULT, "00000003 0001 0002"),
        (vec![], St::ReadPastEnd, true)
    );
    assert_eq!(
        r::<BTreeMap<u8, String>>(DEFAULT, "00000002 01 00000000 02 00000001 00"),
        (BTreeMap::new(), St::ReadCorruptData, false)
    );
    // A null marker is no list.
    assert_eq!(
        r::<Vec<String>>(DEFAULT, "ffffffff"),
        (vec![], St::SizeLimitExceeded, true)
    );
    assert_eq!(
        r::<HashSet<u8>>(DEFAULT, "ffffffff"),
        (HashSet::new(), St::SizeLimitExceeded, true)
    );
    // Duplicate map keys: the later value wins (QMap::insert).
    assert_eq!(
        r::<BTreeMap<u8, u8>>(DEFAULT, "00000002 0101 0102"),
        (BTreeMap::from([(1, 2)]), St::Ok, true)
    );
}

// ----------------------------------------------------------------------
// Transactions
// ----------------------------------------------------------------------

fn open_buffer(bytes: &[u8]) -> Buffer {
    let buf = Buffer::from_vec(bytes.to_vec());
    buf.open(OpenMode::READ_ONLY).unwrap();
    buf
}

#[test]
fn commit_rolls_back_on_read_past_end_and_keeps_on_success() {
    let buf = open_buffer(&h("00000004 0048"));
    let mut s = DataStream::new(&buf);
    s.start_transaction();
    assert_eq!(s.read::<String>(), "");
    assert!(!s.commit_transaction());
    assert_eq!(s.status(), St::ReadPastEnd);
    assert_eq!(buf.pos(), 0);
    assert!(!buf.is_transaction_started());

    // More data arrives; a new transaction resets the status.
    let buf = open_buffer(&h("00000004 0048 0069 ff"));
    let mut s = DataStream::from_device(buf.clone());
    s.set_status(St::ReadPastEnd);
    s.start_transaction();
    assert_eq!(s.status(), St::Ok);
    assert_eq!(s.read::<String>(), "Hi");
    assert!(s.commit_transaction());
    assert_eq!(buf.pos(), 8);
}

#[test]
fn reads_are_suspended_after_an_error_inside_a_transaction() {
    let buf = open_buffer(&h("00000003 004100 0102"));
    let mut s = DataStream::new(&buf);
    s.start_transaction();
    assert_eq!(s.read::<String>(), "");
    assert_eq!(s.status(), St::ReadCorruptData);
    let pos = buf.pos();
    assert_eq!(s.read::<u16>(), 0);
    assert_eq!(s.read_raw_data(&mut [0; 1]), None);
    assert_eq!(s.skip_raw_data(1), None);
    assert_eq!(buf.pos(), pos, "suspended reads don't touch the device");
    // Corrupt data aborts: commit returns false and keeps what was read.
    assert!(!s.commit_transaction());
    assert_eq!(s.status(), St::ReadCorruptData);
    assert_eq!(buf.pos(), pos);
    assert!(!buf.is_transaction_started());
}

#[test]
fn nested_transactions_commit_only_at_the_outermost_level() {
    let buf = open_buffer(&h("0001 0002 0003"));
    let mut s = DataStream::new(&buf);
    s.start_transaction();
    assert_eq!(s.read::<u16>(), 1);
    s.start_transaction();
    assert_eq!(s.read::<u16>(), 2);
    assert!(s.commit_transaction());
    assert!(
        buf.is_transaction_started(),
        "inner commit leaves the device alone"
    );
    assert!(s.commit_transaction());
    assert!(!buf.is_transaction_started());
    assert_eq!(buf.pos(), 4);

    // An inner failure makes the outer commit roll everything back.
    let buf = open_buffer(&h("0001 00"));
    let mut s = DataStream::new(&buf);
    s.start_transaction();
    assert_eq!(s.read::<u16>(), 1);
    s.start_transaction();
    assert_eq!(s.read::<u16>(), 0);
    assert!(!s.commit_transaction());
    // The inner start did not reset the status (not outermost).
    s.start_transaction();
    assert_eq!(s.status(), St::ReadPastEnd);
    assert!(!s.commit_transaction());
    assert!(!s.commit_transaction());
    assert_eq!(buf.pos(), 0);
    assert!(!buf.is_transaction_started());

    // Without a transaction: false, nothing happens.
    let mut s = DataStream::new(&buf);
    assert!(!s.commit_transaction());
    assert_eq!(s.status(), St::Ok);
}

#[test]
fn rollback_and_abort_follow_qt() {
    let buf = open_buffer(&h("0001 0002"));
    let mut s = DataStream::new(&buf);
    s.start_transaction();
    s.read::<u16>();
    s.rollback_transaction();
    assert_eq!(s.status(), St::ReadPastEnd);
    assert_eq!(buf.pos(), 0);

    // Rollback after corrupt data commits (aborts) instead.
    let buf = open_buffer(&h("00000001 00"));
    let mut s = DataStream::new(&buf);
    s.start_transaction();
    s.read::<String>();
    s.rollback_transaction();
    assert_eq!(s.status(), St::ReadCorruptData);
    assert_eq!(buf.pos(), 4);

    // Abort overrides the status and keeps the position.
    let buf = open_buffer(&h("0001 0002"));
    let mut s = DataStream::new(&buf);
    s.start_transaction();
    s.start_transaction();
    s.read::<u16>();
    s.abort_transaction();
    assert_eq!(s.status(), St::ReadCorruptData);
    assert!(buf.is_transaction_started());
    s.abort_transaction();
    assert!(!buf.is_transaction_started());
    assert_eq!(buf.pos(), 2);

    // On the in-memory reader too.
    let bytes = h("00000002 00");
    let mut s = DataStream::reader(&bytes);
    s.start_transaction();
    assert!(s.is_device_transaction_started());
    s.read::<String>();
    assert!(!s.commit_transaction());
    assert_eq!(s.device().bytes_available(), 5);
}

#[test]
fn raw_data_and_skips() {
    let bytes = h("010203");
    let mut s = DataStream::reader(&bytes);
    let mut buf = [0; 2];
    assert_eq!(s.read_raw_data(&mut buf), Some(2));
    assert_eq!(buf, [1, 2]);
    assert_eq!(s.skip_raw_data(5), Some(1));
    assert_eq!(s.status(), St::ReadPastEnd);
    // Over a Buffer, through &dyn IoDevice.
    let dev = open_buffer(&h("0000000161 09"));
    let dyn_dev: &dyn IoDevice = &dev;
    let mut s = DataStream::new(dyn_dev);
    assert_eq!(s.read::<Vec<u8>>(), b"a");
    assert_eq!(s.read::<u8>(), 9);
    assert!(s.at_end() && s.is_ok());
}

// ----------------------------------------------------------------------
// Hostile input
// ----------------------------------------------------------------------

/// A device over bytes that records the largest read it was asked for.
struct Spy<'a> {
    inner: SliceDevice<'a>,
    largest: Cell<usize>,
}

impl IoDevice for Spy<'_> {
    fn open_mode(&self) -> OpenMode {
        self.inner.open_mode()
    }
    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.largest.set(self.largest.get().max(buf.len()));
        self.inner.read_into(buf)
    }
    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.inner.peek_into(buf)
    }
    fn write(&self, data: &[u8]) -> Result<usize, DeviceError> {
        self.inner.write(data)
    }
    fn bytes_available(&self) -> usize {
        self.inner.bytes_available()
    }
    fn unget_char(&self, c: u8) {
        self.inner.unget_char(c);
    }
    fn start_transaction(&self) {
        self.inner.start_transaction();
    }
    fn commit_transaction(&self) {
        self.inner.commit_transaction();
    }
    fn rollback_transaction(&self) {
        self.inner.rollback_transaction();
    }
    fn is_transaction_started(&self) -> bool {
        self.inner.is_transaction_started()
    }
    fn is_sequential(&self) -> bool {
        true
    }
}

/// The process's virtual size in bytes, where /proc has it.
fn virtual_size() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().next()?.parse().ok()?;
    Some(pages * 4096)
}

/// Every reader under test, each returning a measure of what it produced
/// (bytes, characters or elements), which must stay within a multiple of
/// the input's size.
type Reader = (&'static str, fn(&mut DataStream<'_>) -> usize);

fn readers() -> Vec<Reader> {
    fn strings(v: &[String]) -> usize {
        v.len() + v.iter().map(String::len).sum::<usize>()
    }
    vec![
        ("i8", |s| usize::from(s.read::<i8>() != 0)),
        ("u8", |s| usize::from(s.read::<u8>() != 0)),
        ("i16", |s| usize::from(s.read::<i16>() != 0)),
        ("u16", |s| usize::from(s.read::<u16>() != 0)),
        ("i32", |s| usize::from(s.read::<i32>() != 0)),
        ("u32", |s| usize::from(s.read::<u32>() != 0)),
        ("i64", |s| usize::from(s.read::<i64>() != 0)),
        ("u64", |s| usize::from(s.read::<u64>() != 0)),
        ("bool", |s| usize::from(s.read::<bool>())),
        ("f32", |s| usize::from(s.read::<f32>() != 0.0)),
        ("f64", |s| usize::from(s.read::<f64>() != 0.0)),
        ("String", |s| s.read::<String>().len()),
        ("Option<String>", |s| {
            s.read::<Option<String>>().map_or(0, |v| v.len())
        }),
        ("utf16", |s| s.read_utf16().map_or(0, |v| v.len())),
        ("Vec<u8>", |s| s.read::<Vec<u8>>().len()),
        ("Option<Vec<u8>>", |s| {
            s.read::<Option<Vec<u8>>>().map_or(0, |v| v.len())
        }),
        ("read_bytes", |s| s.read_bytes().len()),
        ("Vec<i32>", |s| s.read::<Vec<i32>>().len()),
        ("Vec<bool>", |s| s.read::<Vec<bool>>().len()),
        ("Vec<String>", |s| strings(&s.read::<Vec<String>>())),
        ("Vec<Vec<u8>>", |s| {
            s.read::<Vec<Vec<u8>>>().iter().map(|v| v.len() + 1).sum()
        }),
        ("Vec<Vec<String>>", |s| {
            s.read::<Vec<Vec<String>>>()
                .iter()
                .map(|v| strings(v) + 1)
                .sum()
        }),
        ("BTreeMap<String,i32>", |s| {
            s.read::<BTreeMap<String, i32>>()
                .keys()
                .map(|k| k.len() + 1)
                .sum()
        }),
        ("HashMap<i32,Option<String>>", |s| {
            s.read::<HashMap<i32, Option<String>>>().len()
        }),
        ("BTreeSet<u16>", |s| s.read::<BTreeSet<u16>>().len()),
        ("HashSet<String>", |s| s.read::<HashSet<String>>().len()),
        ("(String,f64)", |s| s.read::<(String, f64)>().0.len()),
        ("Vec<(i8,Option<Vec<u8>>)>", |s| {
            s.read::<Vec<(i8, Option<Vec<u8>>)>>().len()
        }),
        ("BTreeMap<String,Vec<String>>", |s| {
            s.read::<BTreeMap<String, Vec<String>>>().len()
        }),
    ]
}

#[test]
fn hostile_sizes_cost_memory_only_for_bytes_really_there() {
    use DataStreamVersion as V;
    let claims = [
        ("ffffffef", V::QT_6_6),
        ("fffffffe", V::QT_6_6),
        ("7fffffff", V::QT_5_15),
        ("fffffffe 00000000ffffffff", V::QT_6_7),
        ("fffffffe 7ffffffffffffff0", V::QT_6_11),
        ("fffffffe 0000100000000000", V::QT_6_11),
    ];
    for (claim, version) in claims {
        for order in [BigEndian, LittleEndian] {
            let mut bytes = h(claim);
            if order == LittleEndian {
                // Same claims, little-endian: reverse each 4/8-byte field.
                bytes = match bytes.len() {
                    4 => bytes.iter().rev().copied().collect(),
                    _ => {
                        let (a, b) = bytes.split_at(4);
                        a.iter().rev().chain(b.iter().rev()).copied().collect()
                    }
                };
            }
            bytes.extend_from_slice(b"0123456789");
            for (name, read) in readers() {
                let spy = Spy {
                    inner: SliceDevice::new(&bytes),
                    largest: Cell::new(0),
                };
                let mut s = DataStream::new(&spy);
                s.set_version(version);
                s.set_byte_order(order);
                let before = virtual_size();
                let measure = read(&mut s);
                let after = virtual_size();
                if let (Some(before), Some(after)) = (before, after) {
                    assert!(
                        after.saturating_sub(before) < 1 << 31,
                        "{name} on {claim}: virtual size grew by {} bytes",
                        after - before
                    );
                }
                assert!(
                    spy.largest.get() <= READ_CHUNK,
                    "{name} on {claim}: asked the device for {} bytes at once",
                    spy.largest.get()
                );
                assert!(measure <= 2 * bytes.len(), "{name} on {claim}: {measure}");
                if name.starts_with("Vec") || name.starts_with("String") {
                    assert_ne!(s.status(), St::Ok, "{name} on {claim} {order:?}");
                }
            }
        }
    }
}

/// How a claimed size from 2 GiB up (but below 4 GiB) reads: Qt's
/// `operator>>` for strings, byte arrays and containers first checks that
/// the size fits a `qsizetype`. On a 64-bit target it does, and reading
/// runs out of bytes (`ReadPastEnd`, at the end); on a 32-bit target it
/// does not (`SizeLimitExceeded`, the rest left unread).
fn beyond_2_gib() -> (St, bool) {
    if usize::BITS > 32 {
        (St::ReadPastEnd, true)
    } else {
        (St::SizeLimitExceeded, false)
    }
}

#[test]
fn a_four_gigabyte_length_on_ten_bytes_is_read_past_end() {
    let bytes = h("fffffff0 00010002000300040005");
    let (status, at_end) = beyond_2_gib();
    assert_eq!(
        r::<String>(DEFAULT, &to_hex(&bytes)),
        (String::new(), status, at_end)
    );
    assert_eq!(
        r::<Vec<u8>>(DEFAULT, &to_hex(&bytes)),
        (vec![], status, at_end)
    );
    assert_eq!(
        r::<Vec<i32>>(DEFAULT, &to_hex(&bytes)),
        (vec![], status, at_end)
    );
    let mut s = DataStream::reader(&bytes);
    assert_eq!(s.read_bytes(), b"");
    assert_eq!(s.status(), status);
}

/// xorshift64*: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random input, biased towards the sizes and markers that matter.
fn hostile_input(rng: &mut Rng) -> Vec<u8> {
    const INTERESTING: [u32; 10] = [
        0,
        1,
        2,
        3,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffd,
        0xffff_fffe,
        0xffff_ffff,
        0x0000_0100,
    ];
    let len = rng.below(80) as usize;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        match rng.below(4) {
            0 => {
                let v = INTERESTING[rng.below(INTERESTING.len() as u64) as usize];
                if rng.below(2) == 0 {
                    out.extend_from_slice(&v.to_be_bytes());
                } else {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            1 => out.extend_from_slice(&[0xd8, rng.below(256) as u8]),
            _ => out.push(rng.below(256) as u8),
        }
    }
    out
}

#[test]
fn random_bytes_never_panic_in_any_reader() {
    use DataStreamVersion as V;
    let versions = [
        V::QT_1_0,
        V::QT_3_1,
        V::QT_4_5,
        V::QT_5_15,
        V::QT_6_5,
        V::QT_6_7,
        V::NEWEST,
    ];
    let readers = readers();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..1500 {
        let input = hostile_input(&mut rng);
        let version = versions[rng.below(versions.len() as u64) as usize];
        let order = if rng.below(2) == 0 {
            BigEndian
        } else {
            LittleEndian
        };
        let precision = if rng.below(2) == 0 {
            SinglePrecision
        } else {
            DoublePrecision
        };
        // Each reader alone on the input...
        for (name, read) in &readers {
            let mut s = DataStream::reader(&input);
            s.set_version(version);
            s.set_byte_order(order);
            s.set_floating_point_precision(precision);
            let measure = read(&mut s);
            assert!(
                measure <= 2 * input.len() + 2,
                "round {round}, {name}: measure {measure} from {} bytes ({})",
                input.len(),
                to_hex(&input)
            );
        }
        // ...and a random sequence of reads, in and out of transactions.
        let mut s = DataStream::reader(&input);
        s.set_version(version);
        s.set_byte_order(order);
        for _ in 0..24 {
            if s.at_end() {
                break;
            }
            let in_txn = rng.below(3) == 0;
            if in_txn {
                s.start_transaction();
            }
            let (_, read) = readers[rng.below(readers.len() as u64) as usize];
            read(&mut s);
            if in_txn {
                match rng.below(3) {
                    0 => {
                        s.commit_transaction();
                    }
                    1 => s.rollback_transaction(),
                    _ => s.abort_transaction(),
                }
            }
            if !s.is_ok() && rng.below(2) == 0 {
                s.reset_status();
            }
            if s.status() == St::ReadPastEnd {
                // Rolled back to where it was: skip a byte to move on.
                s.reset_status();
                s.skip_raw_data(1);
            }
        }
    }
}
