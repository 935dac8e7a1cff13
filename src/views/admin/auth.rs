//! Who may use the admin routes: whoever presents the admin token, as the password of
//! HTTP basic auth (what a browser asks for) or as `Authorization: Bearer <token>`.
//! Applied as a layer over every admin route, before any body is read, so an
//! unauthenticated request changes nothing and costs nothing.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::base::config::AdminToken;
use crate::base::error::AppError;

/// Middleware: a 401 without the token, a 403 for a write from another site.
pub async fn require_admin(
    State(token): State<AdminToken>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    let presented = presented_token(request.headers()).ok_or(AppError::Unauthorized)?;
    if !token.matches(&presented) {
        return Err(AppError::Unauthorized);
    }
    refuse_cross_site_writes(request.method(), request.uri(), request.headers())?;
    Ok(next.run(request).await)
}

fn presented_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    // Schemes are case-insensitive (RFC 9110, 11.1): `bearer` is `Bearer`.
    let (scheme, credentials) = value.trim_start().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.trim().to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(credentials.trim()).ok()?;
    let (_user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some(password.to_owned())
}

/// A browser sends basic-auth credentials with any request to this site, including a
/// form another site submits (CSRF). Browsers say where a request comes from; a write
/// from another origin is refused even with valid credentials. The site's own host is
/// the `Host` header, or over HTTP/2 (which has none) the `:authority` in `uri`.
fn refuse_cross_site_writes(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), AppError> {
    if matches!(*method, Method::GET | Method::HEAD) {
        return Ok(());
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|site| site == "cross-site");
    let host = match headers.get(HOST) {
        Some(host) => host.to_str().ok(),
        None => uri.authority().map(Authority::as_str),
    };
    let foreign_origin = match (headers.get(ORIGIN), host) {
        (Some(origin), Some(host)) => {
            let origin = origin.to_str().unwrap_or("null");
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            origin_host != host
        }
        (Some(_), None) => true,
        (None, _) => false,
    };
    if cross_site || foreign_origin {
        return Err(AppError::Forbidden(
            "Admin actions are only accepted from perfblog's own pages.".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn reads_bearer_and_basic_credentials() {
        let bearer = headers(&[("authorization", "Bearer s3cret-token-0123456")]);
        assert_eq!(
            presented_token(&bearer).as_deref(),
            Some("s3cret-token-0123456")
        );
        // admin:open-sesame-12345
        let basic = headers(&[("authorization", "Basic YWRtaW46b3Blbi1zZXNhbWUtMTIzNDU=")]);
        assert_eq!(
            presented_token(&basic).as_deref(),
            Some("open-sesame-12345")
        );
        assert_eq!(
            presented_token(&headers(&[("authorization", "Basic !!!")])),
            None
        );
        assert_eq!(presented_token(&HeaderMap::new()), None);
    }

    #[test]
    fn refuses_writes_from_other_sites_only() {
        let same = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(
            refuse_cross_site_writes(&Method::POST, &Uri::from_static("/admin"), &same).is_ok()
        );
        let other = headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(
            refuse_cross_site_writes(&Method::POST, &Uri::from_static("/admin"), &other).is_err()
        );
        assert!(
            refuse_cross_site_writes(&Method::GET, &Uri::from_static("/admin"), &other).is_ok()
        );
        let fetch = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(
            refuse_cross_site_writes(&Method::POST, &Uri::from_static("/admin"), &fetch).is_err()
        );
        assert!(
            refuse_cross_site_writes(
                &Method::POST,
                &Uri::from_static("/admin"),
                &HeaderMap::new()
            )
            .is_ok()
        );
    }

    #[test]
    fn over_http2_the_origin_is_compared_with_the_authority() {
        let h2 = Uri::from_static("http://127.0.0.1:3000/admin/archive");
        let same = headers(&[("origin", "http://127.0.0.1:3000")]);
        assert!(refuse_cross_site_writes(&Method::POST, &h2, &same).is_ok());
        let other = headers(&[("origin", "https://evil.example")]);
        assert!(refuse_cross_site_writes(&Method::POST, &h2, &other).is_err());
    }
}
