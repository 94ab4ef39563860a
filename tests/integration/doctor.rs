//! `chatbot-otel doctor`: one line per check, exit 0 only when all pass.
//!
//! Runs the built binary against the in-process fake Ollama and the harness's OTLP/HTTP
//! receiver, then breaks one dependency at a time and checks that the `FAIL` line names it.

use std::time::Duration;

use fake_ollama::FakeOllama;

use crate::support::otlp_json::decode;
use crate::support::*;

/// Runs `chatbot-otel ARGS` (ARGS ending with or containing `doctor`) through the harness.
async fn doctor(chat: Chatbot, args: &[&str]) -> Output {
    chat.args(args.iter().copied())
        .timeout(Duration::from_secs(30))
        .run()
        .await
}

/// The check lines (`ok`, `FAIL`, `skip`), not the indented configuration lines.
fn check_lines(out: &Output) -> Vec<&str> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("ok") || l.starts_with("FAIL") || l.starts_with("skip"))
        .collect()
}

/// The first stdout line starting with `prefix` and containing `containing`.
fn line_starting<'a>(out: &'a Output, prefix: &str, containing: &str) -> Option<&'a str> {
    out.stdout
        .lines()
        .find(|l| l.starts_with(prefix) && l.contains(containing))
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
    let rx = OtlpReceiver::start().await;
    let otlp = rx.endpoint();
    let run = doctor(
        Chatbot::new(),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &otlp,
            "doctor",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stderr, "", "doctor prints nothing on stderr");
    let checks = check_lines(&run);
    assert_eq!(checks.len(), 6, "{}", run.stdout);
    assert!(
        checks.iter().all(|l| l.starts_with("ok    ")),
        "{}",
        run.stdout
    );

    // In order: Ollama, model, export, configuration, log file, MCP servers (none here).
    assert!(checks[0].contains("Ollama") && checks[0].contains("version 0.12.6"));
    assert!(checks[1].contains("llama3.1:8b is pulled"));
    assert!(
        checks[2].contains(&format!("{otlp}/v1/traces")),
        "{}",
        checks[2]
    );
    assert!(checks[3].starts_with("ok    configuration"));
    assert!(checks[4].contains("log file") && checks[4].contains("writable"));
    assert!(
        checks[5].contains("no MCP servers configured"),
        "{}",
        checks[5]
    );

    let trace_id = trace_id_in(checks[2]);
    assert!(
        checks[2].contains(&format!("http://localhost:16686/trace/{trace_id}")),
        "{}",
        checks[2]
    );
    let received: Vec<(String, String)> = rx
        .spans()
        .into_iter()
        .map(|s| (s.name, s.trace_id))
        .collect();
    assert_eq!(received, vec![("doctor_check".to_string(), trace_id)]);
    assert!(rx.errors().is_empty(), "receiver errors: {:?}", rx.errors());

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
    let rx = OtlpReceiver::start().await;
    let ollama = closed_port_url();
    let run = doctor(
        Chatbot::new(),
        &[
            "--ollama-url",
            &ollama,
            "--otlp-endpoint",
            &rx.endpoint(),
            "doctor",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail = line_starting(&run, "FAIL", "Ollama").unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        fail.contains(&ollama) && fail.contains("ollama serve"),
        "{fail}"
    );
    assert!(
        line_starting(&run, "skip", "model").is_some(),
        "{}",
        run.stdout
    );
    assert!(
        line_starting(&run, "ok", "OTLP endpoint").is_some(),
        "{}",
        run.stdout
    );
}

/// A model that is not pulled: the line names it and says `ollama pull`. Flags may also
/// follow the subcommand.
#[tokio::test(flavor = "multi_thread")]
async fn model_not_pulled() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let run = doctor(
        Chatbot::new(),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &rx.endpoint(),
            "doctor",
            "--model",
            "nope",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail = line_starting(&run, "FAIL", "model").unwrap_or_else(|| panic!("{}", run.stdout));
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
    let otlp = closed_port_url();
    let run = doctor(
        Chatbot::new(),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &otlp,
            "doctor",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail =
        line_starting(&run, "FAIL", "OTLP endpoint").unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(fail.contains(&format!("{otlp}/v1/traces")), "{fail}");
    assert!(fail.contains("cannot connect"), "{fail}");
    assert!(fail.contains("--otlp-endpoint"), "{fail}");
    assert_eq!(run.stderr, "", "SDK errors are not printed");
}

/// A log file that cannot be created (its directory is a regular file).
#[tokio::test(flavor = "multi_thread")]
async fn unwritable_log_file() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let chat = Chatbot::new();
    let blocker = chat.dir().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let log = format!("{}/x.log", blocker.display());
    let run = doctor(
        chat.env("LOG_FILE", &log),
        &[
            "--ollama-url",
            &fake.url(),
            "--otlp-endpoint",
            &rx.endpoint(),
            "doctor",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let fail = line_starting(&run, "FAIL", "log file").unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(fail.contains(&log) && fail.contains("LOG_FILE"), "{fail}");
}

/// With `--export file:PATH` the test span goes into the file, and no Jaeger link is shown.
#[tokio::test(flavor = "multi_thread")]
async fn file_export_target() {
    let fake = FakeOllama::start().await;
    let chat = Chatbot::new();
    let file = chat.dir().join("t.jsonl");
    let target = format!("file:{}", file.display());
    let run = doctor(
        chat,
        &["--ollama-url", &fake.url(), "--export", &target, "doctor"],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    let line =
        line_starting(&run, "ok", "export is file:").unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(!line.contains("/trace/"), "{line}");
    let trace_id = trace_id_in(line);
    let text = std::fs::read_to_string(&file).unwrap();
    // Exactly one export request: the test span and nothing else.
    let d = decode(&text);
    assert_eq!(d.raw.len(), 1, "{text}");
    let spans = d.spans();
    assert!(!spans.is_empty(), "{text}");
    assert_eq!(spans[0].name, "doctor_check");
    assert_eq!(spans[0].trace_id, trace_id);
}

/// Each configured MCP server gets its own line: the real `mcp-server-time` starts and
/// lists its tools; a command that does not exist fails with its reason and the file to
/// fix; the exit code says not everything passed.
#[tokio::test(flavor = "multi_thread")]
async fn each_mcp_server_is_started_and_its_tools_listed() {
    let fake = FakeOllama::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcp.json");
    std::fs::write(
        &config,
        serde_json::json!({"mcpServers": {
            "time": crate::mcp_real::time_server(),
            "broken": {"command": "no-such-mcp-server-command", "args": []},
        }})
        .to_string(),
    )
    .unwrap();
    let config = config.display().to_string();
    let run = doctor(
        Chatbot::new(),
        &[
            "--ollama-url",
            &fake.url(),
            "--export",
            "none",
            "--mcp-config",
            &config,
            "doctor",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{run:?}");
    let time = line_starting(&run, "ok    ", "MCP server time is ready").expect(&run.stdout);
    assert!(
        time.contains("2 tools (convert_time, get_current_time)"),
        "{time}"
    );
    assert!(time.contains(", protocol 20"), "{time}");
    let broken = line_starting(&run, "FAIL  ", "MCP server broken: ").expect(&run.stdout);
    assert!(broken.contains("no-such-mcp-server-command"), "{broken}");
    assert!(
        broken.contains(&format!("fix: run its command from {config}")),
        "{broken}"
    );
    // Everything before the MCP lines passed; only the broken server failed.
    let failed: Vec<&str> = check_lines(&run)
        .into_iter()
        .filter(|l| !l.starts_with("ok"))
        .collect();
    assert_eq!(failed, [broken], "{}", run.stdout);
}

/// A password in `--ollama-url` is never printed: the Ollama line shows the URL as
/// `REDACTED:REDACTED@`, whether Ollama answers (`ok`) or not (`FAIL`).
#[tokio::test(flavor = "multi_thread")]
async fn the_ollama_password_is_never_shown() {
    let fake = FakeOllama::start().await;
    let up = fake.url().replace("http://", "http://alice:s3cretpw@");
    let down = closed_port_url().replace("http://", "http://alice:s3cretpw@");
    for (url, prefix, code) in [(up, "ok", 0), (down, "FAIL", 1)] {
        let run = doctor(
            Chatbot::new(),
            &["--ollama-url", &url, "--export", "none", "doctor"],
        )
        .await;
        assert_eq!(run.code, Some(code), "{}", run.stdout);
        let line =
            line_starting(&run, prefix, "Ollama at").unwrap_or_else(|| panic!("{}", run.stdout));
        assert!(
            line.contains("http://REDACTED:REDACTED@127.0.0.1:"),
            "{line}"
        );
        assert!(!run.stdout.contains("s3cretpw"), "{}", run.stdout);
        assert!(!run.stdout.contains("alice"), "{}", run.stdout);
        assert!(!run.stderr.contains("s3cretpw"), "{}", run.stderr);
    }
}
