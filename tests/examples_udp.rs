//! Runs the compiled UDP examples as a user would: `broadcast_receiver`
//! with `broadcast_sender` on loopback's broadcast address, and
//! `multicast_receiver` with `multicast_sender` inside a network namespace
//! of this test's own (the multicast group goes out on a veth pair there,
//! never on the host's interfaces).
//!
//! Nothing is built here: `cargo test` builds the examples next to the test
//! binaries; running this file alone needs `cargo build --examples` first.
//! Every wait is bounded and the receivers are killed when a test ends.

mod support;

use support::examples::example;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::isolate::{is_child_for, run_test_in_child, Isolation};

const STEP: Duration = Duration::from_secs(30);

/// Sent on the line channel when the receiver's stdout ends.
const EOF: &str = "<end of output>";

/// A running receiver whose stdout lines arrive on a channel; killed on drop.
struct Receiver {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Receiver {
    fn start(name: &str, args: &[&str]) -> (Receiver, u16) {
        let mut child = Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
            // End of stdout: the receiver exited (or closed it).
            let _ = tx.send(EOF.to_owned());
        });
        let receiver = Receiver { child, lines };
        let first = receiver.line();
        let port = first
            .strip_prefix("listening on port ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from {name}: {first:?}"));
        (receiver, port)
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(STEP)
            .expect("a line from the receiver in time")
    }

    fn finish(mut self) -> bool {
        // The receiver closes its stdout when it exits: wait for that end
        // of stream (bounded by STEP per line), then reap it.
        while self.line() != EOF {}
        self.child.wait().expect("wait").success()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_sender(name: &str, args: &[&str]) -> Vec<String> {
    let output = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{name} runs: {e}"));
    assert!(
        output.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn broadcast_sender_and_receiver_on_loopback() {
    let (receiver, port) = Receiver::start("broadcast_receiver", &["--port", "0", "--count", "3"]);
    let port = port.to_string();
    let sent = run_sender(
        "broadcast_sender",
        &["--port", &port, "--count", "3", "--interval-ms", "20"],
    );
    assert_eq!(
        sent,
        [
            "Now broadcasting datagram 1",
            "Now broadcasting datagram 2",
            "Now broadcasting datagram 3"
        ]
    );
    for n in 1..=3 {
        assert_eq!(
            receiver.line(),
            format!("Received datagram: Broadcast message {n}")
        );
    }
    assert!(receiver.finish());
}

const NETNS_VETH: &str = "ip link add veth0 type veth peer name veth1 \
     && ip link set veth0 up && ip link set veth1 up \
     && ip addr add 10.99.0.1/24 dev veth0 \
     && ip route add 224.0.0.0/4 dev veth0";

#[test]
fn multicast_sender_and_receiver_in_a_namespace() {
    const NAME: &str = "multicast_sender_and_receiver_in_a_namespace";
    if !is_child_for(NAME) {
        return run_test_in_child(Isolation::NetNs(NETNS_VETH), NAME);
    }
    support::isolate::assert_private_netns_with(&["lo", "veth0", "veth1"]);
    let (receiver, port) = Receiver::start(
        "multicast_receiver",
        &["--group", "239.255.43.21", "--port", "0", "--count", "2"],
    );
    let port = port.to_string();
    let sent = run_sender(
        "multicast_sender",
        &[
            "--group",
            "239.255.43.21",
            "--port",
            &port,
            "--ttl",
            "1",
            "--count",
            "2",
            "--interval-ms",
            "20",
        ],
    );
    assert_eq!(sent, ["Now sending datagram 1", "Now sending datagram 2"]);
    for n in 1..=2 {
        assert_eq!(
            receiver.line(),
            format!("Received datagram: Multicast message {n}")
        );
    }
    assert!(receiver.finish());
}
