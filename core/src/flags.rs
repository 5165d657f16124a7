//! Flags for processing events (Qt: `QEventLoop::ProcessEventsFlags`).

use std::ops::{BitOr, BitOrAssign};

/// Which events one pass of the loop handles, and whether it may wait.
///
/// Combine with `|`. The bit values are Qt's.
///
/// Qt: `QEventLoop::ProcessEventsFlags`.
///
/// # Examples
///
/// ```
/// use sigloop_core::ProcessEventsFlags;
///
/// let flags = ProcessEventsFlags::EXCLUDE_SOCKET_NOTIFIERS | ProcessEventsFlags::WAIT_FOR_MORE_EVENTS;
/// assert!(flags.contains(ProcessEventsFlags::WAIT_FOR_MORE_EVENTS));
/// assert_eq!(flags.bits(), 0x06);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProcessEventsFlags(u32);

impl ProcessEventsFlags {
    /// Everything. Qt: `QEventLoop::AllEvents` (0x00).
    pub const ALL_EVENTS: Self = ProcessEventsFlags(0x00);
    /// Socket notifiers (and sockets) do not fire; their readiness stays
    /// pending until a pass without this flag. Qt:
    /// `QEventLoop::ExcludeSocketNotifiers` (0x02).
    pub const EXCLUDE_SOCKET_NOTIFIERS: Self = ProcessEventsFlags(0x02);
    /// Block until something arrives if nothing is pending. Only
    /// `process_events` honours it; `exec` always waits. Qt:
    /// `QEventLoop::WaitForMoreEvents` (0x04).
    pub const WAIT_FOR_MORE_EVENTS: Self = ProcessEventsFlags(0x04);

    /// The raw bits.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::ProcessEventsFlags::ALL_EVENTS.bits(), 0);
    /// ```
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::ProcessEventsFlags as F;
    /// assert!(!F::ALL_EVENTS.contains(F::EXCLUDE_SOCKET_NOTIFIERS));
    /// ```
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// These flags without the bits of `other`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::ProcessEventsFlags as F;
    /// assert_eq!(F::WAIT_FOR_MORE_EVENTS.without(F::WAIT_FOR_MORE_EVENTS), F::ALL_EVENTS);
    /// ```
    #[must_use]
    pub const fn without(self, other: Self) -> Self {
        ProcessEventsFlags(self.0 & !other.0)
    }
}

impl BitOr for ProcessEventsFlags {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        ProcessEventsFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for ProcessEventsFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}
