//! What every sigloop object shares: deferred deletion and `destroyed`.

use std::cell::Cell;

use sigloop_signals::Signal;

use crate::dispatcher;

/// The deletion state of one object (Qt: the QObject part of it).
pub(crate) struct Lifecycle {
    deleted: Cell<bool>,
    delete_pending: Cell<bool>,
    pub(crate) destroyed: Signal<()>,
}

impl Lifecycle {
    pub(crate) fn new() -> Self {
        Lifecycle {
            deleted: Cell::new(false),
            delete_pending: Cell::new(false),
            destroyed: Signal::new(),
        }
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted.get()
    }

    /// Queues `delete` under Qt's nesting rule; a second call is a no-op.
    pub(crate) fn delete_later(&self, delete: impl FnOnce() + 'static) {
        if self.deleted.get() || self.delete_pending.replace(true) {
            return;
        }
        dispatcher::with_current(|inner| inner.post_delete(Box::new(delete)));
    }

    /// Marks the object deleted; returns `false` if it already was. The
    /// caller then releases its resources and calls [`finish`](Self::finish).
    pub(crate) fn begin_delete(&self) -> bool {
        !self.deleted.replace(true)
    }

    /// Emits `destroyed` (even while signals are blocked, as Qt does) and
    /// then drops its connections.
    pub(crate) fn finish(&self) {
        let blocked = self.destroyed.block_signals(false);
        self.destroyed.emit(&());
        self.destroyed.block_signals(blocked);
        self.destroyed.disconnect_all();
    }
}
