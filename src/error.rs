//! The application's one error type, and how each variant becomes a response.
//!
//! Turning an error into a response has no side effects; [`log_server_errors`] is the
//! one place where failures are logged, so the client never sees internals and the
//! operator always does.

use std::sync::Arc;

use askama::Template;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400 Bad Request: the request itself is malformed (a `?page=` that is not a page
    /// number). The message tells the client what to send instead.
    #[error("{0}")]
    BadRequest(String),
    /// 404 Not Found: nothing lives at this address (an unknown slug, a page past the end).
    #[error("{0}")]
    NotFound(String),
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

/// Carries an internal error's cause from the response to the logging middleware.
#[derive(Clone)]
struct ServerErrorCause(Arc<anyhow::Error>);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: StatusCode,
    message: &'a str,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.as_str()),
            AppError::NotFound(message) => (StatusCode::NOT_FOUND, message.as_str()),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side. It has been logged; please try again.",
            ),
        };
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
        if let AppError::Internal(cause) = self {
            response
                .extensions_mut()
                .insert(ServerErrorCause(Arc::new(cause)));
        }
        response
    }
}

/// Middleware: logs the cause of every 500 with the request it answered.
pub async fn log_server_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    if let Some(ServerErrorCause(cause)) = response.extensions().get::<ServerErrorCause>() {
        tracing::error!(%method, %uri, error = ?cause, "request failed");
    }
    response
}

/// The fallback for addresses no route matches.
pub async fn not_found() -> AppError {
    AppError::NotFound("There is no page at this address.".to_owned())
}
