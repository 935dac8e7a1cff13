//! Reading criterion's results: every `new/benchmark.json` under its folder, with the
//! median of the `estimates.json` beside it and, where the bench filed one, what the
//! side found (`found.json`, one folder up).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use catalog::report::{Amount, FOUND_FILE};
use serde::Deserialize;

/// `(group, function, value)`, as criterion files a result.
pub type Key = (String, String, String);

/// One measured benchmark.
pub struct Measurement {
    pub median_ns: f64,
    /// When criterion wrote it.
    pub measured: SystemTime,
    /// What the side found in the measure's unit, when it is not time.
    pub found: Option<Amount>,
}

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

/// Every result under `dir`.
pub fn read(dir: &Path) -> anyhow::Result<BTreeMap<Key, Measurement>> {
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
                let (key, measurement) = read_one(&path)?;
                results.insert(key, measurement);
            }
        }
    }
    Ok(results)
}

fn read_one(benchmark_json: &Path) -> anyhow::Result<(Key, Measurement)> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let benchmark: Benchmark = serde_json::from_str(&read(benchmark_json)?)
        .with_context(|| format!("parsing {}", benchmark_json.display()))?;
    let estimates_json = benchmark_json.with_file_name("estimates.json");
    let estimates: Estimates = serde_json::from_str(&read(&estimates_json)?)
        .with_context(|| format!("parsing {}", estimates_json.display()))?;
    let measured = std::fs::metadata(&estimates_json)?.modified()?;
    let found = match benchmark_json.parent().and_then(Path::parent) {
        Some(dir) if dir.join(FOUND_FILE).is_file() => {
            let path = dir.join(FOUND_FILE);
            Some(
                serde_json::from_str(&read(&path)?)
                    .with_context(|| format!("parsing {}", path.display()))?,
            )
        }
        _ => None,
    };
    let key = (
        benchmark.group_id,
        benchmark.function_id.unwrap_or_default(),
        benchmark.value_str.unwrap_or_default(),
    );
    Ok((
        key,
        Measurement {
            median_ns: estimates.median.point_estimate,
            measured,
            found,
        },
    ))
}
