//! Static files with fingerprinted names: `/static/style.<hash>.css` (see
//! `stylesheet`), cached by browsers and proxies for a year without asking again
//! (`immutable`). The file is compiled into the binary: the app runs from any
//! directory and from a bare container image.

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;
use crate::stylesheet;

pub fn routes() -> Router {
    Router::new().route("/static/{file}", get(serve))
}

async fn serve(Path(file): Path<String>) -> Response {
    if file != stylesheet::file_name() {
        return AppError::NotFound("There is no such file.".to_owned()).into_response();
    }
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        stylesheet::CSS,
    )
        .into_response()
}
