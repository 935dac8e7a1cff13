//! The inputs strangers send, as proptest strategies: text with the characters that
//! break parsers, numbers written every way, query strings, form bodies, import rows
//! — arbitrary, near-valid and valid.

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use perfblog::views::admin::import::{ImportRow, ImportStatus};
use proptest::prelude::*;

/// Text as strangers type it: mostly ordinary, with the characters that break naive
/// parsers mixed in — NUL and other control characters, line breaks, form and URL
/// syntax, multi-byte letters (one of which, `İ`, grows when lowercased), emoji.
pub fn text(max_chars: usize) -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just('\0'),
        Just('\r'),
        Just('\n'),
        Just('\t'),
        Just('\u{7f}'),
        Just('%'),
        Just('&'),
        Just('='),
        Just('+'),
        Just('"'),
        Just('<'),
        Just('İ'),
        Just('é'),
        Just('😀'),
        Just('\u{200b}'),
    ];
    let c = prop_oneof![
        6 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('0', '9'),
        2 => Just(' '),
        2 => Just('-'),
        3 => tricky,
        1 => any::<char>(),
    ];
    proptest::collection::vec(c, 0..=max_chars).prop_map(|chars| chars.into_iter().collect())
}

/// Numbers as strangers write them: huge, negative, signed, padded, fractional.
pub fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        any::<u32>().prop_map(|n| format!(" {n} ")),
        any::<u32>().prop_map(|n| format!("+{n}")),
        any::<f64>().prop_map(|n| n.to_string()),
        "[0-9]{0,40}",
        "[０-９]{1,3}",
        text(12),
    ]
}

/// Bytes a stranger sent, shown as text (lossily) when a case fails.
#[derive(Clone)]
pub struct Raw(pub Vec<u8>);

impl Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// `%XX` for every byte: any bytes, UTF-8 or not, as a URL can carry them.
pub fn percent_encoded(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// Query strings a list page may be sent: `page` and `after`, once, twice, both,
/// with arbitrary values (as text, and as raw bytes).
pub fn list_query() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        number_text()
            .prop_map(|v| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(|b| percent_encoded(&b)),
        "[A-Za-z0-9_-]{0,30}",
    ];
    let pair = (
        prop_oneof![Just("page"), Just("after"), Just("x"), Just("")],
        value,
    )
        .prop_map(|(key, value)| format!("{key}={value}"));
    proptest::collection::vec(pair, 0..4).prop_map(|pairs| pairs.join("&"))
}

/// Comment form bodies: arbitrary bytes, and the three fields URL-encoded, sometimes
/// missing or repeated.
pub fn comment_body() -> impl Strategy<Value = Raw> {
    let field = |name: &'static str| {
        text(40).prop_map(move |value| {
            let value: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            format!("{name}={value}")
        })
    };
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => proptest::collection::vec(
            prop_oneof![field("name"), field("email"), field("body"), field("other")],
            0..5
        )
        .prop_map(|fields| fields.join("&").into_bytes()),
        1 => (field("name"), field("email"), field("body"))
            .prop_map(|(n, e, b)| format!("{n}&{e}&{b}").into_bytes()),
        // A real name and address, so the body reaches the database.
        3 => field("body")
            .prop_map(|b| format!("name=Ada&email=ada%40example.com&{b}").into_bytes()),
    ]
    .prop_map(Raw)
}

/// Import bodies: arbitrary bytes, near-valid rows, and rows the export could write.
pub fn import_body() -> impl Strategy<Value = Raw> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        near_valid_rows().prop_map(String::into_bytes),
        proptest::collection::vec(import_row(), 0..4)
            .prop_map(|rows| serde_json::to_vec(&rows).unwrap_or_default()),
    ]
    .prop_map(Raw)
}

/// Email addresses near the edge: plain, unicode, very long, with line breaks.
pub fn email() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z]{1,10}", "[a-z]{1,10}").prop_map(|(user, host)| format!("{user}@{host}.example")),
        (text(20), "[a-z]{1,10}").prop_map(|(user, host)| format!("{user}@{host}.example")),
        (1..130usize).prop_map(|n| format!("{}@example.com", "İ".repeat(n))),
        (200..260usize).prop_map(|n| format!("{}@example.com", "a".repeat(n))),
        text(30),
    ]
}

/// A JSON array body as one row per line (NDJSON).
pub fn to_lines(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Vec<serde_json::Value>>(body) {
        Ok(rows) => rows
            .iter()
            .flat_map(|row| {
                let mut line = row.to_string().into_bytes();
                line.push(b'\n');
                line
            })
            .collect(),
        Err(_) => body.to_vec(),
    }
}

/// Instants an export can hold: year 0000 to 9999.
pub fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (-62_167_219_200i64..=253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(seconds, nanos)| DateTime::from_timestamp(seconds, nanos).unwrap_or_default())
}

/// Any row the export could write.
pub fn import_row() -> impl Strategy<Value = ImportRow> {
    (
        (
            text(30),
            proptest::option::of(text(10)),
            proptest::option::of(text(10)),
            text(30),
        ),
        (text(20), proptest::collection::vec(text(8), 0..3)),
        (
            prop_oneof![
                Just(ImportStatus::Draft),
                Just(ImportStatus::Published),
                Just(ImportStatus::Archived)
            ],
            proptest::option::of(instant()),
        ),
    )
        .prop_map(
            |((title, slug, excerpt, body), (author_email, tags), (status, published_at))| {
                ImportRow {
                    title,
                    slug,
                    excerpt,
                    body,
                    author_email,
                    tags,
                    status,
                    published_at,
                }
            },
        )
}

/// JSON arrays of rows that are almost right: each field sometimes missing, of the
/// wrong type, empty, huge, out of range, or joined by a field that does not exist.
pub fn near_valid_rows() -> impl Strategy<Value = String> {
    let string = || {
        prop_oneof![
            text(30).prop_map(serde_json::Value::from),
            text(10).prop_map(|t| serde_json::Value::from(t.repeat(300))),
            any::<i64>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            Just(serde_json::json!([])),
        ]
    };
    let published_at = prop_oneof![
        instant().prop_map(|at| serde_json::Value::from(at.to_rfc3339())),
        Just(serde_json::Value::from("+275760-09-13T00:00:00Z")),
        Just(serde_json::Value::from("-0001-01-01T00:00:00Z")),
        Just(serde_json::Value::from("2025-02-30T00:00:00Z")),
        any::<i64>().prop_map(serde_json::Value::from),
        text(25).prop_map(serde_json::Value::from),
    ];
    let status = prop_oneof![
        Just("draft"),
        Just("published"),
        Just("archived"),
        Just("Published"),
        Just(""),
        Just("deleted"),
    ];
    let tags = prop_oneof![
        proptest::collection::vec(text(12), 0..4).prop_map(serde_json::Value::from),
        proptest::collection::vec("[a-z]{1,5}", 11..14).prop_map(serde_json::Value::from),
        string(),
    ];
    let row = (
        (string(), string(), string(), string(), string()),
        (tags, status, published_at),
        proptest::collection::vec(any::<bool>(), 9),
    )
        .prop_map(
            |((title, slug, excerpt, body, email), (tags, status, published_at), keep)| {
                let fields = [
                    ("title", title),
                    ("slug", slug),
                    ("excerpt", excerpt),
                    ("body", body),
                    ("author_email", email),
                    ("tags", tags),
                    ("status", serde_json::Value::from(status)),
                    ("published_at", published_at),
                    ("tag", serde_json::Value::from("typo")),
                ];
                // The required fields are mostly present, the typo mostly absent.
                let object: serde_json::Map<String, serde_json::Value> = fields
                    .into_iter()
                    .zip(keep)
                    .filter(|((name, _), keep)| {
                        if *name == "tag" {
                            !*keep
                        } else {
                            *keep || matches!(*name, "title" | "body" | "author_email")
                        }
                    })
                    .map(|((name, value), _)| (name.to_owned(), value))
                    .collect();
                serde_json::Value::Object(object)
            },
        );
    proptest::collection::vec(row, 0..4).prop_map(|rows| serde_json::Value::from(rows).to_string())
}
