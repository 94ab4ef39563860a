//! Interactive mode on a real pseudo-terminal of 40 columns, driven by util-linux
//! `script(1)`: word wrap on and off, and `--export console` refused over the terminal.
//!
//! The typescript `script` records is replayed through a small screen model (`\r`, `\n`,
//! cursor-forward, erase) so the tests assert the rows a user would see.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use fake_ollama::{FakeOllama, Options, Reply};
use support::*;

const COLUMNS: usize = 40;
const REPLY: &str = "Observability means asking new questions of a running system without shipping new code: traces show where the time of one request went, metrics show trends across many.";

/// Runs the binary on a 40-column pseudo-terminal with `input` typed ahead; returns the exit
/// code and the screen rows. `None` when `script` is not installed.
fn on_terminal(dir: &Path, ollama: &str, args: &str, input: &str) -> Option<(i32, Vec<String>)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let typescript = dir.join("typescript");
    let inner = format!(
        "stty cols {COLUMNS} rows 40; exec env -i PATH=\"$PATH\" HOME={home} XDG_STATE_HOME={home} LOG_FILE={home}/chatbot.log NO_COLOR=1 OLLAMA_ENDPOINT={ollama} OTEL_EXPORTER_OTLP_ENDPOINT={otlp} {bin} {args}",
        home = dir.display(),
        otlp = closed_port_url(),
        bin = support::chatbot::BIN,
    );
    let mut child = Command::new("script")
        .args(["-q", "-e", "-f", "-c", &inner])
        .arg(&typescript)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run script");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let status = child.wait().expect("script exits");
    let raw = std::fs::read(&typescript).expect("the typescript");
    Some((status.code().unwrap_or(-1), screen(&raw, COLUMNS)))
}

/// The rows a terminal of `width` columns shows for `bytes`.
fn screen(bytes: &[u8], width: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = text.chars().peekable();
    let newline = |rows: &mut Vec<Vec<char>>, row: &mut usize| {
        *row += 1;
        if rows.len() <= *row {
            rows.push(Vec::new());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
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
                    _ => {} // modes such as bracketed paste
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

/// The reply's rows: after the prompt line, up to the first status line.
fn reply_rows(rows: &[String]) -> Vec<String> {
    rows.iter()
        .skip_while(|r| !r.starts_with(">>> Observability"))
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
    let words: Vec<&str> = REPLY.split(' ').collect();
    let input = "Observability?\r";
    let dir = tempfile::tempdir().unwrap();
    let Some((code, rows)) = on_terminal(dir.path(), &fake.url(), "", input) else {
        return;
    };
    assert_eq!(code, 0, "{rows:#?}");
    let reply = reply_rows(&rows);
    assert!(reply.len() > 3, "{rows:#?}");
    assert_eq!(reply.join(" "), REPLY, "{reply:#?}");
    for row in &reply {
        for word in row.split(' ') {
            assert!(words.contains(&word), "{word:?} is cut: {reply:#?}");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let (code, rows) = on_terminal(dir.path(), &fake.url(), "--nowordwrap", input).unwrap();
    assert_eq!(code, 0, "{rows:#?}");
    let reply = reply_rows(&rows);
    assert_eq!(reply.concat(), REPLY, "{reply:#?}");
    assert!(
        reply
            .iter()
            .flat_map(|r| r.split(' '))
            .any(|w| !w.is_empty() && !words.contains(&w)),
        "without word wrap some word is cut by the terminal: {reply:#?}"
    );
}

/// `--export console` on an interactive terminal is refused with one line, exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn console_export_is_refused_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let Some((code, rows)) = on_terminal(dir.path(), &closed_port_url(), "--export console", "")
    else {
        return;
    };
    assert_eq!(code, 2, "{rows:#?}");
    let error = rows.join(" ");
    assert!(error.contains("error: --export console"), "{rows:#?}");
    assert!(error.contains("--export file:PATH"), "{rows:#?}");
    assert!(
        !rows.iter().any(|r| r.starts_with('{')),
        "no JSON: {rows:#?}"
    );
}
