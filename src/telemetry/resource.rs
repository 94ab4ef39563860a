//! The OpenTelemetry *Resource*: who is emitting this telemetry.
//!
//! A Resource is attached to every span, metric point and log record exported by a
//! provider. Backends group by it (Jaeger's service list, Prometheus' `job` label), so it
//! must be right before the first span starts.
//!
//! Precedence, lowest first: our defaults (`service.name=llm-chatbot-otel`,
//! `service.version`, `host.name`, `deployment.environment.name`), then
//! `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` — as the specification says. We
//! assemble it by hand because the SDK's own `Resource::builder()` lets
//! `OTEL_RESOURCE_ATTRIBUTES` beat `OTEL_SERVICE_NAME`, and a `with_service_name()` call in
//! code would beat both.

use opentelemetry::KeyValue;
use opentelemetry_sdk::resource::{
    EnvResourceDetector, ResourceDetector, TelemetryResourceDetector,
};
use opentelemetry_sdk::Resource;

use super::names::DEFAULT_SERVICE_NAME;

/// Builds the Resource from defaults and the `OTEL_*` environment. `env` must treat empty
/// variables as unset (`config::env::var` does), as the spec asks. `demo` marks telemetry
/// from the built-in demo model (`chatbot.demo=true`), so a backend never mistakes it for
/// a real model's.
pub fn build(env: impl Fn(&str) -> Option<String>, demo: bool) -> Resource {
    let mut defaults = vec![
        KeyValue::new(
            super::names::resource::SERVICE_VERSION,
            env!("CARGO_PKG_VERSION"),
        ),
        KeyValue::new(
            super::names::resource::HOST_NAME,
            gethostname::gethostname().to_string_lossy().into_owned(),
        ),
    ];
    if demo {
        defaults.push(KeyValue::new(super::names::attr::CHATBOT_DEMO, true));
    }
    if let Some(environment) = env("DEPLOYMENT_ENVIRONMENT") {
        defaults.push(KeyValue::new(
            super::names::resource::DEPLOYMENT_ENVIRONMENT_NAME,
            environment,
        ));
    }
    let detectors: [Box<dyn ResourceDetector>; 2] = [
        // telemetry.sdk.{name,language,version}
        Box::new(TelemetryResourceDetector),
        // OTEL_RESOURCE_ATTRIBUTES; it overrides the defaults above when both set a key.
        Box::new(EnvResourceDetector::new()),
    ];
    let mut builder = Resource::builder_empty()
        .with_service_name(DEFAULT_SERVICE_NAME)
        .with_attributes(defaults)
        .with_detectors(&detectors);
    if let Some(name) = env("OTEL_SERVICE_NAME") {
        builder = builder.with_service_name(name.trim().to_string());
    }
    let resource = builder.build();
    // The SDK's detector keeps an entry like `=value` under an empty key, which backends
    // reject or show as a blank label; `config` has warned about it, here it is dropped.
    if resource
        .iter()
        .any(|(key, _)| key.as_str().trim().is_empty())
    {
        let kept: Vec<KeyValue> = resource
            .iter()
            .filter(|(key, _)| !key.as_str().trim().is_empty())
            .map(|(key, value)| KeyValue::new(key.clone(), value.clone()))
            .collect();
        return Resource::builder_empty().with_attributes(kept).build();
    }
    resource
}

/// The `service.name` of a Resource (for the `service` key of JSON log lines).
pub fn service_name(resource: &Resource) -> String {
    resource
        .get(&opentelemetry::Key::from_static_str(
            super::names::resource::SERVICE_NAME,
        ))
        .map(|v| v.as_str().into_owned())
        .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_string())
}
