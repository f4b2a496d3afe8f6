//! Where a file to send comes from: base64 in the request (plain, URL-safe, padded or not, or a
//! `data:` URL).

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Base64 with either padding convention.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Why a file's bytes could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// `base64` does not decode.
    #[error("`base64` is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
}

/// The bytes `text` encodes: standard or URL-safe base64, with or without padding, optionally as
/// a `data:…;base64,` URL.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, SourceError> {
    let text = text.trim();
    let text = match text.strip_prefix("data:").and_then(|rest| rest.split_once(";base64,")) {
        Some((_, encoded)) => encoded,
        None => text,
    };
    let engine = if text.contains(['-', '_']) {
        &URL_SAFE
    } else {
        &STANDARD
    };
    Ok(engine.decode(text)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_usual_base64_form_decodes() {
        for text in [
            "aGk/Pz4+",
            "aGk_Pz4-",
            "aGk/Pz4+\n",
            "data:image/png;base64,aGk/Pz4+",
            "aGk",
            "aGk=",
        ] {
            assert!(decode_base64(text).unwrap().starts_with(b"hi"), "{text}");
        }
        let error = decode_base64("not base64!").unwrap_err();
        assert!(
            error.to_string().starts_with("`base64` is not valid base64: "),
            "{error}"
        );
    }
}
