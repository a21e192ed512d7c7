//! When to renew, and how long to wait after a failure. Pure functions of times.
//!
//! Must not: read the clock (callers pass `now`) or do I/O.

use std::time::Duration;

use time::OffsetDateTime;

/// The moment a certificate valid `not_before..not_after` is due for renewal: inside the
/// CA's ARI window when it suggests one (its middle), else at two thirds of the lifetime.
pub fn renew_at(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    ari_window: Option<(OffsetDateTime, OffsetDateTime)>,
) -> OffsetDateTime {
    if let Some((start, end)) = ari_window
        && end >= start
    {
        return start + (end - start) / 2;
    }
    let life = not_after - not_before;
    not_before + life * 2 / 3
}

/// The wait before the next attempt after `failures` failed ones in a row: 1 minute,
/// doubling, at most 6 hours.
pub fn backoff(failures: u32) -> Duration {
    let base = 60u64;
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_secs((base << exp).min(6 * 3600))
}

/// Retries of a watched pair that does not match yet (a renewal caught half-written):
/// 1 s, doubling, at most 30 s, so that certbot's few milliseconds between the links and
/// a slower deploy script are both ridden out quickly.
pub fn watch_retry(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(5);
    Duration::from_secs((1u64 << exp).min(30))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn two_thirds_of_the_lifetime_without_ari() {
        let nb = datetime!(2026-01-01 0:00 UTC);
        let na = datetime!(2026-04-01 0:00 UTC); // 90 days
        assert_eq!(renew_at(nb, na, None), datetime!(2026-03-02 0:00 UTC));
    }

    #[test]
    fn the_middle_of_the_ari_window_when_offered() {
        let nb = datetime!(2026-01-01 0:00 UTC);
        let na = datetime!(2026-04-01 0:00 UTC);
        let w = (
            datetime!(2026-02-01 0:00 UTC),
            datetime!(2026-02-03 0:00 UTC),
        );
        assert_eq!(renew_at(nb, na, Some(w)), datetime!(2026-02-02 0:00 UTC));
        // A window that ends before it starts is ignored.
        assert_eq!(
            renew_at(nb, na, Some((w.1, w.0))),
            datetime!(2026-03-02 0:00 UTC)
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(100), Duration::from_secs(6 * 3600));
        assert_eq!(watch_retry(1), Duration::from_secs(1));
        assert_eq!(watch_retry(3), Duration::from_secs(4));
        assert_eq!(watch_retry(50), Duration::from_secs(30));
    }
}
