//! What the spans of a turn carry besides their names: the request's parameters mapped
//! onto the GenAI semantic conventions, and the original example's alias names.
//!
//! Kept apart from [`super::turn`] so that file reads as span lifecycle (start, events,
//! end) while the attribute mapping — which GenAI key an Ollama option becomes, and which
//! legacy key mirrors which GenAI key — is visible in one table each.

use opentelemetry::{Array, KeyValue, StringValue, Value};

use crate::ollama::wire::{ChatOptions, Think};
use crate::telemetry::names::attr;

/// The request's sampling parameters and `think` setting, as span attributes.
///
/// GenAI keys where the conventions have one (`gen_ai.request.max_tokens` is Ollama's
/// `num_predict`), `ollama.request.*` for the provider-specific rest. Only what was sent is
/// recorded: an unset parameter means "the model's default", which we do not know.
pub(super) fn request_parameters(options: &ChatOptions, think: Option<Think>) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new(
        attr::GEN_AI_REQUEST_TEMPERATURE,
        options.temperature,
    )];
    let ints = [
        (attr::GEN_AI_REQUEST_MAX_TOKENS, options.num_predict),
        (attr::GEN_AI_REQUEST_TOP_K, options.top_k),
        (attr::GEN_AI_REQUEST_SEED, options.seed),
        (attr::OLLAMA_REQUEST_NUM_CTX, options.num_ctx),
        (attr::OLLAMA_REQUEST_REPEAT_LAST_N, options.repeat_last_n),
    ];
    let floats = [
        (attr::GEN_AI_REQUEST_TOP_P, options.top_p),
        (attr::OLLAMA_REQUEST_MIN_P, options.min_p),
        (attr::OLLAMA_REQUEST_REPEAT_PENALTY, options.repeat_penalty),
    ];
    attributes.extend(
        ints.into_iter()
            .filter_map(|(key, v)| v.map(|n| KeyValue::new(key, n))),
    );
    attributes.extend(
        floats
            .into_iter()
            .filter_map(|(key, v)| v.map(|x| KeyValue::new(key, x))),
    );
    if !options.stop.is_empty() {
        attributes.push(string_array(
            attr::GEN_AI_REQUEST_STOP_SEQUENCES,
            &options.stop,
        ));
    }
    if let Some(think) = think {
        attributes.push(KeyValue::new(attr::OLLAMA_REQUEST_THINK, think.as_str()));
        // The conventions want "the exact string value sent": a level is one, a boolean is not.
        if let Think::Level(level) = think {
            attributes.push(KeyValue::new(
                attr::GEN_AI_REQUEST_REASONING_LEVEL,
                level.as_str(),
            ));
        }
    }
    attributes
}

/// The original Python example's names for facts the GenAI and HTTP conventions name
/// today. Each span sets the convention's key; this adds the alias for every key in
/// `attributes` that has one, so the mapping lives here and nowhere else. The pre-1.20
/// HTTP names are the HTTP conventions' own deprecated ones: only with `http_dup`
/// (`OTEL_SEMCONV_STABILITY_OPT_IN=http/dup`), as their migration plan says.
pub(super) fn with_legacy_aliases(mut attributes: Vec<KeyValue>, http_dup: bool) -> Vec<KeyValue> {
    const ALIASES: &[(&str, &str)] = &[
        (attr::GEN_AI_REQUEST_MODEL, attr::LLM_MODEL),
        (attr::GEN_AI_REQUEST_TEMPERATURE, attr::LLM_TEMPERATURE),
        (attr::GEN_AI_USAGE_INPUT_TOKENS, attr::LLM_TOKENS_INPUT),
        (attr::GEN_AI_USAGE_OUTPUT_TOKENS, attr::LLM_TOKENS_OUTPUT),
    ];
    const HTTP_DUP: &[(&str, &str)] = &[
        (attr::HTTP_REQUEST_METHOD, attr::HTTP_METHOD_OLD),
        (attr::URL_FULL, attr::HTTP_URL_OLD),
        (attr::HTTP_RESPONSE_STATUS_CODE, attr::HTTP_STATUS_CODE_OLD),
    ];
    let mut aliases = Vec::new();
    let mut tokens = (None, None);
    let http: &[(&str, &str)] = if http_dup { HTTP_DUP } else { &[] };
    for kv in &attributes {
        let key = kv.key.as_str();
        if let Some((_, alias)) = ALIASES.iter().chain(http).find(|(from, _)| *from == key) {
            aliases.push(KeyValue::new(*alias, kv.value.clone()));
        }
        match (key, &kv.value) {
            (attr::GEN_AI_USAGE_INPUT_TOKENS, Value::I64(n)) => tokens.0 = Some(*n),
            (attr::GEN_AI_USAGE_OUTPUT_TOKENS, Value::I64(n)) => tokens.1 = Some(*n),
            _ => {}
        }
    }
    // The example also recorded the sum, which no convention names.
    if let (Some(input), Some(output)) = tokens {
        aliases.push(KeyValue::new(attr::LLM_TOKENS_TOTAL, input + output));
    }
    attributes.extend(aliases);
    attributes
}

/// `gen_ai.response.finish_reasons` is a string *array* attribute.
pub(super) fn finish_reasons(reason: &str) -> KeyValue {
    string_array(attr::GEN_AI_RESPONSE_FINISH_REASONS, &[reason.to_string()])
}

fn string_array(key: &'static str, values: &[String]) -> KeyValue {
    KeyValue::new(
        key,
        Value::Array(Array::String(
            values.iter().cloned().map(StringValue::from).collect(),
        )),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ollama::wire::ThinkLevel;

    fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// Each set option lands on its GenAI key or its `ollama.request.*` key; unset ones
    /// are absent; a level is the reasoning level, a boolean only `ollama.request.think`.
    #[test]
    fn parameters_map_to_genai_and_ollama_keys() {
        let options = ChatOptions {
            temperature: 0.2,
            num_predict: Some(128),
            top_k: Some(20),
            num_ctx: Some(8192),
            min_p: Some(0.05),
            stop: vec!["END".into()],
            ..ChatOptions::default()
        };
        let a = request_parameters(&options, Some(Think::Level(ThinkLevel::High)));
        assert_eq!(
            find(&a, attr::GEN_AI_REQUEST_MAX_TOKENS),
            Some(&Value::I64(128))
        );
        assert_eq!(find(&a, attr::GEN_AI_REQUEST_TOP_K), Some(&Value::I64(20)));
        assert_eq!(
            find(&a, attr::OLLAMA_REQUEST_NUM_CTX),
            Some(&Value::I64(8192))
        );
        assert_eq!(
            find(&a, attr::OLLAMA_REQUEST_MIN_P),
            Some(&Value::F64(0.05))
        );
        assert_eq!(find(&a, attr::GEN_AI_REQUEST_TOP_P), None);
        assert_eq!(find(&a, attr::GEN_AI_REQUEST_SEED), None);
        assert_eq!(
            find(&a, attr::GEN_AI_REQUEST_STOP_SEQUENCES),
            Some(&Value::Array(Array::String(vec!["END".into()])))
        );
        assert_eq!(
            find(&a, attr::GEN_AI_REQUEST_REASONING_LEVEL),
            Some(&Value::from("high"))
        );
        assert_eq!(
            find(&a, attr::OLLAMA_REQUEST_THINK),
            Some(&Value::from("high"))
        );

        let a = request_parameters(&options, Some(Think::Bool(false)));
        assert_eq!(
            find(&a, attr::OLLAMA_REQUEST_THINK),
            Some(&Value::from("false"))
        );
        assert_eq!(find(&a, attr::GEN_AI_REQUEST_REASONING_LEVEL), None);
        let a = request_parameters(&options, None);
        assert_eq!(find(&a, attr::OLLAMA_REQUEST_THINK), None);
    }

    /// Aliases mirror their convention key, and the token total is the sum.
    #[test]
    fn legacy_aliases_mirror_convention_keys() {
        let a = with_legacy_aliases(
            vec![
                KeyValue::new(attr::GEN_AI_REQUEST_MODEL, "m"),
                KeyValue::new(attr::GEN_AI_USAGE_INPUT_TOKENS, 3_i64),
                KeyValue::new(attr::GEN_AI_USAGE_OUTPUT_TOKENS, 4_i64),
                KeyValue::new(attr::URL_FULL, "http://h/api/chat"),
            ],
            false,
        );
        assert_eq!(find(&a, attr::LLM_MODEL), Some(&Value::from("m")));
        assert_eq!(find(&a, attr::LLM_TOKENS_INPUT), Some(&Value::I64(3)));
        assert_eq!(find(&a, attr::LLM_TOKENS_TOTAL), Some(&Value::I64(7)));
        assert_eq!(find(&a, attr::HTTP_URL_OLD), None, "only with http/dup");
        let a = with_legacy_aliases(
            vec![KeyValue::new(attr::URL_FULL, "http://h/api/chat")],
            true,
        );
        assert_eq!(
            find(&a, attr::HTTP_URL_OLD),
            Some(&Value::from("http://h/api/chat"))
        );
    }
}
