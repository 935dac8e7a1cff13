//! The report: criterion's results paired by the catalog's measures, and the table of
//! every figure.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::bail;
use catalog::report::{self, BACKENDS, Figure, Report};
use catalog::{Catalog, Measure};
use chrono::{DateTime, Utc};

use crate::results::{self, Key, Measurement};

/// The report of the results under `criterion`.
pub fn from_criterion(criterion: &Path, catalog: &Catalog) -> anyhow::Result<Report> {
    let results = results::read(criterion)?;
    if results.is_empty() {
        bail!(
            "no criterion results in {}; run `cargo bench` first",
            criterion.display()
        );
    }
    let measured = results
        .values()
        .map(|result| result.measured)
        .max()
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(Utc::now);
    Ok(Report {
        measured: measured.format("%Y-%m-%d").to_string(),
        machine: catalog::report::machine(),
        figures: catalog
            .measures()
            .flat_map(|(slug, measure)| pair(&results, slug, measure))
            .collect(),
    })
}

/// `fresh`, with the figures of `previous` it did not measure again (a run of one
/// bench keeps the others' figures), in the catalog's order.
pub fn merged(previous: Report, fresh: Report, catalog: &Catalog) -> Report {
    let same = |a: &Figure, b: &Figure| {
        (&a.pattern, &a.measure, &a.size, &a.backend)
            == (&b.pattern, &b.measure, &b.size, &b.backend)
    };
    let mut figures = fresh.figures;
    for mut old in previous.figures {
        if !figures.iter().any(|figure| same(figure, &old)) {
            // Measured on the previous report's machine unless it says otherwise; said
            // only where that is not the fresh report's.
            let machine = old
                .machine
                .take()
                .unwrap_or_else(|| previous.machine.clone());
            let day = old
                .measured
                .take()
                .unwrap_or_else(|| previous.measured.clone());
            let elsewhere = machine != fresh.machine;
            old.machine = elsewhere.then_some(machine);
            old.measured = elsewhere.then_some(day);
            figures.push(old);
        }
    }
    let order: Vec<(&str, &str)> = catalog
        .measures()
        .map(|(slug, m)| (slug, m.id.as_str()))
        .collect();
    figures.sort_by_key(|figure| {
        (
            order
                .iter()
                .position(|&(slug, id)| figure.pattern == slug && figure.measure == id),
            BACKENDS
                .iter()
                .position(|(_, name)| *name == figure.backend),
            figure.size.parse::<u64>().unwrap_or(0),
            figure.size.clone(),
        )
    });
    Report {
        measured: fresh.measured.max(previous.measured),
        machine: fresh.machine,
        figures,
    }
}

/// A measure's figures: per backend, each size both sides were measured at, as
/// `benches/lessons.rs` files them (`{slug}-{backend}` / `{id}-naive` / size).
fn pair(results: &BTreeMap<Key, Measurement>, slug: &str, measure: &Measure) -> Vec<Figure> {
    let (naive, optimized) = (
        format!("{}-naive", measure.id),
        format!("{}-optimized", measure.id),
    );
    let mut figures = Vec::new();
    for (group_suffix, backend) in BACKENDS {
        let group = format!("{slug}-{group_suffix}");
        let mut sizes: Vec<&String> = results
            .keys()
            .filter(|(g, f, _)| *g == group && *f == naive)
            .map(|(_, _, size)| size)
            .collect();
        sizes.sort_by_key(|size| (size.parse::<u64>().unwrap_or(0), size.to_string()));
        for size in sizes {
            let key = |function: &str| (group.clone(), function.to_owned(), size.clone());
            if let (Some(n), Some(o)) = (results.get(&key(&naive)), results.get(&key(&optimized))) {
                figures.push(Figure {
                    naive_found: n.found,
                    optimized_found: o.found,
                    ..Figure::new((slug, &measure.id), size, backend, n.median_ns, o.median_ns)
                });
            }
        }
    }
    figures
}

/// The table of every figure, with the line that says where it was measured.
pub fn markdown(report: &Report, catalog: &Catalog) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Criterion medians, measured up to {} on {} (the standard dataset unless the pattern's page names a database of its own; \
         `cargo bench`, PostgreSQL runs with `BENCH_DATABASE_URL`, Redis with `BENCH_REDIS_URL`, a standby with `BENCH_REPLICA_URL`){}.\n",
        report.measured,
        report.machine,
        match report.figures.iter().any(|figure| figure.machine.is_some()) {
            true => "; figures measured on another machine say so in their row",
            false => "",
        }
    );
    let _ = writeln!(
        text,
        "| comparison | size | backend | naive | optimized | speed-up |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|");
    for figure in &report.figures {
        let label = catalog.label(&figure.pattern, &figure.measure);
        let _ = writeln!(text, "{}", row(&label, figure));
    }
    text
}

/// A figure as a table row: `| what | size | backend | naive | optimized | speed-up |`.
pub fn row(what: &str, figure: &Figure) -> String {
    format!(
        "| {what} | {} | {} | {} | {} | {} |",
        if figure.size.is_empty() {
            "—"
        } else {
            &figure.size
        },
        match (&figure.machine, &figure.measured) {
            (Some(machine), Some(day)) => format!("{} (on {machine}, {day})", figure.backend),
            (Some(machine), None) => format!("{} (on {machine})", figure.backend),
            _ => figure.backend.clone(),
        },
        report::duration(figure.naive_ns),
        report::duration(figure.optimized_ns),
        report::speedup(figure.speedup())
    )
}

/// "2 cores, AMD EPYC": what the figures were measured on.
#[cfg(test)]
mod tests {
    use super::*;
    use catalog::report::{Amount, FOUND_FILE};

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
    fn pairs_the_catalogs_measures_by_backend_and_size() {
        let criterion = tempfile::tempdir().unwrap();
        let root = criterion.path();
        let pg = "eager-loading-postgres";
        write_result(root, pg, "entries-naive", Some("20"), 6_960_000.0);
        write_result(root, pg, "entries-optimized", Some("20"), 600_000.0);
        write_result(
            root,
            "eager-loading-sqlite",
            "entries-naive",
            Some("100"),
            21_500_000.0,
        );
        write_result(
            root,
            "eager-loading-sqlite",
            "entries-optimized",
            Some("100"),
            1_290_000.0,
        );
        write_result(
            root,
            "aggregation-postgres",
            "sidebar-naive",
            None,
            334_000_000.0,
        );
        write_result(
            root,
            "aggregation-postgres",
            "sidebar-optimized",
            None,
            41_000_000.0,
        );
        write_result(
            root,
            "aggregation-postgres",
            "not-in-the-catalog",
            None,
            1.0,
        );

        let report = from_criterion(root, &crate::tests_catalog()).unwrap();

        assert_eq!(report.figures.len(), 3, "{:?}", report.figures);
        let table = markdown(&report, &crate::tests_catalog());
        assert!(
            table.contains("| Eager loading: list entries (posts) | 20 | PostgreSQL | 6.96 ms | 600.0 µs | 11.6× |"),
            "{table}"
        );
        assert!(
            table.contains("| 100 | SQLite | 21.50 ms | 1.29 ms | 16.7× |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| Aggregation in the database: sidebar | — | PostgreSQL | 334.00 ms | 41.00 ms | 8.1× |"
            ),
            "{table}"
        );
    }

    #[test]
    fn what_a_side_found_is_read_from_beside_its_result() {
        let criterion = tempfile::tempdir().unwrap();
        let root = criterion.path();
        let group = "atomic-counters-sqlite";
        write_result(root, group, "views-naive", Some("1"), 2_000_000.0);
        write_result(root, group, "views-optimized", Some("1"), 1_000_000.0);
        for (function, kept) in [("views-naive", 3), ("views-optimized", 20)] {
            std::fs::write(
                root.join(group).join(function).join("1").join(FOUND_FILE),
                format!("{{\"value\":{kept},\"of\":20}}"),
            )
            .unwrap();
        }

        let report = from_criterion(root, &crate::tests_catalog()).unwrap();

        let found = |kept| {
            Some(Amount {
                value: kept,
                of: Some(20),
            })
        };
        assert_eq!(
            report
                .figures
                .iter()
                .map(|f| (f.naive_found, f.optimized_found))
                .collect::<Vec<_>>(),
            [(found(3), found(20))]
        );
    }

    #[test]
    fn no_results_is_an_error_that_says_what_to_run() {
        let empty = tempfile::tempdir().unwrap();
        let error = from_criterion(empty.path(), &crate::tests_catalog())
            .unwrap_err()
            .to_string();
        assert!(error.contains("run `cargo bench` first"), "{error}");
    }

    #[test]
    fn the_report_survives_its_json() {
        let report = Report {
            measured: "2026-11-26".to_owned(),
            machine: "2 cores, AMD EPYC".to_owned(),
            figures: Vec::new(),
        };
        let out = tempfile::tempdir().unwrap();
        crate::write_report(&report, out.path(), &crate::tests_catalog()).unwrap();
        let json = std::fs::read_to_string(out.path().join("benchmarks.json")).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }
}
