//! Request and response bodies as the listener hands them over: bounded in time.
//!
//! [`RequestBody`] wraps hyper's body with two bounds a slow client cannot stretch: no data
//! for [`crate::Limits::body_read_timeout`] is an error, and so is a body arriving slower
//! than [`crate::Limits::min_body_rate`] bytes per second once the grace period has passed.
//! The application sees either as a failed body read ([`BodyError`]). A body the
//! application drops unread is handed back to the listener ([`Leftover`]), which reads (and
//! discards) a bounded amount of it before the response goes out: an HTTP/2 stream whose
//! request is still open when the response ends is reset by hyper, which some clients
//! (curl) report as a stream error even though the response was complete.
//!
//! [`Tracked`] wraps response bodies so the connection knows when one is being sent and
//! when it last made progress ([`crate::conn::Activity`]): a body a client does not read
//! (zero HTTP/2 window, full TCP buffer) is found and its connection closed.
//!
//! No parsing here: frames are hyper's, this only counts bytes and keeps time.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::conn::Activity;
use crate::listener::BoxError;

/// Why reading a request body failed.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The client sent no body data for the body read timeout; it is gone or stalling.
    #[error(
        "the client sent no request body data for {0} s; the request was abandoned (setting BodyReadTimeoutSeconds)"
    )]
    Timeout(u64),
    /// The client sent the body slower than the minimum rate after the grace period.
    #[error(
        "the client sent the request body slower than {0} bytes/s; the request was abandoned (setting MinBodyRateBytesPerSecond)"
    )]
    TooSlow(u32),
    /// The connection failed or the client reset the stream while sending the body.
    #[error("reading the request body failed: {0}")]
    Client(#[from] hyper::Error),
}

/// Time bounds of one request body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyBounds {
    pub idle: Duration,
    pub min_rate: u32,
    pub grace: Duration,
}

/// Where a body dropped unread goes, for the listener to finish reading it.
pub(crate) type Leftover = Arc<Mutex<Option<Incoming>>>;

/// The request body applications receive (`http::Request<RequestBody>`).
pub struct RequestBody {
    inner: Option<Incoming>,
    bounds: BodyBounds,
    /// When the application first polled; the rate is measured from there.
    started: Option<Instant>,
    last_data: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    done: bool,
    leftover: Option<Leftover>,
}

impl RequestBody {
    pub(crate) fn new(inner: Incoming, bounds: BodyBounds, leftover: Option<Leftover>) -> Self {
        let now = Instant::now();
        RequestBody {
            inner: Some(inner),
            bounds,
            started: None,
            last_data: now,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(now + bounds.idle)),
            done: false,
            leftover,
        }
    }

    /// The next instant a bound could be crossed: the idle timeout from the last data, or
    /// the moment the bytes received so far fall under the minimum rate.
    fn next_deadline(&self, started: Instant) -> Instant {
        let idle = self.last_data + self.bounds.idle;
        if self.bounds.min_rate == 0 {
            return idle;
        }
        let earned =
            Duration::from_secs_f64(self.received as f64 / f64::from(self.bounds.min_rate));
        let rate = started + self.bounds.grace.max(earned) + Duration::from_millis(1);
        idle.min(rate)
    }

    fn too_slow(&self, started: Instant, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(started);
        self.bounds.min_rate > 0
            && elapsed >= self.bounds.grace
            && (self.received as f64) < f64::from(self.bounds.min_rate) * elapsed.as_secs_f64()
    }
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let now = Instant::now();
        let started = *this.started.get_or_insert(now);
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.received += d.len() as u64;
                    this.last_data = now;
                }
                if this.too_slow(started, now) {
                    this.done = true;
                    return Poll::Ready(Some(Err(BodyError::TooSlow(this.bounds.min_rate))));
                }
                let next = this.next_deadline(started);
                this.timer.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.done = true;
                Poll::Ready(Some(Err(BodyError::Client(e))))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => loop {
                let next = this.next_deadline(started);
                if this.timer.deadline() != next {
                    this.timer.as_mut().reset(next);
                }
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let now = Instant::now();
                if this.too_slow(started, now) {
                    this.done = true;
                    return Poll::Ready(Some(Err(BodyError::TooSlow(this.bounds.min_rate))));
                }
                if now.saturating_duration_since(this.last_data) >= this.bounds.idle {
                    this.done = true;
                    return Poll::Ready(Some(Err(BodyError::Timeout(
                        this.bounds.idle.as_secs().max(1),
                    ))));
                }
                // Neither bound crossed yet (the deadline moved): wait for the next one.
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(b) if !self.done => b.size_hint(),
            _ => SizeHint::with_exact(0),
        }
    }
}

impl Drop for RequestBody {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let (Some(body), Some(slot)) = (self.inner.take(), self.leftover.as_ref())
            && !body.is_end_stream()
        {
            // A poisoned slot: the body is simply dropped (the stream may be reset).
            if let Ok(mut s) = slot.lock() {
                *s = Some(body);
            }
        }
    }
}

/// Reads and discards what is left of a body the application did not read, up to `max`
/// bytes and `within`, so that the response does not race the request's end. Gives up
/// silently at either bound (the stream is then reset, as it would have been).
pub(crate) async fn drain(leftover: &Leftover, max: usize, within: Duration) {
    let body = leftover.lock().ok().and_then(|mut s| s.take());
    let Some(mut body) = body else { return };
    let _ = tokio::time::timeout(within, async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(d) = frame.data_ref() {
                seen += d.len();
                if seen > max {
                    return;
                }
            }
        }
    })
    .await;
}

/// A response body whose progress the connection watches; see the module doc.
pub(crate) struct Tracked {
    inner: crate::Body,
    activity: Arc<Activity>,
    /// Held while the response lives: the request counts as in flight until it is sent.
    _in_flight: crate::conn::InFlight,
    ended: bool,
}

impl Tracked {
    pub(crate) fn new(
        inner: crate::Body,
        activity: Arc<Activity>,
        in_flight: crate::conn::InFlight,
    ) -> Self {
        activity.sending_started();
        Tracked {
            inner,
            activity,
            _in_flight: in_flight,
            ended: false,
        }
    }

    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.activity.sending_ended();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.end();
    }
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        match &r {
            Poll::Ready(Some(Ok(_))) => this.activity.send_progress(),
            Poll::Ready(_) => this.end(),
            Poll::Pending => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
