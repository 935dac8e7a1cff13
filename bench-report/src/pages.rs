//! The generated parts of the README and the docs, each between its markers in a
//! hand-written page, and the figures' regions in their prose: the
//! README's tracks, the patterns' index and table (`docs/patterns/README.md`), each
//! pattern's figures (the `## Measured` of its file), and every figure of the report
//! (`docs/benchmarks.md`). Tests hold every page to them, so none can drift from the
//! catalog or the report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use catalog::figures::{fill, replace_region};
use catalog::report::Report;
use catalog::{Catalog, Measure, Pattern, Side, Track};

use crate::report::{markdown, row};

/// The markers of the regions this writes: `<!-- {name}:start -->` … `:end -->`.
const PATTERNS: &str = "patterns";
const PATTERN_TABLE: &str = "pattern-table";
const FIGURES: &str = "bench-report";

/// Rewrites every page under `root` whose generated parts are out of date; returns how
/// many it rewrote.
pub fn write_all(root: &Path, report: &Report, catalog: &Catalog) -> anyhow::Result<usize> {
    let mut rewritten = 0;
    for path in markdown_files(root)? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("could not read {}", path.display()))?;
        let name = relative(root, &path);
        let page = generated(&name, &text, report, catalog)?;
        if page != text {
            std::fs::write(&path, page)
                .with_context(|| format!("could not write {}", path.display()))?;
            rewritten += 1;
        }
    }
    Ok(rewritten)
}

/// `text`, the page at `name` (from the repository's root), with its generated parts
/// as `report` and the catalog make them.
pub fn generated(
    name: &str,
    text: &str,
    report: &Report,
    catalog: &Catalog,
) -> anyhow::Result<String> {
    let pattern = name
        .strip_prefix("docs/patterns/")
        .and_then(|file| file.strip_suffix(".md"))
        .and_then(|slug| catalog.find(slug));
    let mut page = text.to_owned();
    let tables = [
        (PATTERNS, name == "README.md", tracks(report, catalog)),
        (
            PATTERNS,
            name == "docs/patterns/README.md",
            index(report, catalog),
        ),
        (
            PATTERN_TABLE,
            name == "docs/patterns/README.md",
            rebased(&pattern_table(report, catalog), "../../"),
        ),
        (
            FIGURES,
            name == "docs/benchmarks.md",
            markdown(report, catalog),
        ),
        (
            FIGURES,
            pattern.is_some(),
            pattern.map(|p| measured(p, report)).unwrap_or_default(),
        ),
    ];
    for (region, applies, table) in tables {
        if applies {
            page = replace_region(&page, region, &table)
                .with_context(|| format!("{name} has no `{region}` region to fill"))?;
        }
    }
    fill(&page, report).map_err(|problems| anyhow::anyhow!("{name}: {}", problems.join("; ")))
}

/// README.md and every Markdown file under docs/.
pub fn markdown_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = vec![root.join("README.md")];
    let mut pending = vec![root.join("docs")];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("could not read {}", dir.display()))?;
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative.to_string_lossy().replace('\\', "/")
}

/// One row per pattern: its name, its Django (and Rails) names and its headline gain
/// first — what a reader scans for — then where it shows, both sides' files and
/// functions, its tests and how to bench it.
pub fn pattern_table(report: &Report, catalog: &Catalog) -> String {
    let mut table = String::from(
        "| pattern | in Django (Rails) | measured gain (PostgreSQL · SQLite) | shows on | naive | optimized | tests | bench |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for pattern in catalog.patterns() {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | `cargo bench --bench lessons -- {}` |",
            title(pattern),
            elsewhere(pattern),
            gains(pattern, report),
            shows_on(pattern),
            side(&pattern.naive),
            side(&pattern.optimized),
            tests(pattern),
            pattern.slug,
        );
    }
    table
}

/// The README's path through the patterns: each track, then each of its patterns with
/// its Django name and its headline gain, a line each.
pub fn tracks(report: &Report, catalog: &Catalog) -> String {
    let mut list = String::new();
    for track in Track::ALL {
        let _ = writeln!(list, "- **{}.** {}", track.title(), track.about());
        for pattern in catalog.patterns().iter().filter(|p| p.track == track) {
            let headline = pattern
                .live_measure()
                .map(|measure| gain(&pattern.slug, measure, report))
                .unwrap_or_default();
            let _ = writeln!(
                list,
                "  - [{}]({}) ([lab](http://127.0.0.1:3000/lab/{})) — Django: {} — {headline}",
                pattern.title,
                pattern.file(),
                pattern.slug,
                pattern.django,
            );
        }
    }
    list
}

/// `markdown` with its relative links made relative to a page `prefix` away from the
/// repository's root (`../../` for `docs/patterns/`).
fn rebased(markdown: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 10);
    let mut rest = markdown;
    while let Some(at) = rest.find("](") {
        let (before, after) = rest.split_at(at + 2);
        out.push_str(before);
        if !after.starts_with("http") && !after.starts_with('#') {
            out.push_str(prefix);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The patterns' index: each one's file and lab page, its problem and its gains.
pub fn index(report: &Report, catalog: &Catalog) -> String {
    let mut list = String::new();
    for pattern in catalog.patterns() {
        let problem = pattern.section("The problem").unwrap_or_default();
        let problem = problem
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .replace('\n', " ");
        let _ = writeln!(
            list,
            "- **[{}]({}.md)** ([lab](http://127.0.0.1:3000/lab/{})) — {problem} Measured: {}.",
            pattern.title,
            pattern.slug,
            pattern.slug,
            gains(pattern, report)
        );
    }
    list
}

/// A pattern's `## Measured`: every figure of its measures, and where they come from.
pub fn measured(pattern: &Pattern, report: &Report) -> String {
    let mut text = format!(
        "Criterion medians from the bench report (`docs/benchmarks.json`), measured {}, {}: \
         `cargo bench --bench lessons -- {}`.\n\n",
        report.where_and_when(&pattern.slug),
        pattern.dataset(),
        pattern.slug
    );
    text.push_str(
        "| measure | size | backend | naive | optimized | speed-up |\n|---|---|---|---|---|---|\n",
    );
    for measure in &pattern.measures {
        let figures: Vec<_> = report.of(&pattern.slug, &measure.id).collect();
        if figures.is_empty() {
            let _ = writeln!(text, "| {} | — | — | not measured yet | | |", measure.what);
        }
        for figure in figures {
            let _ = writeln!(text, "{}", row(&measure.what, figure));
        }
    }
    text
}

/// `select_related('author')` … (Rails: `includes(:author, :tags)`), a `|` escaped so
/// it cannot end the cell.
fn elsewhere(pattern: &Pattern) -> String {
    let text = match &pattern.rails {
        Some(rails) => format!("{} (Rails: {rails})", pattern.django),
        None => pattern.django.clone(),
    };
    text.replace('|', "\\|")
}

fn title(pattern: &Pattern) -> String {
    format!(
        "**{}** ([lab](http://127.0.0.1:3000/lab/{}), [docs]({}), [lesson](src/lab/lessons/{}.rs))",
        pattern.title,
        pattern.slug,
        pattern.file(),
        pattern.slug.replace('-', "_")
    )
}

fn shows_on(pattern: &Pattern) -> String {
    let places: Vec<String> = pattern
        .shows_on
        .iter()
        .map(|place| format!("[{}]({}/) `{}`", place.view, place.folder, place.path))
        .collect();
    places.join(", ")
}

/// Each file of the side linked once, its functions after it, then the summary.
fn side(side: &Side) -> String {
    let mut files: Vec<(&str, Vec<&str>)> = Vec::new();
    for code in &side.code {
        match files.iter_mut().find(|(file, _)| *file == code.file) {
            Some((_, functions)) => functions.push(&code.function),
            None => files.push((&code.file, vec![&code.function])),
        }
    }
    let links: Vec<String> = files
        .iter()
        .map(|(file, functions)| {
            let short = file
                .trim_start_matches("src/views/")
                .trim_start_matches("src/");
            let functions: Vec<String> = functions.iter().map(|f| format!("`{f}`")).collect();
            format!("[`{short}`]({file}) {}", functions.join(", "))
        })
        .collect();
    format!(
        "{}: {}",
        links.join(" · "),
        side.summary.replace('|', "\\|")
    )
}

fn tests(pattern: &Pattern) -> String {
    let links: Vec<String> = pattern
        .tests
        .iter()
        .map(|path| format!("[`{}`]({path})", path.trim_start_matches("tests/api/")))
        .collect();
    links.join(", ")
}

/// Per measure, at its headline size: the speed-up on PostgreSQL (bold) and on SQLite.
fn gains(pattern: &Pattern, report: &Report) -> String {
    let gains: Vec<String> = pattern
        .measures
        .iter()
        .map(|measure| gain(&pattern.slug, measure, report))
        .collect();
    gains.join("; ")
}

fn gain(slug: &str, measure: &Measure, report: &Report) -> String {
    report.headline_markdown(slug, measure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn published() -> Report {
        let json =
            std::fs::read_to_string(root().join("docs/benchmarks.json")).expect("the report");
        serde_json::from_str(&json).expect("a report")
    }

    /// Every page's generated parts are what the catalog and the report make: a table
    /// edited by hand, or a pattern file changed without regenerating, fails here.
    #[test]
    fn every_generated_part_of_the_readme_and_docs_is_up_to_date() {
        let report = published();
        let mut stale = Vec::new();
        for path in markdown_files(&root()).expect("the docs") {
            let text = std::fs::read_to_string(&path).expect("a page");
            let name = relative(&root(), &path);
            match generated(&name, &text, &report, &crate::tests_catalog()) {
                Ok(page) if page == text => {}
                Ok(_) => stale.push(name),
                Err(error) => stale.push(format!("{name}: {error:#}")),
            }
        }
        assert!(
            stale.is_empty(),
            "out of date (run `cargo run -p bench-report -- --tables-only`): {stale:?}"
        );
    }

    #[test]
    fn every_pattern_has_a_row_that_links_both_sides_files_and_its_django_names() {
        let catalog = crate::tests_catalog();
        let table = pattern_table(&Report::default(), &catalog);
        for pattern in catalog.patterns() {
            let row = table
                .lines()
                .find(|line| line.contains(&format!("/lab/{})", pattern.slug)))
                .unwrap_or_else(|| panic!("no row for {}", pattern.slug));
            for code in pattern.naive.code.iter().chain(&pattern.optimized.code) {
                assert!(
                    row.contains(&format!("]({})", code.file)),
                    "{}: {}",
                    pattern.slug,
                    code.file
                );
            }
            assert!(row.contains("not measured yet"), "{row}");
            assert!(
                row.contains(&pattern.django.replace('|', "\\|")),
                "{}",
                pattern.slug
            );
        }
    }

    #[test]
    fn a_page_without_the_region_it_needs_is_refused() {
        let catalog = crate::tests_catalog();
        let error = generated(
            "docs/benchmarks.md",
            "no markers\n",
            &Report::default(),
            &catalog,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("no `bench-report` region"),
            "{error}"
        );
    }

    /// A learner's README: the tracks, a line a pattern; the wide table and the rows of
    /// figures live in docs/.
    #[test]
    fn the_readme_has_the_tracks_and_not_the_wide_table_or_every_figure() {
        let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
        assert!(text.contains("<!-- patterns:start -->"));
        for track in Track::ALL {
            assert!(text.contains(track.title()), "{track:?}");
        }
        for generated_elsewhere in [
            "<!-- pattern-table:start -->",
            "<!-- bench-report:start -->",
        ] {
            assert!(
                !text.contains(generated_elsewhere),
                "{generated_elsewhere} belongs in docs/"
            );
        }
        let longest = text.lines().map(str::len).max().unwrap_or(0);
        assert!(longest < 400, "a README line of {longest} characters");
    }

    #[test]
    fn the_wide_table_links_from_docs_patterns_to_the_repository() {
        let rebased = rebased(
            "[a](src/x.rs) [b](https://e.org) [c](#here) [d](docs/y.md)",
            "../../",
        );
        assert_eq!(
            rebased,
            "[a](../../src/x.rs) [b](https://e.org) [c](#here) [d](../../docs/y.md)"
        );
    }
}
