//! The request's `think` field, and whether the model thinks.
//!
//! Ollama's rules (server `ChatHandler`, `api.ThinkValue`), which the fake
//! follows:
//!
//! * `think` is `true`, `false`, or a level: `"low"`, `"medium"`, `"high"`,
//!   `"max"`. Another string is refused with `400 invalid think value: "x"
//!   (must be "high", "medium", "low", "max", true, or false)`; a number, an
//!   array or an object with `400 think must be a boolean or string`.
//! * A model with the `thinking` capability thinks when `think` is left out
//!   (or `null`), `true` or a level, and does not when it is `false` — except
//!   gpt-oss, which takes levels only and thinks whatever the boolean says.
//! * A model without the capability answers a truthy `think` (`true` or any
//!   level) with `400 "<model>" does not support thinking`; `false` and no
//!   `think` at all are fine.

use serde_json::Value;

use crate::catalog;

/// The levels Ollama accepts.
const LEVELS: [&str; 4] = ["low", "medium", "high", "max"];

/// The decoded `think` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Think {
    /// Not sent, or `null`: the server decides.
    Unset,
    Bool(bool),
    Level(String),
}

impl Think {
    /// Reads the field, with Ollama's error texts.
    pub fn parse(value: Option<&Value>) -> Result<Think, String> {
        match value {
            None | Some(Value::Null) => Ok(Think::Unset),
            Some(Value::Bool(b)) => Ok(Think::Bool(*b)),
            Some(Value::String(s)) if LEVELS.contains(&s.as_str()) => Ok(Think::Level(s.clone())),
            Some(Value::String(s)) => Err(format!(
                "invalid think value: {} (must be \"high\", \"medium\", \"low\", \"max\", true, or false)",
                go_quote(s)
            )),
            Some(_) => Err("think must be a boolean or string".into()),
        }
    }

    /// `true` or a level: thinking was asked for.
    pub fn truthy(&self) -> bool {
        matches!(self, Think::Bool(true) | Think::Level(_))
    }
}

/// Go's `%q` for the strings that occur here (a JSON string literal is the
/// same for printable text).
pub(crate) fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The 400 a model without the capability gives a truthy `think`.
pub(crate) fn not_supported(model_as_sent: &str) -> String {
    format!("{} does not support thinking", go_quote(model_as_sent))
}

/// Whether `model` (a listed name) thinks for this request.
pub(crate) fn thinks(model: &str, think: &Think) -> bool {
    catalog::can(model, "thinking")
        && (catalog::thinks_regardless(model) || *think != Think::Bool(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_and_errors_as_ollama() {
        assert_eq!(Think::parse(None), Ok(Think::Unset));
        assert_eq!(Think::parse(Some(&Value::Null)), Ok(Think::Unset));
        assert_eq!(Think::parse(Some(&json!(false))), Ok(Think::Bool(false)));
        assert_eq!(
            Think::parse(Some(&json!("max"))),
            Ok(Think::Level("max".into()))
        );
        assert_eq!(
            Think::parse(Some(&json!("banana"))),
            Err(r#"invalid think value: "banana" (must be "high", "medium", "low", "max", true, or false)"#.into())
        );
        assert_eq!(
            Think::parse(Some(&json!(1))),
            Err("think must be a boolean or string".into())
        );
        assert!(Think::Level("low".into()).truthy());
        assert!(!Think::Bool(false).truthy() && !Think::Unset.truthy());
    }

    #[test]
    fn who_thinks() {
        assert!(thinks("qwen3:0.6b", &Think::Unset));
        assert!(thinks("qwen3:0.6b", &Think::Bool(true)));
        assert!(thinks("qwen3:0.6b", &Think::Level("high".into())));
        assert!(!thinks("qwen3:0.6b", &Think::Bool(false)));
        assert!(thinks("gpt-oss:20b", &Think::Bool(false)), "levels only");
        assert!(!thinks("llama3.2", &Think::Unset));
        assert_eq!(
            not_supported("llama3.2"),
            r#""llama3.2" does not support thinking"#
        );
    }
}
