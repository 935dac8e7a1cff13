//! The lab: both sides run live, with their statements and their real source, and
//! nothing a visitor does there changes data.

use axum::http::StatusCode;
use catalog::report;
use catalog::{Pattern, Track};
use perfblog::base::config::DatabaseUrl;
use perfblog::base::entities::{comment, outbox_message, post, user};
use perfblog::lab::catalog;
use perfblog::lab::compare;
use perfblog::lab::lessons::one_transaction;
use perfblog::lab::published;
use perfblog::lab::workbench::Workbench;
use sea_orm::{EntityTrait, PaginatorTrait, QueryOrder};

use crate::helpers::{LAB_WAIT, Page, SMALL, TestApp, escaped, snapshot, spawn_app};

/// The figure after `<dt>statements</dt>` in each column, naive first.
fn statement_counts(body: &str) -> Vec<u32> {
    body.match_indices("<dd class=\"statements\">")
        .map(|(at, tag)| {
            let rest = &body[at + tag.len()..];
            rest[..rest.find('<').expect("closing tag")]
                .parse()
                .expect("a number")
        })
        .collect()
}

/// How many runs each column reports ("…, 5 runs)" or "1 run"), naive first.
fn runs_per_side(body: &str) -> Vec<u32> {
    body.match_indices("<dt>time, median</dt><dd>")
        .map(|(at, tag)| {
            let rest = &body[at + tag.len()..];
            let dd = &rest[..rest.find("</dd>").expect("closing tag")];
            if dd.contains("1 run") {
                return 1;
            }
            let before = &dd[..dd.rfind(" runs").expect("a number of runs")];
            before[before.rfind(' ').map_or(0, |i| i + 1)..]
                .parse()
                .expect("a number")
        })
        .collect()
}

/// The page's text with its tags removed: what a reader sees of highlighted code.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

async fn everything(app: &TestApp) -> impl PartialEq + std::fmt::Debug {
    (
        snapshot(&app.db).await,
        comment::Entity::find().count(&app.db).await.expect("count"),
        outbox_message::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        user::Entity::find().count(&app.db).await.expect("count"),
        post::Entity::find()
            .order_by_asc(post::Column::Id)
            .all(&app.db)
            .await
            .expect("posts")
            .into_iter()
            .map(|post| post.view_count)
            .collect::<Vec<_>>(),
    )
}

#[tokio::test]
async fn the_lab_lists_every_pattern_with_its_problem() {
    let app = spawn_app().await;

    let page = app.get_page("/lab").await;

    assert_eq!(page.status, 200);
    for pattern in catalog().patterns() {
        assert!(
            page.body
                .contains(&format!("href=\"lab/{}\"", pattern.slug)),
            "{}",
            pattern.slug
        );
    }
}

#[tokio::test]
async fn the_lab_groups_its_patterns_into_tracks_in_reading_order() {
    let app = spawn_app().await;

    let body = app.get_page("/lab").await.body;

    let mut last = 0;
    for track in Track::ALL {
        let at = body
            .find(&format!("<h2>{}</h2>", track.title()))
            .unwrap_or_else(|| panic!("{track:?} is on /lab"));
        assert!(at > last, "{track:?} comes after the track before it");
        last = at;
    }
    for pattern in catalog().patterns() {
        let heading = body[..body
            .find(&format!("href=\"lab/{}\"", pattern.slug))
            .expect("listed")]
            .rfind("<h2>")
            .expect("under a track");
        assert!(
            body[heading..].starts_with(&format!("<h2>{}</h2>", pattern.track.title())),
            "{} under its track",
            pattern.slug
        );
    }
}

#[tokio::test]
async fn a_ladders_rung_names_its_naive_side_after_the_pattern_it_starts_from() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let mut rungs = 0;
    for pattern in catalog().patterns() {
        let Some(from) = &pattern.naive.starts_from else {
            continue;
        };
        rungs += 1;
        let earlier = catalog().find(from).expect("a pattern");
        let body = app.get_page(&format!("/lab/{}", pattern.slug)).await.body;
        assert!(
            body.contains(&format!("href=\"{from}\">before: {}</a>", earlier.title)),
            "{}",
            pattern.slug
        );
    }
    assert!(rungs >= 4, "the ladders' rungs: {rungs}");
}

#[tokio::test]
async fn once_the_admin_has_published_every_draft_the_bulk_updates_page_says_so_and_how_to_restore_them()
 {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    perfblog::lab::fixtures::make_drafts(&app.db, 5)
        .await
        .expect("drafts are made");
    let notice = "No drafts are left to publish";

    let before = app.get_page("/lab/bulk-updates").await;
    assert!(!before.body.contains(notice), "drafts are there at first");
    assert!(
        app.admin_post("/admin/publish-drafts", &[])
            .await
            .rows_changed()
            > 0
    );
    let after = app.get_page("/lab/bulk-updates").await;

    assert_eq!(after.status, 200);
    assert!(after.body.contains(notice), "{}", after.body);
    assert!(after.body.contains("<code>perfblog seed --reset</code>"));
}

#[tokio::test]
async fn the_lab_with_a_trailing_slash_redirects_to_the_lab() {
    let app = spawn_app().await;

    let response = app.get("/lab/").await;

    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok()),
        Some("/lab")
    );
}

#[tokio::test]
async fn every_lab_page_shows_both_sides_with_their_statements_sql_and_source() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for pattern in catalog().patterns() {
        let page = app.get_page(&format!("/lab/{}", pattern.slug)).await;
        assert_eq!(page.status, 200, "{}: {}", pattern.slug, page.body);
        for (label, side) in [("naive", &pattern.naive), ("optimized", &pattern.optimized)] {
            assert!(
                page.body.contains(&format!("lab-column lab-{label}")),
                "{}: {label}",
                pattern.slug
            );
            for code in &side.code {
                assert!(
                    page.body.contains(&code.file),
                    "{}: {}",
                    pattern.slug,
                    code.file
                );
                assert!(
                    text_of(&page.body).contains(&format!(
                        "fn {}",
                        code.function.rsplit("::").next().unwrap_or(&code.function)
                    )),
                    "{}: the source of {}",
                    pattern.slug,
                    code.function
                );
            }
        }
        assert_the_sides_line_up(&pattern.slug, &page.body);
        for heading in catalog::REQUIRED_SECTIONS.iter().skip(2) {
            assert!(page.body.contains(heading), "{}: {heading}", pattern.slug);
        }
        let setup = pattern.section("The setup").unwrap_or_default();
        let first_words: Vec<&str> = setup.split_whitespace().take(3).collect();
        let text = text_of(&page.body);
        let text: Vec<&str> = text.split_whitespace().collect();
        assert!(
            text.windows(3).any(|words| words == first_words.as_slice()),
            "{}: how it runs",
            pattern.slug
        );
        assert_django_line_under_the_verdict(pattern, &page.body);
    }
}

/// Right under the verdict: "In Django: …", its code spans as `<code>`.
/// Side by side, the stylesheet lines the columns up slot by slot (a CSS subgrid), so
/// the two sides' code starts on the same line only if both carry the same slots.
fn assert_the_sides_line_up(slug: &str, body: &str) {
    let slots_of = |label: &str| -> Vec<String> {
        let start = body
            .find(&format!("lab-column lab-{label}"))
            .unwrap_or_else(|| panic!("{slug}: no {label} column"));
        let column = &body[start..];
        let column = &column[..column.find("</section>").unwrap_or(column.len())];
        column
            .split("class=\"slot")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
            .collect()
    };
    let naive = slots_of("naive");
    assert_eq!(naive.len(), 7, "{slug}: {naive:?}");
    assert_eq!(naive, slots_of("optimized"), "{slug}");
}

fn assert_django_line_under_the_verdict(pattern: &Pattern, body: &str) {
    let at = |needle: &str| {
        body.find(needle)
            .unwrap_or_else(|| panic!("{}: no {needle}", pattern.slug))
    };
    let line = at("<p class=\"elsewhere\">In Django: ");
    assert!(at("<p class=\"verdict\">") < line && line < at("<div class=\"problem\">"));
    let first_span = pattern.django.split('`').nth(1).expect("a code span");
    // Markdown escapes `&`, `<`, `>` and `"` in code, and leaves quotes as they are.
    let in_markdown = first_span
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    assert!(
        body[line..].contains(&format!("<code>{in_markdown}</code>")),
        "{}: {first_span}",
        pattern.slug
    );
    assert_eq!(
        body[line..at("<div class=\"problem\">")].contains("in Rails: "),
        pattern.rails.is_some(),
        "{}",
        pattern.slug
    );
}

#[tokio::test]
async fn each_lab_page_shows_the_bench_reports_figures_for_its_comparisons() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let report = published();
    assert!(
        !report.figures.is_empty(),
        "docs/benchmarks.json holds figures"
    );

    for pattern in catalog().patterns() {
        let page = app.get_page(&format!("/lab/{}", pattern.slug)).await;
        assert!(
            page.body
                .contains(&escaped(&report.where_and_when(&pattern.slug))),
            "{}: where its figures were measured",
            pattern.slug
        );
        for measure in &pattern.measures {
            assert!(
                page.body.contains(&escaped(&measure.what)),
                "{}",
                measure.what
            );
            for figure in report.of(&pattern.slug, &measure.id) {
                let row = format!(
                    "<td>{}</td><td>{}</td><td>{}</td>",
                    figure.backend,
                    report::duration(figure.naive_ns),
                    report::duration(figure.optimized_ns)
                );
                assert!(page.body.contains(&row), "{}: {row}", measure.what);
            }
        }
    }
}

/// A lesson about growth draws both sides against the size, from the bench report,
/// as SVG in the page (no script); a lesson about something else draws nothing.
#[tokio::test]
async fn a_growth_lessons_page_draws_both_sides_against_the_size_and_no_other_does() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for pattern in catalog().patterns() {
        let page = app.get_page(&format!("/lab/{}", pattern.slug)).await;
        let grows = pattern.measures.iter().any(|measure| measure.grows);
        let charts = page.body.matches("<svg class=\"growth-chart\"").count();
        assert_eq!(charts > 0, grows, "{}", pattern.slug);
        if grows {
            assert!(
                page.body.contains("<polyline class=\"naive\"")
                    && page.body.contains("<polyline class=\"optimized\""),
                "{}",
                pattern.slug
            );
        }
    }
}

/// Each measure's headline is in its lesson's unit: the race's views kept, the
/// export's bytes held, a cache's time saved — not a ratio where speed is not the
/// lesson.
#[tokio::test]
async fn each_lab_page_states_its_headline_in_the_lessons_unit() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for (slug, opens) in [
        (
            "atomic-counters",
            "concurrent views kept, naive → optimized: <strong>",
        ),
        (
            "streaming",
            "output held at once, 10,000, naive → optimized: <strong>",
        ),
        ("per-view-caching", "list page, in process: saves <strong>"),
        ("fragment-caching", "sidebar, in process: saves <strong>"),
    ] {
        let page = app.get_page(&format!("/lab/{slug}")).await;
        let headline = page
            .body
            .split("<p class=\"bench-headline\">")
            .nth(1)
            .and_then(|rest| rest.split("</p>").next())
            .unwrap_or_default();
        assert!(headline.starts_with(opens), "{slug}: {headline}");
        assert!(!headline.contains('×'), "{slug}: a ratio in {headline}");
    }
}

#[tokio::test]
async fn the_eager_loading_lab_completes_20_posts_in_60_statements_against_3_grouped_by_sql() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let page = app.get_page("/lab/eager-loading").await;

    assert_eq!(statement_counts(&page.body), vec![60, 3]);
    assert!(
        page.body.contains("<td class=\"count\">20</td>"),
        "the per-post queries are grouped: 20 of each"
    );
}

#[tokio::test]
async fn a_lab_page_counts_every_statement_its_experiments_ran() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let page = app.get_page("/lab/eager-loading").await;

    // The page of posts both sides complete, loaded once; each side's runs (as many
    // as its budget allows, up to five: the page says how many); then the post and
    // the tag the page links to; then its backfire: the ids, three runs each of the
    // tags of a page, of every post at once and in chunks (one at this size), and the
    // list past the bind limit. The columns show one run each; the page's own
    // X-Query-Count (and footer) shows what the request as a whole cost.
    let runs = runs_per_side(&page.body);
    let count = page.query_count.expect("X-Query-Count");
    let backfire = 1 + 3 * (1 + 1 + 1) + 1;
    assert_eq!(
        count,
        1 + runs[0] * 60 + runs[1] * 3 + 2 + backfire,
        "the lab page reported {count} statements for {runs:?} runs"
    );
}

#[tokio::test]
async fn running_every_experiment_changes_no_data() {
    let app = spawn_app().await;
    app.seed(perfblog::services::seed::DatasetSize { posts: 60, ..SMALL })
        .await;
    let before = everything(&app).await;

    for pattern in catalog().patterns() {
        assert_eq!(
            app.get_page(&format!("/lab/{}", pattern.slug)).await.status,
            200
        );
    }

    assert_eq!(everything(&app).await, before);
}

#[tokio::test]
async fn while_an_experiment_runs_another_visitor_waits_then_gets_a_503_with_retry_after() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let running = app.lab_gate.take_turn().await.expect("the lab is free");

    let started = std::time::Instant::now();
    let response = app.get("/lab/eager-loading").await;

    assert_eq!(response.status(), 503);
    assert!(
        started.elapsed() >= LAB_WAIT,
        "it waited for its turn first"
    );
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap_or("")),
        Some("5")
    );
    let page = Page::read(response).await;
    assert!(
        page.body.contains("The lab is running someone else"),
        "{}",
        page.body
    );

    drop(running);
    assert_eq!(app.get_page("/lab/eager-loading").await.status, 200);
}

#[tokio::test]
async fn an_unknown_pattern_is_a_404_and_runs_nothing() {
    let app = spawn_app().await;

    for path in ["/lab/no-such-pattern", "/lab/drop%20table%20posts"] {
        let page = app.get_page(path).await;
        assert_eq!(page.status, 404, "{path}");
        assert_eq!(page.query_count, Some(0), "{path}");
    }
}

#[tokio::test]
async fn every_lab_page_opens_with_a_verdict_and_links_its_neighbours_its_twins_and_its_files() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for (at, pattern) in catalog().patterns().iter().enumerate() {
        let page = app.get_page(&format!("/lab/{}", pattern.slug)).await;
        let body = &page.body;
        let verdict = body.find("class=\"verdict\"").expect("a verdict line");
        let first_side = body.find("lab-column").expect("the sides");
        assert!(
            verdict < first_side,
            "{}: the verdict comes first",
            pattern.slug
        );
        assert!(
            body[verdict..first_side].contains(" statements"),
            "{}",
            pattern.slug
        );
        assert!(
            body.contains("class=\"note live-and-benched\">The figures at the top are "),
            "{}: why the live figures differ from the report's",
            pattern.slug
        );
        if let Some(previous) = at.checked_sub(1).map(|i| &catalog().patterns()[i]) {
            assert!(body.contains(&format!("rel=\"prev\" href=\"{}\"", previous.slug)));
        }
        if let Some(next) = catalog().patterns().get(at + 1) {
            assert!(body.contains(&format!("rel=\"next\" href=\"{}\"", next.slug)));
        }
        for place in &pattern.shows_on {
            let prefix = |path: &str| path.split("{slug}").next().unwrap_or(path).to_owned();
            let expected = match &place.visit {
                _ if place.is_page() => format!("href=\"/naive{}", prefix(&place.path)),
                Some(visit) => format!("href=\"{}", prefix(visit)),
                None => format!("<code>{}</code>", place.path),
            };
            assert!(
                body.contains(&expected),
                "{}: {expected} for the {}",
                pattern.slug,
                place.view
            );
        }
        for code in pattern.naive.code.iter().chain(&pattern.optimized.code) {
            assert!(
                body.contains(&format!("href=\"/lab/source/{}#L", code.file)),
                "{}: {} is a link",
                pattern.slug,
                code.file
            );
        }
    }
}

#[tokio::test]
async fn the_lab_shows_a_whole_source_file_it_uses_and_nothing_else() {
    let app = spawn_app().await;
    let file = &catalog().patterns()[0].naive.code[0].file;

    let page = app.get_page(&format!("/lab/source/{file}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"L1\""));

    for path in [
        "Cargo.toml",
        "src/../Cargo.toml",
        "../etc/passwd",
        "src/base/config/mod.rs",
    ] {
        let response = app.get(&format!("/lab/source/{path}")).await;
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn every_page_of_the_site_links_the_lab() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    for path in ["/", "/naive/", "/lab"] {
        let page = app.get_page(path).await;
        assert!(page.body.contains("href=\"/lab\""), "{path}");
    }
}

#[tokio::test]
async fn the_atomic_counter_page_races_twenty_views_a_side_and_shows_what_each_kept() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = everything(&app).await;

    let page = app.get_page("/lab/atomic-counters").await;

    let kept: Vec<&str> = page
        .body
        .match_indices("<dd class=\"kept\">")
        .map(|(at, tag)| {
            let rest = &page.body[at + tag.len()..];
            &rest[..rest.find('<').expect("closing tag")]
        })
        .collect();
    assert_eq!(kept.len(), 2, "{}", page.body);
    assert_eq!(kept[1], "20 of 20", "the atomic side keeps every view");
    // How many the naive side keeps is up to timing (lost updates are likely, not
    // certain: 1-3 of 20 when measured): the page must say a number, nothing more.
    assert!(
        kept[0].ends_with(" of 20")
            && kept[0]
                .split(' ')
                .next()
                .is_some_and(|n| n.parse::<u32>().is_ok()),
        "{}",
        kept[0]
    );
    assert!(page.body.contains("concurrent views kept"));
    assert_eq!(everything(&app).await, before, "the scratch post is gone");
}

#[tokio::test]
async fn a_race_dropped_midway_still_deletes_its_scratch_post() {
    use perfblog::services::db::scratch::{SCRATCH_SLUG_PREFIX, ScratchPost};
    use sea_orm::{ColumnTrait, QueryFilter};
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let scratch_posts = || {
        post::Entity::find()
            .filter(post::Column::Slug.starts_with(SCRATCH_SLUG_PREFIX))
            .count(&app.db)
    };

    let scratch = ScratchPost::create(&app.db).await.expect("created");
    assert_eq!(scratch_posts().await.expect("count"), 1);
    drop(scratch); // as a request dropped mid-race drops it

    for _ in 0..50 {
        if scratch_posts().await.expect("count") == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the scratch post was not deleted");
}

#[tokio::test]
async fn the_fragment_caching_page_plays_miss_hit_write_miss_with_the_generation_each_read() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let page = app.get_page("/lab/fragment-caching").await;

    let rows: Vec<Vec<String>> = page
        .body
        .split("<tr class=\"step-")
        .skip(1)
        .map(|row| {
            let row = &row[..row.find("</tr>").expect("row end")];
            row.split("<td>")
                .skip(1)
                .map(|cell| cell[..cell.find("</td>").expect("cell end")].to_owned())
                .collect()
        })
        .collect();
    let found: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(found, ["miss", "hit", "generation bumped", "miss"]);
    let generation: Vec<u64> = rows
        .iter()
        .map(|r| r[2].parse().expect("a generation"))
        .collect();
    assert_eq!(
        generation[0], generation[1],
        "the hit reads the generation the miss stored under"
    );
    assert_eq!(generation[2], generation[1] + 1, "a write bumps it");
    assert_eq!(generation[3], generation[2], "so the next read misses");
    let statements: Vec<u32> = rows
        .iter()
        .map(|r| r[3].parse().expect("a count"))
        .collect();
    assert!(statements[0] > 0 && statements[1] == 0 && statements[3] == statements[0]);
}

/// In the lab, the bulk updates publish at most the newest `live` drafts, both sides the
/// same ones, and leave the site's data as it was.
#[tokio::test]
async fn the_labs_bulk_updates_publish_only_the_newest_drafts_on_both_sides_and_change_nothing() {
    use perfblog::lab::compare::{Facts, Runs, Which};
    use perfblog::lab::workbench::Workbench;

    let app = spawn_app().await;
    app.seed(SMALL).await;
    perfblog::lab::fixtures::make_drafts(&app.db, 5)
        .await
        .expect("five drafts");
    let before = everything(&app).await;
    let bench = Workbench::new(app.db.clone(), database_url(&app));
    let publish = bulk_updates_publish();
    let input = publish
        .setup(&bench, Some(2))
        .await
        .expect("the site's drafts");

    for which in Which::BOTH {
        let mut runs = Runs::live();
        let published = publish.side(which, &bench, &input, &mut runs).await;
        assert_eq!(published.expect("publishes"), Facts::rows(2), "{which:?}");
    }
    assert_eq!(
        everything(&app).await,
        before,
        "rolled back, drafts and all"
    );
}

/// The benches' workbench keeps what a comparison writes — on a database made for the
/// comparison, never on the one it was given — and puts the rows back before each run
/// (a reset not timed): each of two runs publishes the same five drafts.
#[tokio::test]
async fn a_benchs_writes_go_to_a_database_of_its_own_and_are_reset_before_each_run() {
    use perfblog::lab::compare::{Facts, Runs, Which};
    use perfblog::lab::workbench::Workbench;
    use sea_orm::{ConnectionTrait, DbBackend};

    let app = spawn_app().await;
    app.seed(SMALL).await;
    let before = everything(&app).await;
    let bench = Workbench::for_benches(app.db.clone(), database_url(&app), None);
    let publish = bulk_updates_publish();

    let input = publish
        .setup(&bench, Some(5))
        .await
        .expect("a database of its own");
    let mut runs = Runs::iterations(2);
    let published = publish
        .side(Which::Optimized, &bench, &input, &mut runs)
        .await;

    assert_eq!(published.expect("publishes"), Facts::rows(5));
    assert_eq!(runs.times().len(), 2);
    assert_eq!(
        everything(&app).await,
        before,
        "the given database is untouched"
    );
    drop((input, bench));
    if app.db.get_database_backend() == DbBackend::Postgres {
        let name = app.database_url.rsplit('/').next().unwrap_or_default();
        let drop = format!("DROP DATABASE IF EXISTS \"{name}_bulk_updates\" WITH (FORCE)");
        app.db
            .execute_unprepared(&drop)
            .await
            .expect("the bench's database is dropped");
    }
}

/// The one-transaction comparison commits on a database of its own; where the server
/// cannot make one (here: beside a SQLite file under `/dev/null`, no directory), the
/// lab answers 503 with what to do, not a 500.
#[tokio::test]
async fn one_transaction_says_why_when_the_server_cannot_give_it_a_database_of_its_own() {
    let app = spawn_app().await;
    let nowhere = DatabaseUrl::parse("sqlite:///dev/null/blog.sqlite?mode=rwc").expect("a URL");
    let bench = Workbench::new(app.db.clone(), nowhere);

    let publish = one_transaction::LESSON.comparisons[0];
    let refused = compare::live(publish, &bench, None).await.err();

    let refused = refused.expect("no database of its own, no comparison");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.public_message().contains("CREATEDB"), "{refused}");
}

/// Write-behind's page counts 16 views in flight at once on each side, and its tally is
/// where the site's is: in Redis when the app has Redis, in this process otherwise.
#[tokio::test]
async fn write_behind_counts_sixteen_views_at_once_and_tallies_them_where_the_site_does() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    let page = app.get_page("/lab/write-behind-counter").await;

    let text = text_of(&page.body);
    let place = if std::env::var("TEST_REDIS_URL").is_ok() {
        "Redis"
    } else {
        "this process"
    };
    assert!(text.contains(&format!("views tallied in{place}")), "{text}");
    assert_eq!(text.matches("rows16").count(), 2, "{text}");
}

/// The lines of the page's "Shown live" table, as text: `what: came to`.
fn backfire_lines(body: &str) -> Vec<String> {
    let Some(at) = body.find("<table class=\"lab-backfire\">") else {
        return Vec::new();
    };
    let table = &body[at..at + body[at..].find("</table>").expect("closing tag")];
    table
        .split("<tr>")
        .skip(1)
        .map(|row| {
            let (what, came_to) = row.split_once("</th>").expect("a heading cell");
            format!("{}: {}", text_of(what).trim(), text_of(came_to).trim())
        })
        .collect()
}

#[tokio::test]
async fn where_a_pattern_backfires_its_page_measures_that_live_under_when_it_would_not() {
    let app = spawn_app().await;
    app.seed(SMALL).await;

    for (slug, lines) in [
        ("eager-loading", 4),
        ("aggregation", 5),
        ("per-view-caching", 4),
        ("indexes", 3),
    ] {
        let page = app.get_page(&format!("/lab/{slug}")).await;
        let shown = backfire_lines(&page.body);
        assert_eq!(shown.len(), lines, "{slug}: {shown:?}");
        let refused = shown.iter().any(|line| line.contains("refused"));
        let wrong = shown
            .iter()
            .find(|line| line.starts_with("posts whose counts come out wrong"))
            .is_some_and(|line| !line.contains(": 0"));
        match slug {
            "eager-loading" => assert!(refused, "past the bind limit: {shown:?}"),
            "aggregation" => assert!(wrong, "the JOIN multiplies counts: {shown:?}"),
            _ => {}
        }
        let when_not = page.body.find("When it would not").expect("the section");
        let table = page.body.find("lab-backfire").expect("the table");
        assert!(table > when_not, "{slug}: under When it would not");
    }
}

/// Pairs whose two sides must find the same rows — the same answer, the same entries,
/// the same rows with or without an index — each measure run once on both sides: what
/// a pair holds equal while it changes one idea.
#[tokio::test]
async fn each_pair_that_reads_finds_the_same_rows_on_both_sides() {
    use perfblog::lab::compare::Fact;

    let app = spawn_app().await;
    app.seed(SMALL).await;
    let url = DatabaseUrl::parse(&app.database_url).expect("a database URL");
    let bench = Workbench::new(app.db.clone(), url);
    for (slug, measure) in [
        ("eager-loading", "entries"),
        ("eager-loading", "detail"),
        ("exists", "busiest-tag"),
        ("exists", "any-post"),
        ("exists", "matches"),
        ("indexes", "pages"),
        ("projection", "page-query"),
        ("keyset-pagination", "depth"),
        ("concurrent-reads", "pages"),
        ("denormalized-counters", "sidebar"),
        ("connection-pooling", "per-request"),
    ] {
        let comparison = perfblog::lab::lessons::find(slug)
            .and_then(|lesson| lesson.comparison(measure))
            .expect("the comparison");
        let outcome = compare::live(comparison, &bench, None)
            .await
            .expect("both sides run");
        let rows = |facts: &compare::Facts| facts.get(&Fact::Rows(0)).cloned();
        assert_eq!(
            rows(&outcome.naive.facts),
            rows(&outcome.optimized.facts),
            "{slug}/{measure}"
        );
        assert!(
            rows(&outcome.naive.facts).is_some(),
            "{slug}/{measure} says what it found"
        );
    }
}

/// The caching lessons say how often the site's own cache answered: the hit ratio that
/// decides whether a cache pays, next to the one where it would.
#[tokio::test]
async fn the_caching_lessons_show_this_servers_own_hit_ratio() {
    let app = spawn_app().await;
    app.seed(SMALL).await;
    for _ in 0..4 {
        app.get_page("/").await;
    }

    let pages = app.get_page("/lab/per-view-caching").await;
    let fragments = app.get_page("/lab/fragment-caching").await;
    let eager = app.get_page("/lab/eager-loading").await;

    assert!(
        pages.body.contains(
            "This server&#39;s page cache since it started: 3 hits, 1 miss — 75.0 % hits."
        ),
        "{}",
        text_of(&pages.body)
    );
    assert!(
        fragments
            .body
            .contains("fragment cache (the sidebar) since it started")
    );
    assert!(!eager.body.contains("class=\"hit-ratio\""));
}

/// The bulk updates' comparison, as the lab and the benches find it.
fn bulk_updates_publish() -> &'static dyn perfblog::lab::compare::Compare {
    perfblog::lab::lessons::find("bulk-updates")
        .and_then(|lesson| lesson.comparison("publish"))
        .expect("the bulk updates' comparison")
}

fn database_url(app: &TestApp) -> perfblog::base::config::DatabaseUrl {
    perfblog::base::config::DatabaseUrl::parse(&app.database_url).expect("a database URL")
}

/// Counts to a trillion: minutes of work on either backend, unless something stops it.
const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL \
    SELECT i + 1 FROM n WHERE i < 1000000000000) SELECT COUNT(*) FROM n";

#[tokio::test]
async fn the_database_stops_a_lab_statement_at_the_labs_limit_and_the_lab_calls_it_stopped() {
    use perfblog::services::db::{self, statement_limit};
    use sea_orm::{ConnectionTrait, Statement};
    use std::time::Duration;

    let app = spawn_app().await;
    let url = database_url(&app);
    let lab_db = db::connect_limited(&url, Duration::from_millis(200))
        .await
        .expect("the lab's pool opens");
    let endless = || Statement::from_string(lab_db.get_database_backend(), ENDLESS);
    let error = lab_db
        .query_one_raw(endless())
        .await
        .expect_err("the database stops it");
    assert!(statement_limit::stopped(&error), "{error}");

    // The clock's limit is far off: only the database's stop can end the side.
    let bench = Workbench::new(lab_db.clone(), url).with_side_limit(Duration::from_secs(600));
    let side =
        async { Ok::<_, perfblog::base::error::AppError>(lab_db.query_one_raw(endless()).await?) };
    let ran = compare::within_limit(&bench, side)
        .await
        .expect("a stop is not an error");
    assert!(ran.is_none(), "the side was stopped");

    // The pool's next statement gets a limit of its own, and runs: long enough for
    // SQLite to ask its progress handler, short enough to finish within the limit.
    let short = Statement::from_string(lab_db.get_database_backend(), SHORT);
    assert!(
        lab_db
            .query_one_raw(short)
            .await
            .expect("it runs")
            .is_some()
    );
}

/// Counts to 20,000: thousands of SQLite's steps, a few milliseconds.
const SHORT: &str = "WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL \
    SELECT i + 1 FROM n WHERE i < 20000) SELECT COUNT(*) FROM n";

#[tokio::test]
async fn a_write_the_lab_stopped_leaves_no_lock_behind_and_the_site_still_writes() {
    use perfblog::lab::workbench::rolled_back;
    use perfblog::services::db;
    use sea_orm::ConnectionTrait;
    use std::time::Duration;

    let app = spawn_app().await;
    let lab_db = db::connect_limited(&database_url(&app), Duration::from_millis(200))
        .await
        .expect("the lab's pool opens");
    let endless_write = format!("UPDATE users SET name = name WHERE id IN ({ENDLESS})");
    let stopped = rolled_back(&lab_db, async |txn| {
        txn.execute_unprepared(&endless_write).await?;
        Ok(())
    })
    .await;
    assert!(stopped.is_err(), "the database stops the write");
    // Its connection goes back to the pool in a task of its own: let it arrive, so the
    // next writes are offered it.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The lab's next writes, then the site's: none waits for a lock left behind.
    for _ in 0..3 {
        rolled_back(&lab_db, async |txn| {
            txn.execute_unprepared("UPDATE users SET name = name")
                .await?;
            Ok(())
        })
        .await
        .expect("the lab writes again");
    }
    app.db
        .execute_unprepared("UPDATE users SET name = name")
        .await
        .expect("the site still writes");
}

/// A comparison whose setup never ends: what the lab answers when the database
/// cancels a setup at the limit.
static ENDLESS_SETUP: compare::Comparison<()> = compare::Comparison::new(
    "endless-setup",
    |bench, _| {
        Box::pin(async move {
            use sea_orm::{ConnectionTrait, Statement};
            let endless = Statement::from_string(bench.db.get_database_backend(), ENDLESS);
            bench.db.query_one_raw(endless).await?;
            Ok(())
        })
    },
    |_, _, _| Box::pin(async { Ok(compare::Facts::none()) }),
    |_, _, _| Box::pin(async { Ok(compare::Facts::none()) }),
);

#[tokio::test]
async fn a_setup_the_database_cancels_at_the_limit_is_a_503_that_names_the_setting() {
    use perfblog::base::error::AppError;
    use std::time::Duration;

    let app = spawn_app().await;
    let url = database_url(&app);
    let limit = Duration::from_millis(200);
    let lab_db = perfblog::services::db::connect_limited(&url, limit)
        .await
        .expect("the lab's pool opens");
    // The clock's limit is far off: only the database's cancel ends the setup.
    let bench = Workbench::new(lab_db, url).with_side_limit(Duration::from_secs(600));
    match compare::live(&ENDLESS_SETUP, &bench, None).await {
        Err(AppError::NotOffered(why)) => assert!(why.contains("LAB_SIDE_LIMIT_MS"), "{why}"),
        Err(other) => panic!("not a refusal: {other:?}"),
        Ok(_) => panic!("the setup cannot finish"),
    }
}
