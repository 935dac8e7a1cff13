//! `FormInput<T>`: a URL-encoded form, with failures turned into [`AppError`]s that say
//! which field is wrong instead of axum's plain-text rejections.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::base::error::AppError;

pub struct FormInput<T>(pub T);

impl<T, S> FromRequest<S> for FormInput<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(value)) => Ok(FormInput(value)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(AppError::UnsupportedMediaType(
                "Send the form as application/x-www-form-urlencoded.".to_owned(),
            )),
            Err(FormRejection::FailedToDeserializeForm(error)) => Err(AppError::BadRequest(
                format!("The form could not be read: {}", error.body_text()),
            )),
            Err(FormRejection::FailedToDeserializeFormBody(error)) => Err(AppError::Unprocessable(
                format!("The form could not be read: {}", error.body_text()),
            )),
            Err(other) if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => Err(
                AppError::PayloadTooLarge("The form is larger than this page accepts.".to_owned()),
            ),
            Err(other) => Err(AppError::BadRequest(format!(
                "The form could not be read: {}",
                other.body_text()
            ))),
        }
    }
}
