//! Create, list and revoke API keys with titan-client.
//!
//! ```sh
//! export TITAN_BASE_URL=http://127.0.0.1:8080
//! export TITAN_API_KEY=titan_...        # a key with the `*` scope
//! cargo run -p titan-client --example keys
//! ```

use futures::TryStreamExt;
use titan_client::paging::Paginated;
use titan_client::types::{CreateKey, Scope, UpdateKey};
use titan_client::{Client, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // TITAN_BASE_URL and TITAN_API_KEY; retries, timeouts and idempotency keys are built in.
    let client = Client::from_env()?;

    // A key for an app that only reads sessions, and only the session "shop".
    let created = client
        .create_key()
        .body(
            CreateKey::builder()
                .label("shop-reader".to_owned())
                .scopes(vec![Scope::SessionsRead])
                .sessions(Some(vec!["shop".to_owned()]))
                .lifetime_days(Some(30)),
        )
        .send()
        .await?;
    println!("request id {:?}", created.headers().get("x-request-id"));
    let created = created.into_inner().data;
    println!("created {} — store the secret now: {}", created.id, created.key);

    // Every key, page after page.
    let keys: Vec<_> = client.list_keys().limit(100).stream().try_collect().await?;
    for key in &keys {
        let scopes: Vec<String> = key.scopes.iter().map(ToString::to_string).collect();
        println!(
            "{} {:<20} active={} scopes={}",
            key.id,
            key.label,
            key.is_active,
            scopes.join(",")
        );
    }

    // Disable, then delete; both apply to the key's next request.
    client
        .update_key()
        .id(created.id.clone())
        .body(UpdateKey::builder().is_active(Some(false)))
        .send()
        .await?;
    client.delete_key().id(created.id.clone()).send().await?;

    // Errors carry the status, Titan's message, the docs link and the request id.
    match client.get_key().id(created.id).send().await.map_err(Error::from) {
        Err(Error::Api(error)) => println!("as expected: {} {} ({})", error.status, error.message, error.request_id),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
