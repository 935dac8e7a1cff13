//! The values a statement was sent with, as the lab shows them under its SQL: what
//! `$1` or `?` stood for on this run. A reader's own data never goes on the page —
//! an email address keeps its domain only — and a post's body or a thousand-id `IN`
//! list is cut short, saying how much was left out.

use sea_orm::Value;
use sea_orm::sea_query::{PostgresQueryBuilder, QueryBuilder};

/// Values shown before the rest are counted instead.
const MOST_VALUES: usize = 8;

/// Characters of a text value shown before it is cut.
const MOST_CHARS: usize = 40;

/// `values` one after another, as SQL literals (`42`, `'draft'`, `NULL`); empty when
/// the statement had none.
pub fn shown(values: &[Value]) -> String {
    let mut parts: Vec<String> = values.iter().take(MOST_VALUES).map(literal).collect();
    if values.len() > MOST_VALUES {
        parts.push(format!("… {} more", values.len() - MOST_VALUES));
    }
    parts.join(", ")
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(Some(text)) => quoted(&text_shown(text)),
        // Every backend's literal reads the same for numbers, booleans and times; the
        // PostgreSQL builder writes them without a connection.
        other => PostgresQueryBuilder.value_to_string(other),
    }
}

/// `text` with an email address's local part hidden and anything long cut.
fn text_shown(text: &str) -> String {
    if let Some((_, domain)) = text.split_once('@')
        && !text.contains(char::is_whitespace)
        && domain.contains('.')
    {
        return format!("…@{domain}");
    }
    let chars = text.chars().count();
    if chars <= MOST_CHARS {
        return text.to_owned();
    }
    let head: String = text.chars().take(MOST_CHARS).collect();
    format!("{head}… ({chars} characters)")
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_texts_and_nulls_read_as_sql_literals() {
        let values = [
            Value::Int(Some(42)),
            Value::String(Some("it's a draft".into())),
            Value::Int(None),
            Value::Bool(Some(true)),
        ];
        assert_eq!(shown(&values), "42, 'it''s a draft', NULL, TRUE");
    }

    #[test]
    fn an_email_address_keeps_only_its_domain() {
        let values = [Value::String(Some("ada.lovelace@example.com".into()))];
        assert_eq!(shown(&values), "'…@example.com'");
    }

    #[test]
    fn a_long_text_is_cut_and_says_how_long_it_was() {
        let body = "word ".repeat(100);
        let shown = shown(&[Value::String(Some(body))]);
        assert!(shown.starts_with("'word word"), "{shown}");
        assert!(shown.ends_with("… (500 characters)'"), "{shown}");
    }

    #[test]
    fn a_long_list_shows_its_first_values_and_counts_the_rest() {
        let ids: Vec<Value> = (1..=1000).map(|id| Value::Int(Some(id))).collect();
        assert_eq!(shown(&ids), "1, 2, 3, 4, 5, 6, 7, 8, … 992 more");
        assert_eq!(shown(&[]), "");
    }
}
