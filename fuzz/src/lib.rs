//! Helpers shared by the fuzz targets: a cursor that turns the fuzzer's
//! bytes into choices, a sequential device over a [`ByteQueue`] that
//! reads the way a socket does, and an allocator that makes any single
//! huge allocation a crash.

// Only `CappedAlloc` needs unsafe (a `GlobalAlloc` impl).
#![deny(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::RefCell;

use sigloop::{ByteQueue, DeviceError, IoDevice, OpenMode};

/// The fuzzer's input, consumed front to back as choices. Past the end
/// every choice is zero, so any input is a complete program.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// A cursor over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    /// Whether every byte has been used.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, or 0.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes as a little-endian `u16`.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// The next four bytes as a little-endian `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A size in `0..=max`, mostly small: one byte below 0xf0 is taken as
    /// is, above it two more bytes follow (so odd sizes stay reachable).
    pub fn size(&mut self, max: usize) -> usize {
        let b = self.byte();
        let n = if b < 0xf0 {
            usize::from(b)
        } else {
            usize::from(self.u16())
        };
        n.min(max)
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}

/// A sequential, read-only device whose bytes arrive in pieces: the read
/// side of a socket (a [`ByteQueue`], as `TcpSocket` keeps), without the
/// socket. [`deliver`](Self::deliver) plays the kernel. It overrides the
/// same trait methods `TcpSocket` does, so the defaults (`skip`,
/// `read_line`, `peek`...) run the same code as on a socket.
#[derive(Default)]
pub struct QueueDevice {
    queue: RefCell<ByteQueue>,
}

impl QueueDevice {
    /// An empty device.
    pub fn new() -> Self {
        QueueDevice::default()
    }

    /// Bytes "arrive from the network".
    pub fn deliver(&self, bytes: &[u8]) {
        self.queue.borrow_mut().append(bytes);
    }
}

impl IoDevice for QueueDevice {
    fn open_mode(&self) -> OpenMode {
        OpenMode::READ_ONLY
    }

    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        Ok(self.queue.borrow_mut().read_into(buf))
    }

    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        Ok(self.queue.borrow().peek_into(buf))
    }

    fn write(&self, _data: &[u8]) -> Result<usize, DeviceError> {
        Err(DeviceError::NotWritable)
    }

    fn bytes_available(&self) -> usize {
        self.queue.borrow().len()
    }

    fn unget_char(&self, c: u8) {
        self.queue.borrow_mut().unget(c);
    }

    fn start_transaction(&self) {
        self.queue.borrow_mut().start_transaction();
    }

    fn commit_transaction(&self) {
        self.queue.borrow_mut().commit_transaction();
    }

    fn rollback_transaction(&self) {
        self.queue.borrow_mut().rollback_transaction();
    }

    fn is_transaction_started(&self) -> bool {
        self.queue.borrow().is_transaction_started()
    }

    fn is_sequential(&self) -> bool {
        true
    }

    fn index_of_newline(&self, max: usize) -> Option<usize> {
        self.queue.borrow().index_of(b'\n', max)
    }
}

/// The largest single allocation a target may make. A size read from the
/// input must never be allocated up front (memory has to follow the bytes
/// really there); inputs are at most a few KiB, and the targets' own
/// buffers stay below 1 MiB.
pub const ALLOCATION_LIMIT: usize = 64 << 20;

/// The system allocator, except that an allocation above
/// [`ALLOCATION_LIMIT`] fails, which aborts the process: libFuzzer reports
/// it as a crash with the input. (libFuzzer's own `-malloc_limit_mb`
/// needs a sanitizer's hooks; the safe-code targets run without one.)
pub struct CappedAlloc;

#[allow(unsafe_code)]
// SAFETY: every call is forwarded unchanged to `System`, or fails with a
// null pointer, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOCATION_LIMIT {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}
