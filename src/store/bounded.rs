//! Store work that reads sled's files, run with a bound: on a worker thread that must keep making progress, so a
//! damaged byte that sends sled into an endless loop or a panic ends in a named error instead of a hung or crashed
//! process. The worker of a stalled call is left behind (a thread cannot be stopped from outside); a command then
//! exits, and a server refuses to start.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::store::log::LogError;

/// Default longest time without progress before store work is judged stalled.
pub const DEFAULT_STALL_SECONDS: u64 = 30;

static STALL_SECONDS: AtomicU64 = AtomicU64::new(DEFAULT_STALL_SECONDS);

/// Sets the longest time store work may go without progress (`PLANLEDGER_STALL_SECONDS` in the binary).
pub fn set_stall_limit(seconds: u64) {
    STALL_SECONDS.store(seconds.max(1), Ordering::Relaxed);
}

pub fn stall_limit() -> Duration {
    Duration::from_secs(STALL_SECONDS.load(Ordering::Relaxed))
}

/// A counter the work bumps as it goes (one step per event read, say).
#[derive(Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn step(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs `work` on a worker thread and waits for it while it makes progress; `what` names the work in errors
/// ("opening /srv/ledger").
pub fn run<T, F>(what: &str, work: F) -> Result<T, LogError>
where
    T: Send + 'static,
    F: FnOnce(Progress) -> Result<T, LogError> + Send + 'static,
{
    run_within(what, stall_limit(), work)
}

/// [`run`] with its own stall limit.
pub fn run_within<T, F>(what: &str, limit: Duration, work: F) -> Result<T, LogError>
where
    T: Send + 'static,
    F: FnOnce(Progress) -> Result<T, LogError> + Send + 'static,
{
    let progress = Progress::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let p = progress.clone();
    let handle = std::thread::Builder::new()
        .name("planledger-store".into())
        .spawn(move || {
            let _ = tx.send(work(p));
        })
        .map_err(|e| LogError::Unreadable { what: format!("{what}: cannot start a thread: {e}") })?;
    let (mut seen, mut since) = (progress.get(), Instant::now());
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => {
                let _ = handle.join();
                return r;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let why = match handle.join() {
                    Err(payload) => panic_text(payload.as_ref()),
                    Ok(()) => "the worker ended without an answer".into(),
                };
                return Err(LogError::Unreadable { what: format!("{what}: sled failed on damaged data ({why})") });
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let now = progress.get();
                if now != seen {
                    (seen, since) = (now, Instant::now());
                } else if since.elapsed() >= limit {
                    return Err(LogError::Unreadable {
                        what: format!(
                            "{what}: no progress for {} s after {seen} steps (sled loops on damaged data, or the disk \
                             does not answer)",
                            limit.as_secs()
                        ),
                    });
                }
            }
        }
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panic: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panic: {s}")
    } else {
        "panic".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stalled_worker_is_reported_and_a_panic_is_named() {
        let second = Duration::from_secs(1);
        let stalled = run_within("spinning", second, |_p| -> Result<(), LogError> {
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        });
        assert!(matches!(stalled, Err(LogError::Unreadable { ref what }) if what.contains("no progress for 1 s")));
        let progressing = run_within("stepping", second, |p| {
            for _ in 0..15 {
                std::thread::sleep(Duration::from_millis(100));
                p.step();
            }
            Ok(7)
        });
        assert_eq!(progressing.ok(), Some(7));
        let panicked = run_within("panicking", second, |_p| -> Result<(), LogError> {
            panic!("tried to serialize Uninitialized")
        });
        assert!(
            matches!(panicked, Err(LogError::Unreadable { ref what }) if what.contains("tried to serialize Uninitialized"))
        );
    }
}
