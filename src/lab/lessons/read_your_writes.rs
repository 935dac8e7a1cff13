//! Reading your own writes by WAL position: the pinning router against a rule that
//! reads from a standby as soon as it has replayed the reader's write. The journey and
//! the rungs are the read-replicas lesson's (`read_replicas.rs`).

use super::read_replicas::{Rung, side};
use super::{Comparison, Lesson, Which};

pub static LESSON: Lesson = Lesson {
    slug: "read-your-writes",
    comparisons: &[&OWN_COMMENT],
    backfire: None,
};

/// The pinning router against reading by the write's log position.
static OWN_COMMENT: Comparison<()> = Comparison::either(
    "own-comment",
    |_, _| Box::pin(async { Ok(()) }),
    |bench, _, runs, which| {
        let rung = match which {
            Which::Naive => Rung::Pinned,
            Which::Optimized => Rung::WalPosition,
        };
        Box::pin(side(bench, runs, rung))
    },
)
.samples(10)
.needing_a_standby();
