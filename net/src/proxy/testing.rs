//! Test helpers shared by the handshake tests: split feeding and a small
//! deterministic random source for the property tests.

use super::HandshakeEvent;

/// Every way the tests cut a byte stream: whole, at each single split
/// point, and one byte at a time.
pub(crate) fn cuts(len: usize) -> Vec<Vec<usize>> {
    let mut all = vec![vec![len]];
    for k in 1..len {
        all.push(vec![k, len - k]);
    }
    all.push(vec![1; len]);
    all
}

/// Feeds `stream` in pieces of the given sizes through `feed`, collecting
/// every event that is not `Pending` (after a `Bound`, one empty feed
/// follows, as the driver contract says). Stops at a failure, as a driver
/// closes the connection then.
pub(crate) fn feed_in_pieces(
    stream: &[u8],
    pieces: &[usize],
    feed: &mut dyn FnMut(&[u8]) -> HandshakeEvent,
) -> Vec<HandshakeEvent> {
    let mut events = Vec::new();
    let mut at = 0;
    for &n in pieces {
        let end = (at + n).min(stream.len());
        if matches!(events.last(), Some(HandshakeEvent::Failed(_))) {
            break;
        }
        let mut event = feed(&stream[at..end]);
        at = end;
        loop {
            let bound = matches!(event, HandshakeEvent::Bound(_));
            if event != HandshakeEvent::Pending {
                events.push(event);
            }
            if !bound {
                break;
            }
            event = feed(&[]);
        }
    }
    events
}

/// xorshift64*: reproducible pseudo-random numbers for bounded property
/// tests (no dependency, same sequence on every run).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}
