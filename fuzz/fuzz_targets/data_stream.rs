//! `DataStream` reading: every readable type, every version, both byte
//! orders and precisions, transactions, raw reads and skips, on the three
//! kinds of device (a slice, a `Buffer`, a socket-like sequential device
//! whose bytes arrive in pieces), in an order the input chooses.
//!
//! Input: 3 setting bytes (version, byte order + precision + mode), one
//! byte giving the program's length, the program, then the data the
//! stream reads.
//!
//! Checked, besides "no panic, no huge allocation":
//! - every value read with status Ok survives a write and a read back
//!   under the same settings;
//! - mode "stream": a fixed sequence of reads in a transaction, retried
//!   as the bytes arrive in input-chosen pieces (the fortune client's
//!   pattern), gives exactly what one read of all the bytes gives: the
//!   same values, status and bytes consumed.

#![no_main]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use sigloop::{
    Buffer, ByteOrder, DataStream, DataStreamStatus, DataStreamVersion, FloatingPointPrecision,
    IoDevice, OpenMode, ReadFrom, WriteTo,
};
use sigloop_fuzz::{CappedAlloc, Input, QueueDevice};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// A stream's settings, so a round trip can use the same ones.
#[derive(Clone, Copy)]
struct Settings {
    version: DataStreamVersion,
    order: ByteOrder,
    precision: FloatingPointPrecision,
}

impl Settings {
    fn apply(&self, s: &mut DataStream<'_>) {
        s.set_version(self.version);
        s.set_byte_order(self.order);
        s.set_floating_point_precision(self.precision);
    }

    fn of(s: &DataStream<'_>) -> Self {
        Settings {
            version: s.version(),
            order: s.byte_order(),
            precision: s.floating_point_precision(),
        }
    }
}

/// Values that can be compared after a round trip.
trait Same {
    fn same(&self, other: &Self) -> bool;
}

macro_rules! same_eq {
    ($($t:ty),*) => {$(impl Same for $t {
        fn same(&self, other: &Self) -> bool { self == other }
    })*};
}
same_eq!(u8, i8, u16, i16, u32, i32, u64, i64, bool, String, Vec<u8>);
same_eq!(
    Option<String>,
    Option<Vec<u8>>,
    Vec<u32>,
    Vec<String>,
    Vec<bool>
);
same_eq!(BTreeMap<String, i32>, HashMap<u16, Vec<u8>>, BTreeSet<i64>, HashSet<String>);
same_eq!((u8, String), Box<u16>, Vec<Vec<i16>>, Vec<Option<String>>);

impl Same for f32 {
    fn same(&self, other: &Self) -> bool {
        self == other || (self.is_nan() && other.is_nan())
    }
}

impl Same for f64 {
    fn same(&self, other: &Self) -> bool {
        self == other || (self.is_nan() && other.is_nan())
    }
}

impl Same for Vec<f64> {
    fn same(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.same(b))
    }
}

/// Reads a `T`; if the status is Ok, writes it and reads it back under the
/// same settings and checks the copy. `old_lossy` says whether `T` holds
/// what versions before Qt 3.3 don't round-trip, as in Qt: null strings
/// and arrays (written as empty) and 64-bit integers (written high word
/// first, read low word first).
fn read_checked<T>(s: &mut DataStream<'_>, old_lossy: bool) -> String
where
    T: ReadFrom + WriteTo + Same + Debug,
{
    format!("{:?}", read_value::<T>(s, old_lossy))
}

/// As [`read_checked`], returning the value.
fn read_value<T>(s: &mut DataStream<'_>, old_lossy: bool) -> T
where
    T: ReadFrom + WriteTo + Same + Debug,
{
    let value = s.read::<T>();
    let settings = Settings::of(s);
    if s.is_ok() && !(old_lossy && settings.version < DataStreamVersion::QT_3_3) {
        let mut bytes = Vec::new();
        let mut out = DataStream::writer(&mut bytes);
        settings.apply(&mut out);
        out.write(&value);
        assert!(out.is_ok(), "writing {value:?} failed: {:?}", out.status());
        let mut back = DataStream::reader(&bytes);
        settings.apply(&mut back);
        let copy = back.read::<T>();
        assert!(
            back.is_ok(),
            "reading back {value:?} failed: {:?}",
            back.status()
        );
        assert!(back.at_end(), "{value:?} left bytes behind");
        assert!(value.same(&copy), "{value:?} came back as {copy:?}");
    }
    value
}

/// Reads the type numbered `code`; returns its debug form.
fn read_type(s: &mut DataStream<'_>, code: u8) -> String {
    match code % 30 {
        0 => read_checked::<u8>(s, false),
        1 => read_checked::<i8>(s, false),
        2 => read_checked::<u16>(s, false),
        3 => read_checked::<i16>(s, false),
        4 => read_checked::<u32>(s, false),
        5 => read_checked::<i32>(s, false),
        6 => read_checked::<u64>(s, true),
        7 => read_checked::<i64>(s, true),
        8 => read_checked::<bool>(s, false),
        9 => read_checked::<f32>(s, false),
        10 => read_checked::<f64>(s, false),
        11 => read_checked::<String>(s, false),
        12 => read_checked::<Option<String>>(s, true),
        13 => read_checked::<Option<Vec<u8>>>(s, true),
        14 => read_checked::<Vec<u8>>(s, false),
        15 => read_checked::<Vec<u32>>(s, false),
        16 => read_checked::<Vec<String>>(s, false),
        17 => read_checked::<Vec<bool>>(s, false),
        18 => read_checked::<BTreeMap<String, i32>>(s, false),
        // Hash containers print in a random order: compare them sorted.
        19 => {
            let map = read_value::<HashMap<u16, Vec<u8>>>(s, false);
            format!("{:?}", map.into_iter().collect::<BTreeMap<_, _>>())
        }
        20 => read_checked::<BTreeSet<i64>>(s, true),
        21 => {
            let set = read_value::<HashSet<String>>(s, false);
            format!("{:?}", set.into_iter().collect::<BTreeSet<_>>())
        }
        22 => read_checked::<(u8, String)>(s, false),
        23 => read_checked::<Box<u16>>(s, false),
        24 => read_checked::<Vec<Vec<i16>>>(s, false),
        25 => read_checked::<Vec<Option<String>>>(s, true),
        26 => read_checked::<Vec<f64>>(s, false),
        27 => format!("{:?}", s.read_bytes()),
        28 => format!("{:?}", s.read_utf16()),
        _ => format!("{:?}", s.read_size()),
    }
}

/// Runs one program step: a read, or a transaction or settings change.
/// `deliver` hands the next bytes to a sequential device, if there is one.
fn step(s: &mut DataStream<'_>, program: &mut Input<'_>, deliver: &mut dyn FnMut(usize)) {
    let op = program.byte();
    match op % 48 {
        0..=29 => {
            read_type(s, op);
        }
        30 => s.start_transaction(),
        31 => {
            s.commit_transaction();
        }
        32 => s.rollback_transaction(),
        33 => s.abort_transaction(),
        34 => s.reset_status(),
        35 => s.set_byte_order(match s.byte_order() {
            ByteOrder::BigEndian => ByteOrder::LittleEndian,
            ByteOrder::LittleEndian => ByteOrder::BigEndian,
        }),
        36 => s.set_version(DataStreamVersion::from_number(program.byte() % 26)),
        37 => s.set_floating_point_precision(match program.byte() % 2 {
            0 => FloatingPointPrecision::SinglePrecision,
            _ => FloatingPointPrecision::DoublePrecision,
        }),
        38 => {
            let mut buf = vec![0; program.size(1 << 16)];
            let got = s.read_raw_data(&mut buf);
            assert!(got.is_none_or(|n| n <= buf.len()));
        }
        39 => {
            let n = program.size(1 << 16);
            assert!(s.skip_raw_data(n).is_none_or(|got| got <= n));
        }
        40 => {
            let _ = s.try_read::<String>();
        }
        41 => {
            let items: Vec<u8> = s.read_container(|s| {
                let n = s.read_size().clamp(0, 64);
                (0..n).map(|_| s.read::<u8>()).collect()
            });
            assert!(items.len() <= 64);
        }
        42 => s.set_status(DataStreamStatus::ReadCorruptData),
        43 => {
            let _ = s.at_end();
            let _ = s.device().bytes_available();
        }
        _ => deliver(program.size(4096)),
    }
}

/// Runs the program against a stream over `dev`.
fn run(s: &mut DataStream<'_>, program: &mut Input<'_>, deliver: &mut dyn FnMut(usize)) {
    // Bounded: each step uses at least one program byte.
    for _ in 0..256 {
        if program.is_empty() {
            break;
        }
        step(s, program, deliver);
    }
}

/// One outcome of the fixed read sequence: values, status, bytes consumed.
type Outcome = (Vec<String>, DataStreamStatus, usize);

/// Reads `types` inside a transaction from `s`, as a protocol reader does.
fn read_all_types(s: &mut DataStream<'_>, types: &[u8]) -> (Vec<String>, bool) {
    s.start_transaction();
    let values = types.iter().map(|&t| read_type(s, t)).collect();
    let committed = s.commit_transaction();
    (values, committed)
}

/// The fortune client's pattern: bytes arrive in `pieces`; after each
/// piece, start a transaction, read everything, commit or wait for more.
fn streamed(settings: Settings, types: &[u8], data: &[u8], pieces: &mut Input<'_>) -> Outcome {
    let dev = QueueDevice::new();
    let mut s = DataStream::new(&dev);
    settings.apply(&mut s);
    let mut sent = 0;
    loop {
        let n = pieces.size(data.len() - sent).max(1).min(data.len() - sent);
        dev.deliver(&data[sent..sent + n]);
        sent += n;
        let (values, committed) = read_all_types(&mut s, types);
        let status = s.status();
        if committed || status != DataStreamStatus::ReadPastEnd || sent == data.len() {
            return (values, status, sent - dev.bytes_available());
        }
        // Not all there yet: the device rolled back to the start.
        assert_eq!(dev.bytes_available(), sent);
    }
}

fn all_at_once(settings: Settings, types: &[u8], data: &[u8]) -> Outcome {
    let mut s = DataStream::reader(data);
    settings.apply(&mut s);
    let (values, _) = read_all_types(&mut s, types);
    let left = s.device().bytes_available();
    (values, s.status(), data.len() - left)
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    let version = DataStreamVersion::from_number(input.byte() % 26);
    let flags = input.byte();
    let settings = Settings {
        version,
        order: match flags & 1 {
            0 => ByteOrder::BigEndian,
            _ => ByteOrder::LittleEndian,
        },
        precision: match flags & 2 {
            0 => FloatingPointPrecision::DoublePrecision,
            _ => FloatingPointPrecision::SinglePrecision,
        },
    };
    let len = usize::from(input.byte());
    let mut program = Input::new(input.take(len));
    let payload = input.rest();
    match (flags >> 2) % 4 {
        0 => {
            let mut s = DataStream::reader(payload);
            settings.apply(&mut s);
            run(&mut s, &mut program, &mut |_| {});
        }
        1 => {
            let buf = Buffer::from_vec(payload.to_vec());
            buf.open(OpenMode::READ_ONLY).expect("a buffer opens");
            let mut s = DataStream::new(&buf);
            settings.apply(&mut s);
            run(&mut s, &mut program, &mut |_| {});
        }
        2 => {
            let dev = QueueDevice::new();
            let mut sent = 0;
            let mut deliver = |n: usize| {
                let n = n.min(payload.len() - sent);
                dev.deliver(&payload[sent..sent + n]);
                sent += n;
            };
            deliver(1);
            let mut s = DataStream::new(&dev);
            settings.apply(&mut s);
            run(&mut s, &mut program, &mut deliver);
        }
        _ => {
            let types: Vec<u8> = program.take(8).to_vec();
            let whole = all_at_once(settings, &types, payload);
            if payload.is_empty() {
                return;
            }
            let pieces = streamed(settings, &types, payload, &mut program);
            assert_eq!(pieces, whole, "types {types:?}");
        }
    }
});
