//! The lab's two pages: the index of patterns, and one pattern run live.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Uri;

use super::Lab;
use crate::catalog::figures::{self, Figure};
use crate::catalog::measure::Measured;
use crate::catalog::{self, Code, Comparison, PATTERNS, Pattern, source};
use crate::error::AppError;
use crate::views::{Footer, Variant};

#[derive(Template, WebTemplate)]
#[template(path = "lab_index.html")]
pub struct LabIndexTemplate {
    pub root: &'static str,
    pub patterns: &'static [&'static Pattern],
    pub footer: Footer,
}

/// `GET /lab`.
pub async fn index(uri: Uri) -> LabIndexTemplate {
    LabIndexTemplate {
        root: "./",
        patterns: &PATTERNS,
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    }
}

/// One side as the page shows it.
pub struct Column {
    pub label: &'static str,
    /// The catalog's summary, markdown's `code` spans split out: `(is_code, text)`.
    pub summary: Vec<(bool, &'static str)>,
    pub measured: Measured,
    pub code: Vec<Shown>,
}

/// A function of a side, cut out of its file.
pub struct Shown {
    pub file: &'static str,
    pub source: String,
}

/// A criterion comparison with the report's figures for it.
pub struct Benched {
    pub comparison: &'static Comparison,
    pub rows: Vec<BenchRow>,
}

/// One figure as the table shows it.
pub struct BenchRow {
    pub size: &'static str,
    pub backend: &'static str,
    pub naive: String,
    pub optimized: String,
    pub speedup: String,
}

impl From<&'static Figure> for BenchRow {
    fn from(figure: &'static Figure) -> Self {
        BenchRow {
            size: if figure.size.is_empty() {
                "—"
            } else {
                &figure.size
            },
            backend: &figure.backend,
            naive: figures::duration(figure.naive_ns),
            optimized: figures::duration(figure.optimized_ns),
            speedup: figures::speedup(figure.speedup()),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "lab_pattern.html")]
pub struct LabPatternTemplate {
    pub root: &'static str,
    pub pattern: &'static Pattern,
    pub columns: [Column; 2],
    pub benched: Vec<Benched>,
    /// When and where the report's figures were measured.
    pub report: &'static figures::Report,
    pub footer: Footer,
}

/// `GET /lab/{pattern}`: waits for its turn, runs the experiment, shows both sides.
pub async fn pattern(
    State(lab): State<Lab>,
    Path(slug): Path<String>,
    uri: Uri,
) -> Result<LabPatternTemplate, AppError> {
    let pattern = catalog::find(&slug)
        .ok_or_else(|| AppError::NotFound("There is no such pattern in the lab.".to_owned()))?;
    let _turn = lab.gate.take_turn().await?;
    let outcome = (pattern.experiment)(&lab.workbench).await?;
    let report = figures::published();
    Ok(LabPatternTemplate {
        root: "../",
        pattern,
        columns: [
            column("naive", &pattern.naive, outcome.naive),
            column("optimized", &pattern.optimized, outcome.optimized),
        ],
        benched: pattern
            .benches
            .iter()
            .map(|comparison| Benched {
                comparison,
                rows: report.of(comparison).map(BenchRow::from).collect(),
            })
            .collect(),
        report,
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    })
}

fn column(label: &'static str, side: &'static catalog::Side, measured: Measured) -> Column {
    Column {
        label,
        summary: code_spans(side.summary),
        measured,
        code: side.code.iter().map(shown).collect(),
    }
}

/// "one `IN (…)` query" → plain "one ", code "IN (…)", plain " query".
fn code_spans(text: &'static str) -> Vec<(bool, &'static str)> {
    text.split('`')
        .enumerate()
        .map(|(i, span)| (i % 2 == 1, span))
        .filter(|(_, span)| !span.is_empty())
        .collect()
}

fn shown(code: &'static Code) -> Shown {
    Shown {
        file: code.file,
        source: source::function(code.source, code.function).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_keep_their_code_spans() {
        assert_eq!(
            code_spans("one `IN (…)` query, `x`"),
            [
                (false, "one "),
                (true, "IN (…)"),
                (false, " query, "),
                (true, "x")
            ]
        );
    }
}
