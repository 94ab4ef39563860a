//! `chatbot-otel doctor`: is everything this chatbot depends on in place?
//!
//! Why it exists: when a trace link shows nothing or a reply never comes, the cause is one
//! of a handful of things outside the program — Ollama not running, the model not pulled,
//! the collector not listening, a log file that cannot be written, or a setting coming from
//! a variable the user forgot about. Each check below prints one line, `ok` or `FAIL` with
//! what to do, in the order a user would fix them:
//!
//! 1. Ollama answers `GET /api/version`;
//! 2. the configured model is among those it has pulled (`GET /api/tags`);
//! 3. the telemetry export works: one test span, `doctor_check`, goes through the very
//!    exporter the chat would use (OTLP, or the `--export` file), with its trace id and,
//!    for OTLP, its Jaeger link;
//! 4. the resolved configuration, each value with where it came from;
//! 5. the JSON log file can be written;
//! 6. each configured MCP server starts, completes the handshake and lists its tools.
//!
//! Exit code: 0 when every check passed, 1 otherwise (2 stays for invalid configuration).
//! Doctor installs no `tracing` subscriber and no global providers: the SDK's own
//! diagnostics (an export that failed) are discarded, and the failure is reported here.

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, Tracer as _};
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::Runtime;
use url::Url;

use crate::config::{Config, ExportTarget, LogTarget};
use crate::ollama::{has_model, ErrorBody, OllamaClient, OllamaError};
// Printing that ignores a closed pipe: `chatbot-otel doctor | head -2` must not panic.
use crate::repl::out::stdout_line;
use crate::telemetry::exporters::otlp_json::{JsonLines, JsonSpanExporter};
use crate::telemetry::exporters::{self, Discard};
use crate::telemetry::{logs, names, otlp, resource};

/// Name of the test span sent by the export check.
pub(crate) const CHECK_SPAN: &str = names::span::DOCTOR_CHECK;

/// How long each Ollama request may take: a local server answers in milliseconds.
const OLLAMA_TIMEOUT: Duration = Duration::from_secs(3);

/// The most the export check may take, whatever the collector does (the OTLP exporters'
/// own deadline is 3 s unless `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise).
const EXPORT_CHECK_BUDGET: Duration = Duration::from_secs(12);

/// The outcome of one check.
enum Check {
    Ok(String),
    Fail {
        problem: String,
        fix: String,
    },
    /// Not run, because an earlier check failed; counts as not passed.
    Skip(String),
}

impl Check {
    fn fail(problem: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::Fail {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    fn passed(&self) -> bool {
        matches!(self, Check::Ok(_))
    }

    fn print(&self) {
        match self {
            Check::Ok(text) => stdout_line(&format!("ok    {text}")),
            Check::Fail { problem, fix } => stdout_line(&format!("FAIL  {problem} — fix: {fix}")),
            Check::Skip(text) => stdout_line(&format!("skip  {text}")),
        }
    }
}

/// Runs every check, prints one line each on stdout, and returns the exit code.
pub(crate) fn run(runtime: &Runtime, config: &Config) -> u8 {
    crate::tls::ensure_provider();
    stdout_line(&format!(
        "chatbot-otel {} doctor",
        env!("CARGO_PKG_VERSION")
    ));
    let mut all_passed = true;
    let mut report = |check: Check| {
        check.print();
        all_passed &= check.passed();
    };

    let client = OllamaClient::new(config.ollama_url.clone(), OLLAMA_TIMEOUT);
    let ollama = runtime.block_on(check_ollama(&client));
    let ollama_up = ollama.passed();
    report(ollama);
    report(if ollama_up {
        runtime.block_on(check_model(&client, config))
    } else {
        Check::Skip(format!(
            "model {}: not checked, Ollama is not reachable",
            config.model
        ))
    });
    report(check_export(runtime, config));
    report(show_configuration(config));
    report(check_log_file(config));
    for check in runtime.block_on(check_mcp_servers(config)) {
        report(check);
    }

    if all_passed {
        stdout_line("all checks passed");
        0
    } else {
        stdout_line(
            "some checks did not pass: fix the first FAIL line and run `chatbot-otel doctor` again",
        );
        1
    }
}

// --- 1. Ollama ---------------------------------------------------------------------------

/// `GET /api/version` → `{"version":"0.12.6"}`, through the chat's own client (so the same
/// URL rules, reverse-proxy prefix included), with a short deadline.
async fn check_ollama(client: &OllamaClient) -> Check {
    // Shown with any credentials masked, as everywhere else (the request uses the real URL).
    let shown = crate::text::redacted_url(client.base_url())
        .trim_end_matches('/')
        .to_string();
    let check = ollama_check(client, &shown).await;
    // An error's own text (a TLS or HTTP library's message) may quote the URL, password
    // and all.
    let redact = |text: String| crate::text::redact_credentials(&text, client.base_url());
    match check {
        Check::Ok(text) => Check::Ok(redact(text)),
        Check::Fail { problem, fix } => Check::fail(redact(problem), redact(fix)),
        Check::Skip(text) => Check::Skip(redact(text)),
    }
}

async fn ollama_check(client: &OllamaClient, shown: &str) -> Check {
    let fix_start = "start it with `ollama serve` (or `docker compose up -d ollama`), or point --ollama-url / OLLAMA_HOST at it; to try everything without Ollama, use --demo";
    let fix_url = "check --ollama-url / OLLAMA_HOST (Ollama's default is http://localhost:11434)";
    match client.version(OLLAMA_TIMEOUT).await {
        Ok(version) => Check::Ok(format!("Ollama at {shown} answers, version {version}")),
        Err(OllamaError::Timeout { .. }) => Check::fail(
            format!(
                "Ollama at {shown} did not answer within {} s",
                OLLAMA_TIMEOUT.as_secs()
            ),
            fix_start,
        ),
        Err(OllamaError::Connect { detail, .. }) => Check::fail(
            format!("cannot reach Ollama at {shown}: {detail}"),
            fix_start,
        ),
        Err(e @ OllamaError::Tls { .. }) => Check::fail(e.to_string(), e.user_message()),
        Err(OllamaError::Http {
            status,
            body: ErrorBody::Ollama,
            ..
        }) => Check::fail(
            format!("{shown} answered HTTP {status} to GET /api/version: is it Ollama?"),
            fix_url,
        ),
        Err(OllamaError::Http { status, .. }) => Check::fail(
            format!(
                "{shown} answered HTTP {status} to GET /api/version with something other than Ollama's JSON: is it Ollama?"
            ),
            fix_url,
        ),
        Err(OllamaError::InvalidResponse { .. }) => Check::fail(
            format!("{shown} answered GET /api/version without a version: is it Ollama?"),
            fix_url,
        ),
        Err(e) => Check::fail(format!("cannot reach Ollama at {shown}: {e}"), fix_start),
    }
}

// --- 2. the model ------------------------------------------------------------------------

async fn check_model(client: &OllamaClient, config: &Config) -> Check {
    match client.list_models(OLLAMA_TIMEOUT).await {
        Err(e) => Check::fail(
            format!(
                "cannot list Ollama's models (GET /api/tags): {}",
                crate::text::redact_credentials(&e.to_string(), client.base_url())
            ),
            "check that the server at --ollama-url is Ollama",
        ),
        Ok(models) if has_model(&models, &config.model) => {
            Check::Ok(format!("model {} is pulled", config.model))
        }
        Ok(models) => {
            let pulled = if models.is_empty() {
                "none".to_string()
            } else {
                models
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            Check::fail(
                format!(
                    "model '{}' is not pulled (Ollama has: {pulled})",
                    config.model
                ),
                format!(
                    "`ollama pull {}`, or choose a pulled one with --model / OLLAMA_MODEL",
                    config.model
                ),
            )
        }
    }
}

// --- 3. the telemetry export -------------------------------------------------------------

fn check_export(runtime: &Runtime, config: &Config) -> Check {
    if !config.telemetry_enabled {
        let source = setting_source(config, "telemetry");
        return Check::Ok(format!(
            "telemetry is off (from {source}): nothing is exported, nothing to check"
        ));
    }
    let target =
        match &config.export {
            ExportTarget::None => return Check::Ok(
                "export is none: telemetry is recorded in-process and dropped, nothing to check"
                    .into(),
            ),
            // Shown with any credentials masked (the exporter itself uses the real URL).
            ExportTarget::Otlp => crate::text::redacted_url(&config.otlp.traces.endpoint),
            other => other.to_string(),
        };

    // The export runs on a plain thread, never on a tokio worker: `force_flush` blocks, and
    // the OTLP/HTTP exporter's blocking client must not run inside the async runtime
    // (reqwest's blocking client panics there). The runtime is entered only to *build* the
    // exporter, which the gRPC one needs for its connection task.
    let (done_tx, done_rx) = mpsc::channel();
    let handle = runtime.handle().clone();
    let thread_config = config.clone();
    let spawned = std::thread::Builder::new()
        .name("doctor-export".into())
        .spawn(move || {
            let outcome = match &thread_config.export {
                ExportTarget::Otlp => {
                    let exporter = {
                        let _inside = handle.enter();
                        exporters::otlp_spans(&thread_config.otlp)
                    };
                    exporter.map_err(|e| e.to_string()).and_then(send_test_span)
                }
                ExportTarget::File(path) => exporters::open_file(path)
                    .map_err(|e| e.to_string())
                    .and_then(|out| send_test_span(JsonSpanExporter::new(out))),
                ExportTarget::Console => send_test_span(JsonSpanExporter::new(JsonLines::stderr())),
                ExportTarget::None => send_test_span(Discard),
            };
            let _ = done_tx.send(outcome);
        });
    if let Err(e) = spawned {
        return Check::fail(format!("cannot start a thread: {e}"), "report a bug");
    }
    let outcome = done_rx
        .recv_timeout(EXPORT_CHECK_BUDGET)
        .unwrap_or_else(|_| {
            Err(format!(
                "no result within {} s",
                EXPORT_CHECK_BUDGET.as_secs()
            ))
        });

    // An SDK or HTTP error may quote the endpoint, credentials and all.
    let outcome =
        outcome.map_err(|why| crate::text::redact_credentials(&why, &config.otlp.traces.endpoint));
    match (&config.export, outcome) {
        (ExportTarget::Otlp, Ok(trace_id)) => Check::Ok(format!(
            "OTLP endpoint {target} ({}) accepted a test span {CHECK_SPAN}: trace {trace_id}  {}",
            config.otlp.protocol.as_str(),
            config.trace_url(&trace_id).unwrap_or_default()
        )),
        (ExportTarget::Otlp, Err(why)) => Check::fail(
            format!(
                "OTLP endpoint {target} did not accept a test span: {why}{}",
                tcp_probe(&target).map(|p| format!(" ({p})")).unwrap_or_default()
            ),
            "start the collector (`docker compose up -d`), or point --otlp-endpoint / OTEL_EXPORTER_OTLP_ENDPOINT at one, or use --export file:PATH to record offline",
        ),
        (ExportTarget::File(_), Ok(trace_id)) => Check::Ok(format!(
            "export is {target}: test span {CHECK_SPAN} written there as OTLP/JSON, trace {trace_id} (no Jaeger link: replay the file into a collector, see Offline export in the README)"
        )),
        (_, Ok(trace_id)) => Check::Ok(format!(
            "export is console: test span {CHECK_SPAN} written to stderr as OTLP/JSON, trace {trace_id}"
        )),
        (_, Err(why)) => Check::fail(
            format!("export to {target} failed: {why}"),
            "choose a writable file with --export file:PATH (or CHATBOT_EXPORT)",
        ),
    }
}

/// Sends one `doctor_check` span through `exporter` and returns its trace id, or why the
/// export failed. Blocks: call it on a plain thread.
fn send_test_span(exporter: impl SpanExporter + 'static) -> Result<String, String> {
    let result = Arc::new(Mutex::new(None));
    let recorder = RecordResult {
        inner: exporter,
        result: result.clone(),
    };
    // A tracer provider of its own, with the chat's Resource, a batch processor (as the chat
    // uses) and an always-on sampler: doctor tests the pipeline, not OTEL_TRACES_SAMPLER.
    let provider = SdkTracerProvider::builder()
        .with_resource(resource::build(crate::config::env::var, false))
        .with_sampler(Sampler::AlwaysOn)
        .with_batch_exporter(recorder)
        .build();
    let tracer = provider.tracer_with_scope(
        InstrumentationScope::builder(names::SCOPE)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build(),
    );
    let mut span = tracer
        .span_builder(CHECK_SPAN)
        .with_kind(SpanKind::Internal)
        .start(&tracer);
    let trace_id = span.span_context().trace_id().to_string();
    span.end();
    // force_flush hands the batch to the exporter and waits for the export to finish.
    let flushed = provider.force_flush();
    let _ = provider.shutdown_with_timeout(Duration::from_secs(1));
    let exported = result.lock().ok().and_then(|mut r| r.take());
    match (exported, flushed) {
        (Some(Ok(())), _) => Ok(trace_id),
        (Some(Err(why)), _) => Err(why),
        (None, Err(e)) => Err(sdk_error(&e)),
        (None, Ok(())) => Err("the span was not exported".into()),
    }
}

fn sdk_error(e: &OTelSdkError) -> String {
    match e {
        OTelSdkError::InternalFailure(message) => message.clone(),
        other => other.to_string(),
    }
}

/// A span exporter wrapper that keeps the outcome of the last export, as the message to
/// show: the provider's `force_flush` folds every processor's result into one debug
/// string, we want the error.
#[derive(Debug)]
struct RecordResult<E> {
    inner: E,
    result: Arc<Mutex<Option<Result<(), String>>>>,
}

impl<E: SpanExporter> SpanExporter for RecordResult<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let outcome = self.inner.export(batch).await;
        if let Ok(mut slot) = self.result.lock() {
            *slot = Some(outcome.as_ref().map(|_| ()).map_err(sdk_error));
        }
        outcome
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The exporter's errors are terse ("network error"): say whether anything listens at all.
fn tcp_probe(target: &str) -> Option<String> {
    let url = Url::parse(target).ok()?;
    otlp::connect(&url, Duration::from_secs(1)).err()
}

// --- 4. the configuration ----------------------------------------------------------------

fn show_configuration(config: &Config) -> Check {
    let width = config
        .settings
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    let value_width = config
        .settings
        .iter()
        .map(|s| s.value.chars().count().min(60))
        .max()
        .unwrap_or(0);
    let mut text = String::from("configuration (flag > environment > default):");
    for s in &config.settings {
        text.push_str(&format!(
            "\n        {:<width$}  {:<value_width$}  {}",
            s.name,
            crate::text::truncate(&s.value, 60),
            s.source
        ));
    }
    Check::Ok(text)
}

fn setting_source(config: &Config, name: &str) -> String {
    config
        .settings
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.source.to_string())
        .unwrap_or_else(|| "default".into())
}

// --- 5. the log file ---------------------------------------------------------------------

/// Opens the log file exactly as the chat would (append, creating its directory), and
/// writes nothing.
fn check_log_file(config: &Config) -> Check {
    let LogTarget::File(path) = &config.log_target else {
        return Check::Ok("JSON log goes to stderr (--log-file -)".into());
    };
    match logs::JsonLogLayer::new(&config.log_target, names::DEFAULT_SERVICE_NAME.into()) {
        Ok(_) => Check::Ok(format!("log file {} is writable", path.display())),
        Err(e) => Check::fail(
            format!("log file {} is not writable: {e}", path.display()),
            "set LOG_FILE or --log-file to a writable path (or - for stderr)",
        ),
    }
}

// --- 6. MCP servers --------------------------------------------------------------------

/// Starts every server of the MCP config as the chat would (same spawn, handshake and
/// `tools/list`), waits for all of them to settle, and reports one line per server: its
/// tools, or why it failed (with the last line it wrote to stderr). No file is not a
/// failure: tools are optional.
async fn check_mcp_servers(config: &Config) -> Vec<Check> {
    let Some(path) = &config.mcp_config else {
        return vec![Check::Ok(
            "no MCP servers configured (--mcp-config PATH, or chatbot-otel/mcp.json in the config directory)".into(),
        )];
    };
    let mcp = match crate::mcp::McpConfig::load(path) {
        Ok(mcp) => mcp,
        Err(e) => {
            return vec![Check::fail(
                e.to_string(),
                "fix the file: {\"mcpServers\":{\"NAME\":{\"command\":…,\"args\":[…]}}} (docs/tools.md)",
            )]
        }
    };
    if mcp.servers.is_empty() {
        return vec![Check::Ok(format!(
            "MCP config {} lists no servers",
            path.display()
        ))];
    }
    let servers = crate::mcp::McpServers::start(&mcp, crate::mcp::DEFAULT_STARTUP_TIMEOUT);
    // The chat's own bound per server: a first `uvx`/`npx` run may be downloading.
    servers
        .wait_settled(crate::mcp::DEFAULT_STARTUP_TIMEOUT)
        .await;
    let tools = servers.tools();
    let checks = servers
        .statuses()
        .into_iter()
        .map(|status| {
            let name = &status.name;
            match &status.state {
                crate::mcp::ServerState::Ready { .. } => {
                    let mut own: Vec<&str> = tools
                        .iter()
                        .filter(|t| &t.server == name)
                        .map(|t| t.tool.as_str())
                        .collect();
                    own.sort_unstable();
                    let protocol = status
                        .protocol_version
                        .as_deref()
                        .map(|v| format!(", protocol {v}"))
                        .unwrap_or_default();
                    // Tool names come from the server: printable, and a long list cut.
                    let list = crate::text::truncate(&crate::text::printable(&own.join(", ")), 200);
                    Check::Ok(format!(
                        "MCP server {name} is ready{protocol}: {} tool{} ({list})",
                        own.len(),
                        if own.len() == 1 { "" } else { "s" }
                    ))
                }
                // The reason already ends with the server's last stderr line, if any.
                crate::mcp::ServerState::Failed { reason } => Check::fail(
                    format!("MCP server {name}: {}", crate::text::printable(reason)),
                    format!(
                        "run its command from {} by hand, or remove it from that file",
                        path.display()
                    ),
                ),
                crate::mcp::ServerState::Starting => Check::fail(
                    format!(
                        "MCP server {name} did not finish starting in {} s",
                        crate::mcp::DEFAULT_STARTUP_TIMEOUT.as_secs()
                    ),
                    "run its command by hand to see where it hangs",
                ),
            }
        })
        .collect();
    servers.shutdown(crate::mcp::SHUTDOWN_BUDGET).await;
    checks
}
