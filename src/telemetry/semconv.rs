//! `OTEL_SEMCONV_STABILITY_OPT_IN`: which versions of the semantic conventions to emit.
//!
//! The conventions change names as they mature, and their transition plans let a user
//! choose: the HTTP conventions' `http/dup` emits the pre-1.20 names (`http.method`,
//! `http.url`, `http.status_code`) beside the stable ones, and the GenAI conventions'
//! `gen_ai_latest_experimental` emits the names of their current development line as
//! well as those of the release we target (v1.41). Without the variable we emit the
//! stable HTTP names and GenAI v1.41 only. The value is a comma-separated list.

/// The opt-ins in effect, read once at start-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptIn {
    /// `http/dup`: the deprecated HTTP attribute names too.
    pub http_dup: bool,
    /// `gen_ai_latest_experimental`: the GenAI development line's names too.
    pub gen_ai_latest: bool,
}

impl OptIn {
    /// Parses the variable's value (`None`: unset). Unknown entries are ignored, as the
    /// conventions ask of entries a program does not know.
    pub fn parse(value: Option<&str>) -> OptIn {
        let mut opt_in = OptIn::default();
        for entry in value.unwrap_or_default().split(',').map(str::trim) {
            match entry {
                "http/dup" => opt_in.http_dup = true,
                "gen_ai_latest_experimental" => opt_in.gen_ai_latest = true,
                _ => {}
            }
        }
        opt_in
    }

    /// From the process environment.
    pub fn from_env() -> OptIn {
        OptIn::parse(
            std::env::var("OTEL_SEMCONV_STABILITY_OPT_IN")
                .ok()
                .as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::OptIn;

    #[test]
    fn parses_the_list() {
        assert_eq!(OptIn::parse(None), OptIn::default());
        let both = OptIn::parse(Some(" http/dup , gen_ai_latest_experimental,other"));
        assert!(both.http_dup && both.gen_ai_latest);
        assert!(!OptIn::parse(Some("http")).http_dup);
    }
}
