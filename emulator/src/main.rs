//! `wa-emulator`: run the WhatsApp emulator on its own, for manual tests and other tools.

use std::net::SocketAddr;

use clap::Parser;

/// A WhatsApp server on loopback for whatsapp-rust clients built with `danger-skip-cert-chain-verify`.
#[derive(Debug, Parser)]
#[command(name = "wa-emulator", version)]
struct Args {
    /// Address to listen on (WebSocket at /ws/chat, admin API at /admin/*).
    #[arg(long, env = "WA_EMULATOR_BIND", default_value = "127.0.0.1:7070")]
    bind: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let emulator = wa_emulator::Emulator::start(args.bind).await?;
    println!("clients: {}", emulator.ws_url());
    println!("admin:   {}/admin/accounts", emulator.admin_url());
    println!(
        "media:   {} (CA: {}/admin/media-ca.pem)",
        emulator.media_url(),
        emulator.admin_url()
    );
    tokio::signal::ctrl_c().await?;
    emulator.stop().await
}
