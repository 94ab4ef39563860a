//! Slash commands: one table drives parsing, `/help` and tab completion.
//!
//! Each row of [`COMMANDS`] is a [`Spec`]: the name and aliases as typed, the usage line,
//! a one-line summary and the function that runs it. A command is one row and one
//! function; `/set` and `/show` hold tables of their own ([`SET`], [`SHOW`]), so a new
//! setting is one row there. Parsing a line ([`parse`]) is pure — no I/O, no session — so
//! every rule is unit-tested below; what each command *does* is the function its row names.
//! A line that starts with `/` is never sent to the model, even when it is not a command.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Flow, Repl};
use crate::chat::feedback::{remote_span_context, Rating};
use crate::chat::sessions::Store;
use crate::config::parse_temperature_value;
use crate::ollama::has_model;
use crate::ollama::wire::Think;
use crate::telemetry::names::metric;
use crate::text::{printable, truncate};

/// How long `/model` and `/models` wait for Ollama's model list.
const TAGS_TIMEOUT: Duration = Duration::from_secs(2);

/// The arguments did not fit the command: the caller shows the row's usage line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage;

/// Runs a command with its arguments (the rest of the line, trimmed).
pub(crate) type Handler = fn(&mut Repl<'_>, &str) -> Result<Flow, Usage>;

/// What a row does: run a handler, or pick a sub-command by the next word.
pub(crate) enum Action {
    Run(Handler),
    Sub(&'static [Spec]),
}

/// One command, as `/help` lists it and the parser finds it.
pub(crate) struct Spec {
    /// The name without the slash (for a sub-command, the word after its parent).
    pub(crate) name: &'static str,
    pub(crate) aliases: &'static [&'static str],
    /// The command as typed, with its arguments: shown by `/help` and on a usage error.
    pub(crate) usage: &'static str,
    pub(crate) summary: &'static str,
    /// Listed by `/help` in piped mode too (interactive-only rows say so here).
    pub(crate) piped: bool,
    pub(crate) action: Action,
}

impl Spec {
    fn answers_to(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.usage)
    }
}

impl PartialEq for Spec {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

const fn row(
    name: &'static str,
    aliases: &'static [&'static str],
    usage: &'static str,
    summary: &'static str,
    run: Handler,
) -> Spec {
    Spec {
        name,
        aliases,
        usage,
        summary,
        piped: true,
        action: Action::Run(run),
    }
}

/// Every command, in `/help` order.
pub(crate) static COMMANDS: &[Spec] = &[
    row("help", &["?"], "/help, /?", "Show this help", help),
    row(
        "model",
        &[],
        "/model [NAME]",
        "Show the model, or switch to NAME (the conversation is kept)",
        model,
    ),
    row(
        "models",
        &["list"],
        "/models, /list",
        "List the models Ollama has pulled",
        models,
    ),
    Spec {
        name: "set",
        aliases: &[],
        usage: "/set SETTING",
        summary: "Change a setting of this session",
        piped: true,
        action: Action::Sub(SET),
    },
    Spec {
        name: "show",
        aliases: &[],
        usage: "/show WHAT",
        summary: "Show something about this session",
        piped: true,
        action: Action::Sub(SHOW),
    },
    row(
        "system",
        &[],
        "/system [TEXT]",
        "Set the system prompt sent before the conversation, or show it",
        system,
    ),
    row(
        "history",
        &[],
        "/history",
        "Show the conversation so far",
        history,
    ),
    row(
        "trace",
        &[],
        "/trace [N]",
        "Draw the span tree of the last turn (or of turn N, 1 for the first)",
        trace,
    ),
    row(
        "stats",
        &[],
        "/stats",
        "This session's numbers: turns, tokens, latency, errors",
        stats,
    ),
    row(
        "feedback",
        &[],
        "/feedback good|bad [TEXT]",
        "Rate the last reply (a span linked to its trace); add --trace TRACE_ID SPAN_ID before TEXT to rate an older one",
        feedback,
    ),
    row(
        "tools",
        &[],
        "/tools",
        "List the MCP servers, their state and their tools",
        tools,
    ),
    row(
        "save",
        &[],
        "/save NAME",
        "Save this conversation (messages, model, settings, its conversation id) as a file of ours; unlike ollama run's /save, no model is made on the server",
        save,
    ),
    row(
        "load",
        &[],
        "/load NAME",
        "Continue a saved conversation, under its own conversation id",
        load,
    ),
    row(
        "sessions",
        &[],
        "/sessions",
        "List the saved conversations: name, date, model, turns",
        sessions,
    ),
    row(
        "clear",
        &[],
        "/clear",
        "Forget the conversation and start a new one (the system prompt is kept)",
        clear,
    ),
    row(
        "bye",
        &["exit", "quit"],
        "/bye, /exit, /quit",
        "Leave (Ctrl-D also works)",
        bye,
    ),
];

/// `/set …`: one row per setting.
pub(crate) static SET: &[Spec] = &[
    row(
        "temperature",
        &[],
        "/set temperature X",
        "Set the sampling temperature (0 to 2)",
        set_temperature,
    ),
    row(
        "parameter",
        &[],
        "/set parameter NAME VALUE",
        "Set a model parameter sent as Ollama's options: num_ctx, num_predict, top_k, top_p, min_p, seed, stop (repeatable), repeat_penalty, repeat_last_n, temperature",
        set_parameter,
    ),
    row(
        "think",
        &[],
        "/set think [LEVEL]",
        "Ask the model to think: true (the default), or low, medium, high, max for models that take a level",
        set_think,
    ),
    row(
        "nothink",
        &[],
        "/set nothink",
        "Ask the model not to think (think: false)",
        set_nothink,
    ),
    row(
        "hidethinking",
        &[],
        "/set hidethinking",
        "Do not print the model's reasoning (it is still kept, sent back and traced)",
        set_hidethinking,
    ),
    row(
        "showthinking",
        &[],
        "/set showthinking",
        "Print the model's reasoning between Thinking... and ...done thinking. (the default)",
        set_showthinking,
    ),
    Spec {
        piped: false,
        ..row(
            "wordwrap",
            &[],
            "/set wordwrap",
            "Wrap replies at spaces to fit the terminal (the default)",
            set_wordwrap,
        )
    },
    Spec {
        piped: false,
        ..row(
            "nowordwrap",
            &[],
            "/set nowordwrap",
            "Print replies as they come, breaking lines wherever the terminal does",
            set_nowordwrap,
        )
    },
];

/// `/show …`: one row per thing to show.
pub(crate) static SHOW: &[Spec] = &[
    row(
        "info",
        &[],
        "/show info",
        "The model, its settings, and where telemetry goes",
        show_info,
    ),
    row(
        "parameters",
        &[],
        "/show parameters",
        "The model parameters this session sends",
        show_parameters,
    ),
];

// --- parsing -----------------------------------------------------------------------------

/// A parsed input line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// Nothing to do (a blank line).
    Empty,
    /// Text for the model.
    Prompt(String),
    /// A command and the rest of its line (trimmed).
    Command(&'static Spec, String),
    /// A known command (or `/set`, `/show` with a sub-command we do not have) used wrongly.
    Usage(&'static Spec),
    /// Not a command we know.
    Unknown(String),
}

/// Parses one line of input.
pub(crate) fn parse(line: &str) -> Input {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Input::Empty;
    }
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Input::Prompt(line.trim_end_matches(['\r', '\n']).to_string());
    };
    let (name, args) = split_word(rest);
    let Some(spec) = COMMANDS.iter().find(|s| s.answers_to(name)) else {
        return Input::Unknown(format!("/{name}"));
    };
    resolve(spec, args)
}

/// Follows sub-command tables (`/set temperature 0.2`) down to the row that runs.
fn resolve(spec: &'static Spec, args: &str) -> Input {
    match &spec.action {
        Action::Run(_) => Input::Command(spec, args.to_string()),
        Action::Sub(table) => {
            let (word, rest) = split_word(args);
            match table.iter().find(|s| s.answers_to(word)) {
                Some(sub) => resolve(sub, rest),
                None => Input::Usage(spec),
            }
        }
    }
}

fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

/// The usage line(s) for a row: a sub-command table lists every one of its rows.
pub(crate) fn usage_of(spec: &Spec) -> String {
    match &spec.action {
        Action::Run(_) => spec.usage.to_string(),
        Action::Sub(table) => table
            .iter()
            .map(|s| s.usage)
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// Runs a parsed command line; usage errors and unknown commands are reported here.
pub(crate) fn dispatch(repl: &mut Repl<'_>, input: Input) -> Flow {
    match input {
        Input::Empty | Input::Prompt(_) => Flow::Continue,
        Input::Command(spec, args) => match &spec.action {
            Action::Run(handler) => handler(repl, &args).unwrap_or_else(|Usage| {
                repl.console.error(&format!("usage: {}", usage_of(spec)));
                Flow::Continue
            }),
            Action::Sub(_) => {
                repl.console.error(&format!("usage: {}", usage_of(spec)));
                Flow::Continue
            }
        },
        Input::Usage(spec) => {
            repl.console.error(&format!("usage: {}", usage_of(spec)));
            Flow::Continue
        }
        Input::Unknown(name) => {
            repl.console.error(&format!(
                "unknown command '{name}'. Type /help for the list of commands."
            ));
            Flow::Continue
        }
    }
}

// --- completion --------------------------------------------------------------------------

/// Tab completion for a line being typed: where the completed word starts, and the
/// candidates (`/mo` → `/model`, `/models`; `/set w` → `wordwrap`).
pub(crate) fn complete(line: &str, pos: usize) -> (usize, Vec<String>) {
    let before = &line[..pos.min(line.len())];
    let Some(rest) = before.strip_prefix('/') else {
        return (pos, Vec::new());
    };
    let mut table = COMMANDS;
    let mut start = 1;
    let mut words = rest;
    loop {
        match words.split_once(' ') {
            None => {
                let mut found: Vec<String> = table
                    .iter()
                    .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
                    .filter(|n| n.starts_with(words))
                    .map(str::to_string)
                    .collect();
                found.sort();
                return (start, found);
            }
            Some((word, tail)) => match table.iter().find(|s| s.answers_to(word)) {
                Some(Spec {
                    action: Action::Sub(sub),
                    ..
                }) => {
                    start += word.len() + 1;
                    table = sub;
                    words = tail;
                }
                _ => return (pos, Vec::new()),
            },
        }
    }
}

// --- /help -------------------------------------------------------------------------------

/// The rows `/help` lists: sub-command tables are listed row by row; piped mode leaves
/// out what only a terminal has.
fn help_rows(interactive: bool) -> Vec<(&'static str, &'static str)> {
    let mut rows = Vec::new();
    for spec in COMMANDS {
        match &spec.action {
            Action::Run(_) => rows.push((spec.usage, spec.summary)),
            Action::Sub(table) => rows.extend(
                table
                    .iter()
                    .filter(|s| s.piped || interactive)
                    .map(|s| (s.usage, s.summary)),
            ),
        }
    }
    rows
}

/// The command table of `/help`, fitted to `width` columns: two columns when the summaries
/// get at least 24 columns, otherwise each summary on its own indented lines.
pub(crate) fn help_table(interactive: bool, width: usize) -> String {
    let rows = help_rows(interactive);
    let usage_cols = rows
        .iter()
        .map(|(u, _)| super::term::columns(u))
        .max()
        .unwrap_or(0);
    let mut lines = vec!["Commands:".to_string()];
    let left = 2 + usage_cols + 2;
    if width >= left + 24 {
        let indent = " ".repeat(left);
        for (usage, summary) in rows {
            let mut summary = super::wrap::fill(summary, width - left, "").into_iter();
            let first = summary.next().unwrap_or_default();
            lines.push(format!("  {usage:<usage_cols$}  {first}"));
            lines.extend(summary.map(|l| format!("{indent}{l}")));
        }
    } else {
        for (usage, summary) in rows {
            lines.push(format!("  {usage}"));
            let fill = super::wrap::fill(summary, width.saturating_sub(6), "");
            lines.extend(fill.into_iter().map(|l| format!("      {l}")));
        }
    }
    lines.join("\n")
}

/// How to type a message, for the mode at hand: piped input has no `"""` blocks and no keys.
pub(crate) fn help_keys(interactive: bool) -> &'static str {
    if interactive {
        "Type a message to chat. Between lines of \"\"\" a message may span several lines.\nCtrl-C stops a reply; Ctrl-D or /bye leaves."
    } else {
        "Every other input line is a message; replies go to stdout, everything else to stderr."
    }
}

fn help(repl: &mut Repl<'_>, _args: &str) -> Result<Flow, Usage> {
    let width = repl.width();
    let interactive = repl.console.interactive;
    let text = format!(
        "{}\n\n{}\n\n{}",
        help_table(interactive, width),
        fit(help_keys(interactive), width),
        fit(&repl.settings_text(), width)
    );
    repl.console.info(&text);
    Ok(Flow::Continue)
}

/// Each line of `text` filled to `width`. A `Label:   value` line keeps its value column:
/// the value wraps under itself.
fn fit(text: &str, width: usize) -> String {
    text.lines()
        .flat_map(|line| {
            let value_at = line.find(":  ").map(|colon| {
                colon + 1 + line[colon + 1..].len() - line[colon + 1..].trim_start().len()
            });
            match value_at {
                Some(at) if at + 16 < width => {
                    let (label, value) = line.split_at(at);
                    let mut lines = super::wrap::fill(value, width - at, "");
                    lines[0].insert_str(0, label);
                    for l in lines.iter_mut().skip(1) {
                        l.insert_str(0, &" ".repeat(at));
                    }
                    lines
                }
                _ => super::wrap::fill(line, width, ""),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn show_info(repl: &mut Repl<'_>, _args: &str) -> Result<Flow, Usage> {
    let text = fit(&repl.settings_text(), repl.width());
    repl.console.info(&text);
    Ok(Flow::Continue)
}

// --- the other commands, one function each -----------------------------------------------

fn bye(_repl: &mut Repl<'_>, _args: &str) -> Result<Flow, Usage> {
    Ok(Flow::Quit)
}

fn clear(repl: &mut Repl<'_>, _args: &str) -> Result<Flow, Usage> {
    repl.session.clear();
    repl.console.info(&format!(
        "Cleared the conversation (the system prompt is kept); new conversation {}.",
        repl.session.conversation_id()
    ));
    Ok(Flow::Continue)
}

/// The saved-conversation store, or why there is none (no home directory).
fn store(repl: &Repl<'_>) -> Option<Store> {
    let store = repl.config.sessions_dir.clone().map(Store::new);
    if store.is_none() {
        repl.console
            .error("no state directory for saved conversations: set XDG_STATE_HOME or HOME");
    }
    store
}

fn tools(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    if !args.is_empty() {
        return Err(Usage);
    }
    let Some(toolbox) = repl.session.tools() else {
        repl.console.info(
            "No MCP servers configured (--mcp-config PATH, or $XDG_CONFIG_HOME/chatbot-otel/mcp.json).",
        );
        return Ok(Flow::Continue);
    };
    let tools = toolbox.servers.tools();
    let mut lines = Vec::new();
    for status in toolbox.servers.statuses() {
        let state = match &status.state {
            crate::mcp::ServerState::Starting => "starting".to_string(),
            crate::mcp::ServerState::Ready { .. } => "ready".to_string(),
            crate::mcp::ServerState::Failed { reason } => format!("failed: {reason}"),
        };
        lines.push(format!("{}  ({state})", status.name));
        for tool in tools.iter().filter(|t| t.server == status.name) {
            let description = tool.description.as_deref().unwrap_or("");
            let first = description.lines().next().unwrap_or("");
            lines.push(format!(
                "  {:<28} {}",
                tool.name,
                printable(&truncate(first, 80))
            ));
        }
    }
    repl.console.info(&lines.join("\n"));
    Ok(Flow::Continue)
}

/// One session name, no spaces.
fn session_name(args: &str) -> Result<&str, Usage> {
    if args.is_empty() || args.contains(char::is_whitespace) {
        return Err(Usage);
    }
    Ok(args)
}

fn save(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    let name = session_name(args)?;
    let Some(store) = store(repl) else {
        return Ok(Flow::Continue);
    };
    match store.save(name, &repl.session.to_saved()) {
        Ok(path) => repl.console.info(&format!(
            "Saved conversation {} as '{name}' ({}).",
            repl.session.conversation_id(),
            path.display()
        )),
        Err(e) => repl.console.error(&e.to_string()),
    }
    Ok(Flow::Continue)
}

fn load(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    let name = session_name(args)?;
    let Some(store) = store(repl) else {
        return Ok(Flow::Continue);
    };
    match store.load(name) {
        Ok(saved) => {
            let turns = saved.turns();
            repl.session.restore(saved);
            repl.console.info(&format!(
                "Loaded '{name}': {turns} turn(s) with {}, conversation {}.",
                repl.session.model(),
                repl.session.conversation_id()
            ));
        }
        Err(e) => repl.console.error(&e.to_string()),
    }
    Ok(Flow::Continue)
}

fn sessions(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    if !args.is_empty() {
        return Err(Usage);
    }
    let Some(store) = store(repl) else {
        return Ok(Flow::Continue);
    };
    let rows = store.list();
    if rows.is_empty() {
        repl.console
            .info("No saved conversations yet (use /save NAME).");
        return Ok(Flow::Continue);
    }
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "  {:<20} {:<20} {:<20} {} turn(s)",
                r.name, r.saved_at, r.model, r.turns
            )
        })
        .collect();
    repl.console.info(&lines.join("\n"));
    Ok(Flow::Continue)
}

/// `/model [NAME]`: a model name has no spaces.
pub(crate) fn model_arg(args: &str) -> Result<Option<&str>, Usage> {
    match args {
        "" => Ok(None),
        name if name.contains(char::is_whitespace) => Err(Usage),
        name => Ok(Some(name)),
    }
}

fn model(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    let Some(name) = model_arg(args)? else {
        repl.console
            .info(&format!("Model: {}", repl.session.model()));
        return Ok(Flow::Continue);
    };
    match repl
        .rt
        .block_on(repl.session.client().list_models(TAGS_TIMEOUT))
    {
        Ok(models) if !has_model(&models, name) => repl.console.warn(&format!(
            "model '{name}' is not pulled in Ollama; run `ollama pull {name}` before chatting"
        )),
        Ok(_) => {}
        Err(e) => repl.console.warn(&format!(
            "could not check that '{name}' is pulled: {}",
            e.user_message()
        )),
    }
    repl.session.set_model(name.to_string());
    repl.console.info(&format!("Model set to {name}."));
    Ok(Flow::Continue)
}

fn models(repl: &mut Repl<'_>, _args: &str) -> Result<Flow, Usage> {
    match repl
        .rt
        .block_on(repl.session.client().list_models(TAGS_TIMEOUT))
    {
        Ok(models) if models.is_empty() => repl
            .console
            .info("Ollama has no models yet. Pull one with `ollama pull llama3.1:8b`."),
        Ok(models) => {
            let current = repl.session.model();
            let lines: Vec<String> = models
                .iter()
                .map(|m| {
                    let mark = if m.name == current || m.name == format!("{current}:latest") {
                        "*"
                    } else {
                        " "
                    };
                    format!(
                        "{mark} {:<28} {:>8} {:>7} {}",
                        m.name,
                        format!("{:.1} GB", m.size as f64 / 1e9),
                        m.details.parameter_size,
                        m.details.quantization_level
                    )
                })
                .collect();
            repl.console.info(&lines.join("\n"));
        }
        Err(e) => repl.console.error(&e.user_message()),
    }
    Ok(Flow::Continue)
}

fn set_temperature(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    if args.is_empty() || args.contains(char::is_whitespace) {
        return Err(Usage);
    }
    match parse_temperature_value(args) {
        Ok(t) => {
            repl.session.set_temperature(t);
            repl.console.info(&format!("Set temperature to {t}."));
        }
        Err(why) => repl.console.error(&why),
    }
    Ok(Flow::Continue)
}

fn set_wordwrap(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    set_wrap(repl, args, true)
}

fn set_nowordwrap(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    set_wrap(repl, args, false)
}

fn set_wrap(repl: &mut Repl<'_>, args: &str, on: bool) -> Result<Flow, Usage> {
    if !args.is_empty() {
        return Err(Usage);
    }
    repl.prefs.wordwrap = on;
    repl.console.info(if on {
        "Set 'wordwrap' mode."
    } else {
        "Set 'nowordwrap' mode."
    });
    Ok(Flow::Continue)
}

/// `/set parameter NAME VALUE`: VALUE is the rest of the line (a stop sequence may have spaces).
fn set_parameter(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    let (name, value) = split_word(args);
    if name.is_empty() || value.is_empty() {
        return Err(Usage);
    }
    match repl.session.set_parameter(name, value) {
        Ok(()) => repl
            .console
            .info(&format!("Set parameter '{name}' to '{value}'.")),
        Err(why) => repl.console.error(&why),
    }
    Ok(Flow::Continue)
}

fn show_parameters(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    if !args.is_empty() {
        return Err(Usage);
    }
    let rows = crate::chat::parameters::list(repl.session.options());
    let mut lines = vec!["Parameters sent as options:".to_string()];
    lines.extend(
        rows.iter()
            .map(|(name, value)| format!("  {name:<16}{value}")),
    );
    repl.console.info(&lines.join("\n"));
    Ok(Flow::Continue)
}

/// `/set think [LEVEL]`: as in `ollama run`; a level we do not know is refused here, so
/// nothing is sent that Ollama would answer with a 400.
fn set_think(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    if args.contains(char::is_whitespace) {
        return Err(Usage);
    }
    match Think::parse(args) {
        Some(think) => {
            repl.session.set_think(Some(think));
            match think {
                Think::Level(level) => repl
                    .console
                    .info(&format!("Set 'think' mode to '{}'.", level.as_str())),
                Think::Bool(true) => repl.console.info("Set 'think' mode."),
                Think::Bool(false) => repl.console.info("Set 'nothink' mode."),
            }
        }
        None => repl.console.error(&format!(
            "invalid think level {args:?}: expected true, false, low, medium, high or max"
        )),
    }
    Ok(Flow::Continue)
}

fn set_nothink(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    if !args.is_empty() {
        return Err(Usage);
    }
    repl.session.set_think(Some(Think::Bool(false)));
    repl.console.info("Set 'nothink' mode.");
    Ok(Flow::Continue)
}

fn set_hidethinking(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    set_show_thinking(repl, args, false)
}

fn set_showthinking(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    set_show_thinking(repl, args, true)
}

fn set_show_thinking(repl: &mut Repl<'_>, args: &str, show: bool) -> Result<Flow, Usage> {
    if !args.is_empty() {
        return Err(Usage);
    }
    repl.prefs.show_thinking = show;
    repl.console.info(if show {
        "Set 'showthinking' mode."
    } else {
        "Set 'hidethinking' mode."
    });
    Ok(Flow::Continue)
}

fn system(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    if args.is_empty() {
        let shown = repl.session.system_prompt().unwrap_or("(none)").to_string();
        repl.console.info(&format!("System prompt: {shown}"));
    } else {
        repl.session.set_system_prompt(Some(args.to_string()));
        repl.console.info("Set the system prompt.");
    }
    Ok(Flow::Continue)
}

fn history(repl: &mut Repl<'_>, _args: &str) -> Result<Flow, Usage> {
    if repl.session.history().is_empty() {
        repl.console.info("(no messages yet)");
    } else {
        // Model text is untrusted: made printable before it reaches the terminal. The
        // reasoning is marked and dimmed, as it was when it streamed.
        let style = repl.console.style;
        let mut lines = Vec::new();
        for m in repl.session.history() {
            if let Some(thinking) = m.thinking.as_deref() {
                let text = format!("{}: (thinking) {}", m.role.as_str(), printable(thinking));
                lines.push(style.dim(&text));
            }
            lines.push(format!("{}: {}", m.role.as_str(), printable(&m.content)));
        }
        repl.console.info_styled(&lines.join("\n"));
    }
    Ok(Flow::Continue)
}

/// `/trace [N]`: N counts turns from 1.
pub(crate) fn trace_arg(args: &str) -> Result<Option<u64>, Usage> {
    match args {
        "" => Ok(None),
        n => match n.parse::<u64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Usage),
        },
    }
}

/// `/trace [N]`: the span tree of a turn, from the in-process buffer.
fn trace(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    let turn = trace_arg(args)?;
    let console = repl.console;
    let session = &*repl.session;
    let Some(recent) = &session.telemetry().recent else {
        console.info(
            "Telemetry is off (--no-telemetry or OTEL_SDK_DISABLED=true): no spans were recorded.",
        );
        return Ok(Flow::Continue);
    };
    let last = session.turns();
    if last == 0 {
        console.info("No turns yet: send a message, then /trace draws its spans.");
        return Ok(Flow::Continue);
    }
    let turn = turn.unwrap_or(last);
    if turn > last {
        console.error(&format!(
            "there is no turn {turn} yet (this session has {last})"
        ));
        return Ok(Flow::Continue);
    }
    let trace = session
        .turn_root(turn)
        .and_then(|root| recent.trace(root.trace_id()));
    match trace {
        Some(trace) => {
            let look = super::trace_view::Look {
                unicode: console.interactive
                    && std::io::IsTerminal::is_terminal(&std::io::stdout()),
                style: console.style,
                width: super::term::info_terminal_width(console.interactive),
            };
            // Coloured: render makes the recorded names and values printable itself.
            console.info_styled(&super::trace_view::render(&trace, turn, look));
        }
        None => console.info(&format!(
            "The spans of turn {turn} are no longer in memory (or were not sampled)."
        )),
    }
    Ok(Flow::Continue)
}

/// Values of the token-type attribute on the token counter (`type` / `gen_ai.token.type`).
const TOKENS_INPUT: &str = "input";
const TOKENS_OUTPUT: &str = "output";

/// `/stats`: read from the same meter provider the exporter uses.
fn stats(repl: &mut Repl<'_>, _args: &str) -> Result<Flow, Usage> {
    let Some(stats) = repl
        .session
        .telemetry()
        .stats
        .as_ref()
        .and_then(|r| r.snapshot())
    else {
        repl.console.info(
            "Telemetry is off (--no-telemetry or OTEL_SDK_DISABLED=true): no metrics were recorded.",
        );
        return Ok(Flow::Continue);
    };
    let count = |map: &BTreeMap<String, u64>, key: &str| map.get(key).copied().unwrap_or(0);
    let turns: u64 = stats.turns.values().sum();
    let seconds = |v: Option<f64>| v.map(|s| format!("{s:.3} s")).unwrap_or_else(|| "–".into());
    let mut lines = vec![
        "Session statistics (cumulative, from the metrics SDK; percentiles estimated from histogram buckets)".to_string(),
        format!("  conversation  {}", repl.session.conversation_id()),
        format!(
            "  turns         {turns}  (success {}, error {}, cancelled {})",
            count(&stats.turns, metric::STATUS_SUCCESS),
            count(&stats.turns, metric::STATUS_ERROR),
            count(&stats.turns, metric::STATUS_CANCELLED)
        ),
        format!(
            "  tokens        input {}, output {}{}",
            count(&stats.tokens, TOKENS_INPUT),
            count(&stats.tokens, TOKENS_OUTPUT),
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
    // Only thinking models have a thinking phase; the line appears once one thought.
    if stats.thinking.count > 0 {
        lines.push(format!(
            "  thinking      p50 {}  over {} replies",
            seconds(stats.thinking.quantile(0.5)),
            stats.thinking.count
        ));
    }
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
    repl.console.info(&lines.join("\n"));
    Ok(Flow::Continue)
}

/// The parsed arguments of `/feedback`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FeedbackArgs {
    pub(crate) good: bool,
    pub(crate) comment: Option<String>,
    /// Hex trace id and span id of an earlier turn (maybe from another session).
    pub(crate) target: Option<(String, String)>,
}

/// `/feedback good|bad [--trace TRACE_ID SPAN_ID] [comment]`.
pub(crate) fn feedback_args(args: &str) -> Result<FeedbackArgs, Usage> {
    let mut words = args.split_whitespace();
    let good = match words.next() {
        Some("good" | "+" | "+1") => true,
        Some("bad" | "-" | "-1") => false,
        _ => return Err(Usage),
    };
    let mut rest: Vec<&str> = words.collect();
    let target = if rest.first() == Some(&"--trace") {
        match rest.get(1..3) {
            Some([trace, span]) => {
                let target = Some((trace.to_string(), span.to_string()));
                rest.drain(..3);
                target
            }
            _ => return Err(Usage),
        }
    } else {
        None
    };
    let comment = (!rest.is_empty()).then(|| rest.join(" "));
    Ok(FeedbackArgs {
        good,
        comment,
        target,
    })
}

fn feedback(repl: &mut Repl<'_>, args: &str) -> Result<Flow, Usage> {
    let FeedbackArgs {
        good,
        comment,
        target,
    } = feedback_args(args)?;
    let rating = if good { Rating::Good } else { Rating::Bad };
    let target = match target.map(|(t, s)| remote_span_context(&t, &s)).transpose() {
        Ok(target) => target,
        Err(why) => {
            repl.console.error(&format!("invalid --trace: {why}"));
            return Ok(Flow::Continue);
        }
    };
    match repl
        .session
        .feedback(rating, comment.as_deref(), target.clone())
    {
        Ok(feedback) => {
            let judged = target
                .or_else(|| repl.session.turn_root(repl.session.turns()).cloned())
                .map(|t| format!(" (linked to trace {} span {})", t.trace_id(), t.span_id()))
                .unwrap_or_default();
            repl.console
                .info(&format!("Recorded '{}' feedback{judged}.", rating.as_str()));
            if feedback.is_sampled() {
                let line = repl.trace_line(feedback.trace_id());
                repl.console.status(&line);
            }
        }
        Err(why) => repl.console.error(&why),
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> (&'static str, String) {
        match parse(line) {
            Input::Command(spec, args) => (spec.usage, args),
            other => panic!("{line:?} is not a command: {other:?}"),
        }
    }

    /// Text is a prompt; blank is empty; aliases map to one command.
    #[test]
    fn prompts_and_aliases() {
        assert_eq!(parse("  "), Input::Empty);
        assert_eq!(parse("hello there"), Input::Prompt("hello there".into()));
        for bye in ["/bye", "/exit", "/quit", " /quit "] {
            assert_eq!(command(bye).0, "/bye, /exit, /quit");
        }
        assert_eq!(command("/?").0, "/help, /?");
        assert_eq!(command("/list").0, "/models, /list");
    }

    /// Arguments are parsed and checked.
    #[test]
    fn arguments() {
        assert_eq!(model_arg(&command("/model").1), Ok(None));
        assert_eq!(
            model_arg(&command("/model qwen3:0.6b").1),
            Ok(Some("qwen3:0.6b"))
        );
        assert_eq!(model_arg("two words"), Err(Usage));
        assert_eq!(
            command("/set temperature 0.2"),
            ("/set temperature X", "0.2".to_string())
        );
        assert_eq!(parse("/set top_k 3"), Input::Usage(&COMMANDS[3]));
        assert_eq!(
            usage_of(&COMMANDS[3]),
            "/set temperature X | /set parameter NAME VALUE | /set think [LEVEL] | /set nothink | /set hidethinking | /set showthinking | /set wordwrap | /set nowordwrap"
        );
        assert_eq!(
            command("/set parameter stop User: "),
            ("/set parameter NAME VALUE", "stop User:".to_string())
        );
        assert_eq!(
            command("/set think high"),
            ("/set think [LEVEL]", "high".to_string())
        );
        assert_eq!(
            command("/show parameters"),
            ("/show parameters", String::new())
        );
        assert_eq!(
            command("/system Be terse.  "),
            ("/system [TEXT]", "Be terse.".to_string())
        );
        assert_eq!(command("/set nowordwrap").0, "/set nowordwrap");
        assert_eq!(command("/show info").0, "/show info");
    }

    /// `/feedback` takes a rating, an optional earlier turn, and a comment.
    #[test]
    fn feedback() {
        assert_eq!(
            feedback_args(&command("/feedback bad too long").1),
            Ok(FeedbackArgs {
                good: false,
                comment: Some("too long".into()),
                target: None
            })
        );
        assert_eq!(
            feedback_args("good --trace aa bb"),
            Ok(FeedbackArgs {
                good: true,
                comment: None,
                target: Some(("aa".into(), "bb".into()))
            })
        );
        assert_eq!(feedback_args("meh"), Err(Usage));
        assert_eq!(feedback_args("good --trace aa"), Err(Usage));
        assert_eq!(trace_arg(&command("/trace 2").1), Ok(Some(2)));
        assert_eq!(trace_arg("0"), Err(Usage));
    }

    /// An unknown command is never a prompt.
    #[test]
    fn unknown_is_not_a_prompt() {
        assert_eq!(parse("/foo bar"), Input::Unknown("/foo".into()));
    }

    /// Every command and alias the parser knows is in `/help`, and the other way round.
    #[test]
    fn help_lists_what_the_parser_knows() {
        let help = help_table(true, 80);
        for spec in COMMANDS {
            for name in std::iter::once(spec.name).chain(spec.aliases.iter().copied()) {
                assert!(
                    help.contains(&format!("/{name}")),
                    "/{name} missing:\n{help}"
                );
                assert!(
                    !matches!(parse(&format!("/{name}")), Input::Unknown(_)),
                    "/{name}"
                );
            }
        }
        for sub in SET.iter().chain(SHOW) {
            assert!(help.contains(sub.usage), "{} missing:\n{help}", sub.usage);
        }
    }

    /// `/help` fits 40 and 80 columns, and the `/feedback` row stays in its column.
    #[test]
    fn help_fits_the_terminal() {
        for width in [40, 60, 80] {
            for interactive in [true, false] {
                let help = help_table(interactive, width);
                for line in help.lines() {
                    assert!(
                        crate::repl::term::columns(line) <= width,
                        "{width}: {line:?}"
                    );
                }
            }
        }
        let help = help_table(true, 80);
        let column = |l: &str| l.find("Show this help").or_else(|| l.find("Rate the last"));
        let rows: Vec<usize> = help.lines().filter_map(column).collect();
        assert_eq!(rows.len(), 2, "{help}");
        assert_eq!(rows[0], rows[1], "summaries start in one column:\n{help}");
    }

    /// Piped mode's help does not offer what only a terminal has.
    #[test]
    fn piped_help_has_no_terminal_only_parts() {
        assert!(!help_keys(false).contains("\"\"\""));
        assert!(help_keys(true).contains("\"\"\""));
        assert!(!help_table(false, 80).contains("wordwrap"));
        assert!(help_table(true, 80).contains("/set wordwrap"));
    }

    /// Settings lines wrap under their value column.
    #[test]
    fn settings_lines_keep_their_column() {
        let text = fit(
            "Telemetry:   on; no collector at localhost:4318: see it with /trace and /stats\nplain words here",
            40,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Telemetry:   on; "), "{text}");
        assert!(
            lines[1].starts_with("             ") && !lines[1].starts_with("              "),
            "{text}"
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 40), "{text}");
        assert_eq!(lines.last(), Some(&"plain words here"));
    }

    /// Completion offers commands, aliases and sub-commands by prefix.
    #[test]
    fn completion() {
        assert_eq!(
            complete("/mo", 3),
            (1, vec!["model".to_string(), "models".to_string()])
        );
        assert_eq!(complete("/set w", 6), (5, vec!["wordwrap".to_string()]));
        assert_eq!(
            complete("/show ", 6),
            (6, vec!["info".to_string(), "parameters".to_string()])
        );
        assert_eq!(complete("/set th", 7), (5, vec!["think".to_string()]));
        assert_eq!(complete("hello /mo", 9).1, Vec::<String>::new());
        assert_eq!(complete("/model qw", 9).1, Vec::<String>::new());
    }
}
