//! The pipeline end to end: golden conversions, the real spec, and the drift check.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use serde_json::Value;
use titan_openapi::{convert, generate, lint};

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn golden_fixture_converts_exactly() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let converted = convert::down_convert(&read(&fixtures.join("utoipa-sample.3.1.json"))).unwrap();
    assert_eq!(converted, read(&fixtures.join("utoipa-sample.3.0.json")));
    assert_eq!(lint::lint(&converted), vec![]);
}

#[test]
fn the_real_spec_converts_lints_clean_and_parses_as_3_0() {
    let spec31 = serde_json::to_value(titan_server::api::openapi()).unwrap();
    let spec30 = generate::progenitor_view(&spec31).unwrap();
    // The async answer is in the published 3.1 document only (progenitor takes one success body).
    let send = "/paths/~1api~1messages~1send/post/responses";
    assert!(spec31.pointer(&format!("{send}/202")).is_some());
    assert!(spec30.pointer(&format!("{send}/202")).is_none());
    assert!(spec30.pointer(&format!("{send}/201")).is_some());
    assert_eq!(
        spec30,
        read(&root().join("openapi/openapi-3.0.json")),
        "golden: the committed 3.0 document"
    );
    assert_eq!(lint::lint(&spec30), vec![]);
    let parsed: openapiv3::OpenAPI = serde_json::from_value(spec30).unwrap();
    assert!(parsed.openapi.starts_with("3.0."));
    let text = std::fs::read_to_string(root().join("openapi/openapi-3.0.json")).unwrap();
    assert!(!text.contains("\"null\""), "no 3.1 null types survive");
}

#[test]
fn committed_generated_files_are_up_to_date() {
    generate::run(root(), true).unwrap();
}

#[test]
fn check_fails_when_the_server_spec_changes_without_regeneration() {
    let temp = tempfile::tempdir().unwrap();
    for output in generate::outputs().unwrap() {
        let path = temp.path().join(output.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, output.content).unwrap();
    }
    generate::run(temp.path(), true).unwrap();

    // What the files would hold if a handler's schema had changed since they were generated.
    let spec = temp.path().join("openapi/openapi.json");
    let stale = std::fs::read_to_string(&spec)
        .unwrap()
        .replacen("A name for humans", "A label for humans", 1);
    std::fs::write(&spec, stale).unwrap();
    let error = generate::run(temp.path(), true).unwrap_err().to_string();
    assert!(
        error.contains("openapi/openapi.json") && error.contains("generate"),
        "{error}"
    );

    generate::run(temp.path(), false).unwrap();
    generate::run(temp.path(), true).unwrap();
}
