//! perfblog: a blog whose every view exists twice, naive and optimized.
//!
//! The modules below, in reading order.

/// `perfblog bench-report`: criterion's results as a markdown table and an SVG chart.
pub mod bench_report;
/// Multi-row `INSERT`s in batches, shared by the seeder and the optimized import.
pub mod bulk_insert;
/// Fragment caching: rendered HTML in Redis or in process, invalidated on write.
pub mod cache;
/// The command line: `serve` (default), `migrate`, `seed`.
pub mod cli;
/// Configuration from the environment; the defaults need no services.
pub mod config;
/// Connecting, migrating, and transactions that write.
pub mod db;
/// SeaORM entities for users, posts, tags, post_tags and comments.
pub mod entities;
/// The one error type and the status each variant maps to.
pub mod error;
/// The HTTP layer: compression, conditional GET, static files, security headers,
/// timeouts, the comment rate limit.
pub mod http;
/// Counting SQL statements per request: `X-Query-Count`, `Server-Timing`, test helpers.
pub mod instrument;
/// The lab: each pattern's two sides run live, with their SQL and their source.
pub mod lab;
/// Email: the comment notification, SMTP or `.eml` files, the outbox and its worker.
pub mod mail;
/// Operations: `/healthz` and `/metrics`.
pub mod ops;
/// The deterministic dataset, written with multi-row inserts.
pub mod seed;
/// Start-up in one place: connect, migrate, bind, build the router, serve.
pub mod startup;
/// What every handler shares: the database pool, the mailer, the admin token.
pub mod state;
/// The pages: per view a page model and template, and the loaders that fill it.
pub mod views;
