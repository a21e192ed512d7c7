//! Every phase of a connection bounded: what a connection is doing, who may stay when the
//! server is full, and when each one must go.
//!
//! - [`Activity`]: one per connection; requests in flight, when it went idle, when a new
//!   request head started arriving, when a response body last made progress. Updated by the
//!   I/O wrapper ([`Metered`]), the service and the response bodies; read by
//!   [`supervise`], which returns the first bound the connection crosses: HTTP/1.1 header
//!   timeout and keep-alive idle timeout, HTTP/2 idle timeout (no stream open), a response
//!   that makes no progress (send timeout), the maximum connection age, or being shed.
//! - [`Registry`]: the open connections, oldest first. When the total or the per-address
//!   limit is reached, the oldest idle connection (handshaking, or no request in flight) is
//!   shed to admit the new one; when none is idle the new connection is refused. A silent
//!   client therefore never keeps a busy one out.
//! - [`FrameMeter`]: counts HTTP/2 control frames (PING, SETTINGS, RST_STREAM, PRIORITY,
//!   empty DATA/HEADERS, unknown types) by their 9-byte frame headers in the plaintext the
//!   connection reads, with a token bucket; a flood fails the read and hyper closes the
//!   connection. It reads frame lengths only to skip payloads: h2 (via hyper) parses them.
//!
//! No policy about what requests mean: only time, counts and bytes.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::Limits;

/// "Not set" for the millisecond stamps below.
const NONE: u64 = u64::MAX;

/// What one connection is doing; see the module doc. Times are milliseconds since `started`.
pub(crate) struct Activity {
    started: Instant,
    /// True until the TLS handshake completed (plain http: until serving starts).
    handshaking: AtomicBool,
    /// Requests whose response has not been sent (or dropped) yet.
    in_flight: AtomicUsize,
    /// Requests started so far: the first head gets the header timeout from the start,
    /// later ones the keep-alive timeout first.
    requests: AtomicU64,
    /// When `in_flight` last became 0.
    idle_since: AtomicU64,
    /// When the first bytes of the next head arrived while idle (HTTP/1.1 only).
    head_started: AtomicU64,
    /// Response bodies being sent, and when one last produced data.
    sending: AtomicUsize,
    last_progress: AtomicU64,
    /// Set when the registry sheds this connection to admit a newer one.
    shed: AtomicBool,
    /// Wakes the supervisor when the state above changes in a way that moves a deadline
    /// earlier (or sheds); progress only moves deadlines later and needs no wake-up.
    changed: Notify,
}

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        Arc::new(Activity {
            started: Instant::now(),
            handshaking: AtomicBool::new(true),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
            sending: AtomicUsize::new(0),
            last_progress: AtomicU64::new(0),
            shed: AtomicBool::new(false),
            changed: Notify::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.started + Duration::from_millis(ms)
    }

    /// The connection now speaks HTTP (handshake done).
    pub(crate) fn serving(&self) {
        self.handshaking.store(false, Ordering::Release);
        self.idle_since.store(self.now_ms(), Ordering::Release);
        self.changed.notify_one();
    }

    /// Idle: sheddable when the server is full.
    fn is_idle(&self) -> bool {
        self.handshaking.load(Ordering::Acquire) || self.in_flight.load(Ordering::Acquire) == 0
    }

    /// A request head arrived and is handed to the application.
    pub(crate) fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.requests.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(NONE, Ordering::Release);
        self.changed.notify_one();
        InFlight(self.clone())
    }

    pub(crate) fn sending_started(&self) {
        self.last_progress.store(self.now_ms(), Ordering::Release);
        self.sending.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
    }

    pub(crate) fn sending_ended(&self) {
        self.sending.fetch_sub(1, Ordering::AcqRel);
        self.last_progress.store(self.now_ms(), Ordering::Release);
    }

    pub(crate) fn send_progress(&self) {
        self.last_progress.store(self.now_ms(), Ordering::Release);
    }

    /// Bytes were read from the client (HTTP/1.1): while idle, they start the next head.
    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && !self.handshaking.load(Ordering::Acquire)
            && self.head_started.load(Ordering::Acquire) == NONE
        {
            self.head_started.store(self.now_ms(), Ordering::Release);
            self.changed.notify_one();
        }
    }

    fn shed(&self) {
        self.shed.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    /// Resolves once the registry sheds the connection.
    pub(crate) async fn wait_shed(&self) {
        while !self.shed.load(Ordering::Acquire) {
            self.changed.notified().await;
        }
    }
}

/// A request in flight; dropping it (response sent, or the request abandoned) ends it.
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        if a.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            a.idle_since.store(a.now_ms(), Ordering::Release);
            a.changed.notify_one();
        }
    }
}

/// Why a connection is being closed by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Close {
    /// Shed: the server was full and this was the oldest idle connection.
    Shed,
    /// HTTP/1.1: a request head did not arrive in full within the header timeout.
    HeaderTimeout,
    /// HTTP/1.1: no new request within the keep-alive timeout.
    KeepAlive,
    /// HTTP/2: no stream open for the HTTP/2 idle timeout.
    H2Idle,
    /// A response body made no progress for the send timeout (client not reading).
    SendStall,
    /// The connection reached the maximum connection age.
    MaxAge,
}

impl Close {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Close::Shed => "shed to admit a new connection (connection limit reached)",
            Close::HeaderTimeout => "request head not received within the header timeout",
            Close::KeepAlive => "keep-alive idle timeout",
            Close::H2Idle => "HTTP/2 idle timeout (no stream open)",
            Close::SendStall => "the client did not read the response within the send timeout",
            Close::MaxAge => "maximum connection age reached",
        }
    }

    /// Whether the connection may finish what it is doing (GOAWAY / `Connection: close`).
    pub(crate) fn graceful(self) -> bool {
        matches!(self, Close::H2Idle | Close::MaxAge | Close::KeepAlive)
    }
}

/// Resolves with the first bound `activity` crosses under `limits`; see the module doc.
pub(crate) async fn supervise(activity: Arc<Activity>, limits: Arc<Limits>, h2: bool) -> Close {
    let max_age = activity.at(0) + limits.max_connection_age;
    loop {
        if activity.shed.load(Ordering::Acquire) {
            return Close::Shed;
        }
        let mut deadline = (max_age, Close::MaxAge);
        let mut earlier = |at: Instant, why: Close| {
            if at < deadline.0 {
                deadline = (at, why);
            }
        };
        if activity.in_flight.load(Ordering::Acquire) == 0 {
            let idle = activity.at(activity.idle_since.load(Ordering::Acquire));
            if h2 {
                earlier(idle + limits.h2_idle_timeout, Close::H2Idle);
            } else {
                let head = activity.head_started.load(Ordering::Acquire);
                if head != NONE {
                    earlier(
                        activity.at(head) + limits.header_read_timeout,
                        Close::HeaderTimeout,
                    );
                } else if activity.requests.load(Ordering::Acquire) == 0 {
                    earlier(idle + limits.header_read_timeout, Close::HeaderTimeout);
                } else {
                    earlier(idle + limits.keep_alive_timeout, Close::KeepAlive);
                }
            }
        } else if activity.sending.load(Ordering::Acquire) > 0 {
            let last = activity.at(activity.last_progress.load(Ordering::Acquire));
            earlier(last + limits.send_timeout, Close::SendStall);
        }
        let (at, why) = deadline;
        if Instant::now() >= at {
            return why;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(at) => {}
            _ = activity.changed.notified() => {}
        }
    }
}

/// The open connections, oldest first; see the module doc.
pub(crate) struct Registry {
    inner: Mutex<RegistryInner>,
}

#[derive(Default)]
struct RegistryInner {
    next_id: u64,
    /// By id, which grows with time: iteration is oldest first.
    conns: BTreeMap<u64, (IpAddr, Arc<Activity>)>,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a new connection was refused.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The total limit is reached and every connection is busy.
    Total(usize),
    /// This address's limit is reached and each of its connections is busy.
    PerIp(usize),
}

/// A connection's place in the registry; leaving drops it.
pub(crate) struct Slot {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut r = self.registry.lock();
        r.remove(self.id);
    }
}

impl RegistryInner {
    fn remove(&mut self, id: u64) -> Option<Arc<Activity>> {
        let (ip, a) = self.conns.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
        Some(a)
    }

    /// The oldest idle connection (of `ip`, when given).
    fn oldest_idle(&self, ip: Option<IpAddr>) -> Option<u64> {
        self.conns
            .iter()
            .find(|(_, (cip, a))| ip.is_none_or(|ip| *cip == ip) && a.is_idle())
            .map(|(id, _)| *id)
    }
}

impl Registry {
    pub(crate) fn new() -> Arc<Registry> {
        Arc::new(Registry {
            inner: Mutex::new(RegistryInner::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryInner> {
        // The registry holds counts only; a panic elsewhere while holding it leaves them
        // consistent (each mutation completes before any call that could panic).
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `ip`, shedding the oldest idle one when a limit is reached.
    pub(crate) fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        limits: &Limits,
        activity: &Arc<Activity>,
    ) -> Result<Slot, Refused> {
        let mut r = self.lock();
        if r.per_ip.get(&ip).copied().unwrap_or(0) >= limits.max_connections_per_ip {
            let victim = r
                .oldest_idle(Some(ip))
                .ok_or(Refused::PerIp(limits.max_connections_per_ip))?;
            if let Some(a) = r.remove(victim) {
                a.shed();
            }
        }
        if r.conns.len() >= limits.max_connections {
            let victim = r
                .oldest_idle(None)
                .ok_or(Refused::Total(limits.max_connections))?;
            if let Some(a) = r.remove(victim) {
                a.shed();
            }
        }
        let id = r.next_id;
        r.next_id += 1;
        r.conns.insert(id, (ip, activity.clone()));
        *r.per_ip.entry(ip).or_insert(0) += 1;
        Ok(Slot {
            registry: self.clone(),
            id,
        })
    }

    /// Connections open now.
    pub(crate) fn len(&self) -> usize {
        self.lock().conns.len()
    }
}

/// Counts HTTP/2 control frames; see the module doc.
pub(crate) struct FrameMeter {
    /// Bytes of the client connection preface still to skip.
    preface_left: usize,
    header: [u8; 9],
    header_len: usize,
    /// Payload bytes of the current frame still to skip.
    skip: usize,
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl FrameMeter {
    /// `rate` control frames per second sustained, bursts of `5 × rate`.
    pub(crate) fn new(rate: u32) -> FrameMeter {
        let rate = f64::from(rate.max(1));
        FrameMeter {
            preface_left: 24,
            header: [0; 9],
            header_len: 0,
            skip: 0,
            tokens: rate * 5.0,
            rate,
            burst: rate * 5.0,
            last: Instant::now(),
        }
    }

    /// Feeds bytes read from the client; false once the client floods.
    pub(crate) fn feed(&mut self, mut buf: &[u8]) -> bool {
        while !buf.is_empty() {
            if self.preface_left > 0 {
                let n = self.preface_left.min(buf.len());
                self.preface_left -= n;
                buf = &buf[n..];
                continue;
            }
            if self.skip > 0 {
                let n = self.skip.min(buf.len());
                self.skip -= n;
                buf = &buf[n..];
                continue;
            }
            let n = (9 - self.header_len).min(buf.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&buf[..n]);
            self.header_len += n;
            buf = &buf[n..];
            if self.header_len < 9 {
                continue;
            }
            self.header_len = 0;
            let h = self.header;
            let len = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
            let (kind, flags) = (h[3], h[4]);
            self.skip = len;
            let ack = flags & 0x1 != 0;
            let costly = match kind {
                // DATA / HEADERS / CONTINUATION carrying nothing (and not ending a stream).
                0x0 | 0x1 | 0x9 => len == 0 && flags & 0x1 == 0,
                0x2 | 0x3 => true,  // PRIORITY, RST_STREAM
                0x4 | 0x6 => !ack,  // SETTINGS, PING
                0x5 | 0x7 => false, // PUSH_PROMISE (a protocol error), GOAWAY (ends it)
                0x8 => false,       // WINDOW_UPDATE: sent for every DATA a client reads
                _ => true,          // unknown types are ignored by h2: cost without use
            };
            if costly && !self.take() {
                return false;
            }
        }
        true
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The connection's I/O, watched: reads feed [`Activity`] and (HTTP/2) the [`FrameMeter`].
pub(crate) struct Metered<IO> {
    io: IO,
    activity: Arc<Activity>,
    meter: Option<FrameMeter>,
}

impl<IO> Metered<IO> {
    pub(crate) fn new(io: IO, activity: Arc<Activity>, meter: Option<FrameMeter>) -> Self {
        Metered {
            io,
            activity,
            meter,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Metered<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let fresh = &buf.filled()[before..];
            if !fresh.is_empty() {
                match this.meter.as_mut() {
                    Some(m) => {
                        if !m.feed(fresh) {
                            return Poll::Ready(Err(io::Error::other(
                                "HTTP/2 control frame flood (PING/SETTINGS/RST_STREAM/empty frames); connection closed (setting Http2MaxControlFramesPerSecond)",
                            )));
                        }
                    }
                    None => this.activity.bytes_read(),
                }
            }
        }
        r
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Metered<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
        let n = payload.len();
        let mut v = vec![
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
            kind,
            flags,
            0,
            0,
            0,
            0,
        ];
        v.extend_from_slice(payload);
        v
    }

    #[tokio::test]
    async fn ping_flood_trips_the_meter_and_data_does_not() {
        let mut m = FrameMeter::new(10);
        assert!(m.feed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        // Big DATA frames and WINDOW_UPDATEs are free, split across reads anywhere.
        let mut stream = Vec::new();
        for _ in 0..1000 {
            stream.extend(frame(0x0, 0, &[7u8; 100]));
            stream.extend(frame(0x8, 0, &[0, 0, 0, 1]));
        }
        for chunk in stream.chunks(7) {
            assert!(m.feed(chunk));
        }
        // 50 PINGs fit the burst (5 × 10); the next ones do not.
        let ping = frame(0x6, 0, &[0; 8]);
        for _ in 0..50 {
            assert!(m.feed(&ping));
        }
        assert!(!m.feed(&ping));
        // PING ACKs are not counted.
        let mut m = FrameMeter::new(1);
        m.feed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        for _ in 0..100 {
            assert!(m.feed(&frame(0x6, 1, &[0; 8])));
        }
    }

    #[tokio::test]
    async fn full_registry_sheds_the_oldest_idle_connection() {
        let limits = Limits {
            max_connections: 2,
            max_connections_per_ip: 2,
            ..Limits::default()
        };
        let reg = Registry::new();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let (a, b, c) = (Activity::new(), Activity::new(), Activity::new());
        let _sa = reg.admit(ip, &limits, &a).unwrap();
        let _sb = reg.admit(ip, &limits, &b).unwrap();
        // `a` is busy, `b` idle: the new one sheds `b`.
        a.serving();
        let _req = a.request_started();
        b.serving();
        let _sc = reg.admit(ip, &limits, &c).unwrap();
        assert!(b.shed.load(Ordering::Acquire) && !a.shed.load(Ordering::Acquire));
        assert_eq!(reg.len(), 2);
        // Both busy now: refused.
        c.serving();
        let _req_c = c.request_started();
        let d = Activity::new();
        assert!(matches!(reg.admit(ip, &limits, &d), Err(Refused::PerIp(2))));
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(matches!(
            reg.admit(other, &limits, &d),
            Err(Refused::Total(2))
        ));
    }
}
