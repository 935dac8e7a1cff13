//! `docs/speedups.svg`: one horizontal bar per figure on a log scale, PostgreSQL blue,
//! SQLite teal. SVG written as text: the chart is simple enough not to need a crate.

use std::fmt::Write as _;

use catalog::report::{self as figures, Figure, Report};

use catalog::Catalog;

const LABEL: f64 = 420.0;
const BARS: f64 = 440.0;
const ROW: f64 = 22.0;

pub fn svg(report: &Report, catalog: &Catalog) -> String {
    let decades = report
        .figures
        .iter()
        .map(Figure::speedup)
        .fold(10.0_f64, f64::max)
        .log10()
        .ceil();
    let height = 40.0 + ROW * report.figures.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" viewBox=\"0 0 {w} {height}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
        w = LABEL + BARS + 70.0
    );
    axis(&mut svg, decades, height);
    for (row, figure) in report.figures.iter().enumerate() {
        bar(&mut svg, row, figure, decades, catalog);
    }
    svg.push_str("</svg>\n");
    svg
}

/// A line and a label per power of ten.
fn axis(svg: &mut String, decades: f64, height: f64) {
    for decade in 0..=(decades as u32) {
        let x = LABEL + BARS * f64::from(decade) / decades;
        let _ = writeln!(
            svg,
            "<line x1=\"{x}\" y1=\"20\" x2=\"{x}\" y2=\"{}\" stroke=\"#e3e8ee\"/>\
             <text x=\"{x}\" y=\"14\" text-anchor=\"middle\" fill=\"#5d6b7a\">{}</text>",
            height - 10.0,
            decade_label(decade)
        );
    }
}

/// The figure's label, its bar, and its speed-up at the bar's end.
fn bar(svg: &mut String, row: usize, figure: &Figure, decades: f64, catalog: &Catalog) {
    let label = catalog.label(&figure.pattern, &figure.measure);
    let y = 24.0 + ROW * row as f64;
    let width = (BARS * figure.speedup().max(1.0).log10() / decades).max(1.0);
    let color = if figure.backend == "PostgreSQL" {
        "#336791"
    } else {
        "#2a9d8f"
    };
    let text = if figure.size.is_empty() {
        format!("{label} · {}", figure.backend)
    } else {
        format!("{label} {} · {}", figure.size, figure.backend)
    };
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#1d232b\">{}</text>\
         <rect x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{}\" fill=\"{color}\"/>\
         <text x=\"{:.1}\" y=\"{}\" fill=\"#1d232b\">{}</text>",
        LABEL - 8.0,
        y + 13.0,
        escape(&text),
        ROW - 6.0,
        LABEL + width + 4.0,
        y + 13.0,
        figures::speedup(figure.speedup())
    );
}

/// The axis: `1×`, `10×`, `100×`, `1k×` … `10M×`, short enough not to overlap.
fn decade_label(decade: u32) -> String {
    let (scale, suffix) = match decade {
        0..=2 => (0, ""),
        3..=5 => (3, "k"),
        _ => (6, "M"),
    };
    format!("{}{suffix}×", 10u64.pow(decade - scale))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_labels_stay_short() {
        let labels: Vec<String> = (0..=7).map(decade_label).collect();
        assert_eq!(
            labels,
            ["1×", "10×", "100×", "1k×", "10k×", "100k×", "1M×", "10M×"]
        );
    }

    #[test]
    fn each_figure_is_a_labelled_bar() {
        let report = Report {
            figures: vec![Figure::new(
                ("aggregation", "sidebar"),
                "",
                "PostgreSQL",
                116.0,
                10.0,
            )],
            ..Report::default()
        };
        let chart = svg(&report, &crate::tests_catalog());
        assert!(
            chart.starts_with("<svg")
                && chart.contains(">Aggregation in the database: sidebar · PostgreSQL<")
        );
        assert!(
            chart.contains(">11.6×<") && chart.contains(">10×</text>") && !chart.contains("××")
        );
    }
}
