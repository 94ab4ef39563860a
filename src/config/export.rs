//! `--export` / `CHATBOT_EXPORT`: where telemetry goes (see `telemetry::exporters`).

use std::fmt;
use std::path::PathBuf;

/// Where telemetry goes.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The four spellings parse (case-insensitively); junk says what is expected.
    #[test]
    fn parses_targets() {
        assert_eq!(ExportTarget::parse("Console"), Ok(ExportTarget::Console));
        assert_eq!(ExportTarget::parse("none"), Ok(ExportTarget::None));
        assert_eq!(
            ExportTarget::parse("file:/tmp/t.jsonl"),
            Ok(ExportTarget::File("/tmp/t.jsonl".into()))
        );
        assert!(ExportTarget::parse("file:")
            .unwrap_err()
            .contains("needs a path"));
        assert!(ExportTarget::parse("jaeger")
            .unwrap_err()
            .contains("file:PATH"));
    }
}
