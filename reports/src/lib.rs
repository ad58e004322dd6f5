//! Renders statebench results: `results.json` (the data), `report.md` (fits a pull-request
//! comment) and `index.html` (one self-contained page). Reports never run anything.
//!
//! Markdown and HTML render the same [`document`], so they cannot drift apart.
#![forbid(unsafe_code)]

pub mod charts;
mod correctness;
pub mod document;
pub mod format;
pub mod html;
pub mod json;
pub mod markdown;
mod summary;

pub use json::{ReadError, read};
