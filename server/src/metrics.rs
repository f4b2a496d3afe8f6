//! Request counters and latency histograms, rendered as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    total: u64,
}

#[derive(Debug, Default)]
struct Series {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
}

/// Counts requests by method, route template and status, and their latency by route.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<Series>,
}

impl Metrics {
    /// Records one finished request; `route` is the matched template, never the raw path.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *series
            .requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let histogram = series.latency.entry((method.to_owned(), route.to_owned())).or_default();
        let seconds = elapsed.as_secs_f64();
        for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        histogram.sum += seconds;
        histogram.total += 1;
    }

    /// The Prometheus text exposition of everything recorded so far.
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP titan_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE titan_http_requests_total counter\n");
        for ((method, route, status), count) in &series.requests {
            let _ = writeln!(
                out,
                "titan_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str("# HELP titan_http_request_duration_seconds HTTP request latency by method and route.\n");
        out.push_str("# TYPE titan_http_request_duration_seconds histogram\n");
        for ((method, route), h) in &series.latency {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "titan_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "titan_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.total
            );
            let _ = writeln!(out, "titan_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "titan_http_request_duration_seconds_count{{{labels}}} {}", h.total);
        }
        out
    }
}
