//! The bottom layer: what every other module is written in. Nothing here does I/O of
//! its own but the counter of statements, which the database calls.

/// Settings, declared once as flags backed by environment variables; the defaults need
/// no services.
pub mod config;
/// SeaORM entities for users, posts, tags, post_tags, comments and the outbox.
pub mod entities;
/// The one error type and the status each variant maps to.
pub mod error;
/// Counting SQL statements per request and per part of a page: `X-Query-Count`,
/// `Server-Timing`, the footer, the N+1 detector, test helpers.
pub mod instrument;
/// The bench report's figures, compiled in.
pub mod published;
/// A slug, validated where it crosses the boundary, and making one from a title.
pub mod slug;
/// The static files (the stylesheet, the icon), compiled in, and their fingerprinted names.
pub mod static_files;
/// Which loader produced a page: naive or optimized.
pub mod variant;
