//! `chatbot-otel doctor`: one line per check, exit 0 only when all pass.
//!
//! Runs the built binary against the in-process fake Ollama and a small in-process
//! OTLP/HTTP receiver (axum, decoding the protobuf `ExportTraceServiceRequest` the exporter
//! sends), then breaks one dependency at a time and checks that the `FAIL` line names it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use fake_ollama::FakeOllama;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

const BIN: &str = env!("CARGO_BIN_EXE_chatbot-otel");

/// Every span name received, with its trace id in hex.
type Received = Arc<Mutex<Vec<(String, String)>>>;

/// An OTLP/HTTP receiver for traces on 127.0.0.1; aborted when dropped.
struct Receiver {
    addr: SocketAddr,
    spans: Received,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive_traces(State(spans): State<Received>, body: Bytes) -> impl IntoResponse {
    let request =
        ExportTraceServiceRequest::decode(body).expect("protobuf ExportTraceServiceRequest");
    let mut spans = spans.lock().unwrap();
    for span in request
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
    {
        let id: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
        spans.push((span.name.clone(), id));
    }
    let reply = ExportTraceServiceResponse {
        partial_success: None,
    };
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        reply.encode_to_vec(),
    )
}

async fn start_receiver() -> Receiver {
    let spans = Received::default();
    let app = Router::new()
        .route("/v1/traces", post(receive_traces))
        .with_state(spans.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Receiver { addr, spans, task }
}

/// A URL on which nothing listens.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The check lines (not the indented configuration lines).
    fn line_starting(&self, prefix: &str, containing: &str) -> Option<&str> {
        self.stdout
            .lines()
            .find(|l| l.starts_with(prefix) && l.contains(containing))
    }
}

/// Runs `chatbot-otel ARGS` with a clean environment: PATH, HOME, and LOG_FILE in `home`
/// unless `log_file` says otherwise.
async fn doctor(home: &Path, args: &[&str], log_file: Option<&str>) -> Run {
    let log_file = log_file
        .map(str::to_string)
        .unwrap_or_else(|| home.join("chatbot.log").display().to_string());
    let child = tokio::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("LOG_FILE", log_file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start chatbot-otel");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("doctor finished within 30 s")
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The 32-hex trace id after "trace " in a line.
fn trace_id_in(line: &str) -> String {
    let rest = &line[line.find("trace ").expect("a trace id") + "trace ".len()..];
    let id: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    assert_eq!(id.len(), 32, "{line}");
    id
}

/// Everything up: five `ok`, exit 0, and the test span reached the collector with the
/// trace id and Jaeger link that were printed.
#[tokio::test(flavor = "multi_thread")]
async fn all_checks_pass() {
    let fake = FakeOllama::start().await;
    let receiver = start_receiver().await;
    let home = tempfile::tempdir().unwrap();
    let otlp = format!("http://{}", receiver.addr);
    let run = doctor(
        home.path(),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &otlp,
            "doctor",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stderr, "", "doctor prints nothing on stderr");
    let checks: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok") || l.starts_with("FAIL") || l.starts_with("skip"))
        .collect();
    assert_eq!(checks.len(), 5, "{}", run.stdout);
    assert!(
        checks.iter().all(|l| l.starts_with("ok    ")),
        "{}",
        run.stdout
    );

    // In order: Ollama, model, export, configuration, log file.
    assert!(checks[0].contains("Ollama") && checks[0].contains("version 0.12.6"));
    assert!(checks[1].contains("llama3.1:8b is pulled"));
    assert!(
        checks[2].contains(&format!("{otlp}/v1/traces")),
        "{}",
        checks[2]
    );
    assert!(checks[3].starts_with("ok    configuration"));
    assert!(checks[4].contains("log file") && checks[4].contains("writable"));

    let trace_id = trace_id_in(checks[2]);
    assert!(
        checks[2].contains(&format!("http://localhost:16686/trace/{trace_id}")),
        "{}",
        checks[2]
    );
    let received = receiver.spans.lock().unwrap().clone();
    assert_eq!(received, vec![("doctor_check".to_string(), trace_id)]);

    // The configuration says where each value came from.
    assert!(run
        .stdout
        .lines()
        .any(|l| l.contains("Ollama URL") && l.contains("flag --ollama-url")));
    assert!(run
        .stdout
        .lines()
        .any(|l| l.contains("log file") && l.contains("environment LOG_FILE")));
    assert!(run
        .stdout
        .lines()
        .any(|l| l.trim_start().starts_with("model") && l.contains("default")));
    // No chat request was made.
    assert!(fake.chat_requests().is_empty());
}

/// Ollama down: its line fails with the fix, the model check is skipped, exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn ollama_down() {
    let receiver = start_receiver().await;
    let home = tempfile::tempdir().unwrap();
    let ollama = closed_port_url();
    let otlp = format!("http://{}", receiver.addr);
    let run = doctor(
        home.path(),
        &["--ollama-url", &ollama, "--otlp-endpoint", &otlp, "doctor"],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail = run
        .line_starting("FAIL", "Ollama")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        fail.contains(&ollama) && fail.contains("ollama serve"),
        "{fail}"
    );
    assert!(
        run.line_starting("skip", "model").is_some(),
        "{}",
        run.stdout
    );
    assert!(
        run.line_starting("ok", "OTLP endpoint").is_some(),
        "{}",
        run.stdout
    );
}

/// A model that is not pulled: the line names it and says `ollama pull`. Flags may also
/// follow the subcommand.
#[tokio::test(flavor = "multi_thread")]
async fn model_not_pulled() {
    let fake = FakeOllama::start().await;
    let receiver = start_receiver().await;
    let home = tempfile::tempdir().unwrap();
    let otlp = format!("http://{}", receiver.addr);
    let run = doctor(
        home.path(),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &otlp,
            "doctor",
            "--model",
            "nope",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail = run
        .line_starting("FAIL", "model")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(fail.contains("'nope' is not pulled"), "{fail}");
    assert!(fail.contains("ollama pull nope"), "{fail}");
    assert!(fail.contains("llama3.1:8b"), "lists what is pulled: {fail}");
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("FAIL")).count(),
        1,
        "{}",
        run.stdout
    );
}

/// The collector down: the export line fails, names the endpoint and says why.
#[tokio::test(flavor = "multi_thread")]
async fn collector_down() {
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let otlp = closed_port_url();
    let run = doctor(
        home.path(),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &otlp,
            "doctor",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail = run
        .line_starting("FAIL", "OTLP endpoint")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(fail.contains(&format!("{otlp}/v1/traces")), "{fail}");
    assert!(fail.contains("cannot connect"), "{fail}");
    assert!(fail.contains("--otlp-endpoint"), "{fail}");
    assert_eq!(run.stderr, "", "SDK errors are not printed");
}

/// A log file that cannot be created (its directory is a regular file).
#[tokio::test(flavor = "multi_thread")]
async fn unwritable_log_file() {
    let fake = FakeOllama::start().await;
    let receiver = start_receiver().await;
    let home = tempfile::tempdir().unwrap();
    let blocker = home.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let log = format!("{}/x.log", blocker.display());
    let otlp = format!("http://{}", receiver.addr);
    let run = doctor(
        home.path(),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &otlp,
            "doctor",
        ],
        Some(&log),
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail = run
        .line_starting("FAIL", "log file")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(fail.contains(&log) && fail.contains("LOG_FILE"), "{fail}");
}

/// With `--export file:PATH` the test span goes into the file, and no Jaeger link is shown.
#[tokio::test(flavor = "multi_thread")]
async fn file_export_target() {
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("t.jsonl");
    let target = format!("file:{}", file.display());
    let run = doctor(
        home.path(),
        &["--ollama-url", &fake.url(), "--export", &target, "doctor"],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let line = run
        .line_starting("ok", "export is file:")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(!line.contains("/trace/"), "{line}");
    let trace_id = trace_id_in(line);
    let text = std::fs::read_to_string(&file).unwrap();
    let request: ExportTraceServiceRequest = serde_json::from_str(text.trim_end()).unwrap();
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.name, "doctor_check");
    let id: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(id, trace_id);
}
