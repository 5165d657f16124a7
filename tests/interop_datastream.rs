//! `DataStream` against a real Qt: PySide6's `QDataStream` (the Qt that
//! PySide6-Essentials 6.11.3 bundles), byte for byte, in both directions.
//!
//! The peer is `tests/interop/peers/datastream_peer.py`, run with the
//! project's `.venv/bin/python`; `bash .ci/run` creates that venv and
//! installs the pinned PySide6 into it. Without it these tests do not run
//! and say so on stderr, unless `SIGLOOP_REQUIRE_PEERS=1` (set by
//! `.ci/test`) makes them fail (see `support::peers`). Data goes over the peer's stdin/stdout only.
//!
//! Every case is one or more values of one Qt type, at versions Qt_5_15
//! and Qt_6_5, in both byte orders, under both floating-point precisions:
//!
//! - `qt_writes_and_sigloop_reads`: Qt writes each case; sigloop must
//!   write the same bytes, and read Qt's bytes back to the same values,
//!   with status Ok and nothing left over;
//! - `sigloop_writes_and_qt_reads`: sigloop writes each case; Qt must read
//!   the same values, with status Ok and at its end.

mod support;

use support::hex::{hex, unhex};

use std::collections::BTreeMap;
use std::ffi::CString;

use support::python_peer::{self, PINNED_PYSIDE};

use sigloop::{
    Buffer, ByteOrder, DataStream, DataStreamStatus, DataStreamVersion, FloatingPointPrecision,
    OpenMode,
};

// ----------------------------------------------------------------------
// The cases
// ----------------------------------------------------------------------

/// One value, of one Qt type.
#[derive(Debug, Clone)]
enum Op {
    I8(i8),
    U8(u8),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Bool(bool),
    /// A `float`, as its bits.
    F32(u32),
    /// A `double`, as its bits.
    F64(u64),
    QChar(u16),
    /// A `QString` written from `&str` / read as `String`.
    Str(String),
    /// A `QString` written from and read as `Option<String>`.
    OptStr(Option<String>),
    /// A `QByteArray` written from and read as `Option<Vec<u8>>`.
    Ba(Option<Vec<u8>>),
    /// `writeBytes` / `readBytes`.
    Bytes(Vec<u8>),
    /// `operator<<(const char *)`.
    CStr(CString),
    /// `writeRawData` / `readRawData`.
    Raw(Vec<u8>),
    /// `QList<int>`.
    ListI32(Vec<i32>),
    /// `QStringList`.
    StrList(Vec<String>),
    /// `QMap<QString, int>`.
    Map(BTreeMap<String, i32>),
    /// `QPair<QString, int>`.
    Pair(String, i32),
}

#[derive(Debug, Clone, Copy)]
struct Cfg {
    version: DataStreamVersion,
    order: ByteOrder,
    precision: FloatingPointPrecision,
}

impl Cfg {
    fn apply(self, s: &mut DataStream<'_>) {
        s.set_version(self.version);
        s.set_byte_order(self.order);
        s.set_floating_point_precision(self.precision);
    }

    fn describe(self) -> String {
        format!(
            "version {} ({}), {:?}, {:?}",
            self.version.number(),
            if self.version == DataStreamVersion::QT_5_15 {
                "Qt_5_15"
            } else {
                "Qt_6_5"
            },
            self.order,
            self.precision
        )
    }
}

struct Case {
    id: String,
    cfg: Cfg,
    ops: Vec<Op>,
}

fn s(text: &str) -> String {
    text.to_string()
}

/// The values, grouped by type: each group's values become cases of one
/// value each, and the group as a whole one more case (values in a row).
fn groups() -> Vec<(&'static str, Vec<Op>)> {
    let f32_bits = [
        0x0000_0000,
        0x8000_0000,
        0x3fc0_0000,
        0xc010_0000,
        0x3dcc_cccd,
        0x7f7f_ffff,
        0x0080_0000,
        0x0000_0001,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0000,
    ];
    let f64_bits = [
        0x0000_0000_0000_0000,
        0x8000_0000_0000_0000,
        0x3ff8_0000_0000_0000,
        0xc002_0000_0000_0000,
        0x4009_21fb_5444_2d18,
        0x7e37_e43c_8800_759c,
        0x0000_0000_0000_0001,
        0x7ff0_0000_0000_0000,
        0xfff0_0000_0000_0000,
        0x7ff8_0000_0000_0000,
    ];
    vec![
        ("qint8", [i8::MIN, -1, 0, 1, i8::MAX].map(Op::I8).to_vec()),
        ("quint8", [0, 1, 0x80, u8::MAX].map(Op::U8).to_vec()),
        (
            "qint16",
            [i16::MIN, -2, 0, 1, i16::MAX].map(Op::I16).to_vec(),
        ),
        ("quint16", [0, 1, 0x8000, u16::MAX].map(Op::U16).to_vec()),
        (
            "qint32",
            [i32::MIN, -2, 0, 0x0102_0304, i32::MAX]
                .map(Op::I32)
                .to_vec(),
        ),
        (
            "quint32",
            [0, 1, 0xffff_fffe, u32::MAX].map(Op::U32).to_vec(),
        ),
        (
            "qint64",
            [i64::MIN, -2, 0, 0x0102_0304_0506_0708, i64::MAX]
                .map(Op::I64)
                .to_vec(),
        ),
        (
            "quint64",
            [0, 1, u64::MAX - 1, u64::MAX].map(Op::U64).to_vec(),
        ),
        ("bool", vec![Op::Bool(true), Op::Bool(false)]),
        ("float", f32_bits.map(Op::F32).to_vec()),
        ("double", f64_bits.map(Op::F64).to_vec()),
        (
            "QChar",
            [0x41, 0xe9, 0x20ac, 0xfffd].map(Op::QChar).to_vec(),
        ),
        (
            "QString",
            vec![
                Op::Str(s("Hi")),
                Op::Str(s("")),
                Op::Str(s("Hello, w\u{f6}rld")),
                Op::Str(s("a\0b")),
                Op::OptStr(None),
                Op::OptStr(Some(s(""))),
                Op::OptStr(Some(s("x"))),
            ],
        ),
        (
            "QString non-BMP",
            vec![
                Op::Str(s("\u{1F600}")),
                Op::Str(s("\u{1F600} ok \u{1D11E}")),
            ],
        ),
        (
            "QByteArray",
            vec![
                Op::Ba(Some(b"abc\0\xff".to_vec())),
                Op::Ba(Some(vec![])),
                Op::Ba(None),
            ],
        ),
        (
            "writeBytes",
            vec![Op::Bytes(b"raw\0\x01".to_vec()), Op::Bytes(vec![])],
        ),
        ("const char*", vec![Op::CStr(CString::new("hi").unwrap())]),
        ("writeRawData", vec![Op::Raw(vec![1, 2, 3])]),
        (
            "QList<int>",
            vec![
                Op::ListI32(vec![1, -2, i32::MAX, i32::MIN]),
                Op::ListI32(vec![]),
            ],
        ),
        (
            "QStringList",
            vec![
                Op::StrList(vec![s("a"), s(""), s("\u{fc}\u{1F600}")]),
                Op::StrList(vec![]),
            ],
        ),
        (
            "QMap<QString,int>",
            vec![
                Op::Map(BTreeMap::from([(s("a"), 1), (s("b"), -2), (s("zz"), 3)])),
                Op::Map(BTreeMap::new()),
                // QMap's order is UTF-16 code units: U+1F600 before U+FFFD.
                Op::Map(BTreeMap::from([
                    (s("\u{fffd}"), 1),
                    (s("\u{1F600}"), 2),
                    (s("a"), 3),
                ])),
            ],
        ),
        ("QPair<QString,int>", vec![Op::Pair(s("key"), -7)]),
    ]
}

fn configs() -> Vec<Cfg> {
    let mut out = Vec::new();
    for version in [DataStreamVersion::QT_5_15, DataStreamVersion::QT_6_5] {
        for order in [ByteOrder::BigEndian, ByteOrder::LittleEndian] {
            for precision in [
                FloatingPointPrecision::DoublePrecision,
                FloatingPointPrecision::SinglePrecision,
            ] {
                out.push(Cfg {
                    version,
                    order,
                    precision,
                });
            }
        }
    }
    out
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (ci, cfg) in configs().into_iter().enumerate() {
        for (name, ops) in groups() {
            for (i, op) in ops.iter().enumerate() {
                out.push(Case {
                    id: format!("c{ci}:{name}#{i}"),
                    cfg,
                    ops: vec![op.clone()],
                });
            }
            if ops.len() > 1 {
                out.push(Case {
                    id: format!("c{ci}:{name}#all"),
                    cfg,
                    ops,
                });
            }
        }
        // Different types in a row.
        out.push(Case {
            id: format!("c{ci}:mixed"),
            cfg,
            ops: vec![
                Op::I8(-3),
                Op::Str(s("mixed")),
                Op::F64(0x3ff8_0000_0000_0000),
                Op::Ba(None),
                Op::ListI32(vec![5]),
                Op::Bool(true),
                Op::Pair(s(""), 0),
                Op::U64(7),
            ],
        });
    }
    out
}

// ----------------------------------------------------------------------
// sigloop's side
// ----------------------------------------------------------------------

fn write_op(st: &mut DataStream<'_>, op: &Op) {
    match op {
        Op::I8(v) => st.write(v),
        Op::U8(v) => st.write(v),
        Op::I16(v) => st.write(v),
        Op::U16(v) => st.write(v),
        Op::I32(v) => st.write(v),
        Op::U32(v) => st.write(v),
        Op::I64(v) => st.write(v),
        Op::U64(v) => st.write(v),
        Op::Bool(v) => st.write(v),
        Op::F32(bits) => st.write(&f32::from_bits(*bits)),
        Op::F64(bits) => st.write(&f64::from_bits(*bits)),
        Op::QChar(v) => st.write(v),
        Op::Str(v) => st.write(v.as_str()),
        Op::OptStr(v) => st.write(v),
        Op::Ba(v) => st.write(v),
        Op::Bytes(v) => st.write_bytes(v),
        Op::CStr(v) => st.write_c_str(v),
        Op::Raw(v) => {
            st.write_raw_data(v);
            st
        }
        Op::ListI32(v) => st.write(v),
        Op::StrList(v) => st.write(v),
        Op::Map(v) => st.write(v),
        Op::Pair(k, v) => st.write(&(k.as_str(), *v)),
    };
}

/// sigloop's bytes for a case.
fn sigloop_bytes(case: &Case) -> Vec<u8> {
    let mut out = Vec::new();
    let mut st = DataStream::writer(&mut out);
    case.cfg.apply(&mut st);
    for op in &case.ops {
        write_op(&mut st, op);
    }
    assert_eq!(
        st.status(),
        DataStreamStatus::Ok,
        "{}: sigloop's write failed",
        case.id
    );
    out
}

/// Reads `op`'s type from `st`; `None` if the value read is `op`'s value,
/// else what was read.
fn read_and_compare(st: &mut DataStream<'_>, op: &Op) -> Option<String> {
    fn check<T: PartialEq + std::fmt::Debug>(got: T, want: &T) -> Option<String> {
        (got != *want).then(|| format!("{got:?}"))
    }
    match op {
        Op::I8(v) => check(st.read::<i8>(), v),
        Op::U8(v) => check(st.read::<u8>(), v),
        Op::I16(v) => check(st.read::<i16>(), v),
        Op::U16(v) => check(st.read::<u16>(), v),
        Op::I32(v) => check(st.read::<i32>(), v),
        Op::U32(v) => check(st.read::<u32>(), v),
        Op::I64(v) => check(st.read::<i64>(), v),
        Op::U64(v) => check(st.read::<u64>(), v),
        Op::Bool(v) => check(st.read::<bool>(), v),
        // A float comes back exact in both precisions (widened to a
        // double, it narrows back to itself).
        Op::F32(bits) => check(st.read::<f32>().to_bits(), bits),
        Op::F64(bits) => {
            let want = double_read_back(st.floating_point_precision(), *bits);
            check(st.read::<f64>().to_bits(), &want)
        }
        Op::QChar(v) => check(st.read::<u16>(), v),
        Op::Str(v) => check(st.read::<String>(), v),
        Op::OptStr(v) => check(st.read::<Option<String>>(), v),
        Op::Ba(v) => check(st.read::<Option<Vec<u8>>>(), v),
        Op::Bytes(v) => check(st.read_bytes(), v),
        Op::CStr(v) => check(st.read_bytes(), &v.as_bytes_with_nul().to_vec()),
        Op::Raw(v) => {
            let mut buf = vec![0; v.len()];
            let n = st.read_raw_data(&mut buf);
            check((n, buf), &(Some(v.len()), v.clone()))
        }
        Op::ListI32(v) => check(st.read::<Vec<i32>>(), v),
        Op::StrList(v) => check(st.read::<Vec<String>>(), v),
        Op::Map(v) => check(st.read::<BTreeMap<String, i32>>(), v),
        Op::Pair(k, v) => check(st.read::<(String, i32)>(), &(k.clone(), *v)),
    }
}

/// A double's bits after a trip through the stream: rounded to a float
/// under single precision.
fn double_read_back(precision: FloatingPointPrecision, bits: u64) -> u64 {
    match precision {
        FloatingPointPrecision::DoublePrecision => bits,
        FloatingPointPrecision::SinglePrecision => f64::from(f64::from_bits(bits) as f32).to_bits(),
    }
}

/// The canonical text the peer prints for `op` read back by Qt.
fn canonical(op: &Op, cfg: Cfg) -> String {
    let utf8 = |t: &str| hex(t.as_bytes());
    match op {
        Op::I8(v) => format!("i8={v}"),
        Op::U8(v) => format!("u8={v}"),
        Op::I16(v) => format!("i16={v}"),
        Op::U16(v) => format!("u16={v}"),
        Op::I32(v) => format!("i32={v}"),
        Op::U32(v) => format!("u32={v}"),
        Op::I64(v) => format!("i64={v}"),
        Op::U64(v) => format!("u64={v}"),
        Op::Bool(v) => format!("bool={}", u8::from(*v)),
        Op::F32(bits) => format!("f32={bits:08x}"),
        Op::F64(bits) => format!("f64={:016x}", double_read_back(cfg.precision, *bits)),
        Op::QChar(v) => format!("qchar={v:04x}"),
        // PySide6 reads a null QString as '' too.
        Op::Str(v) | Op::OptStr(Some(v)) => format!("str={}", utf8(v)),
        Op::OptStr(None) => "str=".to_string(),
        Op::Ba(None) => "ba=null".to_string(),
        Op::Ba(Some(v)) => format!("ba={}", hex(v)),
        Op::Bytes(v) => format!("bytes={}", hex(v)),
        Op::CStr(v) => format!("bytes={}", hex(v.as_bytes_with_nul())),
        Op::Raw(v) => format!("raw={}", hex(v)),
        Op::ListI32(v) => format!(
            "list_i32=[{}]",
            v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
        ),
        Op::StrList(v) => format!(
            "strlist=[{}]",
            v.iter().map(|t| utf8(t)).collect::<Vec<_>>().join(",")
        ),
        Op::Map(v) => {
            let mut entries: Vec<(&String, &i32)> = v.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            let items: Vec<String> = entries
                .iter()
                .map(|(k, x)| format!("{}:{x}", utf8(k)))
                .collect();
            format!("map=[{}]", items.join(","))
        }
        Op::Pair(k, v) => format!("pair={}:{v}", utf8(k)),
    }
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::I8(_) => "qint8",
        Op::U8(_) => "quint8",
        Op::I16(_) => "qint16",
        Op::U16(_) => "quint16",
        Op::I32(_) => "qint32",
        Op::U32(_) => "quint32",
        Op::I64(_) => "qint64",
        Op::U64(_) => "quint64",
        Op::Bool(_) => "bool",
        Op::F32(_) => "float",
        Op::F64(_) => "double",
        Op::QChar(_) => "QChar",
        Op::Str(_) | Op::OptStr(_) => "QString",
        Op::Ba(_) => "QByteArray",
        Op::Bytes(_) => "writeBytes",
        Op::CStr(_) => "const char*",
        Op::Raw(_) => "writeRawData",
        Op::ListI32(_) => "QList<int>",
        Op::StrList(_) => "QStringList",
        Op::Map(_) => "QMap<QString,int>",
        Op::Pair(..) => "QPair<QString,int>",
    }
}

// ----------------------------------------------------------------------
// The peer
// ----------------------------------------------------------------------

/// Runs the DataStream peer in `mode` with `input` on stdin.
fn run_peer(mode: &str, input: String) -> String {
    python_peer::run("datastream_peer.py", mode, input)
}

/// The cases as the peer's JSON lines.
fn to_json(cases: &[Case], with_hex: bool) -> String {
    fn q(text: &str) -> String {
        // Ids and values are ASCII without quotes or backslashes.
        assert!(text
            .bytes()
            .all(|b| b.is_ascii() && b != b'"' && b != b'\\'));
        format!("\"{text}\"")
    }
    fn list(items: impl IntoIterator<Item = String>) -> String {
        format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
    }
    let utf8 = |t: &str| q(&hex(t.as_bytes()));
    let mut out = String::new();
    for case in cases {
        let ops = case.ops.iter().map(|op| {
            let (kind, value) = match op {
                Op::I8(v) => ("i8", q(&v.to_string())),
                Op::U8(v) => ("u8", q(&v.to_string())),
                Op::I16(v) => ("i16", q(&v.to_string())),
                Op::U16(v) => ("u16", q(&v.to_string())),
                Op::I32(v) => ("i32", q(&v.to_string())),
                Op::U32(v) => ("u32", q(&v.to_string())),
                Op::I64(v) => ("i64", q(&v.to_string())),
                Op::U64(v) => ("u64", q(&v.to_string())),
                Op::Bool(v) => ("bool", q(if *v { "1" } else { "0" })),
                Op::F32(bits) => ("f32", q(&format!("{bits:08x}"))),
                Op::F64(bits) => ("f64", q(&format!("{bits:016x}"))),
                Op::QChar(v) => ("qchar", q(&format!("{v:04x}"))),
                Op::Str(v) => ("str", utf8(v)),
                Op::OptStr(Some(v)) => ("optstr", utf8(v)),
                Op::OptStr(None) => ("strnull", q("")),
                Op::Ba(Some(v)) => ("ba", q(&hex(v))),
                Op::Ba(None) => ("banull", q("")),
                Op::Bytes(v) => ("bytes", q(&hex(v))),
                Op::CStr(v) => ("cstr", q(&hex(v.as_bytes()))),
                Op::Raw(v) => ("raw", q(&hex(v))),
                Op::ListI32(v) => ("list_i32", list(v.iter().map(|x| q(&x.to_string())))),
                Op::StrList(v) => ("strlist", list(v.iter().map(|t| utf8(t)))),
                Op::Map(v) => (
                    "map_str_i32",
                    list(v.iter().map(|(k, x)| list([utf8(k), q(&x.to_string())]))),
                ),
                Op::Pair(k, v) => ("pair_str_i32", list([utf8(k), q(&v.to_string())])),
            };
            list([q(kind), value])
        });
        let hex_field = if with_hex {
            hex(&sigloop_bytes(case))
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{{\"id\":{},\"version\":{},\"order\":{},\"precision\":{},\"hex\":{},\"ops\":{}}}\n",
            q(&case.id),
            case.cfg.version.number(),
            q(match case.cfg.order {
                ByteOrder::BigEndian => "BE",
                ByteOrder::LittleEndian => "LE",
            }),
            q(match case.cfg.precision {
                FloatingPointPrecision::DoublePrecision => "double",
                FloatingPointPrecision::SinglePrecision => "single",
            }),
            q(&hex_field),
            list(ops)
        ));
    }
    out
}

/// The peer's output lines by case id: the tab-separated fields after it.
fn by_id(output: &str) -> BTreeMap<String, Vec<String>> {
    output
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let mut fields = line.split('\t').map(str::to_string);
            let id = fields.next().unwrap_or_default();
            (id, fields.collect())
        })
        .collect()
}

fn what(case: &Case) -> String {
    let mut types: Vec<&str> = case.ops.iter().map(op_name).collect();
    types.dedup();
    format!(
        "{} [{}; {}]",
        case.id,
        types.join(", "),
        case.cfg.describe()
    )
}

fn report(failures: &[String], total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ between Qt and sigloop:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ----------------------------------------------------------------------
// The tests
// ----------------------------------------------------------------------

#[test]
fn peer_runs_the_pinned_pyside6() {
    if support::peers::python("interop_datastream::peer_runs_the_pinned_pyside6").is_none() {
        return;
    }
    let out = run_peer("version", String::new());
    let mut words = out.split_whitespace();
    assert_eq!(
        words.next(),
        Some(PINNED_PYSIDE),
        "the venv has another PySide6 ({out:?}); run `bash .ci/run` to install the pinned one"
    );
    assert!(
        words.next().is_some_and(|qt| qt.starts_with("6.11")),
        "{out:?}"
    );
}

#[test]
fn qt_writes_and_sigloop_reads() {
    if support::peers::python("interop_datastream::qt_writes_and_sigloop_reads").is_none() {
        return;
    }
    let cases = cases();
    let qt = by_id(&run_peer("write", to_json(&cases, false)));
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let Some(fields) = qt.get(&case.id) else {
            failures.push(format!("{}: the peer printed nothing", what(case)));
            continue;
        };
        let [status, qt_hex] = fields.as_slice() else {
            failures.push(format!("{}: bad peer line {fields:?}", what(case)));
            continue;
        };
        if status != "0" {
            failures.push(format!("{}: Qt's write status {status}", what(case)));
        }
        // Byte for byte: sigloop writes what Qt wrote.
        let ours = hex(&sigloop_bytes(case));
        if &ours != qt_hex {
            failures.push(format!(
                "{}: bytes differ\n    Qt wrote      {qt_hex}\n    sigloop wrote {ours}",
                what(case)
            ));
        }
        // sigloop reads Qt's bytes: alternately from a Buffer and a slice.
        let bytes = unhex(qt_hex);
        let buffer = Buffer::from_vec(bytes.clone());
        buffer.open(OpenMode::READ_ONLY).expect("open buffer");
        let mut st = if i % 2 == 0 {
            DataStream::new(&buffer)
        } else {
            DataStream::reader(&bytes)
        };
        case.cfg.apply(&mut st);
        for op in &case.ops {
            if let Some(got) = read_and_compare(&mut st, op) {
                failures.push(format!(
                    "{}: sigloop read {} from Qt's {qt_hex} as {got}, expected {op:?}",
                    what(case),
                    op_name(op)
                ));
            }
        }
        if st.status() != DataStreamStatus::Ok || !st.at_end() {
            failures.push(format!(
                "{}: after reading Qt's {qt_hex}: status {:?}, {} bytes left",
                what(case),
                st.status(),
                st.device().bytes_available()
            ));
        }
    }
    report(&failures, cases.len());
}

#[test]
fn sigloop_writes_and_qt_reads() {
    if support::peers::python("interop_datastream::sigloop_writes_and_qt_reads").is_none() {
        return;
    }
    let cases = cases();
    let qt = by_id(&run_peer("read", to_json(&cases, true)));
    let mut failures = Vec::new();
    for case in &cases {
        let ours = hex(&sigloop_bytes(case));
        let Some(fields) = qt.get(&case.id) else {
            failures.push(format!("{}: the peer printed nothing", what(case)));
            continue;
        };
        let [status, at_end, got] = fields.as_slice() else {
            failures.push(format!("{}: bad peer line {fields:?}", what(case)));
            continue;
        };
        let want: Vec<String> = case.ops.iter().map(|op| canonical(op, case.cfg)).collect();
        let want = want.join(";");
        if got != &want || status != "0" || at_end != "1" {
            failures.push(format!(
                "{}: Qt read sigloop's {ours}\n    as       {got} (status {status}, at end {at_end})\n    expected {want} (status 0, at end 1)",
                what(case)
            ));
        }
    }
    report(&failures, cases.len());
}
