//! Webhook deliveries: how failed ones are retried and where each one stands. Shared by the
//! webhooks API, the dispatcher and the delivery log's storage.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::bounded::{IntRule, bounded_int};
use super::wire::wire_enum;

bounded_int! {
    /// Attempts in all for one delivery, the first included.
    Attempts = IntRule { min: 1, max: 50, text: false };
}

bounded_int! {
    /// Base wait between attempts, in seconds.
    DelaySeconds = IntRule { min: 0, max: 3600, text: false };
}

wire_enum! {
    /// How the wait between attempts grows.
    #[derive(Default)]
    RetryPolicy as "lowercase" {
        /// The same delay every time.
        Constant => "constant",
        /// `delaySeconds × n` before attempt n + 1.
        Linear => "linear",
        /// `delaySeconds × 2^(n-1)` before attempt n + 1 (capped at one hour).
        #[default]
        Exponential => "exponential",
    }
}

/// Longest wait between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(3600);

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retries {
    /// Attempts in all, the first included (default 15); after the last failed one the
    /// delivery is `dead` (it stays in the log and can be retried by hand).
    #[serde(default = "default_attempts")]
    #[schema(inline)]
    pub attempts: Attempts,
    /// Base wait between attempts in seconds (default 5).
    #[serde(default = "default_delay")]
    #[schema(inline)]
    pub delay_seconds: DelaySeconds,
    /// How the wait grows (default `exponential`).
    #[serde(default)]
    pub policy: RetryPolicy,
}

fn default_attempts() -> Attempts {
    Attempts::new_const(15)
}

fn default_delay() -> DelaySeconds {
    DelaySeconds::new_const(5)
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            attempts: default_attempts(),
            delay_seconds: default_delay(),
            policy: RetryPolicy::default(),
        }
    }
}

impl Retries {
    /// The wait after `failed` failed attempts (before jitter).
    pub fn delay_after(&self, failed: u32) -> Duration {
        let base = Duration::from_secs(u64::from(self.delay_seconds.get()));
        let delay = match self.policy {
            RetryPolicy::Constant => base,
            RetryPolicy::Linear => base.saturating_mul(failed.max(1)),
            RetryPolicy::Exponential => base.saturating_mul(2u32.saturating_pow(failed.saturating_sub(1).min(20))),
        };
        delay.min(MAX_DELAY)
    }
}

wire_enum! {
    /// Where a delivery stands.
    DeliveryState as "lowercase" {
        /// Waiting for its first or next attempt.
        Pending => "pending",
        /// The receiver answered 2xx.
        Delivered => "delivered",
        /// Every attempt failed; retry it by hand.
        Dead => "dead",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_the_policy() {
        let retries = |policy| Retries {
            attempts: Attempts::new_const(10),
            delay_seconds: DelaySeconds::new_const(2),
            policy,
        };
        let secs = |r: Retries| (1..=4).map(|n| r.delay_after(n).as_secs()).collect::<Vec<_>>();
        assert_eq!(secs(retries(RetryPolicy::Constant)), [2, 2, 2, 2]);
        assert_eq!(secs(retries(RetryPolicy::Linear)), [2, 4, 6, 8]);
        assert_eq!(secs(retries(RetryPolicy::Exponential)), [2, 4, 8, 16]);
        assert_eq!(retries(RetryPolicy::Exponential).delay_after(40), MAX_DELAY);
    }
}
