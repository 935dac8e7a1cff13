//! A limit on how many requests of one kind run at once: past it a request waits its
//! turn for a while, then gets a 503 with `Retry-After` and a message saying why.
//! Used where a request is expensive on purpose (the lab's experiments, the naive
//! twins) so that a crowd of them cannot take the memory or the database from
//! everything else.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::base::error::AppError;

#[derive(Clone, Debug)]
pub struct Gate {
    turns: Arc<Semaphore>,
    in_flight: usize,
    wait: Duration,
    busy: &'static str,
}

impl Gate {
    /// `in_flight` at once; the next waits up to `wait`, then is told `busy`.
    pub fn new(in_flight: usize, wait: Duration, busy: &'static str) -> Self {
        let in_flight = in_flight.max(1);
        Self {
            turns: Arc::new(Semaphore::new(in_flight)),
            in_flight,
            wait,
            busy,
        }
    }

    /// A turn, held until the permit is dropped — or a 503 after the wait.
    pub async fn take_turn(&self) -> Result<OwnedSemaphorePermit, AppError> {
        tokio::time::timeout(self.wait, self.turns.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Busy(self.busy.to_owned()))?
            .map_err(|_| AppError::Busy(self.busy.to_owned()))
    }

    /// Every turn at once, as a crowd would hold them (tests fill the gate with it).
    pub async fn take_every_turn(&self) -> Result<OwnedSemaphorePermit, AppError> {
        let all = u32::try_from(self.in_flight).unwrap_or(u32::MAX);
        self.turns
            .clone()
            .acquire_many_owned(all)
            .await
            .map_err(|_| AppError::Busy(self.busy.to_owned()))
    }
}
