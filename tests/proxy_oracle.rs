//! Our `TcpSocket` through SOCKS5 and HTTP `CONNECT` proxies against real
//! Qt: each proxy scenario of Qt's oracle (`qt_oracle.py`, PySide6 6.12,
//! traces in `tests/oracle/qt-6.12-proxy-loopback.txt`) re-enacted with
//! the same scripted proxy on loopback, and the same sequence of states,
//! signals, errors and texts asserted, with the final state, the error,
//! the bytes received through the tunnel and how many connections the
//! socket made to the proxy (Qt retries some failures once).
//!
//! Times are ignored. To see our traces next to Qt's:
//!
//! ```text
//! diff <(sed -E 's/^ +[0-9]+ms //' tests/oracle/qt-6.12-proxy-loopback.txt) \
//!      <(cargo run -q --example tcp_trace -- --proxy | sed -E 's/^ +[0-9]+ms //')
//! ```

mod support;

use support::proxy_scenarios;
use support::recorder::{assert_trace, oracle_block};

const ORACLE: &str = include_str!("oracle/qt-6.12-proxy-loopback.txt");

/// Runs the scenario `name` and compares it with Qt's block: the signal
/// sequence, every fact Qt printed, and the error text Qt's trace shows.
fn check(name: &str) {
    let scenario = proxy_scenarios::proxy()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let outcome = (scenario.run)();
    let qt = oracle_block(ORACLE, name);
    assert_trace(name, &qt.events, &outcome.lines(), &[]);
    for (key, value) in &qt.extras {
        assert_eq!(outcome.get(key), value, "{name}: {key}");
    }
    // The text is in the trace too; this names it when it differs.
    let last = qt.events.last().expect("Qt's trace has events");
    if let Some(text) = last.split('\'').nth(1) {
        assert_eq!(outcome.get("error_string"), text, "{name}: error text");
    }
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

scenarios!(
    socks5_rep_1_ip_target_then_close,
    socks5_rep_2_ip_target_then_close,
    socks5_rep_3_ip_target_then_close,
    socks5_rep_4_ip_target_then_close,
    socks5_rep_5_ip_target_then_close,
    socks5_rep_6_ip_target_then_close,
    socks5_rep_7_ip_target_then_close,
    socks5_rep_8_ip_target_then_close,
    socks5_rep_9_ip_target_then_close,
    socks5_rep_5_ip_target_held_open_300ms,
    socks5_rep_1_hostname_target,
    socks5_success_domain_bnd_and_early_data,
    socks5_reply_split_bytewise,
    socks5_garbage_version,
    socks5_close_after_greeting,
    socks5_http_instead,
    socks5_bad_rsv_in_reply,
    socks5_bad_atyp_in_reply,
    socks5_no_acceptable_method_no_creds,
    socks5_auth_rejected,
    socks5_server_picks_gssapi,
    socks5_proxy_port_closed,
    http_proxy_port_closed,
    http_200_http10_with_early_data,
    http_403,
    http_404,
    http_405,
    http_500_tinyproxy_style,
    http_502,
    http_503_squid_refused,
    http_401_tinyproxy_badpw,
    http_407_no_challenge,
    http_407_basic_no_creds,
    http_garbage_not_http,
    http_close_before_reply,
);

/// Every scenario of Qt's file has a test above.
#[test]
fn every_oracle_scenario_is_reenacted() {
    let ours: Vec<&str> = proxy_scenarios::proxy().iter().map(|s| s.name).collect();
    let theirs = support::recorder::parse_oracle(ORACLE);
    assert_eq!(theirs.len(), 35);
    for block in theirs {
        assert!(
            ours.contains(&block.name.as_str()),
            "{} is missing",
            block.name
        );
    }
}
