//! Where a local server's name lives, and Qt's error texts for local
//! sockets and servers.
//!
//! A name that starts with `/` is a path used as is; any other name is a
//! file in the temporary directory (Qt: `QDir::tempPath()`: `$TMPDIR`,
//! else `/tmp`). With the abstract-namespace option (Linux) the name is
//! used as is, with no file.

use std::io;
use std::path::PathBuf;

use socket2::SockAddr;

use super::LocalSocketError;

/// Whether the platform has an abstract namespace for Unix sockets.
pub(crate) const ABSTRACT_NAMESPACE: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The size of `sockaddr_un::sun_path`.
const SUN_PATH: usize = if cfg!(any(target_os = "linux", target_os = "android")) {
    108
} else {
    104
};

/// Qt: `QDir::tempPath()`: `$TMPDIR` without a trailing `/`, else `/tmp`.
pub(crate) fn temp_path() -> String {
    let dir = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    let text = dir.to_string_lossy().into_owned();
    match text.trim_end_matches('/') {
        "" => "/".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

/// The full server name of `name`: itself when absolute or abstract,
/// else in the temporary directory.
pub(crate) fn full_name(name: &str, abstract_namespace: bool) -> String {
    if abstract_namespace || name.starts_with('/') {
        name.to_owned()
    } else {
        format!("{}/{name}", temp_path())
    }
}

/// The short name Qt reports for an accepted connection: the file name of
/// a path, the whole name in the abstract namespace.
pub(crate) fn short_name(full: &str, abstract_namespace: bool) -> String {
    if abstract_namespace {
        return full.to_owned();
    }
    match full.rsplit('/').next() {
        Some(last) if !last.is_empty() => last.to_owned(),
        _ => full.to_owned(),
    }
}

/// The socket address of a full name, `None` when it does not fit
/// `sun_path` (Qt leaves room for a leading and a trailing NUL).
pub(crate) fn socket_address(full: &str, abstract_namespace: bool) -> Option<SockAddr> {
    if full.len() + 2 > SUN_PATH {
        return None;
    }
    let path = if abstract_namespace {
        // A leading NUL: socket2 makes it an abstract address, the name's
        // bytes without a trailing NUL, as Qt does.
        format!("\0{full}")
    } else {
        full.to_owned()
    };
    SockAddr::unix(path).ok()
}

/// The full name of the socket's peer (else its own address) and whether
/// it is abstract (Qt: `QLocalSocketPrivate::describeSocket`).
pub(crate) fn describe(fd: std::os::fd::RawFd) -> Option<(String, bool)> {
    use nix::sys::socket::{getpeername, getsockname, UnixAddr};
    let named = |addr: UnixAddr| -> Option<(String, bool)> {
        if let Some(path) = addr.path() {
            return Some((path.to_string_lossy().into_owned(), false));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(name) = addr.as_abstract() {
            return Some((String::from_utf8_lossy(name).into_owned(), true));
        }
        None
    };
    getpeername::<UnixAddr>(fd)
        .ok()
        .and_then(named)
        .or_else(|| getsockname::<UnixAddr>(fd).ok().and_then(named))
}

/// Qt's `QLocalSocketPrivate::generateErrorString`: `function`, then the
/// error's text. `os` is the OS error behind an unknown error, if known.
pub(crate) fn socket_error_text(
    error: LocalSocketError,
    function: &str,
    os: Option<&io::Error>,
) -> String {
    use LocalSocketError::*;
    let what = match error {
        ConnectionRefused => "Connection refused",
        PeerClosed => "Remote closed",
        ServerNotFound => "Invalid name",
        SocketAccess => "Socket access error",
        SocketResource => "Socket resource error",
        SocketTimeout => "Socket operation timed out",
        DatagramTooLarge => "Datagram too large",
        Connection => "Connection error",
        UnsupportedSocketOperation => "The socket operation is not supported",
        Operation => "Operation not permitted when socket is in this state",
        Unknown => {
            let errno = os.and_then(io::Error::raw_os_error).unwrap_or(0);
            return format!("{function}: Unknown error {errno}");
        }
    };
    format!("{function}: {what}")
}

/// Qt's `QLocalServerPrivate::setError`: the server error and its text for
/// an OS error in `function`.
pub(crate) fn server_error(function: &str, err: &io::Error) -> (crate::SocketError, String) {
    use crate::SocketError as E;
    use nix::errno::Errno::*;
    let errno = err.raw_os_error().map(nix::errno::Errno::from_raw);
    match errno {
        Some(EACCES) => (E::SocketAccess, format!("{function}: Permission denied")),
        Some(ELOOP | ENOENT | ENAMETOOLONG | EROFS | ENOTDIR) => {
            (E::HostNotFound, format!("{function}: Name error"))
        }
        Some(EADDRINUSE) => (E::AddressInUse, format!("{function}: Address in use")),
        _ => (
            E::Unknown,
            format!(
                "{function}: Unknown error {} ({})",
                err.raw_os_error().unwrap_or(0),
                strip_os_suffix(err)
            ),
        ),
    }
}

/// The OS's message without Rust's " (os error N)" suffix.
fn strip_os_suffix(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_lives_in_the_temporary_directory() {
        let full = full_name("fortune", false);
        assert!(full.ends_with("/fortune"), "{full}");
        assert!(!full.contains("//"), "{full}");
        assert_eq!(full_name("/run/x.sock", false), "/run/x.sock");
        assert_eq!(full_name("fortune", true), "fortune");
    }

    #[test]
    fn short_names_are_the_file_name() {
        assert_eq!(short_name("/tmp/a/fortune", false), "fortune");
        assert_eq!(short_name("/tmp/a/", false), "/tmp/a/");
        assert_eq!(short_name("a/b", true), "a/b");
    }

    #[test]
    fn a_name_too_long_for_sun_path_has_no_address() {
        let long = format!("/tmp/{}", "x".repeat(SUN_PATH));
        assert!(socket_address(&long, false).is_none());
        assert!(socket_address("/tmp/short", false).is_some());
    }

    #[test]
    fn texts_are_qts() {
        assert_eq!(
            socket_error_text(
                LocalSocketError::ServerNotFound,
                "QLocalSocket::connectToServer",
                None
            ),
            "QLocalSocket::connectToServer: Invalid name"
        );
        assert_eq!(
            socket_error_text(LocalSocketError::PeerClosed, "QLocalSocket", None),
            "QLocalSocket: Remote closed"
        );
        let in_use = io::Error::from_raw_os_error(nix::errno::Errno::EADDRINUSE as i32);
        assert_eq!(
            server_error("QLocalServer::listen", &in_use),
            (
                crate::SocketError::AddressInUse,
                "QLocalServer::listen: Address in use".to_owned()
            )
        );
    }
}
