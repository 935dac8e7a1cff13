//! perfblog: a blog whose every view exists twice, naive and optimized.
//!
//! The code stands in five layers, one folder each, and a module uses only its own
//! layer and the layers below it (`tests/api/layers.rs` checks it; a module's layer is
//! the folder it is created in). Top to bottom, in reading order:

/// Assembling and starting the app: the command line, start-up, the state every part
/// shares, the router, and the operations endpoints.
pub mod app;
/// What every layer is written in: settings, tables, the error type, the statement
/// counter, validated names.
pub mod base;
/// The lab: each pattern's comparisons — naive and optimized sides defined once and run
/// live, by the benches and by the tests — and the pages that show them. What each
/// pattern is and says lives in `docs/patterns/`, read by the `catalog` crate.
pub mod lab;
/// What the pages stand on: the database, the caches, email, the HTTP layer, the
/// dataset.
pub mod services;
/// The pages: per view a page model and template, one handler, and the naive and
/// optimized loaders that fill the same model.
pub mod views;
