//! The `IoDevice` trait's provided methods (Qt's `QIODevice` rules), on
//! the in-memory `Buffer` and on a sequential test device built on
//! `ByteQueue`.

use std::cell::RefCell;

use sigloop::{Buffer, ByteQueue, DeviceError, IoDevice, OpenMode};

fn open_ro(data: &[u8]) -> Buffer {
    let buf = Buffer::from_vec(data.to_vec());
    buf.open(OpenMode::READ_ONLY).expect("open");
    buf
}

#[test]
fn read_line_max_rule() {
    // Qt's QByteArray readLine(maxSize): at most maxSize - 1 bytes.
    let buf = open_ro(b"hello\nworld");
    assert_eq!(buf.read_line(5).unwrap(), b"hell");
    assert_eq!(buf.read_line(5).unwrap(), b"o\n");
    assert_eq!(
        buf.read_line(0).unwrap(),
        b"world",
        "no '\\n': what is left"
    );
    assert_eq!(buf.read_line(0).unwrap(), b"");

    // The '\n' is included when it falls within the limit.
    let buf = open_ro(b"hello\nworld");
    assert_eq!(buf.read_line(7).unwrap(), b"hello\n");
    let buf = open_ro(b"hello\nworld");
    assert_eq!(buf.read_line(6).unwrap(), b"hello");
    assert_eq!(buf.read_line(6).unwrap(), b"\n");
    // Without a '\n', the limit still applies.
    assert_eq!(buf.read_line(3).unwrap(), b"wo");
    assert_eq!(buf.read_line(100).unwrap(), b"rld");

    // maxSize 1 leaves room for nothing; 0 is unlimited.
    let buf = open_ro(b"hello\nworld");
    assert_eq!(buf.read_line(1).unwrap(), b"");
    assert_eq!(buf.read_line(0).unwrap(), b"hello\n");

    // Empty lines.
    let buf = open_ro(b"\n\nx");
    assert_eq!(buf.read_line(0).unwrap(), b"\n");
    assert_eq!(buf.read_line(2).unwrap(), b"\n");
    assert_eq!(buf.read_line(0).unwrap(), b"x");
}

#[test]
fn long_line_is_linear() {
    // 1 MiB without a newline, then a newline: one search, one copy.
    let mut data = vec![b'a'; 1 << 20];
    data.push(b'\n');
    data.extend_from_slice(b"tail");
    let buf = open_ro(&data);
    assert!(buf.can_read_line());
    assert_eq!(buf.read_line(0).unwrap().len(), (1 << 20) + 1);
    assert!(!buf.can_read_line());
    assert_eq!(buf.read_all().unwrap(), b"tail");
}

#[test]
fn can_read_line() {
    let buf = open_ro(b"ab\ncd");
    assert!(buf.can_read_line());
    buf.read_line(0).unwrap();
    assert!(!buf.can_read_line(), "\"cd\" has no newline");
    assert_eq!(buf.bytes_available(), 2);

    let closed = Buffer::from_vec(b"a\n".to_vec());
    assert!(!closed.can_read_line());
    closed.open(OpenMode::WRITE_ONLY).unwrap();
    assert!(!closed.can_read_line(), "not readable");
}

#[test]
fn read_and_read_all() {
    let buf = open_ro(b"abcdef");
    assert_eq!(buf.read(0).unwrap(), b"");
    assert_eq!(buf.read(2).unwrap(), b"ab");
    assert_eq!(buf.pos(), 2);
    assert_eq!(buf.read_all().unwrap(), b"cdef");
    assert_eq!(buf.read(10).unwrap(), b"");
    assert_eq!(buf.read_all().unwrap(), b"");
    let mut out = [0u8; 4];
    assert_eq!(buf.read_into(&mut out).unwrap(), 0);
}

#[test]
fn peek_does_not_consume() {
    let buf = open_ro(b"abc");
    assert_eq!(buf.peek(2).unwrap(), b"ab");
    assert_eq!(buf.peek(10).unwrap(), b"abc");
    let mut out = [0u8; 8];
    assert_eq!(buf.peek_into(&mut out).unwrap(), 3);
    assert_eq!(buf.pos(), 0);
    assert_eq!(buf.read_all().unwrap(), b"abc");
    assert_eq!(buf.peek(1).unwrap(), b"");
}

#[test]
fn get_put_unget() {
    let buf = Buffer::new();
    buf.open(OpenMode::READ_WRITE).unwrap();
    buf.put_char(b'x').unwrap();
    buf.put_char(b'y').unwrap();
    assert_eq!(buf.data(), b"xy");
    assert_eq!(buf.get_char(), None, "position is at the end");
    buf.seek(0).unwrap();
    assert_eq!(buf.get_char(), Some(b'x'));
    buf.unget_char(b'x');
    assert_eq!(buf.pos(), 0);
    assert_eq!(buf.bytes_available(), 2);
    assert_eq!(buf.get_char(), Some(b'x'));
    assert_eq!(buf.get_char(), Some(b'y'));
    assert_eq!(buf.get_char(), None);

    // At position 0 unget does nothing.
    buf.seek(0).unwrap();
    buf.unget_char(b'z');
    assert_eq!(buf.pos(), 0);

    // Not available during a transaction (Qt 6).
    buf.seek(1).unwrap();
    buf.start_transaction();
    buf.unget_char(b'x');
    assert_eq!(buf.pos(), 1);
    buf.commit_transaction();
}

#[test]
fn skip_and_at_end() {
    let buf = open_ro(b"abcdef");
    assert!(!buf.at_end());
    assert_eq!(buf.skip(0).unwrap(), 0);
    assert_eq!(buf.skip(4).unwrap(), 4);
    assert_eq!(buf.read_all().unwrap(), b"ef");
    assert!(buf.at_end());
    assert_eq!(buf.skip(4).unwrap(), 0);

    assert!(Buffer::new().at_end(), "a closed device is at its end");
    let empty = open_ro(b"");
    assert!(empty.at_end());
}

#[test]
fn transactions_rollback_and_commit() {
    let buf = open_ro(b"header:payload");
    buf.start_transaction();
    assert!(buf.is_transaction_started());
    assert_eq!(buf.read(7).unwrap(), b"header:");
    assert_eq!(buf.skip(3).unwrap(), 3);
    assert_eq!(buf.bytes_available(), 4);
    buf.rollback_transaction();
    assert!(!buf.is_transaction_started());
    assert_eq!(buf.bytes_available(), 14);
    assert_eq!(buf.pos(), 0);

    buf.start_transaction();
    buf.start_transaction(); // not nested: the first start point stays
    assert_eq!(buf.read(7).unwrap(), b"header:");
    buf.commit_transaction();
    assert!(!buf.is_transaction_started());
    buf.rollback_transaction(); // nothing to roll back
    assert_eq!(buf.read_all().unwrap(), b"payload");

    // Close ends a transaction.
    buf.start_transaction();
    buf.close();
    assert!(!buf.is_transaction_started());
}

#[test]
fn mode_errors() {
    // Not open.
    let buf = Buffer::from_vec(b"abc".to_vec());
    assert_eq!(buf.read(1), Err(DeviceError::NotOpen));
    assert_eq!(buf.read_all(), Err(DeviceError::NotOpen));
    assert_eq!(buf.read_line(0), Err(DeviceError::NotOpen));
    assert_eq!(buf.peek(1), Err(DeviceError::NotOpen));
    assert_eq!(buf.skip(1), Err(DeviceError::NotOpen));
    assert_eq!(buf.write(b"x"), Err(DeviceError::NotOpen));
    assert_eq!(buf.put_char(b'x'), Err(DeviceError::NotOpen));
    assert_eq!(buf.seek(0), Err(DeviceError::NotOpen));
    assert_eq!(buf.get_char(), None);
    assert_eq!(buf.bytes_available(), 0);
    assert!(!buf.is_open() && !buf.is_readable() && !buf.is_writable());

    // Read-only: writing fails.
    buf.open(OpenMode::READ_ONLY).unwrap();
    assert_eq!(buf.write(b"x"), Err(DeviceError::NotWritable));
    assert_eq!(buf.put_char(b'x'), Err(DeviceError::NotWritable));
    assert_eq!(buf.data(), b"abc");

    // Write-only: reading fails, even with an empty buffer.
    buf.open(OpenMode::WRITE_ONLY).unwrap();
    assert_eq!(buf.read(1), Err(DeviceError::NotReadable));
    assert_eq!(buf.read_into(&mut []), Err(DeviceError::NotReadable));
    assert_eq!(buf.read_line(0), Err(DeviceError::NotReadable));
    assert_eq!(buf.peek(1), Err(DeviceError::NotReadable));
    assert_eq!(buf.skip(1), Err(DeviceError::NotReadable));
    assert_eq!(buf.get_char(), None);
    assert!(buf.at_end(), "nothing readable on a WriteOnly device");

    assert_eq!(
        buf.open(OpenMode::NOT_OPEN),
        Err(DeviceError::AccessNotSpecified)
    );
    assert_eq!(
        DeviceError::NotWritable.to_string(),
        "device not open for writing"
    );
}

#[test]
fn buffer_writes_overwrite_and_extend() {
    let buf = Buffer::from_vec(b"abcdef".to_vec());
    buf.open(OpenMode::READ_WRITE).unwrap();
    buf.seek(4).unwrap();
    assert_eq!(buf.write(b"XYZ").unwrap(), 3);
    assert_eq!(buf.data(), b"abcdXYZ");
    assert_eq!(buf.pos(), 7);
    assert_eq!(buf.size(), 7);

    buf.open(OpenMode::WRITE_ONLY | OpenMode::APPEND).unwrap();
    assert_eq!(buf.pos(), 7);
    buf.write(b"!").unwrap();
    assert_eq!(buf.data(), b"abcdXYZ!");

    buf.open(OpenMode::TRUNCATE).unwrap();
    assert!(buf.open_mode().contains(OpenMode::WRITE_ONLY));
    assert_eq!(buf.size(), 0);
}

/// A sequential device over a `ByteQueue`, the way sockets use one, that
/// relies on every provided method's default (including `skip` and
/// `index_of_newline`).
struct Pipe {
    mode: OpenMode,
    queue: RefCell<ByteQueue>,
}

impl Pipe {
    fn new(data: &[u8]) -> Self {
        let mut queue = ByteQueue::new();
        queue.append(data);
        Pipe {
            mode: OpenMode::READ_WRITE,
            queue: RefCell::new(queue),
        }
    }

    fn check(&self) -> Result<(), DeviceError> {
        if self.mode.is_not_open() {
            Err(DeviceError::NotOpen)
        } else if !self.is_readable() {
            Err(DeviceError::NotReadable)
        } else {
            Ok(())
        }
    }
}

impl IoDevice for Pipe {
    fn open_mode(&self) -> OpenMode {
        self.mode
    }
    fn read_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.check()?;
        Ok(self.queue.borrow_mut().read_into(buf))
    }
    fn peek_into(&self, buf: &mut [u8]) -> Result<usize, DeviceError> {
        self.check()?;
        Ok(self.queue.borrow().peek_into(buf))
    }
    fn write(&self, data: &[u8]) -> Result<usize, DeviceError> {
        self.queue.borrow_mut().append(data);
        Ok(data.len())
    }
    fn bytes_available(&self) -> usize {
        if self.check().is_ok() {
            self.queue.borrow().len()
        } else {
            0
        }
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
}

#[test]
fn sequential_device_uses_the_defaults() {
    let pipe = Pipe::new(b"hello\nworld");
    let dev: &dyn IoDevice = &pipe;
    assert!(dev.is_sequential());
    assert!(dev.can_read_line());
    assert_eq!(dev.index_of_newline(100), Some(5));
    dev.start_transaction();
    assert_eq!(dev.read_line(5).unwrap(), b"hell");
    assert_eq!(dev.skip(3).unwrap(), 3);
    assert_eq!(dev.bytes_available(), 4);
    dev.rollback_transaction();
    assert_eq!(dev.bytes_available(), 11);
    assert_eq!(dev.get_char(), Some(b'h'));
    dev.unget_char(b'H');
    assert_eq!(dev.read_line(0).unwrap(), b"Hello\n");
    assert!(!dev.can_read_line());
    assert_eq!(dev.skip(10_000).unwrap(), 5);
    assert!(dev.at_end(), "atEnd: nothing buffered, not end of stream");
    dev.put_char(b'!').unwrap();
    assert_eq!(dev.read_all().unwrap(), b"!");

    let closed = Pipe {
        mode: OpenMode::NOT_OPEN,
        ..Pipe::new(b"x\n")
    };
    assert_eq!(closed.skip(1), Err(DeviceError::NotOpen));
    assert!(!closed.can_read_line());
    assert_eq!(closed.index_of_newline(10), None);
    assert!(closed.at_end());
}

/// `OpenMode::TEXT` belongs to the device trait, so an in-memory `Buffer`
/// converts as a socket does (Qt's QBuffer too): reads drop '\r', a line's
/// final "\r\n" becomes "\n", `skip` counts converted bytes, and a
/// rollback restores the raw bytes.
#[test]
fn text_mode_on_a_buffer() {
    let buf = Buffer::from_vec(b"one\r\ntwo\r\n\rthree\r".to_vec());
    buf.open(OpenMode::READ_ONLY | OpenMode::TEXT).unwrap();
    buf.start_transaction();
    assert_eq!(buf.read_line(0).unwrap(), b"one\n");
    assert_eq!(buf.peek(4).unwrap(), b"two\n");
    assert_eq!(buf.skip(4).unwrap(), 4);
    assert_eq!(buf.read_all().unwrap(), b"three");
    buf.rollback_transaction();
    assert_eq!(buf.bytes_available(), 17);
    assert_eq!(buf.read_raw(5).unwrap(), b"one\r\n");
    assert_eq!(buf.get_char(), Some(b't'));
}
