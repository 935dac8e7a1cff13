//! A measure whose lesson is growth, drawn: each side's median time against the size,
//! one panel per backend, from the bench report — the naive line climbing, the
//! optimized one flat. Server-rendered SVG, no JavaScript; written as text, as the
//! chart is simple enough not to need a crate.

use std::fmt::Write as _;

use catalog::report::{self, BACKENDS, Figure, Report};

const PANEL_WIDTH: f64 = 340.0;
const PANEL_HEIGHT: f64 = 220.0;
/// Room for the y axis' labels on the left and the x axis' below.
const LEFT: f64 = 74.0;
const BOTTOM: f64 = 44.0;
const TOP: f64 = 28.0;
const RIGHT: f64 = 16.0;
const NAIVE: &str = "#c0392b";
const OPTIMIZED: &str = "#1e7f4f";

/// Both backends' panels for the measure `measure` of `pattern`, whose sizes are
/// `what` (the x axis' label); `None` when no backend has two sizes to join.
pub fn svg(report: &Report, pattern: &str, measure: &str, what: &str) -> Option<String> {
    let panels: Vec<(&str, Vec<(f64, &Figure)>)> = BACKENDS
        .iter()
        .map(|(_, backend)| {
            let points = report
                .of(pattern, measure)
                .filter(|figure| figure.backend == *backend)
                .filter_map(|figure| Some((figure.size.parse::<f64>().ok()?, figure)))
                .collect::<Vec<_>>();
            (*backend, points)
        })
        .filter(|(_, points)| points.len() >= 2)
        .collect();
    if panels.is_empty() {
        return None;
    }
    let width = PANEL_WIDTH * panels.len() as f64;
    let mut svg = format!(
        "<svg class=\"growth-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {PANEL_HEIGHT}\" \
         role=\"img\" aria-label=\"{}\" font-family=\"system-ui, sans-serif\" font-size=\"11\">",
        escape(&format!(
            "Median time against {what}: naive and optimized, per backend"
        ))
    );
    for (at, (backend, points)) in panels.iter().enumerate() {
        panel(&mut svg, PANEL_WIDTH * at as f64, backend, points, what);
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// One backend: axes, gridlines, both sides' lines, and each line's last value.
fn panel(svg: &mut String, x0: f64, backend: &str, points: &[(f64, &Figure)], what: &str) {
    let sizes: Vec<f64> = points.iter().map(|(size, _)| *size).collect();
    let top_ns = points
        .iter()
        .map(|(_, f)| f.naive_ns.max(f.optimized_ns))
        .fold(0.0, f64::max);
    let scale = Scale {
        x0,
        x_axis: XAxis::fitting(&sizes),
        y_top: nice_ceiling(top_ns),
    };
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"16\" font-weight=\"bold\">{backend}</text>",
        x0 + LEFT
    );
    scale.axes(svg, &sizes, what);
    scale.line(svg, points, "naive", NAIVE, |f| f.naive_ns);
    scale.line(svg, points, "optimized", OPTIMIZED, |f| f.optimized_ns);
}

/// Where a panel puts a size and a time.
struct Scale {
    x0: f64,
    x_axis: XAxis,
    y_top: f64,
}

impl Scale {
    const WIDTH: f64 = PANEL_WIDTH - LEFT - RIGHT;
    const HEIGHT: f64 = PANEL_HEIGHT - TOP - BOTTOM;

    fn x(&self, size: f64) -> f64 {
        self.x0 + LEFT + Self::WIDTH * self.x_axis.fraction(size)
    }

    fn y(&self, ns: f64) -> f64 {
        TOP + Self::HEIGHT * (1.0 - ns / self.y_top)
    }

    /// Five gridlines with their times, each size under the plot, and what the sizes
    /// count.
    fn axes(&self, svg: &mut String, sizes: &[f64], what: &str) {
        let (left, right) = (self.x0 + LEFT, self.x0 + LEFT + Self::WIDTH);
        for tick in 0..=4 {
            let ns = self.y_top * f64::from(tick) / 4.0;
            let y = self.y(ns);
            let label = if tick == 0 {
                "0".to_owned()
            } else {
                report::duration(ns)
            };
            let _ = write!(
                svg,
                "<line x1=\"{left:.1}\" y1=\"{y:.1}\" x2=\"{right:.1}\" y2=\"{y:.1}\" stroke=\"#e3e8ee\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#5d6b7a\">{label}</text>",
                left - 4.0,
                y + 4.0,
            );
        }
        for size in sizes {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#5d6b7a\">{}</text>",
                self.x(*size),
                TOP + Self::HEIGHT + 14.0,
                report::thousands(*size as u64)
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#1d232b\">{}{}</text>",
            (left + right) / 2.0,
            PANEL_HEIGHT - 8.0,
            escape(what),
            if self.x_axis.log { " (log scale)" } else { "" }
        );
    }

    /// One side's medians joined, a dot per size (its value on hover), and its last
    /// value written beside the line's end.
    fn line(
        &self,
        svg: &mut String,
        points: &[(f64, &Figure)],
        side: &str,
        color: &str,
        ns: impl Fn(&Figure) -> f64,
    ) {
        let joined: Vec<String> = points
            .iter()
            .map(|(size, figure)| format!("{:.1},{:.1}", self.x(*size), self.y(ns(figure))))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"{side}\" points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>",
            joined.join(" ")
        );
        for (size, figure) in points {
            let _ = write!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"><title>{side}, {}: {}</title></circle>",
                self.x(*size),
                self.y(ns(figure)),
                report::thousands(*size as u64),
                report::duration(ns(figure))
            );
        }
        if let Some((size, figure)) = points.last() {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{color}\">{side} {}</text>",
                self.x(*size) - 6.0,
                self.y(ns(figure)) - 6.0,
                report::duration(ns(figure))
            );
        }
    }
}

/// Where a size sits across the plot: evenly by value, or by its logarithm when the
/// sizes span more than a factor of twenty (100, 1,000, 10,000).
struct XAxis {
    low: f64,
    high: f64,
    log: bool,
}

impl XAxis {
    fn fitting(sizes: &[f64]) -> Self {
        let low = sizes.iter().copied().fold(f64::INFINITY, f64::min).max(1.0);
        let high = sizes.iter().copied().fold(0.0, f64::max).max(low + 1.0);
        let log = high / low > 20.0;
        let (low, high) = if log {
            (low.log10(), high.log10())
        } else {
            (0.0, high)
        };
        Self { low, high, log }
    }

    /// 0 at the left edge, 1 at the right.
    fn fraction(&self, size: f64) -> f64 {
        let at = if self.log {
            size.max(1.0).log10()
        } else {
            size
        };
        ((at - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `ns`: the y axis' top.
fn nice_ceiling(ns: f64) -> f64 {
    if ns <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(ns.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|top| *top >= ns)
        .unwrap_or(10.0 * power)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(backend: &str, size: u64, naive_ns: f64, optimized_ns: f64) -> Figure {
        Figure::new(
            ("eager-loading", "entries"),
            &size.to_string(),
            backend,
            naive_ns,
            optimized_ns,
        )
    }

    #[test]
    fn each_backend_is_a_panel_with_both_sides_joined_across_the_sizes() {
        let report = Report {
            figures: vec![
                figure("PostgreSQL", 10, 3e6, 4e5),
                figure("PostgreSQL", 100, 3e7, 5e5),
                figure("SQLite", 10, 2e6, 3e5),
                figure("SQLite", 100, 2e7, 4e5),
            ],
            ..Report::default()
        };
        let chart = svg(&report, "eager-loading", "entries", "posts on the page").unwrap();
        assert_eq!(chart.matches("<polyline class=\"naive\"").count(), 2);
        assert_eq!(chart.matches("<polyline class=\"optimized\"").count(), 2);
        assert!(chart.contains(">PostgreSQL<") && chart.contains(">SQLite<"));
        assert!(chart.contains(">posts on the page<"), "{chart}");
        assert!(chart.contains(">naive 30.00 ms<"), "{chart}");
        assert!(!chart.contains("<script"));
    }

    #[test]
    fn one_size_is_no_chart() {
        let report = Report {
            figures: vec![figure("SQLite", 20, 1e6, 1e5)],
            ..Report::default()
        };
        assert!(svg(&report, "eager-loading", "entries", "posts").is_none());
    }

    #[test]
    fn sizes_that_span_decades_sit_on_a_log_scale() {
        let axis = XAxis::fitting(&[100.0, 1_000.0, 10_000.0]);
        assert!(axis.log);
        assert!((axis.fraction(1_000.0) - 0.5).abs() < 1e-9);
        assert!(!XAxis::fitting(&[10.0, 20.0, 50.0, 100.0]).log);
    }

    #[test]
    fn the_y_axis_ends_on_a_round_figure() {
        assert_eq!(nice_ceiling(3.2e7), 5e7);
        assert_eq!(nice_ceiling(1.0e6), 1e6);
        assert_eq!(nice_ceiling(1.1e6), 2e6);
    }
}
