//! The sidebar rendered by a runtime template engine — minijinja, which reads Jinja2's
//! language, the family Django's templates belong to — from the very file askama
//! compiles, `templates/sidebar.html`. Three rungs, each changing one thing:
//!
//! - [`render_parsing_each_time`]: the template parsed on every render (Django's
//!   template loaders without the cached loader);
//! - [`render_parsed_once`]: the same engine and template, parsed once and kept
//!   (Django's cached template loader);
//! - [`super::render`]: askama, the template compiled into the binary with the rest of
//!   the code: nothing is parsed while the server runs, and the page's fields are read
//!   as Rust values, not converted into the engine's dynamic ones first.
//!
//! The three give the same bytes: escaping is askama's on all three (minijinja's own
//! also escapes `/`, as `&#x2f;`), and a test holds them to it.

use std::sync::LazyLock;

use askama::filters::Escaper;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, Output, State, Template, Value, context};

use super::{Fragment, Sidebar};
use crate::base::error::AppError;
use crate::base::instrument::trace::OpenSpan;

/// The template, as askama reads it.
const SOURCE: &str = include_str!("../../../templates/sidebar.html");
const NAME: &str = "sidebar.html";

/// Costs a parse of the template on every render: the template's text is read into
/// tokens, parsed into a tree and compiled to the engine's instructions — work whose
/// result is the same every time, thrown away when the render returns. The engine
/// itself is set up once, as in any app. Django's loaders without the cached loader
/// do this (and read the file from disk) on every `get_template()`; so does
/// `Template(text)` or `from_string(text)` in a view.
pub fn render_parsing_each_time(sidebar: &Sidebar, root: &str) -> Result<Fragment, AppError> {
    let engine = ENGINE.as_ref().map_err(copy)?;
    let parsed = engine
        .template_from_named_str(NAME, SOURCE)
        .map_err(failed)?;
    render_with(&parsed, sidebar, root)
}

/// What changed: the template is added to the engine once — parsed and compiled on
/// the first render — and every render after only runs it.
pub fn render_parsed_once(sidebar: &Sidebar, root: &str) -> Result<Fragment, AppError> {
    static PARSED: LazyLock<Result<Environment<'static>, Error>> = LazyLock::new(|| {
        let mut engine = engine();
        engine.add_template(NAME, SOURCE)?;
        Ok(engine)
    });
    let engine = PARSED.as_ref().map_err(copy)?;
    render_with(&engine.get_template(NAME).map_err(failed)?, sidebar, root)
}

/// The engine with no template in it, set up once: both rungs' starting point.
static ENGINE: LazyLock<Result<Environment<'static>, Error>> = LazyLock::new(|| Ok(engine()));

/// An engine that escapes as askama does, so every rung writes the same bytes.
fn engine() -> Environment<'static> {
    let mut engine = Environment::new();
    engine.set_formatter(escape_as_askama_does);
    engine
}

fn render_with(template: &Template, sidebar: &Sidebar, root: &str) -> Result<Fragment, AppError> {
    let _timed = OpenSpan::open("template", "sidebar.html (minijinja)");
    // The engine reads its own dynamic values: the sidebar is converted into them.
    let html = template
        .render(context! { root, sidebar => Value::from(Serde(sidebar)) })
        .map_err(failed)?;
    Ok(Fragment(html.into()))
}

/// Writes a value into the page, HTML-escaped with askama's escaper (unless the
/// template marked it safe).
fn escape_as_askama_does(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    // A string is written from where it is; anything else (a count) is formatted first.
    let formatted;
    let text = match value.as_str() {
        Some(text) => text,
        None => {
            formatted = value.to_string();
            &formatted
        }
    };
    if value.is_safe() || matches!(state.auto_escape(), AutoEscape::None) {
        return out.write_str(text).map_err(Error::from);
    }
    askama::filters::Html
        .write_escaped_str(out, text)
        .map_err(Error::from)
}

/// A kept engine's error, for a render that cannot use it.
fn copy(error: &Error) -> AppError {
    failed(Error::new(error.kind(), error.to_string()))
}

fn failed(error: Error) -> AppError {
    AppError::Internal(anyhow::Error::new(error).context("rendering the sidebar with minijinja"))
}
