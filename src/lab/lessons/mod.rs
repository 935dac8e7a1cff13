//! One file per pattern: its comparisons, each defined once — setup, naive, optimized —
//! and run by the lab, by criterion (`benches/lessons.rs`) and by the tests. What the
//! pattern is, its prose and where it shows live in `docs/patterns/<slug>.md` (read by
//! the `catalog` crate); tests fail when the two disagree.

pub mod aggregation;
pub mod atomic_counters;
pub mod bulk_inserts;
pub mod bulk_updates;
pub mod compiled_templates;
pub mod concurrent_reads;
pub mod connection_pooling;
pub mod denormalized_counters;
pub mod eager_loading;
pub mod exists;
pub mod fragment_caching;
pub mod indexes;
pub mod keyset_pagination;
pub mod middleware_cost;
pub mod offloaded_email;
pub mod one_transaction;
pub mod per_view_caching;
pub mod projection;
pub mod read_replicas;
pub mod read_your_writes;
pub mod static_files;
pub mod streaming;
pub mod template_caching;
pub mod write_behind_counter;

pub use super::backfire::{Backfire, Line, median_of, refusal, time};
pub use super::compare::{
    Action, Compare, Comparison, Fact, Facts, Found, Fut, Lesson, Runs, Step, Which,
};

/// Every pattern's comparisons, found by slug; the catalog gives the reading order.
pub static LESSONS: &[&Lesson] = &[
    &aggregation::LESSON,
    &atomic_counters::LESSON,
    &bulk_inserts::LESSON,
    &bulk_updates::LESSON,
    &compiled_templates::LESSON,
    &concurrent_reads::LESSON,
    &connection_pooling::LESSON,
    &denormalized_counters::LESSON,
    &eager_loading::LESSON,
    &exists::LESSON,
    &fragment_caching::LESSON,
    &indexes::LESSON,
    &keyset_pagination::LESSON,
    &middleware_cost::LESSON,
    &offloaded_email::LESSON,
    &one_transaction::LESSON,
    &per_view_caching::LESSON,
    &projection::LESSON,
    &read_replicas::LESSON,
    &read_your_writes::LESSON,
    &static_files::LESSON,
    &streaming::LESSON,
    &template_caching::LESSON,
    &write_behind_counter::LESSON,
];

/// The comparisons of the pattern `slug`.
pub fn find(slug: &str) -> Option<&'static Lesson> {
    LESSONS.iter().copied().find(|lesson| lesson.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prose and the code name the same patterns and the same measures, in the same
    /// order: the first measure is what the lab runs.
    #[test]
    fn every_pattern_file_has_its_comparisons_and_every_comparison_its_measure() {
        for pattern in crate::lab::catalog().patterns() {
            let lesson = find(&pattern.slug)
                .unwrap_or_else(|| panic!("{}: no lesson in src/lab/lessons/", pattern.slug));
            let measures: Vec<&str> = pattern.measures.iter().map(|m| m.id.as_str()).collect();
            let compared: Vec<&str> = lesson.comparisons.iter().map(|c| c.measure()).collect();
            assert_eq!(measures, compared, "{}", pattern.slug);
        }
        assert_eq!(LESSONS.len(), crate::lab::catalog().patterns().len());
    }

    /// The N+1 detector's reports link the lab page of each fix it suggests.
    #[test]
    fn every_fix_the_n_plus_one_detector_suggests_has_its_lab_page() {
        for fix in crate::base::instrument::Fix::ALL {
            assert!(
                crate::lab::catalog().find(fix.lab).is_some(),
                "/lab/{}",
                fix.lab
            );
        }
    }

    #[test]
    fn the_email_pattern_states_the_delay_the_lab_uses() {
        let setup = crate::lab::catalog()
            .find("offloaded-email")
            .and_then(|pattern| pattern.section("The setup"))
            .unwrap_or_default();
        let stated = format!("{} ms", offloaded_email::SMTP_DELAY.as_millis());
        assert!(setup.contains(&stated), "{setup}");
    }

    #[test]
    fn the_indexes_pattern_states_how_many_posts_the_write_cost_run_copies() {
        let prose = crate::lab::catalog()
            .find("indexes")
            .and_then(|pattern| pattern.section("When it would not"))
            .unwrap_or_default()
            .replace('\n', " ");
        let stated = format!(
            "the first {} posts",
            catalog::report::thousands(indexes::WRITTEN)
        );
        assert!(prose.contains(&stated), "{prose}");
    }

    #[test]
    fn the_bulk_updates_pattern_states_how_many_drafts_the_lab_publishes_at_most() {
        let pattern = crate::lab::catalog().find("bulk-updates");
        let live = pattern
            .and_then(|pattern| pattern.live_measure())
            .and_then(|measure| measure.live);
        let setup = pattern
            .and_then(|pattern| pattern.section("The setup"))
            .unwrap_or_default()
            .replace('\n', " ");
        let stated = format!("at most the site's {} newest drafts", live.unwrap_or(0));
        assert!(live.is_some() && setup.contains(&stated), "{setup}");
    }

    /// The prose words the journey and the pin as the code has them: ten reads, a
    /// tenth of a second apart, inside a pin of two seconds.
    #[test]
    fn the_replica_lessons_state_the_journey_and_the_pin_the_lab_uses() {
        let setup = |slug| {
            crate::lab::catalog()
                .find(slug)
                .and_then(|pattern| pattern.section("The setup"))
                .unwrap_or_default()
                .replace('\n', " ")
        };
        let (replicas, own_writes) = (setup("read-replicas"), setup("read-your-writes"));
        assert_eq!(read_replicas::READS_AFTER, 10);
        assert_eq!(read_replicas::READ_EVERY.as_millis(), 50);
        assert_eq!(crate::services::db::standbys::PINNED_FOR.as_secs(), 2);
        for said in ["ten times, a twentieth of a second apart", "two seconds"] {
            assert!(replicas.contains(said), "read-replicas: {said}");
        }
        for said in [
            "ten reads of its comments, a twentieth of a second apart",
            "two seconds",
        ] {
            assert!(own_writes.contains(said), "read-your-writes: {said}");
        }
    }
}
