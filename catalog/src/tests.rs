//! The catalog against the repository: every file it names exists, every figure in
//! the docs comes from the report, and no figure is typed by hand.

use std::path::{Path, PathBuf};

use crate::figures::{self, hand_typed, typed_prose};
use crate::report::Report;
use crate::{Catalog, TWIN_PAGES, Track};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The catalog as it stands on disk.
fn catalog() -> Catalog {
    Catalog::read(&root().join("docs/patterns")).unwrap_or_else(|problem| panic!("{problem}"))
}

fn published_report() -> Report {
    serde_json::from_str(&read(&root().join("docs/benchmarks.json"))).expect("a report")
}

/// README.md and every Markdown file under docs/.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut pending = vec![root().join("docs")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("docs/ is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_pattern_file_reads_and_has_a_place_in_the_order_of_its_own() {
    let catalog = catalog();
    let slugs: Vec<&str> = catalog.patterns().iter().map(|p| p.slug.as_str()).collect();
    let mut orders: Vec<u32> = catalog.patterns().iter().map(|p| p.order).collect();
    orders.dedup();
    assert_eq!(orders.len(), slugs.len(), "two patterns share an `order`");
    let mut unique = slugs.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), slugs.len(), "two patterns share a slug");
    assert!(slugs.iter().all(|slug| {
        slug.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }));
    assert!(catalog.find(TWIN_PAGES).is_none());
}

/// What a pattern names must exist: its tests, its places' folders, its sides' files
/// and the functions in them.
#[test]
fn every_file_folder_and_function_a_pattern_names_exists() {
    let catalog = catalog();
    for pattern in catalog.patterns() {
        let slug = &pattern.slug;
        for test in &pattern.tests {
            assert!(root().join(test).is_file(), "{slug}: {test}");
        }
        for place in &pattern.shows_on {
            assert!(
                root().join(&place.folder).is_dir(),
                "{slug}: {}",
                place.folder
            );
        }
        for code in pattern.naive.code.iter().chain(&pattern.optimized.code) {
            let text = read(&root().join(&code.file));
            let (owner, function) = match code.function.split_once("::") {
                Some((owner, method)) => (Some(owner), method),
                None => (None, code.function.as_str()),
            };
            let declared = [format!("fn {function}("), format!("fn {function}<")]
                .iter()
                .any(|declaration| text.contains(declaration.as_str()));
            assert!(declared, "{slug}: no `fn {function}` in {}", code.file);
            if let Some(owner) = owner {
                assert!(
                    text.contains(&format!(" {owner} {{")),
                    "{slug}: no `impl {owner}`"
                );
            }
        }
    }
}

/// Markdown's code spans must close: the lab turns them into `<code>`.
#[test]
fn every_pattern_names_its_django_equivalent_with_closed_code_spans() {
    let catalog = catalog();
    for pattern in catalog.patterns() {
        for text in std::iter::once(&pattern.django).chain(&pattern.rails) {
            assert!(
                text.contains('`') && text.matches('`').count() % 2 == 0,
                "{}: an unclosed or missing code span in {text}",
                pattern.slug
            );
        }
    }
}

/// The report's figures name measures the catalog has, and each measure's headline
/// size is one it is measured at.
#[test]
fn the_report_and_the_catalog_name_the_same_measures() {
    let catalog = catalog();
    let report = published_report();
    let known: Vec<(&str, &str)> = catalog
        .measures()
        .map(|(slug, m)| (slug, m.id.as_str()))
        .collect();
    for figure in &report.figures {
        assert!(
            known.contains(&(figure.pattern.as_str(), figure.measure.as_str())),
            "docs/benchmarks.json has {}/{}, which no pattern measures",
            figure.pattern,
            figure.measure
        );
    }
    for (slug, measure) in catalog.measures() {
        if let Some(headline) = measure.headline {
            assert!(measure.sizes.contains(&headline), "{slug}/{}", measure.id);
        }
    }
}

/// Every figure region in the README and docs holds what the report says: a figure
/// edited by hand, or a report regenerated without the docs, fails here.
#[test]
fn every_figure_in_the_docs_is_the_reports() {
    let report = published_report();
    for file in markdown_files() {
        let text = read(&file);
        match figures::fill(&text, &report) {
            Ok(filled) => assert!(
                filled == text,
                "{} holds figures the report does not: run `cargo run -p bench-report -- --tables-only`",
                file.display()
            ),
            Err(problems) => panic!("{}: {problems:?}", file.display()),
        }
    }
}

/// Configured values and dataset recipes that prose may state: they are settings, not
/// measurements (file, text as written). A speed-up a pattern was asked to reach is
/// neither: it lives in the measurement log, beside what was measured against it.
const CONSTANTS: &[(&str, &str)] = &[
    ("docs/admin.md", "5 MB"),        // the import's size limit
    ("docs/data.md", "8 KB"),         // the dataset: bodies of 2–8 KB
    ("docs/email.md", "2 s"),         // retry backoff, from 2 s…
    ("docs/email.md", "10 min"),      // …doubling to 10 min
    ("docs/email.md", "60 s"),        // the outbox lease
    ("docs/lab.md", "300 ms"),        // a side's run budget
    ("docs/lab.md", "20 s"),          // the lab gate's wait
    ("docs/lab.md", "50 ms"),         // the lab's SMTP delay
    ("docs/lab.md", "15 s"),          // the request timeout
    ("docs/lab.md", "800 ms"),        // LAB_SIDE_LIMIT_MS
    ("docs/lab.md", "5 s"),           // SQLite's busy timeout
    ("docs/operations.md", "2 s"),    // the naive gate's wait
    ("docs/operations.md", "1 KB"),   // the compression threshold
    ("docs/operations.md", "15 s"),   // the request timeout
    ("docs/operations.md", "600 s"),  // the import's request timeout
    ("docs/operations.md", "64 KB"),  // the comment form's limit
    ("docs/operations.md", "5 MB"),   // the import's limit
    ("docs/operations.md", "10 s"),   // HEADER_READ_TIMEOUT
    ("docs/operations.md", "1.5 s"),  // DATABASE_ACQUIRE_TIMEOUT
    ("docs/operations.md", "0.5 s"),  // /healthz's database budget
    ("docs/operations.md", "256 MB"), // the page cache's budget
    ("docs/operations.md", "20 s"),   // the lab gate's wait
    ("docs/operations.md", "800 ms"), // LAB_SIDE_LIMIT_MS
    ("docs/patterns/fragment-caching.md", "5 minutes"), // the TTL (± 20 %)
    ("docs/patterns/fragment-caching.md", "250 ms"), // Redis connect/response timeout
    ("docs/patterns/fragment-caching.md", "500 ms"), // Redis back-off
    ("docs/patterns/indexes.md", "1 s"), // the DROP INDEX lock_timeout
    ("docs/patterns/offloaded-email.md", "50 ms"), // the lab's SMTP delay, a bench size
    ("docs/patterns/offloaded-email.md", "200 ms"), // a bench size (SMTP delay)
    ("docs/patterns/offloaded-email.md", "40 ms"), // Linux's delayed-ACK timer
    ("docs/patterns/per-view-caching.md", "5 minutes"), // the TTL
    ("docs/patterns/per-view-caching.md", "256 MB"), // the page cache's budget
    ("docs/patterns/per-view-caching.md", "10 minutes"), // stale-if-error's keep time
    ("docs/patterns/projection.md", "8 KB"), // the dataset: bodies of 2–8 KB
    ("docs/patterns/projection.md", "5 KB"), // the recipe's mean body
    ("docs/patterns/streaming.md", "5 MB"), // the import's limit
    ("docs/patterns/streaming.md", "15 s"), // the request timeout
];

/// The log of one-off measurements, each with its date, machine and dataset.
const MEASUREMENT_LOG: &str = "docs/measurement-log.md";

#[test]
fn no_figure_is_typed_by_hand_outside_the_measurement_log() {
    let mut typed = Vec::new();
    for file in markdown_files() {
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .to_string_lossy()
            .replace('\\', "/");
        if name == MEASUREMENT_LOG {
            continue;
        }
        for figure in hand_typed(&typed_prose(&read(&file))) {
            if !CONSTANTS.contains(&(name.as_str(), figure.as_str())) {
                typed.push(format!("{name}: {figure}"));
            }
        }
    }
    assert!(
        typed.is_empty(),
        "figures typed by hand (make them generated regions, or move them to {MEASUREMENT_LOG}):\n{}",
        typed.join("\n")
    );
}

/// A figure the README or a doc quotes from the measurement log
/// (`<!-- log.name:start -->`) is the log's own, word for word.
#[test]
fn every_quote_of_the_measurement_log_is_the_logs_own() {
    let log: Vec<(String, String)> = figures::log_quotes(&read(&root().join(MEASUREMENT_LOG)));
    for file in markdown_files() {
        if file.ends_with(MEASUREMENT_LOG) {
            continue;
        }
        for quote in figures::log_quotes(&read(&file)) {
            assert!(
                log.contains(&quote),
                "{}: `{}` says {:?}, which {MEASUREMENT_LOG} does not",
                file.display(),
                quote.0,
                quote.1
            );
        }
    }
}

/// A folder that is not there, or a file that does not read, is an error naming it.
#[test]
fn a_missing_folder_or_a_broken_file_is_an_error_that_names_it() {
    let missing = Catalog::read(&root().join("docs/no-such-folder")).unwrap_err();
    assert!(missing.contains("no-such-folder"), "{missing}");
    let broken = Catalog::from_files([("broken", "no front matter")]).unwrap_err();
    assert!(broken.starts_with("docs/patterns/broken.md"), "{broken}");
}

#[test]
fn the_lab_takes_one_track_at_a_time_in_the_tracks_order() {
    let tracks: Vec<Track> = catalog().patterns().iter().map(|p| p.track).collect();
    let mut taken: Vec<Track> = tracks.clone();
    taken.dedup();
    let in_order: Vec<Track> = Track::ALL
        .into_iter()
        .filter(|track| taken.contains(track))
        .collect();
    assert_eq!(
        taken, in_order,
        "each track's patterns together, tracks in order"
    );
}

/// A rung must start from a pattern that comes before it: one that does not exist, or
/// comes after, is an error naming the file.
#[test]
fn a_naive_side_may_start_only_from_an_earlier_pattern() {
    let text = |order: u32, starts_from: &str| {
        let eager = read(&root().join("docs/patterns/eager-loading.md"));
        let eager = eager.replacen("order: 10", &format!("order: {order}"), 1);
        if starts_from.is_empty() {
            eager
        } else {
            eager.replacen(
                "\nnaive:\n",
                &format!("\nnaive:\n  starts_from: {starts_from}\n"),
                1,
            )
        }
    };
    let (first, rung) = (text(10, ""), text(20, "first"));
    assert!(Catalog::from_files([("first", first.as_str()), ("rung", rung.as_str())]).is_ok());
    let (late, early) = (text(30, ""), text(20, "late"));
    let error =
        Catalog::from_files([("late", late.as_str()), ("early", early.as_str())]).unwrap_err();
    assert!(error.starts_with("docs/patterns/early.md"), "{error}");
    let nowhere = text(20, "no-such-pattern");
    assert!(Catalog::from_files([("nowhere", nowhere.as_str())]).is_err());
}
