//! A span around a tower layer, so a request's waterfall shows each layer it passed
//! through — from the request reaching the layer to the response head coming back out
//! of it. (A layer's work on the body, compression's, happens after that: the request
//! recorder's `body` span holds it.) Timed by [`trace::timed`], not a `tracing` span,
//! which is entered and left on every poll (see `docs/inspect.md`, *What it costs*).

use std::task::{Context, Poll};

use crate::base::instrument::trace::{self, Timed};
use tower_layer::Layer;
use tower_service::Service;

/// `layer`, timed as the span `layer` `label`.
#[derive(Clone)]
pub struct Spanned<L> {
    label: &'static str,
    layer: L,
}

impl<L> Spanned<L> {
    pub fn new(label: &'static str, layer: L) -> Self {
        Self { label, layer }
    }
}

impl<S, L: Layer<S>> Layer<S> for Spanned<L> {
    type Service = SpannedService<L::Service>;

    fn layer(&self, inner: S) -> Self::Service {
        SpannedService {
            label: self.label,
            inner: self.layer.layer(inner),
        }
    }
}

#[derive(Clone)]
pub struct SpannedService<S> {
    label: &'static str,
    inner: S,
}

impl<S: Service<R>, R> Service<R> for SpannedService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        trace::timed("layer", self.label, self.inner.call(request))
    }
}
