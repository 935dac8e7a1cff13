//! The patterns the lab shows: what each one is about, and where its code lives.

/// One side of a comparison: the function the lab runs and shows.
pub struct Side {
    /// Path in the repository, as the page shows it.
    pub file: &'static str,
    /// The file's text, compiled in.
    pub source: &'static str,
    /// How the function's first line starts.
    pub signature: &'static str,
}

pub struct Pattern {
    pub slug: &'static str,
    pub title: &'static str,
    /// The problem, in a line, for `/lab`.
    pub problem: &'static str,
    /// Why the optimized side wins.
    pub why: &'static str,
    /// When it would not.
    pub when_not: &'static str,
    pub naive: Side,
    pub optimized: Side,
}

macro_rules! side {
    ($file:literal, $signature:literal) => {
        Side {
            file: $file,
            source: include_str!(concat!("../../", $file)),
            signature: $signature,
        }
    };
}

pub const PATTERNS: [Pattern; 7] = [
    Pattern {
        slug: "eager-loading",
        title: "Eager loading",
        problem: "A list that asks for each entry's author, tags and comment count runs 1 + 3N queries.",
        why: "Every statement costs a round trip and the database's per-statement work; the optimized list joins the author and fetches all tags and all counts with one IN (…) query each, so a page of 20 costs 3 statements instead of 61, and a page of 100 still 3. The bench: 11.4× faster at 20 posts and 28.2× at 100 on PostgreSQL (10.0× and 16.4× on SQLite).",
        when_not: "For one post, or when the related rows are already in memory, batching saves little; and a JOIN that multiplies rows (many tags × many comments) can fetch more than separate queries would.",
        naive: side!("src/views/post_list/naive.rs", "pub async fn summarize"),
        optimized: side!("src/views/post_list/optimized.rs", "pub async fn summarize"),
    },
    Pattern {
        slug: "projection",
        title: "Column projection",
        problem: "A list page that loads whole rows carries every post's 2–8 KB body it never shows.",
        why: "Selecting the five columns the page shows moves 24.5× fewer bytes from the database and decodes that much less text into Rust strings: for 1,000 posts, 9.7× faster on PostgreSQL, 2.0× on SQLite.",
        when_not: "When the page does show the large column, or the rows are small anyway; and a projection must change whenever the page shows one more field.",
        naive: side!("src/views/post_list/naive.rs", "pub async fn page_rows"),
        optimized: side!("src/views/post_list/optimized.rs", "pub async fn page_rows"),
    },
    Pattern {
        slug: "bulk-updates",
        title: "Bulk updates",
        problem: "Publishing every draft by loading and saving each one sends 1 + N statements.",
        why: "One UPDATE … WHERE lets the database find and change the rows itself: no row travels to Rust and back, one round trip, one commit. (Here both run inside a rolled-back transaction, which hides the naive side's commit per row; the bench measures it with commits: 42× at 1,000 rows on PostgreSQL.)",
        when_not: "When each row needs logic the database cannot express (calling a service per row), or when the application must run per-row hooks (ActiveModelBehavior) that a bulk statement skips.",
        naive: side!("src/views/admin/naive.rs", "pub async fn publish_drafts"),
        optimized: side!(
            "src/views/admin/optimized.rs",
            "pub async fn publish_drafts"
        ),
    },
    Pattern {
        slug: "atomic-counters",
        title: "Atomic counters",
        problem: "Reading a counter, adding one in Rust and writing it back loses updates when views arrive together.",
        why: "SET view_count = view_count + 1 does the addition under the row's lock, so concurrent views queue instead of overwriting each other: 200 concurrent views count 200 (the naive counter kept 3–7 of 200 in the tests). It is also one statement instead of two.",
        when_not: "Hot rows still serialise on their lock; at very high rates a counter is better batched (count in memory or Redis, flush periodically).",
        naive: side!("src/views/post_detail/naive.rs", "pub async fn count_view"),
        optimized: side!(
            "src/views/post_detail/optimized.rs",
            "pub async fn count_view"
        ),
    },
    Pattern {
        slug: "aggregation",
        title: "Aggregation in the database",
        problem: "Counting posts per tag and comments per post in Rust means loading every post and every comment first.",
        why: "COUNT … GROUP BY runs where the rows are, reads indexes, and sends back fifty counts and five titles instead of the whole dataset: 6.5× faster on PostgreSQL (315.5 → 48.3 ms), 5.1× on SQLite.",
        when_not: "When the rows are needed anyway for something else, or the counting rule is easier to express in Rust than in SQL — and on tiny tables.",
        naive: side!("src/views/sidebar/naive.rs", "pub async fn load"),
        optimized: side!("src/views/sidebar/aggregated.rs", "pub async fn load"),
    },
    Pattern {
        slug: "fragment-caching",
        title: "Fragment caching",
        problem: "The sidebar's aggregates are recomputed on every page view, though they change only when someone writes.",
        why: "Its rendered HTML is cached and reused until a write bumps the cache's generation: a hit is one Redis round trip (or a hash lookup) and no SQL — 58.9 µs against the naive sidebar's 315.5 ms on PostgreSQL. Misses share one computation.",
        when_not: "When the data changes on nearly every request, when a stale value is unacceptable and invalidation cannot be made exact, or when computing is as cheap as looking up.",
        naive: side!("src/views/sidebar/aggregated.rs", "pub async fn load"),
        optimized: side!("src/views/sidebar/cached.rs", "pub async fn load"),
    },
    Pattern {
        slug: "offloaded-email",
        title: "Offloaded email",
        problem: "Sending the notification inside the request makes every comment wait for the mail server — and fail with it.",
        why: "The comment and its email are written in one transaction (an outbox row) and the request answers at once; a worker delivers, retries and never loses a message. With a 50 ms SMTP server the request is 130× faster on PostgreSQL.",
        when_not: "When the user must know the email went out before the page answers — then the wait is the feature.",
        naive: side!("src/views/comments/naive.rs", "pub async fn add"),
        optimized: side!("src/views/comments/optimized.rs", "pub async fn add"),
    },
];

pub fn find(slug: &str) -> Option<&'static Pattern> {
    PATTERNS.iter().find(|pattern| pattern.slug == slug)
}
