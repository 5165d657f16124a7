//! The in-memory devices behind [`DataStream::reader`] and
//! [`DataStream::writer`]: a read-only device over a borrowed slice and an
//! appending write-only device over a borrowed `Vec<u8>`.
//!
//! [`DataStream::reader`]: super::DataStream::reader
//! [`DataStream::writer`]: super::DataStream::writer

use std::cell::{Cell, RefCell};
use std::io;

use crate::io_device::{DeviceError, IoDevice, OpenMode};

/// A random-access, read-only device over `&[u8]` (Qt: a `QBuffer` opened
/// `ReadOnly` on a `const QByteArray&`). Transactions save the position.
pub(super) struct SliceDevice<'a> {
    data: &'a [u8],
    pos: Cell<usize>,
    txn: Cell<Option<usize>>,
}

impl<'a> SliceDevice<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        SliceDevice {
            data,
            pos: Cell::new(0),
            txn: Cell::new(None),
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos.get()..).unwrap_or(&[])
    }
}

impl IoDevice for SliceDevice<'_> {
    fn open_mode(&self) -> OpenMode {
        OpenMode::READ_ONLY
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        let n = self.peek_into(buf)?;
        self.pos.set(self.pos.get() + n);
        Ok(n)
    }

    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        let rest = self.rest();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn write(&self, _data: &[u8]) -> Result<usize, DeviceError> {
        Err(DeviceError::NotWritable)
    }

    fn bytes_available(&self) -> usize {
        self.rest().len()
    }

    fn unget_char(&self, _c: u8) {
        if self.txn.get().is_none() {
            self.pos.set(self.pos.get().saturating_sub(1));
        }
    }

    fn start_transaction(&self) {
        if self.txn.get().is_none() {
            self.txn.set(Some(self.pos.get()));
        }
    }

    fn commit_transaction(&self) {
        self.txn.set(None);
    }

    fn rollback_transaction(&self) {
        if let Some(pos) = self.txn.take() {
            self.pos.set(pos);
        }
    }

    fn is_transaction_started(&self) -> bool {
        self.txn.get().is_some()
    }

    fn is_sequential(&self) -> bool {
        false
    }

    fn skip(&self, n: usize) -> Result<usize, DeviceError> {
        let n = n.min(self.rest().len());
        self.pos.set(self.pos.get() + n);
        Ok(n)
    }
}

/// A write-only device appending to a borrowed `Vec<u8>` (Qt: a `QBuffer`
/// opened `WriteOnly | Append` on a `QByteArray*`).
pub(super) struct VecDevice<'a> {
    data: RefCell<&'a mut Vec<u8>>,
    txn: Cell<bool>,
}

impl<'a> VecDevice<'a> {
    pub(super) fn new(data: &'a mut Vec<u8>) -> Self {
        VecDevice {
            data: RefCell::new(data),
            txn: Cell::new(false),
        }
    }
}

impl IoDevice for VecDevice<'_> {
    fn open_mode(&self) -> OpenMode {
        OpenMode::WRITE_ONLY | OpenMode::APPEND
    }

    fn read_into(&self, _buf: &mut [u8]) -> Result<usize, DeviceError> {
        Err(DeviceError::NotReadable)
    }

    fn peek_into(&self, _buf: &mut [u8]) -> Result<usize, DeviceError> {
        Err(DeviceError::NotReadable)
    }

    fn write(&self, bytes: &[u8]) -> Result<usize, DeviceError> {
        // Never borrowed elsewhere: no user code runs while this is held.
        let mut data = self.data.borrow_mut();
        if data.try_reserve(bytes.len()).is_err() {
            return Err(DeviceError::Io {
                kind: io::ErrorKind::OutOfMemory,
                message: "Memory allocation error".into(),
            });
        }
        data.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn bytes_available(&self) -> usize {
        0
    }

    fn unget_char(&self, _c: u8) {}

    fn start_transaction(&self) {
        self.txn.set(true);
    }

    fn commit_transaction(&self) {
        self.txn.set(false);
    }

    fn rollback_transaction(&self) {
        self.txn.set(false);
    }

    fn is_transaction_started(&self) -> bool {
        self.txn.get()
    }

    fn is_sequential(&self) -> bool {
        false
    }
}
