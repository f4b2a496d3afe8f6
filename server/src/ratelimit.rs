//! Sliding-window rate limiting (the two-window weighted counter), keyed by API key or client IP.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The outcome of one admission check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// Requests allowed per window (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left in the sliding window after this one (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// When denied: whole seconds until a request would be admitted (`Retry-After`).
    pub retry_after: u64,
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    window_start: Instant,
    current: u32,
    previous: u32,
}

/// Counts events per key over a sliding window of `window`, allowing at most `limit`.
///
/// The estimate is `previous * (1 - elapsed/window) + current`, which smooths the burst that a
/// fixed window allows at its boundary while keeping two integers per key.
#[derive(Debug)]
pub struct SlidingWindow<K> {
    limit: u32,
    window: Duration,
    counters: Mutex<HashMap<K, Counter>>,
}

impl<K: Eq + Hash + Clone> SlidingWindow<K> {
    /// A limiter admitting `limit` events per `window` for each key.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key` if it is admitted, and says whether it was.
    pub fn hit(&self, key: &K) -> Decision {
        self.check(key, self.limit, true)
    }

    /// Like [`hit`](Self::hit), against `limit` instead of the limiter's own (for limits set per
    /// key that may change between calls, such as client-token rules).
    pub fn hit_within(&self, key: &K, limit: u32) -> Decision {
        self.check(key, limit, true)
    }

    /// Says whether an event for `key` would be admitted, without counting it.
    pub fn peek(&self, key: &K) -> Decision {
        self.check(key, self.limit, false)
    }

    fn check(&self, key: &K, limit: u32, count: bool) -> Decision {
        let now = Instant::now();
        let mut counters = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counters.len() > 10_000 {
            let horizon = self.window * 2;
            counters.retain(|_, c| now.duration_since(c.window_start) < horizon);
        }
        let counter = counters.entry(key.clone()).or_insert(Counter {
            window_start: now,
            current: 0,
            previous: 0,
        });
        self.roll(counter, now);
        let elapsed = now.duration_since(counter.window_start).as_secs_f64() / self.window.as_secs_f64();
        let estimate = f64::from(counter.previous) * (1.0 - elapsed) + f64::from(counter.current);
        let allowed = estimate + 1.0 <= f64::from(limit);
        if allowed && count {
            counter.current += 1;
        }
        let used = estimate + if allowed && count { 1.0 } else { 0.0 };
        let remaining = (f64::from(limit) - used).floor().max(0.0) as u32;
        let retry_after = if allowed {
            0
        } else {
            self.retry_after(counter, limit, elapsed)
        };
        Decision {
            allowed,
            limit,
            remaining,
            retry_after,
        }
    }

    /// Moves the windows forward so `counter.window_start` is the start of the current window.
    fn roll(&self, counter: &mut Counter, now: Instant) {
        let since = now.duration_since(counter.window_start);
        if since >= self.window * 2 {
            *counter = Counter {
                window_start: now,
                current: 0,
                previous: 0,
            };
        } else if since >= self.window {
            counter.previous = counter.current;
            counter.current = 0;
            counter.window_start += self.window;
        }
    }

    /// Seconds until the estimate drops enough to admit one more event.
    fn retry_after(&self, counter: &Counter, limit: u32, elapsed: f64) -> u64 {
        let window = self.window.as_secs_f64();
        let limit = f64::from(limit);
        let current = f64::from(counter.current);
        let wait = if current + 1.0 > limit || counter.previous == 0 {
            // Only the next window helps; then this window's count becomes the decaying one.
            let next_fraction = if current == 0.0 {
                0.0
            } else {
                1.0 - (limit - 1.0) / current
            };
            (1.0 - elapsed) * window + next_fraction.max(0.0) * window
        } else {
            // Wait for enough of the previous window to slide out.
            let needed = 1.0 - (limit - current - 1.0) / f64::from(counter.previous);
            (needed - elapsed) * window
        };
        wait.ceil().max(1.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_then_denies_with_retry_after() {
        let limiter = SlidingWindow::new(3, Duration::from_secs(60));
        let results: Vec<_> = (0..4).map(|_| limiter.hit(&"k")).collect();
        assert!(results[..3].iter().all(|d| d.allowed));
        assert_eq!(results.iter().map(|d| d.remaining).collect::<Vec<_>>(), [2, 1, 0, 0]);
        assert!(!results[3].allowed);
        assert!((1..=120).contains(&results[3].retry_after));
        assert!(limiter.hit(&"other").allowed, "keys are independent");
    }

    #[test]
    fn a_limit_given_per_call_applies_at_once() {
        let limiter = SlidingWindow::new(100, Duration::from_secs(60));
        assert!(limiter.hit_within(&"k", 2).allowed && limiter.hit_within(&"k", 2).allowed);
        let denied = limiter.hit_within(&"k", 2);
        assert_eq!((denied.allowed, denied.limit), (false, 2));
        assert!(limiter.hit_within(&"k", 5).allowed, "a raised limit admits at once");
    }

    #[test]
    fn peek_does_not_count() {
        let limiter = SlidingWindow::new(1, Duration::from_secs(60));
        assert!(limiter.peek(&1).allowed);
        assert!(limiter.peek(&1).allowed);
        assert!(limiter.hit(&1).allowed);
        assert!(!limiter.peek(&1).allowed);
    }

    #[test]
    fn the_window_slides() {
        let limiter = SlidingWindow::new(2, Duration::from_millis(50));
        assert!(limiter.hit(&"k").allowed && limiter.hit(&"k").allowed);
        assert!(!limiter.hit(&"k").allowed);
        std::thread::sleep(Duration::from_millis(120));
        assert!(limiter.hit(&"k").allowed, "two windows later the count is gone");
    }
}
