//! A statement's shape: its SQL with the values it was run with left out, so the 20
//! statements of an N+1 loop — one per post, each with its own id — are one shape.
//!
//! SeaORM binds values as placeholders (`$1` on PostgreSQL, `?` on SQLite), so the SQL
//! already leaves them out; what still differs between two runs of one query is the
//! length of its lists: `IN ($1, $2, $3)` for a page of three, `IN ($1, …, $20)` for
//! twenty, and multi-row `VALUES (…), (…)`. A shape folds every parenthesised list of
//! placeholders to `(…)` and every run of such lists to one, then numbers what
//! placeholders remain from `$1` again — or, for a backend that writes `?` (SQLite), writes
//! each as `?`, so a shape in a header reads like the statement the lab shows as sent.
//! Numbers written into the SQL (the counters' hand-built `WHERE id = 42`) count as
//! values too, or each run of one loop would be a shape of its own.

use std::fmt::Write as _;

use sea_orm::DbBackend;

/// The shape of `sql`: placeholder lists folded, placeholders renumbered `$1`, `$2`, …
pub fn of(sql: &str) -> String {
    shaped(sql, false)
}

/// The shape of a statement `backend` sent, its placeholders written as that backend
/// writes them: `$1` on PostgreSQL, `?` on SQLite.
pub fn of_sent(sql: &str, backend: DbBackend) -> String {
    shaped(sql, backend != DbBackend::Postgres)
}

fn shaped(sql: &str, question_marks: bool) -> String {
    let mut shape = String::with_capacity(sql.len());
    let mut placeholders = 0u32;
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match byte {
            // Quoted identifiers and string literals are copied whole: a `$1` or `(`
            // inside them is text, not syntax.
            b'"' | b'\'' | b'`' => {
                let end = closing_quote(bytes, i);
                shape.push_str(&sql[i..end]);
                i = end;
            }
            b'(' => {
                if let Some(mut end) = placeholder_list_end(bytes, i) {
                    // `VALUES (…), (…), (…)`: one list stands for all of them.
                    while let Some(next) = next_list_after_comma(bytes, end) {
                        end = next;
                    }
                    shape.push_str("(…)");
                    i = end;
                } else {
                    shape.push('(');
                    i += 1;
                }
            }
            _ => {
                if let Some(end) = placeholder_end(bytes, i) {
                    placeholders += 1;
                    if question_marks {
                        shape.push('?');
                    } else {
                        // Into the string itself: no allocation per placeholder.
                        let _ = write!(shape, "${placeholders}");
                    }
                    i = end;
                } else {
                    let len = utf8_len(byte);
                    let end = (i + len).min(bytes.len());
                    shape.push_str(&sql[i..end]);
                    i = end;
                }
            }
        }
    }
    shape
}

/// The index just past the quote that closes the one at `start` (a doubled quote is
/// an escaped one), or the end of the text.
fn closing_quote(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    bytes.len()
}

/// If a value starts at `i` — a placeholder (`$12`, `?`) or a number written into the
/// SQL (`42`, `1.5`, which some statements build by hand: `WHERE id IN (3, 8)`) — the
/// index just past it. A digit inside a name (`t1`, `$1`'s own) starts nothing.
fn placeholder_end(bytes: &[u8], i: usize) -> Option<usize> {
    let digits_from = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    match bytes[i] {
        b'?' => Some(i + 1),
        b'$' => {
            let digits = digits_from(i + 1);
            (digits > 0).then_some(i + 1 + digits)
        }
        b'0'..=b'9' => {
            let in_a_name = i > 0
                && (bytes[i - 1].is_ascii_alphanumeric()
                    || matches!(bytes[i - 1], b'_' | b'$' | b'.'));
            if in_a_name {
                return None;
            }
            let mut end = i + digits_from(i);
            if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                end += 1 + digits_from(end + 1);
            }
            Some(end)
        }
        _ => None,
    }
}

/// If `(placeholder, placeholder, …)` starts at `open`, the index just past its `)`.
fn placeholder_list_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        i = skip_spaces(bytes, i);
        if i >= bytes.len() {
            return None;
        }
        i = placeholder_end(bytes, i)?;
        i = skip_spaces(bytes, i);
        match bytes.get(i)? {
            b',' => i += 1,
            b')' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// If `, (placeholder, …)` follows `end`, the index just past that list.
fn next_list_after_comma(bytes: &[u8], end: usize) -> Option<usize> {
    let i = skip_spaces(bytes, end);
    if bytes.get(i) != Some(&b',') {
        return None;
    }
    let i = skip_spaces(bytes, i + 1);
    if bytes.get(i) != Some(&b'(') {
        return None;
    }
    placeholder_list_end(bytes, i)
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// How many bytes the UTF-8 character starting with `first` takes.
fn utf8_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

/// A shape as a header or a footer shows it: each `SELECT`'s column list elided
/// (`SELECT … FROM "users" …`) unless it counts, then cut to `max_chars`.
pub fn brief(shape: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(shape.len());
    let mut rest = shape;
    while let Some(at) = rest.find("SELECT ") {
        let list_start = at + "SELECT ".len();
        out.push_str(&rest[..list_start]);
        let after = &rest[list_start..];
        match top_level_from(after) {
            Some(from) if !after[..from].contains("COUNT(") => {
                out.push('…');
                rest = &after[from..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    shortened(&out, max_chars)
}

/// Where ` FROM ` starts in `text` outside any parentheses.
fn top_level_from(text: &str) -> Option<usize> {
    let mut depth = 0i32;
    let bytes = text.as_bytes();
    for (i, byte) in bytes.iter().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b' ' if depth == 0 && text[i..].starts_with(" FROM ") => return Some(i),
            _ => {}
        }
    }
    None
}

/// A shape cut to `max_chars` for a header or a log line: the start (what it selects)
/// and the end (what it filters on) kept, the middle elided.
pub fn shortened(shape: &str, max_chars: usize) -> String {
    let count = shape.chars().count();
    if count <= max_chars {
        return shape.to_owned();
    }
    let head = max_chars * 2 / 5;
    let tail = max_chars.saturating_sub(head + 3);
    let start: String = shape.chars().take(head).collect();
    let end: String = shape.chars().skip(count - tail).collect();
    // Cut between words: a head that would end inside a word ends before it, a tail
    // that would start inside one starts after it.
    let cut_inside = |before: Option<char>, after: Option<char>| {
        before.is_some_and(|c| !c.is_whitespace()) && after.is_some_and(|c| !c.is_whitespace())
    };
    let start = if cut_inside(start.chars().last(), shape.chars().nth(head)) {
        start
            .rfind(char::is_whitespace)
            .map_or("", |at| &start[..at])
    } else {
        start.as_str()
    };
    let end = if cut_inside(shape.chars().nth(count - tail - 1), end.chars().next()) {
        end.find(char::is_whitespace).map_or("", |at| &end[at..])
    } else {
        end.as_str()
    };
    format!("{} … {}", start.trim_end(), end.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortened_shape_is_cut_between_words() {
        let shape = r#"SELECT "posts"."id", "posts"."title" FROM "posts" WHERE "posts"."status" = $1 ORDER BY "posts"."published_at" DESC, "posts"."id" DESC LIMIT $2"#;
        for max_chars in 20..shape.len() {
            let short = shortened(shape, max_chars);
            let words: Vec<&str> = shape.split_whitespace().collect();
            for word in short.split_whitespace().filter(|w| *w != "…") {
                assert!(words.contains(&word), "{max_chars}: `{word}` in {short}");
            }
        }
    }

    #[test]
    fn a_lookup_by_id_keeps_its_one_placeholder() {
        assert_eq!(
            of(r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 LIMIT $2"#),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."id" = $1 LIMIT $2"#
        );
    }

    #[test]
    fn in_lists_of_any_length_fold_to_one_shape_on_both_backends() {
        let postgres = of(r#"SELECT * FROM "tags" WHERE "post_id" IN ($1, $2, $3) AND "x" = $4"#);
        let sqlite = of(r#"SELECT * FROM "tags" WHERE "post_id" IN (?, ?, ?, ?, ?) AND "x" = ?"#);
        assert_eq!(
            postgres,
            r#"SELECT * FROM "tags" WHERE "post_id" IN (…) AND "x" = $1"#
        );
        assert_eq!(postgres, sqlite);
    }

    #[test]
    fn a_shape_sent_to_sqlite_keeps_its_question_marks() {
        let sql = r#"SELECT * FROM "tags" WHERE "post_id" IN (?, ?, ?) AND "x" = ? LIMIT 20"#;
        assert_eq!(
            of_sent(sql, DbBackend::Sqlite),
            r#"SELECT * FROM "tags" WHERE "post_id" IN (…) AND "x" = ? LIMIT ?"#
        );
        let sql = r#"SELECT * FROM "tags" WHERE "x" = $1 LIMIT $2"#;
        assert_eq!(of_sent(sql, DbBackend::Postgres), sql);
    }

    #[test]
    fn multi_row_values_fold_to_one_row() {
        assert_eq!(
            of(r#"INSERT INTO "post_tags" ("a", "b") VALUES ($1, $2), ($3, $4), ($5, $6)"#),
            r#"INSERT INTO "post_tags" ("a", "b") VALUES (…)"#
        );
    }

    #[test]
    fn placeholders_inside_quotes_are_text() {
        assert_eq!(
            of(r#"SELECT '$1 (?)' AS "a?" "#),
            r#"SELECT '$1 (?)' AS "a?" "#
        );
        assert_eq!(of("SELECT 'it''s', ?"), "SELECT 'it''s', $1");
    }

    #[test]
    fn lists_with_anything_but_values_are_left_alone() {
        let sql =
            r#"SELECT COUNT(*) FROM "comments" WHERE ("post_id" = ?) AND COALESCE("a", 0) > 1"#;
        assert_eq!(
            of(sql),
            r#"SELECT COUNT(*) FROM "comments" WHERE ("post_id" = $1) AND COALESCE("a", $2) > $3"#
        );
    }

    #[test]
    fn numbers_written_into_the_sql_are_values_and_names_keep_their_digits() {
        assert_eq!(
            of("UPDATE posts SET n = n + 1 WHERE id = 42"),
            of("UPDATE posts SET n = n + 1 WHERE id = 7")
        );
        assert_eq!(
            of("UPDATE t1 SET a = 1.5 WHERE id IN (3, 8, 12)"),
            "UPDATE t1 SET a = $1 WHERE id IN (…)"
        );
        assert_eq!(
            of("SELECT x FROM t WHERE id IN (5)"),
            of("SELECT x FROM t WHERE id IN (5, 6)")
        );
    }

    #[test]
    fn non_ascii_text_survives() {
        assert_eq!(
            of("SELECT 'café' WHERE a = ?"),
            "SELECT 'café' WHERE a = $1"
        );
        assert_eq!(of("SELECT é, ?"), "SELECT é, $1");
    }

    #[test]
    fn a_brief_shape_elides_column_lists_but_not_counts() {
        assert_eq!(
            brief(
                r#"SELECT "users"."id", "users"."name" FROM "users" WHERE "id" = $1"#,
                200
            ),
            r#"SELECT … FROM "users" WHERE "id" = $1"#
        );
        assert_eq!(
            brief(
                r#"SELECT COUNT(*) AS n FROM (SELECT "a", "b" FROM "comments" WHERE "post_id" = $1) AS "q""#,
                200
            ),
            r#"SELECT COUNT(*) AS n FROM (SELECT … FROM "comments" WHERE "post_id" = $1) AS "q""#
        );
        assert_eq!(
            brief("UPDATE \"posts\" SET a = $1", 200),
            "UPDATE \"posts\" SET a = $1"
        );
    }

    #[test]
    fn a_long_shape_keeps_its_head_and_its_filter() {
        let shape = format!(
            "SELECT {} FROM \"users\" WHERE \"id\" = $1",
            "x, ".repeat(60)
        );
        let short = shortened(&shape, 80);
        // 80, give or take the spaces trimmed on either side of the " … ".
        assert!(short.chars().count() <= 82, "{short}");
        assert!(short.starts_with("SELECT x, x"));
        assert!(short.ends_with("WHERE \"id\" = $1"));
        assert_eq!(shortened("SELECT 1", 80), "SELECT 1");
    }
}
