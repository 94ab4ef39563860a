//! W3C Trace Context propagation into outgoing HTTP requests.
//!
//! Propagation is how a trace crosses a process boundary: the client writes its current
//! span context into a `traceparent` header (`00-<trace id>-<span id>-<flags>`), and a
//! server that takes part in tracing starts its spans as children of it. Ollama ignores
//! the header today, but sending it costs nothing and makes our `ollama_request` span the
//! parent of anything a tracing-aware proxy or a future Ollama records.
//!
//! The global propagator is a no-op until one is installed, so `telemetry::init` installs
//! `TraceContextPropagator` — forget that and the header silently goes missing.

use opentelemetry::propagation::Injector;
use opentelemetry::Context;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Adapts a reqwest `HeaderMap` to the propagator's `Injector` interface.
struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The headers that carry `cx` (its active span) to the next hop.
pub fn headers_for(cx: &Context) -> HeaderMap {
    let mut headers = HeaderMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut HeaderInjector(&mut headers));
    });
    headers
}
