//! Recording a history while a run goes on, and writing it out.

use super::Entry;
use parking_lot::Mutex;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Collects entries from concurrent clients with times from one monotonic clock.
#[derive(Debug)]
pub struct Recorder {
    origin: Instant,
    entries: Mutex<Vec<Entry>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new()
    }
}

impl Recorder {
    /// An empty history whose clock starts now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Nanoseconds since the history began.
    pub fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// Adds `entry`, stamped with the current time unless it has one (take the time of an
    /// invoke before the call, of a completion after the reply).
    pub fn push(&self, mut entry: Entry) {
        if entry.time.is_none() {
            entry.time = Some(self.now());
        }
        self.entries.lock().push(entry);
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The history in time order, each entry numbered.
    pub fn finish(&self) -> Vec<Entry> {
        let mut entries = std::mem::take(&mut *self.entries.lock());
        // Stable: entries of one instant keep the order they were pushed in.
        entries.sort_by_key(|e| e.time);
        for (i, e) in entries.iter_mut().enumerate() {
            e.index = Some(i as u64);
        }
        entries
    }
}

/// Writes `entries` to `path` as JSON Lines, atomically (a temporary file, then a rename).
pub fn write_jsonl(path: &Path, entries: &[Entry]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    {
        let mut out = std::io::BufWriter::new(file.as_file_mut());
        for e in entries {
            out.write_all(e.to_line().as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
