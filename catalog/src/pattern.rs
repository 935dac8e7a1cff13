//! One pattern's file, read: the front matter into [`Pattern`]'s fields, the body into
//! its [`Section`]s.

use serde::Deserialize;

/// A pattern, as `docs/patterns/<slug>.md` describes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    /// Its address in the lab, `/lab/{slug}`, and its file's name.
    #[serde(skip)]
    pub slug: String,
    pub title: String,
    /// Where it comes in the lab and the README: patterns are listed by this number
    /// (in tens, so one can be put between two others), a track's patterns together.
    pub order: u32,
    /// The part of the lab's path it belongs to.
    pub track: Track,
    /// What a Django developer calls it, in markdown (`code` in backticks).
    pub django: String,
    /// Rails's name for it, where Rails has one of its own.
    #[serde(default)]
    pub rails: Option<String>,
    /// Where its two sides run on the site.
    pub shows_on: Vec<Place>,
    /// The integration tests that pin its promise.
    pub tests: Vec<String>,
    pub naive: Side,
    pub optimized: Side,
    /// What criterion measures; the first is also what the lab runs live.
    pub measures: Vec<Measure>,
    /// The data its comparisons run on where it is not the standard dataset ("a
    /// database of its own: 1,000 posts, no comments"); the bench report's lines say it.
    #[serde(default)]
    pub dataset: Option<String>,
    /// The prose: the five sections every pattern has, in order, then any others.
    #[serde(skip)]
    pub sections: Vec<Section>,
}

/// The lab's path through the patterns, in the order a learner takes it: each track a
/// kind of work a page does, and what makes it cheaper.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Track {
    Reads,
    Writes,
    ReadHeavyPages,
    Infrastructure,
    Diagnosing,
}

impl Track {
    pub const ALL: [Track; 5] = [
        Track::Reads,
        Track::Writes,
        Track::ReadHeavyPages,
        Track::Infrastructure,
        Track::Diagnosing,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Track::Reads => "Reads: ask for less, less often",
            Track::Writes => "Writes: one statement for many rows, and none the user waits for",
            Track::ReadHeavyPages => "Read-heavy pages: do the work once, not on every view",
            Track::Infrastructure => "Infrastructure: what every statement pays for",
            Track::Diagnosing => "Diagnosing: measure first",
        }
    }

    /// What the track teaches, in a sentence.
    pub fn about(self) -> &'static str {
        match self {
            Track::Reads => {
                "How a page asks the database for what it shows: how many statements, \
                 which columns, which rows, and who does the counting."
            }
            Track::Writes => {
                "How a change reaches the database: in one statement or one per row, \
                 without losing a concurrent update, and off the request's path."
            }
            Track::ReadHeavyPages => {
                "Pages read far more often than their data changes: keep the answer, \
                 and know when it stops being true."
            }
            Track::Infrastructure => {
                "Costs under every query: how rows are found, how connections are made, \
                 and whether reads wait for each other."
            }
            Track::Diagnosing => {
                "Every page says what it cost: the footer names each part's statements \
                 and time, `Server-Timing` carries them to the browser's developer tools, \
                 and `X-N-Plus-One` names a repeated statement and its fix."
            }
        }
    }
}

/// Where on the site a pattern's sides run: the optimized view at `path`, the naive one
/// at `/naive{path}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "PlaceSpec")]
pub struct Place {
    pub view: String,
    /// A page (`/tags/{slug}`), an action (`POST /admin/import`) or a command.
    pub path: String,
    /// The view's folder, from the repository's root.
    pub folder: String,
    /// The page a visitor opens to use it, when `path` is not one they can open (the
    /// admin page that holds an action's form).
    pub visit: Option<String>,
}

impl Place {
    /// The twin pages a visitor can open: the optimized and the naive page at `path`,
    /// when it is a page.
    pub fn is_page(&self) -> bool {
        self.path.starts_with('/') && self.visit.is_none()
    }
}

/// One side of a pattern.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Side {
    /// What it does and what that costs, in a line of markdown.
    pub summary: String,
    /// On a naive side that is an earlier pattern's optimized side — a rung of a ladder
    /// — that pattern's slug: the lab names the side after it ("before: atomic
    /// counters"), not "naive".
    #[serde(default)]
    pub starts_from: Option<String>,
    /// The functions it runs, the one called first first.
    pub code: Vec<CodeRef>,
}

/// A function in the repository: `src/views/post_list/naive.rs summarize`, or a method
/// as `Type::method`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct CodeRef {
    /// From the repository's root.
    pub file: String,
    pub function: String,
}

/// A comparison criterion runs: both sides, at each of its sizes, on each backend.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// Names the comparison in the server's code; criterion files the sides as
    /// `{id}-naive` and `{id}-optimized` in the group `{slug}-{backend}`.
    pub id: String,
    /// What is compared, as the report labels it.
    pub what: String,
    /// The sizes criterion runs it at; none: one run without a size.
    #[serde(default)]
    pub sizes: Vec<u64>,
    /// The size the lab runs; none: the comparison's own choice.
    #[serde(default)]
    pub live: Option<u64>,
    /// The size the README quotes; none: every size.
    #[serde(default)]
    pub headline: Option<u64>,
    /// What the lesson is about, which decides the headline's unit.
    #[serde(default)]
    pub unit: Unit,
    /// Whether the lesson is how the cost grows with the size: the lab draws both
    /// sides against it.
    #[serde(default)]
    pub grows: bool,
}

/// The unit a measure's headline is written in: the lesson's, not always speed.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// How many times faster: for lessons about speed.
    #[default]
    Speed,
    /// The time each request saves: for caches, where a ratio against a
    /// microsecond lookup says nothing a learner can use.
    TimeSaved,
    /// How many of a race's concurrent writes the data kept: for correctness.
    Kept,
    /// The most bytes of output held at once: for memory.
    Memory,
    /// The requests a side sent over the network: for what a browser keeps.
    Requests,
    /// How many of the reads after a reader's own write showed it: for reading your
    /// writes.
    Seen,
    /// How many of the reads after a reader's own write the primary served: for what
    /// a standby takes off it.
    PrimaryReads,
}

/// A `## heading` of the body and the markdown under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub markdown: String,
}

/// The sections every pattern file has, in this order, before any of its own.
pub const REQUIRED_SECTIONS: [&str; 5] = [
    "The problem",
    "The setup",
    "Why the optimized side wins",
    "When it would not",
    "In Django and Rails",
];

/// The section a file ends with: its figures, generated by the bench report.
pub const MEASURED_SECTION: &str = "Measured";

/// The pages several patterns show on, named in front matter by their `view`.
fn known_place(name: &str) -> Option<Place> {
    let (path, folder) = match name {
        "post list" => ("/", "src/views/post_list"),
        "tag page" => ("/tags/{slug}", "src/views/tag_page"),
        "post page" => ("/posts/{slug}", "src/views/post_detail"),
        "sidebar" => ("/", "src/views/sidebar"),
        _ => return None,
    };
    Some(Place {
        view: name.to_owned(),
        path: path.to_owned(),
        folder: folder.to_owned(),
        visit: None,
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PlaceSpec {
    Known(String),
    Defined {
        view: String,
        path: String,
        folder: String,
        #[serde(default)]
        visit: Option<String>,
    },
}

impl TryFrom<PlaceSpec> for Place {
    type Error = String;

    fn try_from(spec: PlaceSpec) -> Result<Self, String> {
        match spec {
            PlaceSpec::Known(name) => {
                known_place(&name).ok_or_else(|| format!("no place is called `{name}`"))
            }
            PlaceSpec::Defined {
                view,
                path,
                folder,
                visit,
            } => Ok(Place {
                view,
                path,
                folder,
                visit,
            }),
        }
    }
}

impl TryFrom<String> for CodeRef {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match text.split_once(' ') {
            Some((file, function)) if !function.trim().is_empty() => Ok(CodeRef {
                file: file.to_owned(),
                function: function.trim().to_owned(),
            }),
            _ => Err(format!("`{text}` is not `<file> <function>`")),
        }
    }
}

impl Pattern {
    /// What its figures were measured on: its own [`Pattern::dataset`] or the standard.
    pub fn dataset(&self) -> &str {
        self.dataset.as_deref().unwrap_or("standard dataset")
    }

    /// Reads the file of the pattern `slug`: front matter between `---` lines, then
    /// `# title` and the sections.
    pub fn parse(slug: &str, text: &str) -> Result<Self, String> {
        let rest = text
            .strip_prefix("---\n")
            .ok_or("the file does not open with front matter (`---`)")?;
        let (front, body) = rest
            .split_once("\n---\n")
            .ok_or("the front matter has no closing `---`")?;
        let mut pattern: Pattern =
            serde_saphyr::from_str(front).map_err(|error| format!("front matter: {error}"))?;
        pattern.slug = slug.to_owned();
        pattern.sections = sections(body, &pattern.title)?;
        pattern.check()?;
        Ok(pattern)
    }

    /// Its file, from the repository's root.
    pub fn file(&self) -> String {
        format!("docs/patterns/{}.md", self.slug)
    }

    /// The markdown of the section headed `heading`, if the file has one.
    pub fn section(&self, heading: &str) -> Option<&str> {
        self.sections
            .iter()
            .find(|section| section.heading == heading)
            .map(|section| section.markdown.as_str())
    }

    /// The measure `id`.
    pub fn measure(&self, id: &str) -> Option<&Measure> {
        self.measures.iter().find(|measure| measure.id == id)
    }

    /// The measure the lab runs live: the first.
    pub fn live_measure(&self) -> Option<&Measure> {
        self.measures.first()
    }

    /// What a file must hold beyond what parses: the five sections first and in order,
    /// the figures last, at least one measure, ids unique.
    fn check(&self) -> Result<(), String> {
        let headings: Vec<&str> = self.sections.iter().map(|s| s.heading.as_str()).collect();
        if headings.get(..REQUIRED_SECTIONS.len()) != Some(&REQUIRED_SECTIONS[..]) {
            return Err(format!(
                "the sections must start {REQUIRED_SECTIONS:?}; they are {headings:?}"
            ));
        }
        if headings.last() != Some(&MEASURED_SECTION) {
            return Err(format!("the last section must be `## {MEASURED_SECTION}`"));
        }
        if self.measures.is_empty() {
            return Err("no measures: the lab would have nothing to run".to_owned());
        }
        let mut ids: Vec<&str> = self.measures.iter().map(|m| m.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != self.measures.len() {
            return Err("two measures share an id".to_owned());
        }
        Ok(())
    }
}

/// The body's `## ` sections, after its `# title` line.
fn sections(body: &str, title: &str) -> Result<Vec<Section>, String> {
    let body = body.trim_start();
    let (first, rest) = body.split_once('\n').unwrap_or((body, ""));
    if first.strip_prefix("# ") != Some(title) {
        return Err(format!("the body must open with `# {title}`"));
    }
    let mut sections: Vec<Section> = Vec::new();
    let mut fenced = false;
    for line in rest.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
        }
        match line.strip_prefix("## ") {
            Some(heading) if !fenced => sections.push(Section {
                heading: heading.trim().to_owned(),
                markdown: String::new(),
            }),
            _ => match sections.last_mut() {
                Some(section) => {
                    section.markdown.push_str(line);
                    section.markdown.push('\n');
                }
                None if line.trim().is_empty() => {}
                None => return Err("text before the first `## ` section".to_owned()),
            },
        }
    }
    for section in &mut sections {
        section.markdown = section.markdown.trim().to_owned();
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "---
title: Small
order: 10
track: reads
django: \"`only()`\"
shows_on: [post list, {view: export, path: /admin/export.ndjson, folder: src/views/admin/export}]
tests: [tests/api/post_list.rs]
naive:
  summary: whole rows
  code: [src/views/post_list/naive.rs page_rows]
optimized:
  summary: six columns
  code: [src/views/post_list/optimized.rs page_rows, src/services/cache/store.rs MemoryStore::lookup]
measures:
  - id: page-query
    what: page query (posts)
    sizes: [20, 1000]
    headline: 1000
---

# Small

## The problem
Whole rows.

## The setup
Both sides.

## Why the optimized side wins
Fewer bytes.

## When it would not
Small rows.

```sh
## not a heading
```

## In Django and Rails
`only()`.

## Measured
";

    #[test]
    fn a_file_reads_into_its_fields_and_sections() {
        let pattern = Pattern::parse("small", SMALL).unwrap();
        assert_eq!(pattern.title, "Small");
        assert_eq!(pattern.shows_on[0].folder, "src/views/post_list");
        assert_eq!(pattern.shows_on[1].view, "export");
        assert_eq!(
            pattern.optimized.code[1],
            CodeRef {
                file: "src/services/cache/store.rs".into(),
                function: "MemoryStore::lookup".into()
            }
        );
        assert_eq!(pattern.measures[0].sizes, [20, 1000]);
        assert_eq!(pattern.section("The problem"), Some("Whole rows."));
        assert!(
            pattern
                .section("When it would not")
                .unwrap()
                .contains("## not a heading")
        );
    }

    #[test]
    fn a_missing_section_or_an_unknown_place_is_refused_with_the_reason() {
        let without_setup = SMALL.replace("## The setup\nBoth sides.\n\n", "");
        let problem = Pattern::parse("small", &without_setup).unwrap_err();
        assert!(problem.contains("The setup"), "{problem}");
        let unknown = SMALL.replace("[post list,", "[front page,");
        assert!(Pattern::parse("small", &unknown).is_err());
        let unmeasured = SMALL.replace("## Measured\n", "");
        assert!(Pattern::parse("small", &unmeasured).is_err());
    }
}
