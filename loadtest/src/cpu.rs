//! The CPU time each tier spent during a run — the app, PostgreSQL, Redis, the load
//! generator itself — read from Linux's `/proc` before and after.
//!
//! Requests per second depend on what else shares the machine (here, everything does);
//! CPU time per request does not, and it is what a capacity model multiplies. A tier is
//! a process and everything it started: PostgreSQL's postmaster with its backends and
//! background workers, a server with its threads.

use std::collections::HashMap;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A tier to watch: `app=4242` names it and gives its (root) process id.
#[derive(Clone, Debug)]
pub struct Tier {
    pub name: String,
    pub pid: u32,
}

impl Tier {
    /// `app=4242`, `postgres primary=1234`.
    pub fn parse(text: &str) -> Result<Tier, String> {
        let (name, pid) = text
            .split_once('=')
            .ok_or("expected NAME=PID, e.g. app=4242")?;
        let pid = pid
            .trim()
            .parse()
            .map_err(|_| format!("{pid}: a process id is a number"))?;
        if name.trim().is_empty() {
            return Err("a tier needs a name: NAME=PID".to_owned());
        }
        Ok(Tier {
            name: name.trim().to_owned(),
            pid,
        })
    }
}

/// What one tier spent over a run: CPU seconds over wall-clock seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spent {
    pub tier: String,
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
}

impl Spent {
    /// Cores kept busy on average: 1.0 is one core for the whole run.
    pub fn cores(&self) -> f64 {
        self.cpu_seconds / self.wall_seconds.max(f64::EPSILON)
    }
}

/// The tiers' CPU time at one moment.
pub struct Sample {
    at: Instant,
    ticks: Vec<u64>,
}

/// A sample of `tiers` now. A process that is gone is an error naming it: a run whose
/// tier died measures nothing.
pub fn sample(tiers: &[Tier]) -> anyhow::Result<Sample> {
    let table = processes()?;
    let ticks = tiers
        .iter()
        .map(|tier| {
            tree_ticks(&table, tier.pid).ok_or_else(|| {
                anyhow::anyhow!("{} (process {}) is not running", tier.name, tier.pid)
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Sample {
        at: Instant::now(),
        ticks,
    })
}

/// What each tier spent between `before` and `after`.
pub fn spent(tiers: &[Tier], before: &Sample, after: &Sample) -> Vec<Spent> {
    let wall_seconds = after.at.duration_since(before.at).as_secs_f64();
    let per_second = clock_ticks_per_second() as f64;
    tiers
        .iter()
        .zip(before.ticks.iter().zip(&after.ticks))
        .map(|(tier, (before, after))| Spent {
            tier: tier.name.clone(),
            cpu_seconds: after.saturating_sub(*before) as f64 / per_second,
            wall_seconds,
        })
        .collect()
}

/// One line of `/proc/<pid>/stat`: its parent, and the CPU ticks it and its waited-for
/// children spent.
struct Process {
    parent: u32,
    own: u64,
    children: u64,
}

fn processes() -> anyhow::Result<HashMap<u32, Process>> {
    let mut table = HashMap::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // A process may end between the listing and the read: it is simply not counted.
        if let Ok(text) = std::fs::read_to_string(entry.path().join("stat"))
            && let Some(process) = parse_stat(&text)
        {
            table.insert(pid, process);
        }
    }
    Ok(table)
}

/// The fields after the command name (which may hold spaces and parentheses): state,
/// parent, … utime (14th field), stime, cutime, cstime.
fn parse_stat(text: &str) -> Option<Process> {
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Process {
        parent: field(4)? as u32,
        own: field(14)? + field(15)?,
        children: field(16)? + field(17)?,
    })
}

/// `root`'s ticks, its ended children's (once waited for, they are added to its
/// own count), and every living descendant's.
fn tree_ticks(table: &HashMap<u32, Process>, root: u32) -> Option<u64> {
    let top = table.get(&root)?;
    let mut total = top.own + top.children;
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (pid, process) in table {
            if process.parent == parent && *pid != parent {
                // Its own time and its reaped children's: a grandchild counted live in
                // one sample is in its parent's `children` once reaped.
                total += process.own + process.children;
                frontier.push(*pid);
            }
        }
    }
    Some(total)
}

/// `getconf CLK_TCK`, the unit of `/proc`'s CPU times; 100 on every Linux in use.
fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tier_is_named_and_given_a_process_id() {
        let tier = Tier::parse("postgres primary=1234").expect("a tier");
        assert_eq!((tier.name.as_str(), tier.pid), ("postgres primary", 1234));
        assert!(Tier::parse("app").is_err_and(|why| why.contains("NAME=PID")));
        assert!(Tier::parse("app=me").is_err_and(|why| why.contains("number")));
        assert!(Tier::parse("=12").is_err());
    }

    #[test]
    fn a_stat_line_gives_the_parent_and_the_ticks_whatever_the_command_name() {
        let line = "42 (postgres: a (b) c) S 7 42 42 0 -1 4194560 10 0 0 0 \
                    120 30 5 6 20 0 1 0 100 1000 50";
        let process = parse_stat(line).expect("a process");
        assert_eq!(
            (process.parent, process.own, process.children),
            (7, 150, 11)
        );
        assert!(parse_stat("42 (cut short) S 7").is_none());
    }

    #[test]
    fn a_tier_counts_its_descendants_and_not_its_neighbours() {
        let process = |parent, own| Process {
            parent,
            own,
            children: 1,
        };
        let table = HashMap::from([
            (10, process(1, 100)),
            (11, process(10, 20)),
            (12, process(11, 3)),
            (20, process(1, 500)),
        ]);
        assert_eq!(tree_ticks(&table, 10), Some(100 + 1 + 20 + 1 + 3 + 1));
        assert_eq!(tree_ticks(&table, 99), None);
    }

    #[test]
    fn this_process_spends_cpu_time_that_a_sample_sees() {
        let me = [Tier {
            name: "me".into(),
            pid: std::process::id(),
        }];
        let before = sample(&me).expect("a sample");
        let busy_until = Instant::now() + std::time::Duration::from_millis(300);
        let mut x = 0u64;
        while Instant::now() < busy_until {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
        }
        let after = sample(&me).expect("a sample");
        let spent = spent(&me, &before, &after);
        assert!(spent[0].cpu_seconds > 0.0, "{spent:?}");
        assert!(spent[0].wall_seconds >= 0.3, "{spent:?}");
        assert!(
            sample(&[Tier {
                name: "gone".into(),
                pid: u32::MAX
            }])
            .is_err()
        );
    }
}
