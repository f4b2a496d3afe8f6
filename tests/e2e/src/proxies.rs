//! Proxies on loopback that count the tunnels they relay: HTTP CONNECT and SOCKS5 (with or
//! without a password), to prove a session's traffic really goes through its proxy.

use std::sync::Arc;

/// How many tunnels a test proxy has opened.
pub type Tunnels = Arc<std::sync::atomic::AtomicUsize>;

/// What a test proxy learnt from a client's handshake: the client, the `host:port` it asked
/// for, and the success reply to send it once the upstream connection is open.
pub type Negotiated = Option<(tokio::net::TcpStream, String, Vec<u8>)>;

/// A proxy on loopback: `negotiate` reads each client's proxy handshake; the proxy then opens
/// the tunnel, replies, relays, and counts the tunnels it opened.
pub async fn relay<F, Fut>(negotiate: F) -> (std::net::SocketAddr, Tunnels)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Copy + 'static,
    Fut: std::future::Future<Output = Negotiated> + Send,
{
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a test proxy");
    let addr = listener.local_addr().expect("test proxy address");
    let tunnels = Tunnels::default();
    let counter = Arc::clone(&tunnels);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let (mut client, target, reply) = negotiate(client).await?;
                let mut upstream = tokio::net::TcpStream::connect(target).await.ok()?;
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                client.write_all(&reply).await.ok()?;
                tokio::io::copy_bidirectional(&mut client, &mut upstream).await.ok()
            });
        }
    });
    (addr, tunnels)
}

/// An HTTP CONNECT proxy on loopback that counts the tunnels it relays.
pub async fn counting_proxy() -> (String, Tunnels) {
    let (addr, tunnels) = relay(|mut client| async move {
        use tokio::io::AsyncReadExt;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            client.read_exact(&mut byte).await.ok()?;
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        let target = head.strip_prefix("CONNECT ")?.split(' ').next()?.to_owned();
        Some((client, target, b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec()))
    })
    .await;
    (format!("http://{addr}"), tunnels)
}

/// A SOCKS5 proxy on loopback (no authentication, or `user`/`secret`) that counts the tunnels it
/// relays.
pub async fn counting_socks5(with_password: bool) -> (String, Tunnels) {
    let (addr, tunnels) = relay(move |mut client| async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut greeting = [0u8; 2];
        client.read_exact(&mut greeting).await.ok()?;
        let mut methods = vec![0u8; usize::from(greeting[1])];
        client.read_exact(&mut methods).await.ok()?;
        let method = if with_password { 0x02 } else { 0x00 };
        if !methods.contains(&method) {
            client.write_all(&[0x05, 0xff]).await.ok()?;
            return None;
        }
        client.write_all(&[0x05, method]).await.ok()?;
        if with_password {
            let mut version_and_length = [0u8; 2];
            client.read_exact(&mut version_and_length).await.ok()?;
            let mut user = vec![0u8; usize::from(version_and_length[1])];
            client.read_exact(&mut user).await.ok()?;
            let mut length = [0u8; 1];
            client.read_exact(&mut length).await.ok()?;
            let mut password = vec![0u8; usize::from(length[0])];
            client.read_exact(&mut password).await.ok()?;
            let ok = user == b"user" && password == b"secret";
            client.write_all(&[0x01, if ok { 0 } else { 1 }]).await.ok()?;
            if !ok {
                return None;
            }
        }
        let mut request = [0u8; 5];
        client.read_exact(&mut request).await.ok()?;
        let mut host = vec![0u8; usize::from(request[4])];
        client.read_exact(&mut host).await.ok()?;
        let mut port = [0u8; 2];
        client.read_exact(&mut port).await.ok()?;
        let target = format!("{}:{}", String::from_utf8_lossy(&host), u16::from_be_bytes(port));
        Some((client, target, vec![0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]))
    })
    .await;
    let url = if with_password {
        format!("socks5://user:secret@{addr}")
    } else {
        format!("socks5://{addr}")
    };
    (url, tunnels)
}
