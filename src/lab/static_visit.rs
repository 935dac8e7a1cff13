//! Ten plain pages that link the stylesheet by one way of naming it — its plain name or
//! its fingerprinted one — for a browser to walk through as a returning visitor: the
//! static-files lesson, seen from a real browser (its network panel, or the browser
//! test that counts what it asks for). Their icon is an empty `data:` one: browsers
//! keep icons in a store of their own and fetch them after the page has loaded, when
//! they do at all, and without one they ask for `/favicon.ico`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;

use crate::base::error::AppError;
use crate::base::static_files::{STYLESHEET, StaticFile};

/// The pages a visit walks through.
pub const PAGES: u32 = 10;

/// How the pages name the static files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    /// `/static/style.css`, revalidated on every use.
    Plain,
    /// `/static/style.<hash>.css`, kept a year.
    Fingerprinted,
}

impl Names {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match text {
            "plain" => Ok(Names::Plain),
            "fingerprinted" => Ok(Names::Fingerprinted),
            _ => Err(AppError::NotFound(
                "The visit's files are named `plain` or `fingerprinted`.".to_owned(),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Names::Plain => "plain",
            Names::Fingerprinted => "fingerprinted",
        }
    }

    /// Where a page links `file`, named this way.
    pub fn path_of(self, file: &StaticFile) -> String {
        match self {
            Names::Plain => format!("/static/{}", file.plain_name()),
            Names::Fingerprinted => file.path().to_owned(),
        }
    }

    /// The address of the visit's page `page`.
    pub fn page(self, page: u32) -> String {
        format!("/lab/static-files/visit/{}/{page}", self.as_str())
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "lab_visit.html")]
pub struct VisitPage {
    names: &'static str,
    page: u32,
    pages: u32,
    stylesheet: String,
    next: Option<String>,
}

/// `GET /lab/static-files/visit/{names}/{page}`.
pub async fn page(Path((names, page)): Path<(String, String)>) -> Result<VisitPage, AppError> {
    let names = Names::parse(&names)?;
    let page = page
        .parse::<u32>()
        .ok()
        .filter(|page| (1..=PAGES).contains(page))
        .ok_or_else(|| AppError::NotFound(format!("A visit has pages 1 to {PAGES}.")))?;
    Ok(VisitPage {
        names: names.as_str(),
        page,
        pages: PAGES,
        stylesheet: names.path_of(&STYLESHEET),
        next: (page < PAGES).then(|| names.page(page + 1)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_the_two_ways_and_nothing_else() {
        assert_eq!(Names::parse("plain").ok(), Some(Names::Plain));
        assert_eq!(
            Names::parse("fingerprinted").ok(),
            Some(Names::Fingerprinted)
        );
        assert!(Names::parse("Plain").is_err());
        assert!(Names::parse("").is_err());
    }

    #[test]
    fn plain_names_have_no_hash_and_fingerprinted_ones_do() {
        assert_eq!(Names::Plain.path_of(&STYLESHEET), "/static/style.css");
        assert_eq!(Names::Fingerprinted.path_of(&STYLESHEET), STYLESHEET.path());
        assert_ne!(STYLESHEET.path(), "/static/style.css");
    }
}
