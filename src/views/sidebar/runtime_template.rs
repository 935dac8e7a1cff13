//! The sidebar rendered by a runtime template engine — minijinja, which reads Jinja2's
//! language, the family Django's templates belong to — from the very file askama
//! compiles, `templates/sidebar.html`. Three rungs, each changing one thing:
//!
//! - [`render_parsing_each_time`]: the engine set up and the template parsed on every
//!   call (Django's template loaders without the cached loader);
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
use minijinja::{AutoEscape, Environment, Error, Output, State, Value, context};

use super::{Fragment, Sidebar};
use crate::base::error::AppError;
use crate::base::instrument::trace::OpenSpan;

/// The template, as askama reads it.
const SOURCE: &str = include_str!("../../../templates/sidebar.html");
const NAME: &str = "sidebar.html";

/// Costs a parse of the template on every call, and the engine's set-up with it: the
/// environment with its built-in filters and tests is made, the template's text is
/// read into tokens, parsed into a tree and compiled to the engine's instructions —
/// work whose result is the same every time, thrown away when the call returns.
/// Django without the cached loader does this (and reads the file from disk) for
/// every `render()`.
pub fn render_parsing_each_time(sidebar: &Sidebar, root: &str) -> Result<Fragment, AppError> {
    let parsed = parse().map_err(failed)?;
    render_with(&parsed, sidebar, root)
}

/// What changed: the environment, with the template parsed and compiled, is made on
/// the first call and kept for every call after; a call only runs it.
pub fn render_parsed_once(sidebar: &Sidebar, root: &str) -> Result<Fragment, AppError> {
    static PARSED: LazyLock<Result<Environment<'static>, Error>> = LazyLock::new(parse);
    let parsed = PARSED
        .as_ref()
        .map_err(|error| failed(Error::new(error.kind(), error.to_string())))?;
    render_with(parsed, sidebar, root)
}

/// An environment holding the sidebar's template, parsed; it escapes as askama does.
fn parse() -> Result<Environment<'static>, Error> {
    let mut environment = Environment::new();
    environment.set_formatter(escape_as_askama_does);
    environment.add_template(NAME, SOURCE)?;
    Ok(environment)
}

fn render_with(
    environment: &Environment<'static>,
    sidebar: &Sidebar,
    root: &str,
) -> Result<Fragment, AppError> {
    let _timed = OpenSpan::open("template", "sidebar.html (minijinja)");
    let template = environment.get_template(NAME).map_err(failed)?;
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

fn failed(error: Error) -> AppError {
    AppError::Internal(anyhow::Error::new(error).context("rendering the sidebar with minijinja"))
}
