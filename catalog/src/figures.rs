//! Figures in prose. A measured figure is never typed: it sits in a generated region
//! of its own, named after what it shows —
//! `<!-- fig.eager-loading.entries.20.postgres.speedup:start -->12.8×<!-- fig.eager-loading.entries.20.postgres.speedup:end -->`
//! — which the bench report fills from `docs/benchmarks.json`; tables sit in regions
//! too, `<!-- name:start -->` … `<!-- name:end -->`, generated whole. [`hand_typed`]
//! finds what slipped past both.

use crate::report::{self, Report};

/// What a figure region's name starts with.
const FIG: &str = "fig.";
/// What a quote of the measurement log is named by: `log.first-build`.
const LOG: &str = "log.";

/// What a figure region names: one value of one figure of the report.
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

/// Which value of a figure a region shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Naive,
    Optimized,
    Speedup,
}

impl std::str::FromStr for FigureKey {
    type Err = String;

    /// `{pattern}.{measure}[.{size}].{backend}.{naive|optimized|speedup}`, as a figure
    /// region is named after its `fig.`.
    fn from_str(key: &str) -> Result<Self, String> {
        let bad = || format!("`{key}` is not `pattern.measure[.size].backend.value`");
        let parts: Vec<&str> = key.split('.').collect();
        let (pattern, measure, size, backend, value) = match parts[..] {
            [pattern, measure, backend, value] => (pattern, measure, None, backend, value),
            [pattern, measure, size, backend, value] => {
                (pattern, measure, Some(size.to_owned()), backend, value)
            }
            _ => return Err(bad()),
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

/// `text` with every figure region's value written from `report`; the names the report
/// has no figure for (or that do not parse) are the error.
pub fn fill(text: &str, report: &Report) -> Result<String, Vec<String>> {
    let mut filled = String::with_capacity(text.len());
    let mut problems = Vec::new();
    let mut rest = text;
    while let Some(region) = next_region(rest) {
        filled.push_str(&rest[..region.start]);
        let inside = &rest[region.inside.clone()];
        let value = match region.name.strip_prefix(FIG) {
            Some(key) => key
                .parse::<FigureKey>()
                .and_then(|parsed| {
                    report
                        .value(&parsed)
                        .ok_or(format!("no figure for `{key}`"))
                })
                .unwrap_or_else(|problem| {
                    problems.push(problem);
                    inside.to_owned()
                }),
            None => inside.to_owned(),
        };
        filled.push_str(&rest[region.start..region.inside.start]);
        filled.push_str(&value);
        filled.push_str(&rest[region.inside.end..region.end]);
        rest = &rest[region.end..];
    }
    filled.push_str(rest);
    if problems.is_empty() {
        Ok(filled)
    } else {
        Err(problems)
    }
}

/// Regions named `log.…`: figures a page quotes from the measurement log, as
/// `(name, text)`. The log holds each once, in a region of the same name, beside the
/// machine and the day it was measured on.
pub fn log_quotes(text: &str) -> Vec<(String, String)> {
    let mut quotes = Vec::new();
    let mut rest = text;
    while let Some(region) = next_region(rest) {
        if region.name.starts_with(LOG) {
            quotes.push((
                region.name.to_owned(),
                rest[region.inside.clone()].to_owned(),
            ));
        }
        rest = &rest[region.end..];
    }
    quotes
}

/// A generated region in a text: `<!-- {name}:start -->` … `<!-- {name}:end -->`.
struct Region<'a> {
    name: &'a str,
    /// From its opening marker to the end of its closing one.
    start: usize,
    end: usize,
    /// What the generator writes, between the markers.
    inside: std::ops::Range<usize>,
}

/// The first generated region of `text`, markers closed, if any.
fn next_region(text: &str) -> Option<Region<'_>> {
    let mut from = 0;
    while let Some(at) = text[from..].find("<!-- ") {
        let start = from + at;
        let after = &text[start + 5..];
        let named = after
            .split_once(":start -->")
            .map(|(name, _)| name)
            .filter(|name| is_region_name(name));
        if let Some(name) = named {
            let inside_start = start + 5 + name.len() + ":start -->".len();
            let close = format!("<!-- {name}:end -->");
            let inside_end = inside_start + text[inside_start..].find(&close)?;
            let end = inside_end + close.len();
            return Some(Region {
                name,
                start,
                end,
                inside: inside_start..inside_end,
            });
        }
        from = start + 5;
    }
    None
}

/// A region's name: letters, digits and `_ . / -`.
fn is_region_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
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

/// `text` as a reader types it: generated regions, fenced code blocks and code spans
/// taken out (what they hold is generated, or quoted verbatim).
pub fn typed_prose(text: &str) -> String {
    let mut typed = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(region) = next_region(rest) {
        typed.push_str(&rest[..region.start]);
        typed.extend(rest[region.start..region.end].matches('\n'));
        rest = &rest[region.end..];
    }
    typed.push_str(rest);
    let mut prose = String::with_capacity(typed.len());
    let mut fenced = false;
    for line in typed.lines() {
        if line.trim().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            let outside_code: Vec<&str> = line.split('`').step_by(2).collect();
            prose.push_str(&outside_code.join(" "));
        }
        prose.push('\n');
    }
    prose
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
            figures: vec![Figure::new(
                ("eager-loading", "entries"),
                "20",
                "PostgreSQL",
                5_830_000.0,
                453_800.0,
            )],
        }
    }

    fn region(name: &str, inside: &str) -> String {
        format!("<!-- {name}:start -->{inside}<!-- {name}:end -->")
    }

    #[test]
    fn a_figure_region_is_filled_from_the_report_whatever_it_held() {
        let speedup = "fig.eager-loading.entries.20.postgres.speedup";
        let naive = "fig.eager-loading.entries.20.postgres.naive";
        let text = format!("gains {} ({})", region(speedup, "9×"), region(naive, "?"));
        let filled = fill(&text, &report()).unwrap();
        let expected = format!(
            "gains {} ({})",
            region(speedup, "12.8×"),
            region(naive, "5.83 ms")
        );
        assert_eq!(filled, expected);
    }

    #[test]
    fn a_figure_the_report_cannot_fill_is_an_error_naming_it_and_tables_are_left_alone() {
        let text = region("fig.eager-loading.entries.50.sqlite.speedup", "1×");
        let problems = fill(&text, &report()).unwrap_err();
        assert_eq!(
            problems,
            ["no figure for `eager-loading.entries.50.sqlite.speedup`"]
        );
        assert!(
            "eager-loading.entries.mysql.naive"
                .parse::<FigureKey>()
                .is_err()
        );
        let table = region("bench-report", "\n| a | table |\n");
        assert_eq!(fill(&table, &report()).unwrap(), table);
    }

    #[test]
    fn figures_typed_by_hand_are_found_outside_generated_text_and_code() {
        let text = format!(
            "It took 5.83 ms, 12.8× less, at 3,171 req/s and 0.8 % more.\n\
             `HEADER_READ_TIMEOUT=10 s` for `cargo bench`\n\
             90 % published, 20 posts, m20261125 and {}\n\
             ```\nX: 5 ms\n```\n{}\n",
            region("fig.a.b.postgres.naive", "1 ms"),
            region("table", "\n| 4 ms |\n")
        );
        let found = hand_typed(&typed_prose(&text));
        assert_eq!(found, ["5.83 ms", "12.8×", "3,171 req/s", "0.8 %"]);
    }
}
