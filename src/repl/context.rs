//! A conversation outgrowing the model's context window.
//!
//! Every request re-sends the whole conversation. Once it no longer fits in `num_ctx`
//! tokens, Ollama silently drops the oldest part of the prompt (and its reply quietly
//! loses the thread), and nothing on the wire says so. What does show is the request's
//! size: Ollama's `prompt_eval_count`, recorded as `gen_ai.usage.input_tokens` on the
//! `generate_response` span, plus the reply's tokens that the next request carries too.
//!
//! So after a turn, when `num_ctx` is known (`/set parameter num_ctx`, `--option`), the
//! front end compares the two and warns once, with the way out (`/clear`). Without
//! telemetry the size is estimated from the text (about 4 characters a token). When
//! `num_ctx` is not set, the model's own default applies; Ollama does not report it in
//! the chat reply, so there is nothing to compare with and no warning.

use opentelemetry::trace::TraceId;
use opentelemetry::Value;

use crate::ollama::wire::Message;
use crate::telemetry::names::{attr, span};
use crate::telemetry::Telemetry;

/// Warn from this share of `num_ctx` on: Ollama keeps some room for the reply, and the
/// prompt's count is capped at the window once truncation has started.
const WARN_AT: f64 = 0.9;

/// The tokens the next request will start from: the last request's prompt plus its
/// reply, as Ollama counted them (from the turn's spans), else estimated from `history`.
pub(crate) fn conversation_tokens(
    telemetry: &Telemetry,
    trace_id: Option<TraceId>,
    history: &[Message],
) -> i64 {
    let counted = trace_id.and_then(|id| {
        let trace = telemetry.recent.as_ref()?.trace(id)?;
        let generate = trace
            .spans
            .iter()
            .find(|s| s.name == span::GENERATE_RESPONSE)?;
        let int = |key: &str| {
            generate
                .attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .and_then(|kv| match kv.value {
                    Value::I64(n) => Some(n),
                    _ => None,
                })
        };
        let input = int(attr::GEN_AI_USAGE_INPUT_TOKENS)?;
        Some(input + int(attr::GEN_AI_USAGE_OUTPUT_TOKENS).unwrap_or(0))
    });
    counted.unwrap_or_else(|| estimate(history))
}

/// About four characters a token: the usual rule of thumb for English text.
fn estimate(history: &[Message]) -> i64 {
    let chars: usize = history.iter().map(|m| m.content.chars().count()).sum();
    i64::try_from(chars / 4).unwrap_or(i64::MAX)
}

/// Remembers whether the warning was given for the conversation as it is.
#[derive(Debug, Default)]
pub(crate) struct ContextWatch {
    /// The history's length when the warning was given; a shorter history since (after
    /// `/clear`) re-arms it.
    warned_at: Option<usize>,
}

impl ContextWatch {
    /// The warning to show after a turn, at most once per conversation.
    pub(crate) fn check(
        &mut self,
        num_ctx: Option<i64>,
        tokens: i64,
        history_len: usize,
    ) -> Option<String> {
        if self.warned_at.is_some_and(|at| history_len < at) {
            self.warned_at = None;
        }
        let num_ctx = num_ctx.filter(|n| *n > 0)?;
        if self.warned_at.is_some() || (tokens as f64) < WARN_AT * num_ctx as f64 {
            return None;
        }
        self.warned_at = Some(history_len);
        let share = (tokens as f64 / num_ctx as f64 * 100.0).round();
        Some(format!(
            "the conversation is about {tokens} tokens, {share} % of num_ctx {num_ctx}: beyond it Ollama silently drops the oldest messages. /clear starts afresh (or /set parameter num_ctx with more)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Once near the window, once only; `/clear` (a shorter history) re-arms it; no
    /// `num_ctx`, no warning.
    #[test]
    fn warns_once_near_the_window() {
        let mut watch = ContextWatch::default();
        assert_eq!(watch.check(Some(2048), 1000, 2), None);
        let warning = watch.check(Some(2048), 1900, 4).expect("near the window");
        assert!(
            warning.contains("num_ctx 2048") && warning.contains("/clear"),
            "{warning}"
        );
        assert_eq!(watch.check(Some(2048), 2040, 6), None, "once");
        assert!(watch.check(Some(2048), 1950, 2).is_some(), "after /clear");
        assert_eq!(ContextWatch::default().check(None, 1_000_000, 2), None);
    }

    /// Without counts from Ollama, about four characters a token.
    #[test]
    fn estimates_from_the_text() {
        let message = Message::new(crate::ollama::wire::Role::User, "x".repeat(4000));
        assert_eq!(estimate(&[message]), 1000);
    }
}
