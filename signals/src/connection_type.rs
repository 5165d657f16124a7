//! Connection types and flags (Qt: `Qt::ConnectionType`).

/// How a slot is invoked when its signal is emitted.
///
/// Qt: `Qt::ConnectionType` (`AutoConnection` … `BlockingQueuedConnection`).
/// The numeric values are Qt's.
///
/// # Examples
///
/// ```
/// use sigloop_signals::ConnectionType;
/// assert_eq!(ConnectionType::default(), ConnectionType::Auto);
/// assert_eq!(ConnectionType::Queued as u32, 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectionType {
    /// Decided at emit time: direct when the receiver lives on the emitting
    /// thread, queued otherwise. Qt: `Qt::AutoConnection`.
    #[default]
    Auto = 0,
    /// The slot runs inside `emit`, on the emitting thread.
    /// Qt: `Qt::DirectConnection`.
    Direct = 1,
    /// The arguments are cloned and the call is posted to the receiver's
    /// event loop. Qt: `Qt::QueuedConnection`.
    Queued = 2,
    /// Like [`Queued`](Self::Queued), and `emit` waits until the slot has run.
    /// Connecting it to a loop on the emitting thread is refused with
    /// [`ConnectError::WouldDeadlock`] instead of deadlocking as Qt does.
    /// Qt: `Qt::BlockingQueuedConnection`.
    BlockingQueued = 3,
}

/// A connection type plus Qt's `UniqueConnection` and
/// `SingleShotConnection` flags.
///
/// Build one from a [`ConnectionType`] and the flag methods.
///
/// # Examples
///
/// ```
/// use sigloop_signals::{ConnectOptions, ConnectionType};
///
/// let opts = ConnectionType::Queued.single_shot();
/// assert_eq!(opts.kind, ConnectionType::Queued);
/// assert!(opts.single_shot && !opts.unique);
/// assert_eq!(ConnectOptions::from(ConnectionType::Direct).unique().kind, ConnectionType::Direct);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConnectOptions {
    /// How the slot is invoked.
    pub kind: ConnectionType,
    /// Refuse the connection if the same slot is already connected to the
    /// same receiver. Qt: `Qt::UniqueConnection` (0x80).
    ///
    /// Qt compares member-function pointers and cannot do this for lambdas.
    /// Here "the same slot" means the same closure *type*: each closure
    /// expression (and each `fn` item) is its own type, so connecting the
    /// same closure expression twice, say in a loop, is refused even if its
    /// captured values differ.
    pub unique: bool,
    /// Disconnect before the first invocation.
    /// Qt: `Qt::SingleShotConnection` (0x100).
    pub single_shot: bool,
}

impl ConnectOptions {
    /// Adds the unique flag.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_signals::ConnectOptions;
    /// assert!(ConnectOptions::default().unique().unique);
    /// ```
    #[must_use]
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// Adds the single-shot flag.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_signals::ConnectOptions;
    /// assert!(ConnectOptions::default().single_shot().single_shot);
    /// ```
    #[must_use]
    pub fn single_shot(mut self) -> Self {
        self.single_shot = true;
        self
    }
}

impl From<ConnectionType> for ConnectOptions {
    fn from(kind: ConnectionType) -> Self {
        ConnectOptions {
            kind,
            unique: false,
            single_shot: false,
        }
    }
}

impl ConnectionType {
    /// This type with the unique flag. See [`ConnectOptions::unique`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_signals::ConnectionType;
    /// assert!(ConnectionType::Direct.unique().unique);
    /// ```
    #[must_use]
    pub fn unique(self) -> ConnectOptions {
        ConnectOptions::from(self).unique()
    }

    /// This type with the single-shot flag. See [`ConnectOptions::single_shot`].
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_signals::ConnectionType;
    /// assert!(ConnectionType::Auto.single_shot().single_shot);
    /// ```
    #[must_use]
    pub fn single_shot(self) -> ConnectOptions {
        ConnectOptions::from(self).single_shot()
    }
}

/// Why a connection was not made.
///
/// # Examples
///
/// ```
/// use sigloop_signals::{ConnectError, ConnectionType, Signal};
///
/// fn on_value(_: &i32) {}
/// let signal = Signal::<i32>::new();
/// let first = signal.connect_with(ConnectionType::Direct.unique(), on_value).unwrap();
/// let again = signal.connect_with(ConnectionType::Direct.unique(), on_value);
/// assert_eq!(again.unwrap_err(), ConnectError::AlreadyConnected);
/// # first.disconnect();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// A unique connection of this slot to this receiver already exists.
    /// Qt returns an invalid `QMetaObject::Connection` here.
    AlreadyConnected,
    /// A blocking-queued connection to a loop on the emitting thread would
    /// wait for itself forever. Qt warns "Dead lock detected" and hangs.
    WouldDeadlock,
    /// The receiver or target loop is already gone.
    ReceiverGone,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectError::AlreadyConnected => "the same slot is already connected to this receiver",
            ConnectError::WouldDeadlock => {
                "a blocking-queued connection to the emitting thread's own loop would deadlock"
            }
            ConnectError::ReceiverGone => "the receiver is already gone",
        })
    }
}

impl std::error::Error for ConnectError {}
