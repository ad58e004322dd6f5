//! Renders statebench results: `results.json` (the data), `report.md` (fits a pull-request
//! comment), `index.html` (one self-contained page), `results.csv` and `bmf.json` (for
//! dashboards), and a static site of many runs. Reports never run anything.
//!
//! Markdown and HTML render the same [`document`], so they cannot drift apart.
#![forbid(unsafe_code)]

pub mod bmf;
pub mod charts;
mod correctness;
pub mod csv;
pub mod document;
pub mod format;
pub mod gate;
pub mod html;
pub mod json;
pub mod markdown;
pub mod merge;
pub mod pooled;
mod shards;
pub mod site;
mod spread;
mod summary;
#[cfg(test)]
mod testing;

pub use json::{ReadError, read};
