//! What the pages stand on. Each service may use the ones listed before it.

/// Rendered fragments and whole pages, in Redis or in process, invalidated on write;
/// the write-behind view tally.
pub mod cache;
/// Connecting, migrating, transactions that write; batched inserts, the counters kept
/// beside the rows they count, `exists`, plans, indexes and scratch data.
pub mod db;
/// A limit on how many expensive requests run at once (the lab, the naive twins).
pub mod gate;
/// The request history behind `/_perf/requests`: in process or in Redis, bounded.
pub mod history;
/// The HTTP layer: compression, conditional GET, static files, security headers,
/// timeouts, the comment rate limit, the server loop.
pub mod http;
/// Email: the comment notification, SMTP or `.eml` files, the outbox and its worker,
/// and an SMTP server in process for the lab and the tests.
pub mod mail;
/// A limit on the memory one kind of work holds at once (the naive sidebar's loads).
pub mod memory_budget;
/// Connections to Redis, made on first use, each command bounded.
pub mod redis_connection;
/// The deterministic dataset, written with multi-row inserts.
pub mod seed;
