//! Webhook deliveries: how failed ones are retried and where each one stands. Shared by the
//! webhooks API, the dispatcher and the delivery log's storage.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::wire::wire_enum;

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
    /// Attempts in all, the first included (1 to 50, default 15); after the last failed one the
    /// delivery is `dead` (it stays in the log and can be retried by hand).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Base wait between attempts in seconds (0 to 3600, default 5).
    #[serde(default = "default_delay")]
    pub delay_seconds: u32,
    /// How the wait grows (default `exponential`).
    #[serde(default)]
    pub policy: RetryPolicy,
}

fn default_attempts() -> u32 {
    15
}

fn default_delay() -> u32 {
    5
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
        let base = Duration::from_secs(u64::from(self.delay_seconds));
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
            attempts: 10,
            delay_seconds: 2,
            policy,
        };
        let secs = |r: Retries| (1..=4).map(|n| r.delay_after(n).as_secs()).collect::<Vec<_>>();
        assert_eq!(secs(retries(RetryPolicy::Constant)), [2, 2, 2, 2]);
        assert_eq!(secs(retries(RetryPolicy::Linear)), [2, 4, 6, 8]);
        assert_eq!(secs(retries(RetryPolicy::Exponential)), [2, 4, 8, 16]);
        assert_eq!(retries(RetryPolicy::Exponential).delay_after(40), MAX_DELAY);
    }
}
