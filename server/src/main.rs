//! The `titan` binary.

/// mimalloc instead of glibc's allocator: a send allocates and frees many small, short-lived
/// values across the runtime's threads (see the README's measured performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match titan_server::cli::run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("titan: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
