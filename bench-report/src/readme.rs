//! The generated tables, each between its markers in a hand-written page: the
//! patterns (from the catalog, with each pattern's headline gain from the report) in
//! the README, and every figure of the report in `docs/benchmarks.md`, whose prose
//! around them is kept. Tests hold both pages to them, so neither can drift from the
//! catalog or from the figures.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use perfblog::catalog::figures::{self, Report};
use perfblog::catalog::{Comparison, PATTERNS, Pattern, Side};

use crate::report::markdown;

const PATTERNS_START: &str = "<!-- patterns:start -->";
const PATTERNS_END: &str = "<!-- patterns:end -->";
const FIGURES_START: &str = "<!-- bench-report:start -->";
const FIGURES_END: &str = "<!-- bench-report:end -->";

/// Rewrites the pattern table of the README at `path`.
pub fn update(path: &Path, report: &Report) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let text = replace(&text, PATTERNS_START, PATTERNS_END, &pattern_table(report))
        .with_context(|| path.display().to_string())?;
    std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))
}

/// The figures page (`benchmarks.md`) as it should be: `previous` with the table
/// between its markers replaced, or — with no page or one without the markers — the
/// table alone.
pub fn figures_page(previous: Option<&str>, report: &Report) -> String {
    let table = markdown(report);
    match previous {
        Some(text) if region(text, FIGURES_START, FIGURES_END).is_some() => {
            replace(text, FIGURES_START, FIGURES_END, &table).unwrap_or(table)
        }
        _ => table,
    }
}

/// Where the text between `start` and `end` begins and ends, both present and in
/// that order.
fn region(text: &str, start: &str, end: &str) -> Option<(usize, usize)> {
    let from = text.find(start)? + start.len();
    let to = from + text[from..].find(end)?;
    Some((from, to))
}

/// `text` with the region between `start` and `end` replaced by `body`.
fn replace(text: &str, start: &str, end: &str, body: &str) -> anyhow::Result<String> {
    let Some((from, to)) = region(text, start, end) else {
        bail!("there is no `{start}` … `{end}` region to fill");
    };
    Ok(format!("{}\n{body}{}", &text[..from], &text[to..]))
}

/// One row per pattern: its name, its Django (and Rails) equivalent and its headline
/// gain first — what a reader scans for — then where it shows, both sides' files and
/// functions, its tests and its benches.
pub fn pattern_table(report: &Report) -> String {
    let mut table = String::from(
        "| pattern | in Django (Rails) | measured gain (PostgreSQL · SQLite) | shows on | naive | optimized | tests | bench |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for pattern in PATTERNS {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            title(pattern),
            elsewhere(pattern),
            gains(pattern, report),
            shows_on(pattern),
            side(&pattern.naive),
            side(&pattern.optimized),
            tests(pattern),
            benches(pattern),
        );
    }
    table
}

/// `select_related('author')` … (Rails: `includes(:author, :tags)`), a `|` escaped so
/// it cannot end the cell.
fn elsewhere(pattern: &Pattern) -> String {
    let text = match pattern.rails {
        Some(rails) => format!("{} (Rails: {rails})", pattern.django),
        None => pattern.django.to_owned(),
    };
    text.replace('|', "\\|")
}

fn title(pattern: &Pattern) -> String {
    format!(
        "**{}** ([lab](http://127.0.0.1:3000/lab/{}), [entry](src/catalog/{}.rs))",
        pattern.title,
        pattern.slug,
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
    for code in side.code {
        match files.iter_mut().find(|(file, _)| *file == code.file) {
            Some((_, functions)) => functions.push(code.function),
            None => files.push((code.file, vec![code.function])),
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
    format!("{}: {}", links.join(" · "), side.summary)
}

fn tests(pattern: &Pattern) -> String {
    let links: Vec<String> = pattern
        .tests
        .iter()
        .map(|path| format!("[`{}`]({path})", path.trim_start_matches("tests/api/")))
        .collect();
    links.join(", ")
}

fn benches(pattern: &Pattern) -> String {
    let ids: Vec<String> = pattern
        .benches
        .iter()
        .map(|c| format!("`{}` `{}` · `{}`", c.bench, c.naive, c.optimized))
        .collect();
    ids.join("; ")
}

/// Per comparison, at its headline size: the speed-up on PostgreSQL (bold) and on
/// SQLite.
fn gains(pattern: &Pattern, report: &Report) -> String {
    let gains: Vec<String> = pattern
        .benches
        .iter()
        .map(|comparison| gain(comparison, report))
        .collect();
    gains.join("; ")
}

fn gain(comparison: &Comparison, report: &Report) -> String {
    let what = comparison
        .what
        .split_once(": ")
        .map_or(comparison.what, |(_, what)| what);
    let size = comparison.headline.unwrap_or("");
    let on = |backend: &str| {
        report
            .of(comparison)
            .find(|figure| figure.backend == backend && figure.size == size)
            .map(|figure| figures::speedup(figure.speedup()))
    };
    let at = comparison
        .headline
        .map(|size| match size.parse::<u64>() {
            Ok(n) => format!(", {}", figures::thousands(n)),
            Err(_) => format!(", {size}"),
        })
        .unwrap_or_default();
    match (on("PostgreSQL"), on("SQLite")) {
        (None, None) => format!("{what}{at}: not measured yet"),
        (pg, sqlite) => format!(
            "{what}{at}: **{}** · {}",
            pg.as_deref().unwrap_or("—"),
            sqlite.as_deref().unwrap_or("—")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGENERATE: &str = "run `cargo run -p bench-report -- --readme README.md --tables-only` \
                              (or without --tables-only after `cargo bench`)";

    fn read(page: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(page);
        std::fs::read_to_string(path).expect(page)
    }

    fn readme() -> String {
        read("README.md")
    }

    #[test]
    fn the_readme_pattern_table_is_the_catalogs() {
        let text = readme();
        let (from, to) =
            region(&text, PATTERNS_START, PATTERNS_END).expect("the README's pattern table");
        let expected = pattern_table(figures::published());
        assert!(
            text[from..to] == format!("\n{expected}"),
            "The README's pattern table disagrees with the catalog: {REGENERATE}.\n\
             README:\n{}\ncatalog:\n{expected}",
            &text[from..to]
        );
    }

    /// The figures live in `docs/benchmarks.md`, amid the prose that reads them.
    #[test]
    fn the_benchmarks_page_figures_are_the_published_reports() {
        let text = read("docs/benchmarks.md");
        let (from, to) = region(&text, FIGURES_START, FIGURES_END)
            .expect("docs/benchmarks.md's figures, between their markers");
        let expected = markdown(figures::published());
        assert!(
            text[from..to] == format!("\n{expected}"),
            "docs/benchmarks.md's figures are not docs/benchmarks.json's: {REGENERATE}."
        );
    }

    /// A learner's README: the pattern table, not the eighty rows of figures.
    #[test]
    fn the_readme_has_the_pattern_table_and_not_the_figures() {
        let text = readme();
        assert!(region(&text, PATTERNS_START, PATTERNS_END).is_some());
        assert!(
            !text.contains(FIGURES_START),
            "the figures belong in docs/benchmarks.md"
        );
    }

    #[test]
    fn the_figures_page_keeps_its_prose_and_a_bare_page_is_the_table() {
        let report = Report::default();
        let table = markdown(&report);
        let page = format!("# Benchmarks\nhow\n{FIGURES_START}\nold\n{FIGURES_END}\nwhy\n");
        assert_eq!(
            figures_page(Some(&page), &report),
            format!("# Benchmarks\nhow\n{FIGURES_START}\n{table}{FIGURES_END}\nwhy\n")
        );
        assert_eq!(figures_page(Some("an old table\n"), &report), table);
        assert_eq!(figures_page(None, &report), table);
    }

    #[test]
    fn every_pattern_has_a_row_that_links_both_sides_files() {
        let table = pattern_table(&Report::default());
        for pattern in PATTERNS {
            let row = table
                .lines()
                .find(|line| line.contains(&format!("/lab/{})", pattern.slug)))
                .unwrap_or_else(|| panic!("no row for {}", pattern.slug));
            for code in pattern.naive.code.iter().chain(pattern.optimized.code) {
                assert!(
                    row.contains(&format!("]({})", code.file)),
                    "{}: {}",
                    pattern.slug,
                    code.file
                );
            }
            assert!(row.contains("not measured yet"), "{row}");
            assert!(
                row.contains(pattern.django),
                "{}: its Django name",
                pattern.slug
            );
        }
    }

    #[test]
    fn a_region_is_replaced_between_its_markers_only() {
        let text = format!("intro\n{PATTERNS_START}\nold table\n{PATTERNS_END}\noutro\n");
        let replaced = replace(&text, PATTERNS_START, PATTERNS_END, "| new | table |\n").unwrap();
        assert_eq!(
            replaced,
            format!("intro\n{PATTERNS_START}\n| new | table |\n{PATTERNS_END}\noutro\n")
        );
    }

    #[test]
    fn a_readme_without_both_markers_in_order_is_refused() {
        for text in [
            "no markers\n".to_owned(),
            format!("{FIGURES_START}\nno end\n"),
            format!("{FIGURES_END}\nend first\n{FIGURES_START}\n"),
        ] {
            let error = replace(&text, FIGURES_START, FIGURES_END, "x").unwrap_err();
            assert!(error.to_string().contains("region to fill"), "{error}");
        }
    }
}
