//! The interactive mode on a real pseudo-terminal.

use std::time::Duration;

use crate::support::pty::{chatbot_command, Pty};

const BIN: &str = env!("CARGO_BIN_EXE_chatbot-otel");
const WAIT: Duration = Duration::from_secs(15);

/// The prompt appears on a terminal and `/bye` exits 0.
#[test]
fn prompt_and_bye() {
    let home = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(
        chatbot_command(BIN, home.path(), &crate::support::closed_port_url()),
        100,
        30,
    );
    pty.expect(">>> ", WAIT);
    pty.send("/bye\r");
    let status = pty.wait(WAIT);
    assert_eq!(status.code(), Some(0), "screen:\n{}", pty.text());
}

mod thinking {
    //! Thinking on a terminal: the markers, the dimmed reasoning, the hidden mode's
    //! spinner, and Ctrl-C while the model is still thinking.

    use super::*;
    use fake_ollama::{FakeOllama, Options, Thinking};

    const QWEN: &str = "qwen3:0.6b";

    async fn fake(thinking_delay: Duration) -> FakeOllama {
        FakeOllama::start_with(Options {
            models: vec![QWEN.into()],
            thinking: Thinking::Words(6),
            thinking_chunk_delay: Some(thinking_delay),
            ..Default::default()
        })
        .await
        .unwrap()
    }

    fn start(fake: &FakeOllama, home: &std::path::Path, extra: &[&str]) -> Pty {
        let mut command = chatbot_command(BIN, home, &fake.url());
        command.args(["--model", QWEN]).args(extra);
        Pty::spawn(command, 100, 30)
    }

    /// `Thinking...`, the reasoning dimmed, `...done thinking.` and a blank line, then
    /// the reply — as `ollama run` draws it.
    #[tokio::test(flavor = "multi_thread")]
    async fn reasoning_between_markers_then_the_reply() {
        let fake = fake(Duration::ZERO).await;
        let home = tempfile::tempdir().unwrap();
        let mut pty = start(&fake, home.path(), &[]);
        let at = pty.expect(">>> ", WAIT);
        pty.send("why\r");
        let end = pty.expect_after(at, "You said: why", WAIT);
        let sent = fake.chat_requests()[0].outcome.clone().unwrap();
        let screen = pty.text();
        let turn = &screen[at..end];
        let opens = turn.find("Thinking...\n").expect("opening marker");
        let thought = turn.find(sent.thinking.trim()).expect("the reasoning");
        let closes = turn.find("...done thinking.\n\n").expect("closing marker");
        let reply = turn.find("You said: why").unwrap();
        assert!(
            opens < thought && thought < closes && closes < reply,
            "{turn}"
        );
        // The reasoning is dimmed (SGR 2) on the raw screen.
        let raw = pty.raw();
        let first_word = sent.thinking.split_whitespace().next().unwrap();
        assert!(raw.contains(&format!("\x1b[2m{first_word}")), "{raw:?}");
        pty.send("/bye\r");
        assert_eq!(pty.wait(WAIT).code(), Some(0));
    }

    /// Hidden: no reasoning on screen, but the spinner says the model is thinking.
    #[tokio::test(flavor = "multi_thread")]
    async fn hidden_thinking_shows_a_thinking_spinner() {
        let fake = fake(Duration::from_millis(300)).await;
        let home = tempfile::tempdir().unwrap();
        let mut pty = start(&fake, home.path(), &["--hidethinking"]);
        let at = pty.expect(">>> ", WAIT);
        pty.send("why\r");
        pty.expect_after(at, "thinking…", WAIT);
        let end = pty.expect_after(at, "You said: why", WAIT);
        let sent = fake.chat_requests()[0].outcome.clone().unwrap();
        let turn = pty.text()[at..end].to_string();
        assert!(!turn.contains("Thinking..."), "{turn}");
        for word in sent.thinking.split_whitespace() {
            assert!(!turn.contains(word), "{word} shown: {turn}");
        }
        pty.send("/bye\r");
        assert_eq!(pty.wait(WAIT).code(), Some(0));
    }

    /// Ctrl-C while the model thinks cancels the turn exactly as during a reply: the
    /// block is closed, the conversation is as before, and the next turn sends none of it.
    #[tokio::test(flavor = "multi_thread")]
    async fn ctrl_c_during_thinking_cancels_the_turn() {
        let fake = fake(Duration::ZERO).await;
        let home = tempfile::tempdir().unwrap();
        let mut pty = start(&fake, home.path(), &[]);
        let at = pty.expect(">>> ", WAIT);
        pty.send("ponder [fault:hang_thinking]\r");
        let at = pty.expect_after(at, "Thinking...", WAIT);
        std::thread::sleep(Duration::from_millis(200));
        pty.send("\x03");
        let at = pty.expect_after(at, "(cancelled", WAIT);
        let at = pty.expect_after(at, ">>> ", WAIT);
        pty.send("again\r");
        pty.expect_after(at, "You said: again", WAIT);
        let requests = fake.chat_requests();
        assert_eq!(requests.len(), 2);
        let messages = requests[1].messages();
        assert_eq!(
            messages.len(),
            1,
            "the cancelled turn left nothing: {messages:?}"
        );
        assert!(pty.text().contains("...done thinking."), "{}", pty.text());
        pty.send("/bye\r");
        assert_eq!(pty.wait(WAIT).code(), Some(0));
    }
}

/// A reply full of escape sequences (window title, clipboard write, clear screen, a cursor
/// query, a bare CR) is shown, not obeyed, on a terminal — and in `/history`.
#[tokio::test(flavor = "multi_thread")]
async fn escape_sequences_in_a_reply_are_shown_not_obeyed() {
    let evil = "A\x1b]0;pwned\x07B\x1b]52;c;SGVsbG8=\x07C\x1b[2JD\x1b[6nE\rF\u{9b}31mG";
    let fake = fake_ollama::FakeOllama::start_with(fake_ollama::Options {
        reply: fake_ollama::Reply::Text(evil.into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(chatbot_command(BIN, home.path(), &fake.url()), 120, 30);
    let at = pty.expect(">>> ", WAIT);
    pty.send("hi\r");
    let at = pty.expect_after(
        at,
        "^[]0;pwned^GB^[]52;c;SGVsbG8=^GC^[[2JD^[[6nE^MFM-^[31mG",
        WAIT,
    );
    pty.send("/history\r");
    pty.expect_after(at, "assistant: A^[]0;pwned^G", WAIT);
    let raw = pty.raw();
    for sequence in ["\x1b]0;", "\x1b]52;", "\x1b[2J", "\x1b[6n", "\u{9b}"] {
        assert!(!raw.contains(sequence), "{sequence:?} reached the terminal");
    }
    pty.send("/bye\r");
    assert_eq!(pty.wait(WAIT).code(), Some(0));
}

/// The chatbot at a terminal with the real `mcp-server-time` configured, against a fake
/// Ollama that calls the tool a prompt names. Returns the fake (for its requests), the
/// HOME directory (for the log) and the terminal.
async fn with_time_server() -> (fake_ollama::FakeOllama, tempfile::TempDir, Pty) {
    let fake = fake_ollama::FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("mcp.json");
    std::fs::write(
        &config,
        serde_json::json!({ "mcpServers": { "time": crate::mcp_real::time_server() } }).to_string(),
    )
    .unwrap();
    let mut command = chatbot_command(BIN, home.path(), &fake.url());
    command.arg("--mcp-config").arg(&config);
    let pty = Pty::spawn(command, 140, 30);
    (fake, home, pty)
}

/// At a terminal every tool call is asked about: `y` runs it, `n` tells the model no.
#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_are_asked_about_at_the_terminal() {
    let (fake, _home, mut pty) = with_time_server().await;
    let at = pty.expect(">>> ", WAIT);
    pty.send("use get_current_time timezone=UTC\r");
    let at = pty.expect_after(
        at,
        r#"run time.get_current_time {"timezone":"UTC"}? [y]es / [n]o / [a]lways this tool"#,
        WAIT,
    );
    pty.send("y\r");
    let at = pty.expect_after(at, "ran time.get_current_time in ", WAIT);
    let at = pty.expect_after(at, "get_current_time returned: ", WAIT);
    let at = pty.expect_after(at, ">>> ", WAIT);
    pty.send("use get_current_time timezone=UTC once more\r");
    let at = pty.expect_after(at, "[a]lways this tool", WAIT);
    pty.send("n\r");
    pty.expect_after(at, "declined by the user", WAIT);
    let last = fake.chat_requests().pop().unwrap().messages();
    let tool = last.iter().rev().find(|m| m["role"] == "tool").unwrap();
    assert!(tool["content"]
        .as_str()
        .unwrap()
        .contains("was not run: declined by the user"));
    pty.send("/bye\r");
    assert_eq!(pty.wait(WAIT).code(), Some(0));
}

/// Ctrl-C at the tool question cancels the whole turn at once (no Enter needed): nothing
/// ran, the turn is recorded as cancelled, and the next turn sends none of it.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_the_tool_question_cancels_the_turn() {
    let (fake, _home, mut pty) = with_time_server().await;
    let at = pty.expect(">>> ", WAIT);
    pty.send("use get_current_time timezone=UTC\r");
    let at = pty.expect_after(at, "[a]lways this tool", WAIT);
    pty.send("\x03");
    let at = pty.expect_after(at, "(cancelled", WAIT);
    let at = pty.expect_after(at, ">>> ", WAIT);
    pty.send("hello\r");
    pty.expect_after(at, "You said: hello", WAIT);
    assert!(
        !pty.text().contains("ran time.get_current_time"),
        "{}",
        pty.text()
    );
    let requests = fake.chat_requests();
    assert_eq!(requests.len(), 2, "the tool call was never answered");
    let messages = requests[1].messages();
    assert_eq!(
        messages.len(),
        1,
        "the cancelled turn left nothing: {messages:?}"
    );
    pty.send("/bye\r");
    assert_eq!(pty.wait(WAIT).code(), Some(0));
}

/// SIGTERM while the tool question waits for a key: the turn cannot notice (nothing is
/// polled while the question reads the terminal), so the signal watcher leaves after its
/// grace period — exit 143, the terminal handed back cooked, the `exiting` line written.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_at_the_tool_question_exits_and_restores_the_terminal() {
    use rustix::termios::LocalModes;
    use std::os::fd::BorrowedFd;
    let (_fake, home, mut pty) = with_time_server().await;
    let at = pty.expect(">>> ", WAIT);
    pty.send("use get_current_time timezone=UTC\r");
    pty.expect_after(at, "[a]lways this tool", WAIT);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pty.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(pty.wait(WAIT).code(), Some(143));
    // SAFETY: the fd is the harness's open master until `pty` is dropped.
    let master = unsafe { BorrowedFd::borrow_raw(pty.master_fd()) };
    let modes = rustix::termios::tcgetattr(master).unwrap().local_modes;
    assert!(
        modes.contains(LocalModes::ECHO | LocalModes::ICANON),
        "the terminal is left raw ({modes:?})"
    );
    let log = std::fs::read_to_string(home.path().join("chatbot.log")).unwrap();
    assert!(log.contains("chatbot-otel exiting"), "{log}");
}
