//! SQL comments that lead back to the code, in the sqlcommenter format: every
//! statement the app sends ends with
//! `/*action='summarize',controller='views/post_list/naive',framework='axum',route='/naive/',variant='naive'*/`,
//! so what the database reports — `pg_stat_statements`, `pg_stat_activity`, the
//! slow-query log — names the route, the variant and the function that sent it.
//!
//! A request's part (framework, route, variant) is made once, when its scope opens;
//! the function's part is read from the loader's `tracing` span when the statement is
//! sent. Nothing in a comment varies per request (no ids, no slugs): the driver keeps
//! one prepared statement per distinct text, so each text must recur.
//! `SQL_COMMENTS=0` leaves statements as written. The app's own reports (the SQL panel,
//! the history, the detector) show statements without the comment.

use std::borrow::Cow;
use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::base::variant::Variant;

/// What sqlcommenter's reference implementations leave unescaped: RFC 3986's
/// unreserved characters and `/`, so a route reads as a route. `*` is escaped, so
/// no value can close the comment.
const KEPT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// How every comment the app writes starts, after the statement: how it is found
/// again to be taken off.
const OPENING: &str = " /*";

/// A request's tags, in sqlcommenter's key order:
/// `framework='axum',route='/posts/%7Bslug%7D',variant='optimized'`.
pub fn request_tags(route: &str, variant: Variant) -> Arc<str> {
    format!(
        "framework='axum',route='{}',variant='{variant}'",
        utf8_percent_encode(route, KEPT)
    )
    .into()
}

/// A background task's tags: its name stands where a request's route would.
pub fn task_tags(name: &str) -> Arc<str> {
    format!(
        "framework='axum',route='{}'",
        utf8_percent_encode(&format!("task:{name}"), KEPT)
    )
    .into()
}

/// The comment for a statement sent now from the function whose span is current
/// (`module`, `function`), under a scope's `tags`.
pub(super) fn comment(tags: &str, function: Option<(&str, &str)>) -> String {
    match function {
        Some((module, function)) => format!(
            "{OPENING}action='{}',controller='{}',{tags}*/",
            utf8_percent_encode(function, KEPT),
            utf8_percent_encode(&controller(module), KEPT),
        ),
        None => format!("{OPENING}{tags}*/"),
    }
}

/// `perfblog::views::post_list::naive` → `views/post_list/naive`.
fn controller(module: &str) -> String {
    let module = module.strip_prefix("perfblog::").unwrap_or(module);
    module.replace("::", "/")
}

/// `sql` with `comment` added where it keeps the statement one statement: before a
/// closing semicolon, if it has one. A statement that has a comment of its own is left
/// as written, as the format asks (a trailing `--` would swallow ours).
pub fn appended(sql: &str, comment: &str) -> String {
    if sql.contains("/*") || sql.contains("--") {
        return sql.to_owned();
    }
    let trimmed = sql.trim_end();
    let (body, closing) = match trimmed.strip_suffix(';') {
        Some(body) => (body.trim_end(), ";"),
        None => (trimmed, ""),
    };
    let mut commented = String::with_capacity(body.len() + comment.len() + closing.len());
    commented.push_str(body);
    commented.push_str(comment);
    commented.push_str(closing);
    commented
}

/// `sql` without the comment the app added, if it has one: what the app's own reports
/// show.
pub fn without(sql: &str) -> Cow<'_, str> {
    let (commented, closing) = match sql.strip_suffix(';') {
        Some(body) => (body, ";"),
        None => (sql, ""),
    };
    if !commented.ends_with("*/") {
        return Cow::Borrowed(sql);
    }
    match commented.rfind(OPENING) {
        Some(at)
            if commented[at + OPENING.len()..].starts_with("action='")
                || commented[at + OPENING.len()..].starts_with("framework='") =>
        {
            match closing {
                "" => Cow::Borrowed(&commented[..at]),
                _ => Cow::Owned(format!("{}{closing}", &commented[..at])),
            }
        }
        _ => Cow::Borrowed(sql),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_from_a_loader_names_its_function_module_route_and_variant_in_key_order() {
        let tags = request_tags("/naive/posts/{slug}", Variant::Naive);
        let sent = appended(
            r#"SELECT "id" FROM "posts" WHERE "slug" = $1"#,
            &comment(&tags, Some(("perfblog::views::post_detail::naive", "load"))),
        );
        assert_eq!(
            sent,
            r#"SELECT "id" FROM "posts" WHERE "slug" = $1 /*action='load',controller='views/post_detail/naive',framework='axum',route='/naive/posts/%7Bslug%7D',variant='naive'*/"#
        );
    }

    #[test]
    fn a_value_cannot_close_the_comment_or_its_quotes() {
        let tags = request_tags("/x*/; DROP TABLE posts; --'", Variant::Optimized);
        assert!(!tags.contains("*/"), "{tags}");
        assert_eq!(
            tags.matches('\'').count(),
            6,
            "three values, each quoted once: {tags}"
        );
    }

    #[test]
    fn a_closing_semicolon_stays_last_so_the_statement_stays_one() {
        assert_eq!(appended("SELECT 1;\n", " /*x*/"), "SELECT 1 /*x*/;");
    }

    #[test]
    fn a_statement_with_a_comment_of_its_own_is_left_as_written() {
        for own in ["SELECT 1 -- the first", "SELECT /* hint */ 1"] {
            assert_eq!(appended(own, " /*x*/"), own);
        }
    }

    #[test]
    fn the_apps_own_reports_see_the_statement_as_written() {
        let written = r#"SELECT "id" FROM "posts""#;
        let sent = appended(written, &comment(&task_tags("outbox"), None));
        assert_eq!(without(&sent), written);
        assert_eq!(without(written), written);
        let users_own = "SELECT 1 /* a note */";
        assert_eq!(without(users_own), users_own);
        let closed = appended("SELECT 1;", &comment(&task_tags("outbox"), None));
        assert_eq!(without(&closed), "SELECT 1;");
    }
}
