//! Reading a history written elsewhere: one JSON object per line; every bad line is an error
//! that names its line number.

use super::Entry;
use std::io::BufRead;
use std::path::Path;

/// Lines longer than this are refused rather than parsed (1 MiB).
const MAX_LINE: usize = 1 << 20;

/// A line that is not a history entry, or a history that does not hang together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct BadLine {
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl BadLine {
    /// A problem at `line`.
    pub fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

/// Parses JSON Lines into entries with their 1-based line numbers; blank lines are skipped.
pub fn parse(mut reader: impl BufRead) -> Result<Vec<(usize, Entry)>, BadLine> {
    let mut entries = Vec::new();
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        number += 1;
        let read = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buffer)
            .map_err(|e| BadLine::at(number, format!("cannot read: {e}")))?;
        if read == 0 {
            break;
        }
        if buffer.len() > MAX_LINE && buffer.last() != Some(&b'\n') {
            return Err(BadLine::at(number, "longer than 1 MiB"));
        }
        let text = std::str::from_utf8(&buffer)
            .map_err(|e| BadLine::at(number, format!("not UTF-8: {e}")))?;
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let entry: Entry =
            serde_json::from_str(text).map_err(|e| BadLine::at(number, describe(&e)))?;
        entries.push((number, entry));
    }
    if entries.is_empty() {
        return Err(BadLine::at(0, "the history holds no entries"));
    }
    Ok(entries)
}

/// Reads and parses the history in `path`.
pub fn read_file(path: &Path) -> Result<Vec<(usize, Entry)>, BadLine> {
    let file = std::fs::File::open(path)
        .map_err(|e| BadLine::at(0, format!("cannot open {}: {e}", path.display())))?;
    parse(std::io::BufReader::new(file))
}

fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = e.to_string();
    // serde_json appends " at line 1 column N": the line is ours, the column is worth keeping.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(head, _)| head)
        .to_owned();
    match e.classify() {
        Category::Syntax | Category::Eof => {
            format!("not a JSON object: {message} (column {})", e.column())
        }
        Category::Data => format!("not a history entry: {message}"),
        Category::Io => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Key, Kind, Process};

    #[test]
    fn entries_keep_their_line_numbers_and_blank_lines_are_skipped() {
        let text = r#"{"process":0,"type":"invoke","f":"write","value":1}

{"process":0,"type":"ok","f":"write","value":1,"key":7,"time":5}
"#;
        let entries = parse(text.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0, 3);
        assert_eq!(entries[1].1.kind, Kind::Ok);
        assert_eq!(entries[1].1.key, Some(Key::Number(7)));
        assert_eq!(entries[0].1.process, Process::Number(0));
    }

    #[test]
    fn bad_lines_name_their_number_and_what_is_wrong() {
        let cases = [
            (
                "{\"process\":0,\"type\":\"ok\",\"f\":\"read\"}\nnot json\n",
                2,
                "not a JSON object",
            ),
            (
                "{\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n",
                1,
                "unknown variant `done`",
            ),
            (
                "{\"type\":\"ok\",\"f\":\"read\"}\n",
                1,
                "missing field `process`",
            ),
            (
                "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"time\":-3}\n",
                1,
                "not a history entry",
            ),
            ("\n\n", 0, "no entries"),
            ("[1,2]\n", 1, "not a history entry"),
        ];
        for (text, line, says) in cases {
            let error = parse(text.as_bytes()).unwrap_err();
            assert_eq!(error.line, line, "{error}");
            assert!(
                error.message.contains(says),
                "`{error}` should say `{says}`"
            );
        }
        let invalid_utf8 = b"{\"process\":0,\"type\":\"ok\",\"f\":\"\xff\"}\n";
        assert!(
            parse(&invalid_utf8[..])
                .unwrap_err()
                .message
                .contains("UTF-8")
        );
    }
}
