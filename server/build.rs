//! Embeds the Scalar API reference bundle that `/docs` serves.
//!
//! The bundle comes from the npm registry (`npm pack`, which checks the registry's integrity hash)
//! at build time and is cached in `server/docs-ui/.cache/`; it is never committed and never loaded
//! from a CDN at run time. Without npm the build still succeeds: `/docs` then explains how to fetch it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned `@scalar/api-reference` release.
const SCALAR_VERSION: &str = "1.72.1";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TITAN_SCALAR_JS");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("scalar.js");
    let cache = manifest.join("docs-ui/.cache").join(SCALAR_VERSION);
    let bundle = cache.join("package/dist/browser/standalone.js");
    println!("cargo:rerun-if-changed={}", bundle.display());

    let source = match std::env::var_os("TITAN_SCALAR_JS") {
        Some(path) => Some(PathBuf::from(path)),
        None if bundle.exists() => Some(bundle),
        None => fetch(&cache).then_some(bundle),
    };
    match source.filter(|p| p.exists()) {
        Some(path) => {
            std::fs::copy(&path, &out).expect("copy the Scalar bundle into OUT_DIR");
        }
        None => {
            println!(
                "cargo:warning=Scalar {SCALAR_VERSION} could not be fetched with npm; /docs will explain how to install it"
            );
            std::fs::write(&out, FALLBACK_JS).expect("write the /docs fallback script");
        }
    }
}

/// Downloads the package tarball with `npm pack` and unpacks it into `cache`.
fn fetch(cache: &Path) -> bool {
    if std::fs::create_dir_all(cache).is_err() {
        return false;
    }
    let packed = Command::new("npm")
        .args(["pack", "--silent", &format!("@scalar/api-reference@{SCALAR_VERSION}")])
        .current_dir(cache)
        .output();
    let Ok(packed) = packed else { return false };
    let tarball = String::from_utf8_lossy(&packed.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    if !packed.status.success() || tarball.is_empty() {
        return false;
    }
    let unpacked = Command::new("tar")
        .args(["-xzf", &tarball, "package/dist/browser/standalone.js"])
        .current_dir(cache)
        .status()
        .is_ok_and(|s| s.success());
    let _ = std::fs::remove_file(cache.join(&tarball));
    unpacked
}

/// Shown by `/docs` when the bundle could not be fetched at build time.
const FALLBACK_JS: &str = r#"document.body.innerHTML = '<main style="font-family:sans-serif;max-width:40em;margin:4em auto">'
 + '<h1>API reference not installed</h1><p>This titan binary was built without the Scalar bundle '
 + '(npm was not available). Install Node.js and npm, then rebuild. The OpenAPI document is at '
 + '<a href="/openapi.json">/openapi.json</a>.</p></main>';"#;
