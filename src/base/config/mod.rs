//! Settings, declared once. [`Settings`] lists every one as a clap argument — its flag,
//! the environment variable behind it, its default and what it means — so
//! `perfblog --help` is the settings table (`docs/operations.md` repeats it, and a test
//! keeps the two in step). A flag wins over its variable. A malformed value stops
//! start-up with a message naming the variable and the problem, never a panic.
//!
//! [`Config`] is what the program runs with: the settings, turned into the parts the
//! modules acting on them receive (`sections.rs`), and a few values only tests change.
//! `Config::default()` is the embedded default, which needs no services at all.
//!
//! This module is a leaf: plain settings, read by the modules that act on them
//! (`db`, `cache`, `mail`, the rate limit, the lab), and it imports none of them.

mod sections;
mod smtp;
mod values;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

pub use sections::{
    CacheSettings, CommentRate, ConnectionTimeouts, DEFAULT_IMPORT_MAX_MB, DEFAULT_LAB_SIDE_LIMIT,
    DEFAULT_LAB_WAIT, DEFAULT_MAIL_DIR, DEFAULT_NAIVE_MEMORY_BUDGET_MB, DEFAULT_REPLICA_MAX_LAG,
    DEFAULT_VIEW_FLUSH, Inspection, LogFormat, MailSettings, NPlusOne, NaiveRoutes,
    PageCacheSettings, PerfRecording, RecordPolicy, RetryPolicy, SITEMAP_URLS_PER_FILE,
    StandbySettings, WorkerSettings,
};
pub use smtp::{SmtpLogin, SmtpSecurity, SmtpUrl};
pub use values::{AdminToken, Backend, DEFAULT_ACQUIRE_TIMEOUT, DEFAULT_DATABASE_URL, DatabaseUrl};
use values::{
    http_url, redis_url, replaced_by_trusted_proxies, seconds, setting, socket_address, switch,
    whole_number,
};

/// What the program runs with: each module's part of the settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub database: DatabaseUrl,
    /// Streaming standbys the optimized pages may read from (none by default).
    pub standbys: StandbySettings,
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
    /// The longest the lab lets one side of a comparison run, and the database one of
    /// its statements, before it stops them and says so (`LAB_SIDE_LIMIT_MS`).
    pub lab_side_limit: Duration,
    /// How often the optimized post page's pending views are written to the database
    /// (not from the environment; tests lengthen it and flush by hand).
    pub view_flush: Duration,
    /// The most addresses one sitemap file lists; more make `/sitemap.xml` an index of
    /// numbered files (not from the environment; tests lower it).
    pub sitemap_urls: u64,
    /// The largest NDJSON import taken, in bytes (`IMPORT_MAX_MB`).
    pub import_max_bytes: u64,
    /// How long a connection may take to send a request head.
    pub connections: ConnectionTimeouts,
    /// Whether the naive twins are served, and how many at once.
    pub naive: NaiveRoutes,
    /// What each request's statements are checked for, and whether pages show them.
    pub inspection: Inspection,
    /// Which requests the request history keeps (`/_perf/requests`).
    pub perf: PerfRecording,
    /// Statement repeats that are meant: no N+1 suspect when the shape or the call site
    /// contains one of these (`N_PLUS_ONE_ALLOW`).
    pub n_plus_one_allow: Vec<String>,
    /// `LOG_FORMAT`: text, or a JSON object a line.
    pub log_format: LogFormat,
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
            standbys: StandbySettings {
                urls: Vec::new(),
                max_lag: DEFAULT_REPLICA_MAX_LAG,
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
            lab_side_limit: DEFAULT_LAB_SIDE_LIMIT,
            view_flush: DEFAULT_VIEW_FLUSH,
            sitemap_urls: SITEMAP_URLS_PER_FILE,
            import_max_bytes: DEFAULT_IMPORT_MAX_MB * 1_000_000,
            connections: ConnectionTimeouts::default(),
            naive: NaiveRoutes::default(),
            inspection: Inspection::default(),
            perf: PerfRecording::default(),
            n_plus_one_allow: Vec::new(),
            log_format: LogFormat::Text,
        }
    }
}

/// Every setting perfblog reads, for every subcommand: each is `global`, so it is
/// accepted before or after the subcommand and listed in every `--help`.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Settings (a flag, or the environment variable named)")]
pub struct Settings {
    /// The database: sqlite://path?mode=rwc or postgres://user@host:port/db.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true, value_name = "URL",
          default_value = DEFAULT_DATABASE_URL, value_parser = setting(DatabaseUrl::parse))]
    pub database_url: DatabaseUrl,
    /// The connection pool's size, from 1 to 1000. Unset: 2 per core (at least 4) on
    /// PostgreSQL, 8 on SQLite.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", global = true, value_name = "N",
          value_parser = setting(|raw| whole_number::<u32>(raw, 1, 1000)))]
    pub database_max_connections: Option<u32>,
    /// Seconds a request waits for a database connection (a free one, or a new one
    /// being opened) before it is answered 503; from 0.1 to 60.
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT", global = true, value_name = "SECONDS",
          default_value = "1.5", value_parser = setting(|raw| seconds(raw, 0.1, 60.0)))]
    pub database_acquire_timeout: Duration,
    /// PostgreSQL streaming standbys of DATABASE_URL, comma-separated: the optimized
    /// pages read from them where they have the reader's writes. Unset: no standbys.
    #[arg(long, env = "DATABASE_REPLICA_URLS", global = true, hide_env_values = true,
          value_name = "URLS", value_delimiter = ',', value_parser = setting(DatabaseUrl::parse))]
    pub database_replica_urls: Vec<DatabaseUrl>,
    /// Seconds a standby may fall behind the primary and still serve reads, from 0.1
    /// to 600; further behind, its reads go to the primary until it catches up.
    #[arg(long, env = "DATABASE_REPLICA_MAX_LAG", global = true, value_name = "SECONDS",
          default_value = "5", value_parser = setting(|raw| seconds(raw, 0.1, 600.0)))]
    pub database_replica_max_lag: Duration,
    /// The address and port to listen on.
    #[arg(long, env = "BIND", global = true, value_name = "ADDR", default_value = "127.0.0.1:3000",
          value_parser = setting(socket_address))]
    pub bind: SocketAddr,
    /// The address links in emails point to. Unset: http:// and the bound address.
    #[arg(long, env = "PUBLIC_URL", global = true, value_name = "URL",
          value_parser = setting(http_url))]
    pub public_url: Option<String>,
    /// The password of the admin routes: 16 or more printable characters. Unset: one is
    /// generated for the run and printed.
    #[arg(long, env = "ADMIN_TOKEN", global = true, hide_env_values = true, value_name = "TOKEN",
          value_parser = setting(AdminToken::parse))]
    pub admin_token: Option<AdminToken>,
    /// Seconds a connection has to deliver a request head, from when it waits for one
    /// (so also how long an idle keep-alive connection stays open); from 0.1 to 600.
    #[arg(long, env = "HEADER_READ_TIMEOUT", global = true, value_name = "SECONDS",
          default_value = "10", value_parser = setting(|raw| seconds(raw, 0.1, 600.0)))]
    pub header_read_timeout: Duration,
    /// Connections open at once, from 1 to 100000; one more is answered 503 and closed.
    /// Keep it under the process's open-file limit (`ulimit -n`).
    #[arg(long, env = "MAX_CONNECTIONS", global = true, value_name = "N", default_value = "1000",
          value_parser = setting(|raw| whole_number::<usize>(raw, 1, 100_000)))]
    pub max_connections: usize,
    /// How many reverse proxies stand in front of the app, from 0 to 10; the comment rate
    /// limit keys on the X-Forwarded-For entry that many places from the right.
    #[arg(long, env = "TRUSTED_PROXIES", global = true, value_name = "N", default_value = "0",
          value_parser = setting(|raw| whole_number::<usize>(raw, 0, 10)))]
    pub trusted_proxies: usize,
    /// The SMTP server for notifications: smtps://user:password@host:465 (TLS),
    /// smtp://user:password@host:587?tls=required (STARTTLS) or smtp://host:port (no TLS,
    /// no login except on loopback). Unset: .eml files in MAIL_DIR.
    #[arg(long, env = "SMTP_URL", global = true, hide_env_values = true, value_name = "URL",
          value_parser = setting(SmtpUrl::parse))]
    pub smtp_url: Option<SmtpUrl>,
    /// A PEM file of certificate authorities the SMTP server's certificate may chain to,
    /// besides the public ones built in (a company's own CA).
    #[arg(long, env = "SMTP_CA_FILE", global = true, value_name = "FILE")]
    pub smtp_ca_file: Option<PathBuf>,
    /// Where .eml files go when SMTP_URL is unset.
    #[arg(long, env = "MAIL_DIR", global = true, value_name = "DIR",
          default_value = DEFAULT_MAIL_DIR)]
    pub mail_dir: PathBuf,
    /// Redis for the fragment and page caches and the views not yet written:
    /// redis://host:port. Unset: an in-process cache.
    #[arg(long, env = "REDIS_URL", global = true, hide_env_values = true, value_name = "URL",
          value_parser = setting(redis_url))]
    pub redis_url: Option<String>,
    /// `off` renders the optimized pages on every request instead of caching them whole.
    #[arg(long, env = "PAGE_CACHE", global = true, value_name = "on|off", default_value = "on",
          action = ArgAction::Set, value_parser = setting(switch))]
    pub page_cache: bool,
    /// `off` answers every /naive/… address 404 with a message (for a public deployment).
    #[arg(long, env = "NAIVE_ROUTES", global = true, value_name = "on|off", default_value = "on",
          action = ArgAction::Set, value_parser = setting(switch))]
    pub naive_routes: bool,
    /// Naive requests served at once, from 1 to 64; the next waits up to 2 s, then gets
    /// 503 with Retry-After.
    #[arg(long, env = "NAIVE_CONCURRENCY", global = true, value_name = "N", default_value = "2",
          value_parser = setting(|raw| whole_number::<usize>(raw, 1, 64)))]
    pub naive_concurrency: usize,
    /// The most memory, in MB, the naive work that loads whole tables may hold at once
    /// (naive pages' sidebar, the lab's naive aggregation), estimated before it loads:
    /// a load larger than this is refused with a page saying what it would load; one
    /// that fits waits its share for up to 2 s. 0 refuses it all.
    #[arg(long, env = "NAIVE_MEMORY_BUDGET", global = true, value_name = "MB",
          default_value_t = DEFAULT_NAIVE_MEMORY_BUDGET_MB,
          value_parser = setting(|raw| whole_number::<u64>(raw, 0, 1 << 20)))]
    pub naive_memory_budget: u64,
    /// The largest import, in MB, `POST /admin/import` takes one post per line
    /// (`application/x-ndjson`), read and validated as it arrives (memory holds a batch;
    /// a temporary file holds the rest until all of it is valid). From 1 to 1048576.
    #[arg(long, env = "IMPORT_MAX_MB", global = true, value_name = "MB",
          default_value_t = DEFAULT_IMPORT_MAX_MB,
          value_parser = setting(|raw| whole_number::<u64>(raw, 1, 1 << 20)))]
    pub import_max_mb: u64,
    /// The longest, in milliseconds, the lab lets one side of a comparison run before it
    /// stops it and says so; the database stops any lab statement at the same limit.
    /// From 50 to 600000.
    #[arg(long, env = "LAB_SIDE_LIMIT_MS", global = true, value_name = "MS",
          default_value_t = DEFAULT_LAB_SIDE_LIMIT.as_millis() as u64,
          value_parser = setting(|raw| whole_number::<u64>(raw, 50, 600_000)))]
    pub lab_side_limit_ms: u64,
    /// Where the lab links source files: {REPOSITORY_URL}/{path}#L{line}. Unset: the lab's
    /// own /lab/source/{path} view.
    #[arg(long, env = "REPOSITORY_URL", global = true, value_name = "URL",
          value_parser = setting(http_url))]
    pub repository_url: Option<String>,
    /// The N+1 detector: `log` reports a statement shape repeated in one request; `raise`
    /// also answers it 500 with the report; `off` flags nothing.
    #[arg(long, env = "N_PLUS_ONE", global = true, value_name = "log|raise|off",
          default_value = "log", value_parser = setting(NPlusOne::parse))]
    pub n_plus_one: NPlusOne,
    /// Runs of one statement shape in one request that make it a suspect, from 2 to 1000.
    #[arg(long, env = "N_PLUS_ONE_THRESHOLD", global = true, value_name = "N", default_value = "2",
          value_parser = setting(|raw| whole_number::<u32>(raw, 2, 1000)))]
    pub n_plus_one_threshold: u32,
    /// Repeats that are meant, comma-separated: a statement shape or a call site that
    /// contains one is never an N+1 suspect (`FROM "tags"`, `sidebar::naive::load`).
    #[arg(
        long,
        env = "N_PLUS_ONE_ALLOW",
        global = true,
        value_name = "PATTERNS",
        value_delimiter = ','
    )]
    pub n_plus_one_allow: Vec<String>,
    /// Milliseconds of database time that make a page's part or one statement a slow
    /// finding, reported before any N+1 (`X-Perf-Findings`), from 1 to 60000.
    #[arg(long, env = "PERF_SLOW_MS", global = true, value_name = "MS", default_value = "50",
          value_parser = setting(|raw| whole_number::<u64>(raw, 1, 60_000)))]
    pub perf_slow_ms: u64,
    /// `1` ends every page's footer with its SQL and cache lookups. It shows SQL to every
    /// visitor: never in production.
    #[arg(long, env = "PERFBLOG_INSPECT", global = true, value_name = "0|1",
          default_value = "0", action = ArgAction::Set, value_parser = setting(switch))]
    pub inspect: bool,
    /// How the log is written: `text`, or `json` (one object a line, and one line per
    /// request with its id, route, status and latency).
    #[arg(long, env = "LOG_FORMAT", global = true, value_name = "text|json",
          default_value = "text", value_parser = setting(LogFormat::parse))]
    pub log_format: LogFormat,
    /// `1` ends every statement with a sqlcommenter comment naming its route, variant and
    /// function, so pg_stat_statements and the slow-query log lead back to the code.
    #[arg(long, env = "SQL_COMMENTS", global = true, value_name = "0|1",
          default_value = "1", action = ArgAction::Set, value_parser = setting(switch))]
    pub sql_comments: bool,
    /// Which requests /_perf/requests keeps, with their statements and spans: `off`,
    /// `errors` (5xx), `slow` (a finding or a 5xx), `sample:N` (one in N) or `all`.
    #[arg(long, env = "PERF_RECORD", global = true, value_name = "POLICY", default_value = "all",
          value_parser = setting(RecordPolicy::parse))]
    pub perf_record: RecordPolicy,
    /// The most requests the history keeps, from 10 to 100000 (in process, or in Redis
    /// when REDIS_URL is set, where each also expires after an hour).
    #[arg(long, env = "PERF_HISTORY", global = true, value_name = "N", default_value = "500",
          value_parser = setting(|raw| whole_number::<usize>(raw, 10, 100_000)))]
    pub perf_history: usize,
    /// Retired: refused with the name of the setting that replaced it.
    #[arg(long, env = "TRUST_FORWARDED_FOR", global = true, hide = true,
          value_parser = setting(replaced_by_trusted_proxies))]
    pub trust_forwarded_for: Option<String>,
}

impl Settings {
    /// The standbys, each with the primary's pool size and acquire timeout.
    fn standbys(&self) -> StandbySettings {
        StandbySettings {
            urls: self
                .database_replica_urls
                .iter()
                .map(|url| DatabaseUrl {
                    max_connections: self.database_max_connections,
                    acquire_timeout: self.database_acquire_timeout,
                    ..url.clone()
                })
                .collect(),
            max_lag: self.database_replica_max_lag,
        }
    }

    /// The configuration these settings describe, with the embedded defaults for what no
    /// setting covers.
    pub fn into_config(self) -> Config {
        let defaults = Config::default();
        let standbys = self.standbys();
        Config {
            database: DatabaseUrl {
                max_connections: self.database_max_connections,
                acquire_timeout: self.database_acquire_timeout,
                ..self.database_url
            },
            standbys,
            admin_token: self.admin_token,
            mail: match self.smtp_url {
                Some(server) => MailSettings::Smtp {
                    server,
                    ca_file: self.smtp_ca_file,
                },
                None => MailSettings::Folder(self.mail_dir),
            },
            public_url: self.public_url,
            cache: cache_settings(self.redis_url),
            page_cache: PageCacheSettings {
                enabled: self.page_cache,
                ..defaults.page_cache
            },
            comment_rate: CommentRate {
                trusted_proxies: self.trusted_proxies,
                ..defaults.comment_rate
            },
            repository_url: self.repository_url,
            lab_side_limit: Duration::from_millis(self.lab_side_limit_ms),
            import_max_bytes: self.import_max_mb * 1_000_000,
            connections: ConnectionTimeouts {
                header_read: self.header_read_timeout,
                most_open: self.max_connections,
            },
            naive: NaiveRoutes {
                enabled: self.naive_routes,
                in_flight: self.naive_concurrency,
                memory_budget: self.naive_memory_budget * 1_000_000,
                ..defaults.naive
            },
            inspection: Inspection {
                n_plus_one: self.n_plus_one,
                threshold: self.n_plus_one_threshold,
                panel: self.inspect,
                slow: std::time::Duration::from_millis(self.perf_slow_ms),
                sql_comments: self.sql_comments,
            },
            perf: PerfRecording {
                record: self.perf_record,
                keep: self.perf_history,
                ..defaults.perf
            },
            n_plus_one_allow: self.n_plus_one_allow,
            log_format: self.log_format,
            ..defaults
        }
    }
}

/// Redis at `REDIS_URL` when it is set, the in-process cache otherwise.
fn cache_settings(redis_url: Option<String>) -> CacheSettings {
    match redis_url {
        Some(url) => CacheSettings::Redis {
            url,
            namespace: "perfblog".to_owned(),
        },
        None => CacheSettings::Memory,
    }
}

/// A variable set to nothing (`SMTP_URL=` in an env file) counts as unset, as if it
/// were not there: applied to each argument before parsing.
pub fn blank_is_unset(arg: clap::Arg) -> clap::Arg {
    let blank = arg
        .get_env()
        .and_then(std::env::var_os)
        .is_some_and(|value| value.to_string_lossy().trim().is_empty());
    if blank { arg.env(None) } else { arg }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Program {
        #[command(flatten)]
        settings: Settings,
    }

    /// The configuration `args` describe, with no environment variable read.
    fn config_from(args: &[&str]) -> Result<Config, clap::Error> {
        let command = Program::command().mut_args(|arg| arg.env(None));
        let matches = command.try_get_matches_from([&["perfblog"], args].concat())?;
        Ok(Settings::from_arg_matches(&matches)?.into_config())
    }

    /// Why `args` are refused, as clap prints it.
    fn refusal(args: &[&str]) -> String {
        let error = Program::command()
            .try_get_matches_from([&["perfblog"], args].concat())
            .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        error.to_string()
    }

    #[test]
    fn the_settings_default_to_the_embedded_defaults() {
        let config = config_from(&[]).unwrap();
        assert_eq!(format!("{config:?}"), format!("{:?}", Config::default()));
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
    fn each_setting_reaches_its_part_of_the_config() {
        let config = config_from(&[
            "--database-url=postgres://app@db/blog",
            "--database-max-connections=12",
            "--database-acquire-timeout=0.5",
            "--smtp-url=smtp://mailpit:1025",
            "--redis-url=redis://redis:6379",
            "--page-cache=off",
            "--trusted-proxies=1",
            "--header-read-timeout=2",
            "--naive-routes=off",
            "--naive-concurrency=4",
        ])
        .unwrap();
        assert_eq!(config.database.backend(), Backend::Postgres);
        assert_eq!(config.database.max_connections(), Some(12));
        assert_eq!(
            config.database.acquire_timeout(),
            Duration::from_millis(500)
        );
        assert_eq!(
            config.mail,
            MailSettings::Smtp {
                server: SmtpUrl::parse("smtp://mailpit:1025").unwrap(),
                ca_file: None
            }
        );
        assert!(matches!(config.cache, CacheSettings::Redis { .. }));
        assert!(!config.page_cache.enabled);
        assert_eq!(config.comment_rate.trusted_proxies, 1);
        assert_eq!(config.connections.header_read, Duration::from_secs(2));
        assert_eq!((config.naive.enabled, config.naive.in_flight), (false, 4));
    }

    #[test]
    fn standbys_take_a_list_of_urls_each_with_the_primarys_pool_and_refuse_what_is_not_one() {
        let config = config_from(&[
            "--database-replica-urls=postgres://app@standby-1/blog,postgres://app@standby-2/blog",
            "--database-max-connections=7",
            "--database-replica-max-lag=2.5",
        ])
        .unwrap();
        let urls: Vec<&str> = config
            .standbys
            .urls
            .iter()
            .map(|url| url.as_str())
            .collect();
        assert_eq!(
            urls,
            [
                "postgres://app@standby-1/blog",
                "postgres://app@standby-2/blog"
            ]
        );
        assert!(
            config
                .standbys
                .urls
                .iter()
                .all(|url| url.max_connections() == Some(7))
        );
        assert_eq!(config.standbys.max_lag, Duration::from_millis(2500));

        let refused = refusal(&["--database-replica-urls=mysql://app@standby/blog"]);
        assert!(refused.contains("`mysql` is not supported"), "{refused}");
        let refused = refusal(&["--database-replica-max-lag=0"]);
        assert!(refused.contains("from 0.1 to 600"), "{refused}");
    }

    #[test]
    fn the_detector_settings_default_to_log_at_five_and_refuse_what_they_cannot_use() {
        assert_eq!(config_from(&[]).unwrap().inspection, Inspection::default());
        let set = config_from(&[
            "--n-plus-one",
            "raise",
            "--n-plus-one-threshold",
            " 8 ",
            "--inspect",
            "1",
        ])
        .unwrap()
        .inspection;
        assert_eq!(
            (set.n_plus_one, set.threshold, set.panel),
            (NPlusOne::Raise, 8, true)
        );
        for (flag, value, variable) in [
            ("--n-plus-one", "loud", "N_PLUS_ONE"),
            ("--n-plus-one-threshold", "1", "N_PLUS_ONE_THRESHOLD"),
            ("--n-plus-one-threshold", "five", "N_PLUS_ONE_THRESHOLD"),
            ("--perf-slow-ms", "0", "PERF_SLOW_MS"),
            ("--perf-record", "everything", "PERF_RECORD"),
            ("--perf-record", "sample:1", "PERF_RECORD"),
            ("--perf-history", "5", "PERF_HISTORY"),
            ("--inspect", "yes", "PERFBLOG_INSPECT"),
        ] {
            let error = refusal(&[flag, value]);
            assert!(
                error.contains(&format!("{variable} cannot be used ({flag}): `")),
                "{error}"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_variable_and_never_repeats_a_secret() {
        let message = refusal(&["--admin-token", "short-secret"]);
        assert!(
            message.contains(
                "ADMIN_TOKEN cannot be used (--admin-token): an admin token needs at least 16"
            ),
            "{message}"
        );
        assert!(!message.contains("short-secret"), "{message}");
        let error = refusal(&["--trust-forwarded-for", "1"]);
        assert!(
            error
                .contains("TRUST_FORWARDED_FOR cannot be used: it was replaced by TRUSTED_PROXIES"),
            "{error}"
        );
    }
}
