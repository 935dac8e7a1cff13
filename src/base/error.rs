//! The application's one error type, and how each variant becomes a response.
//!
//! Turning an error into a response has no side effects; [`log_server_errors`] is the
//! one place where failures are logged, so the client never sees internals and the
//! operator always does.

use std::sync::Arc;

use askama::Template;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 Bad Request: the request itself is malformed (a `?page=` that is not a page
    /// number). The message tells the client what to send instead.
    #[error("{0}")]
    BadRequest(String),
    /// 401 Unauthorized: an admin route without valid credentials. Carries a
    /// `WWW-Authenticate` challenge so a browser asks for them.
    #[error("Admin credentials are required.")]
    Unauthorized,
    /// 403 Forbidden: a request that credentials cannot make acceptable (a cross-site
    /// form posted to an admin route).
    #[error("{0}")]
    Forbidden(String),
    /// 404 Not Found: nothing lives at this address (an unknown slug, a page past the end).
    #[error("{0}")]
    NotFound(String),
    /// 409 Conflict: the request collided with a concurrent change (a slug taken in
    /// the meantime). Nothing was changed; trying again shows the new state.
    #[error("{0}")]
    Conflict(String),
    /// 413 Payload Too Large: a body over the route's limit; the message names the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 429 Too Many Requests: a client over its rate limit (comments). Carries
    /// `Retry-After`.
    #[error("too many requests")]
    TooManyRequests { retry_after: std::time::Duration },
    /// 415 Unsupported Media Type: a body in a format the route does not take.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422 Unprocessable Content: well-formed input that breaks a rule (an unknown tag,
    /// a date in the future). Nothing was changed.
    #[error("{0}")]
    Unprocessable(String),
    /// 503 Service Unavailable: a shared resource is taken (the lab runs one experiment
    /// at a time). Carries `Retry-After`.
    #[error("{0}")]
    Busy(String),
    /// 503 Service Unavailable: this server cannot offer what was asked, and waiting
    /// will not change that (the lab's one-transaction comparison where the database
    /// refuses to make it a database of its own). No `Retry-After`; the message says
    /// why and where to look instead.
    #[error("{0}")]
    NotOffered(String),
    /// 503 Service Unavailable: the database did not answer in time (down, restarting,
    /// or no connection free within `DATABASE_ACQUIRE_TIMEOUT`). Not a bug: the same
    /// request works once it is back. Carries `Retry-After`; the cause is logged.
    #[error(transparent)]
    DatabaseUnavailable(anyhow::Error),
    /// 502 Bad Gateway: a service the request waited for (the SMTP server, in the naive
    /// comment handler) failed. The cause is logged like a 500's.
    #[error(transparent)]
    MailUnavailable(anyhow::Error),
    /// 500 Internal Server Error: anything unexpected. The client gets a generic page;
    /// the cause is logged by [`log_server_errors`].
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(error).context("database query failed"))
    }
}

impl AppError {
    /// A copy of an error that several requests share (the waiters of one
    /// single-flight render all get its error): the same status and message; the
    /// cause, for a server error, as text.
    pub fn duplicate(&self) -> AppError {
        match self {
            AppError::BadRequest(message) => AppError::BadRequest(message.clone()),
            AppError::Unauthorized => AppError::Unauthorized,
            AppError::Forbidden(message) => AppError::Forbidden(message.clone()),
            AppError::NotFound(message) => AppError::NotFound(message.clone()),
            AppError::Conflict(message) => AppError::Conflict(message.clone()),
            AppError::PayloadTooLarge(message) => AppError::PayloadTooLarge(message.clone()),
            AppError::TooManyRequests { retry_after } => AppError::TooManyRequests {
                retry_after: *retry_after,
            },
            AppError::UnsupportedMediaType(message) => {
                AppError::UnsupportedMediaType(message.clone())
            }
            AppError::Unprocessable(message) => AppError::Unprocessable(message.clone()),
            AppError::Busy(message) => AppError::Busy(message.clone()),
            AppError::NotOffered(message) => AppError::NotOffered(message.clone()),
            AppError::DatabaseUnavailable(cause) => {
                AppError::DatabaseUnavailable(anyhow::anyhow!("{cause:#}"))
            }
            AppError::Internal(cause) if is_database_unavailable(cause) => {
                AppError::DatabaseUnavailable(anyhow::anyhow!("{cause:#}"))
            }
            AppError::MailUnavailable(cause) => {
                AppError::MailUnavailable(anyhow::anyhow!("{cause:#}"))
            }
            AppError::Internal(cause) => AppError::Internal(anyhow::anyhow!("{cause:#}")),
        }
    }
}

/// Whether `error` says the database could not be reached — rather than that a
/// statement was wrong: no connection within the acquire timeout, a connection that
/// broke, or a server shutting down or starting (SQLSTATE classes 08 and 57P).
pub fn is_database_unavailable(error: &anyhow::Error) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx_unavailable = |error: &Sqlx| match error {
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed => true,
        Sqlx::WorkerCrashed => true,
        Sqlx::Database(database) => database
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    };
    error.chain().any(|cause| {
        if let Some(db) = cause.downcast_ref::<DbErr>() {
            return match db {
                DbErr::ConnectionAcquire(_) => true,
                DbErr::Conn(RuntimeErr::SqlxError(sqlx))
                | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
                | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => sqlx_unavailable(sqlx),
                DbErr::Conn(_) => true,
                _ => false,
            };
        }
        cause.downcast_ref::<Sqlx>().is_some_and(sqlx_unavailable)
    })
}

/// How [`log_server_errors`] logs a failed response, put on it by [`AppError::decorate`]
/// with the cause, so the response itself never carries the cause to the client.
#[derive(Clone)]
enum Logged {
    /// A bug, or a service the request needed that failed: an error, with its cause.
    Error(Arc<anyhow::Error>),
    /// The database is not answering: a warning (the operator needs to know, but it is
    /// not a bug in this code, and the same request works once it is back).
    Outage(Arc<anyhow::Error>),
    /// A gate turned the request away: the gate doing its job, so at debug level only.
    Busy,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: StatusCode,
    message: &'a str,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::MailUnavailable(_) => StatusCode::BAD_GATEWAY,
            AppError::Busy(_) | AppError::NotOffered(_) | AppError::DatabaseUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client may read: the message for client errors, nothing internal.
    pub fn public_message(&self) -> &str {
        match self {
            AppError::BadRequest(message)
            | AppError::Forbidden(message)
            | AppError::NotFound(message)
            | AppError::Conflict(message)
            | AppError::Busy(message)
            | AppError::NotOffered(message)
            | AppError::PayloadTooLarge(message)
            | AppError::UnsupportedMediaType(message)
            | AppError::Unprocessable(message) => message,
            AppError::Unauthorized => {
                "Admin credentials are required: HTTP basic auth with the admin token as \
                 the password, or an `Authorization: Bearer <token>` header."
            }
            AppError::TooManyRequests { .. } => {
                "You are posting comments faster than this blog accepts them; \
                 the Retry-After header says when to try again."
            }
            AppError::DatabaseUnavailable(_) => {
                "The database is not answering right now. Nothing is wrong with your \
                 request: please try again in a few seconds."
            }
            AppError::MailUnavailable(_) => {
                "Your comment was saved, but the email to the post's author could not be \
                 sent: the mail server did not answer."
            }
            AppError::Internal(_) => {
                "Something went wrong on our side. It has been logged; please try again."
            }
        }
    }

    /// Moves what the response must carry besides the page: how [`log_server_errors`]
    /// logs it (with the cause of a 500), the challenge of a 401, the `Retry-After` of a
    /// 429 or 503.
    pub fn decorate(self, response: &mut Response) {
        match self {
            AppError::Internal(cause) | AppError::MailUnavailable(cause) => {
                response
                    .extensions_mut()
                    .insert(Logged::Error(Arc::new(cause)));
            }
            AppError::DatabaseUnavailable(cause) => {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("5"));
                response
                    .extensions_mut()
                    .insert(Logged::Outage(Arc::new(cause)));
            }
            AppError::Unauthorized => {
                response.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"perfblog admin\", charset=\"UTF-8\""),
                );
            }
            AppError::TooManyRequests { retry_after } => {
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from(seconds));
            }
            AppError::Busy(_) => {
                response
                    .headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("5"));
                response.extensions_mut().insert(Logged::Busy);
            }
            _ => {}
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // Wherever a database error surfaced (`?` on a query, or wrapped in context),
        // an unreachable database is a 503, not "our bug".
        let this = match self {
            AppError::Internal(cause) if is_database_unavailable(&cause) => {
                AppError::DatabaseUnavailable(cause)
            }
            other => other,
        };
        this.respond()
    }
}

impl AppError {
    fn respond(self) -> Response {
        let status = self.status();
        let message = self.public_message();
        let page = ErrorPage { status, message };
        let mut response = match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (
                status,
                [(CONTENT_TYPE, "text/plain; charset=utf-8")],
                message.to_owned(),
            )
                .into_response(),
        };
        self.decorate(&mut response);
        response
    }
}

/// Middleware: logs every failed response once, at the level its error chose — a 500
/// or 502 as an error with its cause, a database outage as a warning, a gate's 503 at
/// debug level — and a server error no error of the app's explains (the request
/// timeout's 503, `/healthz` without a database) as a warning. tower-http's trace layer
/// logs no failures of its own (`on_failure(())` in `startup::router`).
pub async fn log_server_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let status = response.status();
    match response.extensions().get::<Logged>() {
        Some(Logged::Error(cause)) => {
            let uri = loggable_uri(&uri);
            tracing::error!(%method, %uri, %status, error = ?cause, "request failed");
        }
        Some(Logged::Outage(cause)) => {
            let uri = loggable_uri(&uri);
            tracing::warn!(%method, %uri, error = %cause, "database unavailable");
        }
        Some(Logged::Busy) => {
            let uri = loggable_uri(&uri);
            tracing::debug!(%method, %uri, "turned away: busy");
        }
        None if status.is_server_error() => {
            let uri = loggable_uri(&uri);
            tracing::warn!(%method, %uri, %status, "server error without a cause recorded");
        }
        None => {}
    }
    response
}

/// The most of a request's address a log line carries: a URL can be as long as the
/// server takes a request head.
const MOST_URI_LOGGED: usize = 256;

/// `uri` as a log line carries it: cut to [`MOST_URI_LOGGED`] characters, saying how
/// long it was.
pub fn loggable_uri(uri: &axum::http::Uri) -> String {
    let uri = uri.to_string();
    match uri.char_indices().nth(MOST_URI_LOGGED) {
        Some((cut, _)) => format!("{}… ({} bytes)", &uri[..cut], uri.len()),
        None => uri,
    }
}

/// The fallback for addresses no route matches. A page asked for with a trailing slash
/// (`/posts/hello/`, `/lab/`) is sent to the address without it, its query kept.
pub async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    let trimmed = path.trim_end_matches('/');
    let reads = method == axum::http::Method::GET || method == axum::http::Method::HEAD;
    // Never `//host` or `/\host`: a browser reads either as another site.
    let same_site = trimmed.starts_with('/') && !trimmed[1..].starts_with(['/', '\\']);
    if reads && trimmed.len() < path.len() && same_site {
        let query = uri
            .query()
            .map(|query| format!("?{query}"))
            .unwrap_or_default();
        return axum::response::Redirect::permanent(&format!("{trimmed}{query}")).into_response();
    }
    AppError::NotFound("There is no page at this address.".to_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duplicate_keeps_the_status_and_the_message() {
        let retry_after = std::time::Duration::from_secs(7);
        for error in [
            AppError::BadRequest("bad".into()),
            AppError::Unauthorized,
            AppError::Forbidden("cross-site".into()),
            AppError::NotFound("gone".into()),
            AppError::Conflict("slug taken".into()),
            AppError::PayloadTooLarge("over 64 KB".into()),
            AppError::TooManyRequests { retry_after },
            AppError::UnsupportedMediaType("not JSON".into()),
            AppError::Unprocessable("unknown tag".into()),
            AppError::Busy("full".into()),
            AppError::DatabaseUnavailable(anyhow::anyhow!("pool timed out")),
            AppError::MailUnavailable(anyhow::anyhow!("SMTP refused")),
            AppError::Internal(anyhow::anyhow!("a bug")),
        ] {
            let copy = error.duplicate();
            assert_eq!(copy.status(), error.status(), "{error:?}");
            assert_eq!(copy.public_message(), error.public_message());
            assert_eq!(copy.to_string(), error.to_string());
        }
        let copy = AppError::TooManyRequests { retry_after }.duplicate();
        assert!(matches!(copy, AppError::TooManyRequests { retry_after: r } if r == retry_after));
    }
}
