//! `index.html`: one self-contained page that works offline.

use crate::document::{Block, Table, build};
use statebench_suites::results::Results;

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;max-width:78rem;margin:2rem auto;\
padding:0 1rem;color:#1b1f24}table{border-collapse:collapse;margin:.5rem 0 1.5rem;\
font-variant-numeric:tabular-nums}th,td{border:1px solid #d0d7de;padding:.25rem .5rem}\
th{background:#f6f8fa;text-align:left}td.n{text-align:right}tr:nth-child(even) td{background:#fafbfc}\
.warning{border-left:4px solid #d29922;background:#fff8c5;padding:.5rem 1rem}code{background:#eff1f3;\
padding:0 .2rem;border-radius:3px}td.fail{background:#ffebe9!important;color:#82071e;\
font-weight:600}td.seen{background:#fff8c5!important}";

/// The report as one HTML page.
pub fn render(results: &Results) -> String {
    let blocks = build(results);
    let title = blocks.iter().find_map(|b| match b {
        Block::Heading(1, t) => Some(t.clone()),
        _ => None,
    });
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title.as_deref().unwrap_or("statebench"))
    );
    for block in &blocks {
        match block {
            Block::Heading(level, text) => {
                out += &format!("<h{level}>{}</h{level}>\n", inline(text));
            }
            Block::Paragraph(text) => out += &format!("<p>{}</p>\n", inline(text)),
            Block::Warning(text) => out += &format!("<p class=\"warning\">{}</p>\n", inline(text)),
            Block::List(items) => {
                out += "<ul>\n";
                for item in items {
                    out += &format!("<li>{}</li>\n", inline(item));
                }
                out += "</ul>\n";
            }
            Block::Table(table) => table_html(table, &mut out),
        }
    }
    out += "</body>\n</html>\n";
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes text and turns `code spans` into `<code>`.
fn inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        let part = escape(part);
        if i % 2 == 1 {
            out += &format!("<code>{part}</code>")
        } else {
            out += &part
        }
    }
    out
}

fn table_html(table: &Table, out: &mut String) {
    *out += "<table>\n<thead><tr>";
    for h in &table.headers {
        *out += &format!("<th>{}</th>", escape(h));
    }
    *out += "</tr></thead>\n<tbody>\n";
    for row in &table.rows {
        *out += "<tr>";
        for (cell, numeric) in row.iter().zip(&table.numeric) {
            // A broken promise must be impossible to miss; a property seen broken but not
            // promised is marked more quietly.
            let class = if cell.contains("FAIL") || cell.contains("DISPROVED") {
                " class=\"fail\""
            } else if cell.contains("not promised") {
                " class=\"seen\""
            } else if *numeric {
                " class=\"n\""
            } else {
                ""
            };
            *out += &format!("<td{class}>{}</td>", inline(cell));
        }
        *out += "</tr>\n";
    }
    *out += "</tbody>\n</table>\n";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_code_spans_are_marked() {
        assert_eq!(
            inline("a <b> & `c<d>` e"),
            "a &lt;b&gt; &amp; <code>c&lt;d&gt;</code> e"
        );
    }
}
