//! The parts of [`Config`](super::Config) that the modules acting on them receive:
//! where mail and the caches go, the rate limit, the gates, the N+1 detector, the
//! outbox worker. Plain values with their defaults; the settings fill some of them.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use super::smtp::SmtpUrl;

/// Views are written about once a second: what a crash can lose.
pub const DEFAULT_VIEW_FLUSH: Duration = Duration::from_secs(1);

/// The most addresses one sitemap file may list: the sitemaps.org protocol's limit.
pub const SITEMAP_URLS_PER_FILE: u64 = 50_000;

/// The longest one side of a lab comparison runs before the lab stops it: two sides and
/// their setup keep a lab page within about two seconds.
pub const DEFAULT_LAB_SIDE_LIMIT: Duration = Duration::from_millis(800);

/// Where `.eml` files go when no `SMTP_URL` is set.
pub const DEFAULT_MAIL_DIR: &str = "mail";

/// How long a lab visitor waits for the experiment ahead of theirs before a 503.
pub const DEFAULT_LAB_WAIT: Duration = Duration::from_secs(20);

/// Where mail goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailSettings {
    /// An SMTP server (`SMTP_URL`), trusting the certificate authorities in `ca_file`
    /// (PEM) besides the usual public ones.
    Smtp {
        server: SmtpUrl,
        ca_file: Option<PathBuf>,
    },
    /// One `.eml` file per message in this folder.
    Folder(PathBuf),
}

/// Where the fragment cache lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheSettings {
    /// In this process (the embedded default).
    Memory,
    /// In Redis at `url`; keys start with `namespace:`.
    Redis { url: String, namespace: String },
}

/// Streaming standbys of a PostgreSQL primary, for the optimized pages' reads.
#[derive(Clone, Debug, Default)]
pub struct StandbySettings {
    /// `DATABASE_REPLICA_URLS`; empty: every read goes to the primary.
    pub urls: Vec<super::DatabaseUrl>,
    /// A standby further behind the primary than this serves no reads until it
    /// catches up.
    pub max_lag: Duration,
}

/// How far behind the primary a standby may fall and still serve reads, by default.
pub const DEFAULT_REPLICA_MAX_LAG: Duration = Duration::from_secs(5);

/// The per-view cache: whole rendered pages, kept in the same store (and under the
/// same generation) as the fragments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageCacheSettings {
    /// `PAGE_CACHE=off` serves the optimized pages rendered on every request.
    pub enabled: bool,
    /// How long a page is served without a write invalidating it first (± 20 %).
    pub ttl: Duration,
    /// How long after its render a page may still be served, marked stale, when the
    /// database cannot render it again (stale-if-error).
    pub serve_stale_for: Duration,
    /// The most bytes this process keeps in pages (all encodings); the least used go
    /// first.
    pub memory_bytes: u64,
}

impl Default for PageCacheSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl: Duration::from_secs(300),
            serve_stale_for: Duration::from_secs(600),
            memory_bytes: 256 * 1024 * 1024,
        }
    }
}

/// How long a client has to send a request head, from the moment its connection waits
/// for one (opened, or idle after a response: hyper starts the same clock for both, so
/// this is also the keep-alive idle limit). Past it, the connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    pub header_read: Duration,
    /// Connections open at once (`MAX_CONNECTIONS`); one more is answered 503 and closed.
    pub most_open: usize,
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            most_open: 1000,
        }
    }
}

/// The naive work's memory by default, as estimated: two naive sidebars of the standard
/// dataset at once; with the idle process and a full page cache
/// (`PageCacheSettings::memory_bytes`), under 1 GB. The estimate, not the memory a load
/// really takes, is what the budget bounds (docs/operations.md, "Memory").
pub const DEFAULT_NAIVE_MEMORY_BUDGET_MB: u64 = 512;

/// The largest NDJSON import taken by default: the export of ten times the standard
/// dataset fits with room to spare.
pub const DEFAULT_IMPORT_MAX_MB: u64 = 1024;

/// The naive twins exist to be slow and each one holds far more memory than its
/// optimized page (the naive sidebar loads every published post and comment): a
/// public instance serves a few at a time, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NaiveRoutes {
    /// `NAIVE_ROUTES=off`: every `/naive/…` address answers 404 with a message.
    pub enabled: bool,
    /// How many naive requests run at once.
    pub in_flight: usize,
    /// How long a naive request waits for its turn before a 503 with `Retry-After`
    /// (not from the environment; tests shorten it).
    pub wait: Duration,
    /// The most memory the naive work that loads whole tables (the naive sidebar, on
    /// naive pages and on the lab's aggregation page) may hold at once, in bytes,
    /// estimated before it loads (`NAIVE_MEMORY_BUDGET`, in MB).
    pub memory_budget: u64,
}

impl Default for NaiveRoutes {
    fn default() -> Self {
        Self {
            enabled: true,
            in_flight: 2,
            wait: Duration::from_secs(2),
            memory_budget: DEFAULT_NAIVE_MEMORY_BUDGET_MB * 1_000_000,
        }
    }
}

/// What the N+1 detector does with a suspect: a request that ran one statement shape
/// [`Inspection::threshold`] times or more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NPlusOne {
    /// Headers, a footer line, a metric and one warning per route.
    #[default]
    Log,
    /// All of that, and the response becomes a 500 carrying the report (development,
    /// the test suite).
    Raise,
    /// Nothing is flagged (shapes are kept only for the SQL panel, when it is on).
    Off,
}

impl NPlusOne {
    /// `log`, `raise` or `off`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "log" => Ok(NPlusOne::Log),
            "raise" => Ok(NPlusOne::Raise),
            "off" => Ok(NPlusOne::Off),
            other => Err(format!("`{other}` is none of `log`, `raise` and `off`")),
        }
    }
}

/// How the log is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// A line of text per event, coloured on a terminal only.
    #[default]
    Text,
    /// A JSON object per line, for a machine to read; each request also gets one line
    /// (`perfblog::access`) with its id, route, status and latency.
    Json,
}

impl LogFormat {
    /// `text` or `json`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("`{other}` is neither `text` nor `json`")),
        }
    }
}

/// The N+1 detector's settings, and the SQL panel's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub n_plus_one: NPlusOne,
    /// Runs of one shape in one request that make it a suspect.
    pub threshold: u32,
    /// `PERFBLOG_INSPECT=1`: every page's footer opens on its statements and cache
    /// lookups. It shows SQL to anyone: development only.
    pub panel: bool,
    /// A part of a page or one statement with at least this much database time is a
    /// slow finding, reported before any N+1 (`PERF_SLOW_MS`).
    pub slow: std::time::Duration,
    /// `SQL_COMMENTS`: every statement ends with a comment naming its route, variant
    /// and function, for what the database reports (`pg_stat_statements`).
    pub sql_comments: bool,
}

impl Default for Inspection {
    fn default() -> Self {
        Self {
            n_plus_one: NPlusOne::Log,
            threshold: 2,
            panel: false,
            slow: std::time::Duration::from_millis(50),
            sql_comments: true,
        }
    }
}

/// Which requests the request history keeps (`PERF_RECORD`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecordPolicy {
    /// None: no span is opened, no statement copied.
    Off,
    /// Those answered 5xx.
    Errors,
    /// Those with a finding (a slow part or statement, an N+1 suspect) or a 5xx.
    Slow,
    /// One request in N, whatever it did.
    Sample(u32),
    /// Every request (`cargo run`'s default: one person looking at their own server).
    #[default]
    All,
}

impl RecordPolicy {
    /// `off`, `errors`, `slow`, `sample:N` (N from 2 to 1,000,000) or `all`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "off" => Ok(Self::Off),
            "errors" => Ok(Self::Errors),
            "slow" => Ok(Self::Slow),
            "all" => Ok(Self::All),
            other => match other.strip_prefix("sample:").map(str::parse::<u32>) {
                Some(Ok(n)) if (2..=1_000_000).contains(&n) => Ok(Self::Sample(n)),
                Some(_) => Err(format!(
                    "`{other}`: sample:N takes a whole number N from 2 to 1000000"
                )),
                None => Err(format!(
                    "`{other}` is none of `off`, `errors`, `slow`, `sample:N` and `all`"
                )),
            },
        }
    }
}

/// The request history: which requests it keeps, how many, for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PerfRecording {
    pub record: RecordPolicy,
    /// The most requests kept (`PERF_HISTORY`); the oldest goes first.
    pub keep: usize,
    /// How long a request stays in a shared (Redis) history.
    pub ttl: std::time::Duration,
}

impl Default for PerfRecording {
    fn default() -> Self {
        Self {
            record: RecordPolicy::All,
            keep: 500,
            ttl: std::time::Duration::from_secs(3600),
        }
    }
}

/// How many comments one address may post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommentRate {
    pub per_minute: NonZeroU32,
    pub burst: NonZeroU32,
    /// How many reverse proxies stand in front of the app. Behind them every request
    /// comes from a proxy, so the client is the `X-Forwarded-For` entry this many
    /// places from the right (the address the outermost trusted proxy saw); `0` keys
    /// on the peer. Safe only if the app cannot be reached except through them and
    /// each appends to the header (nginx's `$proxy_add_x_forwarded_for` does).
    pub trusted_proxies: usize,
    /// The most addresses tracked at once (see `http::rate_limit`).
    pub max_addresses: usize,
}

impl Default for CommentRate {
    fn default() -> Self {
        Self {
            per_minute: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            trusted_proxies: 0,
            max_addresses: 100_000,
        }
    }
}

/// How the outbox worker runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerSettings {
    /// Messages claimed at a time.
    pub batch: u64,
    /// How long a claim holds; a worker that dies releases its claims after this.
    pub lease: Duration,
    /// How often an idle worker looks for due messages (it is also woken on enqueue).
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            batch: 20,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
        }
    }
}

/// How failed deliveries are retried: exponential backoff with jitter, then give up
/// (see `mail::outbox::retry_delay`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a message is declared dead (kept, with its last error).
    pub max_attempts: i32,
    /// The wait after the first failure; it doubles with each further failure…
    pub base_delay: Duration,
    /// …up to this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(10 * 60),
        }
    }
}
