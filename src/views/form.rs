//! `FormInput<T>`: a URL-encoded form, with failures turned into [`AppError`]s that say
//! which field is wrong instead of axum's plain-text rejections. A field that is not
//! UTF-8 once decoded (`%FF`, an overlong `%C0%AE`, a lone surrogate) is refused, not
//! stored with U+FFFD in its place as a lenient decoder would.

use axum::extract::rejection::RawFormRejection;
use axum::extract::{FromRequest, RawForm, Request};
use percent_encoding::percent_decode;
use serde::de::DeserializeOwned;

use super::echo::shorten;
use crate::base::error::AppError;

pub struct FormInput<T>(pub T);

impl<T, S> FromRequest<S> for FormInput<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawForm(body) = RawForm::from_request(request, state)
            .await
            .map_err(rejected)?;
        if let Some(field) = first_field_not_utf8(&body) {
            return Err(AppError::BadRequest(format!(
                "The form's field `{}` is not UTF-8 text once decoded.",
                shorten(&field)
            )));
        }
        serde_urlencoded::from_bytes(&body)
            .map(FormInput)
            .map_err(|error| {
                AppError::Unprocessable(format!("The form could not be read: {error}"))
            })
    }
}

fn rejected(rejection: RawFormRejection) -> AppError {
    match rejection {
        RawFormRejection::InvalidFormContentType(_) => AppError::UnsupportedMediaType(
            "Send the form as application/x-www-form-urlencoded.".to_owned(),
        ),
        other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::PayloadTooLarge("The form is larger than this page accepts.".to_owned())
        }
        other => AppError::BadRequest(format!("The form could not be read: {}", other.body_text())),
    }
}

/// The name of the first field whose name or value is not UTF-8 once decoded, written
/// with U+FFFD where its own name is not.
fn first_field_not_utf8(body: &[u8]) -> Option<String> {
    body.split(|byte| *byte == b'&').find_map(|pair| {
        let mut halves = pair.splitn(2, |byte| *byte == b'=');
        let name: Vec<u8> = percent_decode(halves.next().unwrap_or_default()).collect();
        let value: Vec<u8> = percent_decode(halves.next().unwrap_or_default()).collect();
        (std::str::from_utf8(&name).is_err() || std::str::from_utf8(&value).is_err())
            .then(|| String::from_utf8_lossy(&name).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_that_is_not_utf8_once_decoded_is_named() {
        for body in [
            &b"name=Ada&body=%FF%FE"[..],
            b"name=Ada&body=%C0%AE",
            b"name=Ada&body=%ED%A0%80",
            b"name=Ada&body=\xff",
        ] {
            assert_eq!(
                first_field_not_utf8(body).as_deref(),
                Some("body"),
                "{body:?}"
            );
        }
        assert_eq!(
            first_field_not_utf8(b"name=Ad%C3%A9&body=caf%C3%A9+au+lait&empty="),
            None
        );
    }
}
