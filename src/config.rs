//! Configuration from the environment, with defaults that need no services at all.
//!
//! | variable       | default                          |
//! |----------------|----------------------------------|
//! | `DATABASE_URL` | `sqlite://perfblog.sqlite?mode=rwc` |
//! | `BIND`         | `127.0.0.1:3000` (read by the CLI)  |
//! | `ADMIN_TOKEN`  | generated at start-up and printed   |
//! | `SMTP_URL`     | unset: mail goes to `.eml` files     |
//! | `MAIL_DIR`     | `mail` (the folder for `.eml` files) |
//! | `PUBLIC_URL`   | the address the app listens on      |
//! | `REDIS_URL`    | unset: an in-process cache          |
//! | `PAGE_CACHE`   | `on`: whole optimized pages are cached (`off`: rendered each time) |
//! | `TRUSTED_PROXIES` | `0`: rate-limit by peer address (`1` behind one reverse proxy) |
//! | `DATABASE_MAX_CONNECTIONS` | PostgreSQL: 2 per core (≥ 4); SQLite: 8 |
//! | `DATABASE_ACQUIRE_TIMEOUT` | `1.5` seconds: the longest a request waits for a connection (opening one included) |
//! | `HEADER_READ_TIMEOUT` | `10` seconds: for a request head to arrive, idle keep-alive included |
//! | `REPOSITORY_URL` | unset: the lab links source files to its own `/lab/source/…` view |
//! | `NAIVE_ROUTES` | `on`: the naive twins are served (`off`: 404 with a message) |
//! | `NAIVE_CONCURRENCY` | `2`: naive requests in flight at once; more wait, then 503 |
//! | `N_PLUS_ONE` | `log`: a request that repeats one statement shape is reported (`raise`: answered 500 with the report; `off`) |
//! | `N_PLUS_ONE_THRESHOLD` | `5`: how many runs of one shape in one request make a suspect (2 to 1000) |
//! | `PERFBLOG_INSPECT` | `0`: every page's footer lists its SQL and cache lookups when `1` (shows SQL: never in production) |
//!
//! A malformed value stops start-up with a message naming the variable and the
//! problem, never a panic.
//!
//! This module is a leaf: plain settings, read by the modules that act on them
//! (`db`, `cache`, `mail`, the rate limit, the lab), and it imports none of them.

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://perfblog.sqlite?mode=rwc";

/// Views are written about once a second: what a crash can lose.
pub const DEFAULT_VIEW_FLUSH: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct Config {
    pub database: DatabaseUrl,
    /// `None`: one is generated at start-up and printed.
    pub admin_token: Option<AdminToken>,
    /// SMTP, or `.eml` files in a folder.
    pub mail: MailSettings,
    /// The address links in emails point to; `None`: the address the app listens on.
    pub public_url: Option<String>,
    /// The outbox worker to run inside the server; `None` runs none (`perfblog worker`
    /// or another instance delivers).
    pub worker: Option<WorkerSettings>,
    /// Redis, or in process.
    pub cache: CacheSettings,
    /// Whether and for how long whole optimized pages are cached (in `cache`'s store).
    pub page_cache: PageCacheSettings,
    /// How fast one address may post comments.
    pub comment_rate: CommentRate,
    /// Where the lab links a source file: `{repository_url}/{path}` (e.g. a GitHub
    /// `…/blob/main`); `None`: the lab's own `/lab/source/{path}`.
    pub repository_url: Option<String>,
    /// How long a lab visitor waits for the experiment ahead of theirs (not from the
    /// environment; tests shorten it).
    pub lab_wait: Duration,
    /// How often the optimized post page's pending views are written to the database
    /// (not from the environment; tests lengthen it and flush by hand).
    pub view_flush: Duration,
    /// How long a connection may take to send a request head.
    pub connections: ConnectionTimeouts,
    /// Whether the naive twins are served, and how many at once.
    pub naive: NaiveRoutes,
    /// What each request's statements are checked for, and whether pages show them.
    pub inspection: Inspection,
}

/// The embedded defaults: SQLite, `.eml` files, an in-process cache, a worker in the
/// server, a generated admin token.
impl Default for Config {
    fn default() -> Self {
        Self {
            database: DatabaseUrl {
                url: DEFAULT_DATABASE_URL.to_owned(),
                backend: Backend::Sqlite,
                max_connections: None,
                acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            },
            admin_token: None,
            mail: MailSettings::Folder(DEFAULT_MAIL_DIR.into()),
            public_url: None,
            worker: Some(WorkerSettings::default()),
            cache: CacheSettings::Memory,
            page_cache: PageCacheSettings::default(),
            comment_rate: CommentRate::default(),
            repository_url: None,
            lab_wait: DEFAULT_LAB_WAIT,
            view_flush: DEFAULT_VIEW_FLUSH,
            connections: ConnectionTimeouts::default(),
            naive: NaiveRoutes::default(),
            inspection: Inspection::default(),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let database = database_from_env()?;
        let admin_token = env_var("ADMIN_TOKEN")?
            .map(|raw| AdminToken::parse(&raw))
            .transpose()
            .map_err(|problem| ConfigError::new("ADMIN_TOKEN", problem))?;
        let mail = match env_var("SMTP_URL")? {
            Some(url) => parse_smtp_url(&url)
                .map(MailSettings::Smtp)
                .map_err(|problem| ConfigError::new("SMTP_URL", problem))?,
            None => MailSettings::Folder(
                env_var("MAIL_DIR")?
                    .unwrap_or_else(|| DEFAULT_MAIL_DIR.to_owned())
                    .into(),
            ),
        };
        let public_url = env_var("PUBLIC_URL")?
            .map(|raw| parse_public_url(&raw))
            .transpose()
            .map_err(|problem| ConfigError::new("PUBLIC_URL", problem))?;
        let cache = cache_settings(env_var("REDIS_URL")?)?;
        let comment_rate = comment_rate_from_env()?;
        Ok(Self {
            database,
            admin_token,
            mail,
            public_url,
            cache,
            page_cache: PageCacheSettings {
                enabled: page_cache_enabled(env_var("PAGE_CACHE")?)?,
                ..PageCacheSettings::default()
            },
            comment_rate,
            connections: ConnectionTimeouts {
                header_read: match env_var("HEADER_READ_TIMEOUT")? {
                    Some(raw) => parse_seconds(&raw, 0.1, 600.0)
                        .map_err(|problem| ConfigError::new("HEADER_READ_TIMEOUT", problem))?,
                    None => ConnectionTimeouts::default().header_read,
                },
            },
            naive: naive_routes(env_var("NAIVE_ROUTES")?, env_var("NAIVE_CONCURRENCY")?)?,
            inspection: inspection(
                env_var("N_PLUS_ONE")?,
                env_var("N_PLUS_ONE_THRESHOLD")?,
                env_var("PERFBLOG_INSPECT")?,
            )?,
            repository_url: env_var("REPOSITORY_URL")?
                .map(|raw| parse_public_url(&raw))
                .transpose()
                .map_err(|problem| ConfigError::new("REPOSITORY_URL", problem))?,
            ..Self::default()
        })
    }
}

/// `DATABASE_URL`, with its pool size and acquire timeout.
fn database_from_env() -> Result<DatabaseUrl, ConfigError> {
    let mut database = DatabaseUrl::parse(
        &env_var("DATABASE_URL")?.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
    )
    .map_err(|problem| ConfigError::new("DATABASE_URL", problem))?;
    if let Some(raw) = env_var("DATABASE_MAX_CONNECTIONS")? {
        database.max_connections = Some(number_from("DATABASE_MAX_CONNECTIONS", &raw, 1, 1000)?);
    }
    if let Some(raw) = env_var("DATABASE_ACQUIRE_TIMEOUT")? {
        database.acquire_timeout = parse_seconds(&raw, 0.1, 60.0)
            .map_err(|problem| ConfigError::new("DATABASE_ACQUIRE_TIMEOUT", problem))?;
    }
    Ok(database)
}

/// `TRUSTED_PROXIES` (and a clear refusal of the variable it replaced).
fn comment_rate_from_env() -> Result<CommentRate, ConfigError> {
    if env_var("TRUST_FORWARDED_FOR")?.is_some() {
        return Err(ConfigError::new(
            "TRUST_FORWARDED_FOR",
            "it was replaced by TRUSTED_PROXIES: the number of reverse proxies in front \
             of the app (1 behind one nginx); the client is read that many places from \
             the right of X-Forwarded-For"
                .to_owned(),
        ));
    }
    Ok(CommentRate {
        trusted_proxies: match env_var("TRUSTED_PROXIES")? {
            Some(raw) => parse_trusted_proxies(&raw)
                .map_err(|problem| ConfigError::new("TRUSTED_PROXIES", problem))?,
            None => 0,
        },
        ..CommentRate::default()
    })
}

/// `NAIVE_ROUTES` (on unless `off`) and `NAIVE_CONCURRENCY` (1 to 64).
fn naive_routes(
    enabled: Option<String>,
    concurrency: Option<String>,
) -> Result<NaiveRoutes, ConfigError> {
    let defaults = NaiveRoutes::default();
    let enabled = switch("NAIVE_ROUTES", enabled, true)?;
    let in_flight = match concurrency {
        Some(raw) => number_from("NAIVE_CONCURRENCY", &raw, 1, 64)?,
        None => defaults.in_flight,
    };
    Ok(NaiveRoutes {
        enabled,
        in_flight,
        ..defaults
    })
}

/// `N_PLUS_ONE` (`log`, `raise` or `off`), `N_PLUS_ONE_THRESHOLD` (2 to 1000) and
/// `PERFBLOG_INSPECT` (`0` or `1`).
fn inspection(
    mode: Option<String>,
    threshold: Option<String>,
    panel: Option<String>,
) -> Result<Inspection, ConfigError> {
    let defaults = Inspection::default();
    let n_plus_one = match mode.as_deref().map(str::trim) {
        None | Some("log") => NPlusOne::Log,
        Some("raise") => NPlusOne::Raise,
        Some("off") => NPlusOne::Off,
        Some(other) => {
            return Err(ConfigError::new(
                "N_PLUS_ONE",
                format!("`{other}` is none of `log`, `raise` and `off`"),
            ));
        }
    };
    let threshold = match threshold {
        Some(raw) => number_from("N_PLUS_ONE_THRESHOLD", &raw, 2, 1000)?,
        None => defaults.threshold,
    };
    let panel = switch("PERFBLOG_INSPECT", panel, false)?;
    Ok(Inspection {
        n_plus_one,
        threshold,
        panel,
    })
}

/// A number of seconds (fractions allowed) between `min` and `max`.
fn parse_seconds(raw: &str, min: f64, max: f64) -> Result<Duration, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| (min..=max).contains(seconds))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("`{raw}` is not a number of seconds from {min} to {max}"))
}

/// `REDIS_URL`: Redis if set, in process otherwise.
fn cache_settings(redis_url: Option<String>) -> Result<CacheSettings, ConfigError> {
    Ok(match redis_url {
        Some(url) => CacheSettings::Redis {
            url: parse_redis_url(&url).map_err(|problem| ConfigError::new("REDIS_URL", problem))?,
            namespace: "perfblog".to_owned(),
        },
        None => CacheSettings::Memory,
    })
}

/// `PAGE_CACHE`: on unless it says `off`.
fn page_cache_enabled(raw: Option<String>) -> Result<bool, ConfigError> {
    switch("PAGE_CACHE", raw, true)
}

/// A switch: `on`, `1` or `true`; `off`, `0` or `false`; unset, `default`.
fn switch(variable: &'static str, raw: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match raw.as_deref().map(str::trim) {
        None => Ok(default),
        Some("on" | "1" | "true") => Ok(true),
        Some("off" | "0" | "false") => Ok(false),
        Some(other) => Err(ConfigError::new(
            variable,
            format!("`{other}` is neither `on` nor `off`"),
        )),
    }
}

/// A whole number from `min` to `max`.
fn number_from<T>(variable: &'static str, raw: &str, min: T, max: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Copy + fmt::Display,
{
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            ConfigError::new(
                variable,
                format!("`{raw}` is not a number from {min} to {max}"),
            )
        })
}

/// Where `.eml` files go when no `SMTP_URL` is set.
pub const DEFAULT_MAIL_DIR: &str = "mail";

/// How long a lab visitor waits for the experiment ahead of theirs before a 503.
pub const DEFAULT_LAB_WAIT: Duration = Duration::from_secs(20);

/// Where mail goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailSettings {
    /// `smtp://host:port` (no TLS: a local relay such as Mailpit).
    Smtp(String),
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
}

impl Default for ConnectionTimeouts {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
        }
    }
}

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
}

impl Default for NaiveRoutes {
    fn default() -> Self {
        Self {
            enabled: true,
            in_flight: 2,
            wait: Duration::from_secs(2),
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

/// The N+1 detector's settings, and the SQL panel's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub n_plus_one: NPlusOne,
    /// Runs of one shape in one request that make it a suspect.
    pub threshold: u32,
    /// `PERFBLOG_INSPECT=1`: every page's footer opens on its statements and cache
    /// lookups. It shows SQL to anyone: development only.
    pub panel: bool,
}

impl Default for Inspection {
    fn default() -> Self {
        Self {
            n_plus_one: NPlusOne::Log,
            threshold: 5,
            panel: false,
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

/// An unset variable is `None`; a set but unusable one is an error naming it.
fn env_var(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(ConfigError::new(name, "it is not valid UTF-8".to_owned()))
        }
    }
}

fn parse_trusted_proxies(raw: &str) -> Result<usize, String> {
    raw.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| *n <= 10)
        .ok_or_else(|| format!("`{raw}` is not a number of proxies from 0 to 10"))
}

fn parse_smtp_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("it is not a URL ({error})"))?;
    if url.scheme() != "smtp" || url.host_str().is_none_or(str::is_empty) {
        return Err(
            "use smtp://host:port (plain SMTP, as Mailpit or a local relay speaks it)".to_owned(),
        );
    }
    Ok(raw.trim().to_owned())
}

fn parse_redis_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("it is not a URL ({error})"))?;
    if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none_or(str::is_empty) {
        return Err("use redis://host:port".to_owned());
    }
    Ok(raw.trim().to_owned())
}

fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("it is not a URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("use http:// or https://".to_owned());
    }
    Ok(raw.trim().trim_end_matches('/').to_owned())
}

/// A configuration variable that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{variable} cannot be used: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &'static str, problem: String) -> Self {
        Self { variable, problem }
    }
}

/// The secret admin routes ask for. Never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(std::sync::Arc<str>);

impl AdminToken {
    pub const MIN_LEN: usize = 16;

    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() < Self::MIN_LEN {
            return Err(format!(
                "an admin token needs at least {} characters",
                Self::MIN_LEN
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("an admin token is printable ASCII without spaces".to_owned());
        }
        Ok(Self(raw.into()))
    }

    /// 32 hex digits from the operating system's random source.
    pub fn generate() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into(),
        )
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares in time that does not depend on where the first difference is, so the
    /// token cannot be guessed a character at a time by timing responses.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(***)")
    }
}

/// The database engines perfblog runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// How long a request waits for a database connection before it is answered 503, by
/// default. Long enough for a busy pool to free one, short enough that a database that
/// is down fails a request well before a load balancer gives up on it. sqlx opens a
/// new connection inside the same wait, so this is the connect timeout too.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A database URL whose scheme perfblog supports, how many connections to open, and
/// how long to wait for one.
#[derive(Clone)]
pub struct DatabaseUrl {
    url: String,
    backend: Backend,
    max_connections: Option<u32>,
    acquire_timeout: Duration,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        // `sqlite::memory:` is not a URL in the WHATWG sense, but sqlx accepts it.
        if raw.starts_with("sqlite:") {
            return Ok(Self {
                url: raw.to_owned(),
                backend: Backend::Sqlite,
                max_connections: None,
                acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            });
        }
        let parsed = Url::parse(raw).map_err(|error| format!("it is not a URL ({error})"))?;
        match parsed.scheme() {
            "postgres" | "postgresql" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(Self {
                    url: raw.to_owned(),
                    backend: Backend::Postgres,
                    max_connections: None,
                    acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
                })
            }
            "postgres" | "postgresql" => {
                Err("a PostgreSQL URL needs a host, as in postgres://user@host:5432/db".to_owned())
            }
            other => Err(format!(
                "the scheme `{other}` is not supported; use sqlite://path?mode=rwc or postgres://user@host/db"
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool size; `None`: the backend's default (see `db::connect`).
    pub fn max_connections(&self) -> Option<u32> {
        self.max_connections
    }

    /// The longest a request waits for a connection (`DATABASE_ACQUIRE_TIMEOUT`).
    pub fn acquire_timeout(&self) -> Duration {
        self.acquire_timeout
    }

    /// The file behind a `sqlite://` URL, if it is one (not `sqlite::memory:`).
    pub fn sqlite_file(&self) -> Option<&str> {
        let rest = self.url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then_some(path)
    }
}

/// Passwords stay out of logs and error messages.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

impl DatabaseUrl {
    pub fn redacted(&self) -> String {
        match Url::parse(&self.url) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_and_bounded_numbers_take_their_words_and_name_their_variable() {
        assert!(switch("X", None, true).unwrap());
        assert!(!switch("X", Some(" off ".into()), true).unwrap());
        assert!(switch("X", Some("1".into()), false).unwrap());
        let error = switch("PAGE_CACHE", Some("maybe".into()), true).unwrap_err();
        assert_eq!(error.variable, "PAGE_CACHE");
        assert!(error.problem.contains("`maybe`"), "{}", error.problem);

        assert_eq!(number_from("X", " 64 ", 1, 64).unwrap(), 64);
        for raw in ["0", "65", "-1", "2.5", ""] {
            let error = number_from::<usize>("NAIVE_CONCURRENCY", raw, 1, 64).unwrap_err();
            assert_eq!(
                error.problem,
                format!("`{raw}` is not a number from 1 to 64")
            );
        }
    }

    #[test]
    fn the_detector_settings_default_to_log_at_five_and_refuse_what_they_cannot_use() {
        assert_eq!(inspection(None, None, None).unwrap(), Inspection::default());
        let set = inspection(Some("raise".into()), Some(" 8 ".into()), Some("1".into())).unwrap();
        assert_eq!(
            (set.n_plus_one, set.threshold, set.panel),
            (NPlusOne::Raise, 8, true)
        );
        for (mode, threshold, panel, variable) in [
            (Some("loud"), None, None, "N_PLUS_ONE"),
            (None, Some("1"), None, "N_PLUS_ONE_THRESHOLD"),
            (None, Some("five"), None, "N_PLUS_ONE_THRESHOLD"),
            (None, None, Some("yes"), "PERFBLOG_INSPECT"),
        ] {
            let error = inspection(
                mode.map(Into::into),
                threshold.map(Into::into),
                panel.map(Into::into),
            )
            .unwrap_err();
            assert_eq!(error.variable, variable);
        }
    }

    #[test]
    fn accepts_sqlite_and_postgres() {
        assert_eq!(
            DatabaseUrl::parse(DEFAULT_DATABASE_URL).unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://postgres@127.0.0.1:5432/perfblog")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:").unwrap().backend(),
            Backend::Sqlite
        );
    }

    #[test]
    fn rejects_other_schemes_and_garbage_with_a_reason() {
        let mysql = DatabaseUrl::parse("mysql://root@localhost/db").unwrap_err();
        assert!(mysql.contains("`mysql` is not supported"), "{mysql}");
        let garbage = DatabaseUrl::parse("not a url").unwrap_err();
        assert!(garbage.contains("not a URL"), "{garbage}");
        let hostless = DatabaseUrl::parse("postgres:///db").unwrap_err();
        assert!(hostless.contains("needs a host"), "{hostless}");
    }

    #[test]
    fn finds_the_sqlite_file() {
        let url = DatabaseUrl::parse("sqlite://data/blog.sqlite?mode=rwc").unwrap();
        assert_eq!(url.sqlite_file(), Some("data/blog.sqlite"));
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:").unwrap().sqlite_file(),
            None
        );
    }

    #[test]
    fn admin_tokens_are_long_printable_and_compared_exactly() {
        assert!(AdminToken::parse("short").is_err());
        assert!(AdminToken::parse("has a space in it, sadly").is_err());
        let token = AdminToken::parse("0123456789abcdef").unwrap();
        assert!(token.matches("0123456789abcdef"));
        assert!(!token.matches("0123456789abcdeF"));
        assert!(!token.matches("0123456789abcdef0"));
        assert_eq!(AdminToken::generate().expose().len(), 32);
        assert!(!format!("{token:?}").contains("0123"));
    }

    #[test]
    fn smtp_and_public_urls_are_checked() {
        assert!(parse_smtp_url("smtp://127.0.0.1:1025").is_ok());
        assert!(
            parse_smtp_url("http://mailpit:8025")
                .unwrap_err()
                .contains("smtp://")
        );
        assert!(parse_smtp_url("mailpit:1025").is_err());
        assert_eq!(
            parse_public_url("https://blog.example/").unwrap(),
            "https://blog.example"
        );
        assert!(parse_public_url("ftp://x").is_err());
        assert!(parse_redis_url("redis://127.0.0.1:6379").is_ok());
        assert!(parse_redis_url("127.0.0.1:6379").is_err());
        assert_eq!(parse_trusted_proxies(" 1 "), Ok(1));
        assert_eq!(
            parse_seconds("1.5", 0.1, 60.0),
            Ok(Duration::from_millis(1500))
        );
        assert!(
            parse_seconds("0", 0.1, 60.0)
                .unwrap_err()
                .contains("0.1 to 60")
        );
        assert!(
            parse_trusted_proxies("true")
                .unwrap_err()
                .contains("0 to 10")
        );
    }

    #[test]
    fn the_defaults_need_no_services() {
        let config = Config::default();
        assert_eq!(config.database.backend(), Backend::Sqlite);
        assert_eq!(config.database.as_str(), DEFAULT_DATABASE_URL);
        assert_eq!(config.cache, CacheSettings::Memory);
        assert_eq!(config.mail, MailSettings::Folder(DEFAULT_MAIL_DIR.into()));
        assert!(config.admin_token.is_none() && config.public_url.is_none());
        assert_eq!(config.worker, Some(WorkerSettings::default()));
    }

    #[test]
    fn never_shows_a_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/perfblog").unwrap();
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
