//! The top layer: what assembles the app and starts it.

/// The command line: `serve` (default), `migrate`, `seed`, `worker`, `recount`.
pub mod cli;
/// The program's start: log, runtime, command line, exit status.
pub mod entry;
/// Operations: `/healthz` and `/metrics`.
pub mod ops;
/// The request recorder and its history: `X-Request-Id`, `/_perf/requests`, the
/// waterfall.
pub mod perf;
/// The pages' routes, each page served twice.
pub mod routes;
/// Start-up in one place: migrate, connect, bind, build the router, serve.
pub mod startup;
/// Everything the running app holds, built in one place.
pub mod state;
