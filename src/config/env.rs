//! The environment rules clap cannot express.
//!
//! * **Empty means unset.** The OpenTelemetry spec says so for every `OTEL_*` variable and
//!   we apply it to ours too, so `LOG_FILE= chatbot-otel` behaves like no `LOG_FILE`. clap
//!   instead passes an empty variable on as the value `""` (its `add_env` step takes any
//!   value that is present), so [`unset_blank_env`] detaches blank variables from their
//!   flags before parsing, and [`var`] filters them for everything we read ourselves.
//! * Variables with several spellings or no flag of their own: `OTEL_SDK_DISABLED`
//!   (only `true` counts; clap's boolean parsing would also take `1`), the GenAI
//!   content-capture switch, `LOG_LEVEL`, `JAEGER_UI_URL` and the XDG state directory.

use std::path::PathBuf;

use super::values::{parse_http_url, DEFAULT_JAEGER_UI_URL};
use super::Source;

/// The GenAI utilities' content-capture switch.
pub(crate) const CAPTURE_VAR: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

/// The process environment, with the rule "empty means unset".
pub(crate) fn var(name: &str) -> Option<String> {
    non_blank(std::env::var(name).ok())
}

/// `Some` only for a value that is not empty or blank.
pub(crate) fn non_blank(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Detaches every blank environment variable from its flag, so clap treats the flag as
/// not given instead of parsing `""`. `env` is the environment *without* the blank rule.
pub(crate) fn unset_blank_env(
    mut cmd: clap::Command,
    env: &impl Fn(&str) -> Option<String>,
) -> clap::Command {
    let blank: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|arg| {
            arg.get_env()
                .and_then(|name| name.to_str())
                .is_some_and(|name| env(name).is_some_and(|v| v.trim().is_empty()))
        })
        .map(|arg| arg.get_id().clone())
        .collect();
    for id in blank {
        cmd = cmd.mut_arg(id, |arg| arg.env(None));
    }
    cmd
}

/// `OTEL_SDK_DISABLED=true` (any case) turns telemetry off; the Rust SDK itself ignores it.
pub(crate) fn sdk_disabled(env: &impl Fn(&str) -> Option<String>) -> bool {
    env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The content-capture switch: `Some(on)` for a value the GenAI utilities define
/// (EVENT_ONLY means "not on spans"), `Err` with a warning for anything else.
pub(crate) fn capture_content(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<bool>, String> {
    let Some(raw) = env(CAPTURE_VAR) else {
        return Ok(None);
    };
    let v = raw.trim().to_ascii_uppercase();
    match v.as_str() {
        "TRUE" | "SPAN_ONLY" | "SPAN_AND_EVENT" => Ok(Some(true)),
        "FALSE" | "NO_CONTENT" | "EVENT_ONLY" => Ok(Some(false)),
        _ => Err(format!(
            "ignoring {CAPTURE_VAR}={v:?} (expected true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT)"
        )),
    }
}

/// `LOG_LEVEL` (default INFO).
pub(crate) fn log_level(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(tracing::Level, Source), String> {
    match env("LOG_LEVEL") {
        None => Ok((tracing::Level::INFO, Source::Default)),
        Some(raw) => raw
            .trim()
            .parse::<tracing::Level>()
            .map(|level| (level, Source::env("LOG_LEVEL")))
            .map_err(|_| {
                format!("invalid LOG_LEVEL {raw:?}: use TRACE, DEBUG, INFO, WARN or ERROR")
            }),
    }
}

/// `JAEGER_UI_URL` without its trailing slash (default http://localhost:16686).
pub(crate) fn jaeger_ui_url(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<(String, Source), String> {
    match env("JAEGER_UI_URL") {
        None => Ok((DEFAULT_JAEGER_UI_URL.to_string(), Source::Default)),
        Some(raw) => parse_http_url(&raw)
            .map(|url| {
                let shown = url.as_str().trim_end_matches('/').to_string();
                (shown, Source::env("JAEGER_UI_URL"))
            })
            .map_err(|why| {
                format!("invalid JAEGER_UI_URL {raw:?}: {why}, e.g. {DEFAULT_JAEGER_UI_URL}")
            }),
    }
}

/// `$XDG_STATE_HOME/chatbot-otel`, else `~/.local/state/chatbot-otel`.
pub(crate) fn state_dir(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .or_else(dirs::state_dir)?;
    Some(base.join("chatbot-otel"))
}

/// `$XDG_CONFIG_HOME/chatbot-otel` (else `~/.config/chatbot-otel`): where `mcp.json` lives.
pub(crate) fn config_dir(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("chatbot-otel"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    /// A blank variable loses its flag binding; a set one keeps it.
    #[test]
    fn blank_env_is_detached() {
        let cmd = Command::new("t")
            .arg(Arg::new("a").long("a").env("CHATBOT_T_A"))
            .arg(Arg::new("b").long("b").env("CHATBOT_T_B"));
        let cmd = unset_blank_env(cmd, &vars(&[("CHATBOT_T_A", " "), ("CHATBOT_T_B", "x")]));
        let env_of = |id: &str| {
            cmd.get_arguments()
                .find(|a| a.get_id() == id)
                .and_then(|a| a.get_env())
                .map(|n| n.to_string_lossy().into_owned())
        };
        assert_eq!(env_of("a"), None);
        assert_eq!(env_of("b").as_deref(), Some("CHATBOT_T_B"));
    }

    /// Empty and blank values count as unset.
    #[test]
    fn empty_is_unset() {
        assert_eq!(non_blank(Some("".into())), None);
        assert_eq!(non_blank(Some(" \t".into())), None);
        assert_eq!(non_blank(Some("x".into())).as_deref(), Some("x"));
    }

    /// OTEL_SDK_DISABLED=true turns telemetry off (any case); other values do not.
    #[test]
    fn sdk_disabled_values() {
        assert!(sdk_disabled(&vars(&[("OTEL_SDK_DISABLED", "TRUE")])));
        assert!(!sdk_disabled(&vars(&[("OTEL_SDK_DISABLED", "1")])));
        assert!(!sdk_disabled(&vars(&[])));
    }

    /// The capture switch follows the GenAI utilities' values; junk is a warning.
    #[test]
    fn capture_content_values() {
        let c = |v: &'static str| capture_content(&move |_: &str| Some(v.to_string()));
        assert_eq!(c("false"), Ok(Some(false)));
        assert_eq!(c("no_content"), Ok(Some(false)));
        assert_eq!(c("EVENT_ONLY"), Ok(Some(false)));
        assert_eq!(c("SPAN_ONLY"), Ok(Some(true)));
        assert!(c("maybe").unwrap_err().contains(CAPTURE_VAR));
        assert_eq!(capture_content(&vars(&[])), Ok(None));
    }

    /// LOG_LEVEL takes tracing's level names; junk lists them.
    #[test]
    fn log_levels() {
        let (level, source) = log_level(&vars(&[("LOG_LEVEL", "debug")])).unwrap();
        assert_eq!(
            (level, source),
            (tracing::Level::DEBUG, Source::env("LOG_LEVEL"))
        );
        assert!(log_level(&vars(&[("LOG_LEVEL", "loud")]))
            .unwrap_err()
            .contains("WARN"));
    }

    /// XDG_STATE_HOME (absolute only) beats HOME.
    #[test]
    fn state_directory() {
        let dir = state_dir(&vars(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")]));
        assert_eq!(dir, Some(PathBuf::from("/s/chatbot-otel")));
        let dir = state_dir(&vars(&[("XDG_STATE_HOME", "rel"), ("HOME", "/h")]));
        assert_eq!(dir, Some(PathBuf::from("/h/.local/state/chatbot-otel")));
    }
}
