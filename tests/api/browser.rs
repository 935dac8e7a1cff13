//! A real browser: headless Chromium (Debian's `chromium`) against the running app.
//! `.ci/run` installs it and sets `PERFBLOG_REQUIRE_BROWSER=1`; elsewhere, without
//! Chromium, these tests say "skipped".

use std::path::{Path, PathBuf};
use std::process::Command;

use perfblog::base::entities::post;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use perfblog::base::config::Inspection;

use perfblog::lab::static_visit::{Names, PAGES};

use crate::helpers::{SMALL, TestApp, TestOptions, spawn_app, spawn_app_with};
use crate::operations::sample;

fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var("PERFBLOG_REQUIRE_BROWSER").is_err(),
            "PERFBLOG_REQUIRE_BROWSER is set but Chromium is not installed"
        );
        eprintln!("skipped: Chromium is not installed");
    }
    found
}

/// The `User-Agent` the tests' browser sends: a reader's. Headless Chromium's own names
/// it `HeadlessChrome`, which the site takes for a crawler (and counts no view for).
const READERS_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Runs headless Chromium on `url` with `extra` arguments, as a reader's browser with
/// a new profile; returns its stdout.
async fn headless(chromium: &Path, url: String, extra: Vec<String>) -> String {
    let profile = tempfile::tempdir().expect("a profile directory");
    headless_in(chromium, profile.path(), url, extra).await
}

/// As [`headless`], with the profile at `profile`: a browser that keeps its cache from
/// one run to the next, as a returning visitor's does.
async fn headless_in(chromium: &Path, profile: &Path, url: String, extra: Vec<String>) -> String {
    let (chromium, profile) = (chromium.to_owned(), profile.to_owned());
    tokio::task::spawn_blocking(move || {
        let output = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--user-agent={READERS_AGENT}"))
            .args(extra)
            .arg(url)
            .output()
            .expect("Chromium runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
    .await
    .expect("the browser task finishes")
}

/// Where screenshots go: `target/browser/`, kept after the test for people to look at.
fn screenshot_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).expect("target/browser");
    dir.join(name)
}

/// The text a reader sees: tags removed, whitespace collapsed, the footer left out.
fn visible_text(dom: &str) -> String {
    let dom = match (dom.find("<!--volatile--><footer"), dom.rfind("</footer>")) {
        (Some(start), Some(end)) => format!("{}{}", &dom[..start], &dom[end..]),
        _ => dom.to_owned(),
    };
    let mut text = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn the_eager_loading_lab_shows_both_columns_and_their_query_counts_in_a_browser() {
    let Some(chromium) = chromium() else { return };
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let url = format!("{}/lab/eager-loading", app.address);

    let dom = headless(&chromium, url.clone(), vec!["--dump-dom".into()]).await;

    assert!(
        dom.contains("lab-column lab-naive") && dom.contains("lab-column lab-optimized"),
        "{dom}"
    );
    assert!(
        dom.contains("<dd class=\"statements\">60</dd>"),
        "naive count shown"
    );
    assert!(
        dom.contains("<dd class=\"statements\">3</dd>"),
        "optimized count shown"
    );

    screenshot(&chromium, &url, "lab-eager-loading.png", "1280,2200").await;
    screenshot(&chromium, &url, "lab-eager-loading-phone.png", "390,3200").await;
}

async fn reset_views(app: &TestApp, slug: &str) {
    post::Entity::update_many()
        .col_expr(post::Column::ViewCount, Expr::value(41))
        .filter(post::Column::Slug.eq(slug))
        .exec(&app.db)
        .await
        .expect("views reset");
}

#[tokio::test]
async fn a_post_page_and_its_naive_twin_show_the_same_text_in_a_browser() {
    let Some(chromium) = chromium() else { return };
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let post = post::Entity::find()
        .filter(post::Column::Status.eq(post::Status::Published))
        .order_by_asc(post::Column::Id)
        .one(&app.db)
        .await
        .expect("query runs")
        .expect("a published post");
    app.add_comments(post.id, 3).await;

    reset_views(&app, &post.slug).await;
    let optimized = headless(
        &chromium,
        format!("{}/posts/{}", app.address, post.slug),
        vec!["--dump-dom".into()],
    )
    .await;
    reset_views(&app, &post.slug).await;
    let naive = headless(
        &chromium,
        format!("{}/naive/posts/{}", app.address, post.slug),
        vec!["--dump-dom".into()],
    )
    .await;

    let (optimized, naive) = (visible_text(&optimized), visible_text(&naive));
    assert!(
        optimized.contains(&post.title.replace('&', "&amp;")) || optimized.contains(&post.title)
    );
    assert!(optimized.contains("42 views"), "{optimized}");
    assert!(optimized.len() > 1000);
    assert_eq!(optimized, naive);
    let path = screenshot_path("post-page.png");
    headless(
        &chromium,
        format!("{}/posts/{}", app.address, post.slug),
        vec![
            format!("--screenshot={}", path.display()),
            "--window-size=1280,1800".into(),
        ],
    )
    .await;
}

/// Saves a screenshot of `url` at `size` ("width,height") as `name`; asserts it exists.
async fn screenshot(chromium: &Path, url: &str, name: &str, size: &str) {
    let path = screenshot_path(name);
    let _ = std::fs::remove_file(&path);
    headless(
        chromium,
        url.to_owned(),
        vec![
            format!("--screenshot={}", path.display()),
            format!("--window-size={size}"),
        ],
    )
    .await;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    assert!(bytes > 10_000, "{name} was saved ({bytes} bytes)");
}

#[tokio::test]
async fn a_lab_page_and_a_twin_page_open_with_the_verdict_badges_and_the_way_on_desktop_and_phone()
{
    let Some(chromium) = chromium() else { return };
    let app = spawn_app().await;
    app.seed(SMALL).await;
    let lab = format!("{}/lab/projection", app.address);
    let twin = format!("{}/naive/", app.address);

    let dom = headless(&chromium, lab.clone(), vec!["--dump-dom".into()]).await;
    let text = visible_text(&dom);
    assert!(
        text.contains("naive → optimized"),
        "the verdict line: {text}"
    );
    assert!(
        dom.contains("class=\"verdict-part\""),
        "the verdict's parts"
    );
    assert!(dom.contains("class=\"elsewhere\""), "the Django name");
    assert!(dom.contains("<span class=\"variant variant-naive\">naive</span>"));
    assert!(dom.contains("<span class=\"variant variant-optimized\">optimized</span>"));
    assert!(
        dom.contains("rel=\"prev\" href=\"eager-loading\""),
        "previous pattern"
    );
    assert!(
        dom.contains("rel=\"next\" href=\"aggregation\""),
        "next pattern"
    );
    assert!(dom.contains("href=\"/naive/\""), "the twin pages");
    assert!(dom.contains("href=\"/lab/source/"), "file paths are links");

    let twin_dom = headless(&chromium, twin.clone(), vec!["--dump-dom".into()]).await;
    assert!(
        twin_dom.contains("href=\"/lab\""),
        "the site header links the lab"
    );
    assert!(
        twin_dom.contains("variant variant-naive"),
        "the footer's badge"
    );

    for (url, name) in [(&lab, "lab-projection"), (&twin, "twin-naive-list")] {
        screenshot(&chromium, url, &format!("{name}.png"), "1280,1800").await;
        screenshot(&chromium, url, &format!("{name}-phone.png"), "390,2400").await;
    }
}

#[tokio::test]
async fn with_the_sql_panel_on_the_naive_list_opens_on_its_statements_in_a_browser() {
    let Some(chromium) = chromium() else { return };
    let app = spawn_app_with(TestOptions {
        inspection: Inspection {
            panel: true,
            ..Inspection::default()
        },
        ..TestOptions::default()
    })
    .await;
    app.seed(SMALL).await;
    let url = format!("{}/naive/", app.address);

    // The footer, which `visible_text` leaves out: the panel is in it.
    let dom = headless(&chromium, url.clone(), vec!["--dump-dom".into()]).await;
    assert!(dom.contains("N+1 suspected: 20 ×"), "{dom}");
    assert!(
        dom.contains("<details class=\"inspect\" open=\"\">"),
        "open: {dom}"
    );
    assert!(dom.contains("never in production"));
    screenshot(&chromium, &url, "sql-panel-naive-list.png", "1280,4200").await;
}

/// How many times the static files were answered `status`, from `/metrics`.
async fn static_files_answered(app: &TestApp, status: u16) -> f64 {
    // On a connection of its own: the app's client's pooled one idles through the
    // browser's runs, and the server may close it just as the client reuses it.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let metrics = fresh
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .expect("metrics answered")
        .text()
        .await
        .expect("metrics");
    let series = format!(
        "perfblog_http_requests_total{{route=\"/static/{{file}}\",variant=\"optimized\",status=\"{status}\"}}"
    );
    sample(&metrics, &series).unwrap_or(0.0)
}

/// A returning visitor's real browser: Chromium opens the first of the lab's ten pages
/// (its cache filled), then all ten, keeping its profile between runs; the server counts
/// what it was asked for.
#[tokio::test]
async fn a_returning_visitors_chromium_revalidates_a_plain_name_on_every_page_and_never_a_fingerprint()
 {
    let Some(chromium) = chromium() else { return };
    let app = spawn_app().await;
    let mut asked = Vec::new();
    for names in [Names::Plain, Names::Fingerprinted] {
        let profile = tempfile::tempdir().expect("a profile directory");
        let open = |page: u32| {
            let url = format!("{}{}", app.address, names.page(page));
            headless_in(&chromium, profile.path(), url, vec!["--dump-dom".into()])
        };
        let dom = open(1).await;
        assert!(dom.contains("Page 1 of 10"), "{dom}");
        let before = (
            static_files_answered(&app, 200).await,
            static_files_answered(&app, 304).await,
        );
        for page in 1..=PAGES {
            open(page).await;
        }
        let full = static_files_answered(&app, 200).await - before.0;
        let revalidated = static_files_answered(&app, 304).await - before.1;
        asked.push((names, full, revalidated));
    }
    assert_eq!(
        asked,
        [
            (Names::Plain, 0.0, f64::from(PAGES)),
            (Names::Fingerprinted, 0.0, 0.0)
        ],
        "(names, 200s, 304s) over ten pages"
    );
}
