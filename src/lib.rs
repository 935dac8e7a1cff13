//! perfblog: a blog whose every view exists twice, naive and optimized.
//!
//! The modules below, in reading order: first the patterns and the pages that run
//! them, then what they stand on, then what serves them. `docs/architecture.md` draws
//! the layers.

/// The lab: each pattern's comparisons (naive and optimized sides, defined once and
/// run live, by the benches and by the tests), and the pages that show them. What each
/// pattern is and says lives in `docs/patterns/`, read by the `catalog` crate.
pub mod lab;
/// The pages. Per view a page model and template, one handler, and the naive and
/// optimized loaders that fill the same model.
pub mod views;

/// Multi-row `INSERT`s in batches, shared by the seeder and the optimized import.
pub mod bulk_insert;
/// Fragment caching: rendered HTML in Redis or in process, invalidated on write.
pub mod cache;
/// Settings, declared once as flags backed by environment variables; the defaults need
/// no services.
pub mod config;
/// Counters kept beside the rows they count (`posts.comment_count`,
/// `tags.published_post_count`), and `recount`, their safety net.
pub mod counters;
/// Connecting, migrating, and transactions that write.
pub mod db;
/// SeaORM entities for users, posts, tags, post_tags, comments and the outbox.
pub mod entities;
/// The one error type and the status each variant maps to.
pub mod error;
/// A limit on how many expensive requests run at once (the lab, the naive twins).
pub mod gate;
/// Counting SQL statements per request and per part of a page: `X-Query-Count`,
/// `Server-Timing`, the footer, test helpers.
pub mod instrument;
/// Email: the comment notification, SMTP or `.eml` files, the outbox and its worker,
/// and an SMTP server in process for the lab and the tests.
pub mod mail;
/// The stylesheet, compiled in, and its fingerprinted name.
pub mod stylesheet;

/// The command line: `serve` (default), `migrate`, `seed`, `worker`.
pub mod cli;
/// The HTTP layer: compression, conditional GET, static files, security headers,
/// timeouts, the comment rate limit.
pub mod http;
/// Operations: `/healthz` and `/metrics`.
pub mod ops;
/// The deterministic dataset, written with multi-row inserts.
pub mod seed;
/// Start-up in one place: connect, migrate, bind, build the router, serve.
pub mod startup;
/// Everything the running app holds, built in one place.
pub mod state;
