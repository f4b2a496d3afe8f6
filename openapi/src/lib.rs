//! Titan's OpenAPI pipeline: the server's 3.1 document, down-converted to 3.0 for progenitor,
//! checked against progenitor's house rules, and turned into the SDKs' generated code (Rust through
//! progenitor, Python from the 3.1 document through [`sdk`]).

pub mod convert;
pub mod generate;
pub mod lint;
pub mod sdk;
