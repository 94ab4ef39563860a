//! Typed parsers for the values clap reads, with the defaults they fall back to.
//!
//! Each parser returns the *reason* a value is refused, with an example of a good one;
//! clap prefixes the value and the flag, and [`super::Config::from_args`] adds the
//! environment variable when that is where the value came from.

use std::time::Duration;

use url::Url;

pub(crate) const DEFAULT_OLLAMA_URL: &str = "http://localhost:11434";
pub(crate) const DEFAULT_MODEL: &str = "llama3.1:8b";
pub(crate) const DEFAULT_TEMPERATURE: f64 = 0.7;
pub(crate) const DEFAULT_JAEGER_UI_URL: &str = "http://localhost:16686";

/// A model name as Ollama spells it: not empty, no whitespace.
pub(crate) fn parse_model(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() || raw.chars().any(char::is_whitespace) {
        return Err("expected a model name such as llama3.1:8b".into());
    }
    Ok(raw.to_string())
}

/// A sampling temperature from 0 to 2 (`--temperature`, and `/set temperature` at the prompt).
pub(crate) fn parse_temperature(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(t) if (0.0..=2.0).contains(&t) => Ok(t),
        _ => Err("expected a number from 0 to 2".into()),
    }
}

/// `--think [LEVEL]`: the values Ollama accepts (`max` on current servers). A bare
/// `--think` reaches us as `true` (clap's missing value); an empty one (`--think ''`,
/// usually a shell variable that was not set) is a mistake, not a request to think.
pub(crate) fn parse_think(raw: &str) -> Result<crate::ollama::wire::Think, String> {
    let refused = || "expected true, false, low, medium, high or max".to_string();
    if raw.trim().is_empty() {
        return Err(refused());
    }
    crate::ollama::wire::Think::parse(raw).ok_or_else(refused)
}

/// The longest timeout, in seconds (about 31 years): far beyond any wait that means
/// something, and far from where `Duration` arithmetic overflows.
const MAX_TIMEOUT_SECS: f64 = 1e9;

/// A number of seconds from 1 ms to [`MAX_TIMEOUT_SECS`] (`--timeout`, `OLLAMA_TIMEOUT`,
/// `--tool-timeout`). Below a millisecond no request can finish, and the error would read
/// "within 0 s": refused here instead. The refusal states the range, so a value that is
/// positive but too large is not told to be positive.
pub(crate) fn parse_timeout(raw: &str) -> Result<Duration, String> {
    match raw.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 0.001 => {
            Err("below 1 ms no request can finish: use at least 0.001 seconds".into())
        }
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= MAX_TIMEOUT_SECS => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "expected a number of seconds from 0.001 to {MAX_TIMEOUT_SECS:.0}"
        )),
    }
}

/// An absolute http(s) URL.
pub(crate) fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("expected an http:// or https:// URL".into());
    }
    Ok(url)
}

/// `--otlp-endpoint`: an http(s) URL, with an example in the error.
pub(crate) fn parse_otlp_endpoint(raw: &str) -> Result<Url, String> {
    parse_http_url(raw)
        .map_err(|_| "expected an http:// or https:// URL, e.g. http://localhost:4318".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only 0 to 2 is a temperature; the reason names the range.
    #[test]
    fn temperature_range() {
        assert_eq!(parse_temperature(" 1.5 "), Ok(1.5));
        assert_eq!(parse_temperature("0"), Ok(0.0));
        for bad in ["hot", "-0.1", "2.01", "NaN"] {
            assert!(
                parse_temperature(bad).unwrap_err().contains("0 to 2"),
                "{bad}"
            );
        }
    }

    /// Timeouts are positive, finite seconds; fractions are kept.
    #[test]
    fn timeout_values() {
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("0.001"), Ok(Duration::from_millis(1)));
        assert!(parse_timeout("1e-10").unwrap_err().contains("1 ms"));
        assert_eq!(parse_timeout("1e9"), Ok(Duration::from_secs(1_000_000_000)));
        for bad in ["0", "-1", "soon", "inf", "1.5e9"] {
            assert_eq!(
                parse_timeout(bad),
                Err("expected a number of seconds from 0.001 to 1000000000".to_string()),
                "{bad}"
            );
        }
    }

    /// An empty level is refused like any other unknown one; a bare `--think` never gets
    /// here empty (clap supplies `true`).
    #[test]
    fn think_levels() {
        assert!(parse_think("high").is_ok());
        for bad in ["", "  ", "extreme"] {
            assert_eq!(
                parse_think(bad).unwrap_err(),
                "expected true, false, low, medium, high or max",
                "{bad:?}"
            );
        }
    }

    /// A model name has no whitespace.
    #[test]
    fn model_names() {
        assert_eq!(parse_model("qwen3:0.6b").as_deref(), Ok("qwen3:0.6b"));
        assert!(parse_model("").is_err());
        assert!(parse_model("llama 3").is_err());
    }

    /// Only absolute http(s) URLs with a host pass.
    #[test]
    fn http_urls() {
        assert!(parse_http_url("https://h:1/p").is_ok());
        for bad in ["not a url", "ftp://h", "localhost:4318", "http://"] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
        assert!(parse_otlp_endpoint("garbage")
            .unwrap_err()
            .contains("http://localhost:4318"));
    }
}
