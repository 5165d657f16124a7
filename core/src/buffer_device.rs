//! `Buffer` (Qt: `QBuffer`): an in-memory, random-access [`IoDevice`].

use std::cell::{Cell, Ref, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;

use crate::io_device::{DeviceError, IoDevice, OpenMode};

/// An [`IoDevice`] over a `Vec<u8>` in memory.
///
/// A `Buffer` is a cheap `Clone` handle; clones share the bytes, the
/// position and the open mode. It is random access (not sequential): reads
/// start at [`pos`](Self::pos) and advance it, writes overwrite at `pos`
/// and extend the data past its end, [`seek`](Self::seek) moves `pos`.
/// Transactions save and restore the position. Closing keeps the data.
///
/// Differences from Qt: there are no `readyRead`/`bytesWritten` signals
/// (yet), and the open mode is reported as given (Qt's `QBuffer` adds
/// `Unbuffered` to it).
///
/// Qt: `QBuffer`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{Buffer, IoDevice, OpenMode};
///
/// let buf = Buffer::new();
/// buf.open(OpenMode::READ_WRITE)?;
/// buf.write(b"hello\nworld\n")?;
/// buf.seek(0)?;
/// assert_eq!(buf.read_line(0)?, b"hello\n");
/// assert_eq!(buf.pos(), 6);
/// buf.close();
/// assert_eq!(buf.data(), b"hello\nworld\n");
/// # Ok::<(), sigloop_core::DeviceError>(())
/// ```
#[derive(Clone, Default)]
pub struct Buffer {
    inner: Rc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Borrowed mutably only inside this module's methods, never while user
    /// code runs, so shared borrows cannot fail; shared borrows can be held
    /// by `with_data` closures, so mutable borrows use `try_borrow_mut`.
    data: RefCell<Vec<u8>>,
    pos: Cell<usize>,
    mode: Cell<OpenMode>,
    /// The position saved by `start_transaction`.
    txn: Cell<Option<usize>>,
}

impl Buffer {
    /// An empty, closed buffer. Qt: `QBuffer::QBuffer()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice};
    /// let buf = Buffer::new();
    /// assert_eq!(buf.size(), 0);
    /// assert!(!buf.is_open());
    /// ```
    pub fn new() -> Self {
        Buffer::default()
    }

    /// A closed buffer holding `data` (not copied).
    /// Qt: `QBuffer::QBuffer(QByteArray *)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let buf = sigloop_core::Buffer::from_vec(b"abc".to_vec());
    /// assert_eq!(buf.size(), 3);
    /// ```
    pub fn from_vec(data: Vec<u8>) -> Self {
        let buf = Buffer::new();
        *buf.inner.data.borrow_mut() = data;
        buf
    }

    /// Opens the buffer. [`OpenMode::APPEND`] and [`OpenMode::TRUNCATE`]
    /// imply [`OpenMode::WRITE_ONLY`]; `TRUNCATE` empties the data;
    /// `APPEND` puts the position at the end (otherwise it is 0). Opening
    /// an open buffer reopens it. Any transaction ends.
    /// Qt: `QBuffer::open()`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::AccessNotSpecified`] if `mode` has neither
    /// `READ_ONLY` nor `WRITE_ONLY` (after the implications above);
    /// [`DeviceError::Busy`] for `TRUNCATE` inside a
    /// [`with_data`](Self::with_data) closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DeviceError, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// assert_eq!(buf.open(OpenMode::TEXT), Err(DeviceError::AccessNotSpecified));
    /// buf.open(OpenMode::APPEND)?;
    /// assert_eq!(buf.open_mode(), OpenMode::WRITE_ONLY | OpenMode::APPEND);
    /// buf.write(b"d")?;
    /// assert_eq!(buf.data(), b"abcd");
    /// buf.open(OpenMode::READ_WRITE | OpenMode::TRUNCATE)?;
    /// assert_eq!(buf.size(), 0);
    /// # Ok::<(), DeviceError>(())
    /// ```
    pub fn open(&self, mode: OpenMode) -> Result<(), DeviceError> {
        let mut mode = mode;
        if mode.intersects(OpenMode::APPEND | OpenMode::TRUNCATE) {
            mode |= OpenMode::WRITE_ONLY;
        }
        if !mode.intersects(OpenMode::READ_WRITE) {
            log::warn!("QBuffer::open: Buffer access not specified");
            return Err(DeviceError::AccessNotSpecified);
        }
        let inner = &self.inner;
        if mode.contains(OpenMode::TRUNCATE) {
            inner.data_mut()?.clear();
        }
        let pos = if mode.contains(OpenMode::APPEND) {
            inner.len()
        } else {
            0
        };
        inner.pos.set(pos);
        inner.txn.set(None);
        inner.mode.set(mode);
        Ok(())
    }

    /// Closes the buffer, keeping its data; the position goes back to 0 and
    /// any transaction ends. Qt: `QIODevice::close()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::new();
    /// buf.open(OpenMode::WRITE_ONLY)?;
    /// buf.write(b"kept")?;
    /// buf.close();
    /// assert!(!buf.is_open());
    /// assert_eq!(buf.data(), b"kept");
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn close(&self) {
        self.inner.mode.set(OpenMode::NOT_OPEN);
        self.inner.pos.set(0);
        self.inner.txn.set(None);
    }

    /// A copy of the whole data, whatever the position or mode.
    /// Qt: `QBuffer::data()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let buf = sigloop_core::Buffer::from_vec(b"abc".to_vec());
    /// assert_eq!(buf.data(), b"abc");
    /// ```
    pub fn data(&self) -> Vec<u8> {
        self.inner.data().clone()
    }

    /// Calls `f` with the whole data, without copying it, and returns what
    /// `f` returns. While `f` runs the data is lent out: reading this
    /// buffer works, but calls that change its bytes (writing, `set_data`,
    /// truncating, seeking past the end) fail with [`DeviceError::Busy`].
    /// Qt: `QBuffer::data()` / `buffer()` (a reference).
    ///
    /// # Examples
    ///
    /// ```
    /// let buf = sigloop_core::Buffer::from_vec(b"a\nb\n".to_vec());
    /// let lines = buf.with_data(|d| d.iter().filter(|&&b| b == b'\n').count());
    /// assert_eq!(lines, 2);
    /// ```
    pub fn with_data<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        f(&self.inner.data())
    }

    /// Replaces the data. Only allowed while the buffer is closed.
    /// Qt: `QBuffer::setData()`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::AlreadyOpen`] if the buffer is open (Qt warns
    /// `QBuffer::setData: Buffer is open` and ignores the call);
    /// [`DeviceError::Busy`] inside a [`with_data`](Self::with_data) closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DeviceError, OpenMode};
    /// let buf = Buffer::new();
    /// buf.set_data(b"new".to_vec())?;
    /// assert_eq!(buf.data(), b"new");
    /// buf.open(OpenMode::READ_ONLY)?;
    /// assert_eq!(buf.set_data(Vec::new()), Err(DeviceError::AlreadyOpen));
    /// # Ok::<(), DeviceError>(())
    /// ```
    pub fn set_data(&self, data: Vec<u8>) -> Result<(), DeviceError> {
        if !self.inner.mode.get().is_not_open() {
            log::warn!("QBuffer::setData: Buffer is open");
            return Err(DeviceError::AlreadyOpen);
        }
        *self.inner.data_mut()? = data;
        self.inner.pos.set(0);
        Ok(())
    }

    /// The position: where the next read or write happens.
    /// Qt: `QIODevice::pos()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// buf.skip(2)?;
    /// assert_eq!(buf.pos(), 2);
    /// # Ok::<(), sigloop_core::DeviceError>(())
    /// ```
    pub fn pos(&self) -> u64 {
        self.inner.pos.get() as u64
    }

    /// Moves the position to `pos`. Past the end, a writable buffer is
    /// extended with zero bytes up to `pos` (as in Qt).
    /// Qt: `QBuffer::seek()`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::NotOpen`] if closed (Qt warns `The device is not
    /// open`); [`DeviceError::InvalidSeek`] past the end of a read-only
    /// buffer, or if the gap can't be allocated (Qt warns `Invalid pos` /
    /// `Unable to fill gap`); [`DeviceError::Busy`] when it would extend
    /// the data inside a [`with_data`](Self::with_data) closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::{Buffer, DeviceError, IoDevice, OpenMode};
    /// let buf = Buffer::from_vec(b"abc".to_vec());
    /// buf.open(OpenMode::READ_ONLY)?;
    /// buf.seek(1)?;
    /// assert_eq!(buf.read_all()?, b"bc");
    /// assert_eq!(buf.seek(9), Err(DeviceError::InvalidSeek { pos: 9 }));
    /// buf.open(OpenMode::READ_WRITE)?;
    /// buf.seek(5)?;
    /// assert_eq!(buf.data(), b"abc\0\0");
    /// # Ok::<(), DeviceError>(())
    /// ```
    pub fn seek(&self, pos: u64) -> Result<(), DeviceError> {
        let inner = &self.inner;
        let mode = inner.mode.get();
        if mode.is_not_open() {
            log::warn!("QIODevice::seek (QBuffer): The device is not open");
            return Err(DeviceError::NotOpen);
        }
        let invalid = || {
            log::warn!("QBuffer::seek: Invalid pos: {pos}");
            DeviceError::InvalidSeek { pos }
        };
        let target = usize::try_from(pos).map_err(|_| invalid())?;
        let len = inner.len();
        if target > len {
            if !mode.contains(OpenMode::WRITE_ONLY) {
                return Err(invalid());
            }
            let mut data = inner.data_mut()?;
            if data.try_reserve_exact(target - len).is_err() {
                log::warn!("QBuffer::seek: Unable to fill gap");
                return Err(DeviceError::InvalidSeek { pos });
            }
            data.resize(target, 0);
        }
        inner.pos.set(target);
        Ok(())
    }

    /// The size of the data, whatever the position or mode.
    /// Qt: `QBuffer::size()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::Buffer::from_vec(vec![0; 5]).size(), 5);
    /// ```
    pub fn size(&self) -> u64 {
        self.inner.len() as u64
    }
}

impl Inner {
    fn data(&self) -> Ref<'_, Vec<u8>> {
        // Never fails: mutable borrows are only held inside this module's
        // methods, which run no user code meanwhile.
        self.data.borrow()
    }

    fn data_mut(&self) -> Result<std::cell::RefMut<'_, Vec<u8>>, DeviceError> {
        self.data.try_borrow_mut().map_err(|_| DeviceError::Busy)
    }

    fn len(&self) -> usize {
        self.data().len()
    }

    fn check_readable(&self) -> Result<(), DeviceError> {
        let mode = self.mode.get();
        if mode.is_not_open() {
            Err(DeviceError::NotOpen)
        } else if !mode.contains(OpenMode::READ_ONLY) {
            Err(DeviceError::NotReadable)
        } else {
            Ok(())
        }
    }

    /// Bytes from the position to the end.
    fn remaining(&self) -> usize {
        self.len().saturating_sub(self.pos.get())
    }
}

impl IoDevice for Buffer {
    fn open_mode(&self) -> OpenMode {
        self.inner.mode.get()
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        let n = self.peek_into(buf)?;
        let inner = &self.inner;
        inner.pos.set(inner.pos.get() + n);
        Ok(n)
    }

    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        let inner = &self.inner;
        inner.check_readable()?;
        let data = inner.data();
        let rest = data.get(inner.pos.get()..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn write(&self, bytes: &[u8]) -> Result<usize, DeviceError> {
        let inner = &self.inner;
        let mode = inner.mode.get();
        if mode.is_not_open() {
            return Err(DeviceError::NotOpen);
        }
        if !mode.contains(OpenMode::WRITE_ONLY) {
            return Err(DeviceError::NotWritable);
        }
        let mut data = inner.data_mut()?;
        let pos = inner.pos.get().min(data.len());
        let overlap = (data.len() - pos).min(bytes.len());
        let extra = bytes.len() - overlap;
        if data.try_reserve(extra).is_err() {
            log::warn!("QBuffer::writeData: Memory allocation error");
            return Err(DeviceError::Io {
                kind: io::ErrorKind::OutOfMemory,
                message: "Memory allocation error".into(),
            });
        }
        data[pos..pos + overlap].copy_from_slice(&bytes[..overlap]);
        data.extend_from_slice(&bytes[overlap..]);
        inner.pos.set(pos + bytes.len());
        Ok(bytes.len())
    }

    fn bytes_available(&self) -> usize {
        match self.inner.check_readable() {
            Ok(()) => self.inner.remaining(),
            Err(_) => 0,
        }
    }

    /// Moves the position back by one, unless it is 0. The byte is not
    /// written: the buffer reads back its own byte, which is `c` whenever
    /// `c` is the byte just read (Qt leaves any other case undefined).
    /// Does nothing if not readable or during a transaction.
    fn unget_char(&self, _c: u8) {
        let inner = &self.inner;
        if inner.check_readable().is_err() {
            return;
        }
        if inner.txn.get().is_some() {
            log::warn!("QIODevice::ungetChar (QBuffer): Called while transaction is in progress");
            return;
        }
        inner.pos.set(inner.pos.get().saturating_sub(1));
    }

    fn start_transaction(&self) {
        let inner = &self.inner;
        if inner.txn.get().is_some() {
            log::warn!(
                "QIODevice::startTransaction (QBuffer): Called while transaction already in progress"
            );
            return;
        }
        inner.txn.set(Some(inner.pos.get()));
    }

    fn commit_transaction(&self) {
        if self.inner.txn.take().is_none() {
            log::warn!(
                "QIODevice::commitTransaction (QBuffer): Called while no transaction in progress"
            );
        }
    }

    fn rollback_transaction(&self) {
        let inner = &self.inner;
        match inner.txn.take() {
            Some(pos) => inner.pos.set(pos.min(inner.len())),
            None => log::warn!(
                "QIODevice::rollbackTransaction (QBuffer): Called while no transaction in progress"
            ),
        }
    }

    fn is_transaction_started(&self) -> bool {
        self.inner.txn.get().is_some()
    }

    fn is_sequential(&self) -> bool {
        false
    }

    /// Moves the position; no copying (in text mode, reads as the trait's
    /// `skip` does).
    fn skip(&self, n: usize) -> Result<usize, DeviceError> {
        let inner = &self.inner;
        inner.check_readable()?;
        if inner.mode.get().contains(OpenMode::TEXT) {
            return Ok(self.read(n)?.len());
        }
        let n = n.min(inner.remaining());
        inner.pos.set(inner.pos.get() + n);
        Ok(n)
    }

    /// Searches the data in place.
    fn index_of_newline(&self, max: usize) -> Option<usize> {
        let inner = &self.inner;
        inner.check_readable().ok()?;
        let data = inner.data();
        let rest = data.get(inner.pos.get()..)?;
        rest[..rest.len().min(max)].iter().position(|&b| b == b'\n')
    }
}

impl fmt::Debug for Buffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("mode", &self.inner.mode.get())
            .field("pos", &self.inner.pos.get())
            .field("size", &self.inner.len())
            .field("transaction", &self.inner.txn.get())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_data_blocks_mutation_without_panicking() {
        let buf = Buffer::from_vec(b"abc".to_vec());
        buf.open(OpenMode::READ_WRITE).ok();
        buf.with_data(|d| {
            assert_eq!(d, b"abc");
            assert_eq!(buf.read(1), Ok(b"a".to_vec()));
            assert_eq!(buf.write(b"x"), Err(DeviceError::Busy));
            assert_eq!(buf.seek(10), Err(DeviceError::Busy));
            assert_eq!(
                buf.open(OpenMode::WRITE_ONLY | OpenMode::TRUNCATE),
                Err(DeviceError::Busy)
            );
            buf.close();
            assert_eq!(buf.set_data(Vec::new()), Err(DeviceError::Busy));
        });
        assert_eq!(buf.data(), b"abc");
    }

    #[test]
    fn huge_seek_is_an_error_not_an_abort() {
        let buf = Buffer::new();
        buf.open(OpenMode::READ_WRITE).ok();
        assert_eq!(
            buf.seek(u64::MAX),
            Err(DeviceError::InvalidSeek { pos: u64::MAX })
        );
        // A position that fits a usize but no Vec can hold (the limit is
        // isize::MAX bytes), on 32- and 64-bit targets alike.
        let far = isize::MAX as u64 + 1;
        assert_eq!(buf.seek(far), Err(DeviceError::InvalidSeek { pos: far }));
        assert_eq!(buf.size(), 0);
    }
}
