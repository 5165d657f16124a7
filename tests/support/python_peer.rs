//! Real-Qt peers written in Python (PySide6): run one of the scripts in
//! `tests/interop/peers/` with the project's `.venv/bin/python`, feed it
//! stdin, and get its stdout. `bash .ci/test` creates that venv and
//! installs the pinned PySide6; a test checks for it first with
//! [`super::peers::python`], which skips or fails the test without it.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The PySide6 version `.ci/test` pins (6.12.0 crashes in emit on 3.11).
pub const PINNED_PYSIDE: &str = "6.11.3";
/// How long a peer may run before it is killed and the test fails.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tests/interop/peers/<script>` in `mode` with `input` on stdin;
/// returns its stdout. Fails with the peer's stderr if it fails, and kills
/// it after [`PEER_TIMEOUT`].
pub fn run(script: &str, mode: &str, input: String) -> String {
    let script = repo().join("tests/interop/peers").join(script);
    let mut child = Command::new(super::peers::venv_python())
        .arg(&script)
        .arg(mode)
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("PYTHONIOENCODING", "utf-8")
        // Local date-times convert to UTC in some stream versions.
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start the Qt peer {}: {e}", script.display()));

    // Feed stdin and drain stdout/stderr on their own threads, so that no
    // pipe can fill up and block the other side.
    let mut stdin = child.stdin.take().expect("stdin piped");
    let feeder = thread::spawn(move || {
        // A peer that dies early closes the pipe; its stderr tells why.
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stdout = child.stdout.take().expect("stdout piped");
    let out_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let mut stderr = child.stderr.take().expect("stderr piped");
    let err_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    let (done_tx, done_rx) = mpsc::channel();
    let pid = child.id();
    let watchdog = thread::spawn(move || {
        if done_rx.recv_timeout(PEER_TIMEOUT).is_err() {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            return true;
        }
        false
    });
    let status = child.wait().expect("waiting for the Qt peer");
    let _ = done_tx.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    feeder.join().expect("stdin feeder");
    let out = out_reader.join().expect("stdout reader");
    let err = err_reader.join().expect("stderr reader");
    assert!(
        !timed_out,
        "the Qt peer ({mode}) ran for over {PEER_TIMEOUT:?} and was killed"
    );
    assert!(
        status.success(),
        "the Qt peer ({mode}) failed with {status}:\n{err}"
    );
    out
}
