//! Signal traces in the format of the Qt oracle (`tests/oracle/*.txt`).
//!
//! The oracle (a PySide6 6.12 script run against real Qt) printed, per
//! scenario, one line per signal with the milliseconds since the scenario
//! started, then `key: value` facts:
//!
//! ```text
//! === tcp_connection_refused
//!         0ms stateChanged HostLookupState
//!         2ms errorOccurred ConnectionRefusedError 'Connection refused'
//!     final_state: UnconnectedState
//! ```
//!
//! [`SocketRecorder`] and [`ServerRecorder`] write the same lines for our
//! sockets into a [`Trace`]; [`assert_trace`] compares a trace with an
//! oracle block, ignoring the times, and panics with a readable diff;
//! [`Trace::to_oracle_block`] prints ours in the oracle's format so that
//! `diff` against real Qt is one command (see `examples/tcp_trace.rs`).

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::Rc;
use std::time::Instant;

use sigloop::core::IoDevice;
use sigloop::net::{SocketError, SocketState, TcpServer, TcpSocket};
use sigloop::Connection;

/// Python's spelling of a bool, as the oracle printed it.
pub fn py_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

/// Python's `repr(bytes)` for the printable ASCII the scenarios use.
pub fn py_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("b'");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\'');
    out
}

/// The line [`Trace::mark_return`] records.
pub const RETURN_MARK: &str = "|ret";

/// `events` with [`RETURN_MARK`] inserted right after the first line equal
/// to `after` (or first, if `after` is `None`).
///
/// # Panics
///
/// If no line equals `after`.
pub fn with_return_after(events: &[String], after: Option<&str>) -> Vec<String> {
    let at = match after {
        None => 0,
        Some(after) => {
            1 + events
                .iter()
                .position(|e| e == after)
                .unwrap_or_else(|| panic!("no {after:?} in {events:#?}"))
        }
    };
    let mut out = events.to_vec();
    out.insert(at, RETURN_MARK.to_owned());
    out
}

/// An ordered list of trace lines with the time each was recorded.
/// Cheap to clone; every clone appends to the same list.
#[derive(Clone)]
pub struct Trace {
    inner: Rc<RefCell<TraceInner>>,
}

struct TraceInner {
    start: Instant,
    lines: Vec<(u128, String)>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}

impl Trace {
    /// An empty trace whose clock starts now (the oracle started its clock
    /// right before `connectToHost`).
    pub fn new() -> Self {
        Trace {
            inner: Rc::new(RefCell::new(TraceInner {
                start: Instant::now(),
                lines: Vec::new(),
            })),
        }
    }

    /// Appends a line (a signal, or a note such as the oracle's
    /// `after write: bytesToWrite 16777216`).
    pub fn push(&self, text: impl Into<String>) {
        let mut inner = self.inner.borrow_mut();
        let ms = inner.start.elapsed().as_millis();
        inner.lines.push((ms, text.into()));
    }

    /// Marks where a call returned, among the signals it emitted
    /// (written [`RETURN_MARK`]): what comes before was emitted
    /// synchronously inside the call, what comes after from the loop. The
    /// oracle has no such lines, so [`lines`](Self::lines) and
    /// [`to_oracle_block`](Self::to_oracle_block) leave them out.
    pub fn mark_return(&self) {
        self.push(RETURN_MARK);
    }

    /// The lines without their times and without return marks.
    pub fn lines(&self) -> Vec<String> {
        self.inner
            .borrow()
            .lines
            .iter()
            .filter(|(_, text)| text != RETURN_MARK)
            .map(|(_, text)| text.clone())
            .collect()
    }

    /// The lines without their times, with the return marks.
    pub fn lines_with_returns(&self) -> Vec<String> {
        self.inner
            .borrow()
            .lines
            .iter()
            .map(|(_, text)| text.clone())
            .collect()
    }

    /// How many lines were recorded so far.
    pub fn len(&self) -> usize {
        self.inner.borrow().lines.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some line equals `text`.
    pub fn contains(&self, text: &str) -> bool {
        self.inner.borrow().lines.iter().any(|(_, t)| t == text)
    }

    /// The trace as an oracle block: `=== name`, the timed lines, then
    /// the `key: value` facts.
    pub fn to_oracle_block(&self, name: &str, extras: &[(String, String)]) -> String {
        let mut out = format!("=== {name}\n");
        for (ms, text) in &self.inner.borrow().lines {
            if text == RETURN_MARK {
                continue;
            }
            let _ = writeln!(out, "    {ms:5}ms {text}");
        }
        for (key, value) in extras {
            let _ = writeln!(out, "    {key}: {value}");
        }
        out
    }
}

/// Which optional signals a [`SocketRecorder`] writes down. The oracle
/// recorded `readyRead` only in some scenarios and `bytesWritten` in none
/// of the TCP scenarios that write (it counted them instead); the counts
/// are kept either way.
#[derive(Clone, Copy, Debug, Default)]
pub struct Record {
    /// `readyRead N` lines, N being `bytesAvailable()` in the slot.
    pub ready_read: bool,
    /// `bytesWritten N` lines.
    pub bytes_written: bool,
}

#[derive(Default)]
struct Counts {
    ready_read: Cell<usize>,
    bytes_written_sum: Cell<u64>,
    bytes_written_signals: Cell<usize>,
}

/// Writes a socket's signals into a [`Trace`], as the oracle's `attach`
/// did: `stateChanged S`, `hostFound`, `connected`, `proxyAuthenticationRequired`,
/// `errorOccurred E 'text'`,
/// `readChannelFinished`, `disconnected bytesAvailable=N`, and optionally
/// `readyRead N` and `bytesWritten N`. `aboutToClose` is not recorded (the
/// oracle did not either). The slots hold the socket weakly. Dropping the
/// recorder disconnects it.
pub struct SocketRecorder {
    trace: Trace,
    counts: Rc<Counts>,
    connections: Vec<Connection>,
}

impl SocketRecorder {
    /// Starts recording `socket` into `trace`.
    pub fn attach(socket: &TcpSocket, trace: &Trace, record: Record) -> SocketRecorder {
        let counts = Rc::new(Counts::default());
        let mut connections = Vec::new();

        let t = trace.clone();
        connections.push(socket.host_found().connect(move |_| t.push("hostFound")));
        let t = trace.clone();
        connections.push(socket.connected().connect(move |_| t.push("connected")));
        let t = trace.clone();
        connections.push(
            socket
                .proxy_authentication_required()
                .connect(move |_| t.push("proxyAuthenticationRequired")),
        );
        let t = trace.clone();
        connections.push(socket.disconnected().connect_to(socket, move |s, _| {
            t.push(format!(
                "disconnected bytesAvailable={}",
                s.bytes_available()
            ))
        }));
        let t = trace.clone();
        connections.push(socket.state_changed().connect(move |state: &SocketState| {
            t.push(format!("stateChanged {}", state.qt_name()))
        }));
        let t = trace.clone();
        connections.push(socket.error_occurred().connect_to(
            socket,
            move |s, error: &SocketError| {
                t.push(format!(
                    "errorOccurred {} '{}'",
                    error.qt_name(),
                    s.error_string()
                ))
            },
        ));
        let t = trace.clone();
        connections.push(
            socket
                .read_channel_finished()
                .connect(move |_| t.push("readChannelFinished")),
        );
        let t = trace.clone();
        let c = counts.clone();
        connections.push(socket.ready_read().connect_to(socket, move |s, _| {
            c.ready_read.set(c.ready_read.get() + 1);
            if record.ready_read {
                t.push(format!("readyRead {}", s.bytes_available()));
            }
        }));
        let t = trace.clone();
        let c = counts.clone();
        connections.push(socket.bytes_written().connect(move |n: &u64| {
            c.bytes_written_sum.set(c.bytes_written_sum.get() + n);
            c.bytes_written_signals
                .set(c.bytes_written_signals.get() + 1);
            if record.bytes_written {
                t.push(format!("bytesWritten {n}"));
            }
        }));

        SocketRecorder {
            trace: trace.clone(),
            counts,
            connections,
        }
    }

    /// The trace this recorder writes into.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// `readyRead` emissions so far.
    pub fn ready_read_count(&self) -> usize {
        self.counts.ready_read.get()
    }

    /// The sum of every `bytesWritten(n)` so far.
    pub fn bytes_written_sum(&self) -> u64 {
        self.counts.bytes_written_sum.get()
    }

    /// `bytesWritten` emissions so far.
    pub fn bytes_written_signals(&self) -> usize {
        self.counts.bytes_written_signals.get()
    }
}

impl Drop for SocketRecorder {
    fn drop(&mut self) {
        for connection in &self.connections {
            connection.disconnect();
        }
    }
}

/// Writes a server's signals into a [`Trace`] as the oracle's
/// `tcpserver_emfile` did: `acceptError E 'text' isListening B` and
/// `newConnection`.
pub struct ServerRecorder {
    connections: Vec<Connection>,
    new_connections: Rc<Cell<usize>>,
}

impl ServerRecorder {
    /// Starts recording `server` into `trace`.
    pub fn attach(server: &TcpServer, trace: &Trace) -> ServerRecorder {
        let new_connections = Rc::new(Cell::new(0));
        let t = trace.clone();
        let accept_error = server.accept_error().connect_to(server, move |s, error| {
            t.push(format!(
                "acceptError {} '{}' isListening {}",
                error.qt_name(),
                s.error_string(),
                py_bool(s.is_listening())
            ))
        });
        let t = trace.clone();
        let n = new_connections.clone();
        let new_connection = server.new_connection().connect(move |_| {
            n.set(n.get() + 1);
            t.push("newConnection");
        });
        ServerRecorder {
            connections: vec![accept_error, new_connection],
            new_connections,
        }
    }

    /// `newConnection` emissions so far.
    pub fn new_connections(&self) -> usize {
        self.new_connections.get()
    }
}

impl Drop for ServerRecorder {
    fn drop(&mut self) {
        for connection in &self.connections {
            connection.disconnect();
        }
    }
}

// ---------------------------------------------------------------------------
// Oracle files

/// One scenario of an oracle file.
#[derive(Clone, Debug)]
pub struct OracleBlock {
    /// The scenario name after `===`.
    pub name: String,
    /// The timed lines, times stripped.
    pub events: Vec<String>,
    /// The `key: value` facts.
    pub extras: Vec<(String, String)>,
}

impl OracleBlock {
    /// The fact `key`, if the oracle printed it.
    pub fn extra(&self, key: &str) -> Option<&str> {
        self.extras
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The events up to and including the first that equals `last`.
    ///
    /// # Panics
    ///
    /// If no event equals `last`.
    pub fn events_through(&self, last: &str) -> Vec<String> {
        let end = self
            .events
            .iter()
            .position(|e| e == last)
            .unwrap_or_else(|| panic!("{}: no event {last:?} in {:#?}", self.name, self.events));
        self.events[..=end].to_vec()
    }
}

/// The text of a timed line without its time (`"   12ms text"` →
/// `"text"`), or `None` if `line` is not a timed line.
pub fn strip_ms(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    trimmed[digits..].strip_prefix("ms ")
}

/// Every block of an oracle file, in file order.
pub fn parse_oracle(text: &str) -> Vec<OracleBlock> {
    let mut blocks: Vec<OracleBlock> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("=== ") {
            blocks.push(OracleBlock {
                name: name.trim().to_owned(),
                events: Vec::new(),
                extras: Vec::new(),
            });
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            continue;
        };
        if let Some(event) = strip_ms(line) {
            block.events.push(event.to_owned());
        } else if let Some((key, value)) = line.trim().split_once(": ") {
            block.extras.push((key.to_owned(), value.to_owned()));
        }
    }
    blocks
}

/// The block `name` of an oracle file.
///
/// # Panics
///
/// If the file has no such block.
pub fn oracle_block(text: &str, name: &str) -> OracleBlock {
    parse_oracle(text)
        .into_iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("the oracle file has no scenario {name:?}"))
}

// ---------------------------------------------------------------------------
// Comparing

/// What [`compare`] does to both sides before comparing:
///
/// - runs of consecutive `readyRead N` lines collapse into their last line:
///   how many reads a burst takes depends on how the kernel splits it, not
///   on the socket layer (Qt got one `readyRead` for 100 KiB on loopback
///   once, and would get two on another run);
/// - a line that starts with one of `masks` is cut to the mask plus `…`,
///   for notes whose numbers differ from run to run (CPU time, byte
///   counts the kernel decides); assert those numbers separately.
pub fn normalize(lines: &[String], masks: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines {
        let line = match masks.iter().find(|m| line.starts_with(**m)) {
            Some(mask) => format!("{mask} …"),
            None => line.clone(),
        };
        let collapses = line.starts_with("readyRead ")
            && out
                .last()
                .is_some_and(|prev| prev.starts_with("readyRead "));
        if collapses {
            *out.last_mut().expect("checked above") = line;
        } else {
            out.push(line);
        }
    }
    out
}

/// A line diff of `expected` against `actual` (longest common subsequence),
/// `-` for lines only Qt has, `+` for lines only we have.
pub fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: the LCS length of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            let _ = writeln!(out, "    {}", expected[i]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "  + {}", actual[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "  - {}", expected[i]);
            i += 1;
        }
    }
    out
}

/// Compares after [`normalize`]; `Err` holds a readable report.
pub fn compare(expected: &[String], actual: &[String], masks: &[&str]) -> Result<(), String> {
    let expected = normalize(expected, masks);
    let actual = normalize(actual, masks);
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "  (- only in Qt 6.12's trace, + only in ours)\n{}",
        diff(&expected, &actual)
    ))
}

/// Panics with a diff unless `actual` matches `expected` (see
/// [`normalize`] for what is ignored).
pub fn assert_trace(scenario: &str, expected: &[String], actual: &[String], masks: &[&str]) {
    if let Err(report) = compare(expected, actual, masks) {
        panic!("{scenario}: our signal trace differs from Qt's\n{report}");
    }
}
