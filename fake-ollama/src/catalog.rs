//! The models the fake pretends to have pulled: name matching, `GET /api/tags`
//! and `POST /api/show`.
//!
//! Ollama treats a name without a tag as `:latest`, so `llama3.2` and
//! `llama3.2:latest` are the same model, and it compares names without regard
//! to case. The chat endpoint echoes the name *as sent*, but `/api/show`'s 404
//! message uses the canonical `name:tag` form, so both spellings are needed.
//!
//! What a model can do (its `capabilities`) comes from a small table of the
//! families people run, as Ollama's library lists them: `qwen3`, `deepseek-r1`,
//! `gpt-oss` and `magistral` think; the llamas from 3.1 on, `qwen3`, `gpt-oss`
//! and a few more call tools. The chat endpoint enforces both, as Ollama does
//! (see `chat`). A family the table does not know can only complete text.
//!
//! Everything else in a model entry (size, digest, family, dates) is made up
//! deterministically from the name, so two runs give the same bytes.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use crate::clock;
use crate::wire::{ListModel, ListResponse, ModelDetails, ShowResponse};

/// `llama3.2` → `llama3.2:latest`; a name that has a tag is returned as is.
/// The tag is what follows a `:` in the last path segment, so a registry port
/// (`localhost:5000/m`) is not taken for a tag.
pub(crate) fn canonical(name: &str) -> String {
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    if last_segment.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// The listed model that `requested` names, if any.
pub(crate) fn find<'a>(models: &'a [String], requested: &str) -> Option<&'a str> {
    let wanted = canonical(requested);
    models
        .iter()
        .find(|m| canonical(m).eq_ignore_ascii_case(&wanted))
        .map(String::as_str)
}

/// `capabilities` of the families the fake knows, by base name (the name
/// without namespace and tag), as listed on ollama.com/library.
const FAMILIES: &[(&str, &[&str])] = &[
    ("llama3.1", &["completion", "tools"]),
    ("llama3.2", &["completion", "tools"]),
    ("llama3.3", &["completion", "tools"]),
    ("qwen2.5", &["completion", "tools"]),
    ("mistral", &["completion", "tools"]),
    ("qwen3", &["completion", "tools", "thinking"]),
    ("gpt-oss", &["completion", "tools", "thinking"]),
    ("magistral", &["completion", "tools", "thinking"]),
    ("deepseek-r1", &["completion", "thinking"]),
];

/// What the model can do: `completion`, plus `tools` and `thinking` for the
/// families that have them.
pub(crate) fn capabilities(name: &str) -> Vec<&'static str> {
    let base = base_name(name).to_ascii_lowercase();
    FAMILIES
        .iter()
        .find(|(family, _)| *family == base)
        .map_or_else(|| vec!["completion"], |(_, caps)| caps.to_vec())
}

/// Whether the model has this capability.
pub(crate) fn can(name: &str, capability: &str) -> bool {
    capabilities(name).contains(&capability)
}

/// gpt-oss takes thinking *levels* only: `think: true`/`false` are ignored and
/// it thinks anyway ("the trace cannot be fully disabled", Ollama's thinking
/// docs).
pub(crate) fn thinks_regardless(name: &str) -> bool {
    base_name(name).eq_ignore_ascii_case("gpt-oss")
}

/// The fully qualified name Ollama prints in capability errors
/// (`model.ParseName(...).String()`): `llama3.2` →
/// `registry.ollama.ai/library/llama3.2:latest`, `me/m:1b` →
/// `registry.ollama.ai/me/m:1b`; a name with a host is kept as is.
pub(crate) fn qualified(name: &str) -> String {
    let name = canonical(name);
    match name.matches('/').count() {
        0 => format!("registry.ollama.ai/library/{name}"),
        1 => format!("registry.ollama.ai/{name}"),
        _ => name,
    }
}

/// The part between the last `/` and the `:`: `library/llama3.1:8b` → `llama3.1`.
fn base_name(name: &str) -> &str {
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    last_segment.split(':').next().unwrap_or(last_segment)
}

/// The tag: `llama3.1:8b` → `8b`, `llama3.2` → `latest`.
fn tag(name: &str) -> String {
    let canonical = canonical(name);
    let last_segment = canonical.rsplit('/').next().unwrap_or(&canonical);
    last_segment
        .split_once(':')
        .map(|(_, t)| t.to_string())
        .unwrap_or_default()
}

/// Parameters in billions, read from a tag like `8b` or `0.6b`; 3.2 otherwise.
fn parameters_billions(name: &str) -> f64 {
    let tag = tag(name).to_ascii_lowercase();
    tag.strip_suffix('b')
        .and_then(|n| n.parse::<f64>().ok())
        .filter(|n| *n > 0.0)
        .unwrap_or(3.2)
}

fn details(name: &str) -> ModelDetails {
    let family: String = base_name(name)
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    let family = if family.is_empty() {
        "llama".to_string()
    } else {
        family
    };
    let billions = parameters_billions(name);
    let parameter_size = if billions >= 1.0 {
        format!("{billions:.1}B")
    } else {
        format!("{:.0}M", billions * 1000.0)
    };
    ModelDetails {
        parent_model: String::new(),
        format: "gguf".into(),
        family: family.clone(),
        families: vec![family],
        parameter_size,
        quantization_level: "Q4_K_M".into(),
    }
}

/// 64 hex digits derived from the name (FNV-1a with four seeds): looks like a
/// sha256 digest and is stable across runs.
fn digest(name: &str) -> String {
    (0u64..4)
        .map(|seed| {
            let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for b in name.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            format!("{h:016x}")
        })
        .collect()
}

/// `modified_at` of the `index`-th listed model: the first is the newest, as in
/// Ollama's list (sorted newest first). Written in UTC, which is what a Go
/// server prints when its local time zone is UTC.
fn modified_at(index: usize) -> String {
    // 2026-08-20T15:37:44.706015396Z, minus a few days per position.
    let newest = UNIX_EPOCH + Duration::new(1_787_240_264, 706_015_396);
    let age = Duration::from_secs(index as u64 * (3 * 86_400 + 4_321));
    clock::rfc3339_utc(newest.checked_sub(age).unwrap_or(UNIX_EPOCH))
}

/// Roughly what a Q4_K_M file of that many parameters weighs.
fn size_bytes(name: &str) -> u64 {
    (parameters_billions(name) * 0.631e9) as u64
}

/// The body of `GET /api/tags`.
pub(crate) fn tags(models: &[String]) -> ListResponse {
    ListResponse {
        models: models
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let name = canonical(m);
                ListModel {
                    model: name.clone(),
                    modified_at: modified_at(i),
                    size: size_bytes(m),
                    digest: digest(&name),
                    details: details(m),
                    capabilities: capabilities(m),
                    name,
                }
            })
            .collect(),
    }
}

/// The body of `POST /api/show` for a listed model.
pub(crate) fn show(models: &[String], listed: &str) -> ShowResponse {
    let index = models.iter().position(|m| m == listed).unwrap_or(0);
    let details = details(listed);
    let mut model_info = BTreeMap::new();
    model_info.insert(
        "general.architecture".to_string(),
        serde_json::Value::from(details.family.clone()),
    );
    model_info.insert(
        "general.parameter_count".to_string(),
        serde_json::Value::from((parameters_billions(listed) * 1e9) as u64),
    );
    model_info.insert(
        format!("{}.context_length", details.family),
        serde_json::Value::from(131_072u64),
    );
    ShowResponse {
        license: "This is a fake model served by fake-ollama.".into(),
        modelfile: format!(
            "# Modelfile generated by \"ollama show\"\nFROM {}\nTEMPLATE {{{{ .Prompt }}}}\n",
            canonical(listed)
        ),
        parameters: "stop                           \"<|eot_id|>\"".into(),
        template: "{{ .Prompt }}".into(),
        details,
        model_info,
        capabilities: capabilities(listed),
        modified_at: modified_at(index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_a_tag_mean_latest() {
        assert_eq!(canonical("llama3.2"), "llama3.2:latest");
        assert_eq!(canonical("llama3.1:8b"), "llama3.1:8b");
        assert_eq!(
            canonical("localhost:5000/me/m"),
            "localhost:5000/me/m:latest"
        );
    }

    #[test]
    fn find_matches_canonical_names_ignoring_case() {
        let models = vec!["llama3.1:8b".to_string(), "llama3.2:latest".to_string()];
        assert_eq!(find(&models, "llama3.2"), Some("llama3.2:latest"));
        assert_eq!(find(&models, "Llama3.1:8B"), Some("llama3.1:8b"));
        assert_eq!(find(&models, "llama3.1"), None);
        assert_eq!(find(&models, "nope"), None);
    }

    #[test]
    fn details_are_derived_from_the_name() {
        let d = details("llama3.1:8b");
        assert_eq!(d.family, "llama");
        assert_eq!(d.parameter_size, "8.0B");
        assert_eq!(details("qwen3:0.6b").parameter_size, "600M");
        assert_eq!(details("llama3.2").parameter_size, "3.2B");
        assert_eq!(digest("llama3.2:latest").len(), 64);
        assert_ne!(digest("a"), digest("b"));
    }

    #[test]
    fn capabilities_follow_the_family() {
        assert_eq!(capabilities("llama3.2"), ["completion", "tools"]);
        assert_eq!(capabilities("library/llama3.1:8b"), ["completion", "tools"]);
        assert_eq!(
            capabilities("qwen3:0.6b"),
            ["completion", "tools", "thinking"]
        );
        assert_eq!(
            capabilities("gpt-oss:20b"),
            ["completion", "tools", "thinking"]
        );
        assert_eq!(capabilities("deepseek-r1:8b"), ["completion", "thinking"]);
        assert_eq!(capabilities("m1"), ["completion"]);
        assert!(can("QWEN3:4b", "thinking"));
        assert!(!can("llama3.2", "thinking"));
        assert!(thinks_regardless("gpt-oss:120b"));
        assert!(!thinks_regardless("qwen3"));
    }

    #[test]
    fn qualified_names_as_in_capability_errors() {
        assert_eq!(
            qualified("llama3.2"),
            "registry.ollama.ai/library/llama3.2:latest"
        );
        assert_eq!(
            qualified("gemma3:4b"),
            "registry.ollama.ai/library/gemma3:4b"
        );
        assert_eq!(qualified("me/m:1b"), "registry.ollama.ai/me/m:1b");
        assert_eq!(
            qualified("localhost:5000/me/m"),
            "localhost:5000/me/m:latest"
        );
    }

    #[test]
    fn newest_model_first() {
        assert_eq!(modified_at(0), "2026-08-20T15:37:44.706015396Z");
        assert!(modified_at(1) < modified_at(0));
    }
}
