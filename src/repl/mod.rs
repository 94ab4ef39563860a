//! The two front ends — an interactive terminal and a pipe — and what they share.
//!
//! Both read a line, parse it with [`crate::commands::parse`], and either run a command or
//! a chat turn. They differ only in where text goes: interactively, everything is on the
//! terminal and status lines are dimmed; piped, stdout carries nothing but reply text so
//! `chatbot-otel < questions.txt > answers.txt` works, and every status line goes to stderr.

pub mod interactive;
pub mod piped;
pub(crate) mod reply_view;
pub mod signals;
pub mod spinner;
pub mod style;
pub mod trace_view;

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use tokio::runtime::Runtime;

use self::reply_view::ReplyView;
use self::style::Style;
use crate::chat::feedback::{remote_span_context, Rating};
use crate::chat::ChatSession;
use crate::commands::{Command, HELP};
use crate::config::{parse_temperature_value, Config};
use crate::ollama::{has_model, OllamaError};
use crate::telemetry::metrics::TurnStatus;

/// How long `/model` and `/models` wait for Ollama's model list.
const TAGS_TIMEOUT: Duration = Duration::from_secs(2);

/// Where each kind of text goes, with or without colour.
#[derive(Debug, Clone, Copy)]
pub struct Console {
    pub interactive: bool,
    pub style: Style,
}

impl Console {
    /// Output of a command (`/help`, `/models`…).
    pub fn info(&self, text: &str) {
        if self.interactive {
            println!("{text}");
        } else {
            eprintln!("{text}");
        }
    }

    /// A secondary line such as the trace link: dimmed on a terminal, stderr in a pipe.
    pub fn status(&self, text: &str) {
        if self.interactive {
            println!("{}", self.style.dim(text));
        } else {
            eprintln!("{text}");
        }
    }

    pub fn warn(&self, text: &str) {
        eprintln!("{}", self.style.yellow(&format!("warning: {text}")));
    }

    pub fn error(&self, text: &str) {
        eprintln!("{}", self.style.red(&format!("error: {text}")));
    }
}

/// Whether the loop goes on after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// Runs one chat turn and reports it: reply on stdout, then error and trace lines.
pub fn chat_turn(
    rt: &Runtime,
    session: &mut ChatSession,
    prompt: &str,
    console: &Console,
    config: &Config,
    cancel: impl Future<Output = ()>,
) -> TurnStatus {
    let mut stdout = std::io::stdout();
    let show_thinking = true;
    let report = if console.interactive && std::io::IsTerminal::is_terminal(&stdout) {
        let spinner =
            spinner::Spinner::start(format!("waiting for {}…", session.model()), console.style);
        // Interactively the reasoning shares the screen with the answer.
        let mut view = ReplyView::new(
            std::io::stdout(),
            std::io::stdout(),
            console.style,
            show_thinking,
        )
        .for_terminal()
        .with_wait_indicator(&spinner);
        let report = rt.block_on(session.send(prompt, &mut view, cancel));
        spinner.stop();
        report
    } else {
        // Piped: stdout is the answer only; the reasoning goes to stderr.
        let mut view = ReplyView::new(
            std::io::stdout(),
            std::io::stderr(),
            Style::plain(),
            show_thinking,
        );
        rt.block_on(session.send(prompt, &mut view, cancel))
    };
    // End the reply's line. A failed turn with no text printed leaves stdout untouched.
    if report.status == TurnStatus::Success || !report.reply.is_empty() {
        let _ = writeln!(stdout).and_then(|_| stdout.flush());
    }
    if let Some(error) = &report.error {
        console.error(&error.user_message());
    } else if report.status == TurnStatus::Cancelled && console.interactive {
        console.status("(cancelled; the conversation is as it was before this message)");
    }
    if let Some(trace_id) = report.trace_id {
        console.status(&config.trace_line(trace_id));
    }
    report.status
}

/// Runs a slash command against the session.
pub fn run_command(
    rt: &Runtime,
    session: &mut ChatSession,
    command: Command,
    console: &Console,
    config: &Config,
) -> Flow {
    match command {
        Command::Bye => return Flow::Quit,
        Command::Help => console.info(&help_text(session, config)),
        Command::Clear => {
            session.clear();
            console.info("Cleared the conversation (the system prompt is kept).");
        }
        Command::Model(None) => console.info(&format!("Model: {}", session.model())),
        Command::Model(Some(name)) => {
            match rt.block_on(session.client().list_models(TAGS_TIMEOUT)) {
                Ok(models) if !has_model(&models, &name) => console.warn(&format!(
                    "model '{name}' is not pulled in Ollama; run `ollama pull {name}` before chatting"
                )),
                Ok(_) => {}
                Err(e) => console.warn(&format!(
                    "could not check that '{name}' is pulled: {}",
                    e.user_message()
                )),
            }
            session.set_model(name.clone());
            console.info(&format!("Model set to {name}."));
        }
        Command::Models => match rt.block_on(session.client().list_models(TAGS_TIMEOUT)) {
            Ok(models) if models.is_empty() => {
                console.info("Ollama has no models yet. Pull one with `ollama pull llama3.1:8b`.")
            }
            Ok(models) => {
                let mut lines = Vec::with_capacity(models.len());
                for m in &models {
                    let current = if m.name == session.model()
                        || m.name == format!("{}:latest", session.model())
                    {
                        "*"
                    } else {
                        " "
                    };
                    lines.push(format!(
                        "{current} {:<28} {:>8} {:>7} {}",
                        m.name,
                        format!("{:.1} GB", m.size as f64 / 1e9),
                        m.details.parameter_size,
                        m.details.quantization_level
                    ));
                }
                console.info(&lines.join("\n"));
            }
            Err(e) => console.error(&e.user_message()),
        },
        Command::SetTemperature(raw) => match parse_temperature_value(&raw) {
            Ok(t) => {
                session.set_temperature(t);
                console.info(&format!("Set temperature to {t}."));
            }
            Err(why) => console.error(&why),
        },
        Command::System(None) => console.info(&format!(
            "System prompt: {}",
            session.system_prompt().unwrap_or("(none)")
        )),
        Command::System(Some(text)) => {
            session.set_system_prompt(Some(text));
            console.info("Set the system prompt.");
        }
        Command::History => {
            if session.history().is_empty() {
                console.info("(no messages yet)");
            } else {
                let lines: Vec<String> = session
                    .history()
                    .iter()
                    .map(|m| format!("{}: {}", m.role.as_str(), m.content))
                    .collect();
                console.info(&lines.join("\n"));
            }
        }
        Command::Trace(turn) => show_trace(session, turn, console),
        Command::Stats => show_stats(session, console),
        Command::Feedback {
            good,
            comment,
            target,
        } => {
            let rating = if good { Rating::Good } else { Rating::Bad };
            let target = match target.map(|(t, s)| remote_span_context(&t, &s)).transpose() {
                Ok(target) => target,
                Err(why) => {
                    console.error(&format!("invalid --trace: {why}"));
                    return Flow::Continue;
                }
            };
            match session.feedback(rating, comment.as_deref(), target.clone()) {
                Ok(feedback) => {
                    let judged = target
                        .or_else(|| session.turn_root(session.turns()).cloned())
                        .map(|t| {
                            format!(" (linked to trace {} span {})", t.trace_id(), t.span_id())
                        })
                        .unwrap_or_default();
                    console.info(&format!("Recorded '{}' feedback{judged}.", rating.as_str()));
                    if feedback.is_sampled() {
                        let id = feedback.trace_id();
                        console.status(&config.trace_line(id));
                    }
                }
                Err(why) => console.error(&why),
            }
        }
        Command::Usage(usage) => console.error(&format!("usage: {usage}")),
        Command::Unknown(name) => console.error(&format!(
            "unknown command '{name}'. Type /help for the list of commands."
        )),
    }
    Flow::Continue
}

/// `/trace [N]`: the span tree of a turn, from the in-process buffer.
fn show_trace(session: &ChatSession, turn: Option<u64>, console: &Console) {
    let Some(recent) = &session.telemetry().recent else {
        console.info(
            "Telemetry is off (--no-telemetry or OTEL_SDK_DISABLED=true): no spans were recorded.",
        );
        return;
    };
    let last = session.turns();
    if last == 0 {
        console.info("No turns yet: send a message, then /trace draws its spans.");
        return;
    }
    let turn = turn.unwrap_or(last);
    if turn > last {
        console.error(&format!(
            "there is no turn {turn} yet (this session has {last})"
        ));
        return;
    }
    let trace = session
        .turn_root(turn)
        .and_then(|root| recent.trace(root.trace_id()));
    match trace {
        Some(trace) => {
            let look = trace_view::Look {
                unicode: console.interactive
                    && std::io::IsTerminal::is_terminal(&std::io::stdout()),
                style: console.style,
            };
            console.info(&trace_view::render(&trace, turn, look));
        }
        None => console.info(&format!(
            "The spans of turn {turn} are no longer in memory (or were not sampled)."
        )),
    }
}

/// `/stats`: read from the same meter provider the exporter uses.
fn show_stats(session: &ChatSession, console: &Console) {
    let Some(stats) = session
        .telemetry()
        .stats
        .as_ref()
        .and_then(|r| r.snapshot())
    else {
        console.info("Telemetry is off (--no-telemetry or OTEL_SDK_DISABLED=true): no metrics were recorded.");
        return;
    };
    let count = |map: &std::collections::BTreeMap<String, u64>, key: &str| {
        map.get(key).copied().unwrap_or(0)
    };
    let turns: u64 = stats.turns.values().sum();
    let seconds = |v: Option<f64>| v.map(|s| format!("{s:.3} s")).unwrap_or_else(|| "–".into());
    let mut lines = vec![
        "Session statistics (cumulative, from the metrics SDK; percentiles estimated from histogram buckets)".to_string(),
        format!(
            "  turns         {turns}  (success {}, error {}, cancelled {})",
            count(&stats.turns, "success"),
            count(&stats.turns, "error"),
            count(&stats.turns, "cancelled")
        ),
        format!(
            "  tokens        input {}, output {}{}",
            count(&stats.tokens, "input"),
            count(&stats.tokens, "output"),
            stats
                .tokens_per_second()
                .map(|t| format!("  ({t:.1} output tokens/s)"))
                .unwrap_or_default()
        ),
        format!(
            "  latency       p50 {}, p95 {}  over {} requests",
            seconds(stats.latency.quantile(0.5)),
            seconds(stats.latency.quantile(0.95)),
            stats.latency.count
        ),
        format!(
            "  first token   p50 {}, p95 {}",
            seconds(stats.time_to_first_token.quantile(0.5)),
            seconds(stats.time_to_first_token.quantile(0.95))
        ),
    ];
    if stats.errors.is_empty() {
        lines.push("  errors        none".to_string());
    } else {
        let errors: Vec<String> = stats
            .errors
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        lines.push(format!("  errors        {}", errors.join(", ")));
    }
    console.info(&lines.join("\n"));
}

fn help_text(session: &ChatSession, config: &Config) -> String {
    let mut text = String::from("Commands:\n");
    for (command, what) in HELP {
        text.push_str(&format!("  {command:<22} {what}\n"));
    }
    text.push_str(
        "\nType a message to chat. Between lines of \"\"\" a message may span several lines.\n",
    );
    text.push_str("Ctrl-C stops a reply; Ctrl-D or /bye leaves.\n\n");
    text.push_str(&format!(
        "Model:       {} (temperature {})\n",
        session.model(),
        session.temperature()
    ));
    text.push_str(&format!(
        "Ollama:      {}\n",
        config.ollama_url.as_str().trim_end_matches('/')
    ));
    let telemetry = if !session.telemetry().enabled() {
        "off".to_string()
    } else if config.export == crate::config::ExportTarget::Otlp {
        format!("on; traces at {}/search", config.jaeger_ui_url)
    } else {
        format!(
            "on; export {} (/trace and /stats still work)",
            config.export
        )
    };
    text.push_str(&format!("Telemetry:   {telemetry}\n"));
    text.push_str(&format!(
        "JSON log:    {}",
        config
            .log_file()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "stderr".into())
    ));
    text
}

/// The one-line start-up check: is Ollama up, and is the model pulled?
pub async fn preflight(session: &ChatSession, timeout: Duration) -> Option<String> {
    let url = session
        .client()
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_string();
    match session.client().list_models(timeout).await {
        Ok(models) if has_model(&models, session.model()) => None,
        Ok(_) => Some(format!(
            "model '{m}' is not pulled in Ollama at {url}; run `ollama pull {m}`",
            m = session.model()
        )),
        Err(OllamaError::Timeout { .. }) => Some(format!(
            "Ollama at {url} did not answer within {} s; is it busy, or is the URL right?",
            timeout.as_secs_f64()
        )),
        Err(OllamaError::Connect { .. }) => Some(format!(
            "Ollama is not running at {url}; start it with `ollama serve` (or set OLLAMA_HOST)"
        )),
        Err(e) => Some(e.user_message()),
    }
}
