//! Static files with fingerprinted names: `/static/style.<hash>.css`, cached by
//! browsers and proxies for a year without asking again (`immutable`). A changed
//! stylesheet has a new name, so nobody keeps an old one. The file is compiled into
//! the binary: the app runs from any directory and from a bare container image.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;
use crate::state::AppState;

const STYLESHEET: &str = include_str!("../../static/style.css");

static STYLESHEET_FILE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "style.{:016x}.css",
        xxhash_rust::xxh3::xxh3_64(STYLESHEET.as_bytes())
    )
});

static STYLESHEET_PATH: LazyLock<String> =
    LazyLock::new(|| format!("/static/{}", *STYLESHEET_FILE));

/// Where pages link the stylesheet from.
pub fn stylesheet_path() -> &'static str {
    &STYLESHEET_PATH
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/static/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Response {
    if file != *STYLESHEET_FILE {
        return AppError::NotFound("There is no such file.".to_owned()).into_response();
    }
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLESHEET,
    )
        .into_response()
}
