//! A file's bytes on their way to WhatsApp: in memory while small, in an unnamed temporary file
//! (in `TMPDIR`) once past [`MEMORY_LIMIT`]. A file to send is decoded or fetched into a spool,
//! checked, encrypted into a second spool and uploaded from it, so a 50 MB document is never
//! held whole in memory on its way out.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;

/// Largest file kept in memory, in bytes; a larger one goes to a temporary file.
pub const MEMORY_LIMIT: usize = 1024 * 1024;

/// Bytes written once, then read any number of times from any offset (an upload reads its
/// body again when it retries or resumes). Cloning shares the bytes.
#[derive(Debug, Clone)]
pub struct Spool(Stored);

#[derive(Debug, Clone)]
enum Stored {
    Memory(Bytes),
    File { file: Arc<File>, len: u64 },
}

impl Spool {
    /// How many bytes it holds.
    pub fn len(&self) -> u64 {
        match &self.0 {
            Stored::Memory(bytes) => bytes.len() as u64,
            Stored::File { len, .. } => *len,
        }
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it is in a temporary file rather than in memory.
    pub fn on_disk(&self) -> bool {
        matches!(self.0, Stored::File { .. })
    }

    /// Its first `n` bytes (all of them if it is shorter).
    pub fn head(&self, n: usize) -> io::Result<Cow<'_, [u8]>> {
        match &self.0 {
            Stored::Memory(bytes) => Ok(Cow::Borrowed(&bytes[..n.min(bytes.len())])),
            Stored::File { .. } => {
                let mut head = Vec::with_capacity(n);
                self.reader_from(0)?.take(n as u64).read_to_end(&mut head)?;
                Ok(Cow::Owned(head))
            }
        }
    }

    /// All of its bytes: borrowed when in memory, read back when in a file.
    pub fn contents(&self) -> io::Result<Cow<'_, [u8]>> {
        match &self.0 {
            Stored::Memory(bytes) => Ok(Cow::Borrowed(bytes)),
            Stored::File { len, .. } => {
                let mut all = Vec::with_capacity(usize::try_from(*len).unwrap_or(0));
                self.reader_from(0)?.read_to_end(&mut all)?;
                Ok(Cow::Owned(all))
            }
        }
    }

    /// A reader from byte `offset` on; readers are independent of each other.
    pub fn reader_from(&self, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        Ok(match &self.0 {
            Stored::Memory(bytes) => {
                let mut cursor = io::Cursor::new(bytes.clone());
                cursor.set_position(offset.min(bytes.len() as u64));
                Box::new(cursor)
            }
            Stored::File { file, len } => Box::new(FileReader {
                file: Arc::clone(file),
                at: offset.min(*len),
            }),
        })
    }
}

impl From<Vec<u8>> for Spool {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Stored::Memory(Bytes::from(bytes)))
    }
}

impl whatsapp_rust::wacore::upload::UploadSource for Spool {
    fn len(&self) -> u64 {
        Spool::len(self)
    }

    fn reader_from(&self, offset: u64) -> io::Result<Box<dyn Read + Send>> {
        Spool::reader_from(self, offset)
    }
}

/// Reads a shared file from its own position (positioned reads leave the file's cursor alone,
/// so readers never disturb each other).
struct FileReader {
    file: Arc<File>,
    at: u64,
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Fills a [`Spool`]: in memory until the bytes pass [`MEMORY_LIMIT`], then in a temporary file.
#[derive(Debug, Default)]
pub struct SpoolWriter {
    memory: Vec<u8>,
    file: Option<File>,
    len: u64,
}

impl SpoolWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes were written.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The spool of what was written.
    pub fn finish(self) -> Spool {
        match self.file {
            Some(file) => Spool(Stored::File {
                file: Arc::new(file),
                len: self.len,
            }),
            None => Spool::from(self.memory),
        }
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.memory.len() + buf.len() > MEMORY_LIMIT {
            let mut file = tempfile::tempfile()?;
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(buf)?,
            None => self.memory.extend_from_slice(buf),
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn filled(n: usize) -> (Vec<u8>, Spool) {
        let bytes: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        let mut writer = SpoolWriter::new();
        for chunk in bytes.chunks(10_000) {
            writer.write_all(chunk).unwrap();
        }
        assert_eq!(writer.len(), n as u64);
        (bytes, writer.finish())
    }

    #[test]
    fn small_files_stay_in_memory_and_large_ones_go_to_disk_with_the_same_bytes() {
        for (n, on_disk) in [
            (0, false),
            (1000, false),
            (MEMORY_LIMIT, false),
            (MEMORY_LIMIT + 1, true),
            (3 * MEMORY_LIMIT, true),
        ] {
            let (bytes, spool) = filled(n);
            assert_eq!((spool.len(), spool.on_disk()), (n as u64, on_disk), "{n}");
            assert_eq!(spool.contents().unwrap().as_ref(), bytes.as_slice(), "{n}");
            assert_eq!(spool.head(100).unwrap().as_ref(), &bytes[..100.min(n)], "{n}");
        }
    }

    #[test]
    fn readers_start_anywhere_and_do_not_disturb_each_other() {
        let (bytes, spool) = filled(2 * MEMORY_LIMIT + 17);
        let mut first = spool.reader_from(5).unwrap();
        let mut second = spool.reader_from(MEMORY_LIMIT as u64).unwrap();
        let mut a = [0u8; 10];
        let mut b = [0u8; 10];
        first.read_exact(&mut a).unwrap();
        second.read_exact(&mut b).unwrap();
        first.read_exact(&mut a).unwrap();
        assert_eq!(&a, &bytes[15..25]);
        assert_eq!(&b, &bytes[MEMORY_LIMIT..MEMORY_LIMIT + 10]);
        let mut rest = Vec::new();
        spool.reader_from(u64::MAX).unwrap().read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    }
}
