//! Deterministic, readable-enough text for the dataset: the same seed gives the same
//! blog on every machine (ChaCha8 is specified to be reproducible across platforms).

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

const WORDS: &[&str] = &[
    "async",
    "await",
    "borrow",
    "buffer",
    "cache",
    "channel",
    "closure",
    "compile",
    "crate",
    "database",
    "deadline",
    "deploy",
    "error",
    "executor",
    "feature",
    "future",
    "generic",
    "handler",
    "index",
    "iterator",
    "join",
    "latency",
    "lifetime",
    "lock",
    "macro",
    "memory",
    "migration",
    "module",
    "mutex",
    "network",
    "pattern",
    "pointer",
    "pool",
    "query",
    "queue",
    "request",
    "response",
    "runtime",
    "schema",
    "server",
    "slice",
    "socket",
    "stack",
    "stream",
    "string",
    "struct",
    "task",
    "thread",
    "throughput",
    "trait",
    "transaction",
    "type",
    "value",
    "vector",
    "worker",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "with",
    "for",
    "on",
    "that",
    "we",
    "it",
    "when",
    "how",
    "why",
    "every",
    "faster",
    "slower",
    "simple",
    "careful",
    "small",
    "large",
    "first",
    "last",
    "better",
    "Q&A",
    "Vec<u8>",
    "\"quoted\"",
    "it's",
];

const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Barbara", "Brian", "Carla", "Dennis", "Edsger", "Frances", "Grace", "Guido",
    "Hedy", "Ivan", "Joan", "Ken", "Linus", "Margaret", "Niklaus", "Radia", "Sophie", "Tony",
];

const LAST_NAMES: &[&str] = &[
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Elion",
    "Floyd",
    "Goldberg",
    "Hamilton",
    "Hopper",
    "Iverson",
    "Johnson",
    "Kernighan",
    "Lamport",
    "Liskov",
    "McCarthy",
    "Naur",
    "Perlman",
    "Ritchie",
    "Thompson",
    "Wirth",
];

const TAG_NAMES: &[&str] = &[
    "rust",
    "sql",
    "postgresql",
    "sqlite",
    "redis",
    "caching",
    "performance",
    "databases",
    "web",
    "axum",
    "tokio",
    "async",
    "testing",
    "benchmarks",
    "indexes",
    "orm",
    "seaorm",
    "http",
    "security",
    "email",
    "queues",
    "observability",
    "metrics",
    "tracing",
    "deployment",
    "docker",
    "linux",
    "networking",
    "concurrency",
    "memory",
    "compilers",
    "types",
    "errors",
    "api-design",
    "architecture",
    "refactoring",
    "tooling",
    "cli",
    "serialization",
    "json",
    "templates",
    "frontend",
    "accessibility",
    "scaling",
    "reliability",
    "migrations",
    "search",
    "pagination",
    "profiling",
    "career",
];

pub struct Writer {
    rng: ChaCha8Rng,
}

impl Writer {
    pub fn new(rng: ChaCha8Rng) -> Self {
        Self { rng }
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    fn word(&mut self) -> &'static str {
        WORDS.choose(&mut self.rng).copied().unwrap_or("word")
    }

    fn words(&mut self, count: usize) -> String {
        let mut text = String::new();
        for i in 0..count {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(self.word());
        }
        text
    }

    pub fn sentence(&mut self) -> String {
        let count = self.rng.random_range(6..16);
        let mut sentence = capitalize(&self.words(count));
        sentence.push('.');
        sentence
    }

    fn sentences(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| self.sentence())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn title(&mut self) -> String {
        let count = self.rng.random_range(3..8);
        capitalize(&self.words(count))
    }

    pub fn excerpt(&mut self) -> String {
        self.sentences(2)
    }

    /// Paragraphs until the body holds between `min_bytes` and about `max_bytes`.
    pub fn body(&mut self, min_bytes: usize, max_bytes: usize) -> String {
        let target = self.rng.random_range(min_bytes..=max_bytes);
        let mut body = String::with_capacity(target + 200);
        while body.len() < target {
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            let count = self.rng.random_range(3..7);
            body.push_str(&self.sentences(count));
        }
        body
    }

    pub fn comment(&mut self) -> String {
        let count = self.rng.random_range(1..4);
        self.sentences(count)
    }
}

/// User `index`'s display name: every first/last pair once, then numbered.
pub fn user_name(index: usize) -> String {
    let pairs = FIRST_NAMES.len() * LAST_NAMES.len();
    let first = FIRST_NAMES[index % FIRST_NAMES.len()];
    let last = LAST_NAMES[(index / FIRST_NAMES.len()) % LAST_NAMES.len()];
    match index / pairs {
        0 => format!("{first} {last}"),
        round => format!("{first} {last} {}", round + 1),
    }
}

/// Tag `index`'s name: the list above, then `topic-N`.
pub fn tag_name(index: usize) -> String {
    TAG_NAMES
        .get(index)
        .map(|name| (*name).to_owned())
        .unwrap_or_else(|| format!("topic-{}", index + 1))
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_same_seed_writes_the_same_text() {
        let mut a = Writer::new(ChaCha8Rng::seed_from_u64(7));
        let mut b = Writer::new(ChaCha8Rng::seed_from_u64(7));
        assert_eq!(a.body(2048, 8192), b.body(2048, 8192));
        assert_eq!(a.title(), b.title());
    }

    #[test]
    fn bodies_are_at_least_the_minimum_size() {
        let mut writer = Writer::new(ChaCha8Rng::seed_from_u64(1));
        for _ in 0..20 {
            let body = writer.body(2048, 8192);
            assert!((2048..8192 + 400).contains(&body.len()), "{}", body.len());
        }
    }

    #[test]
    fn user_names_are_unique_beyond_the_name_lists() {
        let names: std::collections::HashSet<_> = (0..1000).map(user_name).collect();
        assert_eq!(names.len(), 1000);
    }
}
