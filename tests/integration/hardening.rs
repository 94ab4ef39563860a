//! What broke under adversarial use (issue 12), each through the binary: a closed stdout,
//! credentials in the Ollama URL, escape sequences in a reply.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::chatbot::BIN;
use crate::support::*;
use fake_ollama::{FakeOllama, Options, Reply};

/// `chatbot-otel < prompts | head -c 10`: the reader goes away, the turn in flight is
/// cancelled, the next prompt is never sent, and the exit code is 141 as for other tools.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_cancels_the_turn_and_exits_141() {
    let fake = FakeOllama::start_with(Options {
        reply: Reply::Words(5000),
        chunk_delay: Duration::from_millis(2),
        ..Default::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .env("LOG_FILE", home.path().join("chatbot.log"))
        .env("OLLAMA_ENDPOINT", fake.url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", closed_port_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"tell me a long story\nand another\n")
            .unwrap();
    }
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still generating for nobody"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(141));
    assert_eq!(
        fake.chat_requests().len(),
        1,
        "the second prompt is not sent"
    );
    let sent = fake.chat_requests()[0].outcome.clone().unwrap();
    assert!(
        sent.chunks_sent < 5000,
        "the stream was abandoned, not read to the end"
    );
}

/// A password in `OLLAMA_HOST` is used for the request but shown and recorded nowhere:
/// `url.full` carries `REDACTED:REDACTED@`.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_the_ollama_url_are_redacted() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let with_password = fake.url().replace("http://", "http://alice:s3cret-pw@");
    let out = Chatbot::new()
        .ollama(with_password)
        .otlp(rx.endpoint())
        .stdin("hello\n/help\n")
        .run()
        .await;
    out.assert_exit(0);
    let request = &fake.chat_requests()[0];
    assert!(
        request.header("authorization").is_some(),
        "the request used them"
    );
    assert!(!out.stderr.contains("s3cret-pw"), "{out:?}");
    assert!(
        !out.log_text.contains("s3cret-pw"),
        "log file: {}",
        out.log_text
    );
    let spans = rx.spans();
    assert!(!spans.is_empty());
    for s in &spans {
        let all = format!("{:?} {:?} {}", s.attributes, s.events, s.status_message);
        assert!(!all.contains("s3cret-pw"), "{} leaks it: {all}", s.name);
    }
    let req = spans.iter().find(|s| s.name == "ollama_request").unwrap();
    assert!(
        req.str_attr("url.full")
            .starts_with("http://REDACTED:REDACTED@127.0.0.1:"),
        "{}",
        req.str_attr("url.full")
    );
    assert!(!format!("{:?}", rx.logs()).contains("s3cret-pw"));
}

/// A password in the OTLP endpoint is shown nowhere: not in `doctor`'s configuration list,
/// not in its failed-export line (whose error text quotes the URL), not in the chat's
/// stderr or log file.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_the_otlp_endpoint_are_redacted() {
    let fake = FakeOllama::start().await;
    // Nothing listens there: the export fails, and its error names the endpoint.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://carol:otlp-pw-42@{}", closed.local_addr().unwrap());
    drop(closed);
    let doctor = Chatbot::new()
        .ollama(fake.url())
        .otlp(endpoint.clone())
        .args(["doctor"])
        .run()
        .await;
    assert_eq!(doctor.code, Some(1), "{doctor:?}");
    assert!(
        doctor
            .stdout
            .contains("FAIL  OTLP endpoint http://REDACTED:REDACTED@127.0.0.1:"),
        "{}",
        doctor.stdout
    );
    assert!(!doctor.stdout.contains("otlp-pw-42"), "{}", doctor.stdout);
    let chat = Chatbot::new()
        .ollama(fake.url())
        .otlp(endpoint)
        .stdin("hello\n/help\n")
        .run()
        .await;
    chat.assert_exit(0);
    assert!(!chat.stderr.contains("otlp-pw-42"), "{chat:?}");
    assert!(!chat.stdout.contains("otlp-pw-42"), "{chat:?}");
    assert!(!chat.log_text.contains("otlp-pw-42"), "{}", chat.log_text);
}

/// `chatbot-otel < prompts 2>&-`-like: stderr is a pipe nobody reads (closed before the
/// first write). Warnings and status lines are dropped, not fatal: every prompt is
/// answered, the exit code is 0, and the spans still reach the collector.
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stderr_is_ignored() {
    let fake = FakeOllama::start().await;
    let rx = OtlpReceiver::start().await;
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .env("LOG_FILE", home.path().join("chatbot.log"))
        .env("OLLAMA_ENDPOINT", fake.url())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint())
        // A start-up warning: the first thing written to stderr.
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"hello\nhow are you\n").unwrap();
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stdout: {stdout}");
    assert_eq!(stdout.lines().count(), 2, "both prompts answered: {stdout}");
    assert_eq!(fake.chat_requests().len(), 2);
    let chats = rx
        .spans()
        .into_iter()
        .filter(|s| s.name == "chat_interaction")
        .count();
    assert_eq!(chats, 2, "both turns' spans flushed");
}

/// Settings the SDK would take silently and lose telemetry (or a core) with: each gets
/// exactly one `error:` (exit 2) or `warning:` line naming the variable, and a header
/// value never appears.
#[tokio::test(flavor = "multi_thread")]
async fn harmful_otel_settings_get_one_line_naming_the_variable() {
    // (variable, value, exit code, words of the one line)
    let table: &[(&str, &str, i32, &[&str])] = &[
        (
            "OTEL_METRIC_EXPORT_INTERVAL",
            "0",
            2,
            &["error:", "OTEL_METRIC_EXPORT_INTERVAL=0"],
        ),
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            "0",
            2,
            &["error:", "OTEL_BSP_SCHEDULE_DELAY=0"],
        ),
        (
            "OTEL_BLRP_SCHEDULE_DELAY",
            "0",
            2,
            &["error:", "OTEL_BLRP_SCHEDULE_DELAY=0"],
        ),
        (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "0",
            2,
            &["error:", "OTEL_BSP_MAX_QUEUE_SIZE=0"],
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization Bearer-t0ken",
            0,
            &["warning:", "OTEL_EXPORTER_OTLP_HEADERS", "not sent"],
        ),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "x-api-key=",
            0,
            &["warning:", "x-api-key has an empty value"],
        ),
        (
            "OTEL_TRACES_SAMPLER",
            "sometimes",
            0,
            &[
                "warning:",
                "OTEL_TRACES_SAMPLER=\"sometimes\"",
                "parentbased_always_on",
            ],
        ),
        (
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "0",
            0,
            &["warning:", "OTEL_EXPORTER_OTLP_TIMEOUT=\"0\"", "3000 ms"],
        ),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "team=a,=x",
            0,
            &["warning:", "OTEL_RESOURCE_ATTRIBUTES", "empty key"],
        ),
    ];
    for (var, value, code, words) in table {
        let out = Chatbot::new()
            .arg("--export")
            .arg("none")
            .env(*var, *value)
            .run()
            .await;
        out.assert_exit(*code);
        let lines = out.stderr_lines();
        assert_eq!(lines.len(), 1, "{var}={value}: {out:?}");
        for word in *words {
            assert!(
                lines[0].contains(word),
                "{var}={value}: {:?} lacks {word:?}",
                lines[0]
            );
        }
        assert!(
            !out.stderr.contains("t0ken"),
            "a header value is shown: {out:?}"
        );
    }
    // An endpoint only matters when OTLP is the export target (the default).
    let out = Chatbot::new().otlp("ftp://collector:4318").run().await;
    out.assert_exit(2);
    assert!(
        out.error_lines()[0].contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{out:?}"
    );
    // A ratio outside 0..1 needs its sampler.
    let out = Chatbot::new()
        .arg("--export")
        .arg("none")
        .env("OTEL_TRACES_SAMPLER", "traceidratio")
        .env("OTEL_TRACES_SAMPLER_ARG", "-1")
        .run()
        .await;
    out.assert_exit(2);
    assert!(
        out.error_lines()[0].contains("OTEL_TRACES_SAMPLER_ARG \"-1\""),
        "{out:?}"
    );
}

/// The permission bits of a path, in octal as `ls -l` users read them (`"600"`).
#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode();
    format!("{:o}", mode & 0o777)
}

/// The log file and the export file hold prompts and replies: both are created `0600`,
/// in directories created `0700`, whatever the umask would have given.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_log_and_export_files_are_private() {
    let fake = FakeOllama::start().await;
    let base = tempfile::tempdir().unwrap();
    let log = base.path().join("logs/deeper/chatbot.log");
    let export = base.path().join("export/telemetry.jsonl");
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("LOG_FILE", log.to_string_lossy())
        .arg(format!("--export=file:{}", export.display()))
        .stdin("a private prompt\n")
        .run()
        .await;
    out.assert_exit(0);
    assert!(std::fs::read_to_string(&export)
        .unwrap()
        .contains("a private prompt"));
    assert_eq!(mode_of(&log), "600", "log file");
    assert_eq!(mode_of(&export), "600", "export file");
    for dir in ["logs", "logs/deeper", "export"] {
        assert_eq!(mode_of(&base.path().join(dir)), "700", "{dir}/");
    }
}

/// The line editor's history (every message typed) is `0600` in a state directory
/// created `0700`.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_history_file_is_private() {
    use crate::support::pty::{chatbot_command, Pty};
    let fake = FakeOllama::start().await;
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let mut command = chatbot_command(BIN, home.path(), &fake.url());
    command.env("XDG_STATE_HOME", &state);
    let mut pty = Pty::spawn(command, 100, 30);
    let wait = Duration::from_secs(15);
    let at = pty.expect(">>> ", wait);
    pty.send("a private prompt\r");
    pty.expect_after(at, "You said: a private prompt", wait);
    pty.send("/bye\r");
    assert_eq!(pty.wait(wait).code(), Some(0), "{}", pty.text());
    let history = state.join("chatbot-otel/history");
    assert!(std::fs::read_to_string(&history)
        .unwrap()
        .contains("a private prompt"));
    assert_eq!(mode_of(&history), "600", "history file");
    assert_eq!(mode_of(&state), "700", "state/");
    assert_eq!(
        mode_of(&state.join("chatbot-otel")),
        "700",
        "state/chatbot-otel/"
    );
}

/// SIGTERM or SIGQUIT while the line editor holds the terminal in raw mode: the exit code
/// is 128 + N, and the terminal is handed back as it was — echo and line editing on,
/// bracketed paste off — with the `exiting` log line written and flushed.
#[cfg(unix)]
#[test]
fn a_signal_at_the_prompt_restores_the_terminal() {
    use crate::support::pty::{chatbot_command, Pty};
    use rustix::termios::LocalModes;
    use std::os::fd::BorrowedFd;
    for (signal, code) in [("TERM", 143), ("QUIT", 131), ("HUP", 129)] {
        let home = tempfile::tempdir().unwrap();
        let command = chatbot_command(BIN, home.path(), &closed_port_url());
        let mut pty = Pty::spawn(command, 100, 30);
        let wait = Duration::from_secs(15);
        pty.expect(">>> ", wait);
        // SAFETY: the fd is the harness's open master for the whole block.
        let master = unsafe { BorrowedFd::borrow_raw(pty.master_fd()) };
        let raw = rustix::termios::tcgetattr(master).unwrap();
        assert!(
            !raw.local_modes.contains(LocalModes::ECHO),
            "the prompt is in raw mode (the premise)"
        );
        let status = Command::new("kill")
            .args([format!("-{signal}"), pty.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(pty.wait(wait).code(), Some(code), "SIG{signal}");
        let modes = rustix::termios::tcgetattr(master).unwrap().local_modes;
        assert!(
            modes.contains(LocalModes::ECHO | LocalModes::ICANON),
            "SIG{signal}: the terminal is left raw ({modes:?})"
        );
        let screen = pty.raw();
        if let Some(on) = screen.rfind("\x1b[?2004h") {
            assert!(
                screen[on..].contains("\x1b[?2004l"),
                "SIG{signal}: bracketed paste left on"
            );
        }
        let log = std::fs::read_to_string(home.path().join("chatbot.log")).unwrap();
        assert!(
            log.contains("chatbot-otel exiting"),
            "SIG{signal}: no exiting line in {log}"
        );
    }
}

/// A scheme that does not match the server names TLS and the fix, not "start `ollama
/// serve`": `https://` to a plain-HTTP Ollama, and `http://` to a port that answers with
/// a TLS alert record.
#[tokio::test(flavor = "multi_thread")]
async fn a_tls_mismatch_is_named() {
    let fake = FakeOllama::start().await;
    let out = Chatbot::new()
        .ollama(fake.url().replace("http://", "https://"))
        .stdin("hello\n")
        .run()
        .await;
    let line = out
        .error_lines()
        .first()
        .copied()
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("TLS") && line.contains("use http://"),
        "{out:?}"
    );
    assert!(!line.contains("ollama serve"), "{out:?}");

    let tls_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", tls_port.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::Write;
        for stream in tls_port.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            // A TLS alert record (fatal, protocol_version): what a TLS server answers.
            let _ = stream.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
        }
    });
    let out = Chatbot::new().ollama(url).stdin("hello\n").run().await;
    let line = out
        .error_lines()
        .first()
        .copied()
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("expects TLS") && line.contains("https://"),
        "{out:?}"
    );
}

/// `--timeout 1e-10` is refused at start-up (no request can finish in under 1 ms)
/// instead of failing every turn with "within 0 s".
#[tokio::test(flavor = "multi_thread")]
async fn a_sub_millisecond_timeout_is_refused() {
    let out = Chatbot::new().args(["--timeout", "1e-10"]).run().await;
    out.assert_exit(2);
    assert_eq!(out.error_lines().len(), 1, "{out:?}");
    assert!(out.error_lines()[0].contains("--timeout"), "{out:?}");
    assert!(out.error_lines()[0].contains("1 ms"), "{out:?}");
}

/// Runs the binary piped on `input` against `ollama`, with `stdout` as its stdout and
/// extra variables; returns the exit code and stderr.
fn run_with_stdout(
    ollama: &str,
    input: &str,
    stdout: Stdio,
    envs: &[(&str, &str)],
) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .env_clear()
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .env("LOG_FILE", home.path().join("chatbot.log"))
        .env("OLLAMA_ENDPOINT", ollama)
        .args(["--export", "none"])
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `chatbot-otel > /dev/full` and `LOG_FILE=/dev/full`: the replies (or log lines) are
/// lost, so the first write error is said once on stderr and the exit code is 1, not 0.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn write_errors_are_reported_once_and_fail_the_run() {
    let fake = FakeOllama::start().await;
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    let (code, stderr) = run_with_stdout(&fake.url(), "hello\nagain\n", Stdio::from(full()), &[]);
    assert_eq!(code, Some(1), "{stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(said.len(), 1, "once: {stderr}");
    assert!(said[0].contains("standard output"), "{stderr}");
    assert_eq!(fake.chat_requests().len(), 2, "the session went on");

    let (code, stderr) = run_with_stdout(
        &fake.url(),
        "hello\n",
        Stdio::null(),
        &[("LOG_FILE", "/dev/full")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(said.len(), 1, "once: {stderr}");
    assert!(said[0].contains("log file"), "{stderr}");
}

/// A conversation that outgrows `num_ctx` (Ollama would silently drop its oldest
/// messages) gets one warning with the way out, `/clear`; after `/clear` it can come
/// again; with no `num_ctx` set there is nothing to compare with.
#[tokio::test(flavor = "multi_thread")]
async fn outgrowing_num_ctx_is_warned_about_once() {
    let fake = FakeOllama::start().await;
    let prompts = "tell me about the sea\nand the mountains too\nand the rivers\nand the sky\n";
    let out = Chatbot::new()
        .ollama(fake.url())
        .args(["--option", "num_ctx=40"])
        .stdin(format!("{prompts}/clear\n{prompts}"))
        .run()
        .await;
    out.assert_exit(0);
    let warnings: Vec<&str> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "once per conversation: {out:?}");
    assert!(
        warnings[0].contains("num_ctx 40") && warnings[0].contains("/clear"),
        "{out:?}"
    );

    let out = Chatbot::new().ollama(fake.url()).stdin(prompts).run().await;
    out.assert_exit(0);
    assert!(!out.stderr.contains("warning:"), "{out:?}");
}

/// On a terminal too, the banner and the start-up check show the Ollama URL with its
/// credentials masked (here nothing listens, so the check's warning names the URL).
#[cfg(unix)]
#[test]
fn credentials_are_masked_on_the_interactive_screen() {
    use crate::support::pty::{chatbot_command, Pty};
    let home = tempfile::tempdir().unwrap();
    let url = closed_port_url().replace("http://", "http://alice:s3cret-pw@");
    let mut pty = Pty::spawn(chatbot_command(BIN, home.path(), &url), 100, 30);
    let wait = Duration::from_secs(15);
    pty.expect("REDACTED:REDACTED@", wait);
    let at = pty.expect(">>> ", wait);
    pty.send("/bye\r");
    pty.expect_after(at, "/bye", wait);
    assert_eq!(pty.wait(wait).code(), Some(0), "{}", pty.text());
    assert!(!pty.raw().contains("s3cret-pw"), "{}", pty.text());
}

/// No byte that would drive the terminal: ESC starts every escape sequence, BEL ends the
/// OSC ones (title, clipboard).
fn assert_no_controls(out: &Output) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains(['\x1b', '\x07']),
            "a raw ESC or BEL on {name}: {:?}\n{out:?}",
            text
        );
    }
}

/// `/models` quotes the server's model names: an escape sequence in one is shown, not run.
#[tokio::test(flavor = "multi_thread")]
async fn model_names_from_the_server_are_printed_printable() {
    let fake = FakeOllama::start_with(Options {
        models: vec!["llama3.1:8b".into(), "evil\x1b]0;pwned\x07:latest".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let out = Chatbot::new()
        .ollama(fake.url())
        .stdin("/models\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_no_controls(&out);
    assert!(out.stderr.contains("evil^[]0;pwned^G:latest"), "{out:?}");
}

/// A saved session is a file anyone may have edited: its model, conversation id, date and
/// system prompt reach the screen printable, on `--resume`'s line and in every command
/// that shows them.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_file_with_escapes_is_shown_printable() {
    let fake = FakeOllama::start().await;
    let state = tempfile::tempdir().unwrap();
    let state_home = state.path().to_string_lossy().into_owned();
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", &state_home)
        .stdin("hello\n/save evil\n")
        .run()
        .await;
    out.assert_exit(0);
    // Written by the binary itself, then edited: whatever the format holds besides.
    let file = state.path().join("chatbot-otel/sessions/evil.json");
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    saved["model"] = "m\x1b[2J\x07".into();
    saved["system_prompt"] = "be \x1b]52;c;SGk=\x07 nice".into();
    saved["conversation_id"] = "c\x1b[31m".into();
    saved["saved_at"] = "2026\x1b[5m".into();
    std::fs::write(&file, serde_json::to_string(&saved).unwrap()).unwrap();

    let out = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", &state_home)
        .args(["--resume", "evil"])
        .stdin("/system\n/model\n/show info\n/sessions\n/load evil\n/history\n/stats\n")
        .run()
        .await;
    out.assert_exit(0);
    assert_no_controls(&out);
    assert!(
        out.stderr
            .contains("Resumed 'evil': 1 turn(s) with m^[[2J^G"),
        "{out:?}"
    );
    assert!(out.stderr.contains("be ^[]52;c;SGk=^G nice"), "{out:?}");
    assert!(out.stderr.contains("2026^[[5m"), "{out:?}");
    assert!(out.stderr.contains("c^[[31m"), "{out:?}");
}

/// On a terminal, the banner names the resumed model, and the spinner waits for it: both
/// printable (the screen's own escape sequences are the line editor's, never the file's).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_resumed_model_name_is_printable_on_the_interactive_screen() {
    use crate::support::pty::{chatbot_command, Pty};
    // The model exists, and takes a while: the spinner is drawn with its name.
    let fake = FakeOllama::start_with(Options {
        models: vec!["llama3.1:8b".into(), "m\x1b]0;pwned\x07".into()],
        first_token_delay: Duration::from_millis(500),
        ..Default::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("chatbot-otel/sessions");
    // As the piped test above: saved by the binary, then edited.
    let out = Chatbot::new()
        .ollama(fake.url())
        .env("XDG_STATE_HOME", home.path().to_string_lossy())
        .stdin("hello\n/save evil\n")
        .run()
        .await;
    out.assert_exit(0);
    let file = dir.join("evil.json");
    let mut saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    saved["model"] = "m\x1b]0;pwned\x07".into();
    std::fs::write(&file, serde_json::to_string(&saved).unwrap()).unwrap();

    let url = fake.url();
    let home_path = home.path().to_path_buf();
    let (raw, status) = tokio::task::spawn_blocking(move || {
        let mut command = chatbot_command(BIN, &home_path, &url);
        command.args(["--resume", "evil"]).env("NO_COLOR", "1");
        let mut pty = Pty::spawn(command, 100, 30);
        let wait = Duration::from_secs(15);
        let at = pty.expect(">>> ", wait);
        pty.send("again\r");
        let at = pty.expect_after(at, "waiting for m^[]0;pwned^G", wait);
        pty.expect_after(at, ">>> ", wait);
        pty.send("/bye\r");
        let status = pty.wait(wait);
        (pty.raw(), status)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(0), "{raw:?}");
    assert!(raw.contains("model m^[]0;pwned^G"), "{raw:?}");
    assert!(!raw.contains("\x1b]0;pwned"), "{raw:?}");
    assert!(!raw.contains('\x07'), "{raw:?}");
}
