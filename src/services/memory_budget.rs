//! A limit on the memory that one kind of work holds at once, shared by everything
//! that does it: each piece of work estimates what it will hold before it loads, and
//! takes that much of the budget until it is done. Work larger than the whole budget
//! never starts; work that fits waits for its share for a while, then is turned away.
//!
//! The naive gate bounds how many naive requests run at once; this bounds what they
//! load, which grows with the data: at ten times the standard dataset one naive
//! sidebar loads more than a small instance has.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shares are counted in KiB, so that a budget of terabytes still fits the semaphore.
const SHARE: u64 = 1024;

#[derive(Clone, Debug)]
pub struct MemoryBudget {
    /// `None`: unbounded (the benches and tests that measure the naive work itself).
    shares: Option<Arc<Semaphore>>,
    bytes: u64,
    wait: Duration,
}

/// Why work did not get its share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Short {
    /// It would hold more than the whole budget: it never runs here.
    OverBudget { budget: u64 },
    /// Others hold the budget now, and did not give back enough within the wait.
    Busy,
}

/// A share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Held(#[allow(dead_code)] Option<OwnedSemaphorePermit>);

impl MemoryBudget {
    /// `bytes` shared by all the work that asks; the next waits up to `wait`.
    pub fn new(bytes: u64, wait: Duration) -> Self {
        let shares = usize::try_from(bytes / SHARE).unwrap_or(Semaphore::MAX_PERMITS);
        Self {
            shares: Some(Arc::new(Semaphore::new(shares.min(Semaphore::MAX_PERMITS)))),
            bytes,
            wait,
        }
    }

    /// No limit: every estimate gets its share at once.
    pub fn unbounded() -> Self {
        Self {
            shares: None,
            bytes: u64::MAX,
            wait: Duration::ZERO,
        }
    }

    /// The budget in bytes (`u64::MAX` when unbounded).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// A share of `bytes` (at least one unit), held until dropped.
    pub async fn hold(&self, bytes: u64) -> Result<Held, Short> {
        let Some(shares) = &self.shares else {
            return Ok(Held(None));
        };
        if bytes > self.bytes {
            return Err(Short::OverBudget { budget: self.bytes });
        }
        let units = u32::try_from(bytes.div_ceil(SHARE).max(1))
            .map_err(|_| Short::OverBudget { budget: self.bytes })?;
        match tokio::time::timeout(self.wait, shares.clone().acquire_many_owned(units)).await {
            Ok(Ok(permit)) => Ok(Held(Some(permit))),
            Ok(Err(_)) | Err(_) => Err(Short::Busy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1024 * 1024;

    #[tokio::test]
    async fn work_larger_than_the_whole_budget_never_starts() {
        let budget = MemoryBudget::new(100 * MB, Duration::from_millis(10));
        assert_eq!(
            budget.hold(101 * MB).await.err(),
            Some(Short::OverBudget { budget: 100 * MB })
        );
        assert!(budget.hold(100 * MB).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_fits_waits_for_its_share_and_gets_it_when_it_is_given_back() {
        let budget = MemoryBudget::new(100 * MB, Duration::from_secs(2));
        let first = budget.hold(60 * MB).await;
        assert!(first.is_ok());
        assert_eq!(budget.hold(60 * MB).await.err(), Some(Short::Busy));
        assert!(budget.hold(40 * MB).await.is_ok(), "what is left is given");
        drop(first);
        assert!(budget.hold(60 * MB).await.is_ok());
    }

    #[tokio::test]
    async fn a_budget_of_nothing_refuses_everything_and_unbounded_refuses_nothing() {
        let nothing = MemoryBudget::new(0, Duration::ZERO);
        assert!(matches!(
            nothing.hold(1).await,
            Err(Short::OverBudget { .. })
        ));
        assert!(MemoryBudget::unbounded().hold(u64::MAX).await.is_ok());
    }
}
