//! Tests that talk to a real peer (Qt through PySide6, the proxies dante,
//! microsocks, squid and tinyproxy, openssl) and what happens when the peer is not
//! installed.
//!
//! Plain `cargo test` on a fresh clone must pass, so a test whose peer is
//! missing does not run: it says so on stderr, uncaptured (the harness
//! hides what `eprintln!` prints from a passing test), and returns. CI must
//! not pass without the peers, so `.ci/test` installs them and sets
//! [`REQUIRE_ENV`]`=1`, which turns a missing peer into a failure.
//!
//! A test asks at its start: `let Some(python) = peers::python("name")
//! else { return };`. A new kind of peer adds a finder here that ends in
//! [`require`].

use std::io::Write;
use std::path::{Path, PathBuf};

/// Set to `1` (as `.ci/test` does) to fail tests whose peer is missing
/// instead of skipping them.
pub const REQUIRE_ENV: &str = "SIGLOOP_REQUIRE_PEERS";

/// How to install the peers and run the tests that need them.
pub const HOW_TO_RUN: &str = "run `bash .ci/test` from the repository root: it installs the \
                              peers (PySide6 into .venv; openssl; the proxies, \
                              started by .ci/proxies.sh) and runs every test with them";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The project's virtual environment Python, where PySide6 is installed.
pub fn venv_python() -> PathBuf {
    repo().join(".venv/bin/python")
}

/// [`venv_python`] for `test`, if it exists; see [`require`].
#[track_caller]
pub fn python(test: &str) -> Option<PathBuf> {
    let python = venv_python();
    let found = python.exists().then_some(python);
    require(
        test,
        &format!(
            "PySide6 (the Qt peer; {} is missing)",
            venv_python().display()
        ),
        found,
    )
}

/// The `openssl` command line tool (`s_server`, `s_client`), found on
/// `PATH`, if it is there; see [`require`].
#[track_caller]
pub fn openssl(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("openssl"))
            .find(|candidate| candidate.is_file())
    });
    require(
        test,
        "the openssl command (Debian package `openssl`)",
        found,
    )
}

/// A real proxy started by `.ci/proxies.sh`: where it listens, read from
/// `SIGLOOP_PROXY_<NAME>` (`MICROSOCKS`, `MICROSOCKS_AUTH`, `DANTE`,
/// `DANTE_AUTH`, `TINYPROXY_AUTH`, `SQUID_AUTH`), if set; see [`require`].
#[track_caller]
pub fn proxy(test: &str, name: &str) -> Option<std::net::SocketAddr> {
    let var = format!("SIGLOOP_PROXY_{name}");
    let found = std::env::var(&var).ok().map(|value| {
        let address: std::net::SocketAddr = value
            .parse()
            .unwrap_or_else(|_| panic!("{var}={value:?} is not host:port"));
        assert!(address.ip().is_loopback(), "{var} must be on loopback");
        address
    });
    require(
        test,
        &format!("a real proxy ({var}; `bash .ci/proxies.sh cargo test` sets it)"),
        found,
    )
}

/// Whether [`REQUIRE_ENV`] makes missing peers an error.
pub fn peers_required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `found`, or, when the peer is missing: a panic if peers are required
/// ([`REQUIRE_ENV`]), else a notice on stderr and `None` (the test returns
/// without running).
#[track_caller]
pub fn require<T>(test: &str, peer: &str, found: Option<T>) -> Option<T> {
    // Straight to the stream, not `eprintln!`: the harness captures that
    // and shows it only for failing tests.
    require_with(test, peer, found, peers_required(), &mut std::io::stderr())
}

/// [`require`] with the requirement given rather than read from the
/// environment, and the notice written to `notice`.
#[track_caller]
pub fn require_with<T>(
    test: &str,
    peer: &str,
    found: Option<T>,
    required: bool,
    notice: &mut dyn Write,
) -> Option<T> {
    if found.is_some() {
        return found;
    }
    assert!(
        !required,
        "{test}: needs {peer}, and {REQUIRE_ENV} is set, so a missing peer fails: {HOW_TO_RUN}."
    );
    let _ = writeln!(
        notice,
        "SKIPPED {test}: NOT RUN, needs {peer}; {HOW_TO_RUN}."
    );
    None
}
