//! Running a scenario in a child process: under a low descriptor limit
//! (descriptor exhaustion must not starve the other tests of the same
//! process), or in a private network namespace (so that "network
//! unreachable" and "connect timeout" never send a packet off this host).
//!
//! The child is the current executable run again with [`CHILD_ENV`] naming
//! the scenario: a test binary runs the one test (`NAME --exact`), the
//! example runs `--child NAME`.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::{Command, Output};
use std::time::Duration;

/// Names the scenario a child process must run.
pub const CHILD_ENV: &str = "SIGLOOP_ORACLE_CHILD";

/// The parent's network namespace, so the child can prove it is elsewhere.
pub const PARENT_NETNS_ENV: &str = "SIGLOOP_ORACLE_PARENT_NETNS";

/// Where a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// In the calling thread.
    None,
    /// In a child whose soft and hard `RLIMIT_NOFILE` are this low.
    FdLimit(u32),
    /// In a child inside a new network namespace where only `lo` is up;
    /// the shell commands (iproute2) run there first.
    NetNs(&'static str),
    /// As [`Isolation::NetNs`], in a new mount namespace too, so that the
    /// setup may bind-mount files (such as `/etc/hosts`) over the host's
    /// without touching them.
    NetMountNs(&'static str),
}

/// Whether this process is the child started for `scenario`.
pub fn is_child_for(scenario: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|s| s == scenario)
}

/// Runs the current executable again with `args` under `isolation`, with
/// [`CHILD_ENV`] set to `scenario`, and returns its output.
///
/// # Panics
///
/// With an explanation when the wrapper (`sh`, `unshare`)
/// cannot be started, rather than letting the scenario pass unrun.
pub fn run_child(isolation: Isolation, scenario: &str, args: &[&str]) -> Output {
    let exe: OsString = std::env::current_exe()
        .expect("the path of the running executable")
        .into();
    // `sh -c SCRIPT exe args…` runs SCRIPT with $0 = exe and $@ = args.
    let (program, mut argv): (&OsStr, Vec<OsString>) = match isolation {
        Isolation::None => (&exe, vec![]),
        Isolation::FdLimit(limit) => (
            "sh".as_ref(),
            vec![
                "-c".into(),
                format!("ulimit -n {limit} && exec \"$0\" \"$@\"").into(),
                exe.clone(),
            ],
        ),
        Isolation::NetNs(setup) | Isolation::NetMountNs(setup) => {
            let namespaces: &[&str] = if matches!(isolation, Isolation::NetMountNs(_)) {
                &["--net", "--mount"]
            } else {
                &["--net"]
            };
            let setup = if setup.is_empty() {
                String::new()
            } else {
                format!(" && {setup}")
            };
            (
                "unshare".as_ref(),
                namespaces
                    .iter()
                    .map(OsString::from)
                    .chain([
                        "--".into(),
                        "sh".into(),
                        "-c".into(),
                        format!("ip link set lo up{setup} && exec \"$0\" \"$@\"").into(),
                        exe.clone(),
                    ])
                    .collect(),
            )
        }
    };
    argv.extend(args.iter().map(OsString::from));
    let mut command = Command::new(program);
    command.args(&argv).env(CHILD_ENV, scenario);
    if let Some(ns) = current_netns() {
        command.env(PARENT_NETNS_ENV, ns);
    }
    command.output().unwrap_or_else(|err| {
        panic!(
            "{scenario}: cannot start {program:?}: {err}.\n{}",
            needs(isolation)
        )
    })
}

/// What `isolation` needs from the machine, for failure messages.
fn needs(isolation: Isolation) -> &'static str {
    match isolation {
        Isolation::None => "",
        Isolation::FdLimit(_) => "This scenario needs `sh` (for `ulimit -n`).",
        Isolation::NetNs(_) | Isolation::NetMountNs(_) => {
            "This scenario needs `unshare` (util-linux), `ip` (iproute2) and the right to \
             create a network namespace (root, or CAP_SYS_ADMIN); `.ci/run` installs the \
             packages (APT_PACKAGES). It does not fall back to the host's network: it would \
             send to a non-loopback address."
        }
    }
}

/// Runs the test `scenario` of the current test binary in a child under
/// `isolation`, and panics (with the child's output) unless that one test
/// ran and passed.
pub fn run_test_in_child(isolation: Isolation, scenario: &str) {
    let output = run_child(
        isolation,
        scenario,
        &[scenario, "--exact", "--nocapture", "--test-threads=1"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let ran = stdout.contains(&format!("test {scenario} ... ok")) && stdout.contains("1 passed");
    assert!(
        output.status.success() && ran,
        "{scenario} failed in its child process ({isolation:?}, {}).\n{}\n\
         --- child stdout ---\n{stdout}\n--- child stderr ---\n{stderr}",
        output.status,
        needs(isolation),
    );
    // Let `--nocapture` runs see what the child printed.
    print!("{stdout}");
}

/// This process's network namespace (`net:[inode]`).
pub fn current_netns() -> Option<String> {
    std::fs::read_link("/proc/self/ns/net")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Panics unless this process runs in a network namespace other than its
/// parent's, with only `lo` and no default route: the guard in front of
/// every scenario that sends to a non-loopback address.
pub fn assert_private_netns() {
    assert_private_netns_with(&["lo"]);
}

/// [`assert_private_netns`] for a namespace whose setup added `devices`
/// (such as a dummy interface for multicast tests) besides `lo`.
pub fn assert_private_netns_with(expected: &[&str]) {
    let parent = std::env::var(PARENT_NETNS_ENV)
        .expect("a namespace scenario runs only in the child that run_child starts");
    let ours = current_netns().expect("/proc/self/ns/net");
    assert_ne!(
        ours, parent,
        "refusing to send to a non-loopback address from the parent's network namespace"
    );
    let devices = std::fs::read_to_string("/proc/self/net/dev").expect("/proc/self/net/dev");
    let mut names: Vec<&str> = devices
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    names.sort_unstable();
    assert_eq!(
        names, expected,
        "the private namespace must have only the devices its setup made"
    );
    let routes = std::fs::read_to_string("/proc/self/net/route").expect("/proc/self/net/route");
    let default_route = routes
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some("00000000"));
    assert!(
        !default_route,
        "the private namespace must have no default route"
    );
}

/// Opens `/dev/null` until the process runs out of descriptors (`EMFILE`);
/// drop the result to give them back.
///
/// # Panics
///
/// If a million descriptors do not exhaust the limit (run under
/// [`Isolation::FdLimit`]), or opening fails otherwise.
pub fn exhaust_fds() -> Vec<File> {
    let mut hog = Vec::new();
    for _ in 0..1_000_000 {
        match File::open("/dev/null") {
            Ok(file) => hog.push(file),
            Err(err) if err.raw_os_error() == Some(libc::EMFILE) => return hog,
            Err(err) => panic!("opening /dev/null failed with {err}, not EMFILE"),
        }
    }
    panic!("a million descriptors did not reach the limit; run under Isolation::FdLimit");
}

/// The CPU time of the thread that made it
/// (`/proc/thread-self/schedstat`, first field, nanoseconds). The file
/// stays open, so it can still be read once descriptors run out.
pub struct ThreadCpu(File);

impl ThreadCpu {
    /// Opens the calling thread's counter.
    pub fn new() -> ThreadCpu {
        ThreadCpu(File::open("/proc/thread-self/schedstat").expect("/proc/thread-self/schedstat"))
    }

    /// CPU time used so far.
    pub fn used(&mut self) -> Duration {
        let mut text = String::new();
        self.0.seek(SeekFrom::Start(0)).expect("seek schedstat");
        self.0.read_to_string(&mut text).expect("read schedstat");
        let ns: u64 = text
            .split_whitespace()
            .next()
            .and_then(|f| f.parse().ok())
            .expect("schedstat's first field");
        Duration::from_nanos(ns)
    }
}

impl Default for ThreadCpu {
    fn default() -> Self {
        ThreadCpu::new()
    }
}
