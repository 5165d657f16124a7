//! `ByteQueue`: the chunked FIFO byte buffer behind socket read and write
//! buffers (Qt: `QRingBuffer`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;

thread_local! {
    /// Where [`ByteQueue::fill_from`] lets a small read land when the tail
    /// has no room: allocated and zeroed once per thread (reservations
    /// under `POOL_MIN`), so such a read costs no chunk-sized allocation
    /// and no zeroing, only a copy of the bytes it got.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };

    /// Freed chunks of 8 to 256 KiB kept for the next large read or
    /// append on this thread (at most `POOL_BYTES`; see [`take_chunk`]).
    static POOL: RefCell<Pool> = const { RefCell::new(Pool::new()) };
}

/// Capacities of pooled chunks: `POOL_MIN << class`, 8 to 256 KiB.
const POOL_MIN: usize = 2 * MIN_FILL;
const POOL_CLASSES: usize = 6;
/// Capacity of the largest pooled chunks: the largest read reservation.
const POOL_CHUNK: usize = MAX_FILL;
/// Most bytes of chunks the per-thread pool keeps: what a connection whose
/// peer reads slowly may hold in its write queue (an echo that reads on
/// while its send buffer is full keeps megabytes there; when they drain,
/// their chunks must wait here for the next reads rather than go back to
/// the allocator, which returned them to the OS and faulted them in again).
const POOL_BYTES: usize = 4 << 20;

/// The per-thread chunk pool: one list per power-of-two capacity.
struct Pool {
    lists: [Vec<Vec<u8>>; POOL_CLASSES],
    /// Capacity of every pooled chunk, summed.
    bytes: usize,
}

impl Pool {
    const fn new() -> Pool {
        Pool {
            lists: [const { Vec::new() }; POOL_CLASSES],
            bytes: 0,
        }
    }

    fn take(&mut self, class: usize) -> Option<Vec<u8>> {
        let chunk = self.lists[class].pop()?;
        self.bytes -= chunk.capacity();
        Some(chunk)
    }

    /// Keeps `chunk` if it fits under `POOL_BYTES`; else drops it.
    fn give(&mut self, class: usize, chunk: Vec<u8>) {
        if self.bytes + chunk.capacity() <= POOL_BYTES {
            self.bytes += chunk.capacity();
            self.lists[class].push(chunk);
        }
    }
}

/// The pool class of a chunk of `capacity`, if it is one of the pooled
/// capacities.
fn pool_class(capacity: usize) -> Option<usize> {
    if !(POOL_MIN..=POOL_CHUNK).contains(&capacity) || !capacity.is_power_of_two() {
        return None;
    }
    Some((capacity / POOL_MIN).trailing_zeros() as usize)
}

/// A chunk with room for `len` bytes (rounded up to a pooled capacity,
/// at most 256 KiB) whose first `len` bytes are initialized: a pooled one
/// when there is one, else a new one.
///
/// Why a pool: a bulk transfer frees a large chunk and allocates the next
/// one on every pass. Blocks that size sit near the top of the allocator's
/// heap, so freeing them lets glibc give the top back to the OS (`brk`)
/// and the next allocation page-faults it in again, and every fresh chunk
/// was zeroed: in the echo benchmark that cost more CPU than the kernel's
/// own copies. A pooled chunk keeps its pages and its initialized length,
/// so a read into it is neither zeroed nor faulted in. Messages of a few
/// KiB (read in place into an 8 or 16 KiB chunk, handed to the write
/// queue, recycled once sent) then cost no allocation and no copy.
fn take_chunk(len: usize) -> Vec<u8> {
    let len = len.min(POOL_CHUNK);
    let mut chunk = pooled_chunk(len);
    // Bytes up to the chunk's old length are initialized already: only the
    // rest is zeroed.
    chunk.resize(len, 0);
    chunk
}

/// A chunk with a pooled capacity of at least `len` (at most 256 KiB),
/// from the pool when it has one; its old bytes are still in it.
fn pooled_chunk(len: usize) -> Vec<u8> {
    let capacity = len.next_power_of_two().clamp(POOL_MIN, POOL_CHUNK);
    let class = pool_class(capacity).unwrap_or(POOL_CLASSES - 1);
    // `try_with`: a queue may be used while the thread's locals are being
    // destroyed (a socket aborted by another local's destructor); the
    // pool is then simply not there.
    let pooled = POOL
        .try_with(|pool| pool.try_borrow_mut().ok()?.take(class))
        .ok()
        .flatten();
    pooled.unwrap_or_else(|| Vec::with_capacity(capacity))
}

/// Gives a chunk that left its queue back to the pool if it has a pooled
/// capacity and the pool has room; else frees it.
fn recycle(chunk: Vec<u8>) {
    if let Some(class) = pool_class(chunk.capacity()) {
        let _ = POOL.try_with(|pool| {
            if let Ok(mut pool) = pool.try_borrow_mut() {
                pool.give(class, chunk);
            }
        });
    }
}

/// Smallest chunk made by [`ByteQueue::append`]; small writes coalesce
/// into chunks of at least this size.
const MIN_APPEND_CHUNK: usize = 512;
/// Chunks made by [`ByteQueue::append`] double in size up to this.
const MAX_APPEND_CHUNK: usize = 16 * 1024;
/// [`ByteQueue::append_vec`] copies vectors shorter than this into a queue
/// that holds data instead of keeping them as chunks of their own.
const ADOPT_MIN: usize = MIN_APPEND_CHUNK;
/// Smallest and largest reservation of [`ByteQueue::fill_from`].
const MIN_FILL: usize = 4 * 1024;
const MAX_FILL: usize = 256 * 1024;
/// Smallest chunk [`ByteQueue::fill_from`] makes for the bytes of a read
/// that did not fit the tail: small reads that follow share it, and it
/// stays small enough for the allocator's per-thread cache.
const FRESH_CHUNK: usize = 1024;
/// Size of the chunk [`ByteQueue::unget`] puts in front; its free front
/// room makes further ungets O(1).
const UNGET_CHUNK: usize = 16;

/// A FIFO queue of bytes stored in chunks: the sans-I/O buffer that sockets
/// use for their read and write buffers.
///
/// - **Memory follows the data.** An empty queue holds no heap memory at
///   all, so idle sockets cost nothing; chunks are allocated as bytes
///   arrive and freed as soon as they are consumed, and everything is freed
///   the moment the queue becomes empty (no spare chunk is kept per queue,
///   so an idle connection holds zero bytes). [`heap_bytes`](Self::heap_bytes)
///   reports what is held. The one exception is per thread, not per
///   queue: freed chunks of 8 to 256 KiB, up to 4 MiB in all, wait in a
///   thread-local pool for the next large read or append on that thread,
///   because freeing and re-allocating blocks that size made glibc return
///   heap pages to the OS and fault them in again on every pass (an echo
///   whose peer reads slowly holds megabytes in its write queue, then
///   frees them at once).
/// - **No whole-buffer copies.** Appends go to the tail (filling its spare
///   capacity first, then a new chunk), reads take from the front, and
///   every operation costs O(bytes touched) plus O(1) per chunk crossed.
///   [`append_vec`](Self::append_vec) adopts a vector without copying it;
///   [`front_chunk`](Self::front_chunk) + [`consume`](Self::consume) hand
///   chunks to an OS write without copying them;
///   [`fill_from`](Self::fill_from) lets an OS read land in the tail
///   directly when it has room, else in a pooled chunk of its own for a
///   large reservation or a per-thread scratch buffer for a small one
///   (from which only the bytes read are copied).
/// - **Read transactions** (Qt: `QIODevice::startTransaction()`): while
///   one is open, reads consume bytes logically but keep them, so
///   [`rollback_transaction`](Self::rollback_transaction) can give them
///   back. See [`start_transaction`](Self::start_transaction).
///
/// Qt: `QRingBuffer` (private), the buffer inside `QIODevice` and
/// `QAbstractSocket`.
///
/// # Examples
///
/// ```
/// use sigloop_core::ByteQueue;
///
/// let mut q = ByteQueue::new();
/// q.append(b"hello\nwor");
/// q.append_vec(b"ld\n".to_vec());
/// assert_eq!(q.len(), 12);
/// let line = q.index_of(b'\n', q.len()).map_or(0, |i| i + 1);
/// assert_eq!(q.read_vec(line), b"hello\n");
/// assert_eq!(q.read_vec(usize::MAX), b"world\n");
/// assert!(q.is_empty());
/// assert_eq!(q.heap_bytes(), 0);
/// ```
#[derive(Clone)]
pub struct ByteQueue {
    /// The retained bytes: `chunks[0][head..]`, then the other chunks whole.
    /// No chunk is empty except transiently inside a method.
    chunks: VecDeque<Vec<u8>>,
    /// Offset of the first retained byte in `chunks[0]`; 0 when empty.
    head: usize,
    /// Unread bytes (retained bytes minus those a transaction consumed).
    len: usize,
    /// The open read transaction, if any.
    txn: Option<Txn>,
    /// Next reservation size of `fill_from`; adapts to the read sizes.
    fill_size: usize,
}

/// The read position of an open transaction. Bytes between the front of
/// the queue and the cursor have been read but are kept for a rollback.
#[derive(Clone, Copy, Default, Debug)]
struct Txn {
    /// Chunk holding the next unread byte.
    idx: usize,
    /// Offset of the next unread byte in `chunks[idx]`; may equal the
    /// chunk's length, in which case reading continues at `idx + 1`.
    off: usize,
    /// Bytes read since the transaction started.
    consumed: usize,
}

impl ByteQueue {
    /// An empty queue. Allocates nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = sigloop_core::ByteQueue::new();
    /// assert!(q.is_empty());
    /// assert_eq!(q.heap_bytes(), 0);
    /// ```
    pub const fn new() -> Self {
        ByteQueue {
            chunks: VecDeque::new(),
            head: 0,
            len: 0,
            txn: None,
            fill_size: MIN_FILL,
        }
    }

    /// Number of unread bytes. Bytes read inside an open transaction are
    /// not counted (they come back on rollback).
    /// Qt: `QRingBuffer::size()`, `QIODevice::bytesAvailable()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// assert_eq!(q.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is nothing to read. Qt: `QRingBuffer::isEmpty()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// assert!(q.is_empty());
    /// q.append(b"x");
    /// assert!(!q.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap memory held, in bytes: the capacity of every chunk plus the
    /// chunk list itself. Zero whenever the queue holds no bytes (unread or
    /// kept by a transaction).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// assert!(q.heap_bytes() >= 3);
    /// q.skip(3);
    /// assert_eq!(q.heap_bytes(), 0);
    /// ```
    pub fn heap_bytes(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
    }

    /// Appends a copy of `data` at the tail: into the tail chunk's spare
    /// capacity first, then into one new chunk. Never moves bytes already
    /// queued. Qt: `QRingBuffer::append()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"ab");
    /// q.append(b"cd");
    /// assert_eq!(q.read_vec(4), b"abcd");
    /// ```
    pub fn append(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.len += data.len();
        let mut rest = data;
        if let Some(tail) = self.chunks.back_mut() {
            let room = tail.capacity() - tail.len();
            let n = room.min(rest.len());
            // Within capacity: no reallocation.
            tail.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        // Large appends go into pool chunks (no allocation, no page faults
        // in a steady stream); the remainder follows the growth rule.
        while rest.len() > MAX_APPEND_CHUNK {
            let n = rest.len().min(POOL_CHUNK);
            let mut chunk = pooled_chunk(n);
            chunk.clear();
            // Within capacity: no reallocation.
            chunk.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            self.chunks.push_back(chunk);
        }
        if !rest.is_empty() {
            let grown = self
                .chunks
                .back()
                .map_or(0, Vec::capacity)
                .saturating_mul(2)
                .clamp(MIN_APPEND_CHUNK, MAX_APPEND_CHUNK);
            let mut chunk = Vec::with_capacity(rest.len().max(grown));
            chunk.extend_from_slice(rest);
            self.chunks.push_back(chunk);
        }
    }

    /// Appends `data`, taking ownership: a vector of 512 bytes or more, or
    /// any vector given to an empty queue, becomes a chunk as it is,
    /// without copying; a shorter one is copied into the tail like
    /// [`append`](Self::append), so many small vectors don't make many
    /// small chunks.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append_vec(vec![7; 4096]);
    /// assert_eq!(q.len(), 4096);
    /// assert_eq!(q.front_chunk().len(), 4096);
    /// ```
    pub fn append_vec(&mut self, data: Vec<u8>) {
        if data.is_empty() {
            return;
        }
        if data.len() < ADOPT_MIN && !self.chunks.is_empty() {
            self.append(&data);
        } else {
            self.len += data.len();
            self.chunks.push_back(data);
        }
    }

    /// How many bytes the next [`fill_from`](Self::fill_from) reserves: it
    /// adapts between 4 and 256 KiB to the sizes reads return. A socket that
    /// frees an empty queue and makes a new one later passes this on with
    /// `set_fill_hint`, so a bulk transfer keeps reading in large blocks.
    pub(crate) fn fill_hint(&self) -> usize {
        self.fill_size
    }

    /// Sets the reservation of the next [`fill_from`](Self::fill_from),
    /// clamped to 4..=256 KiB.
    pub(crate) fn set_fill_hint(&mut self, bytes: usize) {
        self.fill_size = bytes.clamp(MIN_FILL, MAX_FILL);
    }

    /// Reads from an OS source into the tail.
    ///
    /// Offers `f` a slice of up to `max` bytes (at most `4..256 KiB`: the
    /// size adapts, doubling after reads that fill it and halving after
    /// reads that use under a quarter) and keeps the first `n` bytes where
    /// `Ok(n)` is what `f` returned (clamped to the slice's length). When
    /// the tail chunk's spare capacity holds at least half of that, the
    /// slice is that capacity, zeroed, and the read lands in place. Else a
    /// slice of 8 KiB or more is a chunk of that size from this thread's
    /// pool (or a new one), zeroed only where it never held bytes, and
    /// given back to the pool if `f` puts nothing in it. Else it is this
    /// thread's scratch buffer (which may
    /// hold bytes of earlier reads, never bytes of this queue) and only
    /// the `n` bytes read are copied: into the tail if they fit, else into
    /// a new chunk of `max(n, 1 KiB)`. So a small read into an empty queue
    /// costs no large allocation and no zeroing, and small reads share a
    /// chunk. On `Err`
    /// the queue is unchanged and the error is returned. `max == 0`
    /// returns `Ok(0)` without calling `f` (so a zero-length OS read is
    /// never mistaken for end of file).
    ///
    /// The slice may be shorter than `max`; callers that read until
    /// `WouldBlock` simply call again.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// let mut source: &[u8] = b"from the kernel";
    /// let mut q = sigloop_core::ByteQueue::new();
    /// let n = q.fill_from(usize::MAX, |buf| source.read(buf))?;
    /// assert_eq!(n, 15);
    /// assert_eq!(q.read_vec(4), b"from");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn fill_from(
        &mut self,
        max: usize,
        f: impl FnOnce(&mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        let want = max.min(self.fill_size);
        let tail_room = self.chunks.back().map_or(0, |t| t.capacity() - t.len());
        // Use the tail's spare room if it holds at least half a reservation;
        // otherwise a small read lands in the thread's scratch buffer and
        // only the bytes it got are copied (into the tail or a new chunk),
        // and a large one gets a new chunk of its own.
        let (result, n, reserved) = if tail_room.saturating_mul(2) >= want {
            self.fill_tail(tail_room.min(want), f)
        } else if want >= POOL_MIN {
            // Large reads (the reservation grew because reads fill it):
            // straight into a pooled chunk, no copy.
            let mut chunk = take_chunk(want);
            let result = f(&mut chunk);
            let n = match &result {
                Ok(n) => (*n).min(want),
                Err(_) => 0,
            };
            if n > 0 {
                chunk.truncate(n);
                self.chunks.push_back(chunk);
            } else {
                recycle(chunk);
            }
            (result, n, want)
        } else {
            let mut f = Some(f);
            let chunks = &mut self.chunks;
            let filled = SCRATCH.try_with(|scratch| {
                let mut scratch = scratch.try_borrow_mut().ok()?;
                let f = f.take()?;
                if scratch.len() < want {
                    scratch.resize(want, 0);
                }
                let result = f(&mut scratch[..want]);
                let n = match &result {
                    Ok(n) => (*n).min(want),
                    Err(_) => 0,
                };
                let got = &scratch[..n];
                match chunks.back_mut() {
                    // Within capacity: no reallocation.
                    Some(tail) if tail.capacity() - tail.len() >= n => tail.extend_from_slice(got),
                    _ if n == 0 => {}
                    _ => {
                        let mut chunk = Vec::with_capacity(n.max(FRESH_CHUNK));
                        chunk.extend_from_slice(got);
                        chunks.push_back(chunk);
                    }
                }
                Some((result, n, want))
            });
            match (filled.ok().flatten(), f) {
                // `f` itself fills a queue on this thread (the scratch buffer
                // is taken), or the thread's locals are being destroyed: a
                // chunk of its own, as without one.
                (None, Some(f)) => {
                    self.chunks.push_back(Vec::with_capacity(want));
                    self.fill_tail(want, f)
                }
                // The scratch path took `f` only to run it, so it filled.
                (filled, _) => filled.unwrap_or((Ok(0), 0, want)),
            }
        };
        self.len += n;
        // An error (`WouldBlock` above all) says nothing of the sizes reads
        // return: only a read that returned bytes or the end adapts.
        if reserved == want && result.is_ok() {
            if n == want {
                self.fill_size = (self.fill_size * 2).min(MAX_FILL);
            } else if n < want / 4 {
                self.fill_size = (self.fill_size / 2).max(MIN_FILL);
            }
        }
        result.map(|_| n)
    }

    /// `fill_from` into the tail chunk's spare capacity (`reserved` bytes
    /// of it, zeroed first); drops the tail again if it stays empty.
    /// Returns `f`'s result, the bytes kept and `reserved`.
    fn fill_tail(
        &mut self,
        reserved: usize,
        f: impl FnOnce(&mut [u8]) -> io::Result<usize>,
    ) -> (io::Result<usize>, usize, usize) {
        let Some(tail) = self.chunks.back_mut() else {
            return (Ok(0), 0, reserved);
        };
        let start = tail.len();
        // Within capacity: no reallocation.
        tail.resize(start + reserved, 0);
        let result = f(&mut tail[start..]);
        let n = match &result {
            Ok(n) => (*n).min(reserved),
            Err(_) => 0,
        };
        tail.truncate(start + n);
        if tail.is_empty() {
            self.chunks.pop_back();
            self.release_if_empty();
        }
        (result, n, reserved)
    }

    /// Reads (consumes) up to `buf.len()` bytes into `buf` and returns how
    /// many. Qt: `QRingBuffer::read()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// let mut buf = [0; 2];
    /// assert_eq!(q.read_into(&mut buf), 2);
    /// assert_eq!(&buf, b"ab");
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn read_into(&mut self, buf: &mut [u8]) -> usize {
        let mut done = 0;
        self.consume_with(buf.len(), |seg| {
            buf[done..done + seg.len()].copy_from_slice(seg);
            done += seg.len();
        });
        done
    }

    /// Reads (consumes) up to `max` bytes into a new vector. When the
    /// request is exactly the whole front chunk (and no transaction is
    /// open) the chunk itself is returned, without copying; its spare
    /// capacity goes with it unless it is over three times the bytes (so
    /// a pooled read chunk keeps its size and can come back to the pool).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// assert_eq!(q.read_vec(2), b"ab");
    /// assert_eq!(q.read_vec(usize::MAX), b"c");
    /// assert!(q.read_vec(10).is_empty());
    /// ```
    pub fn read_vec(&mut self, max: usize) -> Vec<u8> {
        let want = max.min(self.len);
        if want == 0 {
            return Vec::new();
        }
        if self.txn.is_none()
            && self.head == 0
            && self.chunks.front().is_some_and(|c| c.len() == want)
        {
            if let Some(mut chunk) = self.chunks.pop_front() {
                self.len -= want;
                self.release_if_empty();
                // Up to a quarter full, as `fill_from` sizes its reads.
                if chunk.capacity() - chunk.len() > 3 * chunk.len().max(1024) {
                    chunk.shrink_to_fit();
                }
                return chunk;
            }
        }
        let mut out = Vec::with_capacity(want);
        self.consume_with(want, |seg| out.extend_from_slice(seg));
        out
    }

    /// Copies up to `buf.len()` unread bytes into `buf` without consuming
    /// them. Qt: `QRingBuffer::peek()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// let mut buf = [0; 8];
    /// assert_eq!(q.peek_into(&mut buf), 3);
    /// assert_eq!(q.len(), 3);
    /// ```
    pub fn peek_into(&self, buf: &mut [u8]) -> usize {
        self.peek_at(0, buf)
    }

    /// Copies up to `buf.len()` bytes starting `offset` bytes past the read
    /// position, without consuming anything; 0 if `offset >= len()`.
    /// Qt: `QRingBuffer::peek(data, maxLength, pos)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abcdef");
    /// let mut buf = [0; 2];
    /// assert_eq!(q.peek_at(3, &mut buf), 2);
    /// assert_eq!(&buf, b"de");
    /// assert_eq!(q.peek_at(6, &mut buf), 0);
    /// ```
    pub fn peek_at(&self, offset: usize, buf: &mut [u8]) -> usize {
        let mut skip = offset;
        let mut done = 0;
        for seg in self.segments() {
            if done == buf.len() {
                break;
            }
            if skip >= seg.len() {
                skip -= seg.len();
                continue;
            }
            let seg = &seg[skip..];
            skip = 0;
            let n = seg.len().min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&seg[..n]);
            done += n;
        }
        done
    }

    /// Discards (consumes) up to `n` bytes and returns how many.
    /// Qt: `QRingBuffer::skip()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// assert_eq!(q.skip(2), 2);
    /// assert_eq!(q.skip(5), 1);
    /// ```
    pub fn skip(&mut self, n: usize) -> usize {
        let want = n.min(self.len);
        self.consume_with(want, |_| {});
        want
    }

    /// Offset (from the read position) of the first `byte` among the next
    /// `max_len` unread bytes, or `None`. Used by `readLine` and
    /// `canReadLine`. Qt: `QRingBuffer::indexOf()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"ab\ncd\n");
    /// assert_eq!(q.index_of(b'\n', usize::MAX), Some(2));
    /// assert_eq!(q.index_of(b'\n', 2), None);
    /// assert_eq!(q.index_of(b'x', usize::MAX), None);
    /// ```
    pub fn index_of(&self, byte: u8, max_len: usize) -> Option<usize> {
        let mut base = 0;
        for seg in self.segments() {
            if base >= max_len {
                break;
            }
            let seg = &seg[..seg.len().min(max_len - base)];
            if let Some(i) = seg.iter().position(|&b| b == byte) {
                return Some(base + i);
            }
            base += seg.len();
        }
        None
    }

    /// Puts `byte` back in front of the unread bytes, so it is read next;
    /// O(1) amortized (it reuses the room in front of the first chunk, or
    /// adds a small chunk with room for more). Returns `true`.
    ///
    /// While a transaction is open nothing happens and `false` is returned:
    /// as in Qt 6, `ungetChar` is not available during a transaction (a
    /// rollback could not tell the pushed byte from the buffered ones).
    /// Qt: `QRingBuffer::ungetChar()`, `QIODevice::ungetChar()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"bc");
    /// assert!(q.unget(b'a'));
    /// assert_eq!(q.read_vec(3), b"abc");
    /// ```
    pub fn unget(&mut self, byte: u8) -> bool {
        if self.txn.is_some() {
            return false;
        }
        if self.head > 0 {
            if let Some(front) = self.chunks.front_mut() {
                self.head -= 1;
                if let Some(slot) = front.get_mut(self.head) {
                    *slot = byte;
                }
                self.len += 1;
                return true;
            }
        }
        let mut chunk = vec![0; UNGET_CHUNK];
        chunk[UNGET_CHUNK - 1] = byte;
        self.chunks.push_front(chunk);
        self.head = UNGET_CHUNK - 1;
        self.len += 1;
        true
    }

    /// Discards every byte, including those kept by an open transaction,
    /// and frees all memory. An open transaction stays open, with nothing
    /// left to give back. Qt: `QRingBuffer::clear()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// q.clear();
    /// assert!(q.is_empty());
    /// assert_eq!(q.heap_bytes(), 0);
    /// ```
    pub fn clear(&mut self) {
        for chunk in std::mem::take(&mut self.chunks) {
            recycle(chunk);
        }
        self.head = 0;
        self.len = 0;
        if let Some(txn) = &mut self.txn {
            *txn = Txn::default();
        }
    }

    /// The unread bytes of the first chunk: the next bytes to read, as one
    /// contiguous slice (empty only if the queue is). For writing to an OS
    /// socket chunk by chunk without copying: write `front_chunk()`, then
    /// [`consume`](Self::consume) what the OS accepted.
    /// Qt: `QRingBuffer::readPointer()`, `nextDataBlockSize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append_vec(vec![1; 1000]);
    /// q.append_vec(vec![2; 1000]);
    /// let mut sent = 0;
    /// while !q.is_empty() {
    ///     let n = q.front_chunk().len().min(700); // what the OS took
    ///     q.consume(n);
    ///     sent += n;
    /// }
    /// assert_eq!(sent, 2000);
    /// ```
    pub fn front_chunk(&self) -> &[u8] {
        self.segments().find(|s| !s.is_empty()).unwrap_or(&[])
    }

    /// Consumes `n` bytes (clamped to [`len`](Self::len)) after a write of
    /// [`front_chunk`](Self::front_chunk) succeeded; the same as
    /// [`skip`](Self::skip). Qt: `QRingBuffer::free()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abc");
    /// q.consume(2);
    /// assert_eq!(q.front_chunk(), b"c");
    /// ```
    pub fn consume(&mut self, n: usize) {
        self.skip(n);
    }

    /// Starts a read transaction. From now on reads, skips and consumes
    /// move the read position but keep the bytes, until
    /// [`commit_transaction`](Self::commit_transaction) drops them or
    /// [`rollback_transaction`](Self::rollback_transaction) makes them
    /// unread again. Appends work as usual; [`unget`](Self::unget) does
    /// nothing during a transaction.
    ///
    /// Transactions do not nest (nor do `QIODevice`'s): starting one while
    /// one is open does nothing, and the first start point stays.
    /// Qt: `QIODevice::startTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abcd");
    /// q.start_transaction();
    /// assert_eq!(q.read_vec(3), b"abc");
    /// assert_eq!(q.len(), 1);
    /// q.rollback_transaction();
    /// assert_eq!(q.len(), 4);
    /// ```
    pub fn start_transaction(&mut self) {
        if self.txn.is_none() {
            self.txn = Some(Txn {
                idx: 0,
                off: self.head,
                consumed: 0,
            });
        }
    }

    /// Ends the transaction, dropping the bytes read during it (freeing
    /// their chunks). Does nothing without a transaction.
    /// Qt: `QIODevice::commitTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"abcd");
    /// q.start_transaction();
    /// q.skip(3);
    /// q.commit_transaction();
    /// assert!(!q.is_transaction_started());
    /// assert_eq!(q.read_vec(9), b"d");
    /// ```
    pub fn commit_transaction(&mut self) {
        let Some(txn) = self.txn.take() else {
            return;
        };
        let idx = txn.idx.min(self.chunks.len());
        for chunk in self.chunks.drain(..idx) {
            recycle(chunk);
        }
        self.head = if idx == txn.idx { txn.off } else { 0 };
        if self.chunks.front().is_some_and(|c| self.head >= c.len()) {
            self.chunks.pop_front();
            self.head = 0;
        }
        self.release_if_empty();
    }

    /// Ends the transaction, making the bytes read during it unread again
    /// ([`len`](Self::len) goes back up). Does nothing without a
    /// transaction. Qt: `QIODevice::rollbackTransaction()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.append(b"ab");
    /// q.start_transaction();
    /// q.skip(2);
    /// q.append(b"c");
    /// q.rollback_transaction();
    /// assert_eq!(q.read_vec(9), b"abc");
    /// ```
    pub fn rollback_transaction(&mut self) {
        if let Some(txn) = self.txn.take() {
            self.len += txn.consumed;
        }
        self.release_if_empty();
    }

    /// Whether a transaction is open. Qt: `QIODevice::isTransactionStarted()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut q = sigloop_core::ByteQueue::new();
    /// q.start_transaction();
    /// assert!(q.is_transaction_started());
    /// q.commit_transaction();
    /// assert!(!q.is_transaction_started());
    /// ```
    pub fn is_transaction_started(&self) -> bool {
        self.txn.is_some()
    }

    /// The unread bytes, as slices in order (the first may be empty when a
    /// transaction's cursor sits at the end of a chunk).
    fn segments(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let (idx, off) = match &self.txn {
            Some(t) => (t.idx, t.off),
            None => (0, self.head),
        };
        let start = idx.min(self.chunks.len());
        self.chunks.range(start..).enumerate().map(move |(i, c)| {
            if i == 0 {
                c.get(off..).unwrap_or(&[])
            } else {
                c.as_slice()
            }
        })
    }

    /// Consumes `n` bytes (clamped), handing them to `sink` segment by
    /// segment. Outside a transaction consumed chunks are freed; inside one
    /// only the cursor moves.
    fn consume_with(&mut self, n: usize, mut sink: impl FnMut(&[u8])) {
        let mut left = n.min(self.len);
        if let Some(txn) = &mut self.txn {
            while left > 0 {
                let Some(chunk) = self.chunks.get(txn.idx) else {
                    break;
                };
                if txn.off >= chunk.len() {
                    if txn.idx + 1 < self.chunks.len() {
                        txn.idx += 1;
                        txn.off = 0;
                        continue;
                    }
                    break;
                }
                let take = (chunk.len() - txn.off).min(left);
                sink(&chunk[txn.off..txn.off + take]);
                txn.off += take;
                txn.consumed += take;
                self.len -= take;
                left -= take;
            }
            return;
        }
        while left > 0 {
            let Some(front) = self.chunks.front() else {
                break;
            };
            let avail = front.get(self.head..).unwrap_or(&[]);
            let take = avail.len().min(left);
            sink(&avail[..take]);
            self.len -= take;
            left -= take;
            if take == avail.len() {
                if let Some(chunk) = self.chunks.pop_front() {
                    recycle(chunk);
                }
                self.head = 0;
            } else {
                self.head += take;
            }
        }
        self.release_if_empty();
    }

    /// Frees the chunk list once nothing is retained.
    fn release_if_empty(&mut self) {
        let kept = self.txn.map_or(0, |t| t.consumed);
        if self.len == 0 && kept == 0 {
            self.chunks = VecDeque::new();
            self.head = 0;
            if let Some(txn) = &mut self.txn {
                *txn = Txn::default();
            }
        }
    }
}

impl fmt::Debug for ByteQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByteQueue")
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .field("transaction", &self.txn.map(|t| t.consumed))
            .finish()
    }
}

impl From<Vec<u8>> for ByteQueue {
    /// A queue holding `data` as its one chunk (no copy for 512 bytes or
    /// more).
    ///
    /// # Examples
    ///
    /// ```
    /// let q = sigloop_core::ByteQueue::from(b"abc".to_vec());
    /// assert_eq!(q.len(), 3);
    /// ```
    fn from(data: Vec<u8>) -> Self {
        let mut q = ByteQueue::new();
        q.append_vec(data);
        q
    }
}

/// The same as [`ByteQueue::new`]. (A derived `Default` left the read
/// reservation at zero, so `fill_from` on such a queue read nothing and the
/// caller saw end of file.)
impl Default for ByteQueue {
    fn default() -> Self {
        ByteQueue::new()
    }
}

/// The read size `queue` learned (see `ByteQueue::fill_hint`), for
/// `sigloop-net`'s pooled buffers; reached through `__private`.
///
/// ```
/// let q = sigloop_core::ByteQueue::new();
/// assert_eq!(sigloop_core::__private::fill_hint(&q), 4096);
/// ```
pub fn fill_hint(queue: &ByteQueue) -> usize {
    queue.fill_hint()
}

/// Hands `queue` a read size learned earlier, clamped to 4..=256 KiB; for
/// `sigloop-net`'s pooled buffers, reached through `__private`.
///
/// ```
/// use sigloop_core::__private::{fill_hint, set_fill_hint};
/// let mut q = sigloop_core::ByteQueue::new();
/// set_fill_hint(&mut q, 1 << 20);
/// assert_eq!(fill_hint(&q), 256 * 1024);
/// ```
pub fn set_fill_hint(queue: &mut ByteQueue, bytes: usize) {
    queue.set_fill_hint(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic xorshift64* PRNG.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            // A small alphabet so that index_of finds things.
            (0..n).map(|_| b"ab\ncd"[self.below(5)]).collect()
        }
    }

    /// The model: unread bytes, plus the bytes a transaction has read.
    #[derive(Default)]
    struct Model {
        unread: VecDeque<u8>,
        txn: Option<Vec<u8>>,
    }

    impl Model {
        fn take(&mut self, n: usize) -> Vec<u8> {
            let n = n.min(self.unread.len());
            let out: Vec<u8> = self.unread.drain(..n).collect();
            if let Some(kept) = &mut self.txn {
                kept.extend_from_slice(&out);
            }
            out
        }
    }

    fn size(rng: &mut Rng) -> usize {
        match rng.below(20) {
            0 | 1 => 0,
            2..=11 => rng.below(16),
            12..=18 => rng.below(1000),
            _ => rng.below(70_000),
        }
    }

    fn check(q: &ByteQueue, m: &Model, full: bool) {
        assert_eq!(q.len(), m.unread.len());
        assert_eq!(q.is_transaction_started(), m.txn.is_some());
        if full {
            let mut all = vec![0; q.len() + 3];
            assert_eq!(q.peek_into(&mut all), q.len());
            assert!(all[..q.len()].iter().eq(m.unread.iter()));
        }
        let retained = m.txn.as_ref().map_or(0, Vec::len);
        if q.is_empty() && retained == 0 {
            assert_eq!(q.heap_bytes(), 0);
        }
        for (i, c) in q.chunks.iter().enumerate() {
            assert!(!c.is_empty(), "empty chunk {i} of {}", q.chunks.len());
        }
    }

    #[test]
    fn model() {
        for seed in 1..=24u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut q = ByteQueue::new();
            let mut m = Model::default();
            for step in 0..1500 {
                let op = rng.below(17);
                match op {
                    0 | 1 => {
                        let n = size(&mut rng);
                        let data = rng.bytes(n);
                        q.append(&data);
                        m.unread.extend(&data);
                    }
                    2 => {
                        let n = size(&mut rng);
                        let data = rng.bytes(n);
                        m.unread.extend(&data);
                        q.append_vec(data);
                    }
                    3 => {
                        let mut buf = vec![0; size(&mut rng)];
                        let n = q.read_into(&mut buf);
                        assert_eq!(buf[..n], m.take(buf.len())[..], "step {step}");
                    }
                    4 => {
                        let max = size(&mut rng);
                        assert_eq!(q.read_vec(max), m.take(max), "step {step}");
                    }
                    5 => {
                        let off = size(&mut rng);
                        let mut buf = vec![0; size(&mut rng)];
                        let n = q.peek_at(off, &mut buf);
                        let want: Vec<u8> =
                            m.unread.iter().skip(off).take(buf.len()).copied().collect();
                        assert_eq!(buf[..n], want[..], "step {step}");
                    }
                    6 => {
                        let n = size(&mut rng);
                        assert_eq!(q.skip(n), m.take(n).len());
                    }
                    7 => {
                        let byte = b"ab\ncdx"[rng.below(6)];
                        let max = size(&mut rng);
                        let want = m.unread.iter().take(max).position(|&b| b == byte);
                        assert_eq!(q.index_of(byte, max), want, "step {step}");
                    }
                    8 => {
                        let byte = rng.bytes(1)[0];
                        let applied = q.unget(byte);
                        assert_eq!(applied, m.txn.is_none());
                        if applied {
                            m.unread.push_front(byte);
                        }
                    }
                    9 => {
                        if rng.below(20) == 0 {
                            q.clear();
                            m.unread.clear();
                            if let Some(kept) = &mut m.txn {
                                kept.clear();
                            }
                        }
                    }
                    10 => {
                        let front = q.front_chunk().to_vec();
                        assert_eq!(front.is_empty(), m.unread.is_empty());
                        let n = rng.below(front.len() + 1);
                        q.consume(n);
                        assert_eq!(front[..n], m.take(n)[..]);
                    }
                    11 => {
                        let max = size(&mut rng);
                        let n = size(&mut rng);
                        let data = rng.bytes(n);
                        let fail = rng.below(8) == 0;
                        let r = q.fill_from(max, |buf| {
                            if fail {
                                buf.fill(0xEE);
                                return Err(io::Error::other("boom"));
                            }
                            let n = data.len().min(buf.len());
                            buf[..n].copy_from_slice(&data[..n]);
                            Ok(n)
                        });
                        match r {
                            Ok(n) => {
                                assert!(n <= max && n <= data.len());
                                m.unread.extend(&data[..n]);
                            }
                            Err(_) => assert!(fail),
                        }
                    }
                    12 | 13 => {
                        q.start_transaction();
                        if m.txn.is_none() {
                            m.txn = Some(Vec::new());
                        }
                    }
                    14 => {
                        q.commit_transaction();
                        m.txn = None;
                    }
                    15 => {
                        q.rollback_transaction();
                        if let Some(kept) = m.txn.take() {
                            for &b in kept.iter().rev() {
                                m.unread.push_front(b);
                            }
                        }
                    }
                    _ => {
                        // Drain everything (outside a transaction) now and then.
                        if m.txn.is_none() && rng.below(4) == 0 {
                            let all = q.read_vec(usize::MAX);
                            assert!(all.iter().eq(m.unread.iter()));
                            m.unread.clear();
                            assert_eq!(q.heap_bytes(), 0);
                        }
                    }
                }
                check(&q, &m, op >= 12 || step % 16 == 0);
            }
        }
    }

    #[test]
    fn drained_queue_holds_no_memory() {
        let mut q = ByteQueue::new();
        assert_eq!(q.heap_bytes(), 0);
        for round in 0..3 {
            q.append(&[1; 100_000]);
            q.append_vec(vec![2; 5000]);
            q.unget(0);
            q.unget(0);
            let _ = q.fill_from(10, |b| Ok(b.len()));
            assert!(q.heap_bytes() > 0);
            match round {
                0 => {
                    q.read_vec(usize::MAX);
                }
                1 => {
                    while !q.is_empty() {
                        let n = q.front_chunk().len();
                        q.consume(n);
                    }
                }
                _ => {
                    q.start_transaction();
                    q.skip(usize::MAX);
                    assert!(q.heap_bytes() > 0, "kept for the rollback");
                    q.commit_transaction();
                }
            }
            assert!(q.is_empty());
            assert_eq!(q.chunks.capacity(), 0);
            assert_eq!(q.heap_bytes(), 0);
        }
        // A failed or empty OS read leaves nothing behind either.
        assert_eq!(q.fill_from(100, |_| Ok(0)).ok(), Some(0));
        assert!(q.fill_from(100, |_| Err(io::Error::other("x"))).is_err());
        assert_eq!(q.heap_bytes(), 0);
    }

    #[test]
    fn appends_coalesce_and_adopt() {
        let mut q = ByteQueue::new();
        for _ in 0..100 {
            q.append(b"0123456789");
        }
        assert_eq!(q.chunks.len(), 2, "512 then 1024 byte chunks");
        let big = vec![9u8; 10_000];
        let ptr = big.as_ptr();
        q.append_vec(big);
        assert_eq!(q.chunks.back().map(|c| c.as_ptr()), Some(ptr));
        q.skip(1000);
        let out = q.read_vec(10_000);
        assert_eq!(out.as_ptr(), ptr, "whole chunk handed back without a copy");
    }

    #[test]
    fn fill_from_reuses_tail_room_and_adapts() {
        let mut q = ByteQueue::new();
        for _ in 0..100 {
            q.fill_from(usize::MAX, |b| {
                b[..10].fill(1);
                Ok(10)
            })
            .ok();
        }
        assert_eq!(q.len(), 1000);
        assert_eq!(q.chunks.len(), 1, "small reads share one chunk");
        // Reads that fill the reservation grow it up to 256 KiB.
        let mut sizes = Vec::new();
        for _ in 0..8 {
            q.fill_from(usize::MAX, |b| {
                sizes.push(b.len());
                Ok(b.len())
            })
            .ok();
        }
        assert_eq!(sizes.iter().max(), Some(&MAX_FILL));
        // `f` claiming more than it was given is clamped.
        let before = q.len();
        assert_eq!(q.fill_from(3, |_| Ok(99)).ok(), Some(3));
        assert_eq!(q.len(), before + 3);
    }

    #[test]
    fn would_block_does_not_shrink_the_reservation() {
        // A 4 KiB message fills the 4 KiB reservation; the read after it
        // finds nothing. The next message must be offered more than 4 KiB,
        // so that its read comes back short and proves the socket drained.
        let mut q = ByteQueue::new();
        let full = q.fill_from(usize::MAX, |b| Ok(b.len())).unwrap();
        assert_eq!(full, 4096);
        let again = q.fill_from(usize::MAX, |_| Err(io::ErrorKind::WouldBlock.into()));
        assert!(again.is_err());
        assert_eq!(q.fill_hint(), 8192);
    }

    #[test]
    fn large_chunks_are_pooled_per_thread() {
        // Run on a thread of its own: the pool is per thread.
        std::thread::spawn(|| {
            let mut q = ByteQueue::new();
            q.set_fill_hint(MAX_FILL);
            let n = q.fill_from(usize::MAX, |b| {
                assert_eq!(b.len(), MAX_FILL);
                b.fill(1);
                Ok(b.len())
            });
            assert_eq!(n.ok(), Some(MAX_FILL));
            let ptr = q.front_chunk().as_ptr();
            assert_eq!(q.skip(usize::MAX), MAX_FILL);
            assert_eq!(q.heap_bytes(), 0, "the queue keeps nothing");
            // The next large read lands in the same memory, which still
            // holds the old bytes (nothing was zeroed)...
            let n = q.fill_from(usize::MAX, |b| {
                assert_eq!(b.as_ptr(), ptr);
                assert!(b.iter().all(|&x| x == 1));
                b[..10].fill(2);
                Ok(10)
            });
            assert_eq!(n.ok(), Some(10));
            // ...but only the bytes read are queued.
            assert_eq!(q.read_vec(usize::MAX), vec![2; 10]);
            // A large append uses pool chunks too, and a drained queue
            // frees them to the pool.
            q.append(&[3; 3 * MAX_FILL + 5]);
            assert_eq!(q.front_chunk().len(), MAX_FILL);
            q.clear();
            // (The read chunk went to the caller with `read_vec`; the
            // 5-byte tail is a small chunk of its own.)
            assert_eq!(POOL.with(|p| p.borrow().lists[POOL_CLASSES - 1].len()), 3);
            // The pool keeps at most POOL_BYTES.
            q.append(&vec![3; 2 * POOL_BYTES]);
            q.skip(usize::MAX);
            let bytes = POOL.with(|p| p.borrow().bytes);
            assert!(
                bytes <= POOL_BYTES && bytes > POOL_BYTES - MAX_FILL,
                "bounded: {bytes}"
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn mid_sized_reads_land_in_pooled_chunks_of_their_size() {
        std::thread::spawn(|| {
            let mut q = ByteQueue::new();
            q.set_fill_hint(8 * 1024);
            let n = q.fill_from(usize::MAX, |b| {
                assert_eq!(b.len(), 8 * 1024);
                b[..4096].fill(5);
                Ok(4096)
            });
            assert_eq!(n.ok(), Some(4096));
            // The read landed in place: the chunk is 8 KiB, not a copy.
            let deque = q.chunks.capacity() * std::mem::size_of::<Vec<u8>>();
            assert_eq!(q.heap_bytes() - deque, 8 * 1024);
            let chunk = q.read_vec(usize::MAX);
            assert_eq!(chunk.len(), 4096);
            assert_eq!(chunk.capacity(), 8 * 1024, "handed over, not shrunk");
            let ptr = chunk.as_ptr();
            // A write queue sends it and gives it back to the pool.
            let mut w = ByteQueue::new();
            w.append_vec(chunk);
            assert_eq!(w.skip(usize::MAX), 4096);
            assert_eq!(POOL.with(|p| p.borrow().lists[0].len()), 1);
            // The next read of that size reuses it.
            q.set_fill_hint(8 * 1024);
            q.fill_from(usize::MAX, |b| {
                assert_eq!(b.as_ptr(), ptr);
                Ok(100)
            })
            .unwrap();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_bulk_read_is_handed_over_whole_and_comes_back_to_the_pool() {
        // A stream that fills its reads grows the reservation to 256 KiB;
        // one such read that came back a quarter full is still handed to
        // `read_vec` as it is (no copy, capacity kept), and a write queue
        // that sends it gives it back to the pool for the next read.
        std::thread::spawn(|| {
            let mut q = ByteQueue::new();
            while q.fill_hint() < MAX_FILL {
                q.fill_from(usize::MAX, |b| Ok(b.len())).unwrap();
                q.skip(usize::MAX);
            }
            let n = q.fill_from(usize::MAX, |b| {
                assert_eq!(b.len(), MAX_FILL);
                Ok(MAX_FILL / 4)
            });
            assert_eq!(n.ok(), Some(MAX_FILL / 4));
            assert_eq!(q.fill_hint(), MAX_FILL, "a quarter does not shrink it");
            let ptr = q.front_chunk().as_ptr();
            let chunk = q.read_vec(usize::MAX);
            assert_eq!((chunk.as_ptr(), chunk.capacity()), (ptr, MAX_FILL));
            let mut w = ByteQueue::new();
            w.append_vec(chunk);
            w.skip(usize::MAX);
            q.fill_from(usize::MAX, |b| {
                assert_eq!(b.as_ptr(), ptr, "the same memory, from the pool");
                Ok(1)
            })
            .unwrap();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn queues_work_while_thread_locals_are_destroyed() {
        struct ClearOnDrop(RefCell<ByteQueue>);
        impl Drop for ClearOnDrop {
            fn drop(&mut self) {
                let mut q = self.0.borrow_mut();
                q.clear();
                q.append(&[1; 3 * MAX_FILL]);
                assert_eq!(q.skip(usize::MAX), 3 * MAX_FILL);
                // A small read (the scratch buffer's path) too.
                assert_eq!(q.fill_from(10, |b| Ok(b.len())).ok(), Some(10));
            }
        }
        thread_local! {
            static HOLDER: ClearOnDrop = const { ClearOnDrop(RefCell::new(ByteQueue::new())) };
        }
        std::thread::spawn(|| {
            // Registered first, so destroyed after the pool.
            HOLDER.with(|h| h.0.borrow_mut().append(&[0; 2 * MAX_FILL]));
            let mut q = ByteQueue::new();
            q.append(&[0; MAX_FILL + 1]);
            q.clear();
            assert_eq!(q.fill_from(10, |b| Ok(b.len())).ok(), Some(10));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn unget_is_amortized_and_ignored_in_transactions() {
        let mut q = ByteQueue::new();
        for i in 0..100u8 {
            assert!(q.unget(i));
        }
        assert!(q.chunks.len() <= 100 / (UNGET_CHUNK - 1) + 2);
        let out = q.read_vec(usize::MAX);
        assert_eq!(out, (0..100u8).rev().collect::<Vec<_>>());
        q.append(b"xy");
        q.start_transaction();
        assert_eq!(q.read_vec(1), b"x");
        assert!(!q.unget(b'x'));
        q.rollback_transaction();
        assert_eq!(q.read_vec(9), b"xy");
    }

    #[test]
    fn transaction_across_chunks() {
        let mut q = ByteQueue::new();
        q.append_vec(vec![1; 600]);
        q.append_vec(vec![2; 600]);
        q.start_transaction();
        q.start_transaction(); // no nesting: the first start point stays
        assert_eq!(q.skip(700), 700);
        assert_eq!(q.front_chunk(), &[2; 500][..]);
        q.rollback_transaction();
        assert_eq!(q.len(), 1200);
        q.start_transaction();
        assert_eq!(q.skip(600), 600);
        q.append(b"z");
        q.commit_transaction();
        assert_eq!(q.len(), 601);
        assert_eq!(q.chunks.len(), 2);
        assert_eq!(q.head, 0);
    }
}

#[cfg(test)]
mod default_tests {
    use super::ByteQueue;

    #[test]
    fn a_default_queue_reads_like_a_new_one() {
        let mut queue = ByteQueue::default();
        let n = queue.fill_from(64, |buf| {
            assert!(!buf.is_empty(), "a zero-length reservation looks like EOF");
            buf[..2].copy_from_slice(b"hi");
            Ok(2)
        });
        assert_eq!(n.unwrap(), 2);
        assert_eq!(queue.len(), 2);
    }
}
