//! The bounded render pool: report processing (bind, pagination, rendering) is CPU-bound and
//! runs off the async runtime, in `spawn_blocking`, behind a semaphore with one permit per
//! core, under a per-render time limit (`RenderTimeoutSeconds`), with a cancellation flag
//! that the engine and the output writer check.
//!
//! The flag is set when the time limit passes (a watchdog task), and when the client goes
//! away: the request future or the response body is dropped and with it the
//! [`CancelOnDrop`] guard. A job keeps its permit until it returns, so a render that ignores
//! the flag for a while still counts against the bound.
//!
//! Output streams: [`Pool::stream`] hands the job a [`ChannelWriter`] that sends 64 KiB
//! chunks through a bounded channel (4 chunks in flight), so the response starts with the
//! first chunk and a slow client slows the render instead of growing a buffer.
//! Must not: know report formats or HTTP statuses beyond [`super::ReportError`].

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use super::ReportError;

/// Bytes collected before a chunk is sent.
const CHUNK: usize = 64 * 1024;
/// Chunks in flight between a render and its client.
const CHUNKS_IN_FLIGHT: usize = 4;
/// How long past the deadline the request waits for a job that does not notice its flag.
const GRACE: Duration = Duration::from_millis(250);

/// The pool. Cheap to share (`Arc` inside).
#[derive(Debug)]
pub(crate) struct Pool {
    sem: Arc<Semaphore>,
    running: Arc<AtomicUsize>,
}

impl Default for Pool {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Pool::new(cores)
    }
}

/// The cancellation state of one render.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cancel {
    /// Set to stop the render; the engine checks it in every loop.
    pub flag: Arc<AtomicBool>,
    /// Set (before `flag`) when the time limit passed.
    pub timed_out: Arc<AtomicBool>,
}

impl Cancel {
    /// True once the render should stop.
    pub(crate) fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// Sets the flag when dropped: the request future or the response body went away.
#[derive(Debug)]
pub(crate) struct CancelOnDrop(pub Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Aborts the watchdog when the render is over.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Pool {
    /// A pool with `permits` renders at once (at least one).
    pub(crate) fn new(permits: usize) -> Pool {
        let permits = permits.max(1);
        Pool {
            sem: Arc::new(Semaphore::new(permits)),
            running: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Renders running now (diagnostics and tests).
    #[cfg(test)]
    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    async fn start(
        &self,
        limit: Duration,
        cancel: &Cancel,
    ) -> Result<(tokio::sync::OwnedSemaphorePermit, Instant, AbortOnDrop), ReportError> {
        let deadline = Instant::now() + limit;
        let permit = match tokio::time::timeout_at(deadline, self.sem.clone().acquire_owned()).await
        {
            Ok(Ok(p)) => p,
            Ok(Err(_closed)) => return Err(ReportError::internal("the render pool is closed")),
            Err(_) => return Err(ReportError::timeout(limit)),
        };
        let c = cancel.clone();
        let watchdog = AbortOnDrop(tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            c.timed_out.store(true, Ordering::Relaxed);
            c.flag.store(true, Ordering::Relaxed);
        }));
        Ok((permit, deadline, watchdog))
    }

    /// Runs `job` on the pool and returns its result, within `limit` (waiting for a permit
    /// included).
    pub(crate) async fn run<T, F>(
        &self,
        limit: Duration,
        cancel: &Cancel,
        job: F,
    ) -> Result<T, ReportError>
    where
        T: Send + 'static,
        F: FnOnce(&Cancel) -> Result<T, ReportError> + Send + 'static,
    {
        let (permit, deadline, _watchdog) = self.start(limit, cancel).await?;
        let c = cancel.clone();
        let running = self.running.clone();
        let handle = tokio::task::spawn_blocking(move || {
            running.fetch_add(1, Ordering::Relaxed);
            let r = job(&c);
            running.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
            r
        });
        match tokio::time::timeout_at(deadline + GRACE, handle).await {
            Ok(Ok(r)) => r.map_err(|e| e.or_timeout(cancel, limit)),
            Ok(Err(join)) => Err(ReportError::internal(&format!("the render failed: {join}"))),
            Err(_) => {
                cancel.flag.store(true, Ordering::Relaxed);
                Err(ReportError::timeout(limit))
            }
        }
    }

    /// Runs `job` on the pool, its output streamed: the first item of the receiver is the
    /// first chunk, or the error that happened before any output.
    pub(crate) async fn stream<F>(
        &self,
        limit: Duration,
        cancel: &Cancel,
        job: F,
    ) -> Result<Streamed, ReportError>
    where
        F: FnOnce(&Cancel, &mut ChannelWriter) -> Result<(), ReportError> + Send + 'static,
    {
        let (permit, deadline, watchdog) = self.start(limit, cancel).await?;
        let (tx, mut rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let c = cancel.clone();
        let running = self.running.clone();
        tokio::task::spawn_blocking(move || {
            running.fetch_add(1, Ordering::Relaxed);
            let mut w = ChannelWriter {
                tx,
                buf: Vec::with_capacity(CHUNK),
                cancel: c.clone(),
            };
            let r = job(&c, &mut w).and_then(|()| w.flush().map_err(ReportError::from_io));
            if let Err(e) = r {
                // The receiver may be gone (client left): nothing to tell then.
                let _ = w.tx.blocking_send(Err(e.or_timeout(&c, limit)));
            }
            running.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
            drop(watchdog);
        });
        match tokio::time::timeout_at(deadline + GRACE, rx.recv()).await {
            Ok(Some(Ok(first))) => Ok(Streamed { first, rest: rx }),
            Ok(Some(Err(e))) => Err(e),
            Ok(None) => Ok(Streamed {
                first: Bytes::new(),
                rest: rx,
            }),
            Err(_) => {
                cancel.flag.store(true, Ordering::Relaxed);
                Err(ReportError::timeout(limit))
            }
        }
    }
}

/// A started streamed render.
pub(crate) struct Streamed {
    /// The first chunk.
    pub first: Bytes,
    /// The rest (an `Err` item: the render failed after output began).
    pub rest: mpsc::Receiver<Result<Bytes, ReportError>>,
}

/// A `Write` that sends its output in chunks through the bounded channel.
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, ReportError>>,
    buf: Vec<u8>,
    cancel: Cancel,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.cancel.is_set() {
            return Err(std::io::Error::other("the render was cancelled"));
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_past_its_limit_is_cancelled_and_others_run() {
        let pool = Arc::new(Pool::new(2));
        let slow = {
            let pool = pool.clone();
            tokio::spawn(async move {
                let cancel = Cancel::default();
                pool.run(Duration::from_millis(200), &cancel, |c| {
                    while !c.is_set() {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err::<(), _>(ReportError::cancelled())
                })
                .await
            })
        };
        let quick = pool
            .run(Duration::from_secs(5), &Cancel::default(), |_| Ok(7))
            .await;
        assert_eq!(quick.unwrap(), 7);
        let e = slow.await.unwrap().unwrap_err();
        assert_eq!(e.code, "rsExecutionTimeout", "{e:?}");
        assert!(e.message.contains("RenderTimeoutSeconds"), "{}", e.message);
        assert_eq!(pool.running(), 0, "the cancelled job returned its permit");
    }

    #[tokio::test]
    async fn streamed_output_arrives_in_order() {
        let pool = Pool::new(1);
        let mut s = pool
            .stream(Duration::from_secs(5), &Cancel::default(), |_, w| {
                for i in 0..100_000u32 {
                    writeln!(w, "{i}").map_err(ReportError::from_io)?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let mut all = s.first.to_vec();
        while let Some(c) = s.rest.recv().await {
            all.extend_from_slice(&c.unwrap());
        }
        let text = String::from_utf8(all).unwrap();
        assert_eq!(text.lines().count(), 100_000);
        assert_eq!(text.lines().last(), Some("99999"));
    }
}
