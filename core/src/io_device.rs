//! The `IoDevice` trait (Qt: `QIODevice`), its `OpenMode` flags and its
//! `DeviceError`.

use std::error::Error;
use std::fmt;
use std::io;
use std::ops::{BitAnd, BitOr, BitOrAssign};

use crate::text_mode;

/// How a device is opened. Combine with `|`; the bit values are Qt's.
///
/// Qt: `QIODeviceBase::OpenMode`.
///
/// # Examples
///
/// ```
/// use sigloop_core::OpenMode;
///
/// let mode = OpenMode::READ_ONLY | OpenMode::WRITE_ONLY;
/// assert_eq!(mode, OpenMode::READ_WRITE);
/// assert!(mode.contains(OpenMode::WRITE_ONLY));
/// assert_eq!((mode | OpenMode::APPEND).bits(), 0x7);
/// assert_eq!(format!("{:?}", mode | OpenMode::TRUNCATE), "OpenMode(READ_WRITE | TRUNCATE)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OpenMode(u32);

impl OpenMode {
    /// Not open. Qt: `QIODevice::NotOpen` (0x0).
    pub const NOT_OPEN: Self = OpenMode(0x0);
    /// Open for reading. Qt: `QIODevice::ReadOnly` (0x1).
    pub const READ_ONLY: Self = OpenMode(0x1);
    /// Open for writing. Qt: `QIODevice::WriteOnly` (0x2).
    pub const WRITE_ONLY: Self = OpenMode(0x2);
    /// Open for reading and writing. Qt: `QIODevice::ReadWrite` (0x3).
    pub const READ_WRITE: Self = OpenMode(0x3);
    /// Writes go to the end. Qt: `QIODevice::Append` (0x4).
    pub const APPEND: Self = OpenMode(0x4);
    /// Existing contents are dropped on open. Qt: `QIODevice::Truncate` (0x8).
    pub const TRUNCATE: Self = OpenMode(0x8);
    /// Text mode: reads drop `'\r'` and a line's final `"\r\n"` becomes
    /// `"\n"`, as in Qt on Unix (see [`IoDevice`]); writes are unchanged.
    /// Qt: `QIODevice::Text` (0x10).
    pub const TEXT: Self = OpenMode(0x10);
    /// Bypass the device's buffer. Qt: `QIODevice::Unbuffered` (0x20).
    pub const UNBUFFERED: Self = OpenMode(0x20);
    /// Fail if the file exists (files only). Qt: `QIODevice::NewOnly` (0x40).
    pub const NEW_ONLY: Self = OpenMode(0x40);
    /// Fail if the file doesn't exist (files only).
    /// Qt: `QIODevice::ExistingOnly` (0x80).
    pub const EXISTING_ONLY: Self = OpenMode(0x80);

    const NAMES: [(OpenMode, &'static str); 8] = [
        (OpenMode::READ_ONLY, "READ_ONLY"),
        (OpenMode::WRITE_ONLY, "WRITE_ONLY"),
        (OpenMode::APPEND, "APPEND"),
        (OpenMode::TRUNCATE, "TRUNCATE"),
        (OpenMode::TEXT, "TEXT"),
        (OpenMode::UNBUFFERED, "UNBUFFERED"),
        (OpenMode::NEW_ONLY, "NEW_ONLY"),
        (OpenMode::EXISTING_ONLY, "EXISTING_ONLY"),
    ];

    /// The raw bits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::OpenMode::READ_WRITE.bits(), 0x3);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The mode with these bits, unknown bits included.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// assert_eq!(OpenMode::from_bits(0x5), OpenMode::READ_ONLY | OpenMode::APPEND);
    /// ```
    pub const fn from_bits(bits: u32) -> Self {
        OpenMode(bits)
    }

    /// Whether every bit of `other` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// assert!(OpenMode::READ_WRITE.contains(OpenMode::READ_ONLY));
    /// assert!(!OpenMode::READ_ONLY.contains(OpenMode::READ_WRITE));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// assert!(OpenMode::READ_ONLY.intersects(OpenMode::READ_WRITE));
    /// assert!(!OpenMode::READ_ONLY.intersects(OpenMode::WRITE_ONLY));
    /// ```
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// These flags without the bits of `other`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::OpenMode;
    /// assert_eq!(OpenMode::READ_WRITE.without(OpenMode::WRITE_ONLY), OpenMode::READ_ONLY);
    /// ```
    #[must_use]
    pub const fn without(self, other: Self) -> Self {
        OpenMode(self.0 & !other.0)
    }

    /// Whether this is [`NOT_OPEN`](Self::NOT_OPEN).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::OpenMode::NOT_OPEN.is_not_open());
    /// ```
    pub const fn is_not_open(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for OpenMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpenMode(")?;
        if self.0 == 0 {
            return f.write_str("NOT_OPEN)");
        }
        let mut rest = *self;
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            let s = if first { "" } else { " | " };
            first = false;
            f.write_str(s)
        };
        if rest.contains(OpenMode::READ_WRITE) {
            sep(f)?;
            f.write_str("READ_WRITE")?;
            rest = rest.without(OpenMode::READ_WRITE);
        }
        for (flag, name) in OpenMode::NAMES {
            if rest.contains(flag) {
                sep(f)?;
                f.write_str(name)?;
                rest = rest.without(flag);
            }
        }
        if rest.0 != 0 {
            sep(f)?;
            write!(f, "{:#x}", rest.0)?;
        }
        f.write_str(")")
    }
}

impl BitOr for OpenMode {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        OpenMode(self.0 | rhs.0)
    }
}

impl BitOrAssign for OpenMode {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for OpenMode {
    type Output = Self;

    fn bitand(self, rhs: Self) -> Self {
        OpenMode(self.0 & rhs.0)
    }
}

/// Why a device operation failed.
///
/// Qt reports most of these as a `qWarning` and a `-1`/`false`/empty
/// return; sigloop returns them. Each variant names the Qt warning or error
/// string it stands for.
///
/// # Examples
///
/// ```
/// use sigloop_core::{Buffer, DeviceError, IoDevice};
///
/// let buf = Buffer::new();
/// assert_eq!(buf.write(b"x"), Err(DeviceError::NotOpen));
/// assert_eq!(DeviceError::NotOpen.to_string(), "device not open");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceError {
    /// The device is not open. Qt warns
    /// `QIODevice::read (QBuffer): device not open` (or `write`, `peek`…).
    NotOpen,
    /// The device is open, but not for reading. Qt warns
    /// `QIODevice::read (QTcpSocket): WriteOnly device`.
    NotReadable,
    /// The device is open, but not for writing. Qt warns
    /// `QIODevice::write (QBuffer): ReadOnly device`.
    NotWritable,
    /// A write on a socket whose device is open but that is not connected
    /// (for example after a remote close). Qt: `write()` returns -1 with
    /// `UnknownSocketError` and errorString `"Socket is not connected"`.
    NotConnected,
    /// `open` was given neither reading nor writing. Qt warns
    /// `QBuffer::open: Buffer access not specified`.
    AccessNotSpecified,
    /// The operation needs a device that isn't open (for example
    /// [`Buffer::set_data`](crate::Buffer::set_data)). Qt warns
    /// `QBuffer::setData: Buffer is open`.
    AlreadyOpen,
    /// A seek to a position the device can't reach (past the end of a
    /// read-only buffer, or too far to fill). Qt warns
    /// `QBuffer::seek: Invalid pos: <pos>`.
    InvalidSeek {
        /// The requested position.
        pos: u64,
    },
    /// The device's data is lent out (for example to a running
    /// [`Buffer::with_data`](crate::Buffer::with_data) closure) and can't
    /// be changed now. Qt has no equivalent: C++ would simply alias.
    Busy,
    /// An OS-level failure. Qt: `QIODevice::errorString()` set from
    /// `qt_error_string()`.
    Io {
        /// What kind of error.
        kind: io::ErrorKind,
        /// The error's text.
        message: String,
    },
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::NotOpen => f.write_str("device not open"),
            DeviceError::NotReadable => f.write_str("device not open for reading"),
            DeviceError::NotWritable => f.write_str("device not open for writing"),
            DeviceError::NotConnected => f.write_str("Socket is not connected"),
            DeviceError::AccessNotSpecified => f.write_str("access not specified"),
            DeviceError::AlreadyOpen => f.write_str("device is open"),
            DeviceError::InvalidSeek { pos } => write!(f, "Invalid pos: {pos}"),
            DeviceError::Busy => f.write_str("device data is in use"),
            DeviceError::Io { message, .. } => f.write_str(message),
        }
    }
}

impl Error for DeviceError {}

impl From<io::Error> for DeviceError {
    /// Keeps the error's kind and text.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::DeviceError;
    /// let e = DeviceError::from(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe"));
    /// assert_eq!(e, DeviceError::Io { kind: std::io::ErrorKind::BrokenPipe, message: "pipe".into() });
    /// ```
    fn from(err: io::Error) -> Self {
        DeviceError::Io {
            kind: err.kind(),
            message: err.to_string(),
        }
    }
}

impl From<DeviceError> for io::Error {
    /// An `io::Error` with a fitting kind and the same text.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::DeviceError;
    /// let e = std::io::Error::from(DeviceError::NotConnected);
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotConnected);
    /// ```
    fn from(err: DeviceError) -> Self {
        let kind = match &err {
            DeviceError::Io { kind, .. } => *kind,
            DeviceError::NotConnected => io::ErrorKind::NotConnected,
            DeviceError::InvalidSeek { .. } | DeviceError::AccessNotSpecified => {
                io::ErrorKind::InvalidInput
            }
            DeviceError::Busy => io::ErrorKind::WouldBlock,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

/// Bytes [`IoDevice::skip`]'s default implementation reads at a time.
const SKIP_CHUNK: usize = 4096;

/// A readable and/or writable device: Qt's `QIODevice` as a trait, so that
/// `DataStream`, line readers and tests work with sockets and in-memory
/// [`Buffer`](crate::Buffer)s alike.
///
/// Devices are cheap `Clone` handles with interior mutability, so every
/// method takes `&self`. Implementors supply the primitives (reading,
/// peeking, writing, what is available, transactions); the provided methods
/// build Qt's conveniences on them with Qt's rules (`readLine`'s size
/// limit, `canReadLine`, `atEnd`…) and cost O(bytes touched).
///
/// # For implementors
///
/// - Every primitive checks the open mode first, even with an empty
///   buffer: reading a device not open is [`DeviceError::NotOpen`], reading
///   one open only for writing [`DeviceError::NotReadable`], writing one
///   open only for reading [`DeviceError::NotWritable`]. The provided
///   methods rely on `read_into(&mut [])` to report these.
/// - [`bytes_available`](Self::bytes_available) must be exact: the provided
///   `read`, `read_all`, `read_line` and `peek` size their result with it.
///   It is 0 on a device not open for reading.
/// - Transactions follow Qt: not nested; while one is open, reads move a
///   read position but keep the data, a rollback restores it, a commit
///   drops it; `unget_char` does nothing.
/// - Override [`skip`](Self::skip) and
///   [`index_of_newline`](Self::index_of_newline) when the device can do
///   them without copying (both [`ByteQueue`](crate::ByteQueue) and
///   [`Buffer`](crate::Buffer) can), and [`read_raw`](IoDevice::read_raw)
///   when it can hand over memory it already holds.
/// - The primitives (`read_into`, `peek_into`, `read_raw`) see the bytes
///   as they are; the provided `read`, `read_all`, `peek`, `read_line`,
///   `get_char` and `skip` apply [`OpenMode::TEXT`] as Qt's `QIODevice`
///   does on Unix: every `'\r'` is dropped, except inside a line, where
///   only a final `"\r\n"` becomes `"\n"`.
///   [`bytes_available`](IoDevice::bytes_available) stays the raw count.
///
/// The trait is object safe: `&dyn IoDevice` works.
///
/// Qt: `QIODevice`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{Buffer, IoDevice, OpenMode};
///
/// fn lines(dev: &dyn IoDevice) -> Vec<Vec<u8>> {
///     let mut out = Vec::new();
///     while dev.can_read_line() {
///         out.push(dev.read_line(0).unwrap_or_default());
///     }
///     out
/// }
///
/// let buf = Buffer::from_vec(b"one\ntwo\nthr".to_vec());
/// buf.open(OpenMode::READ_ONLY)?;
/// assert_eq!(lines(&buf), [b"one\n".to_vec(), b"two\n".to_vec()]);
/// assert_eq!(buf.read_all()?, b"thr");
/// # Ok::<(), sigloop_core::DeviceError>(())
/// ```
pub trait IoDevice {
    /// The mode the device is open in; [`OpenMode::NOT_OPEN`] when closed.
    /// Qt: `QIODevice::openMode()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// assert_eq!(buf.open_mode(), OpenMode::NOT_OPEN);
    /// buf.open(OpenMode::READ_WRITE)?;
    /// assert_eq!(buf.open_mode(), OpenMode::READ_WRITE);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn open_mode(&self) -> OpenMode;

    /// Reads (consumes) up to `buf.len()` bytes into `buf`, returning how
    /// many; `Ok(0)` when nothing is available. This primitive applies no
    /// [`OpenMode::TEXT`] conversion: use [`read`](Self::read) for that.
    /// Qt: `QIODevice::read(char*, qint64)`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotOpen`] or [`DeviceError::NotReadable`] (checked
    /// even when `buf` is empty); device-specific I/O errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let mut out = [0; 2];
    /// assert_eq!(buf.read_into(&mut out)?, 2);
    /// assert_eq!(&out, b"ab");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError>;

    /// Copies up to `buf.len()` bytes into `buf` without consuming them,
    /// with no [`OpenMode::TEXT`] conversion ([`peek`](Self::peek) applies
    /// it). Qt: `QIODevice::peek(char*, qint64)`.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let mut out = [0; 3];
    /// assert_eq!(buf.peek_into(&mut out)?, 3);
    /// assert_eq!(buf.bytes_available(), 3);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError>;

    /// Writes `data`, returning how many bytes were accepted (buffered
    /// devices accept all of it). Qt: `QIODevice::write()`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotOpen`], [`DeviceError::NotWritable`]; sockets:
    /// [`DeviceError::NotConnected`]; device-specific I/O errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// buf.open(OpenMode::WRITE_ONLY)?;
    /// assert_eq!(buf.write(b"hi")?, 2);
    /// assert_eq!(buf.data(), b"hi");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn write(&self, data: &[u8]) -> Result<usize, DeviceError>;

    /// Writes `data` as [`write`](Self::write) does, but takes the vector:
    /// a buffered device may keep it as it is instead of copying it. The
    /// default implementation calls `write(&data)`; a socket queues a
    /// vector of 512 bytes or more without copying, so forwarding what
    /// [`read_all`](Self::read_all) returned (Qt's
    /// `socket->write(socket->readAll())`, where `QByteArray` is shared,
    /// not copied) copies nothing in user space.
    /// Qt: `QIODevice::write(const QByteArray &)`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// buf.open(OpenMode::WRITE_ONLY)?;
    /// assert_eq!(buf.write_vec(b"hi".to_vec())?, 2);
    /// assert_eq!(buf.data(), b"hi");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn write_vec(&self, data: Vec<u8>) -> Result<usize, DeviceError> {
        self.write(&data)
    }

    /// Bytes that can be read now without blocking; 0 if the device is not
    /// open for reading. Qt: `QIODevice::bytesAvailable()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// assert_eq!(buf.bytes_available(), 0);
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.bytes_available(), 3);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn bytes_available(&self) -> usize;

    /// Puts `c` back so that it is read next (undoes a
    /// [`get_char`](Self::get_char)). Does nothing on a device not open for
    /// reading, or while a transaction is open (Qt 6 warns
    /// `Called while transaction is in progress`). Qt: `QIODevice::ungetChar()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"ab".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// let c = buf.get_char();
    /// assert_eq!(c, Some(b'a'));
    /// buf.unget_char(b'a');
    /// assert_eq!(buf.read_all()?, b"ab");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn unget_char(&self, c: u8);

    /// Starts a read transaction: a point that
    /// [`rollback_transaction`](Self::rollback_transaction) returns to.
    /// Transactions do not nest; starting one while one is open does
    /// nothing (Qt warns `Called while transaction already in progress`).
    /// Qt: `QIODevice::startTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// buf.start_transaction();
    /// assert_eq!(buf.read(2)?, b"ab");
    /// buf.rollback_transaction();
    /// assert_eq!(buf.read_all()?, b"abc");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn start_transaction(&self);

    /// Ends the transaction, keeping what was read as read.
    /// Qt: `QIODevice::commitTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// buf.start_transaction();
    /// buf.read(2)?;
    /// buf.commit_transaction();
    /// assert_eq!(buf.read_all()?, b"c");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn commit_transaction(&self);

    /// Ends the transaction, making what was read during it readable again.
    /// Qt: `QIODevice::rollbackTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// buf.start_transaction();
    /// buf.skip(3)?;
    /// buf.rollback_transaction();
    /// assert_eq!(buf.bytes_available(), 3);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn rollback_transaction(&self);

    /// Whether a transaction is open. Qt: `QIODevice::isTransactionStarted()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice};
    /// let buf = Buffer::new();
    /// assert!(!buf.is_transaction_started());
    /// ```
    fn is_transaction_started(&self) -> bool;

    /// Whether the device is a stream (sockets) rather than random access
    /// ([`Buffer`](crate::Buffer), files). Qt: `QIODevice::isSequential()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice};
    /// assert!(!Buffer::new().is_sequential());
    /// ```
    fn is_sequential(&self) -> bool;

    /// Whether the device is open. Qt: `QIODevice::isOpen()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// assert!(!buf.is_open());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert!(buf.is_open());
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn is_open(&self) -> bool {
        !self.open_mode().is_not_open()
    }

    /// Whether the device is open for reading. Qt: `QIODevice::isReadable()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// buf.open(OpenMode::WRITE_ONLY)?;
    /// assert!(!buf.is_readable());
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn is_readable(&self) -> bool {
        self.open_mode().contains(OpenMode::READ_ONLY)
    }

    /// Whether the device is open for writing. Qt: `QIODevice::isWritable()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// buf.open(OpenMode::WRITE_ONLY)?;
    /// assert!(buf.is_writable());
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn is_writable(&self) -> bool {
        self.open_mode().contains(OpenMode::WRITE_ONLY)
    }

    /// Bytes written but not yet handed to the OS; 0 for unbuffered
    /// devices (the default). Qt: `QIODevice::bytesToWrite()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice};
    /// assert_eq!(Buffer::new().bytes_to_write(), 0);
    /// ```
    fn bytes_to_write(&self) -> usize {
        0
    }

    /// Reads (consumes) up to `max` bytes as the device holds them, with
    /// no [`OpenMode::TEXT`] conversion: the primitive that
    /// [`read`](Self::read) and [`read_line`](Self::read_line) build on.
    /// The default copies through [`read_into`](Self::read_into) and
    /// allocates only what is returned; a device that already holds the
    /// bytes in a vector may hand it over instead.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"a\r\n".to_vec());
    /// buf.open(OpenMode::READ_ONLY | OpenMode::TEXT)?;
    /// assert_eq!(buf.read_raw(8)?, b"a\r\n");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn read_raw(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        let mut out = vec![0; max.min(self.bytes_available())];
        let n = self.read_into(&mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// Reads (consumes) up to `max` bytes; an empty vector when nothing is
    /// available. In [`OpenMode::TEXT`] every `'\r'` is dropped and the
    /// read goes on until `max` bytes are returned or nothing is left, so
    /// more than `max` bytes may be consumed.
    /// Qt: `QIODevice::read(qint64 maxSize)`.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.read(2)?, b"ab");
    /// assert_eq!(buf.read(2)?, b"c");
    /// assert_eq!(buf.read(2)?, b"");
    ///
    /// let text = Buffer::from_vec(b"a\r\nb\rc".to_vec());
    /// text.open(OpenMode::READ_ONLY | OpenMode::TEXT)?;
    /// assert_eq!(text.read(3)?, b"a\nb");
    /// assert_eq!(text.read(3)?, b"c");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn read(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        let mut out = self.read_raw(max)?;
        if !self.open_mode().contains(OpenMode::TEXT) {
            return Ok(out);
        }
        let mut raw = out.len();
        text_mode::strip_cr(&mut out);
        // Go on only while dropped '\r's left room: a chunk that lost
        // nothing was all there was (or a whole datagram).
        while out.len() < max && raw > out.len() && self.bytes_available() > 0 {
            let before = out.len();
            let mut more = self.read_raw(max - before)?;
            if more.is_empty() {
                break;
            }
            raw = before + more.len();
            text_mode::strip_cr(&mut more);
            out.append(&mut more);
        }
        Ok(out)
    }

    /// Reads (consumes) everything available. For a socket that is what is
    /// buffered, not "until the peer closes". Qt: `QIODevice::readAll()`.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// buf.get_char();
    /// assert_eq!(buf.read_all()?, b"bc");
    /// assert!(buf.at_end());
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn read_all(&self) -> Result<Vec<u8>, DeviceError> {
        self.read(usize::MAX)
    }

    /// Reads one line: up to and including the first `'\n'`, with Qt's
    /// size rule. `max == 0` means no limit; otherwise at most `max - 1`
    /// bytes are returned (Qt's `QByteArray readLine(qint64 maxSize)` keeps
    /// a byte for the C terminator of its `char*` form), so `read_line(5)`
    /// on `"hello\n"` gives `"hell"` and leaves `"o\n"`. Without a `'\n'`
    /// within the limit it returns what is available up to the limit. The
    /// `'\n'` is included when it falls within the limit.
    /// `read_line(1)` returns nothing (Qt warns `Called with maxSize < 2`).
    /// In [`OpenMode::TEXT`] a final `"\r\n"` becomes `"\n"`; the limit
    /// counts the bytes as they arrived.
    ///
    /// Cost: one search ([`index_of_newline`](Self::index_of_newline)) and
    /// one read; O(line length).
    /// Qt: `QIODevice::readLine(qint64 maxSize = 0)`.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"hello\nworld".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.read_line(5)?, b"hell");
    /// assert_eq!(buf.read_line(0)?, b"o\n");
    /// assert_eq!(buf.read_line(0)?, b"world");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn read_line(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        let limit = match max {
            0 => usize::MAX,
            1 => {
                log::warn!("QIODevice::readLine: Called with maxSize < 2");
                0
            }
            m => m - 1,
        };
        let window = limit.min(self.bytes_available());
        let n = self.index_of_newline(window).map_or(window, |i| i + 1);
        let mut line = self.read_raw(n)?;
        if self.open_mode().contains(OpenMode::TEXT) {
            text_mode::fix_line_end(&mut line);
        }
        Ok(line)
    }

    /// Whether a whole line can be read: a `'\n'` is among the available
    /// bytes. False on a device not open for reading.
    /// Qt: `QIODevice::canReadLine()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"ab\ncd".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert!(buf.can_read_line());
    /// buf.read_line(0)?;
    /// assert!(!buf.can_read_line());
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn can_read_line(&self) -> bool {
        self.is_readable() && self.index_of_newline(self.bytes_available()).is_some()
    }

    /// Offset of the first `'\n'` among the next `max` available bytes,
    /// without consuming anything; `None` if there is none (or the device
    /// can't be read). The default peeks `max` bytes and searches them;
    /// devices with direct access to their data override it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"ab\ncd".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.index_of_newline(10), Some(2));
    /// assert_eq!(buf.index_of_newline(2), None);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn index_of_newline(&self, max: usize) -> Option<usize> {
        let data = self.peek(max).ok()?;
        data.iter().position(|&b| b == b'\n')
    }

    /// Copies up to `max` bytes without consuming them; in
    /// [`OpenMode::TEXT`] without the `'\r'`s, as [`read`](Self::read)
    /// would return them. Qt: `QIODevice::peek(qint64 maxSize)`.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.peek(2)?, b"ab");
    /// assert_eq!(buf.read_all()?, b"abc");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn peek(&self, max: usize) -> Result<Vec<u8>, DeviceError> {
        let text = self.open_mode().contains(OpenMode::TEXT);
        let available = self.bytes_available();
        let mut window = max.min(available);
        loop {
            let mut out = vec![0; window];
            let n = self.peek_into(&mut out)?;
            out.truncate(n);
            if !text {
                return Ok(out);
            }
            let visible = text_mode::visible_len(&out);
            if visible >= max || n < window || window == available {
                text_mode::strip_cr(&mut out);
                out.truncate(max);
                return Ok(out);
            }
            // Dropped '\r's left room: look further, at least doubling.
            window = available.min(window.saturating_add((max - visible).max(window)));
        }
    }

    /// Reads one byte; `None` if nothing is available or the device can't
    /// be read. In [`OpenMode::TEXT`], `'\r'` bytes are skipped.
    /// Qt: `QIODevice::getChar()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"a".to_vec());
    /// assert_eq!(buf.get_char(), None); // not open
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.get_char(), Some(b'a'));
    /// assert_eq!(buf.get_char(), None);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn get_char(&self) -> Option<u8> {
        let text = self.open_mode().contains(OpenMode::TEXT);
        let mut c = [0];
        loop {
            match self.read_into(&mut c) {
                // Text mode skips '\r', as `read` drops it.
                Ok(1) if text && c[0] == b'\r' => continue,
                Ok(1) => return Some(c[0]),
                _ => return None,
            }
        }
    }

    /// Writes one byte. Qt: `QIODevice::putChar()`.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); an [`io::ErrorKind::WriteZero`]
    /// [`DeviceError::Io`] if the device accepted nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// buf.open(OpenMode::WRITE_ONLY)?;
    /// buf.put_char(b'x')?;
    /// assert_eq!(buf.data(), b"x");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn put_char(&self, c: u8) -> Result<(), DeviceError> {
        match self.write(&[c])? {
            0 => Err(DeviceError::Io {
                kind: io::ErrorKind::WriteZero,
                message: "failed to write the byte".into(),
            }),
            _ => Ok(()),
        }
    }

    /// Discards up to `n` available bytes, returning how many; never waits
    /// for more. Inside a transaction the bytes come back on rollback.
    /// In [`OpenMode::TEXT`] it discards what [`read(n)`](Self::read) would
    /// return and counts those bytes, as Qt does.
    /// The default reads into a scratch buffer; devices override it.
    /// Qt: `QIODevice::skip()`.
    ///
    /// # Errors
    ///
    /// As [`read_into`](Self::read_into).
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abcdef".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.skip(4)?, 4);
    /// assert_eq!(buf.skip(4)?, 2);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn skip(&self, n: usize) -> Result<usize, DeviceError> {
        if self.open_mode().contains(OpenMode::TEXT) {
            return Ok(self.read(n)?.len());
        }
        let mut scratch = [0; SKIP_CHUNK];
        self.read_into(&mut [])?;
        let mut done = 0;
        while done < n {
            let want = (n - done).min(SKIP_CHUNK);
            let got = self.read_into(&mut scratch[..want])?;
            if got == 0 {
                break;
            }
            done += got;
        }
        Ok(done)
    }

    /// Whether nothing more can be read now: true if the device is not
    /// open or has nothing available. For a socket this is not an end of
    /// stream test: it is true whenever nothing is buffered, even while
    /// connected. For a random-access device it means the position is at
    /// the end. Qt: `QIODevice::atEnd()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"a".to_vec());
    /// assert!(buf.at_end()); // not open
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert!(!buf.at_end());
    /// buf.get_char();
    /// assert!(buf.at_end());
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    fn at_end(&self) -> bool {
        !self.is_open() || self.bytes_available() == 0
    }
}
