//! Tool calling: `message.tool_calls` in Ollama's wire shape when the user
//! names an offered tool, arguments built from the schema, answers quoting a
//! tool result, and the 400 for a model without the `tools` capability.

mod common;

use common::{chat_body_with, content_of, key_paths, thinking_of, RawClient, SOON};
use fake_ollama::{FakeOllama, Options, ToolCallChunks};
use serde_json::{json, Value};

async fn start_with(opts: Options) -> FakeOllama {
    FakeOllama::start_with(Options {
        models: vec![
            "llama3.2:latest".into(),
            "qwen3:0.6b".into(),
            "deepseek-r1:8b".into(),
            "m1".into(),
        ],
        ..opts
    })
    .await
    .expect("start fake")
}

async fn start() -> FakeOllama {
    start_with(Options::default()).await
}

async fn post(ollama: &FakeOllama, body: &str) -> common::RawResponse {
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", body).await;
    client.response(SOON, false).await
}

/// mcp-server-time's tool, as a client offers it to Ollama.
fn time_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "get_current_time",
            "description": "Get current time in a specific timezone",
            "parameters": {
                "type": "object",
                "properties": {
                    "timezone": {"type": "string", "description": "IANA timezone name"}
                },
                "required": ["timezone"]
            }
        }
    })
}

/// A tool whose schema exercises enum, default, examples and types; its
/// `required` order is not alphabetical.
fn weather_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {
                "type": "object",
                "properties": {
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    "days": {"type": "integer", "default": 3},
                    "city": {"type": "string", "examples": ["Paris"]},
                    "hourly": {"type": "boolean"},
                    "note": {"type": "string"}
                },
                "required": ["unit", "days", "city", "hourly"]
            }
        }
    })
}

fn is_ollama_call_id(id: &str) -> bool {
    id.len() == 13
        && id.starts_with("call_")
        && id[5..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

#[tokio::test]
async fn naming_an_offered_tool_gets_a_tool_call_in_ollamas_shape() {
    let ollama = start().await;
    let body = chat_body_with(
        "llama3.2",
        "What time is it? Use get_current_time timezone=Europe/Paris",
        json!({"tools": [time_tool(), weather_tool()]}),
    );
    let r = post(&ollama, &body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    let lines = r.lines();
    assert_eq!(lines.len(), 2, "one call chunk, then done: {lines:?}");

    let chunk: Value = serde_json::from_str(&lines[0]).unwrap();
    let id = chunk["message"]["tool_calls"][0]["id"].as_str().unwrap();
    assert!(is_ollama_call_id(id), "{id}");
    // Byte for byte after created_at: content "", tool_calls, no `type`.
    let expected_tail = format!(
        r#""message":{{"role":"assistant","content":"","tool_calls":[{{"id":"{id}","function":{{"index":0,"name":"get_current_time","arguments":{{"timezone":"Europe/Paris"}}}}}}]}},"done":false}}"#
    );
    assert!(lines[0].ends_with(&expected_tail), "{}", lines[0]);
    assert!(lines[0].starts_with(r#"{"model":"llama3.2","created_at":""#));
    assert!(!lines[0].contains("\"type\""));
    assert_eq!(
        key_paths(&lines[0])[2..],
        [
            "message",
            "message.role",
            "message.content",
            "message.tool_calls",
            "id",
            "function",
            "function.index",
            "function.name",
            "function.arguments",
            "function.arguments.timezone",
            "done"
        ]
        .map(|k| match k {
            "id" | "function" => format!("message.tool_calls.{k}"),
            k if k.starts_with("function.") => format!("message.tool_calls.{k}"),
            k => k.to_string(),
        })
    );

    let done: Value = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(done["done"], true);
    assert_eq!(
        done["done_reason"], "stop",
        "Ollama has no tool_calls reason"
    );
    assert_eq!(done["message"]["content"], "");
    assert!(done["eval_count"].as_u64().unwrap() > 0);

    let sent = &ollama.chat_requests()[0];
    assert_eq!(sent.tools().len(), 2);
    let outcome = sent.outcome.clone().unwrap();
    assert_eq!(outcome.tool_calls.len(), 1);
    let call = &outcome.tool_calls[0];
    assert_eq!(call.id, id);
    assert_eq!((call.index, call.name.as_str()), (0, "get_current_time"));
    assert_eq!(call.arguments, json!({"timezone": "Europe/Paris"}));
    assert_eq!(outcome.text, "");
    assert_eq!(outcome.chunks_sent, 1);
    assert_eq!(outcome.done_reason.as_deref(), Some("stop"));
}

#[tokio::test]
async fn arguments_come_from_the_schema_in_required_order() {
    let ollama = start().await;
    let body = chat_body_with(
        "llama3.2",
        "weather please",
        json!({"tools": [weather_tool()]}),
    );
    let r = post(&ollama, &body).await;
    assert!(
        r.lines()[0]
            .contains(r#""arguments":{"unit":"celsius","days":3,"city":"Paris","hourly":true}"#),
        "{}",
        r.lines()[0]
    );
    // Values from the message win, an optional property named there is added.
    let body = chat_body_with(
        "llama3.2",
        "weather city=Oslo days=7 note=umbrella",
        json!({"tools": [weather_tool()]}),
    );
    let r = post(&ollama, &body).await;
    assert!(
        r.lines()[0].contains(
            r#""arguments":{"unit":"celsius","days":7,"city":"Oslo","hourly":true,"note":"umbrella"}"#
        ),
        "{}",
        r.lines()[0]
    );
}

#[tokio::test]
async fn several_named_tools_are_called_in_order() {
    let ollama = start().await;
    let body = chat_body_with(
        "llama3.2",
        "first weather, then get_current_time timezone=UTC",
        json!({"tools": [time_tool(), weather_tool()]}),
    );
    let chunks = post(&ollama, &body).await.json_lines();
    assert_eq!(chunks.len(), 3, "one chunk per call, then done");
    let call = |i: usize| {
        chunks[i]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(call(0).len(), 1);
    assert_eq!(call(0)[0]["function"]["index"], 0);
    assert_eq!(call(0)[0]["function"]["name"], "weather");
    assert_eq!(call(1)[0]["function"]["index"], 1);
    assert_eq!(call(1)[0]["function"]["name"], "get_current_time");
    assert_ne!(call(0)[0]["id"], call(1)[0]["id"]);

    // Or all of them in one chunk.
    let ollama = start_with(Options {
        tool_call_chunks: ToolCallChunks::AllInOne,
        ..Options::default()
    })
    .await;
    let chunks = post(&ollama, &body).await.json_lines();
    assert_eq!(chunks.len(), 2);
    let calls = chunks[0]["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["function"]["index"], 1);
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.tool_calls.len(), 2);
    assert_eq!(outcome.chunks_sent, 1);
}

#[tokio::test]
async fn ids_are_deterministic_and_differ_between_turns() {
    let body = chat_body_with(
        "llama3.2",
        "get_current_time timezone=UTC",
        json!({"tools": [time_tool()]}),
    );
    let id_of = |r: common::RawResponse| {
        r.json_lines()[0]["message"]["tool_calls"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let a = id_of(post(&start().await, &body).await);
    let b = id_of(post(&start().await, &body).await);
    assert_eq!(a, b, "same request, same id, across servers");

    let later = json!({
        "model": "llama3.2",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "You said: hi"},
            {"role": "user", "content": "get_current_time timezone=UTC"},
        ],
        "tools": [time_tool()],
    });
    let c = id_of(post(&start().await, &later.to_string()).await);
    assert_ne!(a, c);
}

#[tokio::test]
async fn a_tool_result_is_quoted_in_the_answer() {
    let ollama = start().await;
    let body = json!({
        "model": "llama3.2",
        "messages": [
            {"role": "user", "content": "get_current_time timezone=UTC"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_ab12cd34", "function": {"index": 0, "name": "get_current_time", "arguments": {"timezone": "UTC"}}}
            ]},
            {"role": "tool", "tool_name": "get_current_time", "content": "{\"datetime\":\"2026-12-02T01:00:00Z\"}"},
        ],
        "tools": [time_tool()],
    });
    let r = post(&ollama, &body.to_string()).await;
    let chunks = r.json_lines();
    assert_eq!(
        content_of(&chunks),
        r#"get_current_time returned: {"datetime":"2026-12-02T01:00:00Z"}"#
    );
    assert!(chunks
        .iter()
        .all(|c| c["message"].get("tool_calls").is_none()));
    assert_eq!(chunks.last().unwrap()["done_reason"], "stop");

    // Several results (and one without a tool_name), each on its line.
    let body = json!({
        "model": "llama3.2",
        "messages": [
            {"role": "user", "content": "weather and get_current_time"},
            {"role": "tool", "tool_name": "weather", "content": "rainy"},
            {"role": "tool", "tool_call_id": "call_zz", "content": "12:00"},
        ],
    });
    let r = post(&ollama, &body.to_string()).await;
    assert_eq!(
        content_of(&r.json_lines()),
        "weather returned: rainy\nthe tool returned: 12:00"
    );
    assert_eq!(
        ollama.chat_requests()[1].messages()[2]["tool_call_id"],
        "call_zz"
    );
}

#[tokio::test]
async fn a_thinking_model_thinks_then_calls() {
    let ollama = start().await;
    let body = chat_body_with(
        "qwen3:0.6b",
        "use get_current_time",
        json!({"tools": [time_tool()]}),
    );
    let chunks = post(&ollama, &body).await.json_lines();
    // "Okay, the user said: use get_current_time" = 12 pieces ("_" is a
    // piece of its own), a call, done.
    assert_eq!(chunks.len(), 12 + 1 + 1);
    assert_eq!(
        thinking_of(&chunks),
        "Okay, the user said: use get_current_time"
    );
    let call = &chunks[12]["message"];
    assert_eq!(call["content"], "");
    assert!(call.get("thinking").is_none());
    assert_eq!(
        call["tool_calls"][0]["function"]["arguments"],
        json!({"timezone": "example"})
    );
    // eval_count: 12 thinking + the call's name (`get`, `_`, `current`, `_`,
    // `time`) and its arguments' JSON `{"timezone":"example"}` (`{`, `"`,
    // `timezone`, `"`, `:`, `"`, `example`, `"`, `}`).
    assert_eq!(chunks[13]["eval_count"], 12 + 5 + 9);

    // After the result, it thinks about the result and quotes it.
    let body = json!({
        "model": "qwen3:0.6b",
        "messages": [
            {"role": "user", "content": "use get_current_time"},
            {"role": "tool", "tool_name": "get_current_time", "content": "noon"},
        ],
        "tools": [time_tool()],
    });
    let chunks = post(&ollama, &body.to_string()).await.json_lines();
    assert_eq!(
        thinking_of(&chunks),
        "Okay, get_current_time returned: noon"
    );
    assert_eq!(content_of(&chunks), "get_current_time returned: noon");
}

#[tokio::test]
async fn tools_not_named_give_a_plain_reply() {
    let ollama = start().await;
    let body = chat_body_with(
        "llama3.2",
        "what is the current time",
        json!({"tools": [time_tool()]}),
    );
    let chunks = post(&ollama, &body).await.json_lines();
    assert_eq!(content_of(&chunks), "You said: what is the current time");
    assert!(ollama.chat_requests()[0]
        .outcome
        .clone()
        .unwrap()
        .tool_calls
        .is_empty());
    // Named, but not offered: no call either.
    let chunks = post(
        &ollama,
        &chat_body_with("llama3.2", "get_current_time", json!({})),
    )
    .await
    .json_lines();
    assert_eq!(content_of(&chunks), "You said: get_current_time");
}

#[tokio::test]
async fn stream_false_gathers_the_calls() {
    let ollama = start().await;
    let body = chat_body_with(
        "llama3.2",
        "weather and get_current_time timezone=UTC",
        json!({"tools": [time_tool(), weather_tool()], "stream": false}),
    );
    let r = post(&ollama, &body).await;
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    let v: Value = serde_json::from_str(&r.text()).unwrap();
    assert_eq!(v["message"]["content"], "");
    let calls = v["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["function"]["name"], "weather");
    assert_eq!(
        calls[1]["function"]["arguments"],
        json!({"timezone": "UTC"})
    );
    assert_eq!(v["done_reason"], "stop");
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.tool_calls.len(), 2);
    assert_eq!(outcome.chunks_sent, 0);
}

#[tokio::test]
async fn a_model_without_tools_refuses_them() {
    let ollama = start().await;
    for (model, qualified) in [
        (
            "deepseek-r1:8b",
            "registry.ollama.ai/library/deepseek-r1:8b",
        ),
        ("m1", "registry.ollama.ai/library/m1:latest"),
    ] {
        let body = chat_body_with(model, "get_current_time", json!({"tools": [time_tool()]}));
        let r = post(&ollama, &body).await;
        assert_eq!(r.status, 400, "{model}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            r.text(),
            format!(r#"{{"error":"{qualified} does not support tools"}}"#)
        );
    }
    // An empty tools list is no tools at all.
    let r = post(&ollama, &chat_body_with("m1", "hi", json!({"tools": []}))).await;
    assert_eq!(r.status, 200);
    // A tools field that is not a list is a decoding error.
    let r = post(&ollama, &chat_body_with("m1", "hi", json!({"tools": {}}))).await;
    assert_eq!(r.status, 400);
}
