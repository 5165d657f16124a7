//! `HostInfo` (Qt's `QHostInfo`) through the `sigloop` facade: lookups
//! delivered through the calling thread's loop, aborts, failures and the
//! blocking `from_name`.
//!
//! Only loopback names are resolved: "localhost", IP literals, and names
//! under `.invalid`, which never resolve (RFC 2606). Each test runs on its
//! own thread with its own loop; every wait is bounded by a watchdog.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::thread;
use std::time::Duration;

use sigloop::{EventDispatcher, HostAddress, HostInfo, HostInfoError, LookupId, Timer};

/// The exit code of a loop stopped by the watchdog.
const WATCHDOG: i32 = -7_777;

/// Runs the loop with a 10 s watchdog; fails the test if the watchdog had
/// to stop it.
fn exec_bounded() {
    Timer::single_shot(Duration::from_secs(10), || EventDispatcher::exit(WATCHDOG));
    let code = EventDispatcher::exec();
    assert_ne!(code, WATCHDOG, "the lookup was not delivered within 10 s");
}

/// Looks `name` up and runs the loop until the result arrives.
fn lookup(name: &str) -> (LookupId, HostInfo) {
    let result = Rc::new(RefCell::new(None));
    let r = result.clone();
    let id = HostInfo::lookup_host(name, move |info| {
        *r.borrow_mut() = Some(info.clone());
        EventDispatcher::quit();
    });
    assert!(
        result.borrow().is_none(),
        "delivered from inside lookup_host"
    );
    exec_bounded();
    let info = result.borrow_mut().take().expect("no result");
    (id, info)
}

#[test]
fn localhost_is_delivered_through_the_loop() {
    let (id, info) = lookup("localhost");
    assert!(id.as_i32() > 0);
    assert_eq!(info.lookup_id(), id);
    assert_eq!(info.error(), HostInfoError::NoError);
    assert_eq!(info.error_string(), "Unknown error");
    assert_eq!(info.host_name(), "localhost");
    assert!(!info.addresses().is_empty());
    for (i, a) in info.addresses().iter().enumerate() {
        assert!(a.is_loopback(), "{a:?}");
        assert!(!info.addresses()[..i].contains(a), "duplicate {a:?}");
    }
}

#[test]
fn ip_literals_are_answered_asynchronously() {
    let (id, info) = lookup("127.0.0.1");
    assert_eq!(info.lookup_id(), id);
    assert_eq!(info.error(), HostInfoError::NoError);
    assert_eq!(info.host_name(), "127.0.0.1");
    assert_eq!(
        info.addresses(),
        ["127.0.0.1".parse::<HostAddress>().unwrap()]
    );

    let (_, info) = lookup("::1");
    assert_eq!(info.addresses(), ["::1".parse::<HostAddress>().unwrap()]);
    let (_, info) = lookup("fe80::1%lo");
    assert_eq!(info.addresses()[0].scope_id(), "lo");
}

#[test]
fn invalid_domain_is_host_not_found() {
    let (id, info) = lookup("nonexistent.invalid");
    assert_eq!(info.lookup_id(), id);
    assert_eq!(info.error(), HostInfoError::HostNotFound);
    assert_eq!(info.error_string(), "Host not found");
    assert_eq!(info.host_name(), "nonexistent.invalid");
    assert!(info.addresses().is_empty());
}

#[test]
fn empty_name_is_host_not_found() {
    let (id, info) = lookup("");
    assert_eq!(info.lookup_id(), id);
    assert_eq!(info.error(), HostInfoError::HostNotFound);
    assert_eq!(info.error_string(), "No host name given");
    assert!(info.addresses().is_empty());
}

#[test]
fn aborted_lookup_never_calls_back() {
    let called = Rc::new(Cell::new(false));
    let c = called.clone();
    let id = HostInfo::lookup_host("localhost", move |_| c.set(true));
    HostInfo::abort_host_lookup(id);
    // A later lookup still works and is not disturbed by the aborted one.
    let other = Rc::new(Cell::new(false));
    let o = other.clone();
    let later = HostInfo::lookup_host("localhost", move |info| {
        assert_eq!(info.error(), HostInfoError::NoError);
        o.set(true);
        EventDispatcher::quit();
    });
    assert!(later > id);
    exec_bounded();
    assert!(other.get());
    // Then a bounded extra wait in which a stray result would show up.
    Timer::single_shot(Duration::from_millis(300), EventDispatcher::quit);
    exec_bounded();
    assert!(!called.get(), "the aborted lookup's callback ran");
}

#[test]
fn abort_from_another_thread() {
    let called = Rc::new(Cell::new(false));
    let c = called.clone();
    let id = HostInfo::lookup_host("localhost", move |_| c.set(true));
    thread::spawn(move || HostInfo::abort_host_lookup(id))
        .join()
        .unwrap();
    Timer::single_shot(Duration::from_millis(300), EventDispatcher::quit);
    exec_bounded();
    assert!(!called.get(), "the aborted lookup's callback ran");
}

#[test]
fn each_thread_gets_its_own_results() {
    let workers: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(|| {
                let me = thread::current().id();
                let (id, info) = {
                    let seen = Rc::new(Cell::new(None));
                    let s = seen.clone();
                    let id = HostInfo::lookup_host("localhost", move |info| {
                        s.set(Some((thread::current().id(), info.error())));
                        EventDispatcher::quit();
                    });
                    exec_bounded();
                    (id, seen.get())
                };
                assert_eq!(info, Some((me, HostInfoError::NoError)));
                id
            })
        })
        .collect();
    let mut ids: Vec<LookupId> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "lookup ids are unique");
}

#[test]
fn many_lookups_each_deliver_once() {
    let names = [
        "localhost",
        "127.0.0.1",
        "nonexistent.invalid",
        "::1",
        "localhost",
    ];
    let results = Rc::new(RefCell::new(Vec::new()));
    let mut ids = Vec::new();
    for name in names {
        let r = results.clone();
        ids.push(HostInfo::lookup_host(name, move |info| {
            r.borrow_mut().push(info.lookup_id());
            if r.borrow().len() == names.len() {
                EventDispatcher::quit();
            }
        }));
    }
    exec_bounded();
    let mut got = results.borrow().clone();
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
}

#[test]
fn from_name_blocks_and_returns_the_result() {
    let info = HostInfo::from_name("localhost");
    assert_eq!(info.error(), HostInfoError::NoError);
    assert_eq!(info.lookup_id(), LookupId::NONE);
    assert!(info.addresses().iter().all(HostAddress::is_loopback));
    assert!(!info.addresses().is_empty());

    let info = HostInfo::from_name("nonexistent.invalid");
    assert_eq!(info.error(), HostInfoError::HostNotFound);
    assert_eq!(info.error_string(), "Host not found");

    let info = HostInfo::from_name("");
    assert_eq!(info.error(), HostInfoError::HostNotFound);
    assert_eq!(info.error_string(), "No host name given");

    let info = HostInfo::from_name("192.0.2.7");
    assert_eq!(info.error(), HostInfoError::NoError);
    assert_eq!(info.addresses()[0].to_string(), "192.0.2.7");

    let info = HostInfo::from_name("bad name");
    assert_eq!(info.error(), HostInfoError::HostNotFound);
    assert_eq!(info.error_string(), "Invalid hostname");
}

#[test]
fn local_host_name_matches_the_kernel() {
    let name = HostInfo::local_host_name();
    if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        assert_eq!(name, kernel.trim());
    }
}
