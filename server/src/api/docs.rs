//! `/docs` (Scalar, served from this binary) and `/openapi.json`.

use axum::http::header;
use axum::response::{Html, IntoResponse};

/// The Scalar bundle embedded by `build.rs`.
static SCALAR_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/scalar.js"));

/// The explorer page; every asset it loads comes from this server, and Scalar's hosted extras
/// (AI agent, MCP generator, developer tools) are off because they need Scalar's servers.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Titan API reference</title>
</head>
<body>
  <div id="app"></div>
  <script src="/docs/scalar.js"></script>
  <script>
    Scalar.createApiReference('#app', {
      url: '/openapi.json',
      withDefaultFonts: false,
      hideClientButton: true,
      showDeveloperTools: 'never',
      agent: { disabled: true },
      mcp: { disabled: true },
      telemetry: false
    });
  </script>
</body>
</html>
"#;

/// `GET /docs`.
pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /docs/scalar.js`.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SCALAR_JS,
    )
}
