//! Tools in the chat, through the binary: the fake Ollama calls a tool (its wire shape),
//! a real MCP server runs it, and the turn is one trace — with the MCP server's own span
//! in it, across the process boundary.

use serde_json::{json, Value};

use crate::mcp_real::{time_server, traced_server};
use crate::support::*;
use fake_ollama::FakeOllama;

fn mcp_file(dir: &std::path::Path, servers: Value) -> String {
    let path = dir.join("mcp.json");
    std::fs::write(&path, json!({ "mcpServers": servers }).to_string()).unwrap();
    path.display().to_string()
}

/// `--allow-tools`: the model's call runs on the real `mcp-server-time`, its result goes
/// back as a `tool` message, the second model call answers from it; one trace with
/// `execute_tool` and `tools/call` between the two `generate_response`s; the history
/// keeps the tool messages.
#[tokio::test(flavor = "multi_thread")]
async fn a_tool_call_is_one_trace_across_two_model_calls() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mcp_file(dir.path(), json!({ "time": time_server() }));
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .args(["--mcp-config", &config, "--allow-tools"])
        .stdin("please use get_current_time timezone=UTC\nand again\n")
        .timeout(std::time::Duration::from_secs(40))
        .run()
        .await;
    out.assert_exit(0);
    let requests = fake.chat_requests();
    assert_eq!(
        requests.len(),
        3,
        "two model calls, then the second turn: {out:?}"
    );
    assert!(!requests[0].tools().is_empty(), "tools were offered");
    let second = requests[1].messages();
    assert_eq!(second[1]["role"], json!("assistant"));
    let call = &second[1]["tool_calls"][0];
    assert_eq!(call["function"]["name"], json!("get_current_time"));
    assert_eq!(call["function"]["arguments"], json!({"timezone": "UTC"}));
    assert_eq!(second[2]["role"], json!("tool"));
    assert_eq!(second[2]["tool_name"], json!("get_current_time"));
    assert!(
        second[2]["content"].as_str().unwrap().contains("UTC"),
        "{second:?}"
    );
    // The history keeps them: the next turn sends user, assistant(tool_calls), tool, assistant, user.
    let third = requests[2].messages();
    let roles: Vec<&str> = third.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "tool", "assistant", "user"]);
    assert!(
        out.stderr.contains("ran time.get_current_time in "),
        "{out:?}"
    );

    let spans = rx.spans();
    let tid = &out.trace_ids()[0];
    let turn = in_trace(&spans, tid);
    let names: Vec<&str> = turn.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| **n == "generate_response").count(),
        2,
        "{names:?}"
    );
    let root = span(&spans, tid, "chat_interaction");
    let tool = span(&spans, tid, "execute_tool get_current_time");
    assert_child(root, tool);
    assert_eq!(tool.str_attr("gen_ai.operation.name"), "execute_tool");
    assert_eq!(tool.str_attr("gen_ai.tool.name"), "get_current_time");
    assert_eq!(tool.str_attr("llm.tool.decision"), "approved");
    assert!(tool.str_attr("gen_ai.tool.call.id").starts_with("call_"));
    assert_eq!(
        tool.str_attr("gen_ai.tool.call.arguments"),
        r#"{"timezone":"UTC"}"#
    );
    let client = span(&spans, tid, "tools/call get_current_time");
    assert_child(tool, client);
    assert_eq!(client.kind, "client");
    assert_eq!(client.str_attr("mcp.method.name"), "tools/call");
    assert_eq!(client.str_attr("network.transport"), "pipe");
    let first_call = spans
        .iter()
        .filter(|s| s.trace_id == *tid && s.name == "generate_response")
        .min_by_key(|s| s.start_unix_nano)
        .unwrap();
    assert_eq!(
        first_call.attr("gen_ai.response.finish_reasons"),
        Some(&json!(["tool_call"]))
    );
    assert!(first_call
        .str_attr("gen_ai.tool.definitions")
        .contains("get_current_time"));
    let ms = rx.metrics();
    assert_eq!(
        value_total(
            &ms,
            "llm.tool.calls",
            &[("tool", "get_current_time"), ("status", "success")]
        ),
        1.0
    );
    assert_eq!(
        value_total(&ms, "llm.requests", &[]),
        2.0,
        "turns, not model calls"
    );
    assert!(!points(&ms, "mcp.client.operation.duration").is_empty());
    assert_eq!(out.chat_logs()[0]["tool_calls"], json!(1));
    // The turn's tokens are those of both model calls, in the log line and in the metric.
    let calls: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id == *tid && s.name == "generate_response")
        .collect();
    let input: i64 = calls
        .iter()
        .map(|s| s.int_attr("gen_ai.usage.input_tokens"))
        .sum();
    let output: i64 = calls
        .iter()
        .map(|s| s.int_attr("gen_ai.usage.output_tokens"))
        .sum();
    assert!(calls
        .iter()
        .all(|s| s.int_attr("gen_ai.usage.input_tokens") > 0));
    let line = &out.chat_logs()[0];
    assert_eq!(line["tokens"]["input"], json!(input), "{line}");
    assert_eq!(line["tokens"]["output"], json!(output), "{line}");
    let every_call: i64 = spans
        .iter()
        .filter(|s| s.name == "generate_response")
        .map(|s| s.int_attr("gen_ai.usage.input_tokens"))
        .sum();
    assert_eq!(
        value_total(&ms, "llm.tokens", &[("type", "input")]),
        every_call as f64,
        "the counter adds every model call of both turns"
    );
}

/// Piped without `--allow-tools`, nothing runs: the model is told, the user sees why, and
/// `llm.tool.decision=not_allowed`.
#[tokio::test(flavor = "multi_thread")]
async fn nothing_runs_without_consent() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mcp_file(dir.path(), json!({ "time": time_server() }));
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .args(["--mcp-config", &config])
        .stdin("use get_current_time timezone=UTC\n")
        .timeout(std::time::Duration::from_secs(40))
        .run()
        .await;
    out.assert_exit(0);
    let second = fake.chat_requests()[1].messages();
    assert!(
        second[2]["content"]
            .as_str()
            .unwrap()
            .contains("was not run: not allowed"),
        "{second:?}"
    );
    assert!(
        out.stderr.contains("not allowed (run with --allow-tools"),
        "{out:?}"
    );
    let spans = rx.spans();
    let tool = spans
        .iter()
        .find(|s| s.name.starts_with("execute_tool"))
        .unwrap();
    assert_eq!(tool.str_attr("llm.tool.decision"), "not_allowed");
    assert!(
        !spans.iter().any(|s| s.name.starts_with("tools/call")),
        "no call was made"
    );
    assert_eq!(
        value_total(&rx.metrics(), "llm.tool.calls", &[("status", "denied")]),
        1.0
    );
}

/// Our own MCP server (Python SDK + OpenTelemetry Python SDK) reads `traceparent` from
/// `params._meta` and exports its span: it arrives in the chatbot's trace, a child of
/// `tools/call`.
#[tokio::test(flavor = "multi_thread")]
async fn the_mcp_servers_span_joins_the_chatbots_trace() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mcp_file(
        dir.path(),
        json!({ "traced": traced_server(json!({
            "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint(),
        })) }),
    );
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .args(["--mcp-config", &config, "--allow-tools"])
        .stdin("use traced_echo text=hello\n")
        .timeout(std::time::Duration::from_secs(40))
        .run()
        .await;
    out.assert_exit(0);
    let tid = out.trace_ids()[0].clone();
    let mut server_span = None;
    for _ in 0..100 {
        let spans = rx.spans();
        if let Some(s) = spans
            .iter()
            .find(|s| s.trace_id == tid && s.kind == "server" && s.name.starts_with("tools/call"))
        {
            server_span = Some((s.clone(), spans.clone()));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (server, spans) = server_span.expect("the MCP server's span in our trace");
    let client = spans
        .iter()
        .find(|s| s.trace_id == tid && s.kind == "client" && s.name == "tools/call traced_echo")
        .expect("our tools/call span");
    assert_child(client, &server);
    let tool = span(&spans, &tid, "execute_tool traced_echo");
    assert_child(tool, client);
    // Another process's span: its own Resource.
    assert_eq!(server.resource["service.name"], json!("mcp-traced-server"));
}

/// `--allow-tool` naming no tool of any server: once every server has settled (one ready,
/// one failed here), one `warning:` line names it; names that match, bare or
/// `server.tool`, get none.
#[tokio::test(flavor = "multi_thread")]
async fn an_allow_tool_that_names_no_tool_is_warned_about() {
    let fake = FakeOllama::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mcp_file(
        dir.path(),
        json!({
            "time": time_server(),
            "ghost": {"command": "/nonexistent/mcp-server-ghost"},
        }),
    );
    let out = Chatbot::new()
        .ollama(fake.url())
        .args(["--mcp-config", &config])
        .args(["--allow-tool", "nosuch", "--allow-tool", "get_current_time"])
        .args(["--allow-tool", "time.convert_time"])
        .stdin("hello\n")
        .timeout(std::time::Duration::from_secs(40))
        .run()
        .await;
    out.assert_exit(0);
    let warnings: Vec<&str> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("warning:") && l.contains("--allow-tool"))
        .collect();
    assert_eq!(
        warnings,
        ["warning: --allow-tool nosuch: no MCP server offers a tool by that name (see /tools)"],
        "{out:?}"
    );
    assert_eq!(out.stdout, "You said: hello\n");
}
