//! Layers point down (`src/model/`, then `src/store/`, `src/events/` and `src/engine/`): the bottom layer uses libraries only, and storage and the engine use the
//! bottom layer, events and each other, never the API or the domain modules above them. This
//! test reads the sources, so an upward `use` fails `cargo test` instead of a review.

use std::path::{Path, PathBuf};

/// The modules each layer may name as `crate::<module>`.
const LAYERS: &[(&str, &[&str])] = &[
    ("model", &["model"]),
    ("store", &["store", "model", "ids", "secrets", "metrics", "whatsapp"]),
    ("events", &["events", "store", "model", "ids"]),
    (
        "engine",
        &[
            "engine", "store", "model", "events", "ids", "secrets", "metrics", "whatsapp",
        ],
    ),
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::<module>` a source names, with its line number.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let module: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push((number + 1, module));
        }
    }
    found
}

#[test]
fn no_layer_imports_upward() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (layer, allowed) in LAYERS {
        let mut files = Vec::new();
        sources(&root.join(layer), &mut files);
        assert!(!files.is_empty(), "no sources under src/{layer}");
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap_or_default();
            for (line, module) in crate_paths(&source) {
                if !allowed.contains(&module.as_str()) {
                    violations.push(format!("{}:{line}: crate::{module}", file.display()));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports (move the shared type into src/model/):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_scanner_sees_paths_in_code_and_not_in_comments() {
    let found =
        crate_paths("use crate::api::x;\n// crate::state\nlet a = crate::model::jid::JidRef::of(crate::ids::new());");
    let modules: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(modules, ["api", "model", "ids"]);
}
