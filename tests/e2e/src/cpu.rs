//! Processor time used by processes on this machine, read from `/proc`, so a benchmark can say
//! where a run's time went (the server, PostgreSQL, or the benchmark's own clients and
//! emulator) beside what it measured.

use std::collections::HashMap;
use std::time::Duration;

/// Processor time (user and system, every thread) used so far by a set of processes, per
/// process id, to subtract from a later reading of the same set.
#[derive(Debug, Clone, Default)]
pub struct Reading(HashMap<u32, u64>);

impl Reading {
    /// The processes `pids` (those still running).
    pub fn of(pids: &[u32]) -> Self {
        Self(pids.iter().filter_map(|&pid| Some((pid, ticks(pid)?))).collect())
    }

    /// Every process whose command name is `name` (PostgreSQL's are all `postgres`).
    pub fn named(name: &str) -> Self {
        let pids = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == name)
            })
            .collect::<Vec<_>>();
        Self::of(&pids)
    }

    /// This process (the benchmark: its clients and the emulator it runs).
    pub fn own() -> Self {
        Self::of(&[std::process::id()])
    }

    /// Whether it found no process.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Processor time used since `earlier` by the processes of this reading (those started
    /// since count whole; those that ended since are not counted), or `None` when `/proc` has
    /// none of them.
    pub fn since(&self, earlier: &Self) -> Option<Duration> {
        if self.0.is_empty() {
            return None;
        }
        let ticks: u64 = self
            .0
            .iter()
            .map(|(pid, now)| now.saturating_sub(earlier.0.get(pid).copied().unwrap_or(0)))
            .sum();
        Some(Duration::from_secs_f64(ticks as f64 / ticks_per_second()))
    }
}

/// `utime + stime` of `pid` in clock ticks (`/proc/{pid}/stat`, fields 14 and 15).
fn ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The clock ticks per second `/proc` counts in (`getconf CLK_TCK`; 100 on Linux's usual
/// architectures when it cannot be asked).
fn ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Reading;

    #[test]
    fn counts_what_this_process_works() {
        let before = Reading::own();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        // Work until the reading shows 100 ms used: it never does if the counter stands still.
        while Reading::own().since(&before).expect("this process is in /proc") < Duration::from_millis(100) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "30 s of work never counted as 100 ms"
            );
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        assert!(Reading::of(&[u32::MAX]).since(&before).is_none(), "no such process");
    }
}
