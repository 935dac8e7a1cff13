//! Property tests of what strangers send: every parser of outside input, fed arbitrary
//! and near-valid input, never panics; what it refuses comes back as an error with a
//! message a person can act on, answered with a 4xx; what it accepts round-trips (and
//! can be stored). One property does the same over HTTP against a running app, on
//! either backend: never a 5xx (`http.rs`). `inputs.rs` makes the inputs.
//!
//! Each property here runs [`DEFAULT_CASES`] cases (the HTTP one fewer), so the whole
//! suite takes seconds in a debug build; `PROPTEST_CASES=10000` raises every one of
//! them (see [`config`]). A failing case is shrunk to a minimal input and saved under
//! `tests/proptest-regressions/`, replayed first on the next run (the HTTP property
//! prints its failing request instead).

mod http;
mod inputs;

use std::fmt::Debug;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, Request};
use chrono::DateTime;
use perfblog::base::error::AppError;
use perfblog::base::slug::{MAX_SLUG_LEN, Slug, slugify};
use perfblog::views::admin::import::validate::check_shapes;
use perfblog::views::admin::import::{ImportRow, parse};
use perfblog::views::comments::{CommentForm, MAX_COMMENT_CHARS, NewComment};
use perfblog::views::cursor::Cursor;
use perfblog::views::form::FormInput;
use perfblog::views::pagination::{PageNumber, Position};
use proptest::prelude::*;
use proptest::test_runner::Config;

use inputs::{
    Raw, comment_body, email, import_body, import_row, list_query, number_text, text, to_lines,
};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 512;

/// `cases`, or `PROPTEST_CASES` when it is set: proptest reads that variable only into
/// its default configuration, which an explicit case count would override.
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(cases);
    Config {
        cases,
        ..Config::default()
    }
}

/// A rejection as a client sees it: a 4xx with something to read.
fn assert_client_error(error: &AppError, input: &impl Debug) -> Result<(), TestCaseError> {
    prop_assert!(
        error.status().is_client_error(),
        "{:?} for {input:?}: {error:?}",
        error.status()
    );
    prop_assert!(
        !error.public_message().trim().is_empty(),
        "no message for {input:?}"
    );
    Ok(())
}

/// A parser's own error (the ones that return a `String`, mapped to a 400 or 422 by
/// their extractor): a sentence, not too long to read.
fn assert_message(message: &str, input: &impl Debug) -> Result<(), TestCaseError> {
    prop_assert!(!message.trim().is_empty(), "no message for {input:?}");
    prop_assert!(message.chars().count() < 300, "{message}");
    Ok(())
}

proptest! {
    #![proptest_config(config(DEFAULT_CASES))]

    // ---- slugs (`views::slug`) ----

    #[test]
    fn any_text_is_a_valid_slug_or_refused_with_the_rule(raw in text(260)) {
        match Slug::parse(&raw) {
            Ok(slug) => {
                prop_assert_eq!(slug.as_str(), raw.as_str());
                prop_assert!(!raw.is_empty() && raw.len() <= MAX_SLUG_LEN);
                prop_assert!(raw
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
            Err(message) => {
                assert_message(&message, &raw)?;
                prop_assert!(message.contains("lowercase letters, digits and hyphens"));
            }
        }
    }

    #[test]
    fn a_valid_slug_parses_to_itself(raw in "[a-z0-9-]{1,200}") {
        let slug = Slug::parse(&raw);
        prop_assert_eq!(slug.as_ref().map(Slug::as_str), Ok(raw.as_str()));
    }

    #[test]
    fn a_slug_made_by_slugify_is_its_own_slug(raw in "[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,8}") {
        prop_assert_eq!(slugify(&raw), raw.clone());
        prop_assert!(Slug::parse(&raw).is_ok());
    }

    #[test]
    fn slugify_makes_a_valid_slug_or_nothing_and_is_stable(title in text(200)) {
        let slug = slugify(&title);
        prop_assert_eq!(slugify(&slug), slug.clone(), "slugify(slugify(t)) = slugify(t)");
        if !slug.is_empty() {
            let parsed = Slug::parse(&slug).map(|s| s.as_str().to_owned());
            prop_assert_eq!(parsed, Ok(slug.clone()));
        }
    }

    // ---- page numbers (`views::pagination`) ----

    #[test]
    fn any_page_text_is_a_page_from_one_or_refused_with_a_message(raw in number_text()) {
        match PageNumber::parse(&raw) {
            Ok(page) => {
                prop_assert!(page.get() >= 1);
                prop_assert_eq!(PageNumber::parse(&page.to_string()), Ok(page));
            }
            Err(message) => {
                assert_message(&message, &raw)?;
                prop_assert!(message.contains("whole number from 1"), "{}", message);
            }
        }
    }

    #[test]
    fn every_page_number_round_trips_and_has_a_neighbour(n in 1..=u32::MAX) {
        let page = PageNumber::parse(&n.to_string()).map_err(TestCaseError::fail)?;
        prop_assert_eq!(page.get(), n);
        prop_assert!(page.next() >= page, "next never overflows");
        let previous = n.checked_sub(1).filter(|p| *p > 0);
        prop_assert_eq!(page.previous().map(PageNumber::get), previous);
    }

    #[test]
    fn any_list_query_string_is_a_position_or_a_4xx(query in list_query()) {
        let request = Request::builder()
            .uri(format!("/?{query}"))
            .body(())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (mut parts, ()) = request.into_parts();
        let position = block_on(Position::from_request_parts(&mut parts, &()));
        if let Err(error) = position {
            assert_client_error(&error, &query)?;
        }
    }

    // ---- the keyset cursor (`views::cursor`) ----

    #[test]
    fn any_text_is_a_cursor_or_refused_with_a_message(
        raw in prop_oneof![text(40), "[A-Za-z0-9_-]{0,30}"],
    ) {
        if let Err(message) = Cursor::parse(&raw) {
            assert_message(&message, &raw)?;
            prop_assert!(message.contains("Older posts"), "{}", message);
        }
    }

    #[test]
    fn a_cursor_names_the_same_position_after_the_trip_through_a_link(
        nanos in any::<i64>(),
        id in any::<i32>(),
    ) {
        let cursor = Cursor { published_at: DateTime::from_timestamp_nanos(nanos), id };
        let text = cursor.to_string();
        prop_assert!(text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        prop_assert_eq!(Cursor::parse(&text), Ok(cursor));
    }

    #[test]
    fn a_cursor_with_one_character_changed_is_refused(
        nanos in any::<i64>(),
        id in any::<i32>(),
        at in any::<proptest::sample::Index>(),
        by in "[A-Za-z0-9_-]",
    ) {
        let text = Cursor { published_at: DateTime::from_timestamp_nanos(nanos), id }.to_string();
        let at = at.index(text.len());
        prop_assume!(&text[at..=at] != by.as_str());
        let changed = format!("{}{by}{}", &text[..at], &text[at + 1..]);
        prop_assert!(Cursor::parse(&changed).is_err(), "{} accepted", changed);
    }

    // ---- the comment form (`views::form`, `views::comments`) ----

    #[test]
    fn any_comment_form_body_is_a_form_or_a_4xx(body in comment_body()) {
        let request = Request::builder()
            .method("POST")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.0.clone()))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        match block_on(FormInput::<CommentForm>::from_request(request, &())) {
            Ok(FormInput(form)) => {
                if let Err(message) = NewComment::parse(form) {
                    assert_message(&message, &body)?;
                }
            }
            Err(error) => assert_client_error(&error, &body)?,
        }
    }

    #[test]
    fn a_comment_is_accepted_in_its_limits_or_refused_with_a_message(
        name in prop_oneof![text(12), text(130)],
        email in email(),
        body in prop_oneof![text(60), text(40).prop_map(|t| t.repeat(150))],
    ) {
        let form = CommentForm { name: name.clone(), email: email.clone(), body: body.clone() };
        match NewComment::parse(form) {
            Ok(comment) => {
                prop_assert!(!comment.name.is_empty() && comment.name.chars().count() <= 100);
                prop_assert!(!comment.name.chars().any(char::is_control));
                let body_chars = comment.body.chars().count();
                prop_assert!(!comment.body.is_empty() && body_chars <= MAX_COMMENT_CHARS);
                prop_assert!(comment.email.chars().count() <= 254);
                prop_assert!(perfblog::services::mail::is_address(&comment.email), "{:?}", comment.email);
                // PostgreSQL's text cannot hold NUL: what is accepted must be storable.
                for field in [&comment.name, &comment.email, &comment.body] {
                    prop_assert!(!field.contains('\0'), "accepted a NUL: {:?}", field);
                }
                let again = NewComment::parse(CommentForm {
                    name: comment.name.clone(),
                    email: comment.email.clone(),
                    body: comment.body.clone(),
                });
                prop_assert_eq!(again, Ok(comment), "a stored comment parses to itself");
            }
            Err(message) => assert_message(&message, &(name, email, body))?,
        }
    }

    // ---- the import's rows (`views::import`) ----

    #[test]
    fn any_import_body_is_rows_or_a_4xx(body in import_body(), ndjson in any::<bool>()) {
        let body = if ndjson { Raw(to_lines(&body.0)) } else { body };
        match parse(&import_headers(ndjson), &body.0) {
            Ok(rows) => match check_shapes(&rows) {
                Ok(slugs) => {
                    for (row, slug) in rows.iter().zip(slugs) {
                        prop_assert!(Slug::parse(&slug).is_ok(), "{}", slug);
                        assert_storable(row)?;
                    }
                }
                Err(error) => {
                    assert_client_error(&error, &body)?;
                    let message = error.public_message();
                    prop_assert!(message.contains("row "), "{}", message);
                }
            },
            Err(error) => assert_client_error(&error, &body)?,
        }
    }

    #[test]
    fn an_exported_row_imports_as_itself_as_json_and_as_ndjson(
        rows in proptest::collection::vec(import_row(), 1..4),
    ) {
        let array = serde_json::to_vec(&rows).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed = parse(&import_headers(false), &array);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&rows), "{:?}", parsed.as_ref().err());
        let mut lines = Vec::new();
        for row in &rows {
            let line = serde_json::to_vec(row).map_err(|e| TestCaseError::fail(e.to_string()))?;
            lines.extend(line);
            lines.push(b'\n');
        }
        let parsed = parse(&import_headers(true), &lines);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&rows), "{:?}", parsed.as_ref().err());
    }
}

/// What the import accepts can be inserted on either backend and paged through: no
/// NUL (PostgreSQL's text refuses it), and a publication time a cursor can name.
fn assert_storable(row: &ImportRow) -> Result<(), TestCaseError> {
    let texts = [
        Some(&row.title),
        row.excerpt.as_ref(),
        Some(&row.body),
        Some(&row.author_email),
    ];
    for text in texts.into_iter().flatten().chain(&row.tags) {
        prop_assert!(!text.contains('\0'), "accepted a NUL: {:?}", row);
    }
    if let Some(at) = row.published_at {
        let cursor = Cursor {
            published_at: at,
            id: 1,
        };
        prop_assert_eq!(
            Cursor::parse(&cursor.to_string()),
            Ok(cursor),
            "no cursor can name {:?}",
            at
        );
    }
    Ok(())
}

/// The headers of an import sent as a JSON array or as NDJSON.
fn import_headers(ndjson: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let media_type = if ndjson {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers
}

/// Runs an extractor's future (none of them waits on anything but the request).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}
