//! An invalid configuration, as the user meets it: exit code 2, one `error:` line on stderr,
//! nothing on stdout, and no request to Ollama.
//!
//! Each rule (what a valid URL, temperature or export target is) has its unit tests next to
//! the code that parses it; this table only proves, through the binary, that every *kind* of
//! source — a clap flag, an environment variable we parse ourselves, an OpenTelemetry
//! variable, a target that fails only when opened — ends in the same protocol.

use fake_ollama::FakeOllama;

use crate::support::*;

/// One way to start the binary with a bad setting.
struct Case {
    what: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    env_remove: Vec<&'static str>,
}

fn case(what: &'static str, args: &[&str]) -> Case {
    Case {
        what,
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        env_remove: Vec::new(),
    }
}

impl Case {
    fn env(mut self, key: &'static str, value: &'static str) -> Case {
        self.env.push((key, value));
        self
    }

    fn without(mut self, key: &'static str) -> Case {
        self.env_remove.push(key);
        self
    }
}

/// Exit 2, exactly one line on stderr and it starts with `error:`, empty stdout, no request.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_configuration_exits_2_with_one_error_line() {
    let fake = FakeOllama::start().await;
    let scratch = tempfile::tempdir().unwrap();
    // A path under a regular file cannot be created, even by root.
    let blocker = scratch.path().join("a-file");
    std::fs::write(&blocker, "x").unwrap();
    let unwritable = format!("file:{}/t.jsonl", blocker.display());

    let cases = [
        case("unknown flag (clap, no usage dump)", &["--frobnicate"]),
        case("typed flag value", &["--temperature", "hot"]),
        case("typed flag value", &["--timeout", "soon"]),
        case("URL flag", &["--ollama-url", "not a url"]),
        case("OTLP endpoint flag", &["--otlp-endpoint", "not a url"]),
        case("OLLAMA_ENDPOINT", &[]).env("OLLAMA_ENDPOINT", "::::"),
        case("OLLAMA_HOST shorthand", &[])
            .without("OLLAMA_ENDPOINT")
            .env("OLLAMA_HOST", "127.0.0.1:notaport"),
        case("OTel variable", &[]).env("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
        case("export target", &["--export", "jaeger"]),
        case(
            "export file that cannot be opened",
            &["--export", &unwritable],
        ),
        // The demo's banner comes only once the configuration has been accepted.
        case(
            "export file that cannot be opened, with --demo",
            &["--demo", "--export", &unwritable],
        ),
        case("OTel variable, with --demo", &["--demo"])
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
    ];
    for c in cases {
        let mut chat = Chatbot::new().ollama(fake.url()).args(c.args.clone());
        for key in &c.env_remove {
            chat = chat.env_remove(key);
        }
        for (key, value) in &c.env {
            chat = chat.env(*key, *value);
        }
        let out = chat.stdin("hi\n").run().await;
        let label = format!("{} {:?} {:?}", c.what, c.args, c.env);
        assert_eq!(out.code, Some(2), "{label}\n{out:?}");
        assert_eq!(out.stdout, "", "{label}\n{out:?}");
        let lines = out.stderr_lines();
        assert_eq!(
            lines.len(),
            1,
            "{label}: stderr must be exactly one line\n{out:?}"
        );
        assert!(lines[0].starts_with("error: "), "{label}\n{out:?}");
    }
    assert!(fake.requests().is_empty(), "no request reached Ollama");
}

/// A refused value is told the rule it broke: a timeout too large for the range (not "a
/// positive number", which it is), an empty `--think` level (not taken as `true`).
#[tokio::test(flavor = "multi_thread")]
async fn refusals_state_the_real_rule() {
    let fake = FakeOllama::start().await;
    let cases: [(&[&str], &str); 3] = [
        (
            &["--tool-timeout", "2e9"],
            "error: invalid value '2e9' for '--tool-timeout <SECS>': expected a number of seconds from 0.001 to 1000000000",
        ),
        (
            &["--think", ""],
            "error: invalid value '' for '--think [<LEVEL>]': expected true, false, low, medium, high or max",
        ),
        (
            &["--think="],
            "error: invalid value '' for '--think [<LEVEL>]': expected true, false, low, medium, high or max",
        ),
    ];
    for (args, expected) in cases {
        let out = Chatbot::new()
            .ollama(fake.url())
            .args(args.iter().copied())
            .stdin("hi\n")
            .run()
            .await;
        assert_eq!(out.code, Some(2), "{args:?}\n{out:?}");
        assert_eq!(out.stdout, "", "{args:?}\n{out:?}");
        assert_eq!(out.stderr_lines(), vec![expected], "{args:?}\n{out:?}");
    }
    assert!(fake.requests().is_empty(), "no request reached Ollama");
    // The top of the range is taken.
    let out = Chatbot::new()
        .ollama(fake.url())
        .args(["--tool-timeout", "1e9"])
        .stdin("hi\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_eq!(out.stdout, "You said: hi\n");
}
