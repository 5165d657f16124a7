//! Write back-pressure: opt-in high and low water marks on the write
//! buffer (no Qt counterpart: Qt's write buffer grows without limit).
//!
//! The socket is either *below* (the start) or *above* the marks. A
//! write that takes `bytes_to_write` past `high` moves it above and emits
//! `high_water_reached` from inside that write, so the writer can stop
//! reading its source before the next write; a flush that drains the
//! buffer to `low` or below moves it back and emits `low_water_reached`
//! from the loop, after that flush's `bytes_written`. Between the marks
//! nothing is emitted, so a buffer hovering around one mark does not
//! flap.
//!
//! The state lives in the socket's rarely used data: a socket without
//! marks pays one pointer test per write and per flush, and the two
//! signals are made on first use.

use super::engine::{Data, SocketCore};

/// The marks set with `set_write_buffer_water_marks` and where the write
/// buffer stands against them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaterMarks {
    pub(crate) low: usize,
    pub(crate) high: usize,
    /// `high_water_reached` was emitted and `low_water_reached` not yet.
    pub(crate) above: bool,
}

/// A crossing to announce once the borrow is released.
enum Crossing {
    High(u64),
    Low(u64),
}

impl WaterMarks {
    /// Moves the state for a buffer of `len` bytes; says which crossing
    /// happened, if one did.
    fn update(&mut self, len: usize) -> Option<Crossing> {
        if !self.above && len > self.high {
            self.above = true;
            Some(Crossing::High(len as u64))
        } else if self.above && len <= self.low {
            self.above = false;
            Some(Crossing::Low(len as u64))
        } else {
            None
        }
    }
}

impl Data {
    /// Drops the write buffer (abort, a new connect, a new descriptor):
    /// the marks start again from *below*, silently (`disconnected` or the
    /// new connection tells the application what happened).
    pub(crate) fn clear_write_buf(&mut self) {
        self.write_buf.clear();
        if let Some(marks) = self.rare_if_any().and_then(|r| r.write_marks.as_mut()) {
            marks.above = false;
        }
    }

    fn water_crossing(&mut self) -> Option<Crossing> {
        let len = self.write_buf.len();
        self.rare_if_any()?.write_marks.as_mut()?.update(len)
    }
}

impl SocketCore {
    /// Sets the marks (`low` is capped at `high`) and announces at once a
    /// crossing the new marks make, from this call.
    pub(crate) fn set_water_marks(&self, low: usize, high: usize) {
        {
            let mut d = self.d.borrow_mut();
            let rare = d.rare_mut();
            let above = rare.write_marks.is_some_and(|m| m.above);
            rare.write_marks = Some(WaterMarks {
                low: low.min(high),
                high,
                above,
            });
        }
        self.announce_water_crossing();
    }

    /// Removes the marks; a socket that was above them is told it is not
    /// any more (`low_water_reached`), so a paused source resumes.
    pub(crate) fn clear_water_marks(&self) {
        let was_above = {
            let mut d = self.d.borrow_mut();
            d.rare_if_any()
                .and_then(|r| r.write_marks.take())
                .is_some_and(|m| m.above)
        };
        if was_above {
            let len = self.d.borrow().write_buf.len() as u64;
            self.sig.emit_low_water_reached(len);
        }
    }

    /// The marks, if set: `(low, high)`.
    pub(crate) fn water_marks(&self) -> Option<(usize, usize)> {
        let d = self.d.borrow();
        d.rare()?.write_marks.map(|m| (m.low, m.high))
    }

    /// Emits the crossing the write buffer made since the last check, if
    /// any. Called after every change of the buffer's length, outside any
    /// borrow.
    pub(crate) fn announce_water_crossing(&self) {
        let crossing = self.d.borrow_mut().water_crossing();
        match crossing {
            None => {}
            Some(Crossing::High(len)) => self.sig.emit_high_water_reached(len),
            Some(Crossing::Low(len)) => self.sig.emit_low_water_reached(len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WaterMarks;

    fn marks(low: usize, high: usize) -> WaterMarks {
        WaterMarks {
            low,
            high,
            above: false,
        }
    }

    #[test]
    fn crossings_need_the_far_mark() {
        let mut m = marks(10, 100);
        assert!(m.update(100).is_none(), "at the high mark is not above it");
        assert!(matches!(m.update(101), Some(super::Crossing::High(101))));
        assert!(m.update(500).is_none(), "already above");
        assert!(m.update(11).is_none(), "between the marks: still above");
        assert!(matches!(m.update(10), Some(super::Crossing::Low(10))));
        assert!(m.update(50).is_none(), "between the marks: still below");
    }

    #[test]
    fn extreme_marks_are_ordinary() {
        let mut never = marks(usize::MAX, usize::MAX);
        assert!(never.update(usize::MAX).is_none());
        let mut zero = marks(0, 0);
        assert!(matches!(zero.update(1), Some(super::Crossing::High(1))));
        assert!(matches!(zero.update(0), Some(super::Crossing::Low(0))));
    }
}
