//! The HTTP layer: conditional GET, compression, size and rate limits, headers.

use perfblog::base::config::CommentRate;

use crate::comments::post_comment;
use crate::helpers::{
    CapturedLogs, SMALL, TestApp, TestOptions, above_footer, spawn_app, spawn_app_with,
};

async fn etag(app: &TestApp, path: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.headers()["etag"]
        .to_str()
        .expect("ASCII")
        .to_owned()
}

async fn get_if_none_match(app: &TestApp, path: &str, etag: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn a_page_that_did_not_change_is_a_304_with_no_body() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    for path in [
        "/".to_owned(),
        "/naive/".to_owned(),
        format!("/posts/{}", post.slug),
    ] {
        let first = etag(&app, &path).await;
        assert!(first.starts_with("W/\""), "{first}");
        assert_eq!(
            etag(&app, &path).await,
            first,
            "{path}: the footer and view count do not count"
        );

        let response = get_if_none_match(&app, &path, &first).await;
        assert_eq!(response.status(), 304, "{path}");
        assert_eq!(response.headers()["etag"], first.as_str());
        assert!(response.bytes().await.expect("body").is_empty());

        let stale = get_if_none_match(&app, &path, "W/\"0000000000000000\"").await;
        assert_eq!(stale.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn a_new_comment_changes_the_etag_of_the_pages_it_affects() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let post_page = format!("/posts/{}", post.slug);
    let before = (etag(&app, "/").await, etag(&app, &post_page).await);

    let response = app
        .client
        .post(format!("{}/posts/{}/comments", app.address, post.slug))
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("body", "Changes things."),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 303);

    let after = (etag(&app, "/").await, etag(&app, &post_page).await);
    assert_ne!(before.0, after.0, "the list shows a new comment count");
    assert_ne!(before.1, after.1, "the post page shows the comment");
    assert_eq!(
        get_if_none_match(&app, &post_page, &before.1)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn pages_and_css_are_compressed_as_the_client_asks_and_tiny_bodies_are_not() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let page = app.get_page("/").await.body;
    let start = page.find("/static/style.").expect("a stylesheet link");
    let css = &page[start..start + page[start..].find('"').expect("closing quote")];

    for (path, accept, expected) in [
        ("/", "gzip", Some("gzip")),
        ("/", "br", Some("br")),
        ("/", "br;q=0.5, gzip;q=1.0", Some("gzip")),
        // Rendered per request (the naive twin), for a browser: zstd, the cheapest to
        // compress on the fly of the three it accepts.
        ("/naive/", "gzip, deflate, br, zstd", Some("zstd")),
        ("/naive/", "gzip, deflate, br", Some("br")),
        ("/naive/", "zstd;q=0.5, identity", None),
        ("/", "identity", None),
        (css, "gzip", Some("gzip")),
        ("/posts/no-such-post", "gzip", None),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .header("accept-encoding", accept)
            .send()
            .await
            .expect("answered");
        let encoding = response
            .headers()
            .get("content-encoding")
            .map(|value| value.to_str().expect("ASCII").to_owned());
        assert_eq!(encoding.as_deref(), expected, "{path} with {accept}");
    }
}

/// A page rendered per request is compressed whole, in one call: a browser gets zstd
/// with its length known (no chunks), which decodes to the page a client without
/// compression gets (above the footer, whose timings differ from request to request).
#[tokio::test]
async fn a_rendered_page_goes_to_a_browser_in_zstd_whole_with_its_length() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let fetch = |accept: &'static str| {
        app.client
            .get(format!("{}/naive/", app.address))
            .header("accept-encoding", accept)
            .send()
    };

    let zstd = fetch("gzip, deflate, br, zstd").await.expect("answered");
    assert_eq!(zstd.status(), 200);
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header(&zstd, "content-encoding").as_deref(), Some("zstd"));
    assert_eq!(header(&zstd, "vary").as_deref(), Some("accept-encoding"));
    let zstd_etag = header(&zstd, "etag").expect("an ETag");
    let length = zstd.content_length().expect("a Content-Length");
    let compressed = zstd.bytes().await.expect("a body");
    assert_eq!(compressed.len() as u64, length);
    let decoded = zstd::stream::decode_all(&compressed[..]).expect("a zstd frame");
    let identity = fetch("identity").await.expect("answered");
    assert_ne!(header(&identity, "etag"), Some(zstd_etag.clone()));
    let identity = identity.text().await.expect("a page");
    assert_eq!(
        above_footer(&String::from_utf8(decoded).expect("UTF-8")),
        above_footer(&identity)
    );

    let revalidated = app
        .client
        .get(format!("{}/naive/", app.address))
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .header("if-none-match", &zstd_etag)
        .send()
        .await
        .expect("answered");
    assert_eq!(revalidated.status(), 304);
}

#[tokio::test]
async fn an_oversized_comment_form_is_a_413_with_a_message() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = app.first_published().await;
    let huge = "x".repeat(100 * 1024);

    let response = app
        .client
        .post(format!("{}/posts/{}/comments", app.address, post.slug))
        .form(&[
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("body", huge.as_str()),
        ])
        .send()
        .await
        .expect("answered");

    assert_eq!(response.status(), 413);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("larger than this page accepts")
    );
}

/// Five at once, then one every six seconds.
fn five_then_ten_a_minute() -> TestOptions {
    TestOptions {
        comment_rate: CommentRate {
            per_minute: std::num::NonZeroU32::new(10).expect("non-zero"),
            burst: std::num::NonZeroU32::new(5).expect("non-zero"),
            ..CommentRate::default()
        },
        ..TestOptions::default()
    }
}

/// Posts `count` comments from one address, taking turns among `apps`: how many were
/// accepted, and every status seen.
async fn comments_accepted(apps: &[&TestApp], slug: &str, count: usize) -> (usize, Vec<u16>) {
    let mut statuses = Vec::new();
    for turn in 0..count {
        let app = apps[turn % apps.len()];
        let page = post_comment(app, &format!("/posts/{slug}/comments"), "Once more").await;
        statuses.push(page.status);
    }
    (
        statuses.iter().filter(|status| **status == 303).count(),
        statuses,
    )
}

#[tokio::test]
async fn with_redis_two_replicas_share_one_comment_limit() {
    let app = spawn_app_with(five_then_ten_a_minute()).await;
    if app.cache_settings == perfblog::base::config::CacheSettings::Memory {
        eprintln!("skipped: the replicas share the limit through Redis (TEST_REDIS_URL)");
        return;
    }
    let replica = app.spawn_replica_with(five_then_ten_a_minute()).await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;

    let (accepted, statuses) = comments_accepted(&[&app, &replica], &slug, 12).await;
    assert_eq!(accepted, 5, "one burst across both: {statuses:?}");
    assert!(
        statuses.iter().all(|status| matches!(status, 303 | 429)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn with_redis_down_each_process_still_limits_comments_on_its_own() {
    let unreachable = perfblog::base::config::CacheSettings::Redis {
        url: "redis://127.0.0.1:1".to_owned(),
        namespace: "perfblog-test-down".to_owned(),
    };
    let app = spawn_app_with(TestOptions {
        cache: Some(unreachable),
        ..five_then_ten_a_minute()
    })
    .await;
    app.seed(SMALL).await;
    let slug = app.first_published().await.slug;
    let logs = CapturedLogs::default();
    let _capturing = logs.install();

    let (accepted, statuses) = comments_accepted(&[&app], &slug, 8).await;
    assert_eq!(accepted, 5, "the process's own burst: {statuses:?}");
    assert_eq!(
        logs.count("Redis is unreachable: each process limits comments on its own"),
        1,
        "warned once for the outage, not once per comment"
    );
}

#[tokio::test]
async fn too_many_comments_from_one_address_are_429s_with_retry_after() {
    let two_then_one_a_minute = CommentRate {
        per_minute: std::num::NonZeroU32::new(1).expect("non-zero"),
        burst: std::num::NonZeroU32::new(2).expect("non-zero"),
        ..CommentRate::default()
    };
    let app = spawn_app_with(TestOptions {
        comment_rate: two_then_one_a_minute,
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    let mut statuses = Vec::new();
    let mut last = None;
    for path in [
        format!("/posts/{}/comments", post.slug),
        format!("/naive/posts/{}/comments", post.slug),
        format!("/posts/{}/comments", post.slug),
    ] {
        let response = app
            .client
            .post(format!("{}{path}", app.address))
            .form(&[
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("body", "Again and again"),
            ])
            .send()
            .await
            .expect("answered");
        statuses.push(response.status().as_u16());
        last = Some(response);
    }

    assert_eq!(statuses, [303, 303, 429]);
    let refused = last.expect("a response");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(refused.text().await.expect("text").contains("Retry-After"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_a_client_written_forwarded_for_does_not_escape_the_limit() {
    let behind_nginx = CommentRate {
        per_minute: std::num::NonZeroU32::new(1).expect("non-zero"),
        burst: std::num::NonZeroU32::new(5).expect("non-zero"),
        trusted_proxies: 1,
        ..CommentRate::default()
    };
    let app = spawn_app_with(TestOptions {
        comment_rate: behind_nginx,
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let post = app.first_published().await;

    let mut statuses = Vec::new();
    for i in 0..12 {
        // What nginx's `$proxy_add_x_forwarded_for` sends: the client's own header,
        // then the address nginx saw (always the same client here).
        let response = app
            .client
            .post(format!("{}/posts/{}/comments", app.address, post.slug))
            .header("x-forwarded-for", format!("198.51.100.{i}, 203.0.113.7"))
            .form(&[
                ("name", "Mallory"),
                ("email", "mallory@example.com"),
                ("body", "A new address every time"),
            ])
            .send()
            .await
            .expect("answered");
        statuses.push(response.status().as_u16());
    }

    assert_eq!(statuses[..5], [303; 5], "the burst is allowed");
    assert_eq!(statuses[5..], [429; 7], "then the one client is limited");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for path in ["/", "/naive/", "/no/such/page", "/healthz"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().expect("ASCII");
        assert!(
            csp.contains("script-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            headers["referrer-policy"], "strict-origin-when-cross-origin",
            "{path}"
        );
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
}

/// Reads from `stream` until the server closes it; `None` if it is still open after
/// `patience`.
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    patience: std::time::Duration,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut received = Vec::new();
    let reading = async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(patience, reading).await.ok()?;
    Some(received)
}

/// A raw connection to `app`, to send it exactly the bytes a test wants.
async fn connect(app: &crate::helpers::TestApp) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connects")
}

fn short_header_timeout() -> TestOptions {
    TestOptions {
        connections: perfblog::base::config::ConnectionTimeouts {
            header_read: std::time::Duration::from_millis(300),
            ..perfblog::base::config::ConnectionTimeouts::default()
        },
        ..TestOptions::default()
    }
}

#[tokio::test]
async fn a_request_with_two_host_headers_is_a_400() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: blog.test\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let answer = read_until_closed(&mut stream, std::time::Duration::from_secs(5))
        .await
        .expect("answered and closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("2 Host headers"), "{answer}");
}

#[tokio::test]
async fn connections_that_send_nothing_or_only_an_http2_preface_are_closed_at_the_same_timeout() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(short_header_timeout()).await;
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
    const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    for sent in [
        &b""[..],
        &PREFACE[..10],
        PREFACE,
        &[PREFACE, SETTINGS].concat(),
    ] {
        let mut silent = Vec::new();
        for _ in 0..10 {
            let mut stream = connect(&app).await;
            stream.write_all(sent).await.expect("sent");
            silent.push(stream);
        }
        for stream in &mut silent {
            let closed = read_until_closed(stream, std::time::Duration::from_secs(5)).await;
            assert!(
                closed.is_some(),
                "after {} bytes, still open 5 s after a 0.3 s timeout",
                sent.len()
            );
        }
    }
}

/// The frames in `bytes` a server sent on an HTTP/2 connection: (type, stream).
fn http2_frames(mut bytes: &[u8]) -> Vec<(u8, u32)> {
    let mut frames = Vec::new();
    while bytes.len() >= 9 {
        let length =
            usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff;
        frames.push((bytes[3], stream));
        bytes = &bytes[(9 + length).min(bytes.len())..];
    }
    frames
}

#[tokio::test]
async fn an_http2_connection_idle_after_its_requests_is_sent_goaway_and_closed_at_the_same_timeout()
{
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(short_header_timeout()).await;
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    // GET /healthz on stream 1, headers in HPACK without Huffman: :method GET and
    // :scheme http from the static table, :path and :authority as literals.
    let mut block = vec![0x82, 0x86, 0x04, 8];
    block.extend_from_slice(b"/healthz");
    block.extend_from_slice(&[0x01, 9]);
    block.extend_from_slice(b"blog.test");
    let length = u8::try_from(block.len()).expect("a short block");
    // HEADERS (type 1) with END_STREAM and END_HEADERS (0x5), stream 1.
    let mut headers = vec![0, 0, length, 1, 0x5, 0, 0, 0, 1];
    headers.extend_from_slice(&block);
    let mut stream = connect(&app).await;
    stream
        .write_all(&[PREFACE, SETTINGS, &headers].concat())
        .await
        .expect("a request is sent");
    let received = read_until_closed(&mut stream, std::time::Duration::from_secs(5))
        .await
        .expect("closed 5 s after a 0.3 s timeout");
    let frames = http2_frames(&received);
    assert!(frames.contains(&(1, 1)), "answered first: {frames:?}");
    assert!(
        frames.contains(&(7, 0)),
        "a GOAWAY before closing: {frames:?}"
    );
}

#[tokio::test]
async fn a_connection_past_the_limit_is_answered_503_and_closed() {
    let app = spawn_app_with(TestOptions {
        connections: perfblog::base::config::ConnectionTimeouts {
            header_read: std::time::Duration::from_secs(2),
            most_open: 2,
        },
        ..TestOptions::default()
    })
    .await;
    let _held = (connect(&app).await, connect(&app).await);
    let mut third = connect(&app).await;
    let answer = read_until_closed(&mut third, std::time::Duration::from_secs(5))
        .await
        .expect("closed at once");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("Retry-After: 5\r\n"), "{answer}");
    assert!(answer.ends_with("try again in a moment."), "{answer}");
}

#[tokio::test]
async fn a_connection_that_stops_mid_header_is_closed_after_the_header_read_timeout() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(short_header_timeout()).await;
    let mut stream = connect(&app).await;

    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: blog.test\r\nAccept: text/ht")
        .await
        .expect("half a header is sent");

    let closed = read_until_closed(&mut stream, std::time::Duration::from_secs(5)).await;
    assert!(
        closed.is_some(),
        "still open 5 s after a 0.3 s header timeout"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_same_timeout() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(short_header_timeout()).await;
    let mut stream = connect(&app).await;

    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: blog.test\r\n\r\n")
        .await
        .expect("a whole request is sent");

    let received = read_until_closed(&mut stream, std::time::Duration::from_secs(5))
        .await
        .expect("closed once idle past the timeout");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "answered first: {text}");
}
