//! The bench report: what `bench-report` writes to `docs/benchmarks.json` from
//! criterion's results, and how its figures are written out.

use serde::{Deserialize, Serialize};

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
}

/// The backends, as criterion's group names end (`eager-loading-postgres`) and as the
/// report names them.
pub const BACKENDS: [(&str, &str); 2] = [("postgres", "PostgreSQL"), ("sqlite", "SQLite")];

impl Figure {
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
    /// A measure's speed-up at its headline size (every size's first when it names
    /// none) on each backend, PostgreSQL first; `None` where it was not measured.
    pub fn headline(&self, pattern: &str, measure: &crate::Measure) -> [Option<String>; 2] {
        let size = measure.headline.map(|n| n.to_string()).unwrap_or_default();
        BACKENDS.map(|(_, backend)| {
            self.of(pattern, &measure.id)
                .find(|figure| figure.backend == backend && figure.size == size)
                .map(|figure| speedup(figure.speedup()))
        })
    }

    /// A measure's headline in markdown, PostgreSQL's speed-up in bold, then SQLite's:
    /// `list entries (posts), 20: **12.8×** · 10.3×`.
    pub fn headline_markdown(&self, pattern: &str, measure: &crate::Measure) -> String {
        let at = measure
            .headline
            .map(|n| format!(", {}", thousands(n)))
            .unwrap_or_default();
        match self.headline(pattern, measure) {
            [None, None] => format!("{}{at}: not measured yet", measure.what),
            [pg, sqlite] => format!(
                "{}{at}: **{}** · {}",
                measure.what,
                pg.as_deref().unwrap_or("—"),
                sqlite.as_deref().unwrap_or("—")
            ),
        }
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
}
