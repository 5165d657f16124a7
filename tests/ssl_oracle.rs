//! Our `SslSocket` against real Qt: each TLS scenario of Qt's oracle
//! (`qt_oracle.py`, PySide6 6.12, traces in
//! `tests/oracle/qt-6.12-tls-loopback.txt`) re-enacted on loopback with
//! a peer that behaves as the oracle's did, and the same sequence of
//! states, signals, errors and texts asserted, with the final state, the
//! error and the bytes received.
//!
//! One text differs by design: when the server answers in plain HTTP,
//! Qt reports OpenSSL's "Error during SSL handshake:
//! error:0A00010B:SSL routines::wrong version number"; rustls' own words
//! take the place of OpenSSL's after the same prefix (see
//! [`server_speaks_plain_http`]).
//!
//! Times are ignored. To see our traces next to Qt's:
//!
//! ```text
//! diff <(sed -E 's/^ +[0-9]+ms //' tests/oracle/qt-6.12-tls-loopback.txt) \
//!      <(cargo run -q --example tcp_trace -- --tls | sed -E 's/^ +[0-9]+ms //')
//! ```

mod support;

use support::recorder::{assert_trace, oracle_block};
use support::tls_scenarios;

const ORACLE: &str = include_str!("oracle/qt-6.12-tls-loopback.txt");

/// Our error text where it is OpenSSL's in Qt's trace.
const PLAIN_HTTP_TEXT: &str =
    "Error during SSL handshake: received corrupt message of type InvalidContentType";

fn run(name: &str) -> support::scenarios::Outcome {
    let scenario = tls_scenarios::tls()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    (scenario.run)()
}

/// Runs the scenario `name` and compares it with Qt's block: the signal
/// sequence, every fact Qt printed, and the error text.
fn check(name: &str) {
    let outcome = run(name);
    let qt = oracle_block(ORACLE, name);
    assert_trace(name, &qt.events, &outcome.lines(), &[]);
    for (key, value) in &qt.extras {
        assert_eq!(outcome.get(key), value, "{name}: {key}");
    }
}

#[test]
fn tls_ok() {
    check("tls_ok");
}

#[test]
fn tls_wrong_host() {
    check("tls_wrong_host");
}

#[test]
fn tls_expired() {
    check("tls_expired");
}

#[test]
fn tls_not_yet_valid() {
    check("tls_not_yet_valid");
}

#[test]
fn tls_self_signed() {
    check("tls_self_signed");
}

#[test]
fn tls_untrusted_ca() {
    check("tls_untrusted_ca");
}

#[test]
fn tls_wrong_host_ignored() {
    check("tls_wrong_host_ignored");
}

#[test]
fn tls_server_closes_mid_handshake() {
    check("tls_server_closes_mid_handshake");
}

/// Qt's sequence and facts; the text is rustls' after Qt's prefix
/// (OpenSSL's "wrong version number" cannot be rustls').
#[test]
fn server_speaks_plain_http() {
    let name = "tls_server_speaks_plain_http";
    let outcome = run(name);
    let qt = oracle_block(ORACLE, name);
    let qt_text = "Error during SSL handshake: error:0A00010B:SSL routines::wrong version number";
    let expected: Vec<String> = qt
        .events
        .iter()
        .map(|e| e.replace(qt_text, PLAIN_HTTP_TEXT))
        .collect();
    assert_trace(name, &expected, &outcome.lines(), &[]);
    for (key, value) in &qt.extras {
        assert_eq!(outcome.get(key), value, "{name}: {key}");
    }
    assert_eq!(outcome.get("error_string"), PLAIN_HTTP_TEXT);
}

/// Every scenario of Qt's file has a test above.
#[test]
fn every_oracle_scenario_is_reenacted() {
    let ours: Vec<&str> = tls_scenarios::tls().iter().map(|s| s.name).collect();
    let theirs = support::recorder::parse_oracle(ORACLE);
    assert_eq!(theirs.len(), 9);
    for block in theirs {
        assert!(
            ours.contains(&block.name.as_str()),
            "{} is missing",
            block.name
        );
    }
}
