//! Thinking models through the binary, piped: what stdout and stderr show, what the
//! request carries (`think`, `options`, the thinking sent back in the history), and the
//! names a backend receives — every value compared with what the fake Ollama sent.

use crate::support::*;
use fake_ollama::{FakeOllama, Options};
use serde_json::{json, Value};

const QWEN: &str = "qwen3:0.6b";
const GPT_OSS: &str = "gpt-oss:20b";
const LLAMA: &str = "llama3.2";

async fn fake() -> FakeOllama {
    FakeOllama::start_with(Options {
        models: vec![QWEN.into(), GPT_OSS.into(), "llama3.2:latest".into()],
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn run(fake: &FakeOllama, args: &[&str], stdin: &str) -> (Output, OtlpReceiver) {
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .args(args.iter().copied())
        .stdin(stdin)
        .run()
        .await;
    (out, rx)
}

/// The block the piped mode writes on stderr for `thinking`.
fn block(thinking: &str) -> String {
    let newline = if thinking.ends_with('\n') { "" } else { "\n" };
    format!("Thinking...\n{thinking}{newline}...done thinking.\n\n")
}

/// A thinking model with no `think` chosen: no `think` field is sent, the model thinks;
/// stdout is the reply only, the reasoning is on stderr between the markers; and every
/// thinking name is on the trace, the metrics and the log line with the fake's values.
#[tokio::test(flavor = "multi_thread")]
async fn thinks_by_default_and_telemetry_tells_the_phases_apart() {
    let fake = fake().await;
    let (out, rx) = run(&fake, &["--model", QWEN], "why is the sky blue\n").await;
    out.assert_exit(0);
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].think(),
        None,
        "no think field when nothing was chosen"
    );
    let sent = requests[0].outcome.clone().expect("the fake answered");
    assert!(
        sent.thinking_chunks > 0 && !sent.thinking.is_empty(),
        "{sent:?}"
    );

    assert_eq!(
        out.stdout,
        format!("{}\n", sent.text),
        "stdout is the reply only"
    );
    assert!(out.stderr.contains(&block(&sent.thinking)), "{out:?}");

    let spans = rx.spans();
    let tid = &out.trace_ids()[0];
    let gen = span(&spans, tid, "generate_response");
    let stream = span(&spans, tid, "process_streaming_response");
    assert!(gen.attr("ollama.request.think").is_none());
    assert!(gen.attr("gen_ai.request.reasoning.level").is_none());
    assert_eq!(gen.str_attr("llm.thinking.content"), sent.thinking);
    assert_eq!(gen.str_attr("llm.response"), sent.text);
    assert_eq!(
        gen.int_attr("gen_ai.usage.output_tokens"),
        sent.eval_count.unwrap() as i64,
        "eval_count covers thinking and answer"
    );
    assert_eq!(
        stream.int_attr("llm.thinking.chunks"),
        sent.thinking_chunks as i64
    );
    assert_eq!(
        stream.int_attr("llm.stream.chunks"),
        sent.chunks_sent as i64 + 1
    );
    let thinking_ms = stream.f64_attr("llm.thinking.duration_ms");
    assert!(thinking_ms >= 0.0, "{thinking_ms}");

    // Events: thinking_started is the first chunk; first_token the first answer text.
    let started = gen.event("thinking_started");
    let first = gen.event("first_token");
    assert!(started.time_unix_nano <= first.time_unix_nano);
    let ttfc = started.attributes["gen_ai.response.time_to_first_chunk"]
        .as_f64()
        .unwrap();
    assert_eq!(stream.f64_attr("gen_ai.response.time_to_first_chunk"), ttfc);
    assert!(first.attributes.contains_key("llm.thinking.duration_ms"));
    assert!(
        !first
            .attributes
            .contains_key("gen_ai.response.time_to_first_chunk"),
        "after thinking, the first token is not the first chunk"
    );

    let ms = rx.metrics();
    let thinking = point(&ms, "llm.thinking.duration", &[("model", QWEN)]);
    assert_eq!(thinking.kind, MetricKind::Histogram);
    assert_eq!(thinking.unit, "s");
    assert_eq!(thinking.count, 1);
    assert!((thinking.sum * 1000.0 - thinking_ms).abs() < 1.0);
    let ttft = point(&ms, "llm.time_to_first_token", &[("model", QWEN)]);
    let ttfc_metric = points(&ms, "gen_ai.client.operation.time_to_first_chunk");
    assert_eq!(ttfc_metric.len(), 1);
    assert_eq!(ttfc_metric[0].count, 1);
    assert!((ttfc_metric[0].sum - ttfc).abs() < 1e-9);
    assert!(
        ttft.sum >= ttfc_metric[0].sum,
        "first content comes after the first chunk"
    );

    let logs = out.chat_logs();
    assert_eq!(logs.len(), 1);
    let logged = logs[0]["thinking_ms"].as_f64().expect("thinking_ms");
    assert!(
        (logged - thinking_ms).abs() < 1.0,
        "{logged} vs {thinking_ms}"
    );
}

/// The assistant message keeps its thinking and sends it back on the next turn.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_request_carries_the_first_turns_thinking() {
    let fake = fake().await;
    let (out, _rx) = run(&fake, &["--model", QWEN], "first\nsecond\n/history\n").await;
    out.assert_exit(0);
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 2);
    let first = requests[0].outcome.clone().unwrap();
    let messages = requests[1].messages();
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": first.text, "thinking": first.thinking}),
        "{messages:?}"
    );
    // /history shows the reasoning, marked.
    assert!(
        out.stderr
            .contains(&format!("(thinking) {}", first.thinking)),
        "{out:?}"
    );
}

/// No thinking model in a plain turn: no think attributes, no thinking names anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_does_not_think_has_no_thinking_names() {
    let fake = fake().await;
    let (out, rx) = run(&fake, &["--model", LLAMA], "hello\n").await;
    out.assert_exit(0);
    assert!(!out.stderr.contains("Thinking..."), "{out:?}");
    let spans = rx.spans();
    let tid = &out.trace_ids()[0];
    let gen = span(&spans, tid, "generate_response");
    let stream = span(&spans, tid, "process_streaming_response");
    assert!(gen.attr("llm.thinking.content").is_none());
    assert!(gen.events_named("thinking_started").is_empty());
    assert!(stream.attr("llm.thinking.duration_ms").is_none());
    assert!(gen
        .event("first_token")
        .attributes
        .contains_key("gen_ai.response.time_to_first_chunk"));
    assert!(points(&rx.metrics(), "llm.thinking.duration").is_empty());
    assert!(out.chat_logs()[0].get("thinking_ms").is_none());
}

/// `--think false`: `think:false` is sent, the model does not think.
#[tokio::test(flavor = "multi_thread")]
async fn think_false_turns_it_off() {
    let fake = fake().await;
    let (out, rx) = run(&fake, &["--model", QWEN, "--think", "false"], "hello\n").await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests()[0].think(), Some(json!(false)));
    assert!(!out.stderr.contains("Thinking..."), "{out:?}");
    assert_eq!(out.stdout, "You said: hello\n");
    let spans = rx.spans();
    let gen = span(&spans, &out.trace_ids()[0], "generate_response");
    assert_eq!(gen.str_attr("ollama.request.think"), "false");
    assert!(gen.attr("gen_ai.request.reasoning.level").is_none());
}

/// A level is sent as a string and recorded as the reasoning level; bare `--think` is true.
#[tokio::test(flavor = "multi_thread")]
async fn a_level_is_the_reasoning_level() {
    let fake = fake().await;
    let (out, rx) = run(&fake, &["--model", GPT_OSS, "--think", "high"], "hello\n").await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests()[0].think(), Some(json!("high")));
    let spans = rx.spans();
    let gen = span(&spans, &out.trace_ids()[0], "generate_response");
    assert_eq!(gen.str_attr("gen_ai.request.reasoning.level"), "high");
    assert_eq!(gen.str_attr("ollama.request.think"), "high");

    let fake = self::fake().await;
    let (out, _rx) = run(&fake, &["--model", QWEN, "--think"], "hello\n").await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests()[0].think(), Some(json!(true)));
}

/// `--hidethinking`: the model thinks, nothing of it is printed, stdout is the reply.
#[tokio::test(flavor = "multi_thread")]
async fn hidden_thinking_is_not_printed() {
    let fake = fake().await;
    let (out, rx) = run(&fake, &["--model", QWEN, "--hidethinking"], "hello\n").await;
    out.assert_exit(0);
    let sent = fake.chat_requests()[0].outcome.clone().unwrap();
    assert!(!sent.thinking.is_empty());
    assert!(!out.stderr.contains("Thinking..."), "{out:?}");
    assert!(!out.stderr.contains(&sent.thinking), "{out:?}");
    assert_eq!(out.stdout, format!("{}\n", sent.text));
    // Hidden from the screen, not from the trace.
    let spans = rx.spans();
    let gen = span(&spans, &out.trace_ids()[0], "generate_response");
    assert_eq!(gen.str_attr("llm.thinking.content"), sent.thinking);
}

/// `--think` with a model that cannot think: one line saying what to do, the error typed
/// `think_not_supported`, and the session goes on: `/set nothink` and the same message work.
#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_cannot_think_gets_one_line_and_the_session_survives() {
    let fake = fake().await;
    let (out, rx) = run(
        &fake,
        &["--model", LLAMA, "--think"],
        "hello\n/set nothink\nhello\n",
    )
    .await;
    out.assert_exit(0);
    assert_eq!(
        out.error_lines(),
        vec![
            "error: llama3.2 does not think; /set nothink, or pick a thinking model (ollama list)"
        ]
    );
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].think(), Some(json!(false)));
    assert_eq!(
        out.stdout, "\nYou said: hello\n",
        "line N of stdout answers prompt N"
    );
    let spans = rx.spans();
    let failed = &out.trace_ids()[0];
    assert_error_chain(&spans, failed, "ollama_request", "think_not_supported");
    assert_eq!(
        span(&spans, failed, "ollama_request").int_attr("http.response.status_code"),
        400
    );
    assert_eq!(
        value_total(
            &rx.metrics(),
            "llm.errors",
            &[("error_type", "think_not_supported")]
        ),
        1.0
    );
}

/// An invalid level: from the flag, exit 2 with one line; at the prompt, a hint and
/// nothing sent.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_levels_are_refused_before_anything_is_sent() {
    let fake = fake().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .args(["--think", "extreme"])
        .stdin("hello\n")
        .run()
        .await;
    out.assert_exit(2);
    assert_eq!(out.stderr_lines().len(), 1, "{out:?}");
    assert!(out.stderr.starts_with("error: "), "{out:?}");
    assert!(out.stderr.contains("extreme"), "{out:?}");
    assert!(fake.chat_requests().is_empty());

    let (out, _rx) = run(&fake, &["--model", QWEN], "/set think extreme\n").await;
    out.assert_exit(0);
    assert!(
        out.stderr.contains("true, false, low, medium, high or max"),
        "{out:?}"
    );
    assert!(fake.chat_requests().is_empty());
}

/// Model parameters: `--option` and `/set parameter` go into `options`, validated with
/// the same messages; `/show parameters` lists them; each is on the span under its GenAI
/// name or `ollama.request.*`.
#[tokio::test(flavor = "multi_thread")]
async fn parameters_reach_the_request_and_the_span() {
    let fake = fake().await;
    let (out, rx) = run(
        &fake,
        &[
            "--model",
            LLAMA,
            "--option",
            "num_predict=64",
            "--option",
            "seed=7",
        ],
        "/set parameter num_ctx 8192\n/set parameter stop END\n/set parameter stop STOP\n\
         /set parameter top_p 2\n/set parameter top_k 20\n/set parameter min_p 0.05\n\
         /set parameter repeat_penalty 1.1\n/set parameter repeat_last_n 32\n\
         /show parameters\nhello\n",
    )
    .await;
    out.assert_exit(0);
    assert!(
        out.stderr
            .contains(r#"invalid top_p "2": expected a number from 0 to 1"#),
        "{out:?}"
    );
    for row in [
        "num_predict",
        "64",
        "num_ctx",
        "8192",
        "\"END\"",
        "\"STOP\"",
    ] {
        assert!(
            out.stderr.contains(row),
            "/show parameters lacks {row}: {out:?}"
        );
    }
    let options = fake.chat_requests()[0].options();
    assert_eq!(options["num_predict"], json!(64));
    assert_eq!(options["seed"], json!(7));
    assert_eq!(options["num_ctx"], json!(8192));
    assert_eq!(options["stop"], json!(["END", "STOP"]));
    assert_eq!(options["top_k"], json!(20));
    assert!(
        options.get("top_p").is_none(),
        "a refused value is not sent"
    );

    let spans = rx.spans();
    let gen = span(&spans, &out.trace_ids()[0], "generate_response");
    assert_eq!(gen.int_attr("gen_ai.request.max_tokens"), 64);
    assert_eq!(gen.int_attr("gen_ai.request.seed"), 7);
    assert_eq!(gen.int_attr("gen_ai.request.top_k"), 20);
    assert_eq!(gen.int_attr("ollama.request.num_ctx"), 8192);
    assert_eq!(gen.int_attr("ollama.request.repeat_last_n"), 32);
    assert_eq!(gen.f64_attr("ollama.request.min_p"), 0.05);
    assert_eq!(gen.f64_attr("ollama.request.repeat_penalty"), 1.1);
    assert_eq!(
        gen.attr("gen_ai.request.stop_sequences"),
        Some(&Value::from(vec!["END", "STOP"]))
    );
    assert!(gen.attr("gen_ai.request.top_p").is_none());
}

/// `/trace` draws the thinking phase on the time axis under `generate_response`, and
/// `/stats` gives its median once a model thought.
#[tokio::test(flavor = "multi_thread")]
async fn trace_and_stats_show_the_thinking_phase() {
    let fake = fake().await;
    let (out, _rx) = run(&fake, &["--model", QWEN], "hello\n/trace\n/stats\n").await;
    out.assert_exit(0);
    let sent = fake.chat_requests()[0].outcome.clone().unwrap();
    let phase = regex::Regex::new(r"(?m)^\|  \|  thinking +phase +[0-9.]+ m?s +[#.]+$").unwrap();
    assert!(phase.is_match(&out.stderr), "{}", out.stderr);
    assert!(
        out.stderr.contains("event thinking_started at +"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains(&format!("thinking chunks={}", sent.thinking_chunks)),
        "{}",
        out.stderr
    );
    let stats = regex::Regex::new(r"(?m)^  thinking +p50 [0-9.]+ s +over 1 replies$").unwrap();
    assert!(stats.is_match(&out.stderr), "{}", out.stderr);
}
