//! A limit on the memory that one kind of work holds at once, shared by everything
//! that does it: each piece of work estimates what it will hold before it loads, and
//! takes that much of the budget until it is done. Work larger than the whole budget
//! never starts; work that fits waits for its share for a while, then is turned away.
//!
//! The naive gate bounds how many naive requests run at once; this bounds what the
//! naive sidebar loads, which grows with the data: at ten times the standard dataset,
//! gigabytes for one page.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in units of a KiB, rounded up — what work asks and the whole
/// alike, so that work within the budget in bytes always fits it in units:
/// `acquire_many` takes a `u32` of units, which holds shares of terabytes.
const UNIT: u64 = 1024;

#[derive(Clone, Debug)]
pub struct MemoryBudget {
    /// `None`: unbounded (the benches and tests that measure the naive work itself).
    units: Option<Arc<Semaphore>>,
    /// The whole budget, in units.
    whole: u64,
    bytes: u64,
    wait: Duration,
}

/// Why work got no share of the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoShare {
    /// It would hold more than the whole budget: it never runs here.
    OverBudget { budget: u64 },
    /// Others hold the budget now, and did not give back enough within the wait.
    Busy,
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Share(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl MemoryBudget {
    /// `bytes` shared by all the work that asks; the next waits up to `wait`.
    pub fn new(bytes: u64, wait: Duration) -> Self {
        let whole = bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS as u64);
        Self {
            units: Some(Arc::new(Semaphore::new(
                usize::try_from(whole).unwrap_or(0),
            ))),
            whole,
            bytes,
            wait,
        }
    }

    /// No limit: every estimate gets its share at once.
    pub fn unbounded() -> Self {
        Self {
            units: None,
            whole: u64::MAX,
            bytes: u64::MAX,
            wait: Duration::ZERO,
        }
    }

    /// A share of `bytes` (at least one unit), held until dropped.
    pub async fn hold(&self, bytes: u64) -> Result<Share, NoShare> {
        let Some(units) = &self.units else {
            return Ok(Share(None));
        };
        let over = NoShare::OverBudget { budget: self.bytes };
        let asked = bytes.div_ceil(UNIT).max(1);
        if bytes > self.bytes || asked > self.whole {
            return Err(over);
        }
        let asked = u32::try_from(asked).map_err(|_| over)?;
        match tokio::time::timeout(self.wait, units.clone().acquire_many_owned(asked)).await {
            Ok(Ok(permit)) => Ok(Share(Some(permit))),
            Ok(Err(_)) | Err(_) => Err(NoShare::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    #[tokio::test]
    async fn work_larger_than_the_whole_budget_never_starts() {
        let budget = MemoryBudget::new(100 * MB, Duration::from_millis(10));
        assert_eq!(
            budget.hold(101 * MB).await.err(),
            Some(NoShare::OverBudget { budget: 100 * MB })
        );
        assert!(budget.hold(100 * MB).await.is_ok(), "the whole budget fits");
        assert!(
            matches!(
                budget.hold(100 * MB + 1).await,
                Err(NoShare::OverBudget { .. })
            ),
            "a byte more is over it, not a wait"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_fits_waits_for_its_share_and_gets_it_when_it_is_given_back() {
        let budget = MemoryBudget::new(100 * MB, Duration::from_secs(2));
        let first = budget.hold(60 * MB).await;
        assert!(first.is_ok());
        assert_eq!(budget.hold(60 * MB).await.err(), Some(NoShare::Busy));
        assert!(budget.hold(30 * MB).await.is_ok(), "what is left is given");
        drop(first);
        assert!(budget.hold(60 * MB).await.is_ok());
    }

    #[tokio::test]
    async fn a_budget_of_nothing_refuses_everything_even_nothing_and_unbounded_refuses_nothing() {
        let nothing = MemoryBudget::new(0, Duration::ZERO);
        for bytes in [0, 1] {
            assert!(matches!(
                nothing.hold(bytes).await,
                Err(NoShare::OverBudget { .. })
            ));
        }
        assert!(MemoryBudget::unbounded().hold(u64::MAX).await.is_ok());
    }
}
