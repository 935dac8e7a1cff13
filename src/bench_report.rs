//! `perfblog bench-report`: criterion's results (`target/criterion`) as the summary
//! the README shows — a markdown table of naive against optimized, and an SVG chart
//! of the speed-ups. Criterion's own HTML reports stay the detailed view.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Which criterion functions are each other's naive and optimized sides.
const COMPARISONS: [(&str, &str, &str, &str); 12] = [
    (
        "eager loading: post list (posts a page)",
        "eager_loading",
        "list-naive",
        "list-optimized",
    ),
    (
        "eager loading: post page (50 comments)",
        "eager_loading",
        "detail-naive",
        "detail-optimized",
    ),
    (
        "column projection (posts)",
        "projection",
        "whole-rows",
        "projected",
    ),
    (
        "bulk update: publish drafts (rows)",
        "bulk_update",
        "publish-naive",
        "publish-optimized",
    ),
    (
        "bulk insert: import (posts)",
        "bulk_insert",
        "import-naive",
        "import-optimized",
    ),
    (
        "atomic counter (concurrent views)",
        "atomic_counter",
        "naive",
        "optimized",
    ),
    (
        "offloaded email: comment (SMTP delay, ms)",
        "offloaded_email",
        "post-naive",
        "post-optimized",
    ),
    (
        "aggregation: sidebar",
        "fragment_cache",
        "sidebar-naive",
        "sidebar-aggregated",
    ),
    (
        "fragment cache: sidebar, in process",
        "fragment_cache",
        "sidebar-naive",
        "sidebar-cached-memory",
    ),
    (
        "fragment cache: sidebar, Redis",
        "fragment_cache",
        "sidebar-naive",
        "sidebar-cached-redis",
    ),
    (
        "fragment cache: list page, in process",
        "fragment_cache",
        "page-naive",
        "page-optimized-memory",
    ),
    (
        "fragment cache: list page, Redis",
        "fragment_cache",
        "page-naive",
        "page-optimized-redis",
    ),
];

#[derive(Deserialize)]
struct Benchmark {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
}

#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

/// One measured benchmark: its median, in nanoseconds.
struct Result {
    median_ns: f64,
    measured: SystemTime,
}

/// One line of the summary.
pub struct Row {
    pub pattern: &'static str,
    pub size: String,
    pub backend: String,
    pub naive_ns: f64,
    pub optimized_ns: f64,
}

impl Row {
    pub fn speedup(&self) -> f64 {
        self.naive_ns / self.optimized_ns.max(f64::MIN_POSITIVE)
    }
}

/// The README region `bench-report --readme` rewrites.
const README_START: &str = "<!-- bench-report:start -->";
const README_END: &str = "<!-- bench-report:end -->";

/// Replaces the text between the README's `bench-report` markers with `table`.
pub fn update_readme(readme: &Path, table: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(readme)
        .with_context(|| format!("could not read {}", readme.display()))?;
    let table = std::fs::read_to_string(table)
        .with_context(|| format!("could not read {}", table.display()))?;
    let start = text.find(README_START);
    let end = start.and_then(|start| text[start..].find(README_END).map(|end| start + end));
    let (Some(start), Some(end)) = (start, end) else {
        bail!(
            "{} has no `{README_START}` … `{README_END}` region to fill",
            readme.display()
        );
    };
    let updated = format!("{}{README_START}\n{table}{}", &text[..start], &text[end..]);
    std::fs::write(readme, updated).with_context(|| format!("could not write {}", readme.display()))
}

/// Writes `benchmarks.md` and `speedups.svg` into `out` from the results under
/// `criterion`; returns the two paths.
pub fn generate(criterion: &Path, out: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let results = read_results(criterion)?;
    if results.is_empty() {
        bail!(
            "no criterion results in {}; run `cargo bench` first",
            criterion.display()
        );
    }
    let rows = compare(&results);
    let measured = results
        .values()
        .map(|result| result.measured)
        .max()
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(Utc::now);
    std::fs::create_dir_all(out).with_context(|| format!("could not create {}", out.display()))?;
    let table = out.join("benchmarks.md");
    let chart = out.join("speedups.svg");
    std::fs::write(&table, markdown(&rows, measured))
        .with_context(|| format!("could not write {}", table.display()))?;
    std::fs::write(&chart, svg(&rows))
        .with_context(|| format!("could not write {}", chart.display()))?;
    Ok((table, chart))
}

/// `(group, function, value)` → result, for every `new/benchmark.json` under `dir`.
fn read_results(dir: &Path) -> anyhow::Result<BTreeMap<(String, String, String), Result>> {
    let mut results = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.ends_with("new/benchmark.json") {
                let Some(new) = path.parent() else { continue };
                let benchmark: Benchmark =
                    serde_json::from_str(&std::fs::read_to_string(&path)?)
                        .with_context(|| format!("reading {}", path.display()))?;
                let estimates_path = new.join("estimates.json");
                let estimates: Estimates =
                    serde_json::from_str(&std::fs::read_to_string(&estimates_path)?)
                        .with_context(|| format!("reading {}", estimates_path.display()))?;
                let measured = std::fs::metadata(&estimates_path)?.modified()?;
                results.insert(
                    (
                        benchmark.group_id,
                        benchmark.function_id.unwrap_or_default(),
                        benchmark.value_str.unwrap_or_default(),
                    ),
                    Result {
                        median_ns: estimates.median.point_estimate,
                        measured,
                    },
                );
            }
        }
    }
    Ok(results)
}

fn compare(results: &BTreeMap<(String, String, String), Result>) -> Vec<Row> {
    let mut rows = Vec::new();
    for (pattern, group, naive, optimized) in COMPARISONS {
        for backend in ["postgres", "sqlite"] {
            let group_id = format!("{group}-{backend}");
            let mut sizes: Vec<&String> = results
                .keys()
                .filter(|(g, f, _)| *g == group_id && f == naive)
                .map(|(_, _, size)| size)
                .collect();
            sizes.sort_by_key(|size| (size.parse::<u64>().unwrap_or(0), size.to_string()));
            for size in sizes {
                let key = |function: &str| (group_id.clone(), function.to_owned(), size.clone());
                if let (Some(slow), Some(fast)) =
                    (results.get(&key(naive)), results.get(&key(optimized)))
                {
                    rows.push(Row {
                        pattern,
                        size: size.clone(),
                        backend: if backend == "postgres" {
                            "PostgreSQL"
                        } else {
                            "SQLite"
                        }
                        .to_owned(),
                        naive_ns: slow.median_ns,
                        optimized_ns: fast.median_ns,
                    });
                }
            }
        }
    }
    rows
}

fn duration(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.1} µs", ns / 1e3),
        ns => format!("{ns:.0} ns"),
    }
}

fn speedup(x: f64) -> String {
    if x >= 100.0 {
        format!("{}×", thousands(x.round() as u64))
    } else {
        format!("{x:.1}×")
    }
}

/// The chart's axis: `1×`, `10×`, `100×`, `1k×` … `10M×`, short enough not to overlap.
fn decade_label(decade: u32) -> String {
    let (scale, suffix) = match decade {
        0..=2 => (0, ""),
        3..=5 => (3, "k"),
        _ => (6, "M"),
    };
    format!("{}{suffix}×", 10u64.pow(decade - scale))
}

/// `1548534` → `1,548,534`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|name| name.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} cores, {cpu}")
}

fn markdown(rows: &[Row], measured: DateTime<Utc>) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Criterion medians, measured up to {} on {} (standard dataset; `cargo bench`, \
         PostgreSQL runs with `BENCH_DATABASE_URL`, Redis with `BENCH_REDIS_URL`).\n",
        measured.format("%Y-%m-%d"),
        machine()
    );
    let _ = writeln!(
        text,
        "| pattern | size | backend | naive | optimized | speed-up |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|");
    for row in rows {
        let _ = writeln!(
            text,
            "| {} | {} | {} | {} | {} | {} |",
            row.pattern,
            if row.size.is_empty() {
                "—"
            } else {
                &row.size
            },
            row.backend,
            duration(row.naive_ns),
            duration(row.optimized_ns),
            speedup(row.speedup())
        );
    }
    text
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bars on a log scale: one per row, PostgreSQL blue, SQLite teal.
fn svg(rows: &[Row]) -> String {
    const LABEL: f64 = 420.0;
    const BARS: f64 = 440.0;
    const ROW: f64 = 22.0;
    let max = rows
        .iter()
        .map(Row::speedup)
        .fold(10.0_f64, f64::max)
        .log10()
        .ceil();
    let height = 40.0 + ROW * rows.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
        w = LABEL + BARS + 70.0
    );
    for decade in 0..=(max as u32) {
        let x = LABEL + BARS * f64::from(decade) / max;
        let _ = writeln!(
            svg,
            "<line x1=\"{x}\" y1=\"20\" x2=\"{x}\" y2=\"{}\" stroke=\"#e3e8ee\"/>\
             <text x=\"{x}\" y=\"14\" text-anchor=\"middle\" fill=\"#5d6b7a\">{}</text>",
            height - 10.0,
            decade_label(decade)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = 24.0 + ROW * i as f64;
        let width = (BARS * row.speedup().max(1.0).log10() / max).max(1.0);
        let color = if row.backend == "PostgreSQL" {
            "#336791"
        } else {
            "#2a9d8f"
        };
        let label = if row.size.is_empty() {
            format!("{} · {}", row.pattern, row.backend)
        } else {
            format!("{} {} · {}", row.pattern, row.size, row.backend)
        };
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#1d232b\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{}\" fill=\"#1d232b\">{}</text>",
            LABEL - 8.0,
            y + 13.0,
            escape(&label),
            ROW - 6.0,
            LABEL + width + 4.0,
            y + 13.0,
            speedup(row.speedup())
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_result(root: &Path, group: &str, function: &str, value: Option<&str>, median: f64) {
        let mut dir = root.join(group).join(function);
        if let Some(value) = value {
            dir = dir.join(value);
        }
        let new = dir.join("new");
        std::fs::create_dir_all(&new).unwrap();
        let value_json = value.map_or("null".to_owned(), |v| format!("\"{v}\""));
        std::fs::write(
            new.join("benchmark.json"),
            format!("{{\"group_id\":\"{group}\",\"function_id\":\"{function}\",\"value_str\":{value_json}}}"),
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            format!("{{\"median\":{{\"point_estimate\":{median}}}}}"),
        )
        .unwrap();
    }

    #[test]
    fn pairs_naive_and_optimized_by_backend_and_size() {
        let criterion = tempfile::tempdir().unwrap();
        let root = criterion.path();
        write_result(
            root,
            "eager_loading-postgres",
            "list-naive",
            Some("20"),
            6_960_000.0,
        );
        write_result(
            root,
            "eager_loading-postgres",
            "list-optimized",
            Some("20"),
            600_000.0,
        );
        write_result(
            root,
            "eager_loading-sqlite",
            "list-naive",
            Some("100"),
            21_500_000.0,
        );
        write_result(
            root,
            "eager_loading-sqlite",
            "list-optimized",
            Some("100"),
            1_290_000.0,
        );
        write_result(
            root,
            "fragment_cache-postgres",
            "sidebar-naive",
            None,
            334_000_000.0,
        );
        write_result(
            root,
            "fragment_cache-postgres",
            "sidebar-aggregated",
            None,
            41_000_000.0,
        );
        let out = tempfile::tempdir().unwrap();

        let (table, chart) = generate(root, out.path()).unwrap();

        let table = std::fs::read_to_string(table).unwrap();
        assert!(table.contains("| eager loading: post list (posts a page) | 20 | PostgreSQL | 6.96 ms | 600.0 µs | 11.6× |"), "{table}");
        assert!(
            table.contains("| 100 | SQLite | 21.50 ms | 1.29 ms | 16.7× |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| aggregation: sidebar | — | PostgreSQL | 334.00 ms | 41.00 ms | 8.1× |"
            ),
            "{table}"
        );
        let chart = std::fs::read_to_string(chart).unwrap();
        assert!(chart.starts_with("<svg") && chart.contains("11.6×"));
        assert!(
            chart.contains(">10×</text>") && !chart.contains("××"),
            "{chart}"
        );
    }

    #[test]
    fn the_readme_table_is_replaced_between_its_markers_only() {
        let dir = tempfile::tempdir().unwrap();
        let readme = dir.path().join("README.md");
        let table = dir.path().join("benchmarks.md");
        std::fs::write(
            &readme,
            format!("intro\n{README_START}\nold table\n{README_END}\noutro\n"),
        )
        .unwrap();
        std::fs::write(&table, "| new | table |\n").unwrap();

        update_readme(&readme, &table).unwrap();

        let text = std::fs::read_to_string(&readme).unwrap();
        assert_eq!(
            text,
            format!("intro\n{README_START}\n| new | table |\n{README_END}\noutro\n")
        );
    }

    #[test]
    fn the_axis_labels_stay_short() {
        let labels: Vec<String> = (0..=7).map(decade_label).collect();
        assert_eq!(
            labels,
            ["1×", "10×", "100×", "1k×", "10k×", "100k×", "1M×", "10M×"]
        );
    }

    #[test]
    fn a_readme_without_both_markers_in_order_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let readme = dir.path().join("README.md");
        let table = dir.path().join("benchmarks.md");
        std::fs::write(&table, "| new | table |\n").unwrap();
        for text in [
            "no markers\n".to_owned(),
            format!("{README_START}\nno end\n"),
            format!("{README_END}\nend first\n{README_START}\n"),
        ] {
            std::fs::write(&readme, &text).unwrap();

            let error = update_readme(&readme, &table).unwrap_err().to_string();

            assert!(error.contains("region to fill"), "{error}");
            assert_eq!(std::fs::read_to_string(&readme).unwrap(), text);
        }
    }

    #[test]
    fn large_speed_ups_are_grouped_by_thousands() {
        assert_eq!(speedup(1_548_534.4), "1,548,534×");
        assert_eq!(speedup(130.2), "130×");
        assert_eq!(speedup(11.43), "11.4×");
    }

    #[test]
    fn no_results_is_an_error_that_says_what_to_run() {
        let empty = tempfile::tempdir().unwrap();
        let error = generate(empty.path(), empty.path())
            .unwrap_err()
            .to_string();
        assert!(error.contains("run `cargo bench` first"), "{error}");
    }
}
