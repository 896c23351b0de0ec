//! # Waking a client's task: one flag and one waker
//!
//! Every connection is a task that sleeps until its socket has bytes or
//! until another part of the server has something for it: a PUBLISH to a
//! channel it subscribed to, a push that serves its BLPOP, CLIENT KILL, the
//! end of a CLIENT PAUSE. The second kind of wake-up goes through the
//! client's [`Wake`]: whoever has news calls `notify_one`, and the task,
//! which awaits `notified()` next to its read, runs.
//!
//! The invariant is that a notification is never lost and never doubled:
//! if nobody is waiting, `notify_one` leaves a permit that the next
//! `notified()` takes at once; many notifications before the task runs
//! are one permit, since the task looks at everything pending when it
//! does run.
//!
//! Redis has no such thing: its event loop calls the client's handlers
//! directly (`clientInstallWriteHandler` puts the client on
//! `server.clients_pending_write`, and `beforeSleep` writes them all). A
//! task-per-client design needs a wake-up, and the obvious one,
//! `tokio::sync::Notify`, is built for many waiters on many threads: each
//! `notified()` that is polled and then dropped unfulfilled (the usual case,
//! since the socket wins the `select!` almost every time) takes a mutex
//! twice to link and unlink its waiter. A connection waits on its wake-up
//! once per round trip, so at `redis-benchmark -P 1` that cost is paid for
//! every request. Here one task waits on a client's `Wake`, all on one
//! thread, so a `Cell<bool>` and the waker of the last poll are enough:
//! no lock, no list, and a `will_wake` check that makes the usual re-poll
//! free of any clone. (Measured with `perf` on GET at -P 1: tokio's
//! `poll_notified` and its drop were about 0.8% of the server's CPU time.)
//!
//! Simplified: a second task awaiting the same `Wake` at the same time would
//! replace the first one's waker. Nothing does: a client's wake-up belongs to
//! the task that serves the client.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

// ANCHOR: wake
/// A single-waiter, single-thread wake-up with a permit, like
/// `tokio::sync::Notify::notify_one` / `notified` used by one task.
#[derive(Default)]
pub struct Wake {
    /// A notification not yet taken by `notified()`.
    permit: Cell<bool>,
    /// The task waiting, if its `notified()` was polled and is pending.
    waiter: Cell<Option<Waker>>,
}

impl Wake {
    pub fn new() -> Wake {
        Wake::default()
    }

    /// Leave a permit and wake the waiting task, if any.
    pub fn notify_one(&self) {
        self.permit.set(true);
        if let Some(waker) = self.waiter.take() {
            waker.wake();
        }
    }

    /// Wait for a permit (taking it), or return at once if one is there.
    pub fn notified(&self) -> Notified<'_> {
        Notified { wake: self }
    }
}

/// The future of [`Wake::notified`]. Dropping it unfulfilled loses
/// nothing: the permit is taken only by the poll that returns `Ready`.
pub struct Notified<'a> {
    wake: &'a Wake,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.wake.permit.replace(false) {
            return Poll::Ready(());
        }
        // The same task polls again and again: keep its waker, clone only
        // when another one asks.
        let waker = match self.wake.waiter.take() {
            Some(w) if w.will_wake(cx.waker()) => w,
            _ => cx.waker().clone(),
        };
        self.wake.waiter.set(Some(waker));
        Poll::Pending
    }
}
// ANCHOR_END: wake

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake as TaskWake;

    struct Count(AtomicUsize);
    impl TaskWake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(n: &mut Notified<'_>, waker: &Waker) -> Poll<()> {
        Pin::new(n).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_permit_left_before_waiting_is_taken_once() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let wake = Wake::new();
        wake.notify_one();
        wake.notify_one(); // two notifications, one permit
        assert_eq!(poll(&mut wake.notified(), &waker), Poll::Ready(()));
        assert_eq!(poll(&mut wake.notified(), &waker), Poll::Pending);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_waiting_task_is_woken_and_then_ready() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let wake = Wake::new();
        let mut waiting = wake.notified();
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        wake.notify_one();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut waiting, &waker), Poll::Ready(()));
    }

    #[test]
    fn a_dropped_wait_keeps_the_permit_for_the_next() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let wake = Wake::new();
        {
            let mut lost = wake.notified();
            assert_eq!(poll(&mut lost, &waker), Poll::Pending);
            wake.notify_one();
        } // dropped before it saw the permit, as a select! branch that lost
        assert_eq!(poll(&mut wake.notified(), &waker), Poll::Ready(()));
    }
}
