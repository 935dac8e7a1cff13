//! The lab's two pages: the index of patterns, and one pattern run live.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::Uri;
use catalog::report::{self, Figure, Report};
use catalog::{CodeRef, Pattern, Track};

use super::backfire::Line;
use super::compare::{self, Compare, Fact, Lesson, Measured, Sent, Step};
use super::{Lab, catalog};
use super::{growth_chart, markdown};
use crate::base::error::AppError;
use crate::base::instrument;
use crate::base::variant::Variant;
use crate::services::db::standbys::{CHECK_EVERY, Reads, StandbyStatus};
use crate::views::footer::Footer;

pub use crate::base::published::published;

#[derive(Template, WebTemplate)]
#[template(path = "lab_index.html")]
pub struct LabIndexTemplate {
    pub root: &'static str,
    /// The path through the lab: each track with its patterns, in reading order.
    pub tracks: Vec<TrackEntry>,
    pub footer: Footer,
}

pub struct TrackEntry {
    pub title: &'static str,
    /// What it teaches, as HTML.
    pub about: String,
    pub patterns: Vec<IndexEntry>,
}

pub struct IndexEntry {
    pub slug: &'static str,
    pub title: &'static str,
    /// What Django calls it, as HTML.
    pub django: String,
    /// The bench report's headline, as HTML: `page query (posts), 1,000: <strong>14.6×</strong>
    /// · 2.5×` (PostgreSQL, then SQLite).
    pub headline: String,
    /// Its problem's first paragraph, as HTML.
    pub problem: String,
}

/// `GET /lab`.
pub async fn index(uri: Uri) -> LabIndexTemplate {
    let tracks = Track::ALL
        .into_iter()
        .map(|track| TrackEntry {
            title: track.title(),
            about: markdown::inline(track.about()),
            patterns: catalog()
                .patterns()
                .iter()
                .filter(|pattern| pattern.track == track)
                .map(index_entry)
                .collect(),
        })
        .collect();
    LabIndexTemplate {
        root: "./",
        tracks,
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    }
}

fn index_entry(pattern: &'static Pattern) -> IndexEntry {
    let headline = pattern.live_measure().map_or_else(String::new, |measure| {
        markdown::inline(&published().headline_markdown(&pattern.slug, measure))
    });
    IndexEntry {
        slug: &pattern.slug,
        title: &pattern.title,
        django: markdown::inline(&pattern.django),
        headline,
        problem: markdown::first_paragraph(pattern.section("The problem").unwrap_or_default()),
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
    /// `16×`, `same`, or `0.8× (more)`: how many times less the optimized side
    /// needed; `None` where a ratio says nothing (zero on the optimized side).
    pub ratio: Option<String>,
    /// The two sides' fastest-to-slowest ranges overlap: this run cannot tell them
    /// apart, whatever its medians say.
    pub noisy: bool,
}

impl Verdict {
    pub fn of(naive: &Measured, optimized: &Measured) -> Self {
        if naive.facts.unfinished() || optimized.facts.unfinished() {
            return Self::unfinished(naive, optimized);
        }
        let (statements_n, statements_o) = (naive.statements, optimized.statements);
        let mut parts = vec![
            counted("statements", statements_n.into(), statements_o.into()),
            VerdictPart {
                naive: report::duration(nanos(naive.median())),
                optimized: report::duration(nanos(optimized.median())),
                unit: "",
                ratio: ratio(nanos(naive.median()), nanos(optimized.median())),
                noisy: naive.fastest() <= optimized.slowest()
                    && optimized.fastest() <= naive.slowest(),
            },
        ];
        for fact in &naive.facts.0 {
            let Some(other) = optimized.facts.get(fact) else {
                continue;
            };
            match (fact, other) {
                (
                    Fact::Sent { requests, bytes },
                    Fact::Sent {
                        requests: r,
                        bytes: b,
                    },
                ) => {
                    parts.push(counted(fact.label(), *requests, *r));
                    parts.push(counted("bytes sent", *bytes, *b));
                }
                (Fact::Kept { kept, of }, Fact::Kept { kept: k, of: o }) => {
                    parts.push(out_of(fact.label(), (*kept, *of), (*k, *o)));
                }
                (
                    Fact::AfterOwnWrite { seen, primary, of },
                    Fact::AfterOwnWrite {
                        seen: s,
                        primary: p,
                        of: o,
                    },
                ) => {
                    parts.push(out_of(OWN_WRITE_SEEN, (*seen, *of), (*s, *o)));
                    parts.push(out_of(ON_THE_PRIMARY, (*primary, *of), (*p, *o)));
                }
                _ => {
                    if let (Some(n), Some(o)) = (quantity(fact), quantity(other)) {
                        parts.push(counted(fact.label(), n, o));
                    }
                }
            }
        }
        Self { parts }
    }
}

impl Verdict {
    /// A side did not run or was stopped: the times alone, a stopped side's as over
    /// the limit it was stopped at, and no ratio — the limit timed the whole side, its
    /// untimed work too, where the other side's time is its timed runs'.
    fn unfinished(naive: &Measured, optimized: &Measured) -> Self {
        Self {
            parts: vec![VerdictPart {
                naive: unfinished_time(naive),
                optimized: unfinished_time(optimized),
                unit: "",
                ratio: None,
                noisy: false,
            }],
        }
    }
}

/// `not run`, `over 800 ms` (stopped there), or the median.
fn unfinished_time(measured: &Measured) -> String {
    match (measured.facts.stopped_after(), measured.facts.why_not_run()) {
        (Some(after), _) => format!("over {}", limit(after)),
        (None, Some(_)) => "not run".to_owned(),
        (None, None) => report::duration(nanos(measured.median())),
    }
}

/// The lab's limit as its setting reads: `800 ms`, `2.5 s`.
pub fn limit(limit: std::time::Duration) -> String {
    match limit.as_millis() {
        ms if ms < 1_000 => format!("{ms} ms"),
        _ => format!("{} s", limit.as_secs_f64()),
    }
}

/// What the page calls the reads after a write that showed it, and those the
/// primary served.
const OWN_WRITE_SEEN: &str = "reads after the write that showed it";
const ON_THE_PRIMARY: &str = "reads the primary served";

/// `3 of 20` on each side: a count out of a whole, where a ratio says nothing.
fn out_of(unit: &'static str, naive: (u64, u64), optimized: (u64, u64)) -> VerdictPart {
    VerdictPart {
        naive: format!("{} of {}", naive.0, naive.1),
        optimized: format!("{} of {}", optimized.0, optimized.1),
        unit,
        ratio: None,
        noisy: false,
    }
}

/// The number a fact counts, where it counts one.
fn quantity(fact: &Fact) -> Option<u64> {
    match fact {
        Fact::Rows(n) | Fact::BytesFetched(n) | Fact::BytesHeld(n) => Some(*n),
        _ => None,
    }
}

fn counted(unit: &'static str, naive: u64, optimized: u64) -> VerdictPart {
    VerdictPart {
        naive: report::thousands(naive),
        optimized: report::thousands(optimized),
        unit,
        ratio: ratio(naive as f64, optimized as f64),
        noisy: false,
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
        format!("{} (more)", report::speedup(times))
    } else {
        report::speedup(times)
    })
}

/// `9.20 ms (6.10 ms – 16.00 ms, 5 runs)`: the median, and the spread behind it.
pub fn timing(measured: &Measured) -> String {
    let median = report::duration(nanos(measured.median()));
    match measured.runs() {
        0 => match measured.facts.stopped_after() {
            Some(after) => format!("stopped at {} (see above)", limit(after)),
            None => "not run (see above)".to_owned(),
        },
        1 => format!("{median} (1 run: it is slow, so it ran once)"),
        runs => format!(
            "{median} ({} – {}, {runs} runs)",
            report::duration(nanos(measured.fastest())),
            report::duration(nanos(measured.slowest()))
        ),
    }
}

/// One side as the page shows it.
pub struct Column {
    /// `naive` or `optimized`: the side, as the page's classes name it.
    pub label: &'static str,
    /// What the column is called: the side, or the earlier pattern a ladder's rung
    /// starts from ("before: Atomic counters").
    pub heading: String,
    /// That earlier pattern's slug, linked from the heading.
    pub starts_from: Option<&'static str>,
    /// The side's statements, one clause a line, with how often each ran.
    pub sql: Vec<Sent>,
    /// The side's summary from the pattern's file, as HTML.
    pub summary: String,
    pub measured: Measured,
    /// The median and the spread of the runs.
    pub timing: String,
    /// What came back, as the page shows it: `(label, class, value)`.
    pub figures: Vec<(&'static str, &'static str, String)>,
    /// A sequence the side played out, where it played one.
    pub steps: Option<Vec<Step>>,
    /// The time spent in each layer, where the side measured it.
    pub layers: Option<Vec<LayerRow>>,
    /// How the database ran the side's statements, where it was asked.
    pub plan: Option<String>,
    pub code: Vec<Shown>,
}

/// A layer and its own part of a request's time, as the page shows it.
pub struct LayerRow {
    pub layer: String,
    pub time: String,
}

impl From<&compare::LayerTime> for LayerRow {
    fn from(time: &compare::LayerTime) -> Self {
        Self {
            layer: time.layer.clone(),
            // Spans are timed to the microsecond: below one, a mean says only "under".
            time: match time.time < std::time::Duration::from_micros(1) {
                true => "under 1 µs".to_owned(),
                false => report::duration(time.time.as_nanos() as f64),
            },
        }
    }
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
    /// What runs it, when it is not a page: an action, a command.
    pub path: Option<&'static str>,
    /// The pages to open, labelled: "optimized" and "naive", or the address of a page
    /// that holds both (the admin page's forms); none for a command.
    pub links: Vec<(&'static str, String)>,
}

/// A measure with the report's figures for it.
pub struct Benched {
    pub what: &'static str,
    /// The measure's headline in the lesson's unit, as HTML.
    pub headline: String,
    /// Both sides against the size, as SVG, for a measure whose lesson is growth.
    pub chart: Option<String>,
    pub rows: Vec<BenchRow>,
}

/// One line on why the live figures above and the report's below differ.
fn live_and_benched(pattern: &Pattern, samples: usize, runs: Option<(usize, &str)>) -> String {
    let live_size = pattern
        .live_measure()
        .and_then(|measure| measure.live)
        .map(|size| format!(" at a size of {}", report::thousands(size)))
        .unwrap_or_default();
    let dataset = match &pattern.dataset {
        Some(own) => own.clone(),
        None => "the standard dataset".to_owned(),
    };
    let live = match runs {
        Some((runs, sides)) => format!(
            "The figures at the top are {runs} {} of {sides}{live_size}, now, on this \
             server's data and with whatever else it is doing",
            if runs == 1 { "run" } else { "runs" }
        ),
        None => format!(
            "Neither side ran to the end at the top of the page{live_size}, on this \
             server's data"
        ),
    };
    format!(
        "{live}; these are criterion's medians of at least {samples} samples each on \
         {dataset}, on a machine doing nothing else. They differ by the data, the number \
         of runs and the load — and where the live ranges overlap, the page marks the \
         time \"noisy\"."
    )
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
            naive: report::duration(figure.naive_ns),
            optimized: report::duration(figure.optimized_ns),
            speedup: report::speedup(figure.speedup()),
        }
    }
}

/// A backfire as the page shows it: what it tries, as inline HTML, and its lines.
pub struct ShownBackfire {
    pub tries: String,
    pub lines: Vec<Line>,
}

/// Runs the lesson's backfire, if it has one, after its comparison.
async fn backfire(lesson: &Lesson, lab: &Lab) -> Result<Option<ShownBackfire>, AppError> {
    let Some(backfire) = lesson.backfire else {
        return Ok(None);
    };
    let run = instrument::deliberately((backfire.run)(&lab.workbench));
    let lines = match compare::within_limit(&lab.workbench, run).await? {
        Some(lines) => lines,
        None => vec![Line::new(
            "stopped",
            format!(
                "after {}: here it takes longer than the lab lets one part of a page run \
                 (`LAB_SIDE_LIMIT_MS`)",
                limit(lab.workbench.side_limit.unwrap_or_default())
            ),
        )],
    };
    Ok(Some(ShownBackfire {
        tries: markdown::inline(backfire.tries),
        lines: lines
            .into_iter()
            .map(|line| Line {
                what: markdown::inline(&line.what),
                ..line
            })
            .collect(),
    }))
}

/// The pattern's prose, as HTML: the sections every pattern file has.
pub struct Prose {
    pub problem: String,
    pub setup: String,
    pub why: String,
    pub when_not: String,
    pub elsewhere: String,
}

impl Prose {
    fn of(pattern: &Pattern) -> Self {
        let section = |heading| markdown::html(pattern.section(heading).unwrap_or_default());
        Prose {
            problem: section("The problem"),
            setup: section("The setup"),
            why: section("Why the optimized side wins"),
            when_not: section("When it would not"),
            elsewhere: section("In Django and Rails"),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "lab_pattern.html")]
pub struct LabPatternTemplate {
    pub root: &'static str,
    pub pattern: &'static Pattern,
    /// The patterns before and after this one.
    pub previous: Option<&'static Pattern>,
    pub next: Option<&'static Pattern>,
    pub twins: Vec<Twins>,
    pub verdict: Verdict,
    /// The pattern's Django and Rails names, as inline HTML.
    pub django: String,
    pub rails: Option<String>,
    pub prose: Prose,
    pub columns: [Column; 2],
    /// What the page says above the prose, as HTML: why both sides had nothing to do
    /// and how to give them data again, or, for a lesson about standbys, the standby's
    /// state (or that there is none).
    pub notice: Option<String>,
    /// Where the pattern backfires, measured on this visit.
    pub backfire: Option<ShownBackfire>,
    /// The site's own hit ratio, for the lessons about its caches.
    pub hit_ratio: Option<String>,
    pub benched: Vec<Benched>,
    /// Why the live figures differ from the report's: what each measured.
    pub live_and_benched: String,
    /// When the report's figures were measured.
    pub report: &'static Report,
    /// When and where this pattern's figures were measured.
    pub machines: String,
    pub footer: Footer,
}

/// What a lesson about standbys says where the app reads from none.
const NO_STANDBY: &str = "This app reads from no standby (`DATABASE_REPLICA_URLS` is unset): both sides read the primary, and every read shows the write. `docker compose up` runs one, and `docs/operations.md` (\"Reading from standbys\") says how to point the app at yours.";

/// `GET /lab/{pattern}`: waits for its turn, runs the first comparison, shows both
/// sides.
#[tracing::instrument(
    level = "debug",
    name = "handler",
    skip_all,
    fields(label = "lab pattern")
)]
pub async fn pattern(
    State(lab): State<Lab>,
    Path(slug): Path<String>,
    uri: Uri,
) -> Result<LabPatternTemplate, AppError> {
    let limit = lab.workbench.side_limit.unwrap_or_default();
    run_live(lab, slug, uri).await.map_err(|error| {
        match compare::stopped_by_the_database(&error) {
            // One of the page's own lookups (the post its twin links point to), not a
            // side: the database was slow to answer it, and may not be next time.
            true => AppError::Busy(format!(
                "The database took longer than the lab's limit ({}, LAB_SIDE_LIMIT_MS) \
                 to answer one of this page's lookups; reload in a moment.",
                self::limit(limit)
            )),
            false => error,
        }
    })
}

async fn run_live(lab: Lab, slug: String, uri: Uri) -> Result<LabPatternTemplate, AppError> {
    let no_such = || AppError::NotFound("There is no such pattern in the lab.".to_owned());
    let pattern = catalog().find(&slug).ok_or_else(no_such)?;
    let lesson = super::lessons::find(&slug).ok_or_else(no_such)?;
    let live = lesson.comparisons.first().ok_or_else(no_such)?;
    let _turn = lab.gate.take_turn().await?;
    // The whole comparison, not only its naive side: the naive sides repeat statements
    // on purpose (the lesson, not an N+1 in the lab), and each side runs up to five
    // times, so even an optimized side's statements repeat.
    let size = pattern.live_measure().and_then(|measure| measure.live);
    let outcome = instrument::deliberately(compare::live(*live, &lab.workbench, size)).await?;
    let backfire = backfire(lesson, &lab).await?;
    let at = catalog()
        .patterns()
        .iter()
        .position(|p| p.slug == pattern.slug)
        .unwrap_or(0);
    let source = |code: &'static CodeRef| shown(code, lab.repository_url.as_deref());
    let notice = notice(*live, &lab, &outcome.naive, &outcome.optimized);
    let outcome_runs = match (outcome.naive.runs(), outcome.optimized.runs()) {
        (0, 0) => None,
        (0, optimized) => Some((optimized, "the optimized side")),
        (naive, 0) => Some((naive, "the naive side")),
        (naive, optimized) => Some((naive.min(optimized), "each side")),
    };
    Ok(LabPatternTemplate {
        root: "../",
        pattern,
        previous: at.checked_sub(1).and_then(|i| catalog().patterns().get(i)),
        next: catalog().patterns().get(at + 1),
        twins: twins(&lab, pattern).await?,
        verdict: Verdict::of(&outcome.naive, &outcome.optimized),
        django: markdown::inline(&pattern.django),
        rails: pattern.rails.as_deref().map(markdown::inline),
        prose: Prose::of(pattern),
        columns: [
            column("naive", &pattern.naive, outcome.naive, source),
            column("optimized", &pattern.optimized, outcome.optimized, source),
        ],
        notice,
        backfire,
        hit_ratio: lab.site_caches.hit_ratio_for(&pattern.slug),
        live_and_benched: live_and_benched(pattern, live.samples(), outcome_runs),
        benched: benched(pattern),
        report: published(),
        machines: published().where_and_when(&pattern.slug),
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    })
}

/// What the page says above the prose: that the naive side did not run (over the
/// memory budget), that both sides found nothing to work on (the data was used up on
/// the site), or, for a lesson about standbys, how the standby
/// stands. As HTML.
fn notice(live: &dyn Compare, lab: &Lab, naive: &Measured, optimized: &Measured) -> Option<String> {
    let nothing_to_do = |measured: &Measured| {
        measured
            .facts
            .0
            .iter()
            .all(|fact| !matches!(fact, Fact::Rows(n) if *n > 0))
    };
    let used_up = live
        .used_up()
        .filter(|_| nothing_to_do(naive) && nothing_to_do(optimized));
    let unfinished: Vec<String> = [
        naive
            .facts
            .why_not_run()
            .map(|why| format!("The naive side did not run. {why}")),
        stopped_sides(naive, optimized),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !unfinished.is_empty() {
        return Some(markdown::inline(&unfinished.join(" ")));
    }
    match (used_up, live.needs_standby()) {
        (Some(used_up), _) => Some(markdown::inline(used_up)),
        (None, true) => Some(markdown::inline(&standbys_now(&lab.workbench.reads))),
        (None, false) => None,
    }
}

/// Which sides the lab stopped, and why, in a sentence.
fn stopped_sides(naive: &Measured, optimized: &Measured) -> Option<String> {
    let (sides, after) = match (naive.facts.stopped_after(), optimized.facts.stopped_after()) {
        (Some(after), Some(_)) => ("Both sides were", after),
        (Some(after), None) => ("The naive side was", after),
        (None, Some(after)) => ("The optimized side was", after),
        (None, None) => return None,
    };
    let takes = if sides.starts_with("Both") {
        "they take"
    } else {
        "it takes"
    };
    Some(format!(
        "{sides} stopped after {}, the longest the lab lets one side run on this server \
         (`LAB_SIDE_LIMIT_MS`): here {takes} longer, and the database cancelled {its} \
         statement (a write's changes are rolled back). The benches' figures further down \
         show both sides on the dataset they name.",
        limit(after),
        its = if takes == "they take" { "their" } else { "its" },
    ))
}

/// The standbys a lesson about them read from, as the watcher last saw each: its
/// state and how far behind the primary it was at least — or that there is none.
fn standbys_now(reads: &Reads) -> String {
    if !reads.has_standbys() {
        return NO_STANDBY.to_owned();
    }
    let each: Vec<String> = reads
        .health()
        .into_iter()
        .map(|standby| {
            let state = match standby.status {
                StandbyStatus::Ok => "serving reads",
                StandbyStatus::Lagging => "too far behind to serve reads",
                StandbyStatus::Unavailable => "not answering",
            };
            let behind = standby
                .lag_ms
                .map(|ms| format!(", at least {ms} ms behind the primary"))
                .unwrap_or_default();
            format!("`{}` {state}{behind}", standby.name)
        })
        .collect();
    format!(
        "The standby, as the app's watcher last saw it (it looks every {} ms): {}.",
        CHECK_EVERY.as_millis(),
        each.join("; ")
    )
}

fn benched(pattern: &'static Pattern) -> Vec<Benched> {
    pattern
        .measures
        .iter()
        .map(|measure| Benched {
            what: &measure.what,
            headline: markdown::inline(&published().headline_markdown(&pattern.slug, measure)),
            chart: measure
                .grows
                .then(|| growth_chart::svg(published(), &pattern.slug, &measure.id, &measure.what))
                .flatten(),
            rows: published()
                .of(&pattern.slug, &measure.id)
                .map(BenchRow::from)
                .collect(),
        })
        .collect()
}

fn column(
    label: &'static str,
    side: &'static catalog::Side,
    measured: Measured,
    shown: impl Fn(&'static CodeRef) -> Shown,
) -> Column {
    let mut figures = Vec::new();
    let (mut steps, mut plan, mut layers) = (None, None, None);
    for fact in &measured.facts.0 {
        match fact {
            Fact::Steps(played) => steps = Some(played.clone()),
            Fact::Layers(times) => layers = Some(times.iter().map(LayerRow::from).collect()),
            Fact::Plan(text) => plan = Some(text.clone()),
            Fact::Kept { kept, of } => {
                figures.push((fact.label(), "kept", format!("{kept} of {of}")))
            }
            Fact::Rows(n) => figures.push((fact.label(), "rows", report::thousands(*n))),
            Fact::BytesFetched(n) => figures.push((fact.label(), "bytes", report::thousands(*n))),
            Fact::BytesHeld(n) => figures.push((fact.label(), "held", report::thousands(*n))),
            Fact::TalliedIn(place) => figures.push((fact.label(), "where", (*place).to_owned())),
            Fact::Sent { requests, bytes } => {
                figures.push((fact.label(), "requests", report::thousands(*requests)));
                figures.push(("bytes sent", "bytes", report::thousands(*bytes)));
            }
            Fact::AfterOwnWrite { seen, primary, of } => {
                figures.push((OWN_WRITE_SEEN, "seen", format!("{seen} of {of}")));
                figures.push((ON_THE_PRIMARY, "primary", format!("{primary} of {of}")));
            }
            // The notice above the columns says why.
            Fact::NotRun(_) | Fact::Stopped(_) => {}
        }
    }
    let starts_from = side.starts_from.as_deref();
    let heading = match starts_from.and_then(|slug| catalog().find(slug)) {
        Some(earlier) => format!("before: {}", earlier.title),
        None => label.to_owned(),
    };
    Column {
        label,
        heading,
        starts_from,
        sql: measured
            .sql
            .iter()
            .map(|sent| Sent {
                sql: super::sql::readable(&sent.sql),
                ..sent.clone()
            })
            .collect(),
        summary: markdown::inline(&side.summary),
        timing: timing(&measured),
        figures,
        steps,
        layers,
        plan,
        measured,
        code: side.code.iter().map(shown).collect(),
    }
}

/// The pages the pattern shows on, with a real post or tag where the path needs one.
async fn twins(lab: &Lab, pattern: &'static Pattern) -> Result<Vec<Twins>, AppError> {
    let mut twins: Vec<Twins> = Vec::new();
    for place in &pattern.shows_on {
        let links = if place.is_page() {
            let path = with_a_real_slug(lab, &place.path).await?;
            if twins
                .iter()
                .any(|t| t.links.iter().any(|(_, href)| *href == path))
            {
                continue;
            }
            vec![
                ("optimized", path.clone()),
                ("naive", format!("/naive{path}")),
            ]
        } else if let Some(visit) = &place.visit {
            let visit = with_a_real_slug(lab, visit).await?;
            vec![("", visit)]
        } else {
            Vec::new()
        };
        twins.push(Twins {
            view: &place.view,
            path: (!place.is_page()).then_some(place.path.as_str()),
            links,
        });
    }
    Ok(twins)
}

/// `path` with its `{slug}` replaced by the newest post's, or the busiest tag's.
async fn with_a_real_slug(lab: &Lab, path: &str) -> Result<String, AppError> {
    if !path.contains("{slug}") {
        return Ok(path.to_owned());
    }
    let slug = if path.starts_with("/tags/") {
        lab.workbench.busiest_tag().await?.1
    } else {
        lab.workbench.newest_post().await?.1
    };
    Ok(path.replace("{slug}", slug.as_str()))
}

fn shown(code: &'static CodeRef, repository_url: Option<&str>) -> Shown {
    let text = super::sources::text(&code.file).unwrap_or_default();
    let line = super::source::line_of(text, &code.function).unwrap_or(1);
    let href = match repository_url {
        Some(url) => format!("{url}/{}#L{line}", code.file),
        None => format!("/lab/source/{}#L{line}", code.file),
    };
    let source = super::source::function(text, &code.function).unwrap_or_default();
    Shown {
        file: &code.file,
        href,
        highlighted: super::highlight::rust(&source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::compare::Facts;

    fn side(statements: u32, millis: &[u64], rows: usize) -> Measured {
        Measured {
            statements,
            times: millis
                .iter()
                .map(|ms| std::time::Duration::from_micros(ms * 1000))
                .collect(),
            sql: Vec::new(),
            facts: Facts::rows(rows),
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
    fn a_time_is_marked_noisy_when_the_two_sides_ranges_overlap() {
        let time = |naive: &[u64], optimized: &[u64]| {
            Verdict::of(&side(1, naive, 1), &side(1, optimized, 1)).parts[1].noisy
        };
        assert!(time(&[3, 4, 6], &[2, 3, 5]), "overlapping ranges");
        assert!(!time(&[5, 6, 7], &[1, 2, 3]), "apart");
        assert!(time(&[2, 2, 9], &[3]), "one inside the other");
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
    fn a_stopped_side_reads_as_over_its_limit_with_no_ratio_and_the_notice_names_the_setting() {
        let stopped = Measured {
            facts: Facts::stopped(std::time::Duration::from_millis(800)),
            ..side(0, &[], 0)
        };
        let verdict = Verdict::of(&stopped, &side(1, &[2], 1));
        let time = &verdict.parts[0];
        assert_eq!(
            (
                time.naive.as_str(),
                time.optimized.as_str(),
                time.ratio.as_deref()
            ),
            ("over 800 ms", "2.00 ms", None)
        );
        assert_eq!(timing(&stopped), "stopped at 800 ms (see above)");
        let said = stopped_sides(&stopped, &side(1, &[2], 1)).unwrap_or_default();
        assert!(
            said.starts_with("The naive side was stopped after 800 ms"),
            "{said}"
        );
        assert!(said.contains("LAB_SIDE_LIMIT_MS"), "{said}");
    }

    #[test]
    fn the_timing_shows_the_spread_or_says_why_there_is_none() {
        assert_eq!(
            timing(&side(1, &[6, 9, 16], 0)),
            "9.00 ms (6.00 ms – 16.00 ms, 3 runs)"
        );
        assert!(timing(&side(1, &[1500], 0)).contains("ran once"));
    }
}
