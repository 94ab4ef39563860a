//! Piped mode as a user sees it: stdout, stderr, exit codes, slash commands, configuration.

use crate::support::*;
use fake_ollama::{FakeOllama, Options, Reply, Split};

/// The reply text the fake sent for the `i`-th chat request.
fn reply(fake: &FakeOllama, i: usize) -> String {
    let reqs = fake.chat_requests();
    reqs[i]
        .outcome
        .as_ref()
        .unwrap_or_else(|| panic!("chat request {i} has no outcome"))
        .text
        .clone()
}

/// A good turn prints exactly the reply on stdout, one trace line with the Jaeger link on stderr, and exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn good_turn_prints_reply_and_one_trace_line() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .stdin("hello there\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests().len(), 1, "{out:?}");
    let text = reply(&fake, 0);
    assert!(!text.is_empty(), "the fake sent an empty reply");
    assert_eq!(out.stdout, format!("{text}\n"), "{out:?}");
    let lines = out.stderr_lines();
    assert_eq!(lines.len(), 1, "stderr must be one trace line\n{out:?}");
    let t = &out.trace_lines()[0];
    assert_eq!(
        t.raw,
        format!(
            "trace: {}  http://localhost:16686/trace/{}",
            t.trace_id, t.trace_id
        ),
        "{out:?}"
    );
}

/// JAEGER_UI_URL changes the base of the trace link.
#[tokio::test(flavor = "multi_thread")]
async fn jaeger_ui_url_sets_the_trace_link() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env("JAEGER_UI_URL", "http://jaeger.example:9999")
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    let t = &out.trace_lines()[0];
    assert_eq!(
        t.url,
        format!("http://jaeger.example:9999/trace/{}", t.trace_id),
        "{out:?}"
    );
}

/// The second request carries the system prompt, the first exchange, the temperature and stream=true.
#[tokio::test(flavor = "multi_thread")]
async fn second_turn_sends_the_history() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .args(["--system", "You are terse.", "--temperature", "0.3"])
        .stdin("first question\nsecond question\n")
        .run()
        .await;
    out.assert_exit(0);
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2, "{out:?}");
    let (r1, r2) = (reply(&fake, 0), reply(&fake, 1));
    assert_eq!(out.stdout, format!("{r1}\n{r2}\n"));
    let first = reqs[0].json();
    assert_eq!(
        messages(&first),
        msgs(&[("system", "You are terse."), ("user", "first question")])
    );
    let body = reqs[1].json();
    assert_eq!(
        messages(&body),
        msgs(&[
            ("system", "You are terse."),
            ("user", "first question"),
            ("assistant", &r1),
            ("user", "second question"),
        ])
    );
    assert_eq!(body["model"], "llama3.1:8b");
    assert_eq!(body["stream"], true);
    assert_eq!(body["options"]["temperature"].as_f64(), Some(0.3), "{body}");
    assert_eq!(reqs[1].method, "POST");
    assert_eq!(reqs[1].path, "/api/chat");
}

/// Without flags the request uses the default model and temperature 0.7 and has no system message.
#[tokio::test(flavor = "multi_thread")]
async fn defaults_model_and_temperature() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new().ollama(fake.url()).stdin("hi\n").run().await;
    out.assert_exit(0);
    let body = fake.chat_requests()[0].json();
    assert_eq!(body["model"], "llama3.1:8b");
    assert_eq!(body["options"]["temperature"].as_f64(), Some(0.7), "{body}");
    assert_eq!(messages(&body), msgs(&[("user", "hi")]));
}

/// OLLAMA_MODEL picks the model and `--model` beats it.
#[tokio::test(flavor = "multi_thread")]
async fn model_from_env_and_flag() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("OLLAMA_MODEL", "llama3.2:latest")
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests()[0].json()["model"], "llama3.2:latest");

    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("OLLAMA_MODEL", "nope:1b")
        .args(["--model", "llama3.2:latest"])
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests()[0].json()["model"], "llama3.2:latest");
}

/// Empty lines are skipped: they send nothing and print nothing.
#[tokio::test(flavor = "multi_thread")]
async fn empty_lines_are_skipped() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("\n\nonly one\n\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests().len(), 1, "{out:?}");
    assert_eq!(out.stdout, format!("{}\n", reply(&fake, 0)));
}

/// `/clear` forgets the conversation: the next request holds only the new prompt.
#[tokio::test(flavor = "multi_thread")]
async fn clear_forgets_history() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("remember this\n/clear\nfresh start\n")
        .run()
        .await;
    out.assert_exit(0);
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2, "{out:?}");
    assert_eq!(messages(&reqs[1].json()), msgs(&[("user", "fresh start")]));
}

/// An unknown slash command prints a hint on stderr and never reaches the model.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_command_gives_a_hint_and_sends_nothing() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .stdin("/foo\n")
        .run()
        .await;
    out.assert_exit(0);
    assert!(fake.chat_requests().is_empty(), "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.trace_lines().is_empty(), "{out:?}");
    assert!(
        out.stderr.lines().any(|l| !l.trim().is_empty()),
        "expected a hint on stderr\n{out:?}"
    );
}

/// An unknown slash command between two prompts does not disturb the history.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_command_keeps_history() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("one\n/foo bar\ntwo\n")
        .run()
        .await;
    out.assert_exit(0);
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2, "{out:?}");
    let r1 = reply(&fake, 0);
    assert_eq!(
        messages(&reqs[1].json()),
        msgs(&[("user", "one"), ("assistant", &r1), ("user", "two")])
    );
}

/// `/model NAME` switches the model used by the next request.
#[tokio::test(flavor = "multi_thread")]
async fn model_command_switches_model() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("one\n/model llama3.2:latest\ntwo\n")
        .run()
        .await;
    out.assert_exit(0);
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2, "{out:?}");
    assert_eq!(reqs[0].json()["model"], "llama3.1:8b");
    assert_eq!(reqs[1].json()["model"], "llama3.2:latest");
    assert_eq!(
        out.stdout.lines().count(),
        2,
        "slash output must not go to stdout\n{out:?}"
    );
}

/// `/set temperature X` changes options.temperature of the next request.
#[tokio::test(flavor = "multi_thread")]
async fn set_temperature_changes_options() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("one\n/set temperature 0.2\ntwo\n")
        .run()
        .await;
    out.assert_exit(0);
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 2, "{out:?}");
    assert_eq!(reqs[0].json()["options"]["temperature"].as_f64(), Some(0.7));
    assert_eq!(reqs[1].json()["options"]["temperature"].as_f64(), Some(0.2));
}

/// `/system TEXT` puts a system message first in the next request.
#[tokio::test(flavor = "multi_thread")]
async fn system_command_sets_system_prompt() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("/system Answer in French.\nbonjour\n")
        .run()
        .await;
    out.assert_exit(0);
    let reqs = fake.chat_requests();
    assert_eq!(reqs.len(), 1, "{out:?}");
    assert_eq!(
        messages(&reqs[0].json()),
        msgs(&[("system", "Answer in French."), ("user", "bonjour")])
    );
}

/// `/bye`, `/exit` and `/quit` stop reading: later lines are never sent, and the exit code is 0.
#[tokio::test(flavor = "multi_thread")]
async fn bye_exit_quit_stop_reading() {
    for cmd in ["/bye", "/exit", "/quit"] {
        let fake = FakeOllama::start().await;
        let out = Chatbot::new()
            .ollama(fake.url())
            .stdin(format!("before\n{cmd}\nafter\n"))
            .run()
            .await;
        out.assert_exit(0);
        let reqs = fake.chat_requests();
        assert_eq!(reqs.len(), 1, "{cmd}: {out:?}");
        assert_eq!(messages(&reqs[0].json()), msgs(&[("user", "before")]));
        assert_eq!(out.stdout, format!("{}\n", reply(&fake, 0)), "{cmd}");
    }
}

/// `/help` prints on stderr only and sends nothing.
#[tokio::test(flavor = "multi_thread")]
async fn help_goes_to_stderr() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("/help\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("/clear"), "{out:?}");
    assert!(fake.chat_requests().is_empty());
}

/// OLLAMA_HOST as `host:port` without a scheme reaches the server.
#[tokio::test(flavor = "multi_thread")]
async fn ollama_host_without_scheme_works() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .env_remove("OLLAMA_ENDPOINT")
        .env("OLLAMA_HOST", fake.addr().to_string())
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests().len(), 1, "{out:?}");
    assert_eq!(out.stdout, format!("{}\n", reply(&fake, 0)));
}

/// OLLAMA_ENDPOINT beats OLLAMA_HOST, and `--ollama-url` beats both.
#[tokio::test(flavor = "multi_thread")]
async fn ollama_url_precedence() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("OLLAMA_HOST", format!("127.0.0.1:{}", closed_port()))
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests().len(), 1, "{out:?}");

    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(closed_port_url())
        .env("OLLAMA_HOST", format!("127.0.0.1:{}", closed_port()))
        .args(["--ollama-url", &fake.url()])
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(fake.chat_requests().len(), 1, "{out:?}");
}

/// `--no-telemetry`: the reply still prints, but there is no trace line and the collector gets nothing.
#[tokio::test(flavor = "multi_thread")]
async fn no_telemetry_flag_sends_nothing() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .arg("--no-telemetry")
        .stdin("hi\nagain\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
    assert!(out.trace_lines().is_empty(), "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
    assert!(rx.requests().is_empty(), "{:?}", rx.requests());
    assert!(fake.chat_requests()[0].header("traceparent").is_none());
}

/// OTEL_SDK_DISABLED=true behaves like `--no-telemetry`.
#[tokio::test(flavor = "multi_thread")]
async fn otel_sdk_disabled_sends_nothing() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let out = Chatbot::new()
        .ollama(fake.url())
        .otlp(rx.endpoint())
        .env("OTEL_SDK_DISABLED", "true")
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(out.stdout.lines().count(), 1, "{out:?}");
    assert!(out.trace_lines().is_empty(), "{out:?}");
    assert!(rx.requests().is_empty(), "{:?}", rx.requests());
}

/// A reply cut into 3-byte writes (through JSON and multi-byte characters) is printed intact.
#[tokio::test(flavor = "multi_thread")]
async fn reply_split_into_bytes_is_printed_intact() {
    let text = "Héllo wörld 🙂 <ok> & \"quotes\" done";
    let fake = FakeOllama::start_with(Options {
        reply: Reply::Text(text.into()),
        split: Split::Bytes(3),
        ..Default::default()
    })
    .await
    .unwrap();
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("say it\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(reply(&fake, 0), text);
    assert_eq!(out.stdout, format!("{text}\n"), "{out:?}");
}

/// Text carried by the final done:true chunk is part of the printed reply and of the history.
#[tokio::test(flavor = "multi_thread")]
async fn final_chunk_text_is_part_of_the_reply() {
    let fake = FakeOllama::start_with(Options {
        reply: Reply::Text("Hello".into()),
        final_chunk_text: Some(" world".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("one\ntwo\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(out.stdout, "Hello world\nHello world\n", "{out:?}");
    let reqs = fake.chat_requests();
    assert_eq!(
        messages(&reqs[1].json()),
        msgs(&[
            ("user", "one"),
            ("assistant", "Hello world"),
            ("user", "two")
        ])
    );
}

/// A server that answers `/api/chat` with 200 and `line` as the body (and the start-up
/// check's `/api/tags` and `/api/show` as Ollama would): its URL.
async fn chat_answers_with(line: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::{get, post};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/api/chat", post(move || async move { line }))
        .route(
            "/api/tags",
            get(|| async { r#"{"models":[{"name":"llama3.1:8b"}]}"# }),
        )
        .route(
            "/api/show",
            post(|| async { r#"{"capabilities":["completion"]}"# }),
        );
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// A reply line that is not JSON: the error line names the server (credentials masked),
/// and calls it an HTML page only when it starts like one.
#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_line_names_the_server_and_what_it_was() {
    for (line, says, not) in [
        ("oops: a < b\n", "sent a line that is not JSON (", "HTML"),
        (
            "  <!DOCTYPE html><html><body>proxy error</body></html>\n",
            "sent an HTML page, not Ollama's JSON: is it Ollama?",
            "proxy error",
        ),
    ] {
        let (url, _server) = chat_answers_with(line).await;
        let with_password = url.replace("http://", "http://alice:s3cretpw@");
        let out = Chatbot::new()
            .ollama(&with_password)
            .stdin("hello\n")
            .run()
            .await;
        let errors = out.error_lines();
        assert_eq!(errors.len(), 1, "{out:?}");
        let shown = url.replace("http://", "http://REDACTED:REDACTED@");
        assert!(
            errors[0].contains(&format!("The server at {shown} {says}")),
            "{out:?}"
        );
        assert!(!errors[0].contains("--ollama-url sent"), "{out:?}");
        assert!(!errors[0].contains(not), "{out:?}");
        assert!(!out.stderr.contains("s3cretpw"), "{out:?}");
    }
}
