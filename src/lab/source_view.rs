//! `GET /lab/source/{path}`: a file a pattern shows, whole, when no `REPOSITORY_URL`
//! says where the repository lives. Only the files the patterns name are served
//! (their text is compiled in): nothing else of the disk is reachable from here.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Path;
use axum::http::Uri;

use crate::base::error::AppError;
use crate::base::variant::Variant;
use crate::views::footer::Footer;

#[derive(Template, WebTemplate)]
#[template(path = "lab_source.html")]
pub struct SourceTemplate {
    pub root: &'static str,
    pub file: &'static str,
    /// `(number, line)`, from 1.
    pub lines: Vec<(usize, &'static str)>,
    pub footer: Footer,
}

/// The file at `path`, if a pattern shows a function of it.
pub fn shown(path: &str) -> Option<(&'static str, &'static str)> {
    let file = super::catalog()
        .patterns()
        .iter()
        .flat_map(|pattern| pattern.naive.code.iter().chain(&pattern.optimized.code))
        .find(|code| code.file == path)?;
    Some((&file.file, super::sources::text(&file.file)?))
}

pub async fn file(Path(path): Path<String>, uri: Uri) -> Result<SourceTemplate, AppError> {
    let (file, text) = shown(&path).ok_or_else(|| {
        AppError::NotFound(
            "The lab shows only the source files its patterns use; this is not one of them."
                .to_owned(),
        )
    })?;
    Ok(SourceTemplate {
        root: "/",
        file,
        lines: text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect(),
        footer: Footer::capture(Variant::Optimized, &uri).without_twin(),
    })
}
