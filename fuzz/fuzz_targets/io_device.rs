//! The `IoDevice` read API and the buffers under it, checked against a
//! plain model (a `Vec<u8>` and a read position) on every step:
//! - `ByteQueue` (the read and write buffer of every socket): appends of
//!   odd sizes, `fill_from` as a socket read does, reads, peeks at offsets,
//!   skips, `unget`, `index_of`, `front_chunk`/`consume`, `clear` and
//!   transactions;
//! - the trait's reads (`read`, `read_line` with Qt's size rule, `peek`,
//!   `get_char`, `skip`, `can_read_line`, `read_all`, `unget_char`,
//!   transactions) on a socket-like sequential device over a `ByteQueue`
//!   and on a random-access `Buffer` (with writes and seeks).
//!
//! Input: one selector byte, then a program of steps.

#![no_main]

use std::io;

use libfuzzer_sys::fuzz_target;
use sigloop::{Buffer, ByteQueue, IoDevice, OpenMode};
use sigloop_fuzz::{CappedAlloc, Input, QueueDevice};

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// Bytes of a given length whose content still varies with position.
fn payload(input: &mut Input<'_>, max: usize) -> Vec<u8> {
    let n = input.size(max);
    let seed = input.byte();
    // Newlines often enough for read_line to find some.
    (0..n)
        .map(
            |i| match (i as u8).wrapping_mul(31).wrapping_add(seed) % 7 {
                0 => b'\n',
                k => b'a' + k,
            },
        )
        .collect()
}

/// What a sequential buffer holds: `data[pos..]` is unread; with a
/// transaction open, `data[..pos]` was read in it and comes back on
/// rollback. Without one, `pos` is always 0.
#[derive(Default)]
struct Model {
    data: Vec<u8>,
    pos: usize,
    txn: bool,
}

impl Model {
    fn unread(&self) -> &[u8] {
        &self.data[self.pos..]
    }

    fn consume(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.data.len() - self.pos);
        let out = self.data[self.pos..self.pos + n].to_vec();
        self.pos += n;
        if !self.txn {
            self.data.drain(..self.pos);
            self.pos = 0;
        }
        out
    }

    fn commit(&mut self) {
        if self.txn {
            self.data.drain(..self.pos);
            self.pos = 0;
            self.txn = false;
        }
    }

    fn rollback(&mut self) {
        if self.txn {
            self.pos = 0;
            self.txn = false;
        }
    }

    /// Qt's `readLine(maxSize)` length rule.
    fn line_len(&self, max: usize) -> usize {
        let limit = match max {
            0 => usize::MAX,
            1 => 0,
            m => m - 1,
        };
        let window = limit.min(self.unread().len());
        match self.unread()[..window].iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => window,
        }
    }
}

fn byte_queue(input: &mut Input<'_>) {
    let mut q = ByteQueue::new();
    let mut m = Model::default();
    for _ in 0..512 {
        if input.is_empty() {
            break;
        }
        match input.byte() % 16 {
            0 => {
                let bytes = payload(input, 70_000);
                q.append(&bytes);
                m.data.extend_from_slice(&bytes);
            }
            1 => {
                let bytes = payload(input, 70_000);
                m.data.extend_from_slice(&bytes);
                q.append_vec(bytes);
            }
            2 => {
                // A socket read: the kernel fills part of what it is offered.
                let max = input.size(200_000);
                let bytes = payload(input, 70_000);
                let fail = input.byte() == 0xff;
                let mut given = 0;
                let got = q.fill_from(max, |buf| {
                    if fail {
                        return Err(io::Error::from(io::ErrorKind::WouldBlock));
                    }
                    given = bytes.len().min(buf.len());
                    buf[..given].copy_from_slice(&bytes[..given]);
                    Ok(given)
                });
                match got {
                    Ok(n) => {
                        assert_eq!(n, given);
                        assert!(n <= max);
                        m.data.extend_from_slice(&bytes[..n]);
                    }
                    Err(_) => assert!(fail),
                }
            }
            3 => {
                let mut buf = vec![0; input.size(100_000)];
                let n = q.read_into(&mut buf);
                assert_eq!(&buf[..n], m.consume(buf.len()).as_slice());
            }
            4 => {
                let max = input.size(100_000);
                assert_eq!(q.read_vec(max), m.consume(max));
            }
            5 => {
                let mut buf = vec![0; input.size(100_000)];
                let n = q.peek_into(&mut buf);
                let want = &m.unread()[..buf.len().min(m.unread().len())];
                assert_eq!(&buf[..n], want);
            }
            6 => {
                let offset = input.size(100_000);
                let mut buf = vec![0; input.size(100_000)];
                let n = q.peek_at(offset, &mut buf);
                let rest = m.unread().get(offset..).unwrap_or(&[]);
                assert_eq!(&buf[..n], &rest[..buf.len().min(rest.len())]);
            }
            7 => {
                let n = input.size(200_000);
                let skipped = q.skip(n);
                assert_eq!(skipped, m.consume(n).len());
            }
            8 => {
                let max = input.size(200_000);
                let byte = b'a' + input.byte() % 8;
                let want = m.unread()[..max.min(m.unread().len())]
                    .iter()
                    .position(|&b| b == byte);
                assert_eq!(q.index_of(byte, max), want);
            }
            9 => {
                let c = input.byte();
                let done = q.unget(c);
                assert_eq!(done, !m.txn);
                if done {
                    m.data.insert(0, c);
                }
            }
            10 => {
                let front = q.front_chunk().to_vec();
                assert_eq!(front.is_empty(), m.unread().is_empty());
                assert!(m.unread().starts_with(&front));
                let n = input.size(front.len());
                q.consume(n);
                m.consume(n);
            }
            11 => {
                q.start_transaction();
                m.txn = true;
            }
            12 => {
                q.commit_transaction();
                m.commit();
            }
            13 => {
                q.rollback_transaction();
                m.rollback();
            }
            14 => {
                q.clear();
                m.data.clear();
                m.pos = 0;
                assert_eq!(q.heap_bytes(), 0);
            }
            _ => q.set_fill_hint(input.size(1 << 20)),
        }
        assert_eq!(q.len(), m.unread().len());
        assert_eq!(q.is_empty(), m.unread().is_empty());
        assert_eq!(q.is_transaction_started(), m.txn);
        if q.is_empty() && !m.txn {
            assert_eq!(q.heap_bytes(), 0, "an empty queue keeps memory");
        }
    }
}

/// The trait's read API on a sequential device.
fn sequential(input: &mut Input<'_>) {
    let dev = QueueDevice::new();
    let mut m = Model::default();
    for _ in 0..512 {
        if input.is_empty() {
            break;
        }
        match input.byte() % 13 {
            0 => {
                let bytes = payload(input, 70_000);
                dev.deliver(&bytes);
                m.data.extend_from_slice(&bytes);
            }
            1 => {
                let max = input.size(100_000);
                assert_eq!(dev.read(max).unwrap(), m.consume(max));
            }
            2 => {
                let max = input.size(100_000);
                let want = m.line_len(max);
                assert_eq!(dev.read_line(max).unwrap(), m.consume(want));
            }
            3 => {
                let max = input.size(100_000);
                let want = m.unread()[..max.min(m.unread().len())].to_vec();
                assert_eq!(dev.peek(max).unwrap(), want);
            }
            4 => assert_eq!(dev.get_char(), m.consume(1).first().copied()),
            5 => {
                let n = input.size(200_000);
                assert_eq!(dev.skip(n).unwrap(), m.consume(n).len());
            }
            6 => assert_eq!(dev.can_read_line(), m.unread().contains(&b'\n')),
            7 => assert_eq!(dev.read_all().unwrap(), m.consume(usize::MAX)),
            8 => {
                let c = input.byte();
                dev.unget_char(c);
                if !m.txn {
                    m.data.insert(0, c);
                }
            }
            9 => {
                dev.start_transaction();
                m.txn = true;
            }
            10 => {
                dev.commit_transaction();
                m.commit();
            }
            11 => {
                dev.rollback_transaction();
                m.rollback();
            }
            _ => assert_eq!(dev.at_end(), m.unread().is_empty()),
        }
        assert_eq!(dev.bytes_available(), m.unread().len());
        assert_eq!(dev.is_transaction_started(), m.txn);
    }
}

/// The trait's read API on a random-access `Buffer`, with writes and
/// seeks: the model is the data, a position and the saved position.
fn random_access(input: &mut Input<'_>) {
    let initial = payload(input, 70_000);
    let buf = Buffer::from_vec(initial.clone());
    buf.open(OpenMode::READ_WRITE).expect("a buffer opens");
    let mut data = initial;
    let mut pos = 0usize;
    let mut txn: Option<usize> = None;
    for _ in 0..512 {
        if input.is_empty() {
            break;
        }
        let rest = data.len() - pos;
        match input.byte() % 12 {
            0 => {
                let max = input.size(100_000);
                let n = max.min(rest);
                assert_eq!(buf.read(max).unwrap(), &data[pos..pos + n]);
                pos += n;
            }
            1 => {
                let max = input.size(100_000);
                let limit = match max {
                    0 => usize::MAX,
                    1 => 0,
                    m => m - 1,
                };
                let window = limit.min(rest);
                let n = data[pos..pos + window]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(window, |i| i + 1);
                assert_eq!(buf.read_line(max).unwrap(), &data[pos..pos + n]);
                pos += n;
            }
            2 => {
                let max = input.size(100_000);
                let n = max.min(rest);
                assert_eq!(buf.peek(max).unwrap(), &data[pos..pos + n]);
            }
            3 => {
                let n = input.size(200_000);
                assert_eq!(buf.skip(n).unwrap(), n.min(rest));
                pos += n.min(rest);
            }
            4 => {
                let bytes = payload(input, 70_000);
                assert_eq!(buf.write(&bytes).unwrap(), bytes.len());
                let overlap = rest.min(bytes.len());
                data[pos..pos + overlap].copy_from_slice(&bytes[..overlap]);
                data.extend_from_slice(&bytes[overlap..]);
                pos += bytes.len();
            }
            5 => {
                let to = input.size(100_000);
                buf.seek(to as u64)
                    .expect("a writable buffer seeks anywhere");
                if to > data.len() {
                    data.resize(to, 0);
                }
                pos = to;
            }
            6 => {
                buf.unget_char(input.byte());
                if txn.is_none() {
                    pos = pos.saturating_sub(1);
                }
            }
            7 => {
                buf.start_transaction();
                txn.get_or_insert(pos);
            }
            8 => {
                buf.commit_transaction();
                txn = None;
            }
            9 => {
                buf.rollback_transaction();
                if let Some(saved) = txn.take() {
                    pos = saved.min(data.len());
                }
            }
            10 => assert_eq!(buf.get_char(), data.get(pos).copied().inspect(|_| pos += 1)),
            _ => assert_eq!(buf.can_read_line(), data[pos..].contains(&b'\n')),
        }
        assert_eq!(buf.pos(), pos as u64);
        assert_eq!(buf.size(), data.len() as u64);
        assert_eq!(buf.bytes_available(), data.len() - pos);
        assert_eq!(buf.is_transaction_started(), txn.is_some());
    }
    assert_eq!(buf.data(), data);
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input::new(data);
    match input.byte() % 3 {
        0 => byte_queue(&mut input),
        1 => sequential(&mut input),
        _ => random_access(&mut input),
    }
});
