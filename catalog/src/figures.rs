//! Figures in prose. A measured figure is never typed: the text holds a placeholder,
//! `<!-- fig eager-loading/entries@20:postgres:speedup -->12.8×<!-- /fig -->`, which the
//! bench report fills from `docs/benchmarks.json`; tables sit between
//! `<!-- name:start -->` and `<!-- name:end -->`, generated whole. [`hand_typed`] finds
//! what slipped past both.

use crate::report::{self, Report};

const FIG_OPEN: &str = "<!-- fig ";
const FIG_CLOSE: &str = "<!-- /fig -->";

/// What a placeholder names: one value of one figure of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FigureKey {
    pub pattern: String,
    pub measure: String,
    /// `None` for measures without sizes.
    pub size: Option<String>,
    /// `postgres` or `sqlite`.
    pub backend: String,
    pub value: Value,
}

/// Which value of a figure a placeholder shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Naive,
    Optimized,
    Speedup,
}

impl std::str::FromStr for FigureKey {
    type Err = String;

    /// `{pattern}/{measure}[@{size}]:{backend}:{naive|optimized|speedup}`.
    fn from_str(key: &str) -> Result<Self, String> {
        let bad = || format!("`{key}` is not `pattern/measure[@size]:backend:value`");
        let mut parts = key.split(':');
        let (Some(what), Some(backend), Some(value), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let (pattern, measure) = what.split_once('/').ok_or_else(bad)?;
        let (measure, size) = match measure.split_once('@') {
            Some((measure, size)) => (measure, Some(size.to_owned())),
            None => (measure, None),
        };
        let value = match value {
            "naive" => Value::Naive,
            "optimized" => Value::Optimized,
            "speedup" => Value::Speedup,
            _ => return Err(bad()),
        };
        if !report::BACKENDS.iter().any(|(name, _)| *name == backend) {
            return Err(format!("`{key}`: the backend is `postgres` or `sqlite`"));
        }
        Ok(FigureKey {
            pattern: pattern.to_owned(),
            measure: measure.to_owned(),
            size,
            backend: backend.to_owned(),
            value,
        })
    }
}

impl Report {
    /// The value `key` names, written as the report writes it; `None` when the report
    /// has no such figure.
    pub fn value(&self, key: &FigureKey) -> Option<String> {
        let size = key.size.as_deref().unwrap_or("");
        let figure = self
            .of(&key.pattern, &key.measure)
            .find(|figure| figure.size == size && figure.backend_key() == key.backend)?;
        Some(match key.value {
            Value::Naive => report::duration(figure.naive_ns),
            Value::Optimized => report::duration(figure.optimized_ns),
            Value::Speedup => report::speedup(figure.speedup()),
        })
    }
}

/// `text` with every placeholder's value written from `report`; the keys the report
/// has no figure for (or that do not parse) are the error.
pub fn fill(text: &str, report: &Report) -> Result<String, Vec<String>> {
    let mut filled = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(FIG_OPEN) {
        let after_open = &rest[at + FIG_OPEN.len()..];
        let Some((key, after_key)) = after_open.split_once(" -->") else {
            problems.push("a `<!-- fig` placeholder is not closed with ` -->`".to_owned());
            break;
        };
        let Some(end) = after_key.find(FIG_CLOSE) else {
            problems.push(format!("`{key}` has no `{FIG_CLOSE}`"));
            break;
        };
        filled.push_str(&rest[..at]);
        let value = key.parse::<FigureKey>().and_then(|parsed| {
            report
                .value(&parsed)
                .ok_or(format!("no figure for `{key}`"))
        });
        let value = value.unwrap_or_else(|problem| {
            problems.push(problem);
            after_key[..end].to_owned()
        });
        filled.push_str(&format!("{FIG_OPEN}{key} -->{value}{FIG_CLOSE}"));
        rest = &after_key[end + FIG_CLOSE.len()..];
    }
    filled.push_str(rest);
    if problems.is_empty() {
        Ok(filled)
    } else {
        Err(problems)
    }
}

/// `text` with the region between `<!-- {name}:start -->` and `<!-- {name}:end -->`
/// replaced by `body`; `None` when there is no such region.
pub fn replace_region(text: &str, name: &str, body: &str) -> Option<String> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let from = text.find(&start)? + start.len();
    let to = from + text[from..].find(&end)?;
    Some(format!("{}\n{body}{}", &text[..from], &text[to..]))
}

/// `text` as a reader types it: generated regions, placeholders, fenced code blocks
/// and code spans taken out (what they hold is generated, or quoted verbatim).
pub fn typed_prose(text: &str) -> String {
    let mut prose = String::with_capacity(text.len());
    let mut generated = false;
    let mut fenced = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if trimmed.starts_with("<!-- ") && trimmed.ends_with(":start -->") {
            generated = true;
        } else if trimmed.starts_with("<!-- ") && trimmed.ends_with(":end -->") {
            generated = false;
        } else if !generated && !fenced {
            prose.push_str(&without_placeholders_and_code(line));
            prose.push('\n');
        }
    }
    prose
}

fn without_placeholders_and_code(line: &str) -> String {
    let mut kept = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(FIG_OPEN) {
        kept.push_str(&rest[..at]);
        match rest[at..].find(FIG_CLOSE) {
            Some(end) => rest = &rest[at + end + FIG_CLOSE.len()..],
            None => rest = "",
        }
    }
    kept.push_str(rest);
    kept.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// Units that make a number a measurement: a ratio, a time, a size, a rate.
const UNITS: [&str; 17] = [
    "×", "ns", "µs", "us", "ms", "s", "min", "minutes", "seconds", "B", "KB", "kB", "MB", "GB",
    "KiB", "MiB", "GiB",
];

/// Every number with a unit of measurement in `prose` (run it through [`typed_prose`]
/// first), as written: `12.8×`, `5.83 ms`, `3,171 req/s`, `1.4 %`. A percentage counts
/// only with a decimal point (`90 %` of posts published is the dataset's recipe).
pub fn hand_typed(prose: &str) -> Vec<String> {
    let chars: Vec<char> = prose.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts_number = chars[i].is_ascii_digit()
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'));
        if !starts_number {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',') {
            i += 1;
        }
        let number: String = chars[start..i].iter().collect();
        let number = number.trim_end_matches(['.', ',']);
        let mut j = i;
        while j < chars.len() && (chars[j] == ' ' || chars[j] == '\u{a0}') && j < i + 2 {
            j += 1;
        }
        let word: String = chars[j..]
            .iter()
            .take_while(|c| c.is_alphabetic() || **c == '×' || **c == '/' || **c == '%')
            .collect();
        let gap: String = chars[i..j].iter().collect();
        let measured = UNITS.contains(&word.as_str())
            || word.starts_with('×')
            || word.ends_with("/s")
            || (word == "%" && number.contains('.'));
        if measured {
            found.push(format!("{number}{gap}{word}"));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Figure;

    fn report() -> Report {
        Report {
            measured: "2026-11-27".into(),
            machine: "2 cores".into(),
            figures: vec![Figure {
                pattern: "eager-loading".into(),
                measure: "entries".into(),
                size: "20".into(),
                backend: "PostgreSQL".into(),
                naive_ns: 5_830_000.0,
                optimized_ns: 453_800.0,
            }],
        }
    }

    #[test]
    fn a_placeholder_is_filled_from_the_report_whatever_it_held() {
        let text = "gains <!-- fig eager-loading/entries@20:postgres:speedup -->9×<!-- /fig --> \
                    (<!-- fig eager-loading/entries@20:postgres:naive -->?<!-- /fig -->)";
        let filled = fill(text, &report()).unwrap();
        assert!(
            filled.contains(":speedup -->12.8×<!-- /fig -->"),
            "{filled}"
        );
        assert!(
            filled.contains(":naive -->5.83 ms<!-- /fig -->)"),
            "{filled}"
        );
    }

    #[test]
    fn a_placeholder_the_report_cannot_fill_is_an_error_naming_it() {
        let text = "<!-- fig eager-loading/entries@50:sqlite:speedup -->1×<!-- /fig -->";
        let problems = fill(text, &report()).unwrap_err();
        assert_eq!(
            problems,
            ["no figure for `eager-loading/entries@50:sqlite:speedup`"]
        );
        assert!(
            "eager-loading/entries:mysql:naive"
                .parse::<FigureKey>()
                .is_err()
        );
    }

    #[test]
    fn figures_typed_by_hand_are_found_outside_generated_text_and_code() {
        let text = "It took 5.83 ms, 12.8× less, at 3,171 req/s and 0.8 % more.\n\
                    `HEADER_READ_TIMEOUT=10 s` for `cargo bench`\n\
                    90 % published, 20 posts, m20261125 and <!-- fig a/b:postgres:naive -->1 ms<!-- /fig -->\n\
                    ```\nX: 5 ms\n```\n\
                    <!-- table:start -->\n| 4 ms |\n<!-- table:end -->\n";
        let found = hand_typed(&typed_prose(text));
        assert_eq!(found, ["5.83 ms", "12.8×", "3,171 req/s", "0.8 %"]);
    }
}
