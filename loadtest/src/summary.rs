//! What a run comes to: per request (the list, a post, …) and for all of them, how many
//! were answered per second and the 50th, 95th and 99th percentiles of their times —
//! as measured, and adjusted for coordinated omission.

use std::collections::BTreeMap;

use goose::metrics::{GooseMetrics, GooseRequestMetricAggregate, GooseRequestMetricTimingData};
use serde::{Deserialize, Serialize};

use crate::browse::Pages;

/// One run of one set of pages.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub pages: String,
    pub users: usize,
    pub run_time: String,
    /// The seconds goose measured over (after every user had started).
    pub seconds: usize,
    pub requests: Vec<Row>,
    pub all: Row,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    pub count: usize,
    pub per_second: f64,
    /// Microseconds, from goose's buckets (each a few per cent wide).
    pub p50_us: u64,
    pub p95_us: u64,
    pub p99_us: u64,
    /// The 99th percentile once the requests a stall kept from being sent are counted
    /// (the same as `p99_us` where goose made none up).
    pub p99_adjusted_us: Option<u64>,
    /// Answers with an error status, or none.
    pub failed: usize,
    /// How many answers had each status other than 200 (a 503 from the naive gate, a
    /// 429 from the comment limit; a comment's redirect is followed, so it is its
    /// page's status).
    pub statuses: BTreeMap<u16, usize>,
}

impl Summary {
    pub fn of(pages: Pages, users: usize, run_time: &str, metrics: &GooseMetrics) -> Summary {
        let seconds = metrics.duration.max(1);
        let mut requests: Vec<Row> = metrics
            .requests
            .iter()
            .map(|(name, aggregate)| Row::of(name, aggregate, seconds))
            .collect();
        requests.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
        let all = Row::all(metrics.requests.values(), seconds);
        Summary {
            pages: pages.name().to_owned(),
            users,
            run_time: run_time.to_owned(),
            seconds,
            requests,
            all,
        }
    }

    /// The summary as a Markdown table.
    pub fn table(&self) -> String {
        let mut table = String::from(
            "| request | answered | per second | p50 | p95 | p99 | p99, adjusted | failed | not 200 |\n\
             |---|---|---|---|---|---|---|---|---|\n",
        );
        for row in self.requests.iter().chain(std::iter::once(&self.all)) {
            table.push_str(&row.markdown());
            table.push('\n');
        }
        table
    }
}

impl Row {
    fn of(name: &str, aggregate: &GooseRequestMetricAggregate, seconds: usize) -> Row {
        let statuses = real_statuses(aggregate);
        Row::from_data(
            name,
            &aggregate.raw_data,
            Some(adjusted(aggregate)),
            failures(&statuses),
            statuses.iter(),
            seconds,
        )
    }

    fn from_data<'a>(
        name: &str,
        data: &GooseRequestMetricTimingData,
        adjusted: Option<&GooseRequestMetricTimingData>,
        failed: usize,
        statuses: impl Iterator<Item = (&'a u16, &'a usize)>,
        seconds: usize,
    ) -> Row {
        Row {
            name: name.to_owned(),
            count: data.counter,
            per_second: data.counter as f64 / seconds as f64,
            p50_us: data.percentile_us(0.50),
            p95_us: data.percentile_us(0.95),
            p99_us: data.percentile_us(0.99),
            p99_adjusted_us: adjusted.map(|data| data.percentile_us(0.99)),
            failed,
            statuses: statuses
                .filter(|(status, _)| **status != 200)
                .map(|(status, count)| (*status, *count))
                .collect(),
        }
    }

    /// Every request of the run together.
    fn all<'a>(
        requests: impl Iterator<Item = &'a GooseRequestMetricAggregate> + Clone,
        seconds: usize,
    ) -> Row {
        let times = merged(requests.clone().map(|aggregate| &aggregate.raw_data));
        let adjusted = merged(requests.clone().map(adjusted));
        let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
        for aggregate in requests {
            for (status, count) in real_statuses(aggregate) {
                *statuses.entry(status).or_default() += count;
            }
        }
        let failed = failures(&statuses);
        Row::from_data(
            "all",
            &times,
            Some(&adjusted),
            failed,
            statuses.iter(),
            seconds,
        )
    }

    fn markdown(&self) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, count)| format!("{status} × {count}"))
            .collect();
        format!(
            "| {} | {} | {:.1} | {} | {} | {} | {} | {} | {} |",
            self.name,
            self.count,
            self.per_second,
            ms(self.p50_us),
            ms(self.p95_us),
            ms(self.p99_us),
            self.p99_adjusted_us.map_or("—".to_owned(), ms),
            self.failed,
            statuses.join(", ")
        )
    }
}

/// The times adjusted for coordinated omission, where goose made any; else the times.
fn adjusted(aggregate: &GooseRequestMetricAggregate) -> &GooseRequestMetricTimingData {
    aggregate
        .coordinated_omission_data
        .as_ref()
        .unwrap_or(&aggregate.raw_data)
}

/// How many real answers had each status: goose also counts the requests its
/// coordinated-omission mitigation made up in `status_code_counts`, not in these.
fn real_statuses(aggregate: &GooseRequestMetricAggregate) -> BTreeMap<u16, usize> {
    aggregate
        .status_code_timings
        .iter()
        .map(|(status, timing)| (*status, timing.count))
        .collect()
}

/// Answers that were errors: a status of 400 or more, or none at all (no answer).
fn failures(statuses: &BTreeMap<u16, usize>) -> usize {
    statuses
        .iter()
        .filter(|(status, _)| **status >= 400 || **status == 0)
        .map(|(_, count)| count)
        .sum()
}

/// Several requests' times as one set of buckets.
fn merged<'a>(
    parts: impl Iterator<Item = &'a GooseRequestMetricTimingData>,
) -> GooseRequestMetricTimingData {
    let mut all = GooseRequestMetricTimingData::default();
    for part in parts.filter(|part| part.counter > 0) {
        for (bucket, count) in part.times_us.iter() {
            let before = all.times_us.get(bucket).copied().unwrap_or(0);
            all.times_us.insert(*bucket, before + count);
        }
        all.minimum_time_us = match all.counter {
            0 => part.minimum_time_us,
            _ => all.minimum_time_us.min(part.minimum_time_us),
        };
        all.maximum_time_us = all.maximum_time_us.max(part.maximum_time_us);
        all.total_time_us += part.total_time_us;
        all.counter += part.counter;
    }
    all
}

/// Microseconds as milliseconds, to two decimals under 10 ms.
fn ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}
