//! Reading your own writes across standbys. A write's response carries where the
//! primary's log ended after it (`pg_current_wal_lsn()`) in a cookie; the writer's
//! next pages read from a standby only once it has replayed that far
//! ([`Reads::after`](crate::services::db::standbys::Reads::after)). Without standbys
//! there is no cookie and no extra statement.
//!
//! The cookie lives a little longer than a standby may lag before the app stops reading
//! from it (`DATABASE_REPLICA_MAX_LAG`): once it expires, every standby still in use
//! has the write.

use axum::extract::{Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use cookie::Cookie;

use crate::services::db::standbys::{self, CHECK_EVERY, Lsn};
use crate::views::site::Site;

/// The cookie holding the reader's last write's log position.
pub const WRITTEN_COOKIE: &str = "perfblog_written";

/// The log position of the reader's last write, from its cookie (`None`: none lately,
/// or not one this app wrote).
pub fn written(headers: &HeaderMap) -> Option<Lsn> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == WRITTEN_COOKIE)
        .and_then(|cookie| cookie.value().parse().ok())
}

/// Middleware: after a request that may have written (not `GET`, `HEAD`, `OPTIONS` or
/// `TRACE`)
/// and was not refused as a client's mistake, sets the cookie to where the primary's
/// log ends now — after the write committed, so at or past it. A server error may
/// follow a commit (the naive comment's mail failing after its insert), so it gets
/// the cookie too; a `503` does not: the database may be what is down, and asking it
/// would only make the answer later. The cookie never goes back past the one the
/// request brought. One statement, only with standbys.
pub async fn remember_writes(State(site): State<Site>, request: Request, next: Next) -> Response {
    let may_have_written = !request.method().is_safe();
    let before = written(request.headers());
    let mut response = next.run(request).await;
    let status = response.status();
    let refused = status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE;
    if !may_have_written || refused || !site.reads.has_standbys() {
        return response;
    }
    match standbys::primary_position(&site.db).await {
        Ok(end) => {
            let latest = before.map_or(end, |before| before.max(end));
            if let Ok(value) = HeaderValue::from_str(&cookie_for(latest, &site).to_string()) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        // The write is done; without the cookie the next read may miss it on a standby.
        Err(error) => tracing::warn!(%error, "could not read the primary's log position"),
    }
    response
}

fn cookie_for(end: Lsn, site: &Site) -> Cookie<'static> {
    let lives = site.reads.max_lag() + 2 * CHECK_EVERY;
    let seconds = i64::try_from(lives.as_secs())
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    Cookie::build((WRITTEN_COOKIE, end.to_string()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(seconds))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_position_is_read_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; perfblog_written=1/2A; other=x"),
        );
        assert_eq!(written(&headers), "1/2A".parse().ok());

        headers.insert(
            COOKIE,
            HeaderValue::from_static("perfblog_written=nonsense"),
        );
        assert_eq!(written(&headers), None, "a bad value is no position");
        assert_eq!(written(&HeaderMap::new()), None);
    }
}
