//! Slash commands: parsing a line into a prompt or a command, and the help table.
//!
//! Parsing is pure (no I/O, no session), so every rule is unit-tested here; what each
//! command *does* lives in `repl`, next to the session it changes. A line that starts
//! with `/` is never sent to the model, even when it is not a known command.

/// A parsed input line.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Nothing to do (a blank line).
    Empty,
    /// Text for the model.
    Prompt(String),
    Command(Command),
}

/// A slash command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help,
    Bye,
    Clear,
    /// `/model` shows the current model, `/model NAME` switches.
    Model(Option<String>),
    Models,
    /// `/set temperature X` (the raw value; validated when applied).
    SetTemperature(String),
    /// `/system TEXT` sets the system prompt; `/system` alone shows it.
    System(Option<String>),
    History,
    /// `/trace [N]`: draw the span tree of turn N (default: the last turn).
    Trace(Option<u64>),
    /// `/stats`: this session's numbers, from the metrics SDK.
    Stats,
    /// `/feedback good|bad [--trace TRACE_ID SPAN_ID] [comment]`.
    Feedback {
        good: bool,
        comment: Option<String>,
        /// Hex trace id and span id of an earlier turn (maybe from another session).
        target: Option<(String, String)>,
    },
    /// A known command used wrongly, with the usage line to show.
    Usage(&'static str),
    /// Not a command we know.
    Unknown(String),
}

/// One row of `/help`: the command as typed, and what it does.
pub const HELP: &[(&str, &str)] = &[
    ("/help, /?", "Show this help"),
    (
        "/model [NAME]",
        "Show the model, or switch to NAME (the conversation is kept)",
    ),
    ("/models", "List the models Ollama has pulled"),
    (
        "/set temperature X",
        "Set the sampling temperature (0 to 2)",
    ),
    (
        "/system TEXT",
        "Set the system prompt sent before the conversation",
    ),
    ("/history", "Show the conversation so far"),
    (
        "/trace [N]",
        "Draw the span tree of the last turn (or of turn N)",
    ),
    (
        "/stats",
        "This session's numbers: turns, tokens, latency, errors",
    ),
    (
        "/feedback good|bad [TEXT]",
        "Rate the last reply (a span linked to its trace); --trace ID SPAN for an older one",
    ),
    (
        "/clear",
        "Forget the conversation (the system prompt is kept)",
    ),
    ("/bye, /exit, /quit", "Leave (Ctrl-D also works)"),
];

/// Parses one line of input.
pub fn parse(line: &str) -> Input {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Input::Empty;
    }
    let Some(rest) = trimmed.strip_prefix('/') else {
        return Input::Prompt(line.trim_end_matches(['\r', '\n']).to_string());
    };
    let (name, args) = match rest.split_once(char::is_whitespace) {
        Some((name, args)) => (name, args.trim()),
        None => (rest, ""),
    };
    let arg = (!args.is_empty()).then(|| args.to_string());
    Input::Command(match name {
        "help" | "?" => Command::Help,
        "bye" | "exit" | "quit" => Command::Bye,
        "clear" => Command::Clear,
        "model" => match &arg {
            Some(a) if a.contains(char::is_whitespace) => Command::Usage("/model [NAME]"),
            _ => Command::Model(arg),
        },
        "models" | "list" => Command::Models,
        "set" => match args.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["temperature", value] => Command::SetTemperature(value.to_string()),
            _ => Command::Usage("/set temperature X"),
        },
        "system" => Command::System(arg),
        "history" => Command::History,
        "trace" => match args {
            "" => Command::Trace(None),
            n => match n.parse::<u64>() {
                Ok(n) if n > 0 => Command::Trace(Some(n)),
                _ => Command::Usage("/trace [N]  (N = turn number, 1 for the first)"),
            },
        },
        "stats" => Command::Stats,
        "feedback" => parse_feedback(args),
        _ => Command::Unknown(format!("/{name}")),
    })
}

const FEEDBACK_USAGE: &str = "/feedback good|bad [--trace TRACE_ID SPAN_ID] [comment]";

fn parse_feedback(args: &str) -> Command {
    let mut words = args.split_whitespace();
    let good = match words.next() {
        Some("good" | "+" | "+1") => true,
        Some("bad" | "-" | "-1") => false,
        _ => return Command::Usage(FEEDBACK_USAGE),
    };
    let mut rest: Vec<&str> = words.collect();
    let target = if rest.first() == Some(&"--trace") {
        match rest.get(1..3) {
            Some([trace, span]) => {
                let target = Some((trace.to_string(), span.to_string()));
                rest.drain(..3);
                target
            }
            _ => return Command::Usage(FEEDBACK_USAGE),
        }
    } else {
        None
    };
    let comment = (!rest.is_empty()).then(|| rest.join(" "));
    Command::Feedback {
        good,
        comment,
        target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text is a prompt; blank is empty; aliases map to one command.
    #[test]
    fn prompts_and_aliases() {
        assert_eq!(parse("  "), Input::Empty);
        assert_eq!(parse("hello there"), Input::Prompt("hello there".into()));
        for bye in ["/bye", "/exit", "/quit", " /quit "] {
            assert_eq!(parse(bye), Input::Command(Command::Bye));
        }
        assert_eq!(parse("/?"), Input::Command(Command::Help));
    }

    /// Arguments are parsed and checked.
    #[test]
    fn arguments() {
        assert_eq!(parse("/model"), Input::Command(Command::Model(None)));
        assert_eq!(
            parse("/model qwen3:0.6b"),
            Input::Command(Command::Model(Some("qwen3:0.6b".into())))
        );
        assert_eq!(
            parse("/set temperature 0.2"),
            Input::Command(Command::SetTemperature("0.2".into()))
        );
        assert_eq!(
            parse("/set top_k 3"),
            Input::Command(Command::Usage("/set temperature X"))
        );
        assert_eq!(
            parse("/system Be terse.  "),
            Input::Command(Command::System(Some("Be terse.".into())))
        );
    }

    /// `/feedback` takes a rating, an optional earlier turn, and a comment.
    #[test]
    fn feedback() {
        assert_eq!(
            parse("/feedback bad too long"),
            Input::Command(Command::Feedback {
                good: false,
                comment: Some("too long".into()),
                target: None
            })
        );
        assert_eq!(
            parse("/feedback good --trace aa bb"),
            Input::Command(Command::Feedback {
                good: true,
                comment: None,
                target: Some(("aa".into(), "bb".into()))
            })
        );
        assert!(matches!(
            parse("/feedback meh"),
            Input::Command(Command::Usage(_))
        ));
        assert!(matches!(
            parse("/feedback good --trace aa"),
            Input::Command(Command::Usage(_))
        ));
        assert_eq!(parse("/trace 2"), Input::Command(Command::Trace(Some(2))));
        assert!(matches!(
            parse("/trace 0"),
            Input::Command(Command::Usage(_))
        ));
    }

    /// An unknown command is never a prompt.
    #[test]
    fn unknown_is_not_a_prompt() {
        assert_eq!(
            parse("/foo bar"),
            Input::Command(Command::Unknown("/foo".into()))
        );
    }
}
