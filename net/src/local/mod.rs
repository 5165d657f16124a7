//! Qt's local sockets on Unix-domain stream sockets: `QLocalSocket` and
//! `QLocalServer`.
//!
//! As in Qt's Unix implementation, a local socket connects by itself (the
//! name rules and connect errors are `QLocalSocket`'s) and then hands its
//! descriptor to the shared socket engine, which does the buffering,
//! signals and closing exactly as for a TCP connection; the local socket
//! translates the engine's states and errors into its own enums. The
//! server shares `TcpServer`'s pending queue, limits and accept loop over a
//! Unix-domain listener.
//!
//! - `enums`: `LocalSocketState`, `LocalSocketError` and the option flags;
//! - `name`: where a server name lives (temporary directory, absolute
//!   path, abstract namespace) and Qt's error texts;
//! - `socket`: `LocalSocket`;
//! - `server`: `LocalServer`.

mod enums;
mod name;
mod server;
mod socket;

pub use enums::{LocalServerOptions, LocalSocketError, LocalSocketOptions, LocalSocketState};
pub use server::{LocalServer, WeakLocalServer};
pub use socket::{LocalSocket, WeakLocalSocket};
