//! Hands a worker thread's result to the foreign caller's future.
//!
//! Like a oneshot channel, with one difference that matters for Python: the future does not
//! complete until the worker has *returned* from waking it. Waking runs the foreign continuation
//! (a ctypes callback that takes the GIL). If the future completed first, the interpreter could
//! finish and start finalizing while the worker still needed the GIL back inside that callback;
//! CPython then ends the thread with `pthread_exit`, and the forced unwind through Rust frames
//! aborts the process at exit. Waiting here costs microseconds: the foreign poll call releases
//! the GIL (ctypes), so the worker's callback can finish.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::error::RapportError;

type Reply<T> = Result<T, RapportError>;

struct Slot<T> {
    result: Option<Reply<T>>,
    waker: Option<Waker>,
    /// The worker has returned from waking the future (or had nobody to wake).
    settled: bool,
}

struct Shared<T> {
    slot: Mutex<Slot<T>>,
    settled: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The receiving end: a future of the worker's result.
pub struct Handoff<T> {
    shared: Arc<Shared<T>>,
}

/// The sending end, moved to the worker. Dropping it unsent (the worker never ran) completes
/// the future with an `Internal` error.
pub struct Sender<T> {
    shared: Option<Arc<Shared<T>>>,
}

pub fn channel<T>() -> (Handoff<T>, Sender<T>) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot {
            result: None,
            waker: None,
            settled: false,
        }),
        settled: Condvar::new(),
    });
    (
        Handoff {
            shared: Arc::clone(&shared),
        },
        Sender {
            shared: Some(shared),
        },
    )
}

impl<T> Sender<T> {
    pub fn send(mut self, value: Reply<T>) {
        if let Some(shared) = self.shared.take() {
            deliver(&shared, value);
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            deliver(
                &shared,
                Err(RapportError::Internal(
                    "the worker stopped before finishing the call".into(),
                )),
            );
        }
    }
}

fn deliver<T>(shared: &Shared<T>, value: Reply<T>) {
    let waker = {
        let mut slot = shared.lock();
        slot.result = Some(value);
        slot.waker.take()
    };
    if let Some(w) = waker {
        w.wake();
    }
    shared.lock().settled = true;
    shared.settled.notify_all();
}

impl<T> Future for Handoff<T> {
    type Output = Reply<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.shared.lock();
        if slot.result.is_none() {
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        while !slot.settled {
            slot = self
                .shared
                .settled
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => Poll::Ready(Err(RapportError::Internal(
                "a call's result was taken twice".into(),
            ))),
        }
    }
}
