//! Thinking models: `message.thinking` chunks before the answer, the `think`
//! field's values and errors, the `thinking` capability, pacing, and what the
//! fake records of the request.

mod common;

use std::time::Duration;

use common::{chat_body_with, content_of, key_paths, thinking_of, End, RawClient, SOON};
use fake_ollama::{Behaviour, FakeOllama, Options, Reply, Thinking};
use serde_json::{json, Value};

/// A fake with one model of each kind: thinking (qwen3), levels-only
/// thinking (gpt-oss), and not thinking (llama3.2).
async fn start_with(opts: Options) -> FakeOllama {
    FakeOllama::start_with(Options {
        models: vec![
            "qwen3:0.6b".into(),
            "gpt-oss:20b".into(),
            "deepseek-r1:8b".into(),
            "llama3.2:latest".into(),
        ],
        ..opts
    })
    .await
    .expect("start fake")
}

async fn start() -> FakeOllama {
    start_with(Options::default()).await
}

/// Posts `body` on a new connection and reads the whole response.
async fn post(ollama: &FakeOllama, body: &str) -> common::RawResponse {
    let mut client = RawClient::connect(ollama.addr()).await;
    client.post("/api/chat", body).await;
    client.response(SOON, false).await
}

/// "Okay, the user said: hi" in pieces, as the default thinking streams it.
const THINKING_HI: [&str; 7] = ["Okay", ",", " the", " user", " said", ":", " hi"];

#[tokio::test]
async fn a_thinking_model_thinks_first_when_think_is_left_out() {
    let ollama = start().await;
    let response = post(&ollama, &chat_body_with("qwen3:0.6b", "hi", json!({}))).await;
    assert_eq!(response.status, 200);
    let lines = response.lines();
    let chunks = response.json_lines();
    // 7 thinking chunks, 4 content chunks ("You", " said", ":", " hi"), done.
    assert_eq!(chunks.len(), 7 + 4 + 1);
    for (i, piece) in THINKING_HI.iter().enumerate() {
        assert_eq!(chunks[i]["message"]["thinking"], *piece);
        assert_eq!(chunks[i]["message"]["content"], "", "content is empty");
    }
    // Wire-exact: `thinking` comes after `content`, inside `message`.
    assert!(
        lines[0].contains(
            r#""message":{"role":"assistant","content":"","thinking":"Okay"},"done":false}"#
        ),
        "{}",
        lines[0]
    );
    assert_eq!(
        key_paths(&lines[0]),
        [
            "model",
            "created_at",
            "message",
            "message.role",
            "message.content",
            "message.thinking",
            "done"
        ]
    );
    // Content chunks and the final chunk carry no `thinking` key at all.
    for line in &lines[7..] {
        assert!(!line.contains("\"thinking\""), "{line}");
    }
    assert_eq!(thinking_of(&chunks), "Okay, the user said: hi");
    assert_eq!(content_of(&chunks), "You said: hi");
    let last = chunks.last().unwrap();
    assert_eq!(last["done_reason"], "stop");
    assert_eq!(last["eval_count"], 7 + 4, "eval_count covers both");

    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.thinking, "Okay, the user said: hi");
    assert_eq!(outcome.thinking_chunks, 7);
    assert_eq!(outcome.chunks_sent, 11);
    assert_eq!(outcome.text, "You said: hi");
    assert_eq!(outcome.eval_count, Some(11));
}

#[tokio::test]
async fn think_true_and_levels_think_false_does_not() {
    let ollama = start().await;
    for think in [
        json!(true),
        json!("low"),
        json!("medium"),
        json!("high"),
        json!("max"),
    ] {
        let r = post(
            &ollama,
            &chat_body_with("qwen3:0.6b", "hi", json!({"think": think})),
        )
        .await;
        assert_eq!(r.status, 200, "{think}");
        assert_eq!(
            thinking_of(&r.json_lines()),
            "Okay, the user said: hi",
            "{think}"
        );
    }

    let r = post(
        &ollama,
        &chat_body_with("qwen3:0.6b", "hi", json!({"think": false})),
    )
    .await;
    assert!(!r.text().contains("thinking"), "{}", r.text());
    assert_eq!(r.json_lines().len(), 4 + 1);
    assert_eq!(r.json_lines().last().unwrap()["eval_count"], 4);
    let outcome = ollama.chat_requests()[5].outcome.clone().unwrap();
    assert_eq!(
        (outcome.thinking.as_str(), outcome.thinking_chunks),
        ("", 0)
    );
}

#[tokio::test]
async fn gpt_oss_ignores_booleans_and_thinks_anyway() {
    let ollama = start().await;
    for think in [json!(false), json!(true), json!("low"), Value::Null] {
        let r = post(
            &ollama,
            &chat_body_with("gpt-oss:20b", "hi", json!({"think": think})),
        )
        .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            thinking_of(&r.json_lines()),
            "Okay, the user said: hi",
            "{think}"
        );
    }
}

#[tokio::test]
async fn a_model_that_cannot_think_refuses_a_truthy_think() {
    let ollama = start().await;
    for think in [json!(true), json!("low"), json!("max")] {
        let r = post(
            &ollama,
            &chat_body_with("llama3.2", "hi", json!({"think": think})),
        )
        .await;
        assert_eq!(r.status, 400, "{think}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            r.text(),
            r#"{"error":"\"llama3.2\" does not support thinking"}"#,
            "the model as sent, quoted"
        );
    }
    // false, null and no think at all are fine, and nothing is thought.
    for extra in [json!({"think": false}), json!({"think": null}), json!({})] {
        let r = post(&ollama, &chat_body_with("llama3.2", "hi", extra.clone())).await;
        assert_eq!(r.status, 200, "{extra}");
        assert!(!r.text().contains("thinking"));
        assert_eq!(content_of(&r.json_lines()), "You said: hi");
    }
}

#[tokio::test]
async fn invalid_think_values_are_400_before_anything_else() {
    let ollama = start().await;
    ollama.push(Behaviour::Hang);
    let r = post(
        &ollama,
        &chat_body_with("qwen3:0.6b", "hi", json!({"think": "extreme"})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"error":"invalid think value: \"extreme\" (must be \"high\", \"medium\", \"low\", \"max\", true, or false)"}"#
    );
    // Decoding comes first: even for a model that is not there.
    let r = post(
        &ollama,
        &chat_body_with("nope", "hi", json!({"think": "True"})),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = post(
        &ollama,
        &chat_body_with("qwen3:0.6b", "hi", json!({"think": 1})),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), r#"{"error":"think must be a boolean or string"}"#);
    // A missing model is still a 404 when think is valid but unsupported.
    let r = post(
        &ollama,
        &chat_body_with("nope", "hi", json!({"think": true})),
    )
    .await;
    assert_eq!(r.status, 404);
    // None of these used up the pushed behaviour.
    let mut client = RawClient::connect(ollama.addr()).await;
    client
        .post("/api/chat", &chat_body_with("qwen3:0.6b", "hi", json!({})))
        .await;
    let r = client.response(Duration::from_millis(200), false).await;
    assert_eq!((r.status, r.end), (0, End::TimedOut));
}

#[tokio::test]
async fn load_and_unload_meet_the_thinking_check_in_ollamas_order() {
    let ollama = start().await;
    let body = |extra: Value| {
        let mut b = json!({"model": "llama3.2", "messages": [], "think": true});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b.to_string()
    };
    // Unloading happens before the capability check, loading after it.
    let r = post(&ollama, &body(json!({"keep_alive": 0}))).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains(r#""done_reason":"unload""#));
    let r = post(&ollama, &body(json!({}))).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"error":"\"llama3.2\" does not support thinking"}"#
    );
}

#[tokio::test]
async fn stream_false_carries_the_whole_thinking() {
    let ollama = start().await;
    let r = post(
        &ollama,
        &chat_body_with("qwen3:0.6b", "hi", json!({"stream": false})),
    )
    .await;
    assert_eq!(r.status, 200);
    let raw = r.text();
    assert!(!raw.ends_with('\n'));
    assert!(
        raw.contains(r#""message":{"role":"assistant","content":"You said: hi","thinking":"Okay, the user said: hi"},"done":true,"done_reason":"stop""#),
        "{raw}"
    );
    let v: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["eval_count"], 11);
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!(outcome.thinking, "Okay, the user said: hi");
    assert_eq!((outcome.chunks_sent, outcome.thinking_chunks), (0, 0));
}

#[tokio::test]
async fn capabilities_say_who_thinks() {
    let ollama = start().await;
    let client = common::client();
    for (model, expected) in [
        ("qwen3:0.6b", json!(["completion", "tools", "thinking"])),
        ("gpt-oss:20b", json!(["completion", "tools", "thinking"])),
        ("deepseek-r1:8b", json!(["completion", "thinking"])),
        ("llama3.2", json!(["completion", "tools"])),
    ] {
        let show: Value = client
            .post(format!("{}/api/show", ollama.url()))
            .json(&json!({"model": model}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(show["capabilities"], expected, "{model}");
    }
    let tags: Value = reqwest::get(format!("{}/api/tags", ollama.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tags["models"][0]["capabilities"],
        json!(["completion", "tools", "thinking"])
    );
    assert_eq!(
        tags["models"][3]["capabilities"],
        json!(["completion", "tools"])
    );
}

#[tokio::test]
async fn thinking_text_is_configurable_and_words_give_n_chunks() {
    let ollama = start_with(Options {
        thinking: Thinking::Words(20),
        reply: Reply::Words(3),
        ..Options::default()
    })
    .await;
    let chunks = post(&ollama, &chat_body_with("qwen3:0.6b", "hi", json!({})))
        .await
        .json_lines();
    assert_eq!(chunks.len(), 20 + 3 + 1);
    assert!(thinking_of(&chunks).starts_with("hmm okay so first"));
    assert_eq!(thinking_of(&chunks).split(' ').count(), 20);
    assert_eq!(content_of(&chunks), "lorem ipsum dolor");
    assert_eq!(chunks.last().unwrap()["eval_count"], 23);

    let ollama = start_with(Options {
        thinking: Thinking::Text("Let me see <this>.".into()),
        ..Options::default()
    })
    .await;
    let r = post(&ollama, &chat_body_with("deepseek-r1:8b", "hi", json!({}))).await;
    assert!(r.text().contains(r#""thinking":" \u003c""#), "Go escaping");
    assert_eq!(thinking_of(&r.json_lines()), "Let me see <this>.");
}

#[tokio::test]
async fn thinking_pace_is_its_own_when_set() {
    let delay = Duration::from_millis(40);
    let ollama = start_with(Options {
        thinking: Thinking::Words(4),
        reply: Reply::Words(2),
        thinking_chunk_delay: Some(delay),
        ..Options::default()
    })
    .await;
    let chunks = post(&ollama, &chat_body_with("qwen3:0.6b", "hi", json!({})))
        .await
        .json_lines();
    assert_eq!(thinking_of(&chunks).split(' ').count(), 4);
    // Three gaps between the four thinking lines.
    let eval = chunks.last().unwrap()["eval_duration"].as_u64().unwrap();
    assert!(eval >= 3 * delay.as_nanos() as u64, "eval_duration {eval}");

    // A pushed SlowThinking slows one request's thinking the same way.
    let ollama = start().await;
    ollama.push(Behaviour::SlowThinking { chunk_delay: delay });
    let chunks = post(&ollama, &chat_body_with("qwen3:0.6b", "hi", json!({})))
        .await
        .json_lines();
    let eval = chunks.last().unwrap()["eval_duration"].as_u64().unwrap();
    assert!(eval >= 6 * delay.as_nanos() as u64, "eval_duration {eval}");
    assert_eq!(content_of(&chunks), "You said: hi");
    assert_eq!(
        Behaviour::from_directive("slow_thinking"),
        Some(Behaviour::SlowThinking {
            chunk_delay: Behaviour::SLOW_THINKING_DELAY
        })
    );
}

#[tokio::test]
async fn hang_thinking_stalls_while_the_model_is_thinking() {
    let ollama = start().await;
    let mut client = RawClient::connect(ollama.addr()).await;
    client
        .post(
            "/api/chat",
            &chat_body_with("qwen3:0.6b", "hi [fault:hang_thinking]", json!({})),
        )
        .await;
    let r = client.response(Duration::from_millis(300), false).await;
    assert_eq!((r.status, r.end), (200, End::TimedOut));
    let chunks = r.json_lines();
    assert_eq!(chunks.len(), 2);
    assert_eq!(thinking_of(&chunks), "Okay,");
    assert_eq!(content_of(&chunks), "");
    let outcome = ollama.chat_requests()[0].outcome.clone().unwrap();
    assert_eq!((outcome.chunks_sent, outcome.thinking_chunks), (2, 2));
    assert_eq!(outcome.done_reason, None);
}

#[tokio::test]
async fn faults_count_thinking_lines_as_chunks() {
    let ollama = start().await;
    ollama.push(Behaviour::ErrorMidStream {
        after_chunks: 9,
        message: "boom".into(),
    });
    let r = post(&ollama, &chat_body_with("qwen3:0.6b", "hi", json!({}))).await;
    let lines = r.lines();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[9], r#"{"error":"boom"}"#);
    let chunks: Vec<Value> = lines[..9]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(thinking_of(&chunks), "Okay, the user said: hi");
    assert_eq!(content_of(&chunks), "You said");
}

#[tokio::test]
async fn the_request_is_recorded_with_think_options_and_history_thinking() {
    let ollama = start().await;
    let body = json!({
        "model": "qwen3:0.6b",
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "thinking": "Okay, the user said: first", "content": "You said: first"},
            {"role": "user", "content": "second"},
        ],
        "think": "high",
        "options": {"num_ctx": 8192, "stop": ["\n\n"], "seed": 42},
    });
    let r = post(&ollama, &body.to_string()).await;
    assert_eq!(thinking_of(&r.json_lines()), "Okay, the user said: second");

    let sent = &ollama.chat_requests()[0];
    assert_eq!(sent.think(), Some(json!("high")));
    assert_eq!(
        sent.options(),
        json!({"num_ctx": 8192, "stop": ["\n\n"], "seed": 42})
    );
    let messages = sent.messages();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["thinking"], "Okay, the user said: first");
    assert_eq!(messages[1]["role"], "assistant");

    // No think field: None, not Some(null).
    post(
        &ollama,
        &chat_body_with("qwen3:0.6b", "x", json!({"think": null})),
    )
    .await;
    assert_eq!(ollama.chat_requests()[1].think(), None);
    assert_eq!(ollama.chat_requests()[1].options(), Value::Null);

    // A thinking field of the wrong type is a decoding error, as in Go.
    let bad = json!({
        "model": "qwen3:0.6b",
        "messages": [{"role": "assistant", "thinking": 3, "content": ""}],
    });
    let r = post(&ollama, &bad.to_string()).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"error":"json: cannot unmarshal number into Go struct field ChatRequest.messages.thinking of type string"}"#
    );
}
