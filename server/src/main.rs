//! The `titan` binary.

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
