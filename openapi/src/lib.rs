//! Titan's OpenAPI pipeline: the server's 3.1 document, down-converted to 3.0 for progenitor,
//! checked against progenitor's house rules, and turned into the Rust SDK's generated code.

pub mod convert;
pub mod generate;
pub mod lint;
