//! The resolved, validated configuration: flag > environment > default.
//!
//! [`Config::resolve`] is pure: it takes the parsed flags and a function that reads the
//! environment, so every precedence rule is unit-tested without touching the process
//! environment. Each setting remembers where its value came from (see [`Setting`]), which
//! `/help` shows so a user can tell why a value is what it is.
//!
//! Variables the OpenTelemetry SDK reads by itself (`OTEL_EXPORTER_OTLP_*`,
//! `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`, …) are deliberately *not* copied
//! here: a builder call in code beats the environment in opentelemetry-rust ≥ 0.29, so the
//! way to honour them is to leave them alone. The exceptions are `OTEL_SDK_DISABLED`, which
//! the Rust SDK ignores, and the protocol, which decides which exporter we build.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::cli::Cli;

pub const DEFAULT_OLLAMA_URL: &str = "http://localhost:11434";
pub const DEFAULT_MODEL: &str = "llama3.1:8b";
pub const DEFAULT_TEMPERATURE: f64 = 0.7;
pub const DEFAULT_TIMEOUT_SECS: f64 = 300.0;
pub const DEFAULT_JAEGER_UI_URL: &str = "http://localhost:16686";
/// Ollama's default port, used when `OLLAMA_HOST` names a host without one.
const OLLAMA_PORT: u16 = 11434;

/// A configuration error: one line for the user, exit code 2.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "flag {name}"),
            Source::Env(name) => write!(f, "environment {name}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// One resolved setting, for display.
#[derive(Debug, Clone)]
pub struct Setting {
    pub name: &'static str,
    pub value: String,
    pub source: Source,
}

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    HttpProtobuf,
    Grpc,
}

/// Where the JSON log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    File(PathBuf),
    Stderr,
}

// --- export target (--export) ------------------------------------------------------
/// Where telemetry goes (`--export`, `CHATBOT_EXPORT`): see `telemetry::exporters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportTarget {
    /// OTLP to a collector (HTTP/protobuf or gRPC): the default.
    Otlp,
    /// OTLP/JSON lines appended to a file, replayable by the Collector's `otlpjsonfile` receiver.
    File(PathBuf),
    /// The same OTLP/JSON lines on stderr.
    Console,
    /// Recorded in-process (spans get ids; `/trace` and `/stats` work) but never exported.
    None,
}

impl ExportTarget {
    /// Parses `otlp`, `file:PATH`, `console` or `none`.
    pub fn parse(raw: &str) -> Result<ExportTarget, String> {
        let raw = raw.trim();
        match raw.to_ascii_lowercase().as_str() {
            "otlp" => return Ok(ExportTarget::Otlp),
            "console" => return Ok(ExportTarget::Console),
            "none" => return Ok(ExportTarget::None),
            _ => {}
        }
        match raw.strip_prefix("file:") {
            Some(path) if !path.trim().is_empty() => Ok(ExportTarget::File(PathBuf::from(path))),
            Some(_) => Err("file: needs a path, as in file:telemetry.jsonl".into()),
            None => Err("expected otlp, file:PATH, console or none".into()),
        }
    }
}

impl fmt::Display for ExportTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportTarget::Otlp => f.write_str("otlp"),
            ExportTarget::File(path) => write!(f, "file:{}", path.display()),
            ExportTarget::Console => f.write_str("console"),
            ExportTarget::None => f.write_str("none"),
        }
    }
}
// --- end export target ---------------------------------------------------------------

/// Everything the program needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub ollama_url: Url,
    pub model: String,
    pub temperature: f64,
    pub system_prompt: Option<String>,
    pub ollama_timeout: Duration,
    /// `Some` only when `--otlp-endpoint` was given; otherwise the SDK reads
    /// `OTEL_EXPORTER_OTLP_*ENDPOINT` itself and falls back to its default.
    pub otlp_endpoint: Option<Url>,
    pub otlp_protocol: OtlpProtocol,
    /// Where telemetry goes (`--export`).
    pub export: ExportTarget,
    pub telemetry_enabled: bool,
    pub capture_content: bool,
    pub log_target: LogTarget,
    pub log_level: tracing::Level,
    pub jaeger_ui_url: String,
    pub history_file: Option<PathBuf>,
    /// Word-wrap replies on a terminal (`--nowordwrap` turns it off).
    pub wordwrap: bool,
    /// Warnings to show once at start-up (a value we ignored, with the reason).
    pub warnings: Vec<String>,
    /// Every setting with its origin, in display order.
    pub settings: Vec<Setting>,
}

impl Config {
    /// Reads the real process environment.
    pub fn from_env(cli: Cli) -> Result<Config, ConfigError> {
        Config::resolve(cli, |name| std::env::var(name).ok())
    }

    /// Merges flags, environment (`env(name)`) and defaults, and validates the result.
    pub fn resolve(cli: Cli, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        // The spec's rule for every OTEL_* variable, which we apply to ours too: empty means unset.
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let mut settings = Vec::new();
        let mut warnings = Vec::new();

        let (raw_url, source) = pick(
            cli.ollama_url,
            "--ollama-url",
            &env,
            &["OLLAMA_ENDPOINT", "OLLAMA_HOST"],
        );
        let ollama_url = match &raw_url {
            Some(raw) => parse_ollama_host(raw).map_err(|why| {
                ConfigError(format!(
                    "invalid Ollama URL {raw:?} (from {source}): {why}; expected e.g. http://localhost:11434 or localhost:11434"
                ))
            })?,
            None => Url::parse(DEFAULT_OLLAMA_URL).expect("valid default"),
        };
        settings.push(setting(
            "Ollama URL",
            ollama_url.as_str().trim_end_matches('/'),
            source,
        ));

        let (model, source) = pick(cli.model, "--model", &env, &["OLLAMA_MODEL"]);
        let model = model.unwrap_or_else(|| DEFAULT_MODEL.to_string());
        if model.trim().is_empty() || model.chars().any(char::is_whitespace) {
            return Err(ConfigError(format!(
                "invalid model name {model:?}: expected a name such as llama3.1:8b"
            )));
        }
        settings.push(setting("model", &model, source));

        let (temperature, source) = pick(cli.temperature, "--temperature", &env, &[]);
        let temperature = match temperature {
            Some(raw) => parse_temperature(&raw)?,
            None => DEFAULT_TEMPERATURE,
        };
        settings.push(setting("temperature", &temperature.to_string(), source));

        let system_prompt = cli.system.filter(|s| !s.trim().is_empty());
        let source = if system_prompt.is_some() {
            Source::Flag("--system")
        } else {
            Source::Default
        };
        settings.push(setting(
            "system prompt",
            system_prompt.as_deref().unwrap_or("(none)"),
            source,
        ));

        let (timeout, source) = pick(cli.timeout, "--timeout", &env, &["OLLAMA_TIMEOUT"]);
        let ollama_timeout = match timeout {
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
                    Duration::from_secs_f64(secs)
                }
                _ => {
                    return Err(ConfigError(format!(
                        "invalid timeout {raw:?} (from {source}): expected a positive number of seconds"
                    )))
                }
            },
            None => Duration::from_secs_f64(DEFAULT_TIMEOUT_SECS),
        };
        settings.push(setting(
            "Ollama timeout",
            &format!("{} s", ollama_timeout.as_secs_f64()),
            source,
        ));

        let sdk_disabled =
            env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let telemetry_enabled = !(cli.no_telemetry || sdk_disabled);
        let source = if cli.no_telemetry {
            Source::Flag("--no-telemetry")
        } else if sdk_disabled {
            Source::Env("OTEL_SDK_DISABLED")
        } else {
            Source::Default
        };
        settings.push(setting(
            "telemetry",
            if telemetry_enabled { "on" } else { "off" },
            source,
        ));

        let otlp_protocol = match env("OTEL_EXPORTER_OTLP_PROTOCOL") {
            None => OtlpProtocol::HttpProtobuf,
            Some(p) => match p.trim().to_ascii_lowercase().as_str() {
                "http/protobuf" => OtlpProtocol::HttpProtobuf,
                "grpc" => OtlpProtocol::Grpc,
                other => {
                    return Err(ConfigError(format!(
                    "unsupported OTEL_EXPORTER_OTLP_PROTOCOL {other:?}: use http/protobuf or grpc"
                )))
                }
            },
        };
        let otlp_endpoint =
            match cli.otlp_endpoint {
                Some(raw) => Some(parse_http_url(&raw).map_err(|why| {
                    ConfigError(format!("invalid --otlp-endpoint {raw:?}: {why}"))
                })?),
                None => None,
            };
        let (endpoint_shown, source) = match (&otlp_endpoint, env("OTEL_EXPORTER_OTLP_ENDPOINT")) {
            (Some(url), _) => (url.to_string(), Source::Flag("--otlp-endpoint")),
            (None, Some(v)) => (v, Source::Env("OTEL_EXPORTER_OTLP_ENDPOINT")),
            (None, None) => (
                match otlp_protocol {
                    OtlpProtocol::HttpProtobuf => "http://localhost:4318".to_string(),
                    OtlpProtocol::Grpc => "http://localhost:4317".to_string(),
                },
                Source::Default,
            ),
        };
        settings.push(setting("OTLP endpoint", &endpoint_shown, source));
        settings.push(setting(
            "OTLP protocol",
            match otlp_protocol {
                OtlpProtocol::HttpProtobuf => "http/protobuf",
                OtlpProtocol::Grpc => "grpc",
            },
            if env("OTEL_EXPORTER_OTLP_PROTOCOL").is_some() {
                Source::Env("OTEL_EXPORTER_OTLP_PROTOCOL")
            } else {
                Source::Default
            },
        ));

        let (raw_export, source) = pick(cli.export, "--export", &env, &["CHATBOT_EXPORT"]);
        let export = match raw_export {
            Some(raw) => ExportTarget::parse(&raw).map_err(|why| {
                ConfigError(format!(
                    "invalid export target {raw:?} (from {source}): {why}"
                ))
            })?,
            None => ExportTarget::Otlp,
        };
        settings.push(setting("export", &export.to_string(), source));

        // Content capture: on by default (a local learning tool), off by flag or by the
        // variable the OTel GenAI utilities define. EVENT_ONLY means "not on spans".
        const CAPTURE_VAR: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
        let (capture_content, source) = if cli.no_capture_content {
            (false, Source::Flag("--no-capture-content"))
        } else {
            match env(CAPTURE_VAR).map(|v| v.trim().to_ascii_uppercase()) {
                None => (true, Source::Default),
                Some(v) => match v.as_str() {
                    "TRUE" | "SPAN_ONLY" | "SPAN_AND_EVENT" => (true, Source::Env(CAPTURE_VAR)),
                    "FALSE" | "NO_CONTENT" | "EVENT_ONLY" => (false, Source::Env(CAPTURE_VAR)),
                    _ => {
                        warnings.push(format!(
                            "ignoring {CAPTURE_VAR}={v:?} (expected true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT)"
                        ));
                        (true, Source::Default)
                    }
                },
            }
        };
        settings.push(setting(
            "capture content",
            if capture_content { "on" } else { "off" },
            source,
        ));

        let state_dir = state_dir(&env);
        let (log_target, source) =
            match (cli.log_file, env("LOG_FILE")) {
                (Some(p), _) => (log_target(p), Source::Flag("--log-file")),
                (None, Some(p)) => (log_target(PathBuf::from(p)), Source::Env("LOG_FILE")),
                (None, None) => match &state_dir {
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
        settings.push(setting(
            "log file",
            &match &log_target {
                LogTarget::File(p) => p.display().to_string(),
                LogTarget::Stderr => "stderr".to_string(),
            },
            source,
        ));

        let (log_level, source) = match env("LOG_LEVEL") {
            None => (tracing::Level::INFO, Source::Default),
            Some(raw) => (
                raw.trim().parse::<tracing::Level>().map_err(|_| {
                    ConfigError(format!(
                        "invalid LOG_LEVEL {raw:?}: use TRACE, DEBUG, INFO, WARN or ERROR"
                    ))
                })?,
                Source::Env("LOG_LEVEL"),
            ),
        };
        settings.push(setting("log level", log_level.as_str(), source));

        let (jaeger, source) = pick(None, "", &env, &["JAEGER_UI_URL"]);
        let jaeger_ui_url = match jaeger {
            Some(raw) => parse_http_url(&raw)
                .map_err(|why| ConfigError(format!("invalid JAEGER_UI_URL {raw:?}: {why}")))?
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            None => DEFAULT_JAEGER_UI_URL.to_string(),
        };
        settings.push(setting("Jaeger UI", &jaeger_ui_url, source));

        let history_file = state_dir.map(|d| d.join("history"));

        Ok(Config {
            ollama_url,
            model,
            temperature,
            system_prompt,
            ollama_timeout,
            otlp_endpoint,
            otlp_protocol,
            export,
            telemetry_enabled,
            capture_content,
            log_target,
            log_level,
            jaeger_ui_url,
            history_file,
            wordwrap: !cli.no_wordwrap,
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

fn setting(name: &'static str, value: &str, source: Source) -> Setting {
    Setting {
        name,
        value: value.to_string(),
        source,
    }
}

/// Flag first, then each variable in order.
fn pick(
    flag: Option<String>,
    flag_name: &'static str,
    env: &impl Fn(&str) -> Option<String>,
    vars: &[&'static str],
) -> (Option<String>, Source) {
    if let Some(v) = flag {
        return (Some(v), Source::Flag(flag_name));
    }
    for var in vars {
        if let Some(v) = env(var) {
            return (Some(v), Source::Env(var));
        }
    }
    (None, Source::Default)
}

fn log_target(path: PathBuf) -> LogTarget {
    if path.as_os_str() == "-" {
        LogTarget::Stderr
    } else {
        LogTarget::File(path)
    }
}

/// `$XDG_STATE_HOME/chatbot-otel`, else `~/.local/state/chatbot-otel`.
fn state_dir(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .or_else(dirs::state_dir)?;
    Some(base.join("chatbot-otel"))
}

fn parse_temperature(raw: &str) -> Result<f64, ConfigError> {
    match raw.trim().parse::<f64>() {
        Ok(t) if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err(ConfigError(format!(
            "invalid temperature {raw:?}: expected a number from 0 to 2"
        ))),
    }
}

/// Parses a temperature typed at the prompt (`/set temperature X`).
pub fn parse_temperature_value(raw: &str) -> Result<f64, String> {
    parse_temperature(raw).map_err(|e| e.0)
}

/// An absolute http(s) URL.
fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL".into());
    }
    Ok(url)
}

/// Ollama's own `OLLAMA_HOST` format: `host`, `host:port`, `:port`, `[v6]:port`, or a full
/// URL. Without a scheme the default is `http` and port 11434; *with* a scheme but no port
/// the scheme's port applies (80/443), exactly as Ollama's Go and Python clients do.
pub fn parse_ollama_host(raw: &str) -> Result<Url, String> {
    let raw = raw.trim().trim_matches(|c| c == '"' || c == '\'');
    if raw.contains("://") {
        return parse_http_url(raw);
    }
    let (hostport, path) = match raw.find('/') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    let (host, port) = split_host_port(hostport)?;
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let port = match port {
        None => OLLAMA_PORT,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port number"))?,
    };
    parse_http_url(&format!("http://{host}:{port}{path}"))
}

fn split_host_port(s: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or("unclosed '[' in IPv6 address")?;
        let host = &s[..end + 2];
        return match &rest[end + 1..] {
            "" => Ok((host, None)),
            p => Ok((
                host,
                Some(p.strip_prefix(':').ok_or("expected ':' after ']'")?),
            )),
        };
    }
    Ok(match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(cli: Cli, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut map = map;
        map.entry("HOME".into()).or_insert_with(|| "/home/u".into());
        Config::resolve(cli, move |k| map.get(k).cloned())
    }

    /// With nothing set, the documented defaults apply.
    #[test]
    fn defaults() {
        let c = resolve(Cli::default(), &[]).unwrap();
        assert_eq!(c.ollama_url.as_str(), "http://localhost:11434/");
        assert_eq!(c.model, "llama3.1:8b");
        assert_eq!(c.temperature, 0.7);
        assert!(c.telemetry_enabled && c.capture_content);
        assert_eq!(c.otlp_protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(
            c.log_target,
            LogTarget::File("/home/u/.local/state/chatbot-otel/chatbot-otel.log".into())
        );
        assert_eq!(c.log_level, tracing::Level::INFO);
    }

    /// Flag beats OLLAMA_ENDPOINT beats OLLAMA_HOST.
    #[test]
    fn ollama_url_precedence() {
        let vars = [("OLLAMA_ENDPOINT", "http://e:1"), ("OLLAMA_HOST", "h:2")];
        let c = resolve(Cli::default(), &vars).unwrap();
        assert_eq!(c.ollama_url.as_str(), "http://e:1/");
        let c = resolve(Cli::default(), &vars[1..]).unwrap();
        assert_eq!(c.ollama_url.as_str(), "http://h:2/");
        let cli = Cli {
            ollama_url: Some("http://f:3".into()),
            ..Cli::default()
        };
        let c = resolve(cli, &vars).unwrap();
        assert_eq!(c.ollama_url.as_str(), "http://f:3/");
        assert_eq!(c.settings[0].source, Source::Flag("--ollama-url"));
    }

    /// OLLAMA_HOST accepts Ollama's own shorthand forms.
    #[test]
    fn ollama_host_forms() {
        let p = |s| parse_ollama_host(s).unwrap().to_string();
        assert_eq!(p("example.com"), "http://example.com:11434/");
        assert_eq!(p("0.0.0.0:9999"), "http://0.0.0.0:9999/");
        assert_eq!(p(":8080"), "http://127.0.0.1:8080/");
        assert_eq!(p("[::1]:5"), "http://[::1]:5/");
        assert_eq!(p("http://localhost"), "http://localhost/");
        assert_eq!(p("https://h/prefix"), "https://h/prefix");
        assert_eq!(p("\"h:1\""), "http://h:1/");
        assert!(parse_ollama_host("h:notaport").is_err());
        assert!(parse_ollama_host("ftp://h").is_err());
    }

    /// Bad values are one-line errors that name the setting.
    #[test]
    fn invalid_values() {
        let cli = Cli {
            temperature: Some("hot".into()),
            ..Cli::default()
        };
        let e = resolve(cli, &[]).unwrap_err();
        assert!(e.0.contains("temperature") && !e.0.contains('\n'));
        assert!(resolve(Cli::default(), &[("LOG_LEVEL", "loud")]).is_err());
        assert!(resolve(Cli::default(), &[("OLLAMA_HOST", "a b:c")]).is_err());
        assert!(resolve(
            Cli::default(),
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]
        )
        .is_err());
        assert!(resolve(Cli::default(), &[("OLLAMA_TIMEOUT", "-1")]).is_err());
    }

    /// OTEL_SDK_DISABLED=true turns telemetry off (the Rust SDK ignores it); other values do not.
    #[test]
    fn sdk_disabled() {
        assert!(
            !resolve(Cli::default(), &[("OTEL_SDK_DISABLED", "TRUE")])
                .unwrap()
                .telemetry_enabled
        );
        assert!(
            resolve(Cli::default(), &[("OTEL_SDK_DISABLED", "1")])
                .unwrap()
                .telemetry_enabled
        );
    }

    /// The capture switch follows the GenAI utilities' values; junk warns and keeps the default.
    #[test]
    fn capture_content() {
        let var = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";
        assert!(
            !resolve(Cli::default(), &[(var, "false")])
                .unwrap()
                .capture_content
        );
        assert!(
            !resolve(Cli::default(), &[(var, "no_content")])
                .unwrap()
                .capture_content
        );
        assert!(
            resolve(Cli::default(), &[(var, "SPAN_ONLY")])
                .unwrap()
                .capture_content
        );
        let c = resolve(Cli::default(), &[(var, "maybe")]).unwrap();
        assert!(c.capture_content && c.warnings.len() == 1);
        let cli = Cli {
            no_capture_content: true,
            ..Cli::default()
        };
        assert!(!resolve(cli, &[(var, "true")]).unwrap().capture_content);
    }

    /// `--export` beats CHATBOT_EXPORT beats otlp; junk is a one-line error.
    #[test]
    fn export_target() {
        assert_eq!(
            resolve(Cli::default(), &[]).unwrap().export,
            ExportTarget::Otlp
        );
        let c = resolve(Cli::default(), &[("CHATBOT_EXPORT", "none")]).unwrap();
        assert_eq!(c.export, ExportTarget::None);
        assert_eq!(c.trace_url("ab"), None);
        let cli = Cli {
            export: Some("file:/tmp/t.jsonl".into()),
            ..Cli::default()
        };
        let c = resolve(cli, &[("CHATBOT_EXPORT", "console")]).unwrap();
        assert_eq!(c.export, ExportTarget::File("/tmp/t.jsonl".into()));
        assert_eq!(ExportTarget::parse("Console"), Ok(ExportTarget::Console));
        for bad in ["file:", "jaeger", "file"] {
            let cli = Cli {
                export: Some(bad.into()),
                ..Cli::default()
            };
            let e = resolve(cli, &[]).unwrap_err();
            assert!(e.0.contains("--export") && !e.0.contains('\n'), "{e}");
        }
    }

    /// `--log-file -` means stderr; LOG_FILE is used when the flag is absent.
    #[test]
    fn log_file() {
        let cli = Cli {
            log_file: Some("-".into()),
            ..Cli::default()
        };
        assert_eq!(resolve(cli, &[]).unwrap().log_target, LogTarget::Stderr);
        let c = resolve(Cli::default(), &[("LOG_FILE", "/tmp/x.log")]).unwrap();
        assert_eq!(c.log_target, LogTarget::File("/tmp/x.log".into()));
    }
}
