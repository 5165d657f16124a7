//! `DataStream` (Qt: `QDataStream`): Qt's binary serialization format, byte
//! for byte, over any [`IoDevice`] or an in-memory byte buffer.
//!
//! - this file: the stream, its settings, its status, read transactions
//!   and the primitive reads and writes every type is built on;
//! - `version.rs`: [`DataStreamVersion`];
//! - `types.rs`: the [`WriteTo`]/[`ReadFrom`] traits and their
//!   implementations for numbers, strings, byte arrays and containers;
//! - `memory.rs`: the devices behind [`DataStream::reader`] and
//!   [`DataStream::writer`].

mod date_time;
mod memory;
mod types;
mod variant;
mod version;

#[cfg(test)]
mod tests;

use std::error::Error;
use std::ffi::CStr;
use std::fmt;

use crate::io_device::IoDevice;

pub use date_time::{Date, DateTime, Time, TimeSpec, Uuid};
use memory::{SliceDevice, VecDevice};
pub use types::{ReadFrom, WriteTo};
pub use variant::Variant;
pub use version::DataStreamVersion;

/// Qt's marker for a null string or byte array in place of a size.
const NULL_CODE: u32 = 0xffff_ffff;
/// Qt's marker (version ≥ Qt_6_7) for "a quint64 size follows".
const EXTENDED_SIZE: u32 = 0xffff_fffe;
/// Bytes read at a time for length-prefixed data, so that a hostile length
/// costs memory in proportion to the bytes actually there, not to the
/// length claimed. Qt reads strings and byte arrays 1 MiB at a time.
const READ_CHUNK: usize = 64 * 1024;

/// The byte order of numbers and size prefixes in a [`DataStream`].
///
/// Qt: `QDataStream::ByteOrder`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_core::ByteOrder;
/// assert_eq!(ByteOrder::default(), ByteOrder::BigEndian);
/// assert_eq!(ByteOrder::LittleEndian as u8, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ByteOrder {
    /// Most significant byte first; the default and what Qt peers expect.
    /// Qt: `QDataStream::BigEndian`.
    #[default]
    BigEndian = 0,
    /// Least significant byte first. Size prefixes are little-endian too.
    /// Qt: `QDataStream::LittleEndian`.
    LittleEndian = 1,
}

/// How `f32` and `f64` are written from version
/// [`QT_4_6`](DataStreamVersion::QT_4_6) on (earlier versions write `f32`
/// as 4 bytes and `f64` as 8 whatever this says).
///
/// Qt: `QDataStream::FloatingPointPrecision`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_core::FloatingPointPrecision;
/// assert_eq!(FloatingPointPrecision::default(), FloatingPointPrecision::DoublePrecision);
/// assert_eq!(FloatingPointPrecision::SinglePrecision as u8, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FloatingPointPrecision {
    /// Both `f32` and `f64` are written as 4-byte IEEE-754 floats (an
    /// `f64` is rounded). Qt: `QDataStream::SinglePrecision`.
    SinglePrecision = 0,
    /// Both `f32` and `f64` are written as 8-byte IEEE-754 doubles; the
    /// default. Qt: `QDataStream::DoublePrecision`.
    #[default]
    DoublePrecision = 1,
}

/// The status of a [`DataStream`]: [`Ok`](Self::Ok) or the first error.
///
/// Once a stream is not `Ok`, writes do nothing, reads inside a
/// transaction return zeros and empties, and further errors are not
/// recorded until [`DataStream::reset_status`] (or the start of an
/// outermost transaction). It is also an [`Error`], for
/// [`DataStream::try_read`].
///
/// Qt: `QDataStream::Status`; the values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_core::{DataStream, DataStreamStatus};
///
/// let mut s = DataStream::reader(&[0, 1]);
/// assert_eq!(s.read::<u32>(), 0);
/// assert_eq!(s.status(), DataStreamStatus::ReadPastEnd);
/// assert_eq!(DataStreamStatus::SizeLimitExceeded as u8, 4);
/// assert_eq!(s.status().to_string(), "read past the end of the data");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataStreamStatus {
    /// No error. Qt: `QDataStream::Ok`.
    #[default]
    Ok = 0,
    /// A read needed more bytes than the device had. Inside a transaction
    /// this means "wait for more data and retry".
    /// Qt: `QDataStream::ReadPastEnd`.
    ReadPastEnd = 1,
    /// The bytes don't make a valid value (for example a string with an
    /// odd byte length). Qt: `QDataStream::ReadCorruptData`.
    ReadCorruptData = 2,
    /// The device did not take all the bytes written.
    /// Qt: `QDataStream::WriteFailed`.
    WriteFailed = 3,
    /// A size is too large for the stream's version (writing) or for
    /// memory (reading), or a size that must not be null is.
    /// Qt: `QDataStream::SizeLimitExceeded` (Qt 6.7).
    SizeLimitExceeded = 4,
}

impl fmt::Display for DataStreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DataStreamStatus::Ok => "no error",
            DataStreamStatus::ReadPastEnd => "read past the end of the data",
            DataStreamStatus::ReadCorruptData => "read corrupt data",
            DataStreamStatus::WriteFailed => "write failed",
            DataStreamStatus::SizeLimitExceeded => "size limit exceeded",
        })
    }
}

impl Error for DataStreamStatus {}

/// Where a [`DataStream`] reads and writes.
enum Backing<'a> {
    Borrowed(&'a dyn IoDevice),
    /// `'static` so that a stream borrowing bytes (`writer`) has no drop
    /// glue tied to `'a` and its borrow ends at its last use.
    Owned(Box<dyn IoDevice>),
    Slice(SliceDevice<'a>),
    Vec(VecDevice<'a>),
}

/// Reads and writes values in Qt's `QDataStream` format, byte for byte,
/// over an [`IoDevice`] (a socket, a [`Buffer`](crate::Buffer)) or an
/// in-memory byte buffer.
///
/// Values go in and out through [`write`](Self::write) and
/// [`read`](Self::read), for every type that implements [`WriteTo`] /
/// [`ReadFrom`]: the integers, `bool`, `f32`/`f64`, strings, byte arrays,
/// lists, maps, sets and pairs (see [`WriteTo`] for the table of Qt types),
/// and your own types.
///
/// Errors follow Qt: a read that fails returns zero or empty and sets the
/// [`status`](Self::status); only the first error is kept; nothing panics,
/// whatever the input. Reading over a socket, where a message may arrive in
/// pieces, uses a read transaction:
///
/// ```
/// use sigloop_core::{Buffer, DataStream, IoDevice, OpenMode};
///
/// let socket = Buffer::from_vec(vec![0, 0, 0, 4, 0, 0x48]); // "Hi", cut short
/// socket.open(OpenMode::READ_ONLY)?;
/// let mut s = DataStream::new(&socket);
/// s.start_transaction();
/// let text: String = s.read();
/// assert!(!s.commit_transaction()); // incomplete: the bytes are kept
/// assert_eq!(socket.bytes_available(), 6);
/// # let _ = text;
/// # Ok::<(), sigloop_core::DeviceError>(())
/// ```
///
/// Settings default to Qt's: [`ByteOrder::BigEndian`],
/// [`DataStreamVersion::NEWEST`],
/// [`FloatingPointPrecision::DoublePrecision`]. Pin the version when you
/// talk to a peer built with another Qt.
///
/// Differences from Qt:
/// - strings are Rust strings, so a `QString` holding invalid UTF-16 (a
///   lone surrogate) reads as [`DataStreamStatus::ReadCorruptData`]; use
///   [`read_utf16`](Self::read_utf16) to get the raw code units;
/// - reading a list never reserves memory for the count it claims, only
///   for the elements that are really there (Qt reserves the count);
/// - `Vec<u8>` is a `QByteArray`, and reads a null one as empty (a
///   `QList<quint8>` has the same bytes, but Qt would reject the null
///   marker);
/// - [`writer`](Self::writer) appends to its vector (Qt's
///   `QDataStream(QByteArray *, WriteOnly)` writes from the start);
/// - [`Variant`] covers the `QVariant` types network programs send (see
///   there), not GUI or user types; there is no `char32_t` (write a
///   `u32`).
///
/// Qt: `QDataStream`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{DataStream, DataStreamVersion};
///
/// let mut bytes = Vec::new();
/// let mut out = DataStream::writer(&mut bytes);
/// out.set_version(DataStreamVersion::QT_5_15);
/// out.write("Hi").write(&-2i16).write(&vec![1u32, 2]);
/// assert_eq!(
///     bytes,
///     [0, 0, 0, 4, 0, 0x48, 0, 0x69, 0xff, 0xfe, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]
/// );
///
/// let mut input = DataStream::reader(&bytes);
/// input.set_version(DataStreamVersion::QT_5_15);
/// assert_eq!(input.read::<String>(), "Hi");
/// assert_eq!(input.read::<i16>(), -2);
/// assert_eq!(input.read::<Vec<u32>>(), [1, 2]);
/// assert!(input.status().is_ok());
/// assert!(input.at_end());
/// ```
pub struct DataStream<'a> {
    dev: Backing<'a>,
    order: ByteOrder,
    version: DataStreamVersion,
    precision: FloatingPointPrecision,
    status: DataStreamStatus,
    /// Nesting depth of read transactions.
    depth: u32,
    /// Nesting depth of the variant being read (see `variant.rs`).
    variant_depth: u32,
}

impl DataStreamStatus {
    /// Whether this is [`DataStreamStatus::Ok`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::DataStreamStatus;
    /// assert!(DataStreamStatus::Ok.is_ok());
    /// assert!(!DataStreamStatus::WriteFailed.is_ok());
    /// ```
    pub const fn is_ok(self) -> bool {
        matches!(self, DataStreamStatus::Ok)
    }
}

impl<'a> DataStream<'a> {
    fn with_backing(dev: Backing<'a>) -> Self {
        DataStream {
            dev,
            order: ByteOrder::default(),
            version: DataStreamVersion::default(),
            precision: FloatingPointPrecision::default(),
            status: DataStreamStatus::Ok,
            depth: 0,
            variant_depth: 0,
        }
    }

    /// A stream over a borrowed device, which must already be open. Any
    /// device type works: `DataStream::new(&socket)`.
    /// Qt: `QDataStream::QDataStream(QIODevice *)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DataStream, IoDevice, OpenMode};
    ///
    /// let buf = Buffer::new();
    /// buf.open(OpenMode::READ_WRITE)?;
    /// DataStream::new(&buf).write(&0x0102_0304u32);
    /// assert_eq!(buf.data(), [1, 2, 3, 4]);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn new(device: &'a dyn IoDevice) -> Self {
        Self::with_backing(Backing::Borrowed(device))
    }

    /// A stream that owns its device. Devices are cheap `Clone` handles,
    /// so this suits a stream kept next to a socket:
    /// `DataStream::from_device(socket.clone())`. The device must own its
    /// data (`'static`), as sockets and [`Buffer`](crate::Buffer)s do;
    /// borrow anything else with [`new`](Self::new).
    /// Qt: `QDataStream::QDataStream(QIODevice *)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DataStream, IoDevice, OpenMode};
    ///
    /// let buf = Buffer::from_vec(vec![0, 7]);
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let mut s: DataStream<'static> = DataStream::from_device(buf.clone());
    /// assert_eq!(s.read::<u16>(), 7);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn from_device<D: IoDevice + 'static>(device: D) -> Self {
        Self::with_backing(Backing::Owned(Box::new(device)))
    }

    /// A read-only stream over bytes in memory. The stream is random
    /// access, and transactions work on it.
    /// Qt: `QDataStream::QDataStream(const QByteArray &)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[0xff, 0xfe]);
    /// assert_eq!(s.read::<i16>(), -2);
    /// ```
    pub fn reader(bytes: &'a [u8]) -> Self {
        Self::with_backing(Backing::Slice(SliceDevice::new(bytes)))
    }

    /// A write-only stream that appends to `bytes`.
    /// Qt: `QDataStream::QDataStream(QByteArray *, QIODevice::WriteOnly)`
    /// (which overwrites from the start instead; clear the vector first
    /// for the same result).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bytes = vec![9];
    /// sigloop_core::DataStream::writer(&mut bytes).write(&1.5f64);
    /// assert_eq!(bytes, [9, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    /// ```
    pub fn writer(bytes: &'a mut Vec<u8>) -> Self {
        Self::with_backing(Backing::Vec(VecDevice::new(bytes)))
    }

    /// The device the stream reads and writes (for the in-memory streams,
    /// a device over the bytes). Qt: `QDataStream::device()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, IoDevice};
    /// let s = DataStream::reader(b"abc");
    /// assert_eq!(s.device().bytes_available(), 3);
    /// ```
    pub fn device(&self) -> &dyn IoDevice {
        match &self.dev {
            Backing::Borrowed(d) => *d,
            Backing::Owned(d) => d.as_ref(),
            Backing::Slice(d) => d,
            Backing::Vec(d) => d,
        }
    }

    /// Whether the device has nothing more to read now (see
    /// [`IoDevice::at_end`]). Qt: `QDataStream::atEnd()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[1]);
    /// assert!(!s.at_end());
    /// s.read::<u8>();
    /// assert!(s.at_end());
    /// ```
    pub fn at_end(&self) -> bool {
        self.device().at_end()
    }

    /// The byte order. Qt: `QDataStream::byteOrder()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{ByteOrder, DataStream};
    /// assert_eq!(DataStream::reader(&[]).byte_order(), ByteOrder::BigEndian);
    /// ```
    pub fn byte_order(&self) -> ByteOrder {
        self.order
    }

    /// Sets the byte order of numbers and of size prefixes.
    /// Qt: `QDataStream::setByteOrder()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{ByteOrder, DataStream};
    /// let mut bytes = Vec::new();
    /// let mut s = DataStream::writer(&mut bytes);
    /// s.set_byte_order(ByteOrder::LittleEndian);
    /// s.write("A");
    /// assert_eq!(bytes, [2, 0, 0, 0, 0x41, 0]);
    /// ```
    pub fn set_byte_order(&mut self, order: ByteOrder) {
        self.order = order;
    }

    /// The format version. Qt: `QDataStream::version()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamVersion};
    /// assert_eq!(DataStream::reader(&[]).version(), DataStreamVersion::QT_6_11);
    /// ```
    pub fn version(&self) -> DataStreamVersion {
        self.version
    }

    /// Sets the format version; use the peer's.
    /// Qt: `QDataStream::setVersion()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamVersion};
    /// let mut s = DataStream::reader(&[]);
    /// s.set_version(DataStreamVersion::QT_5_10);
    /// assert_eq!(s.version().number(), 17);
    /// ```
    pub fn set_version(&mut self, version: DataStreamVersion) {
        self.version = version;
    }

    /// The floating-point precision.
    /// Qt: `QDataStream::floatingPointPrecision()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, FloatingPointPrecision};
    /// let s = DataStream::reader(&[]);
    /// assert_eq!(s.floating_point_precision(), FloatingPointPrecision::DoublePrecision);
    /// ```
    pub fn floating_point_precision(&self) -> FloatingPointPrecision {
        self.precision
    }

    /// Sets the floating-point precision; reader and writer must agree.
    /// Qt: `QDataStream::setFloatingPointPrecision()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, FloatingPointPrecision};
    /// let mut bytes = Vec::new();
    /// let mut s = DataStream::writer(&mut bytes);
    /// s.set_floating_point_precision(FloatingPointPrecision::SinglePrecision);
    /// s.write(&1.5f64);
    /// assert_eq!(bytes, [0x3f, 0xc0, 0, 0]);
    /// ```
    pub fn set_floating_point_precision(&mut self, precision: FloatingPointPrecision) {
        self.precision = precision;
    }

    /// The status: [`DataStreamStatus::Ok`] or the first error since the
    /// last reset. Qt: `QDataStream::status()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamStatus};
    /// let mut s = DataStream::reader(&[0, 0, 0, 3, 0, 0x41, 0]);
    /// s.read::<String>(); // odd byte length
    /// assert_eq!(s.status(), DataStreamStatus::ReadCorruptData);
    /// ```
    pub fn status(&self) -> DataStreamStatus {
        self.status
    }

    /// Whether the status is [`DataStreamStatus::Ok`].
    /// Qt: `QDataStream::operator bool()` (6.10).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[]);
    /// assert!(s.is_ok());
    /// s.read::<u8>();
    /// assert!(!s.is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.status.is_ok()
    }

    /// Records `status`, unless an error is already recorded: only the
    /// first error counts until [`reset_status`](Self::reset_status).
    /// Qt: `QDataStream::setStatus()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamStatus};
    /// let mut s = DataStream::reader(&[]);
    /// s.set_status(DataStreamStatus::ReadCorruptData);
    /// s.set_status(DataStreamStatus::ReadPastEnd);
    /// assert_eq!(s.status(), DataStreamStatus::ReadCorruptData);
    /// ```
    pub fn set_status(&mut self, status: DataStreamStatus) {
        if self.status.is_ok() {
            self.status = status;
        }
    }

    /// Sets the status back to [`DataStreamStatus::Ok`].
    /// Qt: `QDataStream::resetStatus()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamStatus};
    /// let mut s = DataStream::reader(&[]);
    /// s.read::<u8>();
    /// s.reset_status();
    /// assert_eq!(s.status(), DataStreamStatus::Ok);
    /// ```
    pub fn reset_status(&mut self) {
        self.status = DataStreamStatus::Ok;
    }

    /// Writes `value` (anything [`WriteTo`]: `stream.write(&42u32)`,
    /// `stream.write("text")`), returning the stream for chaining. Does
    /// nothing once the status is not Ok. Qt: `operator<<`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bytes = Vec::new();
    /// sigloop_core::DataStream::writer(&mut bytes).write(&true).write(&7u8);
    /// assert_eq!(bytes, [1, 7]);
    /// ```
    pub fn write<T: WriteTo + ?Sized>(&mut self, value: &T) -> &mut Self {
        value.write_to(self);
        self
    }

    /// Reads a `T`. On failure the value is zero or empty and the status
    /// says why. Qt: `operator>>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// let mut s = sigloop_core::DataStream::reader(&[0, 0, 0, 1, 0, 0, 0, 2, 0, 0x61, 0, 0, 0, 9]);
    /// let map: BTreeMap<String, i32> = s.read();
    /// assert_eq!(map["a"], 9);
    /// ```
    pub fn read<T: ReadFrom>(&mut self) -> T {
        T::read_from(self)
    }

    /// Reads into `value`, returning the stream for chaining like Qt's
    /// `in >> a >> b`. Qt: `operator>>`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut a, mut b) = (0u8, 0i16);
    /// sigloop_core::DataStream::reader(&[1, 0xff, 0xfe]).read_to(&mut a).read_to(&mut b);
    /// assert_eq!((a, b), (1, -2));
    /// ```
    pub fn read_to<T: ReadFrom>(&mut self, value: &mut T) -> &mut Self {
        *value = T::read_from(self);
        self
    }

    /// Reads a `T` and returns it if the status is Ok afterwards, else the
    /// status. An error recorded before the call also makes it fail.
    ///
    /// # Errors
    ///
    /// The stream's [`status`](Self::status) when it is not
    /// [`DataStreamStatus::Ok`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamStatus};
    /// let mut s = DataStream::reader(&[0, 5, 0]);
    /// assert_eq!(s.try_read::<u16>(), Ok(5));
    /// assert_eq!(s.try_read::<u16>(), Err(DataStreamStatus::ReadPastEnd));
    /// ```
    pub fn try_read<T: ReadFrom>(&mut self) -> Result<T, DataStreamStatus> {
        let value = T::read_from(self);
        match self.status {
            DataStreamStatus::Ok => Ok(value),
            err => Err(err),
        }
    }

    // ------------------------------------------------------------------
    // Transactions
    // ------------------------------------------------------------------

    /// Starts a read transaction. The outermost one starts a transaction
    /// on the device and resets the status; inner ones only count depth.
    /// While a transaction is open and the status is not Ok, reads are
    /// suspended (they return zeros and empties without touching the
    /// device). Qt: `QDataStream::startTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DataStream, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(vec![0, 0, 0]);
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let mut s = DataStream::new(&buf);
    /// s.start_transaction();
    /// assert!(buf.is_transaction_started());
    /// s.read::<u32>();
    /// assert!(!s.commit_transaction());
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn start_transaction(&mut self) {
        self.depth += 1;
        if self.depth == 1 {
            self.device().start_transaction();
            self.reset_status();
        }
    }

    /// Ends a read transaction. Returns whether the status is Ok. Only the
    /// outermost call acts on the device: with
    /// [`ReadPastEnd`](DataStreamStatus::ReadPastEnd) it rolls the device
    /// back to the start of the transaction (wait for more data, then start
    /// again); otherwise it commits (on corrupt data too: the transaction
    /// is aborted, the bytes stay consumed). Without a transaction it
    /// returns false (Qt warns `No transaction in progress`).
    /// Qt: `QDataStream::commitTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DataStream, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(vec![0, 1, 0]);
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let mut s = DataStream::new(&buf);
    /// s.start_transaction();
    /// assert_eq!(s.read::<u16>(), 1);
    /// assert!(s.commit_transaction());
    /// assert_eq!(buf.bytes_available(), 1);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn commit_transaction(&mut self) -> bool {
        if !self.end_transaction_level("commitTransaction") {
            return false;
        }
        if self.depth == 0 {
            if self.status == DataStreamStatus::ReadPastEnd {
                self.device().rollback_transaction();
                return false;
            }
            self.device().commit_transaction();
        }
        self.status.is_ok()
    }

    /// Reverts a read transaction: sets the status to
    /// [`ReadPastEnd`](DataStreamStatus::ReadPastEnd) if it was Ok; at the
    /// outermost level, rolls the device back if the status is
    /// `ReadPastEnd`, otherwise commits it (aborts).
    /// Qt: `QDataStream::rollbackTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DataStream, DataStreamStatus, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(vec![0, 1]);
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let mut s = DataStream::new(&buf);
    /// s.start_transaction();
    /// s.read::<u16>();
    /// s.rollback_transaction();
    /// assert_eq!(s.status(), DataStreamStatus::ReadPastEnd);
    /// assert_eq!(buf.bytes_available(), 2);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn rollback_transaction(&mut self) {
        self.set_status(DataStreamStatus::ReadPastEnd);
        if !self.end_transaction_level("rollbackTransaction") || self.depth != 0 {
            return;
        }
        if self.status == DataStreamStatus::ReadPastEnd {
            self.device().rollback_transaction();
        } else {
            self.device().commit_transaction();
        }
    }

    /// Aborts a read transaction after a protocol error: the status becomes
    /// [`ReadCorruptData`](DataStreamStatus::ReadCorruptData) (whatever it
    /// was) and, at the outermost level, the device commits: what was read
    /// stays consumed. Qt: `QDataStream::abortTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DataStream, DataStreamStatus, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(vec![0, 1]);
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let mut s = DataStream::new(&buf);
    /// s.start_transaction();
    /// s.read::<u16>();
    /// s.abort_transaction();
    /// assert_eq!(s.status(), DataStreamStatus::ReadCorruptData);
    /// assert_eq!(buf.bytes_available(), 0);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn abort_transaction(&mut self) {
        self.status = DataStreamStatus::ReadCorruptData;
        if !self.end_transaction_level("abortTransaction") || self.depth != 0 {
            return;
        }
        self.device().commit_transaction();
    }

    /// Whether the device has a transaction open (whoever started it).
    /// Qt: `QDataStream::isDeviceTransactionStarted()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[]);
    /// s.start_transaction();
    /// assert!(s.is_device_transaction_started());
    /// ```
    pub fn is_device_transaction_started(&self) -> bool {
        self.device().is_transaction_started()
    }

    /// Leaves one transaction level; false (with Qt's warning) if none.
    fn end_transaction_level(&mut self, what: &str) -> bool {
        if self.depth == 0 {
            log::warn!("QDataStream::{what}: No transaction in progress");
            return false;
        }
        self.depth -= 1;
        true
    }

    // ------------------------------------------------------------------
    // Raw data and sizes
    // ------------------------------------------------------------------

    /// Reads up to `buf.len()` bytes, undecoded. Returns how many were
    /// read (fewer than asked sets
    /// [`ReadPastEnd`](DataStreamStatus::ReadPastEnd)), or `None` if reads
    /// are suspended (error inside a transaction) or the device failed.
    /// Qt: `QDataStream::readRawData()` (-1 is `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(b"abc");
    /// let mut buf = [0; 4];
    /// assert_eq!(s.read_raw_data(&mut buf), Some(3));
    /// assert!(!s.is_ok());
    /// ```
    pub fn read_raw_data(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.read_block(buf)
    }

    /// Writes `data` undecoded, with no size prefix. Returns how many bytes
    /// the device took (fewer sets
    /// [`WriteFailed`](DataStreamStatus::WriteFailed)), or `None` if the
    /// status was not Ok or the device failed.
    /// Qt: `QDataStream::writeRawData()` (-1 is `None`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bytes = Vec::new();
    /// assert_eq!(sigloop_core::DataStream::writer(&mut bytes).write_raw_data(b"xy"), Some(2));
    /// assert_eq!(bytes, b"xy");
    /// ```
    pub fn write_raw_data(&mut self, data: &[u8]) -> Option<usize> {
        if !self.status.is_ok() {
            return None;
        }
        let dev = self.device();
        let mut done = 0;
        let mut failed = false;
        // One call even for empty data, so that a device that can't be
        // written reports it (as Qt's `write(s, 0)` returns -1).
        loop {
            match dev.write(&data[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
            if done >= data.len() {
                break;
            }
        }
        if failed || done != data.len() {
            self.status = DataStreamStatus::WriteFailed;
        }
        if failed && done == 0 {
            None
        } else {
            Some(done)
        }
    }

    /// Skips up to `n` bytes. Returns how many were skipped (fewer sets
    /// [`ReadPastEnd`](DataStreamStatus::ReadPastEnd)), or `None` if reads
    /// are suspended or the device failed.
    /// Qt: `QDataStream::skipRawData()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[1, 2, 3]);
    /// assert_eq!(s.skip_raw_data(2), Some(2));
    /// assert_eq!(s.read::<u8>(), 3);
    /// ```
    pub fn skip_raw_data(&mut self, n: usize) -> Option<usize> {
        if !self.status.is_ok() && self.is_device_transaction_started() {
            return None;
        }
        match self.device().skip(n) {
            Ok(skipped) => {
                if skipped != n {
                    self.set_status(DataStreamStatus::ReadPastEnd);
                }
                Some(skipped)
            }
            Err(_) => {
                self.set_status(DataStreamStatus::ReadPastEnd);
                None
            }
        }
    }

    /// Writes a size prefix and `data`. Qt: `QDataStream::writeBytes()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bytes = Vec::new();
    /// sigloop_core::DataStream::writer(&mut bytes).write_bytes(b"ab");
    /// assert_eq!(bytes, [0, 0, 0, 2, b'a', b'b']);
    /// ```
    pub fn write_bytes(&mut self, data: &[u8]) -> &mut Self {
        if self.status.is_ok() && self.write_size(size_of_len(data.len())) && !data.is_empty() {
            self.write_raw_data(data);
        }
        self
    }

    /// Writes a C string the way Qt's `operator<<(const char *)` does: a
    /// size prefix that counts the trailing NUL, the bytes, and the NUL.
    /// (Qt writes a null `char*` as size 0: use
    /// [`write_bytes(&[])`](Self::write_bytes) for that.)
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bytes = Vec::new();
    /// sigloop_core::DataStream::writer(&mut bytes).write_c_str(c"hi");
    /// assert_eq!(bytes, [0, 0, 0, 3, b'h', b'i', 0]);
    /// ```
    pub fn write_c_str(&mut self, s: &CStr) -> &mut Self {
        self.write_bytes(s.to_bytes_with_nul())
    }

    /// Reads a size prefix and that many bytes: the counterpart of
    /// [`write_bytes`](Self::write_bytes) and
    /// [`write_c_str`](Self::write_c_str) (whose NUL is kept). Empty on
    /// failure; a null marker (`ffffffff`) is
    /// [`SizeLimitExceeded`](DataStreamStatus::SizeLimitExceeded).
    /// Memory grows only with the bytes really there.
    /// Qt: `QDataStream::readBytes()` / `operator>>(char *&)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[0, 0, 0, 3, b'h', b'i', 0]);
    /// assert_eq!(s.read_bytes(), b"hi\0");
    /// ```
    pub fn read_bytes(&mut self) -> Vec<u8> {
        let size = self.read_size();
        if size == 0 {
            return Vec::new();
        }
        let Some(len) = self.checked_len(size) else {
            self.set_status(DataStreamStatus::SizeLimitExceeded);
            return Vec::new();
        };
        self.read_chunked(len).unwrap_or_default()
    }

    /// Writes a container or string size the way Qt does: a quint32 below
    /// `0xfffffffe`; from version [`QT_6_7`](DataStreamVersion::QT_6_7) on,
    /// larger sizes as `fffffffe` and a quint64; before it, exactly
    /// `0xfffffffe` as a quint32 and anything larger not at all (status
    /// [`SizeLimitExceeded`](DataStreamStatus::SizeLimitExceeded), returns
    /// false). `-1` writes the null marker `ffffffff`. Returns false only
    /// for a size the version can't hold. For your own container types.
    /// Qt: `QDataStream::writeQSizeType()` (private in Qt).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamVersion};
    /// let mut bytes = Vec::new();
    /// let mut s = DataStream::writer(&mut bytes);
    /// assert!(s.write_size(0xffff_ffff)); // the newest version extends it
    /// assert_eq!(bytes, [0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    /// ```
    pub fn write_size(&mut self, size: i64) -> bool {
        if size < i64::from(EXTENDED_SIZE) {
            // -1 (and other negatives, as in Qt) truncate to a quint32.
            self.write_u32(size as u32);
        } else if self.version >= DataStreamVersion::QT_6_7 {
            self.write_u32(EXTENDED_SIZE);
            self.write_u64(size as u64);
        } else if size == i64::from(EXTENDED_SIZE) {
            self.write_u32(EXTENDED_SIZE);
        } else {
            self.set_status(DataStreamStatus::SizeLimitExceeded);
            return false;
        }
        true
    }

    /// Reads a size written by [`write_size`](Self::write_size): `-1` for
    /// the null marker, the 64-bit extension from version
    /// [`QT_6_7`](DataStreamVersion::QT_6_7) on (so negative values other
    /// than -1 can come from hostile input), 0 if the read failed.
    /// Qt: `QDataStream::readQSizeType()` (private in Qt).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[0xff; 4]);
    /// assert_eq!(s.read_size(), -1);
    /// ```
    pub fn read_size(&mut self) -> i64 {
        let first = self.read_u32();
        if first == NULL_CODE {
            return -1;
        }
        if first < EXTENDED_SIZE || self.version < DataStreamVersion::QT_6_7 {
            return i64::from(first);
        }
        self.read_u64() as i64
    }

    /// Runs `read` the way Qt reads a container: outside a device
    /// transaction the status is reset first, so that `read` sees its own
    /// errors; an error recorded before the call is restored afterwards.
    /// For your own container types (the built-in lists, maps and sets use
    /// it). Qt: `QtPrivate::StreamStateSaver`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{DataStream, DataStreamStatus};
    /// let mut s = DataStream::reader(&[0, 0, 0, 1, 7]);
    /// s.set_status(DataStreamStatus::ReadCorruptData);
    /// let items: Vec<u8> = s.read_container(|s| {
    ///     let n = s.read_size();
    ///     (0..n).map(|_| s.read::<u8>()).collect()
    /// });
    /// assert_eq!(items, [7]);
    /// assert_eq!(s.status(), DataStreamStatus::ReadCorruptData);
    /// ```
    pub fn read_container<R>(&mut self, read: impl FnOnce(&mut Self) -> R) -> R {
        let old = self.status;
        if !self.is_device_transaction_started() {
            self.reset_status();
        }
        let out = read(self);
        if !old.is_ok() {
            self.status = old;
        }
        out
    }

    /// Reads a `QString` as raw UTF-16 code units, without validating them
    /// (Qt doesn't either): `None` for a null string. Use it to keep
    /// strings that are not valid UTF-16 (a lone surrogate), which
    /// `String` can't hold.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut s = sigloop_core::DataStream::reader(&[0, 0, 0, 2, 0xd8, 0x00, 0xff, 0xff, 0xff, 0xff]);
    /// assert_eq!(s.read_utf16(), Some(vec![0xd800]));
    /// assert_eq!(s.read_utf16(), None);
    /// assert!(s.is_ok());
    /// ```
    pub fn read_utf16(&mut self) -> Option<Vec<u16>> {
        self.read_qstring_units()
    }

    /// Writes UTF-16 code units as a `QString`, unchecked; `None` writes
    /// a null string.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut bytes = Vec::new();
    /// sigloop_core::DataStream::writer(&mut bytes).write_utf16(Some(&[0x48]));
    /// assert_eq!(bytes, [0, 0, 0, 2, 0, 0x48]);
    /// ```
    pub fn write_utf16(&mut self, units: Option<&[u16]>) -> &mut Self {
        match units {
            Some(units) => {
                self.write_qstring_units(Some(units.iter().copied()), units.len());
            }
            None => self.write_qstring_units(None::<std::iter::Empty<u16>>, 0),
        }
        self
    }

    // ------------------------------------------------------------------
    // Crate-internal primitives (Qt's readBlock and friends)
    // ------------------------------------------------------------------

    /// Qt's `readBlock`: reads `buf.len()` bytes, or fewer with
    /// ReadPastEnd; `None` (Qt's -1) when reads are suspended or the device
    /// failed before anything was read.
    fn read_block(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !self.status.is_ok() && self.is_device_transaction_started() {
            return None;
        }
        let dev = self.device();
        let mut done = 0;
        let mut failed = false;
        loop {
            match dev.read_into(&mut buf[done..]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
            if done >= buf.len() {
                break;
            }
        }
        if done != buf.len() || failed {
            self.set_status(DataStreamStatus::ReadPastEnd);
        }
        if failed && done == 0 {
            None
        } else {
            Some(done)
        }
    }

    /// Reads exactly `N` bytes, or `None` (the caller yields zero).
    fn read_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut buf = [0; N];
        match self.read_block(&mut buf) {
            Some(n) if n == N => Some(buf),
            _ => None,
        }
    }

    /// Reads `len` bytes in bounded chunks, so that memory follows the
    /// bytes really there. `None` (status ReadPastEnd) if they are not all
    /// there. Like Qt, the bytes that were there are consumed.
    fn read_chunked(&mut self, len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        while out.len() < len {
            let start = out.len();
            // No more than the device has (plus one byte, to see the end):
            // a claimed length costs nothing until its bytes are there.
            let avail = self.device().bytes_available();
            let want = (len - start).min(READ_CHUNK).min(avail.max(1));
            out.resize(start + want, 0);
            if self.read_block(&mut out[start..]) != Some(want) {
                self.set_status(DataStreamStatus::ReadPastEnd);
                return None;
            }
        }
        Some(out)
    }

    /// A size read by [`read_size`](Self::read_size) as a length, if it is
    /// one Rust can allocate (Qt: `size != qsizetype(size) || size < 0`).
    fn checked_len(&self, size: i64) -> Option<usize> {
        usize::try_from(size)
            .ok()
            .filter(|&n| n <= isize::MAX as usize)
    }

    fn write_u32(&mut self, v: u32) {
        let bytes = match self.order {
            ByteOrder::BigEndian => v.to_be_bytes(),
            ByteOrder::LittleEndian => v.to_le_bytes(),
        };
        self.write_raw_data(&bytes);
    }

    fn write_u64(&mut self, v: u64) {
        let bytes = match self.order {
            ByteOrder::BigEndian => v.to_be_bytes(),
            ByteOrder::LittleEndian => v.to_le_bytes(),
        };
        self.write_raw_data(&bytes);
    }

    fn read_u32(&mut self) -> u32 {
        match (self.read_array::<4>(), self.order) {
            (Some(b), ByteOrder::BigEndian) => u32::from_be_bytes(b),
            (Some(b), ByteOrder::LittleEndian) => u32::from_le_bytes(b),
            (None, _) => 0,
        }
    }

    fn read_u64(&mut self) -> u64 {
        match (self.read_array::<8>(), self.order) {
            (Some(b), ByteOrder::BigEndian) => u64::from_be_bytes(b),
            (Some(b), ByteOrder::LittleEndian) => u64::from_le_bytes(b),
            (None, _) => 0,
        }
    }

    /// Qt's `operator>>(QByteArray &)`: `None` for null.
    fn read_qbytearray(&mut self) -> Option<Vec<u8>> {
        let size = self.read_size();
        if size == -1 {
            return None;
        }
        let Some(len) = self.checked_len(size) else {
            self.set_status(DataStreamStatus::SizeLimitExceeded);
            return None;
        };
        if len == 0 {
            // Qt reads a block of 0 bytes, which fails when reads are
            // suspended (the result is then null).
            if self.read_block(&mut []) != Some(0) {
                self.set_status(DataStreamStatus::ReadPastEnd);
                return None;
            }
            return Some(Vec::new());
        }
        self.read_chunked(len)
    }

    /// Qt's `operator<<(const QByteArray &)`: `None` is null.
    fn write_qbytearray(&mut self, data: Option<&[u8]>) {
        match data {
            None if self.version >= DataStreamVersion::QT_3_3 => {
                self.write_size(-1);
            }
            data => {
                self.write_bytes(data.unwrap_or_default());
            }
        }
    }

    /// Qt's `operator>>(QString &)` as code units: `None` for null.
    fn read_qstring_units(&mut self) -> Option<Vec<u16>> {
        if self.version == DataStreamVersion::QT_1_0 {
            // Qt 1 wrote strings as Latin-1 byte arrays.
            return self
                .read_qbytearray()
                .map(|b| b.into_iter().map(u16::from).collect());
        }
        let size = self.read_size();
        if size == -1 {
            return None;
        }
        let Some(bytes) = self.checked_len(size) else {
            self.set_status(DataStreamStatus::SizeLimitExceeded);
            return None;
        };
        if bytes == 0 {
            return Some(Vec::new());
        }
        if bytes % 2 == 1 {
            self.set_status(DataStreamStatus::ReadCorruptData);
            return None;
        }
        let raw = self.read_chunked(bytes)?;
        let units = raw.chunks_exact(2).map(|p| {
            let pair = [p[0], p[1]];
            match self.order {
                ByteOrder::BigEndian => u16::from_be_bytes(pair),
                ByteOrder::LittleEndian => u16::from_le_bytes(pair),
            }
        });
        Some(units.collect())
    }

    /// Qt's `operator<<(const QString &)` from code units (about
    /// `len_hint` of them, to reserve room); `None` is null.
    fn write_qstring_units(&mut self, units: Option<impl Iterator<Item = u16>>, len_hint: usize) {
        if !self.status.is_ok() {
            return;
        }
        if self.version == DataStreamVersion::QT_1_0 {
            // Qt 1: Latin-1, with '?' for what Latin-1 can't hold.
            let latin1: Option<Vec<u8>> =
                units.map(|u| u.map(|c| u8::try_from(c).unwrap_or(b'?')).collect());
            self.write_qbytearray(latin1.as_deref());
            return;
        }
        match units {
            Some(units) => {
                let mut raw = Vec::new();
                if raw.try_reserve(len_hint.saturating_mul(2)).is_err() {
                    self.set_status(DataStreamStatus::WriteFailed);
                    return;
                }
                for u in units {
                    raw.extend_from_slice(&match self.order {
                        ByteOrder::BigEndian => u.to_be_bytes(),
                        ByteOrder::LittleEndian => u.to_le_bytes(),
                    });
                }
                self.write_bytes(&raw);
            }
            // Before Qt 2.1's format a null string was written as empty.
            None if self.version < DataStreamVersion::QT_2_1 => {
                self.write_bytes(&[]);
            }
            None => {
                self.write_size(-1);
            }
        }
    }
}

/// A container length as a size for [`DataStream::write_size`].
fn size_of_len(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

impl fmt::Debug for DataStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataStream")
            .field("byte_order", &self.order)
            .field("version", &self.version)
            .field("precision", &self.precision)
            .field("status", &self.status)
            .field("transaction_depth", &self.depth)
            .finish_non_exhaustive()
    }
}
