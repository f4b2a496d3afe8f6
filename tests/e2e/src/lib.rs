//! What the end-to-end suites share: a real Titan server on a real database, the WhatsApp
//! emulator it connects to, titan-client to drive it, and proxies that count what they relay.

pub mod bot;
pub mod cpu;
pub mod database;
pub mod harness;
pub mod process;
pub mod proxies;
pub mod receiver;
pub mod schema;

/// The number after `flag` on a benchmark's command line (`-- --count 200`), or `default`.
pub fn bench_flag(flag: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs each scenario (an `async fn(Harness)` of the calling test file) once on SQLite and once
/// on PostgreSQL (skipped outside CI when PostgreSQL is not configured), each on a fresh
/// server and emulator.
#[macro_export]
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        $crate::on_both_databases!(@on sqlite Sqlite; $($scenario),*);
        $crate::on_both_databases!(@on postgres Postgres; $($scenario),*);
    };
    (@on $module:ident $engine:ident; $($scenario:ident),*) => {
        mod $module {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() {
                if let Some(harness) = $crate::harness::Harness::start($crate::database::Engine::$engine).await {
                    super::$scenario(harness).await;
                }
            })*
        }
    };
}
