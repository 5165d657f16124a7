//! Happy Eyeballs (RFC 8305), an opt-in [`ConnectPolicy`]: a name's
//! addresses raced instead of tried one after another as Qt does.
//!
//! The addresses are interleaved by family, IPv6 first (RFC 8305 §4),
//! each once (Qt's sequential policy tries each twice). One attempt starts
//! at once, the next one [`ConnectPolicy::ATTEMPT_DELAY`] after the last start, or at once
//! when an attempt fails (§5). The first attempt to connect wins: it
//! becomes the socket's stream and the others are closed and deregistered.
//! Nothing of the race is visible: one `host_found`, one `Connecting`, one
//! `connected`; when every attempt fails, `Unconnected` and the last
//! failure's error, as Qt reports it.
//!
//! The connect timeout still bounds each attempt from its start (as Qt's
//! does each sequential attempt): an attempt pending that long is dropped
//! with `SocketTimeout` as its failure and the next one starts at once.
//!
//! One timer drives the race: it fires at the next start or the earliest
//! attempt deadline, whichever comes first; [`SocketCore::race_step`]
//! then does what is due. The blocking `wait_for_connected` polls every
//! attempt's descriptor and calls the same step.
//!
//! The race applies to a direct TCP connect only: through a proxy the
//! proxy connects to the target (one attempt, Qt's way), a UDP connect
//! only records the peer, and a socket bound before connecting has one OS
//! socket to connect with; those keep Qt's sequential behaviour.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags};
use sigloop_core::__private::IoRegistration;
use sigloop_core::{Timer, TimerType};

use super::engine::SocketCore;
use super::transport::Transport;
use super::{text, Failure, SocketError, SocketState, SocketType};

/// How `connect_to_host` tries the addresses a name resolves to.
///
/// # Examples
///
/// ```
/// use sigloop_net::{ConnectPolicy, TcpSocket};
///
/// let socket = TcpSocket::new();
/// assert_eq!(socket.connect_policy(), ConnectPolicy::Sequential);
/// socket.set_connect_policy(ConnectPolicy::HappyEyeballs);
/// assert_eq!(socket.connect_policy(), ConnectPolicy::HappyEyeballs);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConnectPolicy {
    /// Qt's way, the default: every address in resolver order, each
    /// twice, one at a time, each given the connect timeout (30 s by
    /// default). A black-holed first address costs the whole timeout.
    ///
    /// Qt: `QAbstractSocket::connectToHost()`.
    #[default]
    Sequential,
    /// RFC 8305: IPv6 and IPv4 addresses interleaved (IPv6 first), a new
    /// attempt every 250 ms (or at once when one fails) while earlier ones
    /// are still pending, the first to connect wins. Signals and states
    /// are Qt's, as if the winner had been the only attempt. Applies to
    /// direct TCP connects; see
    /// [`set_connect_policy`](crate::AbstractSocket::set_connect_policy).
    ///
    /// No Qt counterpart.
    HappyEyeballs,
}

impl ConnectPolicy {
    /// [`HappyEyeballs`](Self::HappyEyeballs)'s wait between two attempt
    /// starts: RFC 8305 §5's recommended "Connection Attempt Delay".
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(sigloop_net::ConnectPolicy::ATTEMPT_DELAY, Duration::from_millis(250));
    /// ```
    pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);
}

/// One connect in flight.
struct Attempt {
    stream: Transport,
    registration: IoRegistration,
    /// When the connect timeout gives up on it (`None`: never).
    deadline: Option<Instant>,
}

/// The attempts of a race and when the next one may start.
pub(crate) struct Race {
    attempts: Vec<Attempt>,
    next_start: Instant,
}

impl Race {
    pub(crate) fn new() -> Race {
        Race {
            attempts: Vec::new(),
            next_start: Instant::now(),
        }
    }
}

/// RFC 8305 §4: alternate the families, IPv6 first, keeping the resolver's
/// order within each; every address once.
pub(crate) fn interleave(addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let mut unique: Vec<SocketAddr> = Vec::with_capacity(addresses.len());
    for address in addresses {
        if !unique.contains(&address) {
            unique.push(address);
        }
    }
    let (v6, v4): (Vec<_>, Vec<_>) = unique.into_iter().partition(SocketAddr::is_ipv6);
    let mut out = Vec::with_capacity(v6.len() + v4.len());
    let (mut v6, mut v4) = (v6.into_iter(), v4.into_iter());
    loop {
        match (v6.next(), v4.next()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// Where a connect attempt stands: connected to the peer, pending, or
/// failed.
pub(super) fn outcome(stream: &Transport) -> io::Result<Option<SocketAddr>> {
    match stream.take_error() {
        Ok(Some(err)) | Err(err) => Err(err),
        Ok(None) => match stream.peer_addr() {
            Ok(peer) => Ok(Some(peer)),
            Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(None),
            Err(err) => Err(err),
        },
    }
}

/// What one look at the attempts found.
enum Look {
    /// This attempt connected.
    Won(usize, SocketAddr),
    /// These attempts failed (indices, highest first) with these errors.
    Failed(Vec<(usize, Failure)>),
}

impl SocketCore {
    /// Whether this connect should race: the policy asks for it and the
    /// connect is a direct TCP one without a bound socket.
    pub(super) fn wants_race(&self) -> bool {
        let d = self.d.borrow();
        self.kind == SocketType::Tcp
            && d.connect_policy() == ConnectPolicy::HappyEyeballs
            && d.bound().is_none()
            && !self.proxied()
    }

    /// A race is running.
    pub(crate) fn racing(&self) -> bool {
        self.d
            .borrow_mut()
            .connect_plan()
            .is_some_and(|plan| plan.race.is_some())
    }

    /// Does what is due: drops attempts past their deadline, starts the
    /// next attempt when its time has come (or when none is pending),
    /// fails the connect when nothing is left, else arms the timer for the
    /// next due time.
    pub(crate) fn race_step(&self) {
        loop {
            if self.state() != SocketState::Connecting {
                return;
            }
            self.expire_attempts();
            let now = Instant::now();
            let next = {
                let mut d = self.d.borrow_mut();
                let Some(plan) = d.connect_plan() else {
                    return;
                };
                let Some(race) = plan.race.as_mut() else {
                    return;
                };
                let due = race.attempts.is_empty() || now >= race.next_start;
                if due {
                    plan.addresses.pop_front()
                } else {
                    None
                }
            };
            let Some(address) = next else {
                break;
            };
            match self.open_attempt(address) {
                Ok((stream, registration)) => {
                    let deadline = self.attempt_deadline();
                    self.race_mut(|race| {
                        race.attempts.push(Attempt {
                            stream,
                            registration,
                            deadline,
                        });
                        race.next_start = Instant::now() + ConnectPolicy::ATTEMPT_DELAY;
                    });
                }
                Err(failure) => {
                    // Failed at once: the next one starts at once (§5).
                    self.record_failure(failure);
                }
            }
        }
        let (finished, wake) = {
            let mut d = self.d.borrow_mut();
            let Some(plan) = d.connect_plan() else {
                return;
            };
            let left = !plan.addresses.is_empty();
            let Some(race) = plan.race.as_ref() else {
                return;
            };
            let earliest = race.attempts.iter().filter_map(|a| a.deadline).min();
            let start = left.then_some(race.next_start);
            let wake = match (earliest, start) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            (race.attempts.is_empty() && !left, wake)
        };
        if finished {
            self.connect_failed();
            return;
        }
        self.arm_race_timer(wake);
    }

    /// Runs `f` on the race, if one runs.
    fn race_mut<R>(&self, f: impl FnOnce(&mut Race) -> R) -> Option<R> {
        let mut d = self.d.borrow_mut();
        d.connect_plan()?.race.as_deref_mut().map(f)
    }

    /// When a new attempt times out; `None` for a timeout too long to
    /// arm (`Duration::MAX`: never), as the sequential connect treats it.
    fn attempt_deadline(&self) -> Option<Instant> {
        let timeout = self.d.borrow().connect_timeout();
        if !super::connect::has_deadline(timeout) {
            return None;
        }
        Instant::now().checked_add(timeout)
    }

    fn record_failure(&self, failure: Failure) {
        if let Some(plan) = self.d.borrow_mut().connect_plan() {
            plan.last_error = Some(failure);
        }
    }

    /// Drops the attempts whose connect timeout has passed.
    fn expire_attempts(&self) {
        let now = Instant::now();
        let expired: Vec<Attempt> = self
            .race_mut(|race| {
                let (gone, kept) = std::mem::take(&mut race.attempts)
                    .into_iter()
                    .partition(|a: &Attempt| a.deadline.is_some_and(|d| d <= now));
                race.attempts = kept;
                if !gone.is_empty() {
                    race.next_start = now;
                }
                gone
            })
            .unwrap_or_default();
        if !expired.is_empty() {
            self.record_failure((
                SocketError::SocketTimeout,
                std::borrow::Cow::Borrowed(text::CONNECT_TIMED_OUT),
            ));
        }
        drop(expired);
    }

    /// The timer that calls [`race_step`](Self::race_step) at `wake`
    /// (`None`: nothing is due by time).
    fn arm_race_timer(&self, wake: Option<Instant>) {
        let old = self
            .d
            .borrow_mut()
            .connect_plan()
            .and_then(|p| p.timer.take());
        // A timer is dropped outside the borrow (it emits `destroyed`).
        drop(old);
        let Some(wake) = wake else {
            return;
        };
        let timer = Timer::new();
        timer.set_single_shot(true);
        timer.set_timer_type(TimerType::Precise);
        let this = self.this.clone();
        let _ = timer.timeout().connect(move |_| {
            if let Some(socket) = this.upgrade() {
                socket.race_step();
            }
        });
        timer.start_with(wake.saturating_duration_since(Instant::now()));
        // Whatever timer is not kept (the one replaced, or this one if the
        // plan is gone) is dropped after the borrow: a timer emits
        // `destroyed`.
        let unkept = match self.d.borrow_mut().connect_plan() {
            Some(plan) => plan.timer.replace(timer),
            None => Some(timer),
        };
        drop(unkept);
    }

    /// Readiness while racing: a winner connects the socket; failed
    /// attempts are dropped and the next starts at once.
    pub(crate) fn race_ready(&self) {
        let look = {
            let d = self.d.borrow();
            let Some(race) = d.rare().and_then(|r| r.connect.as_ref()?.race.as_ref()) else {
                return;
            };
            let mut failed = Vec::new();
            let mut won = None;
            for (index, attempt) in race.attempts.iter().enumerate().rev() {
                match outcome(&attempt.stream) {
                    Ok(Some(peer)) => won = Some(Look::Won(index, peer)),
                    Ok(None) => {}
                    Err(err) => failed.push((index, super::from_io(super::Op::Connect, &err))),
                }
            }
            won.unwrap_or(Look::Failed(failed))
        };
        match look {
            Look::Won(index, peer) => self.race_won(index, peer),
            Look::Failed(failed) if failed.is_empty() => {}
            Look::Failed(failed) => {
                let mut last = None;
                let gone: Vec<Attempt> = self
                    .race_mut(|race| {
                        race.next_start = Instant::now();
                        failed
                            .into_iter()
                            .map(|(index, failure)| {
                                last = Some(failure);
                                race.attempts.remove(index)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                drop(gone);
                if let Some(failure) = last {
                    self.record_failure(failure);
                }
                self.race_step();
            }
        }
    }

    /// The winner becomes the socket's stream; the plan (the losers, the
    /// timer) goes with `connection_made`.
    fn race_won(&self, index: usize, peer: SocketAddr) {
        let winner = self.race_mut(|race| race.attempts.remove(index));
        let Some(winner) = winner else {
            return;
        };
        {
            let mut d = self.d.borrow_mut();
            d.stream = Some(winner.stream);
            d.registration = Some(winner.registration);
        }
        self.connection_made(Some(peer));
    }

    /// `wait_for_connected` while racing: polls every attempt for at most
    /// `left` (and no later than the race's next due time), then runs the
    /// same steps as the loop.
    pub(crate) fn race_wait(&self, left: Option<Duration>) -> io::Result<()> {
        let (wake, any_ready) = {
            let d = self.d.borrow();
            let Some(plan) = d.rare().and_then(|r| r.connect.as_ref()) else {
                return Ok(());
            };
            let Some(race) = plan.race.as_ref() else {
                return Ok(());
            };
            let now = Instant::now();
            let mut wake = race.attempts.iter().filter_map(|a| a.deadline).min();
            if !plan.addresses.is_empty() {
                wake = Some(wake.map_or(race.next_start, |w| w.min(race.next_start)));
            }
            let until_due = wake.map(|w| w.saturating_duration_since(now));
            let timeout = match (left, until_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut fds: Vec<PollFd<'_>> = race
                .attempts
                .iter()
                .map(|a| PollFd::new(a.stream.as_fd(), PollFlags::POLLOUT))
                .collect();
            // The borrow is held across the poll, which runs no user code.
            let ready = match poll(&mut fds, super::wait::poll_timeout(timeout)) {
                Ok(n) => n > 0,
                Err(nix::errno::Errno::EINTR) => false,
                Err(errno) => return Err(io::Error::from(errno)),
            };
            (wake, ready)
        };
        if any_ready {
            self.race_ready();
        }
        if wake.is_some_and(|w| w <= Instant::now()) {
            self.race_step();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::interleave;
    use std::net::SocketAddr;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn families_alternate_ipv6_first_each_address_once() {
        let list = addrs(&[
            "192.0.2.1:80",
            "192.0.2.2:80",
            "[2001:db8::1]:80",
            "192.0.2.1:80",
            "192.0.2.3:80",
            "[2001:db8::2]:80",
        ]);
        assert_eq!(
            interleave(list),
            addrs(&[
                "[2001:db8::1]:80",
                "192.0.2.1:80",
                "[2001:db8::2]:80",
                "192.0.2.2:80",
                "192.0.2.3:80",
            ])
        );
    }

    #[test]
    fn one_family_keeps_its_order() {
        let list = addrs(&["192.0.2.2:1", "192.0.2.1:1"]);
        assert_eq!(interleave(list.clone()), list);
        assert_eq!(interleave(Vec::new()), Vec::<SocketAddr>::new());
    }
}
