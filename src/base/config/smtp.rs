//! What `SMTP_URL` says: where the SMTP server is, how the conversation is encrypted,
//! and the login, if any. The vocabulary is lettre's (and close to Django's
//! `EMAIL_USE_TLS` / `EMAIL_USE_SSL`):
//!
//! - `smtp://host:port` — no encryption: Mailpit, or a relay on this machine (port 25);
//! - `smtp://user:password@host:587?tls=required` — STARTTLS, refused if the server
//!   does not offer it (port 587, "submission");
//! - `smtps://user:password@host:465` — TLS from the first byte (port 465).
//!
//! A login is never sent in the clear to another machine: a user and password without
//! TLS are accepted only for a loopback host.

use std::fmt;
use std::net::IpAddr;

use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// How the SMTP conversation is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// None: every byte, login included, crosses the network as written.
    Plain,
    /// STARTTLS before anything else is sent; a server that does not offer it gets nothing.
    StartTls,
    /// TLS from the first byte ("implicit TLS", RFC 8314).
    Tls,
}

/// A user name and password for SMTP AUTH; the password is redacted in `Debug`.
#[derive(Clone, Debug)]
pub struct SmtpLogin {
    pub user: String,
    pub password: SecretString,
}

impl PartialEq for SmtpLogin {
    fn eq(&self, other: &Self) -> bool {
        self.user == other.user && self.password.expose_secret() == other.password.expose_secret()
    }
}

impl Eq for SmtpLogin {}

/// `SMTP_URL`, parsed once where it enters the program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub login: Option<SmtpLogin>,
}

impl SmtpUrl {
    /// A server on this machine that speaks plain SMTP (the lab's own sink).
    pub fn loopback(port: u16) -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port,
            security: SmtpSecurity::Plain,
            login: None,
        }
    }

    /// Reads `smtp://` or `smtps://` URLs; says in words what is wrong with any other.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|error| format!("it is not a URL ({error})"))?;
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| format!("it names no host; {USAGE}"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let security = security(&url)?;
        let login = login(&url)?;
        if login.is_some() && security == SmtpSecurity::Plain && !is_loopback(&host) {
            return Err(format!(
                "it has a user and password but no TLS, so they would cross the network \
                 readable by anyone on the path; {USAGE} (only a loopback host may take a \
                 login in plain text)"
            ));
        }
        let port = url.port().unwrap_or(match security {
            SmtpSecurity::Plain => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
        });
        Ok(Self {
            host,
            port,
            security,
            login,
        })
    }
}

/// The URL without its password: what logs and errors may show.
impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.security {
            SmtpSecurity::Tls => "smtps",
            SmtpSecurity::Plain | SmtpSecurity::StartTls => "smtp",
        };
        let user = match &self.login {
            Some(login) => format!("{}:***@", login.user),
            None => String::new(),
        };
        let tls = match self.security {
            SmtpSecurity::StartTls => "?tls=required",
            SmtpSecurity::Plain | SmtpSecurity::Tls => "",
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{scheme}://{user}{host}:{}{tls}", self.port)
    }
}

const USAGE: &str = "use smtps://user:password@host:465 (TLS), \
     smtp://user:password@host:587?tls=required (STARTTLS) or smtp://host:port (no TLS: \
     Mailpit or a relay on this machine)";

fn security(url: &Url) -> Result<SmtpSecurity, String> {
    let tls = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    match (url.scheme(), tls.as_deref()) {
        ("smtp", None) => Ok(SmtpSecurity::Plain),
        ("smtp", Some("required")) => Ok(SmtpSecurity::StartTls),
        ("smtps", None) => Ok(SmtpSecurity::Tls),
        ("smtps", Some(_)) => Err(
            "smtps:// is TLS from the first byte already: drop its `tls=` (which asks for \
             STARTTLS on smtp://)"
                .to_owned(),
        ),
        ("smtp", Some(other)) => Err(format!(
            "`tls={other}` is not understood: `tls=required` (STARTTLS) is the one value; \
             opportunistic STARTTLS is not offered, since anyone on the path can strip it"
        )),
        _ => Err(USAGE.to_owned()),
    }
}

fn login(url: &Url) -> Result<Option<SmtpLogin>, String> {
    let decode = |part: &str| {
        percent_decode_str(part)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| "its user or password is not UTF-8 once decoded".to_owned())
    };
    match (url.username(), url.password()) {
        ("", None) => Ok(None),
        ("", Some(_)) => Err("it has a password but no user".to_owned()),
        (_, None) => Err("it has a user but no password".to_owned()),
        (user, Some(password)) => Ok(Some(SmtpLogin {
            user: decode(user)?,
            password: decode(password)?.into(),
        })),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_names_its_encryption_and_its_usual_port() {
        let plain = SmtpUrl::parse("smtp://mailpit").unwrap();
        assert_eq!((plain.security, plain.port), (SmtpSecurity::Plain, 25));
        let starttls = SmtpUrl::parse("smtp://u:p@smtp.example.com?tls=required").unwrap();
        assert_eq!(
            (starttls.security, starttls.port),
            (SmtpSecurity::StartTls, 587)
        );
        let tls = SmtpUrl::parse("smtps://u:p@smtp.example.com").unwrap();
        assert_eq!((tls.security, tls.port), (SmtpSecurity::Tls, 465));
        assert_eq!(SmtpUrl::parse("smtp://mailpit:1025").unwrap().port, 1025);
    }

    #[test]
    fn a_login_is_refused_in_plain_text_except_on_this_machine() {
        let refused = SmtpUrl::parse("smtp://user:secret@smtp.example.com:25").unwrap_err();
        assert!(refused.contains("no TLS"), "{refused}");
        assert!(!refused.contains("secret"), "{refused}");
        for local in ["localhost", "127.0.0.1", "[::1]"] {
            let url = SmtpUrl::parse(&format!("smtp://user:secret@{local}:1025")).unwrap();
            assert_eq!(url.security, SmtpSecurity::Plain, "{local}");
        }
    }

    #[test]
    fn the_login_is_percent_decoded_and_never_displayed() {
        let url =
            SmtpUrl::parse("smtps://me%40example.com:p%40ss%3Aword@smtp.example.com").unwrap();
        let login = url.login.as_ref().unwrap();
        assert_eq!(login.user, "me@example.com");
        assert_eq!(login.password.expose_secret(), "p@ss:word");
        assert!(!format!("{url} {url:?}").contains("p@ss"));
    }

    #[test]
    fn other_schemes_and_tls_values_are_refused_with_the_accepted_forms() {
        assert!(
            SmtpUrl::parse("http://mailpit:8025")
                .unwrap_err()
                .contains("smtps://")
        );
        assert!(SmtpUrl::parse("mailpit:1025").is_err());
        assert!(
            SmtpUrl::parse("smtps://h?tls=required")
                .unwrap_err()
                .contains("already")
        );
        let v6 = SmtpUrl::parse("smtp://[::1]:1025").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.to_string()),
            ("::1", "smtp://[::1]:1025".to_owned())
        );
        let opportunistic = SmtpUrl::parse("smtp://h?tls=opportunistic").unwrap_err();
        assert!(opportunistic.contains("tls=required"), "{opportunistic}");
        assert!(
            SmtpUrl::parse("smtp://user@h:25")
                .unwrap_err()
                .contains("no password")
        );
    }
}
