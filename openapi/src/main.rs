//! `titan-openapi generate [--check]`.

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Titan's OpenAPI pipeline.
#[derive(Debug, Parser)]
#[command(name = "titan-openapi")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate openapi/*.json, sdk-rust/src/generated*.rs and the Python SDK's generated modules.
    Generate {
        /// Write nothing; fail if any generated file differs from what would be written.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let Cli {
        command: Command::Generate { check },
    } = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let started = std::time::Instant::now();
    match titan_openapi::generate::run(&root, check) {
        Ok(()) => {
            eprintln!("done in {:.2} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("titan-openapi: {error:#}");
            ExitCode::FAILURE
        }
    }
}
