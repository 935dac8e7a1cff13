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
use crate::instrument;
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

/// The page's first line: what changed between the sides, naive → optimized, with
/// the ratio — `61 → 3 statements · 9.20 ms → 560.0 µs (16×) · 238,409 → 101 rows`.
pub struct Verdict {
    pub parts: Vec<VerdictPart>,
}

pub struct VerdictPart {
    pub naive: String,
    pub optimized: String,
    pub unit: &'static str,
    /// `16×`, `same`, or `0.8× (slower)`: how many times less the optimized side
    /// needed; `None` where a ratio says nothing (zero on the optimized side).
    pub ratio: Option<String>,
}

impl Verdict {
    pub fn of(naive: &Measured, optimized: &Measured) -> Self {
        let mut parts = vec![
            counted(
                "statements",
                u64::from(naive.statements),
                u64::from(optimized.statements),
            ),
            VerdictPart {
                naive: figures::duration(nanos(naive.median())),
                optimized: figures::duration(nanos(optimized.median())),
                unit: "",
                ratio: ratio(nanos(naive.median()), nanos(optimized.median())),
            },
        ];
        let fetched = [
            ("rows", naive.fetched.rows, optimized.fetched.rows),
            (
                "bytes fetched",
                naive.fetched.bytes,
                optimized.fetched.bytes,
            ),
            (
                "bytes held at once",
                naive.fetched.held,
                optimized.fetched.held,
            ),
        ];
        for (unit, naive, optimized) in fetched {
            if let (Some(naive), Some(optimized)) = (naive, optimized) {
                parts.push(counted(unit, naive, optimized));
            }
        }
        if let (Some(naive), Some(optimized)) = (naive.fetched.kept, optimized.fetched.kept) {
            parts.push(VerdictPart {
                naive: format!("{} of {}", naive.kept, naive.of),
                optimized: format!("{} of {}", optimized.kept, optimized.of),
                unit: "concurrent views kept",
                ratio: None,
            });
        }
        Self { parts }
    }
}

fn counted(unit: &'static str, naive: u64, optimized: u64) -> VerdictPart {
    VerdictPart {
        naive: figures::thousands(naive),
        optimized: figures::thousands(optimized),
        unit,
        ratio: ratio(naive as f64, optimized as f64),
    }
}

fn nanos(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1e9
}

fn ratio(naive: f64, optimized: f64) -> Option<String> {
    if optimized <= 0.0 {
        return None;
    }
    let times = naive / optimized;
    Some(if (0.95..=1.05).contains(&times) {
        "same".to_owned()
    } else if times < 1.0 {
        format!("{} (more)", figures::speedup(times))
    } else {
        figures::speedup(times)
    })
}

/// `9.20 ms (6.10 ms – 16.00 ms, 5 runs)`: the median, and the spread behind it.
pub fn timing(measured: &Measured) -> String {
    let median = figures::duration(nanos(measured.median()));
    match measured.runs() {
        1 => format!("{median} (1 run: it is slow, so it ran once)"),
        runs => format!(
            "{median} ({} – {}, {runs} runs)",
            figures::duration(nanos(measured.fastest())),
            figures::duration(nanos(measured.slowest()))
        ),
    }
}

/// One side as the page shows it.
pub struct Column {
    pub label: &'static str,
    /// The side's statements, one clause a line, with how often each ran.
    pub sql: Vec<(usize, String)>,
    /// The catalog's summary, markdown's `code` spans split out: `(is_code, text)`.
    pub summary: Vec<(bool, &'static str)>,
    pub measured: Measured,
    /// The median and the spread of the runs.
    pub timing: String,
    /// What came back, as the page shows it: `(label, class, value)`.
    pub fetched: Vec<(&'static str, &'static str, String)>,
    pub code: Vec<Shown>,
}

/// A function of a side, cut out of its file.
pub struct Shown {
    pub file: &'static str,
    /// Where the whole file is read: the repository, or the lab's own view.
    pub href: String,
    /// The function's source, highlighted: escaped HTML.
    pub highlighted: String,
}

/// A page of the site the pattern runs on, both twins.
pub struct Twins {
    pub view: &'static str,
    pub optimized: String,
    pub naive: String,
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
    /// The patterns before and after this one in the catalog.
    pub previous: Option<&'static Pattern>,
    pub next: Option<&'static Pattern>,
    pub twins: Vec<Twins>,
    pub verdict: Verdict,
    /// The pattern's Django and Rails names, code spans split out.
    pub django: Vec<(bool, &'static str)>,
    pub rails: Option<Vec<(bool, &'static str)>>,
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
    // The whole experiment, not only its naive side: the naive sides repeat statements
    // on purpose (the lesson, not an N+1 in the lab), and `measure` runs each side up
    // to five times, so even an optimized side's statements repeat.
    let outcome = instrument::deliberately((pattern.experiment)(&lab.workbench)).await?;
    let report = figures::published();
    let at = PATTERNS
        .iter()
        .position(|p| p.slug == pattern.slug)
        .unwrap_or(0);
    let source = |code: &'static Code| shown(code, lab.repository_url.as_deref());
    Ok(LabPatternTemplate {
        root: "../",
        pattern,
        previous: at.checked_sub(1).and_then(|i| PATTERNS.get(i)).copied(),
        next: PATTERNS.get(at + 1).copied(),
        twins: twins(&lab, pattern).await?,
        verdict: Verdict::of(&outcome.naive, &outcome.optimized),
        django: code_spans(pattern.django),
        rails: pattern.rails.map(code_spans),
        columns: [
            column("naive", &pattern.naive, outcome.naive, source),
            column("optimized", &pattern.optimized, outcome.optimized, source),
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

fn column(
    label: &'static str,
    side: &'static catalog::Side,
    measured: Measured,
    shown: impl Fn(&'static Code) -> Shown,
) -> Column {
    Column {
        label,
        sql: measured
            .sql
            .iter()
            .map(|(count, sql)| (*count, super::sql::readable(sql)))
            .collect(),
        summary: code_spans(side.summary),
        timing: timing(&measured),
        fetched: fetched(&measured.fetched),
        measured,
        code: side.code.iter().map(shown).collect(),
    }
}

/// Rows, bytes, views kept and bytes held, with thousands separators, where the
/// experiment measured them.
fn fetched(
    fetched: &crate::catalog::measure::Fetched,
) -> Vec<(&'static str, &'static str, String)> {
    let counts = [
        ("rows", "rows", fetched.rows),
        ("bytes fetched", "bytes", fetched.bytes),
        ("most bytes held at once", "held", fetched.held),
    ];
    let mut shown: Vec<_> = counts
        .into_iter()
        .filter_map(|(label, class, n)| Some((label, class, figures::thousands(n?))))
        .collect();
    if let Some(kept) = fetched.kept {
        shown.push((
            "concurrent views kept",
            "kept",
            format!("{} of {}", kept.kept, kept.of),
        ));
    }
    shown
}

/// The pages the pattern shows on, with a real post or tag where the path needs one.
async fn twins(lab: &Lab, pattern: &Pattern) -> Result<Vec<Twins>, AppError> {
    let mut twins = Vec::new();
    for place in pattern.shows_on {
        let path = if place.path.contains("{slug}") {
            let slug = if place.path.starts_with("/tags/") {
                lab.workbench.busiest_tag_slug().await?
            } else {
                lab.workbench.newest_post().await?.1
            };
            place.path.replace("{slug}", &slug)
        } else {
            place.path.to_owned()
        };
        if twins.iter().any(|t: &Twins| t.optimized == path) {
            continue;
        }
        twins.push(Twins {
            view: place.view,
            naive: format!("/naive{path}"),
            optimized: path,
        });
    }
    Ok(twins)
}

/// "one `IN (…)` query" → plain "one ", code "IN (…)", plain " query".
fn code_spans(text: &'static str) -> Vec<(bool, &'static str)> {
    text.split('`')
        .enumerate()
        .map(|(i, span)| (i % 2 == 1, span))
        .filter(|(_, span)| !span.is_empty())
        .collect()
}

fn shown(code: &'static Code, repository_url: Option<&str>) -> Shown {
    let line = source::line_of(code.source, code.function).unwrap_or(1);
    let href = match repository_url {
        Some(url) => format!("{url}/{}#L{line}", code.file),
        None => format!("/lab/source/{}#L{line}", code.file),
    };
    let source = source::function(code.source, code.function).unwrap_or_default();
    Shown {
        file: code.file,
        href,
        highlighted: super::highlight::rust(&source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(statements: u32, millis: &[u64], rows: u64) -> Measured {
        Measured {
            statements,
            times: millis
                .iter()
                .map(|ms| std::time::Duration::from_micros(ms * 1000))
                .collect(),
            sql: Vec::new(),
            fetched: crate::catalog::measure::Fetched::rows(rows as usize),
            plan: None,
            steps: Vec::new(),
        }
    }

    #[test]
    fn the_verdict_reads_naive_to_optimized_with_the_ratio_and_scaled_units() {
        let verdict = Verdict::of(&side(61, &[9, 9, 9], 238_409), &side(3, &[1], 101));
        let line: Vec<String> = verdict
            .parts
            .iter()
            .map(|p| {
                format!(
                    "{} → {} {} ({})",
                    p.naive,
                    p.optimized,
                    p.unit,
                    p.ratio.as_deref().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            line,
            [
                "61 → 3 statements (20.3×)",
                "9.00 ms → 1.00 ms  (9.0×)",
                "238,409 → 101 rows (2,360×)"
            ]
        );
    }

    #[test]
    fn a_cache_hit_shows_in_nanoseconds_and_zero_statements_has_no_ratio() {
        let hit = Measured {
            times: vec![std::time::Duration::from_nanos(200)],
            ..side(0, &[], 0)
        };
        let verdict = Verdict::of(&side(4, &[2], 0), &hit);
        assert_eq!(verdict.parts[0].ratio, None);
        assert_eq!(verdict.parts[1].optimized, "200 ns");
    }

    #[test]
    fn the_timing_shows_the_spread_or_says_why_there_is_none() {
        assert_eq!(
            timing(&side(1, &[6, 9, 16], 0)),
            "9.00 ms (6.00 ms – 16.00 ms, 3 runs)"
        );
        assert!(timing(&side(1, &[1500], 0)).contains("ran once"));
    }

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
