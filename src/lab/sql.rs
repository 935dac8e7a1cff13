//! SQL as a reader wants it: one clause a line (the sqlformat crate), and without the
//! quotes SeaORM puts around every identifier where dropping them changes nothing —
//! and otherwise as it was sent: the formatter only moves whitespace, and where it
//! would change a token (a string literal's spacing, an identifier's case) the
//! statement is shown unformatted.

use sqlformat::{FormatOptions, Indent, QueryParams};

/// Words that must stay quoted as identifiers (reserved in PostgreSQL or SQLite, or
/// names of functions a reader would misread). Conservative: a word not in this list
/// but reserved elsewhere only keeps its quotes if it is not lowercase.
const RESERVED: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "delete",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "full",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "natural",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "set",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "window",
    "with",
];

/// `sql` with redundant identifier quotes dropped and broken at each clause; its
/// tokens as sent, or the statement on one line if formatting would change one.
pub fn readable(sql: &str) -> String {
    let options = FormatOptions {
        indent: Indent::Spaces(2),
        // Keep each word's case: SeaORM writes keywords in capitals already, and
        // upper-casing every word the formatter knows turns a column `status` into
        // `STATUS`.
        uppercase: None,
        max_inline_arguments: Some(60),
        max_inline_block: 60,
        ..FormatOptions::default()
    };
    let sent = unquoted(sql);
    // The formatter reads a backslash in a literal as an escape (`'\'` never ends), so
    // it never sees the literals: each stands in as a word until it is put back.
    let (masked, literals) = masked_literals(&sent);
    let formatted = sqlformat::format(&masked, &QueryParams::None, &options);
    let formatted = joined_placeholder_lists(&restored(&formatted, &literals));
    if tokens(&formatted) == tokens(&sent) {
        formatted
    } else {
        sent
    }
}

/// `sql` with each string literal replaced by `__literal_{n}__`, and the literals.
fn masked_literals(sql: &str) -> (String, Vec<&str>) {
    let mut masked = String::with_capacity(sql.len());
    let mut literals = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find('\'') {
        masked.push_str(&rest[..at]);
        let len = literal_len(&rest[at..]);
        masked.push_str(&format!("__literal_{}__", literals.len()));
        literals.push(&rest[at..at + len]);
        rest = &rest[at + len..];
    }
    masked.push_str(rest);
    (masked, literals)
}

/// `formatted` with the literals [`masked_literals`] took out put back.
fn restored(formatted: &str, literals: &[&str]) -> String {
    let mut out = formatted.to_owned();
    for (n, literal) in literals.iter().enumerate() {
        out = out.replacen(&format!("__literal_{n}__"), literal, 1);
    }
    out
}

/// The length of the string literal `text` starts with, its quotes included; a doubled
/// quote inside it is part of it.
fn literal_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut end = 1;
    while end < bytes.len() {
        if bytes[end] == b'\'' {
            if bytes.get(end + 1) == Some(&b'\'') {
                end += 2;
                continue;
            }
            return end + 1;
        }
        end += 1;
    }
    text.len()
}

/// The tokens of `sql`, whitespace aside: each string literal whole (`'\'`, `' a '`),
/// each run of word characters, each other character.
fn tokens(sql: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut rest = sql.trim_start();
    while let Some(first) = rest.chars().next() {
        let len = if first == '\'' {
            literal_len(rest)
        } else if first.is_alphanumeric() || first == '_' || first == '$' {
            rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len())
        } else {
            first.len_utf8()
        };
        tokens.push(&rest[..len]);
        rest = rest[len..].trim_start();
    }
    tokens
}

/// The formatter gives each item of a long list a line; a list of placeholders
/// (`IN ($1, …, $20)`) reads better on one: the lines that hold nothing but a
/// placeholder are joined, at the first one's indentation.
fn joined_placeholder_lists(formatted: &str) -> String {
    let is_placeholder = |line: &str| {
        let item = line.trim().trim_end_matches(',');
        item == "?"
            || item
                .strip_prefix('$')
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    let mut out: Vec<String> = Vec::new();
    let mut joining = false;
    for line in formatted.lines() {
        if is_placeholder(line) {
            match out.last_mut() {
                Some(last) if joining => {
                    last.push(' ');
                    last.push_str(line.trim());
                }
                _ => out.push(line.to_owned()),
            }
            joining = true;
        } else {
            out.push(line.to_owned());
            joining = false;
        }
    }
    out.join("\n")
}

/// Drops the double quotes around identifiers that are plain lowercase words and not
/// reserved; leaves string literals ('…') untouched.
pub fn unquoted(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(['"', '\'']) {
        out.push_str(&rest[..at]);
        let quote = rest.as_bytes()[at] as char;
        let after = &rest[at + 1..];
        let Some(close) = after.find(quote) else {
            out.push_str(&rest[at..]);
            return out;
        };
        let inner = &after[..close];
        if quote == '"' && plain(inner) {
            out.push_str(inner);
        } else {
            out.push(quote);
            out.push_str(inner);
            out.push(quote);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn plain(identifier: &str) -> bool {
    let mut chars = identifier.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&identifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers_lose_their_quotes_and_nothing_else_changes() {
        assert_eq!(
            unquoted(
                r#"SELECT "posts"."id", "user"."Name" FROM "posts" WHERE "title" = 'a "b"' AND "order" = $1"#
            ),
            r#"SELECT posts.id, "user"."Name" FROM posts WHERE title = 'a "b"' AND "order" = $1"#
        );
    }

    #[test]
    fn a_list_of_placeholders_stays_on_one_line() {
        let list: Vec<String> = (1..=20).map(|n| format!("${n}")).collect();
        let sql = readable(&format!(
            r#"SELECT "id" FROM "tags" WHERE "post_id" IN ({}) ORDER BY "name""#,
            list.join(", ")
        ));
        assert!(sql.contains(&list.join(", ")), "{sql}");
        assert!(sql.lines().count() < 12, "{sql}");
    }

    #[test]
    fn formatting_only_moves_whitespace_string_literals_and_names_stay_as_sent() {
        let sent = r#"SELECT "posts"."id", "posts"."status" FROM "posts" WHERE "posts"."title" LIKE $1 ESCAPE '\' AND "posts"."status" = 'published' AND "posts"."slug" <> ' two  spaces ' ORDER BY "posts"."id" DESC LIMIT $2"#;
        let shown = readable(sent);
        assert_eq!(tokens(&shown), tokens(&unquoted(sent)), "{shown}");
        assert!(shown.contains(r"ESCAPE '\'"), "{shown}");
        assert!(shown.contains("posts.status"), "{shown}");
        assert!(shown.contains("' two  spaces '"), "{shown}");
        assert!(shown.lines().count() > 3, "still formatted: {shown}");
    }

    #[test]
    fn tokens_keep_literals_whole_and_ignore_whitespace() {
        assert_eq!(
            tokens("SELECT a.b,c FROM t WHERE x = 'it''s  so' AND y IN ($1, $2)"),
            [
                "SELECT",
                "a",
                ".",
                "b",
                ",",
                "c",
                "FROM",
                "t",
                "WHERE",
                "x",
                "=",
                "'it''s  so'",
                "AND",
                "y",
                "IN",
                "(",
                "$1",
                ",",
                "$2",
                ")"
            ]
        );
    }

    #[test]
    fn each_clause_starts_a_line() {
        let sql = readable(
            r#"SELECT "posts"."id", "posts"."title" FROM "posts" WHERE "posts"."status" = $1 ORDER BY "posts"."published_at" DESC LIMIT $2"#,
        );
        let lines: Vec<&str> = sql.lines().map(str::trim).collect();
        assert!(lines.iter().any(|l| l.starts_with("FROM")), "{sql}");
        assert!(lines.iter().any(|l| l.starts_with("WHERE")), "{sql}");
        assert!(lines.iter().any(|l| l.starts_with("ORDER BY")), "{sql}");
        assert!(!sql.contains('"'), "{sql}");
    }
}
