//! Reading a media file's length from its container, without decoding it: an MP4's `mvhd` box
//! and an Ogg Opus stream's last granule position. What cannot be read this way (a video's
//! picture, a voice note's waveform) would need a decoder; the README says so.

/// Whether `bytes` are an Ogg stream carrying Opus (its first packet is `OpusHead`).
pub fn is_ogg_opus(bytes: &[u8]) -> bool {
    bytes.starts_with(b"OggS") && first_packet(bytes).is_some_and(|p| p.starts_with(b"OpusHead"))
}

/// Whole seconds of an Ogg Opus stream: the last page's granule position (48 kHz samples)
/// less the pre-skip of its `OpusHead`.
pub fn ogg_opus_seconds(bytes: &[u8]) -> Option<u32> {
    let head = first_packet(bytes)?;
    let pre_skip = u64::from(u16::from_le_bytes(head.get(10..12)?.try_into().ok()?));
    let last = find_last(bytes, b"OggS")?;
    let granule = u64::from_le_bytes(bytes.get(last + 6..last + 14)?.try_into().ok()?);
    if granule == u64::MAX {
        return None;
    }
    u32::try_from(granule.saturating_sub(pre_skip).div_ceil(48_000)).ok()
}

/// The payload of an Ogg stream's first page (the codec's identification header).
fn first_packet(bytes: &[u8]) -> Option<&[u8]> {
    let segments = usize::from(*bytes.get(26)?);
    let table = bytes.get(27..27 + segments)?;
    let length: usize = table.iter().map(|&s| usize::from(s)).sum();
    let start = 27 + segments;
    bytes.get(start..start + length)
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Whole seconds of an MP4 (ISO base media) file, from the movie header box.
pub fn mp4_seconds(bytes: &[u8]) -> Option<u32> {
    let moov = child(bytes, b"moov")?;
    let mvhd = child(moov, b"mvhd")?;
    let (timescale, duration) = match *mvhd.first()? {
        0 => (
            u64::from(u32::from_be_bytes(mvhd.get(12..16)?.try_into().ok()?)),
            u64::from(u32::from_be_bytes(mvhd.get(16..20)?.try_into().ok()?)),
        ),
        1 => (
            u64::from(u32::from_be_bytes(mvhd.get(20..24)?.try_into().ok()?)),
            u64::from_be_bytes(mvhd.get(24..32)?.try_into().ok()?),
        ),
        _ => return None,
    };
    if timescale == 0 {
        return None;
    }
    u32::try_from(duration.div_ceil(timescale)).ok()
}

/// The body of the first box of type `kind` among the boxes that make up `bytes`.
fn child<'a>(mut bytes: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    while bytes.len() >= 8 {
        let size32 = u32::from_be_bytes(bytes[..4].try_into().ok()?);
        let (header, size) = match size32 {
            0 => (8, bytes.len()),
            1 => (
                16,
                usize::try_from(u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)).ok()?,
            ),
            n => (8, usize::try_from(n).ok()?),
        };
        if size < header || size > bytes.len() {
            return None;
        }
        if &bytes[4..8] == kind {
            return Some(&bytes[header..size]);
        }
        bytes = &bytes[size..];
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A media fixture of the test suites (`tests/fixtures/media`).
    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/media/",
                $name
            ))
            .as_slice()
        };
    }

    pub(crate) use fixture;

    #[test]
    fn lengths_are_read_from_the_containers() {
        let voice = fixture!("voice.ogg");
        assert!(is_ogg_opus(voice));
        assert_eq!(ogg_opus_seconds(voice), Some(3));
        assert_eq!(mp4_seconds(fixture!("clip.mp4")), Some(9));
        assert!(!is_ogg_opus(b"OggS"));
        assert!(!is_ogg_opus(fixture!("song.mp3")));
        assert_eq!(mp4_seconds(b"\0\0\0\x08ftyp"), None);
        assert_eq!(mp4_seconds(b"\xff\xff\xff\xffmoov"), None);
    }
}
