//! Finds the line of a field in YAML text, so that errors found after parsing can name it.
//!
//! serde_yaml keeps no spans; this follows the block structure of the text by indentation,
//! which is how workload files are written. Flow mappings (`mix: {read: 1}`) resolve to the
//! line of their parent.

/// The 1-based line where `path` (dot-separated, `[i]` for list items) is written.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let (mut from, mut parent_indent) = (0, None::<usize>);
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let name = segment.split('[').next().unwrap_or(segment);
        let hit = lines.iter().enumerate().skip(from).find_map(|(i, line)| {
            let indent = line.len() - line.trim_start().len();
            let body = line.trim_start().trim_start_matches("- ");
            if body.is_empty() || body.starts_with('#') {
                return None;
            }
            let inside = parent_indent.is_none_or(|p| indent > p);
            if !inside {
                return Some(None);
            }
            (body.starts_with(&format!("{name}:"))).then_some(Some((i, indent)))
        });
        match hit.flatten() {
            Some((i, indent)) => {
                found = Some(i + 1);
                from = i + 1;
                parent_indent = Some(indent);
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::line_of;

    const TEXT: &str =
        "name: x\nkeys:\n  count: 10\n  theta: -1\nmix: {read: 1}\nopen:\n  rates: [1]\n";

    #[test]
    fn nested_fields_are_found_by_indentation() {
        assert_eq!(line_of(TEXT, "keys.theta"), Some(4));
        assert_eq!(line_of(TEXT, "keys"), Some(2));
        assert_eq!(line_of(TEXT, "open.rates[0]"), Some(7));
    }

    #[test]
    fn flow_mappings_resolve_to_their_parent() {
        assert_eq!(line_of(TEXT, "mix.read"), Some(5));
        assert_eq!(line_of(TEXT, "closed.concurrency"), None);
    }
}
