//! SQL as a reader wants it: one clause a line (the sqlformat crate), and without the
//! quotes SeaORM puts around every identifier where dropping them changes nothing.

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

/// `sql` with redundant identifier quotes dropped and broken at each clause.
pub fn readable(sql: &str) -> String {
    let options = FormatOptions {
        indent: Indent::Spaces(2),
        uppercase: Some(true),
        max_inline_arguments: Some(60),
        max_inline_block: 60,
        ..FormatOptions::default()
    };
    joined_placeholder_lists(&sqlformat::format(
        &unquoted(sql),
        &QueryParams::None,
        &options,
    ))
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
