//! perfblog's integration tests: one binary, one module per view or concern.
//! Each test starts the real app on a random port with its own database (a fresh
//! SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set) and
//! talks to it over HTTP, as a user would.

// A test reads top to bottom as one scenario; splitting it to fit a length limit
// would scatter it.
#![allow(clippy::too_many_lines)]

mod admin;
mod browser;
mod cli;
mod comments;
mod counters;
mod crawler;
mod database_outage;
mod dead_emails;
mod email_tls;
mod errors;
mod exists;
mod export;
mod findings;
mod fragment_cache;
mod fuzz;
mod helpers;
mod history;
mod http_layer;
mod image;
mod import;
mod indexes;
mod keyset_pagination;
mod lab;
mod layers;
mod middleware;
mod n_plus_one;
mod naive_gate;
mod operations;
mod own_postgres;
mod page_cache;
mod pooling;
mod post_detail;
mod post_list;
mod read_replicas;
mod schema_migrations;
mod seed;
mod sitemap;
mod smtp_sink;
mod smtp_tls;
mod sql_comments;
mod standby;
mod static_files;
mod stylesheet;
mod tag_page;
mod templates;
mod view_counter;
mod write_behind;
