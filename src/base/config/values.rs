//! The values a setting can take, each checked where it enters the program: a parse
//! function that says in words what is wrong, and [`setting`], the clap value parser
//! that puts the variable's name in front of those words.

use std::ffi::OsStr;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// A clap value parser made of a function that checks a setting's text. A refusal is
/// a usage error naming the variable and its flag and saying what is wrong; it does not
/// repeat the value, which may hold a password (clap's own message would).
pub fn setting<T, F>(parse: F) -> Setting<F>
where
    F: Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    Setting(parse)
}

#[derive(Clone)]
pub struct Setting<F>(F);

impl<T, F> TypedValueParser for Setting<F>
where
    F: Fn(&str) -> Result<T, String> + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let parsed = match value.to_str() {
            Some(raw) => (self.0)(raw),
            None => Err("it is not valid UTF-8".to_owned()),
        };
        parsed.map_err(|problem| {
            let variable = arg.and_then(clap::Arg::get_env).map(OsStr::to_string_lossy);
            let flag = arg
                .filter(|arg| !arg.is_hide_set())
                .and_then(clap::Arg::get_long)
                .map(|long| format!(" (--{long})"))
                .unwrap_or_default();
            let variable = variable.as_deref().unwrap_or("a setting");
            let message = format!("{variable} cannot be used{flag}: {problem}\n");
            clap::Error::raw(ErrorKind::ValueValidation, message).with_cmd(cmd)
        })
    }
}

/// A switch: `on`, `1` or `true`; `off`, `0` or `false`.
pub fn switch(raw: &str) -> Result<bool, String> {
    match raw.trim() {
        "on" | "1" | "true" => Ok(true),
        "off" | "0" | "false" => Ok(false),
        other => Err(format!("`{other}` is neither `on` nor `off`")),
    }
}

/// A whole number from `min` to `max`.
pub fn whole_number<T>(raw: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + Copy + fmt::Display,
{
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("`{raw}` is not a number from {min} to {max}"))
}

/// A number of seconds (fractions allowed) from `min` to `max`.
pub fn seconds(raw: &str, min: f64, max: f64) -> Result<Duration, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| (min..=max).contains(seconds))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("`{raw}` is not a number of seconds from {min} to {max}"))
}

/// An address and port to listen on.
pub fn socket_address(raw: &str) -> Result<SocketAddr, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("`{raw}` is not an address and port, such as 127.0.0.1:3000"))
}

pub fn redis_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("it is not a URL ({error})"))?;
    if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none_or(str::is_empty) {
        return Err("use redis://host:port".to_owned());
    }
    Ok(raw.trim().to_owned())
}

/// An `http://` or `https://` address, without a trailing slash.
pub fn http_url(raw: &str) -> Result<String, String> {
    let url = Url::parse(raw.trim()).map_err(|error| format!("it is not a URL ({error})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("use http:// or https://".to_owned());
    }
    Ok(raw.trim().trim_end_matches('/').to_owned())
}

/// `TRUST_FORWARDED_FOR` is retired: any value of it is refused with what to set instead.
pub fn replaced_by_trusted_proxies(_: &str) -> Result<String, String> {
    Err(
        "it was replaced by TRUSTED_PROXIES: the number of reverse proxies in front \
         of the app (1 behind one nginx); the client is read that many places from \
         the right of X-Forwarded-For"
            .to_owned(),
    )
}

/// The secret admin routes ask for. `Debug` shows no more than `[REDACTED]`; the
/// token is read only where it is compared ([`AdminToken::matches`]) or printed on
/// purpose ([`AdminToken::expose`]).
#[derive(Clone, Debug)]
pub struct AdminToken(SecretString);

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
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(hex.into())
    }

    /// The token itself, to print it for the operator (when it was generated).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Compares in time that does not depend on where the first difference is, so the
    /// token cannot be guessed a character at a time by timing responses.
    pub fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (self.0.expose_secret().as_bytes(), candidate.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
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

impl From<sea_orm::DbBackend> for Backend {
    /// The engine a connection talks to (perfblog connects to no other than these two).
    fn from(backend: sea_orm::DbBackend) -> Self {
        match backend {
            sea_orm::DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://perfblog.sqlite?mode=rwc";

/// How long a request waits for a database connection before it is answered 503, by
/// default. Long enough for a busy pool to free one, short enough that a database that
/// is down fails a request well before a load balancer gives up on it. sqlx opens a
/// new connection inside the same wait, so this is the connect timeout too.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A database URL whose scheme perfblog supports, how many connections to open, and
/// how long to wait for one.
#[derive(Clone)]
pub struct DatabaseUrl {
    pub(super) url: String,
    pub(super) backend: Backend,
    pub(super) max_connections: Option<u32>,
    pub(super) acquire_timeout: Duration,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let backend = if raw.starts_with("sqlite:") {
            // `sqlite::memory:` is not a URL in the WHATWG sense, but sqlx accepts it.
            Backend::Sqlite
        } else {
            let parsed = Url::parse(raw).map_err(|error| format!("it is not a URL ({error})"))?;
            match parsed.scheme() {
                "postgres" | "postgresql" if parsed.host_str().is_some_and(|h| !h.is_empty()) => {
                    Backend::Postgres
                }
                "postgres" | "postgresql" => {
                    return Err(
                        "a PostgreSQL URL needs a host, as in postgres://user@host:5432/db"
                            .to_owned(),
                    );
                }
                other => {
                    return Err(format!(
                        "the scheme `{other}` is not supported; use sqlite://path?mode=rwc or postgres://user@host/db"
                    ));
                }
            }
        };
        Ok(Self {
            url: raw.to_owned(),
            backend,
            max_connections: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        })
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

    /// `host:port` of a server URL (the whole URL, redacted, if it has none): how
    /// logs and `/healthz` name a standby.
    pub fn host_and_port(&self) -> String {
        match Url::parse(&self.url) {
            Ok(url) if url.host_str().is_some() => format!(
                "{}:{}",
                url.host_str().unwrap_or_default(),
                url.port().unwrap_or(5432)
            ),
            _ => self.redacted(),
        }
    }

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

/// Passwords stay out of logs and error messages.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_and_bounded_numbers_take_their_words() {
        assert_eq!(switch(" off "), Ok(false));
        assert_eq!(switch("1"), Ok(true));
        let problem = switch("maybe").unwrap_err();
        assert!(problem.contains("`maybe`"), "{problem}");

        assert_eq!(whole_number(" 64 ", 1, 64), Ok(64));
        for raw in ["0", "65", "-1", "2.5", ""] {
            assert_eq!(
                whole_number::<usize>(raw, 1, 64),
                Err(format!("`{raw}` is not a number from 1 to 64"))
            );
        }
        assert_eq!(seconds("1.5", 0.1, 60.0), Ok(Duration::from_millis(1500)));
        assert!(seconds("0", 0.1, 60.0).unwrap_err().contains("0.1 to 60"));
        assert!(
            socket_address("localhost")
                .unwrap_err()
                .contains("127.0.0.1:3000")
        );
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
    fn redis_and_public_urls_are_checked() {
        assert_eq!(
            http_url("https://blog.example/").unwrap(),
            "https://blog.example"
        );
        assert!(http_url("ftp://x").is_err());
        assert!(redis_url("redis://127.0.0.1:6379").is_ok());
        assert!(redis_url("127.0.0.1:6379").is_err());
    }

    #[test]
    fn never_shows_a_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/perfblog").unwrap();
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
