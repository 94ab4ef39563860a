//! The resolved, validated configuration: flag > environment > default.
//!
//! clap does most of the work ([`cli::Cli`]: each flag's variable, default and typed
//! parser) and tells us where each value came from (`ArgMatches::value_source`); the
//! rules it cannot express are small functions in the files next to this one:
//!
//! * [`env`]: "empty means unset", and the variables without a flag of their own;
//! * [`ollama_host`]: the `OLLAMA_HOST` fallback and Ollama's host format;
//! * [`values`]: the typed parsers and defaults; [`export`]: `--export`'s targets;
//! * [`sdk_env`]: the SDK's own variables (`OTEL_BSP_*`, the sampler, …) that would do harm;
//! * OTLP's own variables are resolved by `telemetry::otlp`, the one place for their rules.
//!
//! Each setting keeps its origin (see [`Setting`]), which `/help` and `doctor` show so a
//! user can tell why a value is what it is.

pub mod cli;
pub(crate) mod env;
mod export;
mod ollama_host;
mod sdk_env;
mod source;
mod values;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use url::Url;

pub use self::cli::{Cli, Command};
pub use self::export::ExportTarget;
pub use self::source::{Setting, Source};
use crate::chat::parameters;
use crate::ollama::wire::{ChatOptions, Think};
use crate::telemetry::otlp::{Origin, OtlpError};
pub use crate::telemetry::otlp::{OtlpProtocol, OtlpSettings};

/// A configuration error: one line for the user, exit code 2.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Why the command line did not produce a [`Config`].
#[derive(Debug)]
pub enum ArgsError {
    /// `--help` or `--version`: clap's text, to print on stdout; exit 0.
    Info(clap::Error),
    /// Anything invalid: one line, exit 2.
    Invalid(ConfigError),
}

/// Which saved conversation to continue at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// `--resume NAME`.
    Named(String),
    /// `--continue`: the most recently saved one.
    Latest,
}

/// Where the JSON log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    File(PathBuf),
    Stderr,
}

/// Everything the program needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub ollama_url: Url,
    pub model: String,
    pub temperature: f64,
    pub system_prompt: Option<String>,
    pub ollama_timeout: Duration,
    /// OTLP's protocol, endpoints, timeouts and headers (see `telemetry::otlp`).
    pub otlp: OtlpSettings,
    /// Where telemetry goes (`--export`).
    pub export: ExportTarget,
    pub telemetry_enabled: bool,
    pub capture_content: bool,
    pub log_target: LogTarget,
    pub log_level: tracing::Level,
    pub jaeger_ui_url: String,
    pub history_file: Option<PathBuf>,
    /// The request's `think` (`--think`); `None` sends none.
    pub think: Option<Think>,
    /// Print the model's reasoning (`--hidethinking` turns it off).
    pub show_thinking: bool,
    /// Ollama's `options`: `--temperature` and every `--option NAME=VALUE`.
    pub options: ChatOptions,
    /// Word-wrap replies on a terminal (`--nowordwrap` turns it off).
    pub wordwrap: bool,
    /// `--demo`: the built-in demo model answers instead of Ollama (see `crate::demo`).
    pub demo: bool,
    /// Where `/save` writes conversations (`$XDG_STATE_HOME/chatbot-otel/sessions`).
    pub sessions_dir: Option<PathBuf>,
    /// `--resume NAME` / `--continue`: the saved conversation to start from.
    pub resume: Option<Resume>,
    /// The `mcpServers` file: `--mcp-config`, else the default one if it exists.
    pub mcp_config: Option<PathBuf>,
    /// Piped tool policy: `--allow-tools`, `--allow-tool NAME`.
    pub allow_tools: bool,
    pub allow_tool: Vec<String>,
    /// `--tool-timeout`.
    pub tool_timeout: Duration,
    /// Warnings to show once at start-up (a value we ignored, with the reason).
    pub warnings: Vec<String>,
    /// Every setting with its origin, in display order.
    pub settings: Vec<Setting>,
}

impl Config {
    /// Parses the process's arguments and environment: the subcommand, if any, and the
    /// configuration.
    pub fn from_args<I, T>(args: I) -> Result<(Option<Command>, Config), ArgsError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let raw_env = |name: &str| std::env::var(name).ok();
        // clap reads the variables named by `env = …` itself, as they are now.
        let cmd = env::unset_blank_env(Cli::command(), &raw_env);
        let invalid = |e: clap::Error| ArgsError::Invalid(ConfigError(explain(&e, &cmd, &args)));
        let matches = match cmd.clone().try_get_matches_from(&args) {
            Ok(m) => m,
            Err(e) if !e.use_stderr() => return Err(ArgsError::Info(e)),
            Err(e) => return Err(invalid(e)),
        };
        let mut cli = Cli::from_arg_matches(&matches).map_err(invalid)?;
        let command = cli.command.take();
        let config = Config::resolve(cli, &cmd, &matches, &env::var).map_err(ArgsError::Invalid)?;
        Ok((command, config))
    }

    /// Builds the configuration from the parsed flags, clap's matches they came from (for
    /// each value's origin) and, for what clap does not read, `env` (which must already
    /// treat empty values as unset).
    pub(crate) fn resolve(
        cli: Cli,
        cmd: &clap::Command,
        matches: &ArgMatches,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let origin = |id: &str| Source::of(cmd, matches, id);
        let mut settings = Vec::new();
        let mut warnings = Vec::new();

        let mut ollama_source = origin("ollama_url");
        let ollama_url =
            match ollama_host::ollama_host_fallback(ollama_source != Source::Default, env)
                .map_err(ConfigError)?
            {
                Some(url) => {
                    ollama_source = Source::env("OLLAMA_HOST");
                    url
                }
                None => cli.ollama_url,
            };
        // Shown by /help and doctor: never the password of an `http://user:pw@host` URL.
        settings.push(Setting::new(
            "Ollama URL",
            crate::text::redacted_url(&ollama_url).trim_end_matches('/'),
            ollama_source,
        ));
        settings.push(Setting::new("model", &cli.model, origin("model")));
        settings.push(Setting::new(
            "temperature",
            cli.temperature.to_string(),
            origin("temperature"),
        ));

        let system_prompt = cli.system.filter(|s| !s.trim().is_empty());
        settings.push(Setting::new(
            "system prompt",
            system_prompt.as_deref().unwrap_or("(none)"),
            match system_prompt {
                Some(_) => Source::flag("--system"),
                None => Source::Default,
            },
        ));
        settings.push(Setting::new(
            "Ollama timeout",
            format!("{} s", cli.timeout.as_secs_f64()),
            origin("timeout"),
        ));

        let sdk_disabled = env::sdk_disabled(env);
        let telemetry_enabled = !(cli.no_telemetry || sdk_disabled);
        settings.push(Setting::new(
            "telemetry",
            if telemetry_enabled { "on" } else { "off" },
            if cli.no_telemetry {
                Source::flag("--no-telemetry")
            } else if sdk_disabled {
                Source::env("OTEL_SDK_DISABLED")
            } else {
                Source::Default
            },
        ));

        // The SDK's own variables, before the SDK reads them (see `sdk_env`).
        if telemetry_enabled {
            warnings.extend(sdk_env::check(env).map_err(ConfigError)?);
        }

        let otlp_in_use = telemetry_enabled && cli.export == ExportTarget::Otlp;
        let otlp = match OtlpSettings::resolve(cli.otlp_endpoint.as_ref(), env) {
            Ok(otlp) => otlp,
            // A bad OTLP endpoint does not matter when nothing is sent over OTLP: resolve
            // again without the endpoint variables.
            Err(OtlpError::Endpoint(_)) if !otlp_in_use => {
                let without_endpoints =
                    |name: &str| env(name).filter(|_| !name.ends_with("ENDPOINT"));
                OtlpSettings::resolve(None, &without_endpoints)
                    .map_err(|e| ConfigError(e.to_string()))?
            }
            Err(e) => return Err(ConfigError(e.to_string())),
        };
        warnings.extend(otlp.warnings.iter().cloned());
        let from = |o: Origin| match o {
            Origin::Flag => Source::flag("--otlp-endpoint"),
            Origin::Env(var) => Source::env(var),
            Origin::Default => Source::Default,
        };
        // As given, but with any credentials masked: this list is printed by `doctor`.
        let shown_base = match url::Url::parse(&otlp.base) {
            Ok(u) if !u.username().is_empty() || u.password().is_some() => {
                crate::text::redacted_url(&u)
            }
            _ => otlp.base.clone(),
        };
        settings.push(Setting::new(
            "OTLP endpoint",
            shown_base,
            from(otlp.base_origin),
        ));
        settings.push(Setting::new(
            "OTLP protocol",
            otlp.protocol.as_str(),
            from(otlp.protocol_origin),
        ));
        settings.push(Setting::new(
            "export",
            cli.export.to_string(),
            origin("export"),
        ));

        // Content capture: on by default (a local learning tool), off by flag or by the
        // variable the OTel GenAI utilities define.
        let (capture_content, source) = if cli.no_capture_content {
            (false, Source::flag("--no-capture-content"))
        } else {
            match env::capture_content(env) {
                Ok(Some(on)) => (on, Source::env(env::CAPTURE_VAR)),
                Ok(None) => (true, Source::Default),
                Err(warning) => {
                    warnings.push(warning);
                    (true, Source::Default)
                }
            }
        };
        settings.push(Setting::new(
            "capture content",
            if capture_content { "on" } else { "off" },
            source,
        ));

        let state_dir = env::state_dir(env);
        let (log_target, source) =
            match cli.log_file {
                Some(path) => (log_target(path), origin("log_file")),
                None => match &state_dir {
                    Some(dir) => (
                        LogTarget::File(dir.join("chatbot-otel.log")),
                        Source::Default,
                    ),
                    None => return Err(ConfigError(
                        "cannot find a home directory for the log file: set LOG_FILE or --log-file"
                            .into(),
                    )),
                },
            };
        settings.push(Setting::new(
            "log file",
            match &log_target {
                LogTarget::File(p) => p.display().to_string(),
                LogTarget::Stderr => "stderr".to_string(),
            },
            source,
        ));

        let think = cli.think;
        settings.push(Setting::new(
            "think",
            think.map_or("(not sent: the server decides)", |t| t.as_str()),
            origin("think"),
        ));
        settings.push(Setting::new(
            "reasoning",
            if cli.hidethinking { "hidden" } else { "shown" },
            if cli.hidethinking {
                Source::flag("--hidethinking")
            } else {
                Source::Default
            },
        ));
        // `--option` values use the same names, checks and messages as `/set parameter`.
        let mut options = ChatOptions {
            temperature: cli.temperature,
            ..ChatOptions::default()
        };
        for assignment in &cli.options {
            parameters::set_assignment(&mut options, assignment)
                .map_err(|why| ConfigError(format!("{why} (from --option)")))?;
        }
        let set: Vec<String> = parameters::list(&options)
            .into_iter()
            .filter(|(name, _)| *name != "temperature")
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        settings.push(Setting::new(
            "model options",
            if set.is_empty() {
                "(none)".to_string()
            } else {
                set.join(" ")
            },
            if cli.options.is_empty() {
                Source::Default
            } else {
                Source::flag("--option")
            },
        ));

        // Tools: which file lists the MCP servers, and what may run without a question.
        let mcp_source = if cli.mcp_config.is_some() {
            Source::flag("--mcp-config")
        } else {
            Source::Default
        };
        let mcp_config = cli.mcp_config.or_else(|| {
            env::config_dir(env)
                .map(|d| d.join("mcp.json"))
                .filter(|p| p.is_file())
        });
        settings.push(Setting::new(
            "MCP servers",
            mcp_config
                .as_ref()
                .map_or("(none: no mcp.json)".to_string(), |p| {
                    p.display().to_string()
                }),
            mcp_source,
        ));
        // At a terminal every call is asked about; the flags decide for piped input only.
        let (allowed, source) = if cli.allow_tools {
            (
                "piped: all; at a terminal: asked".to_string(),
                Source::flag("--allow-tools"),
            )
        } else if !cli.allow_tool.is_empty() {
            (
                format!("piped: {}; at a terminal: asked", cli.allow_tool.join(" ")),
                Source::flag("--allow-tool"),
            )
        } else {
            (
                "piped: none; at a terminal: asked".to_string(),
                Source::Default,
            )
        };
        settings.push(Setting::new("tools allowed", &allowed, source));
        settings.push(Setting::new(
            "tool timeout",
            format!("{} s", cli.tool_timeout.as_secs_f64()),
            origin("tool_timeout"),
        ));

        let (log_level, source) = env::log_level(env).map_err(ConfigError)?;
        settings.push(Setting::new("log level", log_level.as_str(), source));
        let (jaeger_ui_url, source) = env::jaeger_ui_url(env).map_err(ConfigError)?;
        settings.push(Setting::new("Jaeger UI", &jaeger_ui_url, source));

        Ok(Config {
            ollama_url,
            model: cli.model,
            temperature: options.temperature,
            system_prompt,
            ollama_timeout: cli.timeout,
            otlp,
            export: cli.export,
            telemetry_enabled,
            capture_content,
            log_target,
            log_level,
            jaeger_ui_url,
            history_file: state_dir.as_ref().map(|d| d.join("history")),
            sessions_dir: state_dir.map(|d| d.join("sessions")),
            mcp_config,
            allow_tools: cli.allow_tools,
            allow_tool: cli.allow_tool,
            tool_timeout: cli.tool_timeout,
            resume: match (cli.resume, cli.continue_last) {
                (Some(name), _) => Some(Resume::Named(name)),
                (None, true) => Some(Resume::Latest),
                (None, false) => None,
            },
            think,
            show_thinking: !cli.hidethinking,
            options,
            wordwrap: !cli.nowordwrap,
            demo: cli.demo,
            warnings,
            settings,
        })
    }

    /// The link to a trace in the tracing UI, or `None` when traces do not go to the
    /// collector (`--export file:|console|none`): a Jaeger link would point at nothing.
    pub fn trace_url(&self, trace_id: &str) -> Option<String> {
        (self.export == ExportTarget::Otlp)
            .then(|| format!("{}/trace/{trace_id}", self.jaeger_ui_url))
    }

    /// The status line printed after a turn: `trace: <id>`, plus its Jaeger link when
    /// traces go to the collector (see [`Config::trace_url`]).
    pub fn trace_line(&self, trace_id: impl fmt::Display) -> String {
        let id = trace_id.to_string();
        match self.trace_url(&id) {
            Some(url) => format!("trace: {id}  {url}"),
            None => format!("trace: {id}"),
        }
    }

    /// The log file path, if logs go to a file.
    pub fn log_file(&self) -> Option<&PathBuf> {
        match &self.log_target {
            LogTarget::File(p) => Some(p),
            LogTarget::Stderr => None,
        }
    }
}

/// Parses a temperature typed at the prompt (`/set temperature X`).
pub fn parse_temperature_value(raw: &str) -> Result<f64, String> {
    values::parse_temperature(raw).map_err(|why| format!("invalid temperature {raw:?}: {why}"))
}

fn log_target(path: PathBuf) -> LogTarget {
    if path.as_os_str() == "-" {
        LogTarget::Stderr
    } else {
        LogTarget::File(path)
    }
}

/// clap's error as one line. For a refused value, the line names where the value came
/// from when it was an environment variable — clap names only the flag, which the user
/// may never have typed.
fn explain(e: &clap::Error, cmd: &clap::Command, args: &[OsString]) -> String {
    let rendered = e.to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.trim_start_matches("error: ").to_string();
    if e.kind() != ErrorKind::ValueValidation {
        return first;
    }
    let (Some(ContextValue::String(arg)), Some(ContextValue::String(value))) = (
        e.get(ContextKind::InvalidArg),
        e.get(ContextKind::InvalidValue),
    ) else {
        return first;
    };
    let long = arg.split_whitespace().next().unwrap_or_default();
    let var = cmd
        .get_arguments()
        .find(|a| a.get_long().is_some_and(|l| format!("--{l}") == long))
        .and_then(|a| a.get_env())
        .map(|n| n.to_string_lossy().into_owned());
    // The variable supplied the value if it holds it and the flag was not typed.
    let typed = args
        .iter()
        .map(|a| a.to_string_lossy())
        .any(|a| a == long || a.starts_with(&format!("{long}=")));
    match var {
        Some(var) if !typed && env::var(&var).as_deref() == Some(value.as_str()) => {
            let why = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            format!("invalid value '{value}' for '{arg}' (from environment {var}): {why}")
        }
        _ => first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Parses `args` with no environment at all: clap's `env = …` bindings are removed,
    /// and `vars` stands in for the variables read outside clap.
    fn parse(args: &[&str], vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.entry("HOME".into()).or_insert_with(|| "/home/u".into());
        let cmd = Cli::command().mut_args(|a| a.env(None));
        let argv: Vec<OsString> = std::iter::once("chatbot-otel")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let invalid = |e: clap::Error| ConfigError(explain(&e, &cmd, &argv));
        let matches = cmd.clone().try_get_matches_from(&argv).map_err(invalid)?;
        let cli = Cli::from_arg_matches(&matches).map_err(invalid)?;
        let env = |k: &str| env::non_blank(map.get(k).cloned());
        Config::resolve(cli, &cmd, &matches, &env)
    }

    /// With nothing set, the documented defaults apply, all from "default".
    #[test]
    fn defaults() {
        let c = parse(&[], &[]).unwrap();
        assert_eq!(c.ollama_url.as_str(), "http://localhost:11434/");
        assert_eq!(c.model, "llama3.1:8b");
        assert_eq!(c.temperature, 0.7);
        assert_eq!(c.ollama_timeout, Duration::from_secs(300));
        assert!(c.telemetry_enabled && c.capture_content);
        assert_eq!(c.otlp.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(c.export, ExportTarget::Otlp);
        assert_eq!(
            c.log_target,
            LogTarget::File("/home/u/.local/state/chatbot-otel/chatbot-otel.log".into())
        );
        assert_eq!(c.log_level, tracing::Level::INFO);
        assert!(
            c.settings.iter().all(|s| s.source == Source::Default),
            "{:?}",
            c.settings
        );
    }

    /// The flag beats OLLAMA_HOST, and says so.
    #[test]
    fn ollama_url_precedence() {
        let c = parse(&[], &[("OLLAMA_HOST", "h:2")]).unwrap();
        assert_eq!(c.ollama_url.as_str(), "http://h:2/");
        assert_eq!(c.settings[0].source, Source::env("OLLAMA_HOST"));
        let c = parse(&["--ollama-url", "http://f:3"], &[("OLLAMA_HOST", "h:2")]).unwrap();
        assert_eq!(c.ollama_url.as_str(), "http://f:3/");
        assert_eq!(c.settings[0].source, Source::flag("--ollama-url"));
    }

    /// Bad values are one-line errors that name the setting.
    #[test]
    fn invalid_values() {
        for (args, vars) in [
            (&["--temperature", "hot"][..], &[][..]),
            (&["--temperature", "-0.1"], &[]),
            (&["--timeout", "-1"], &[]),
            (&["--ollama-url", "not a url"], &[]),
            (&["--export", "jaeger"], &[]),
            (&["--otlp-endpoint", "garbage"], &[]),
            (&[], &[("LOG_LEVEL", "loud")]),
            (&[], &[("OLLAMA_HOST", "a b:c")]),
            (&[], &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]),
            (&[], &[("OTEL_EXPORTER_OTLP_ENDPOINT", "garbage")]),
            (&[], &[("JAEGER_UI_URL", "nope")]),
        ] {
            let e = parse(args, vars).unwrap_err().0;
            assert!(
                !e.contains('\n') && !e.starts_with("error"),
                "{args:?} {vars:?}: {e}"
            );
        }
        let e = parse(&["--temperature", "-0.1"], &[]).unwrap_err().0;
        assert!(e.contains("--temperature") && e.contains("0 to 2"), "{e}");
        let e = parse(&["--export", "file:"], &[]).unwrap_err().0;
        assert!(e.contains("--export") && e.contains("needs a path"), "{e}");
    }

    /// A bad OTLP endpoint in the environment matters only when OTLP is used.
    #[test]
    fn otlp_endpoint_checked_only_when_used() {
        let garbage = [("OTEL_EXPORTER_OTLP_ENDPOINT", "garbage")];
        assert!(parse(&["--export", "none"], &garbage).is_ok());
        assert!(parse(&["--no-telemetry"], &garbage).is_ok());
        let e = parse(&[], &garbage).unwrap_err().0;
        assert!(e.contains("http://localhost:4318"), "{e}");
    }

    /// --no-capture-content beats the variable; junk in the variable warns.
    #[test]
    fn capture_content() {
        let var = env::CAPTURE_VAR;
        assert!(!parse(&[], &[(var, "false")]).unwrap().capture_content);
        let c = parse(&[], &[(var, "maybe")]).unwrap();
        assert!(c.capture_content && c.warnings.len() == 1);
        assert!(
            !parse(&["--no-capture-content"], &[(var, "true")])
                .unwrap()
                .capture_content
        );
    }

    /// OTEL_SDK_DISABLED=true turns telemetry off and is named as the reason.
    #[test]
    fn sdk_disabled() {
        let c = parse(&[], &[("OTEL_SDK_DISABLED", "true")]).unwrap();
        assert!(!c.telemetry_enabled);
        let shown = c.settings.iter().find(|s| s.name == "telemetry").unwrap();
        assert_eq!(shown.source, Source::env("OTEL_SDK_DISABLED"));
    }

    /// `--export none` has no trace link; `--log-file -` means stderr.
    #[test]
    fn export_and_log_file() {
        let c = parse(&["--export", "none", "--log-file", "-"], &[]).unwrap();
        assert_eq!(c.trace_url("ab"), None);
        assert_eq!(c.log_target, LogTarget::Stderr);
        let c = parse(&["--export", "file:/tmp/t.jsonl"], &[]).unwrap();
        assert_eq!(c.export, ExportTarget::File("/tmp/t.jsonl".into()));
        assert_eq!(c.trace_line("ab"), "trace: ab");
        let c = parse(&[], &[]).unwrap();
        assert_eq!(
            c.trace_line("ab"),
            "trace: ab  http://localhost:16686/trace/ab"
        );
    }

    /// Flags after the subcommand work too (they are global).
    #[test]
    fn doctor_takes_global_flags() {
        let c = parse(&["doctor", "--model", "m:1"], &[]).unwrap();
        assert_eq!(c.model, "m:1");
        assert_eq!(c.settings[1].source, Source::flag("--model"));
    }

    /// clap's own environment reading: an env-bound value is named by its variable, and a
    /// blank variable is not a value. (The one test that sets process variables: names
    /// only this test uses.)
    #[test]
    fn clap_reads_bound_variables() {
        std::env::set_var("CHATBOT_OTEL_TEST_MODEL", "qwen3:0.6b");
        std::env::set_var("CHATBOT_OTEL_TEST_BLANK", " ");
        let cmd = Cli::command()
            .mut_args(|a| a.env(None))
            .mut_arg("model", |a| a.env("CHATBOT_OTEL_TEST_MODEL"))
            .mut_arg("export", |a| a.env("CHATBOT_OTEL_TEST_BLANK"));
        let cmd = env::unset_blank_env(cmd, &|n: &str| std::env::var(n).ok());
        let matches = cmd.clone().try_get_matches_from(["chatbot-otel"]).unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        let c = Config::resolve(cli, &cmd, &matches, &|k: &str| {
            (k == "HOME").then(|| "/h".to_string())
        })
        .unwrap();
        assert_eq!(c.model, "qwen3:0.6b");
        assert_eq!(c.settings[1].source, Source::env("CHATBOT_OTEL_TEST_MODEL"));
        assert_eq!(c.export, ExportTarget::Otlp);
    }

    /// A bad value from a bound variable is reported with the variable's name, in one line.
    #[test]
    fn bad_env_value_names_the_variable() {
        std::env::set_var("CHATBOT_OTEL_TEST_TIMEOUT", "soon");
        let cmd = Cli::command()
            .mut_args(|a| a.env(None))
            .mut_arg("timeout", |a| a.env("CHATBOT_OTEL_TEST_TIMEOUT"));
        let argv = [OsString::from("chatbot-otel")];
        let e = cmd.clone().try_get_matches_from(&argv).unwrap_err();
        assert_eq!(
            explain(&e, &cmd, &argv),
            "invalid value 'soon' for '--timeout <SECS>' (from environment CHATBOT_OTEL_TEST_TIMEOUT): expected a number of seconds from 0.001 to 1000000000"
        );
        // Typed on the command line, the flag is the source: clap's own line.
        let argv = ["chatbot-otel", "--timeout", "later"].map(OsString::from);
        let e = cmd.clone().try_get_matches_from(&argv).unwrap_err();
        assert_eq!(
            explain(&e, &cmd, &argv),
            "invalid value 'later' for '--timeout <SECS>': expected a number of seconds from 0.001 to 1000000000"
        );
    }
}
