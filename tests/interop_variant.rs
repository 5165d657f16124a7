//! `Variant` against a real Qt: `QVariant` through PySide6's `QDataStream`
//! (Qt 6.11.3), byte for byte, in both directions, for every stream
//! version from Qt_1_0 to Qt_6_11, in both byte orders and both
//! floating-point precisions.
//!
//! The peer is `tests/interop/peers/variant_peer.py`. Qt can only build
//! from Python the values PySide6 converts (bool, Python int, float, str,
//! QByteArray, lists, dicts, dates and times, QUrl, QUuid), so:
//!
//! - `qt_writes_and_sigloop_reads`: for those values Qt writes the
//!   `QVariant`; sigloop must write the same bytes. Then both read Qt's
//!   bytes and write what they read again: the two results must match
//!   (this checks sigloop reads each version the way Qt does).
//! - `sigloop_writes_and_qt_reads`: for every value, the typed ones too
//!   (`short`, `float`, `QVariantHash`, …), sigloop writes the bytes; Qt
//!   must read them with status Ok to their end, as the same type, which
//!   shows when Qt writes what it read and gets what sigloop gets doing
//!   the same. In the current format (Qt_5_2 on) sigloop must also read
//!   back the value it wrote.

mod support;

use support::hex::{hex, unhex};

use std::collections::{BTreeMap, HashMap};

use sigloop::{
    ByteOrder, DataStream, DataStreamStatus, DataStreamVersion, Date, DateTime,
    FloatingPointPrecision, Time, TimeSpec, Uuid, Variant,
};
use support::python_peer;

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
}

struct Case {
    id: String,
    cfg: Cfg,
    value: Variant,
    /// PySide6 can build this value from Python.
    qt_builds: bool,
}

fn s(text: &str) -> String {
    text.to_string()
}

fn date(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd(y, m, d).unwrap()
}

fn time(h: u32, m: u32, s: u32, ms: u32) -> Time {
    Time::from_hms_msec(h, m, s, ms).unwrap()
}

fn date_time(spec: TimeSpec) -> Variant {
    Variant::DateTime(DateTime {
        date: date(2024, 2, 29),
        time: time(1, 2, 3, 4),
        spec,
    })
}

/// Values PySide6 can build, then values only sigloop can.
fn values() -> (Vec<Variant>, Vec<Variant>) {
    let uuid = Uuid::from_bytes([
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
        0xf0,
    ]);
    let built = vec![
        Variant::Invalid,
        Variant::Bool(true),
        Variant::Bool(false),
        Variant::Int(-5),
        Variant::Int(i32::MAX),
        Variant::LongLong(1 << 40),
        Variant::LongLong(i64::MIN),
        Variant::Double(1.5),
        Variant::Double(0.1),
        Variant::String(s("Hi")),
        Variant::String(s("")),
        Variant::String(s("\u{fc}\u{1F600}")),
        Variant::ByteArray(b"ab\0\xff".to_vec()),
        Variant::StringList(vec![s("a"), s(""), s("\u{e9}")]),
        Variant::List(vec![
            Variant::Int(1),
            Variant::String(s("a")),
            Variant::Invalid,
        ]),
        Variant::List(vec![Variant::List(vec![Variant::Bool(true)])]),
        Variant::Map(BTreeMap::from([
            (s("b"), Variant::Int(2)),
            (s("a"), Variant::List(vec![Variant::Double(2.5)])),
            (s("\u{fffd}"), Variant::Invalid),
            (s("\u{1F600}"), Variant::String(s("x"))),
        ])),
        Variant::Date(date(2024, 2, 29)),
        Variant::Date(Date::from_julian_day(38)),
        Variant::Date(Date::null()),
        Variant::Time(time(13, 14, 15, 16)),
        Variant::Time(time(0, 0, 0, 0)),
        Variant::Time(Time::null()),
        date_time(TimeSpec::Utc),
        date_time(TimeSpec::LocalTime),
        date_time(TimeSpec::OffsetFromUtc(3600)),
        date_time(TimeSpec::OffsetFromUtc(-19_800)),
        date_time(TimeSpec::TimeZone(s("Europe/Berlin"))),
        Variant::DateTime(DateTime {
            date: date(2024, 3, 1),
            time: time(0, 30, 0, 0),
            spec: TimeSpec::OffsetFromUtc(3600),
        }),
        Variant::DateTime(DateTime::default()),
        Variant::Url(s("http://example.com/a%20b?c=d#e")),
        Variant::Url(s("")),
        Variant::Uuid(uuid),
    ];
    let typed = vec![
        Variant::Short(-2),
        Variant::UShort(u16::MAX - 1),
        Variant::Char(-2),
        Variant::SChar(-3),
        Variant::UChar(0xfe),
        Variant::UInt(u32::MAX),
        Variant::ULongLong(u64::MAX),
        Variant::Float(1.5),
        Variant::Float(0.1),
        Variant::Hash(HashMap::from([(s("k"), Variant::Short(7))])),
        Variant::Hash(HashMap::new()),
        Variant::List(vec![
            Variant::UChar(1),
            Variant::Float(2.5),
            Variant::Uuid(uuid),
        ]),
        Variant::Map(BTreeMap::from([(
            s("h"),
            Variant::Hash(HashMap::from([(s("u"), Variant::Url(s("x:y")))])),
        )])),
        Variant::StringList(vec![]),
        Variant::List(vec![]),
        Variant::ByteArray(vec![]),
    ];
    (built, typed)
}

fn configs() -> Vec<Cfg> {
    let mut out = Vec::new();
    for number in 1..=DataStreamVersion::NEWEST.number() {
        for order in [ByteOrder::BigEndian, ByteOrder::LittleEndian] {
            for precision in [
                FloatingPointPrecision::DoublePrecision,
                FloatingPointPrecision::SinglePrecision,
            ] {
                out.push(Cfg {
                    version: DataStreamVersion::from_number(number),
                    order,
                    precision,
                });
            }
        }
    }
    out
}

fn cases() -> Vec<Case> {
    let (built, typed) = values();
    let mut out = Vec::new();
    for (ci, cfg) in configs().into_iter().enumerate() {
        for (vi, value) in built.iter().enumerate() {
            out.push(Case {
                id: format!("c{ci}:b{vi}"),
                cfg,
                value: value.clone(),
                qt_builds: true,
            });
        }
        for (vi, value) in typed.iter().enumerate() {
            out.push(Case {
                id: format!("c{ci}:t{vi}"),
                cfg,
                value: value.clone(),
                qt_builds: false,
            });
        }
    }
    out
}

fn describe(case: &Case) -> String {
    format!(
        "{} {:?} [version {}, {:?}, {:?}]",
        case.id,
        case.value,
        case.cfg.version.number(),
        case.cfg.order,
        case.cfg.precision
    )
}

/// Where sigloop writes other bytes than Qt, on purpose (see `Variant`'s
/// and `DateTime`'s docs): Qt 5.0 streams shift zoned date-times to UTC,
/// which needs a time-zone database.
fn known_difference(case: &Case) -> bool {
    case.cfg.version == DataStreamVersion::QT_5_0
        && matches!(&case.value, Variant::DateTime(dt) if matches!(dt.spec, TimeSpec::TimeZone(_)))
}

// ----------------------------------------------------------------------
// sigloop's side
// ----------------------------------------------------------------------

fn write(cfg: Cfg, value: &Variant) -> Vec<u8> {
    let mut out = Vec::new();
    let mut st = DataStream::writer(&mut out);
    cfg.apply(&mut st);
    st.write(value);
    assert_eq!(st.status(), DataStreamStatus::Ok, "writing {value:?}");
    out
}

/// Reads one variant; the value, or why the read failed.
fn read(cfg: Cfg, bytes: &[u8]) -> Result<Variant, String> {
    let mut st = DataStream::reader(bytes);
    cfg.apply(&mut st);
    let value: Variant = st.read();
    if st.status() != DataStreamStatus::Ok {
        return Err(format!("status {:?}", st.status()));
    }
    if !st.at_end() {
        return Err("bytes left over".into());
    }
    Ok(value)
}

/// Whether `value` holds a double (single precision rounds it).
fn has_double(value: &Variant) -> bool {
    match value {
        Variant::Double(_) => true,
        Variant::List(items) => items.iter().any(has_double),
        Variant::Map(map) => map.values().any(has_double),
        Variant::Hash(map) => map.values().any(has_double),
        _ => false,
    }
}

// ----------------------------------------------------------------------
// The peer's JSON
// ----------------------------------------------------------------------

fn q(text: &str) -> String {
    assert!(text
        .bytes()
        .all(|b| b.is_ascii() && b != b'"' && b != b'\\'));
    format!("\"{text}\"")
}

fn opt(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "null".to_string(), |v| v.to_string())
}

/// A value as the peer builds it from Python.
fn json(value: &Variant) -> String {
    let utf8 = |t: &str| q(&hex(t.as_bytes()));
    match value {
        Variant::Invalid => r#"{"t":"invalid"}"#.to_string(),
        Variant::Bool(v) => format!(r#"{{"t":"bool","v":{v}}}"#),
        Variant::Int(v) => format!(r#"{{"t":"int","v":"{v}"}}"#),
        Variant::LongLong(v) => format!(r#"{{"t":"int","v":"{v}"}}"#),
        Variant::Double(v) => format!(r#"{{"t":"double","v":"{:016x}"}}"#, v.to_bits()),
        Variant::String(v) => format!(r#"{{"t":"str","v":{}}}"#, utf8(v)),
        Variant::ByteArray(v) => format!(r#"{{"t":"ba","v":{}}}"#, q(&hex(v))),
        Variant::StringList(v) => {
            let items: Vec<String> = v.iter().map(|t| utf8(t)).collect();
            format!(r#"{{"t":"strlist","v":[{}]}}"#, items.join(","))
        }
        Variant::List(v) => {
            let items: Vec<String> = v.iter().map(json).collect();
            format!(r#"{{"t":"list","v":[{}]}}"#, items.join(","))
        }
        Variant::Map(v) => {
            let items: Vec<String> = v
                .iter()
                .map(|(k, x)| format!("[{},{}]", utf8(k), json(x)))
                .collect();
            format!(r#"{{"t":"map","v":[{}]}}"#, items.join(","))
        }
        Variant::Date(d) => format!(r#"{{"t":"date","jd":{}}}"#, opt(d.julian_day())),
        Variant::Time(t) => format!(r#"{{"t":"time","ms":{}}}"#, opt(t.msecs_since_midnight())),
        Variant::DateTime(dt) => {
            let (spec, extra) = match &dt.spec {
                TimeSpec::LocalTime => ("local", String::new()),
                TimeSpec::Utc => ("utc", String::new()),
                TimeSpec::OffsetFromUtc(o) => ("offset", format!(r#","offset":{o}"#)),
                TimeSpec::TimeZone(z) => ("zone", format!(r#","zone":{}"#, q(z))),
            };
            format!(
                r#"{{"t":"datetime","jd":{},"ms":{},"spec":"{spec}"{extra}}}"#,
                opt(dt.date.julian_day()),
                opt(dt.time.msecs_since_midnight())
            )
        }
        Variant::Url(v) => format!(r#"{{"t":"url","v":{}}}"#, q(v)),
        Variant::Uuid(v) => format!(r#"{{"t":"uuid","v":{}}}"#, q(&hex(v.as_bytes()))),
        other => panic!("PySide6 cannot build {other:?}"),
    }
}

fn line(case: &Case, hex_bytes: &str) -> String {
    format!(
        "{{\"id\":{},\"version\":{},\"order\":{},\"precision\":{},\"hex\":{},\"value\":{}}}\n",
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
        q(hex_bytes),
        if case.qt_builds {
            json(&case.value)
        } else {
            "null".to_string()
        }
    )
}

/// The peer's output lines by case id: the tab-separated fields after it.
fn by_id(output: &str) -> HashMap<String, Vec<String>> {
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

/// Qt reads each `(id, bytes)` and writes what it read: id → (status,
/// at end, bytes).
fn qt_reread(cases: &[(&Case, Vec<u8>)]) -> HashMap<String, (String, String, Vec<u8>)> {
    let input: String = cases.iter().map(|(c, b)| line(c, &hex(b))).collect();
    by_id(&python_peer::run("variant_peer.py", "reread", input))
        .into_iter()
        .map(|(id, f)| {
            let field = |i: usize| f.get(i).cloned().unwrap_or_default();
            (id, (field(0), field(1), unhex(&field(2))))
        })
        .collect()
}

fn report(failures: &[String], total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} cases differ between Qt and sigloop (first 40):\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ----------------------------------------------------------------------
// The tests
// ----------------------------------------------------------------------

#[test]
fn qt_writes_and_sigloop_reads() {
    if support::peers::python("interop_variant::qt_writes_and_sigloop_reads").is_none() {
        return;
    }
    let cases: Vec<Case> = cases().into_iter().filter(|c| c.qt_builds).collect();
    let input: String = cases.iter().map(|c| line(c, "")).collect();
    let written = by_id(&python_peer::run("variant_peer.py", "write", input));
    let mut failures = Vec::new();
    let mut qt_bytes = Vec::new();
    for case in &cases {
        let Some(fields) = written.get(&case.id) else {
            failures.push(format!("{}: the peer printed nothing", describe(case)));
            continue;
        };
        if fields.first().map(String::as_str) != Some("0") {
            failures.push(format!("{}: Qt's write failed: {fields:?}", describe(case)));
            continue;
        }
        let qt = unhex(fields.get(1).map_or("", String::as_str));
        let ours = write(case.cfg, &case.value);
        if ours != qt && !known_difference(case) {
            failures.push(format!(
                "{}: Qt wrote {}, sigloop {}",
                describe(case),
                hex(&qt),
                hex(&ours)
            ));
        }
        qt_bytes.push((case, qt));
    }
    // Both read Qt's bytes and write what they read.
    let reread = qt_reread(&qt_bytes);
    for (case, qt) in &qt_bytes {
        let Some((status, _, qt_again)) = reread.get(&case.id) else {
            failures.push(format!("{}: the peer printed nothing", describe(case)));
            continue;
        };
        match read(case.cfg, qt) {
            Ok(value) => {
                let ours_again = write(case.cfg, &value);
                if status != "0" || *qt_again != ours_again {
                    failures.push(format!(
                        "{}: after reading {}, Qt writes {} (status {status}), sigloop {} ({value:?})",
                        describe(case),
                        hex(qt),
                        hex(qt_again),
                        hex(&ours_again)
                    ));
                }
            }
            Err(why) => failures.push(format!(
                "{}: sigloop cannot read Qt's {}: {why}",
                describe(case),
                hex(qt)
            )),
        }
    }
    report(&failures, cases.len());
}

#[test]
fn sigloop_writes_and_qt_reads() {
    if support::peers::python("interop_variant::sigloop_writes_and_qt_reads").is_none() {
        return;
    }
    let cases = cases();
    let ours: Vec<(&Case, Vec<u8>)> = cases.iter().map(|c| (c, write(c.cfg, &c.value))).collect();
    let reread = qt_reread(&ours);
    let mut failures = Vec::new();
    for (case, bytes) in &ours {
        let Some((status, at_end, qt_again)) = reread.get(&case.id) else {
            failures.push(format!("{}: the peer printed nothing", describe(case)));
            continue;
        };
        if status != "0" || at_end != "1" {
            failures.push(format!(
                "{}: Qt reads {} with status {status}, at end {at_end}",
                describe(case),
                hex(bytes)
            ));
            continue;
        }
        let value = match read(case.cfg, bytes) {
            Ok(value) => value,
            Err(why) => {
                failures.push(format!(
                    "{}: sigloop cannot read its own {}: {why}",
                    describe(case),
                    hex(bytes)
                ));
                continue;
            }
        };
        let ours_again = write(case.cfg, &value);
        if *qt_again != ours_again {
            failures.push(format!(
                "{}: after reading {}, Qt writes {}, sigloop {}",
                describe(case),
                hex(bytes),
                hex(qt_again),
                hex(&ours_again)
            ));
        }
        let lossless = case.cfg.version >= DataStreamVersion::QT_5_2
            && (case.cfg.precision == FloatingPointPrecision::DoublePrecision
                || !has_double(&case.value));
        if lossless && value != case.value {
            failures.push(format!("{}: read back as {value:?}", describe(case)));
        }
    }
    report(&failures, cases.len());
}
