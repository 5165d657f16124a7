//! Prints our TCP sockets' signal traces in the format of Qt's oracle
//! (`qt_oracle.py`, traces of Qt 6.12 in `tests/oracle/`), scenario by
//! scenario, so that comparing with real Qt is one `diff`:
//!
//! ```text
//! diff <(sed -E 's/^ +[0-9]+ms //' tests/oracle/qt-6.12-tcp-loopback.txt) \
//!      <(cargo run -q --example tcp_trace | sed -E 's/^ +[0-9]+ms //')
//! diff <(sed -E 's/^ +[0-9]+ms //' tests/oracle/qt-6.12-tcp-netns.txt) \
//!      <(cargo run -q --example tcp_trace -- --netns | sed -E 's/^ +[0-9]+ms //')
//! diff <(sed -E 's/^ +[0-9]+ms //' tests/oracle/qt-6.12-proxy-loopback.txt) \
//!      <(cargo run -q --example tcp_trace -- --proxy | sed -E 's/^ +[0-9]+ms //')
//! diff <(sed -E 's/^ +[0-9]+ms //' tests/oracle/qt-6.12-tls-loopback.txt) \
//!      <(cargo run -q --example tcp_trace -- --tls | sed -E 's/^ +[0-9]+ms //')
//! ```
//!
//! Expect differences only in numbers the kernel or the machine decides
//! (CPU seconds, bytes the kernel buffered, how many OS writes a transfer
//! took) and where `tests/tcp_oracle.rs` documents a deliberate one.
//!
//! Options: `--netns` runs the scenarios of the namespace file (as root:
//! each runs in its own `unshare -n`, only `lo` up); `--proxy` the proxy
//! scenarios (SOCKS5 and HTTP `CONNECT` against scripted proxies); `--tls` the
//! TLS scenarios (`SslSocket`); `--only a,b` picks
//! scenarios by name. The descriptor-exhaustion scenarios run in a child
//! under a 256-descriptor limit.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::process::ExitCode;

use support::isolate::{self, Isolation};
use support::scenarios::{self, Scenario};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all: Vec<Scenario> = scenarios::loopback()
        .into_iter()
        .chain(scenarios::netns())
        .collect();

    // A child started by `run_child`: run one scenario, print its block.
    if let Ok(name) = std::env::var(isolate::CHILD_ENV) {
        let Some(scenario) = all.iter().find(|s| s.name == name) else {
            eprintln!("tcp_trace: unknown scenario {name:?}");
            return ExitCode::FAILURE;
        };
        print!("{}", (scenario.run)().to_oracle_block());
        return ExitCode::SUCCESS;
    }

    let netns = args.iter().any(|a| a == "--netns");
    let proxy = args.iter().any(|a| a == "--proxy");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(str::to_owned).collect());
    if args.iter().any(|a| a == "--tls") {
        for scenario in support::tls_scenarios::tls() {
            let picked = only
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == scenario.name));
            if picked {
                print!("{}", (scenario.run)().to_oracle_block());
            }
        }
        return ExitCode::SUCCESS;
    }
    let chosen = if proxy {
        support::proxy_scenarios::proxy()
    } else if netns {
        scenarios::netns()
    } else {
        scenarios::loopback()
    };

    let mut failed = false;
    for scenario in chosen {
        if only
            .as_ref()
            .is_some_and(|names| !names.iter().any(|n| n == scenario.name))
        {
            continue;
        }
        let block = match scenario.isolation {
            Isolation::None => (scenario.run)().to_oracle_block(),
            isolation => {
                let output = isolate::run_child(isolation, scenario.name, &[]);
                if !output.status.success() {
                    failed = true;
                    eprint!("{}", String::from_utf8_lossy(&output.stderr));
                }
                String::from_utf8_lossy(&output.stdout).into_owned()
            }
        };
        print!("{block}");
        let _ = std::io::stdout().flush();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
