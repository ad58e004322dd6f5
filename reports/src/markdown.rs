//! `report.md`: fits a pull-request comment.

use crate::document::{Block, Table, build};
use statebench_suites::results::Results;

/// The report as Markdown.
pub fn render(results: &Results) -> String {
    let mut out = String::new();
    for block in build(results) {
        match block {
            Block::Heading(level, text) => {
                out += &format!("{} {text}\n\n", "#".repeat(usize::from(level)));
            }
            Block::Paragraph(text) => out += &format!("{text}\n\n"),
            Block::Warning(text) => out += &format!("> **Warning:** {text}\n\n"),
            Block::List(items) => {
                for item in items {
                    out += &format!("- {item}\n");
                }
                out.push('\n');
            }
            Block::Table(table) => table_md(&table, &mut out),
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn table_md(table: &Table, out: &mut String) {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    *out += &row(&table.headers);
    let rules: Vec<String> = table
        .numeric
        .iter()
        .map(|n| if *n { "---:" } else { "---" }.to_owned())
        .collect();
    *out += &format!("|{}|\n", rules.join("|"));
    for r in &table.rows {
        *out += &row(r);
    }
    out.push('\n');
}
