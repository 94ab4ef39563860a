//! Interactive mode on a 40-column pseudo-terminal: word wrap on and off, and
//! `--export console` refused over the terminal.
//!
//! What the child draws is replayed through a small screen model (`\r`, `\n`, cursor
//! forward, erase, the terminal's own wrap at the right edge) so the tests assert the rows
//! a user would see.

use std::time::Duration;

use fake_ollama::{FakeOllama, Options, Reply};

use crate::support::pty::{chatbot_command, Pty};

const BIN: &str = env!("CARGO_BIN_EXE_chatbot-otel");
const WAIT: Duration = Duration::from_secs(15);
const COLUMNS: usize = 40;
const REPLY: &str = "Observability means asking new questions of a running system without shipping new code: traces show where the time of one request went, metrics show trends across many.";

/// The rows a terminal of `width` columns shows for `raw`.
fn screen(raw: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars();
    let newline = |rows: &mut Vec<Vec<char>>, row: &mut usize| {
        *row += 1;
        if rows.len() <= *row {
            rows.push(Vec::new());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            // To the next tab stop, or the last column: a tab never wraps.
            '\t' => col = ((col / 8 + 1) * 8).min(width - 1),
            '\n' => newline(&mut rows, &mut row),
            '\x1b' => {
                if chars.next() != Some('[') {
                    continue;
                }
                let mut param = String::new();
                let cmd = loop {
                    match chars.next() {
                        Some(d) if d.is_ascii_digit() || d == '?' || d == ';' => param.push(d),
                        Some(d) => break d,
                        None => break '\0',
                    }
                };
                match (cmd, param.as_str()) {
                    ('C', n) => col = (col + n.parse::<usize>().unwrap_or(1)).min(width - 1),
                    ('K', "2") => rows[row].clear(),
                    ('K', _) => rows[row].truncate(col),
                    _ => {} // colours, bracketed paste and other modes
                }
            }
            c if c.is_control() => {}
            c => {
                if col >= width {
                    newline(&mut rows, &mut row);
                    col = 0;
                }
                let r = &mut rows[row];
                while r.len() < col {
                    r.push(' ');
                }
                if r.len() == col {
                    r.push(c);
                } else {
                    r[col] = c;
                }
                col += 1;
            }
        }
    }
    rows.into_iter()
        .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
        .collect()
}

/// Asks one question on a 40-column terminal and returns the rows of the reply.
fn reply_rows(ollama: &str, args: &[&str]) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    let mut command = chatbot_command(BIN, home.path(), ollama);
    command.args(args).env("NO_COLOR", "1");
    let mut pty = Pty::spawn(command, COLUMNS as u16, 40);
    pty.expect(">>> ", WAIT);
    pty.send("Observability?\r");
    pty.expect("trace: ", WAIT);
    pty.send("/bye\r");
    let status = pty.wait(WAIT);
    assert_eq!(status.code(), Some(0), "screen:\n{}", pty.text());
    let rows = screen(&pty.raw(), COLUMNS);
    rows.iter()
        .skip_while(|r| !r.starts_with(">>> Observability?"))
        .skip(1)
        .skip_while(|r| !r.starts_with("Observability"))
        .take_while(|r| !r.starts_with("note:") && !r.starts_with("trace:"))
        .cloned()
        .collect()
}

async fn fake() -> FakeOllama {
    FakeOllama::start_with(Options {
        reply: Reply::Text(REPLY.into()),
        ..Options::default()
    })
    .await
    .unwrap()
}

/// On a terminal replies wrap at spaces; `--nowordwrap` leaves the terminal's own mid-word
/// breaks (which also shows this test can see them).
#[tokio::test(flavor = "multi_thread")]
async fn replies_wrap_at_spaces_on_a_terminal() {
    let fake = fake().await;
    let url = fake.url();
    let words: Vec<&str> = REPLY.split(' ').collect();

    let u = url.clone();
    let reply = tokio::task::spawn_blocking(move || reply_rows(&u, &[]))
        .await
        .unwrap();
    assert!(reply.len() > 3, "{reply:#?}");
    assert_eq!(reply.join(" "), REPLY, "{reply:#?}");
    for row in &reply {
        for word in row.split(' ') {
            assert!(words.contains(&word), "{word:?} is cut: {reply:#?}");
        }
    }

    let reply = tokio::task::spawn_blocking(move || reply_rows(&url, &["--nowordwrap"]))
        .await
        .unwrap();
    assert_eq!(reply.concat(), REPLY, "{reply:#?}");
    assert!(
        reply
            .iter()
            .flat_map(|r| r.split(' '))
            .any(|w| !w.is_empty() && !words.contains(&w)),
        "without word wrap some word is cut by the terminal: {reply:#?}"
    );
}

/// Word wrap keeps a code block's indentation: the spaces after a newline stay, and a
/// tab reaches the terminal as a tab.
#[tokio::test(flavor = "multi_thread")]
async fn word_wrap_keeps_indentation_and_tabs() {
    const CODE: &str = "def f():\n    return 1\n\tTAB";
    let fake = FakeOllama::start_with(Options {
        reply: Reply::Text(CODE.into()),
        ..Options::default()
    })
    .await
    .unwrap();
    let url = fake.url();
    let (raw, rows) = tokio::task::spawn_blocking(move || {
        let home = tempfile::tempdir().unwrap();
        let mut command = chatbot_command(BIN, home.path(), &url);
        command.env("NO_COLOR", "1");
        let mut pty = Pty::spawn(command, COLUMNS as u16, 40);
        pty.expect(">>> ", WAIT);
        pty.send("Code?\r");
        pty.expect("trace: ", WAIT);
        pty.send("/bye\r");
        let status = pty.wait(WAIT);
        assert_eq!(status.code(), Some(0), "screen:\n{}", pty.text());
        (pty.raw(), screen(&pty.raw(), COLUMNS))
    })
    .await
    .unwrap();
    let reply: Vec<&String> = rows
        .iter()
        .skip_while(|r| !r.starts_with("def f():"))
        .take(3)
        .collect();
    assert_eq!(
        reply,
        ["def f():", "    return 1", "        TAB"],
        "{rows:#?}"
    );
    assert!(raw.contains("\tTAB"), "the tab byte is kept: {raw:?}");
}

/// `--export console` on an interactive terminal is refused with one line, exit 2.
#[test]
fn console_export_is_refused_on_a_terminal() {
    let home = tempfile::tempdir().unwrap();
    let mut command = chatbot_command(BIN, home.path(), &crate::support::closed_port_url());
    command.args(["--export", "console"]);
    let mut pty = Pty::spawn(command, COLUMNS as u16, 40);
    let status = pty.wait(WAIT);
    let text = pty.text();
    assert_eq!(status.code(), Some(2), "{text}");
    assert!(text.starts_with("error: --export console"), "{text}");
    assert!(text.contains("--export file:PATH"), "{text}");
    assert!(!text.contains('{'), "no JSON: {text}");
}

/// Inside a `"""` block the placeholder says how to end it; Ctrl-D there leaves without
/// sending, says so, and keeps the unfinished text in the history file.
#[test]
fn ctrl_d_in_a_block_keeps_it_in_the_history() {
    let home = tempfile::tempdir().unwrap();
    let command = chatbot_command(BIN, home.path(), &crate::support::closed_port_url());
    let mut pty = Pty::spawn(command, 80, 40);
    pty.expect(">>> ", WAIT);
    pty.send("\"\"\"\r");
    let at = pty.expect("Use \"\"\" to end multi-line input", WAIT);
    pty.send("half a thought\r");
    // The next continuation line, still inside the block.
    pty.expect_after(at, "... Use \"\"\" to end multi-line input", WAIT);
    pty.send("\x04");
    let status = pty.wait(WAIT);
    let text = pty.text();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        text.contains("was not sent; it is in the history"),
        "{text}"
    );
    let history = std::fs::read_to_string(home.path().join("chatbot-otel/history"))
        .unwrap_or_else(|e| panic!("no history file ({e}):\n{text}"));
    assert!(history.contains("half a thought"), "{history}");
}

/// The block kept by Ctrl-D comes back whole: next session, ↑ puts every line of it at
/// the prompt, not just the last one.
#[test]
fn ctrl_d_block_comes_back_whole_with_up_arrow() {
    let home = tempfile::tempdir().unwrap();
    let url = crate::support::closed_port_url();
    let mut pty = Pty::spawn(chatbot_command(BIN, home.path(), &url), 80, 40);
    pty.expect(">>> ", WAIT);
    pty.send("\"\"\"\r");
    let at = pty.expect("Use \"\"\" to end multi-line input", WAIT);
    // Each line is sent once the editor shows the next continuation line (see the test
    // below for what happens to lines sent sooner).
    for line in ["line one", "line two"] {
        pty.send(&format!("{line}\r"));
        let typed = pty.expect_after(at, line, WAIT);
        pty.expect_after(typed, "... Use \"\"\" to end multi-line input", WAIT);
    }
    pty.send("\x04");
    let status = pty.wait(WAIT);
    assert_eq!(status.code(), Some(0), "{}", pty.text());

    let mut pty = Pty::spawn(chatbot_command(BIN, home.path(), &url), 80, 40);
    let at = pty.expect(">>> ", WAIT);
    pty.send("\x1b[A");
    pty.expect_after(at, "line two", WAIT);
    let rows = screen(&pty.raw(), 80);
    let prompt = rows
        .iter()
        .rposition(|r| r.starts_with(">>> "))
        .unwrap_or_else(|| panic!("no prompt: {rows:#?}"));
    assert_eq!(
        rows[prompt..prompt + 2],
        [">>> line one", "line two"],
        "{rows:#?}"
    );
    pty.send("\x03");
    pty.expect_after(at, "Use Ctrl-D or /bye to exit.", WAIT);
    pty.send("/bye\r");
    assert_eq!(pty.wait(WAIT).code(), Some(0), "{}", pty.text());
}

/// A line that arrives with the Enter before it — typed ahead, or pasted where the
/// terminal has no bracketed paste — is not lost: the block keeps it. This is what made
/// the unfinished block look like "only its last line" in the history.
///
/// rustyline reads the terminal through a buffer it drops when `readline` returns, so
/// whatever came after the Enter in the same read would be gone; its `buffer-redux`
/// feature (enabled in Cargo.toml) keeps that buffer for the next call.
#[test]
fn a_line_typed_ahead_in_a_block_is_kept() {
    let home = tempfile::tempdir().unwrap();
    let url = crate::support::closed_port_url();
    let mut pty = Pty::spawn(chatbot_command(BIN, home.path(), &url), 80, 40);
    pty.expect(">>> ", WAIT);
    // One write: the opening line and the first line of the block reach the editor in
    // one read.
    pty.send("\"\"\"\rline one\r");
    let at = pty.expect("line one", WAIT);
    let at = pty.expect_after(at, "... Use \"\"\" to end multi-line input", WAIT);
    pty.send("open block\r");
    let typed = pty.expect_after(at, "open block", WAIT);
    pty.expect_after(typed, "... Use \"\"\" to end multi-line input", WAIT);
    pty.send("\x04");
    let status = pty.wait(WAIT);
    assert_eq!(status.code(), Some(0), "{}", pty.text());
    let history = std::fs::read_to_string(home.path().join("chatbot-otel/history"))
        .unwrap_or_else(|e| panic!("no history file ({e}):\n{}", pty.text()));
    // rustyline's file format: one entry per line, a newline inside one written as \n.
    assert!(history.contains("line one\\nopen block"), "{history:?}");
}
