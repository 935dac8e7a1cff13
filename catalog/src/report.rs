//! The bench report: what `bench-report` writes to `docs/benchmarks.json` from
//! criterion's results, and how its figures are written out.

use serde::{Deserialize, Serialize};

use crate::Unit;

/// A bench report: where and when it was measured, and one [`Figure`] per measure,
/// size and backend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The day of the latest result, `YYYY-MM-DD`.
    pub measured: String,
    /// "2 cores, AMD EPYC".
    pub machine: String,
    pub figures: Vec<Figure>,
}

/// Both sides of one measure at one size on one backend: criterion's medians.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The pattern's slug (`twin-pages` for whole pages).
    pub pattern: String,
    /// The measure's id in the pattern's front matter.
    pub measure: String,
    /// The size criterion measured at (`""` for measures without sizes).
    pub size: String,
    /// "PostgreSQL" or "SQLite".
    pub backend: String,
    pub naive_ns: f64,
    pub optimized_ns: f64,
    /// What each side found that the measure's [`Unit`](crate::Unit) is written in —
    /// views kept of a race, bytes held — where it is not time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naive_found: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimized_found: Option<Amount>,
    /// Where it was measured, when not on the report's [`Report::machine`]: a merge
    /// keeps older figures measured elsewhere, and says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// The day it was measured, beside [`Figure::machine`] (`None`: up to the report's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<String>,
}

/// A side's count in the measure's unit: `value` (of `of`, for a race).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub value: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<u64>,
}

/// The file the bench writes a side's [`Amount`] to, beside criterion's result.
pub const FOUND_FILE: &str = "found.json";

/// The backends, as criterion's group names end (`eager-loading-postgres`) and as the
/// report names them.
pub const BACKENDS: [(&str, &str); 2] = [("postgres", "PostgreSQL"), ("sqlite", "SQLite")];

impl Figure {
    /// Both sides' medians for one measure, size and backend; nothing found besides
    /// their times, measured on the report's machine.
    pub fn new(
        (pattern, measure): (&str, &str),
        size: &str,
        backend: &str,
        naive_ns: f64,
        optimized_ns: f64,
    ) -> Self {
        Self {
            pattern: pattern.to_owned(),
            measure: measure.to_owned(),
            size: size.to_owned(),
            backend: backend.to_owned(),
            naive_ns,
            optimized_ns,
            naive_found: None,
            optimized_found: None,
            machine: None,
            measured: None,
        }
    }

    pub fn speedup(&self) -> f64 {
        self.naive_ns / self.optimized_ns.max(f64::MIN_POSITIVE)
    }

    /// `postgres` or `sqlite`.
    pub fn backend_key(&self) -> &'static str {
        BACKENDS
            .iter()
            .find(|(_, name)| *name == self.backend)
            .map_or("", |(key, _)| key)
    }
}

impl Report {
    /// When and where `pattern`'s figures were measured: "up to 2026-12-04 on 2 cores,
    /// AMD EPYC", or, when on more than one machine, each with its measures: "up to
    /// 2026-12-04 on 2 cores, AMD EPYC (exists: busiest-tag, any-post) and up to
    /// 2026-12-05 on 2 cores, Intel Xeon (exists: matches)".
    pub fn where_and_when(&self, pattern: &str) -> String {
        let mut places: Vec<(&str, &str, Vec<&str>)> = Vec::new();
        for figure in self.figures.iter().filter(|f| f.pattern == pattern) {
            let machine = figure.machine.as_deref().unwrap_or(&self.machine);
            let day = figure.measured.as_deref().unwrap_or(&self.measured);
            match places.iter_mut().find(|(m, _, _)| *m == machine) {
                Some((_, latest, measures)) => {
                    *latest = (*latest).max(day);
                    if !measures.contains(&figure.measure.as_str()) {
                        measures.push(&figure.measure);
                    }
                }
                None => places.push((machine, day, vec![&figure.measure])),
            }
        }
        match places.as_slice() {
            [] => format!("up to {} on {}", self.measured, self.machine),
            [(machine, day, _)] => format!("up to {day} on {machine}"),
            several => several
                .iter()
                .map(|(machine, day, measures)| {
                    format!(
                        "up to {day} on {machine} ({pattern}: {})",
                        measures.join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join(" and "),
        }
    }

    /// A measure's figure at `size` on `backend` ("PostgreSQL"), if measured.
    pub fn at(&self, pattern: &str, measure: &str, size: &str, backend: &str) -> Option<&Figure> {
        self.figures.iter().find(|figure| {
            (
                figure.pattern.as_str(),
                figure.measure.as_str(),
                figure.size.as_str(),
                figure.backend.as_str(),
            ) == (pattern, measure, size, backend)
        })
    }

    /// A measure's headline in markdown, in the lesson's unit, PostgreSQL's in bold,
    /// then SQLite's: `list entries (posts), 20: **12.8×** · 10.3×` — and, for a
    /// lesson about growth measured at larger sizes than the headline's, the largest
    /// as well.
    pub fn headline_markdown(&self, pattern: &str, measure: &crate::Measure) -> String {
        let size = measure.headline.map(|n| n.to_string()).unwrap_or_default();
        let both = |size: &str| {
            BACKENDS.map(|(_, backend)| {
                self.at(pattern, &measure.id, size, backend)
                    .and_then(|figure| in_unit(figure, measure.unit))
            })
        };
        let [pg, sqlite] = both(&size);
        if pg.is_none() && sqlite.is_none() {
            return format!("{}: not measured yet", measure.what);
        }
        let pair = |[pg, sqlite]: [Option<String>; 2]| {
            format!(
                "**{}** · {}",
                pg.as_deref().unwrap_or("—"),
                sqlite.as_deref().unwrap_or("—")
            )
        };
        let at = |size: Option<u64>| {
            size.map(|n| format!(", {}", thousands(n)))
                .unwrap_or_default()
        };
        let mut headline = phrased(measure, &at(measure.headline), pair([pg, sqlite]));
        let largest = measure.sizes.iter().copied().max();
        if measure.grows
            && measure.unit == Unit::Speed
            && largest > measure.headline
            && measure.headline.is_some()
        {
            let figures = both(&largest.map(|n| n.to_string()).unwrap_or_default());
            if figures.iter().any(Option::is_some) {
                headline += &format!(
                    "; at {}: {}",
                    at(largest).trim_start_matches(", "),
                    pair(figures)
                );
            }
        }
        headline
    }

    /// The figures of one measure, in the report's order (PostgreSQL first, sizes
    /// ascending).
    pub fn of<'a>(
        &'a self,
        pattern: &'a str,
        measure: &'a str,
    ) -> impl Iterator<Item = &'a Figure> {
        self.figures
            .iter()
            .filter(move |figure| figure.pattern == pattern && figure.measure == measure)
    }
}

/// A headline's words around its figures (`at`: its size, `, 20`), in the measure's unit.
fn phrased(measure: &crate::Measure, at: &str, figures: String) -> String {
    let what = &measure.what;
    match measure.unit {
        Unit::Speed => format!("{what}{at}: {figures}"),
        Unit::TimeSaved => format!("{what}: saves {figures} a request"),
        Unit::Kept => format!("concurrent views kept, naive → optimized: {figures}"),
        Unit::Memory => format!("output held at once{at}, naive → optimized: {figures}"),
        Unit::Requests => format!("{what}, requests sent, naive → optimized: {figures}"),
        Unit::Seen => format!("{what} that showed it, naive → optimized: {figures}"),
        Unit::PrimaryReads => format!("{what} the primary served, naive → optimized: {figures}"),
    }
}

/// One side's figure, or both sides', in `unit`; `None` when the report lacks what
/// the unit needs.
fn in_unit(figure: &Figure, unit: Unit) -> Option<String> {
    let (naive, optimized) = (figure.naive_found, figure.optimized_found);
    match unit {
        Unit::Speed => Some(speedup(figure.speedup())),
        Unit::TimeSaved => Some(duration((figure.naive_ns - figure.optimized_ns).max(0.0))),
        Unit::Kept | Unit::Seen | Unit::PrimaryReads => {
            let (naive, optimized) = (naive?, optimized?);
            Some(format!(
                "{} → {} of {}",
                naive.value,
                optimized.value,
                optimized.of.unwrap_or(optimized.value)
            ))
        }
        Unit::Memory => Some(format!(
            "{} → {}",
            bytes(naive?.value),
            bytes(optimized?.value)
        )),
        Unit::Requests => Some(format!(
            "{} → {}",
            thousands(naive?.value),
            thousands(optimized?.value)
        )),
    }
}

/// `2.4 GB`, `11.8 MB`, `64.0 kB`, `512 B`: a size in bytes at a readable scale (powers
/// of ten).
pub fn bytes(n: u64) -> String {
    let n_f = n as f64;
    match n {
        n if n >= 1_000_000_000 => format!("{:.1} GB", n_f / 1e9),
        n if n >= 1_000_000 => format!("{:.1} MB", n_f / 1e6),
        n if n >= 1_000 => format!("{:.1} kB", n_f / 1e3),
        n => format!("{n} B"),
    }
}

/// `6.66 ms`, `584.6 µs`, `204 ns`: a median at a readable scale.
pub fn duration(ns: f64) -> String {
    match ns {
        ns if ns >= 1e9 => format!("{:.2} s", ns / 1e9),
        ns if ns >= 1e6 => format!("{:.2} ms", ns / 1e6),
        ns if ns >= 1e3 => format!("{:.1} µs", ns / 1e3),
        ns => format!("{ns:.0} ns"),
    }
}

/// `11.4×`, `130×`, `1,548,534×`.
pub fn speedup(x: f64) -> String {
    if x >= 100.0 {
        format!("{}×", thousands(x.round() as u64))
    } else {
        format!("{x:.1}×")
    }
}

/// `1548534` → `1,548,534`.
pub fn thousands(n: u64) -> String {
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

/// The machine figures are measured on: its cores and its CPU's model name.
pub fn machine() -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_speed_ups_are_grouped_by_thousands() {
        assert_eq!(speedup(1_548_534.4), "1,548,534×");
        assert_eq!(speedup(130.2), "130×");
        assert_eq!(speedup(11.43), "11.4×");
    }

    #[test]
    fn durations_take_the_unit_that_fits() {
        assert_eq!(duration(6_660_000.0), "6.66 ms");
        assert_eq!(duration(584_600.0), "584.6 µs");
        assert_eq!(duration(204.0), "204 ns");
        assert_eq!(duration(2_640_000_000.0), "2.64 s");
    }

    fn measure(unit: Unit, sizes: &[u64], headline: Option<u64>) -> crate::Measure {
        crate::Measure {
            id: "m".to_owned(),
            what: "what".to_owned(),
            sizes: sizes.to_vec(),
            live: None,
            headline,
            unit,
            grows: true,
        }
    }

    fn figure(size: &str, backend: &str, naive_ns: f64, optimized_ns: f64) -> Figure {
        Figure::new(("p", "m"), size, backend, naive_ns, optimized_ns)
    }

    fn report(figures: Vec<Figure>) -> Report {
        Report {
            figures,
            ..Report::default()
        }
    }

    #[test]
    fn a_speed_headline_is_a_ratio_at_its_size_and_at_the_largest() {
        let report = report(vec![
            figure("20", "PostgreSQL", 2e6, 1e6),
            figure("1000", "PostgreSQL", 8e6, 1e6),
            figure("20", "SQLite", 3e6, 1e6),
        ]);
        let headline = report.headline_markdown("p", &measure(Unit::Speed, &[20, 1000], Some(20)));
        assert_eq!(
            headline,
            "what, 20: **2.0×** · 3.0×; at 1,000: **8.0×** · —"
        );
    }

    #[test]
    fn a_cache_headline_is_the_time_each_request_saves() {
        let report = report(vec![
            figure("", "PostgreSQL", 351_000.0, 1_000.0),
            figure("", "SQLite", 301_000.0, 1_000.0),
        ]);
        let headline = report.headline_markdown("p", &measure(Unit::TimeSaved, &[], None));
        assert_eq!(headline, "what: saves **350.0 µs** · 300.0 µs a request");
    }

    #[test]
    fn a_race_headline_is_the_views_each_side_kept() {
        let mut pg = figure("1", "PostgreSQL", 2e6, 1e6);
        pg.naive_found = Some(Amount {
            value: 1,
            of: Some(20),
        });
        pg.optimized_found = Some(Amount {
            value: 20,
            of: Some(20),
        });
        let timed_only = figure("1", "SQLite", 2e6, 1e6);
        let headline = report(vec![pg, timed_only])
            .headline_markdown("p", &measure(Unit::Kept, &[1, 16], Some(1)));
        assert_eq!(
            headline,
            "concurrent views kept, naive → optimized: **1 → 20 of 20** · —"
        );
    }

    #[test]
    fn a_memory_headline_is_the_output_each_side_held() {
        let mut pg = figure("10000", "PostgreSQL", 2e6, 1e6);
        pg.naive_found = Some(Amount {
            value: 11_812_345,
            of: None,
        });
        pg.optimized_found = Some(Amount {
            value: 64_000,
            of: None,
        });
        let headline =
            report(vec![pg]).headline_markdown("p", &measure(Unit::Memory, &[10000], Some(10000)));
        assert_eq!(
            headline,
            "output held at once, 10,000, naive → optimized: **11.8 MB → 64.0 kB** · —"
        );
    }

    #[test]
    fn a_measure_without_figures_says_so() {
        let headline = report(Vec::new()).headline_markdown("p", &measure(Unit::Speed, &[], None));
        assert_eq!(headline, "what: not measured yet");
    }

    #[test]
    fn bytes_take_the_unit_that_fits() {
        assert_eq!(bytes(2_383_456_789), "2.4 GB");
        assert_eq!(bytes(11_812_345), "11.8 MB");
        assert_eq!(bytes(64_000), "64.0 kB");
        assert_eq!(bytes(512), "512 B");
    }
}
