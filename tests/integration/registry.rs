//! `src/telemetry/names.rs` and the Weaver registry under `telemetry/registry/` name the
//! same telemetry: the registry is the schema a backend, a dashboard or Weaver's live check
//! reads, `names.rs` is what the code emits, so a name in one and not the other is either
//! undocumented telemetry or a documented name nobody sends.
//!
//! The rule for which `names.rs` constants are telemetry names:
//!
//! * every `pub const X: &str` inside a module (`span`, `event`, `log`, `attr`, `resource`,
//!   `metric`, …) is a name, and its module says what kind: `span` → a span group's `name`,
//!   `event` and `log` → an event group's `name`, `metric` → a `metric_name`, `attr` and
//!   `resource` → an attribute `id` or `ref`; in any other module it may be of any kind;
//! * except the attribute *values* listed in [`VALUES`] (`OPERATION_CHAT`, `STATUS_SUCCESS`…):
//!   a new value constant goes there, a new name goes into the registry;
//! * top-level constants (`SCOPE`, `DEFAULT_SERVICE_NAME`) are not names (the scope name
//!   and a value); constants of other types (bucket arrays, tables) are not either.
//!
//! On the registry side, every attribute `id`/`ref`, span and event `name`, `metric_name`,
//! a span's `events` and the `imports` count, except the `telemetry.sdk.*` Resource
//! attributes, which the SDK sets (no constant of ours could). The YAML is read with
//! `serde_norway` (the maintained fork of `serde_yaml`); `names.rs` with a small line parser.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_norway::Value;

/// Constants of `names.rs` that are attribute values, not names (see the module comment).
const VALUES: &[&str] = &[
    "attr::OPERATION_CHAT",
    "attr::PROVIDER_OLLAMA",
    "attr::LINK_TYPE_FEEDBACK",
    "metric::STATUS_SUCCESS",
    "metric::STATUS_ERROR",
    "metric::STATUS_CANCELLED",
    "tools::TOOL_TYPE_FUNCTION",
    "tools::TRANSPORT_PIPE",
    "tools::ERROR_TOOL_ERROR",
    "tools::ERROR_TIMEOUT",
    "tools::ERROR_CONNECTION_CLOSED",
    "tools::ERROR_UNEXPECTED_RESPONSE",
    "tools::ERROR_UNKNOWN_TOOL",
    "tools::ERROR_INVALID_ARGUMENTS",
    "tools::ERROR_SERVER_UNAVAILABLE",
];

/// Registry names no constant of ours can hold: the SDK's Resource attributes.
const SET_BY_THE_SDK: &str = "telemetry.sdk.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Span,
    Event,
    Metric,
    Attribute,
    /// A constant of a module whose name does not say (matches any kind).
    Any,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Span => "span",
            Kind::Event => "event",
            Kind::Metric => "metric",
            Kind::Attribute => "attribute",
            Kind::Any => "name",
        })
    }
}

/// One string constant of `names.rs`: `module::IDENT = "value"`.
#[derive(Debug)]
struct Constant {
    path: String,
    value: String,
    kind: Kind,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kind_of_module(module: &str) -> Kind {
    match module {
        "span" => Kind::Span,
        "event" | "log" => Kind::Event,
        "metric" => Kind::Metric,
        "attr" | "resource" => Kind::Attribute,
        _ => Kind::Any,
    }
}

/// The `pub const NAME: &str = "value";` of every module of `names.rs` (top level skipped).
/// The value may sit on the line after the `=` (rustfmt wraps long ones).
fn parse_names(source: &str) -> Vec<Constant> {
    let mut constants = Vec::new();
    let mut module: Option<String> = None;
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(rest) = line.strip_prefix("pub mod ") {
            module = rest.split_whitespace().next().map(str::to_string);
            continue;
        }
        if line.starts_with('}') {
            module = None;
            continue;
        }
        let (Some(module), Some(rest)) = (&module, trimmed.strip_prefix("pub const ")) else {
            continue;
        };
        let Some((ident, rest)) = rest.split_once(": &str =") else {
            continue; // not a string constant (bucket arrays, tables)
        };
        let mut literal = rest.trim().to_string();
        if literal.is_empty() {
            literal = lines.next().unwrap_or_default().trim().to_string();
        }
        let value = literal
            .trim_end_matches(';')
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("names.rs: cannot read the value of {module}::{ident}"));
        constants.push(Constant {
            path: format!("{module}::{}", ident.trim()),
            value: value.to_string(),
            kind: kind_of_module(module),
        });
    }
    constants
}

/// Every telemetry name the registry's YAML files (all but the manifest) define or reference.
fn registry_names(dir: &Path) -> BTreeSet<(Kind, String)> {
    let mut names = BTreeSet::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("telemetry/registry exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "manifest.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {}", dir.display());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable registry file");
        let doc: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", file.display()));
        let strings = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_sequence)
                .map(|s| {
                    s.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        for group in doc
            .get("groups")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let kind = group
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = group.get("name").and_then(Value::as_str);
            match (kind, name) {
                ("span", Some(n)) => {
                    names.insert((Kind::Span, n.to_string()));
                }
                ("event", Some(n)) => {
                    names.insert((Kind::Event, n.to_string()));
                }
                _ => {}
            }
            if let Some(metric) = group.get("metric_name").and_then(Value::as_str) {
                names.insert((Kind::Metric, metric.to_string()));
            }
            for event in strings(group.get("events")) {
                names.insert((Kind::Event, event));
            }
            let attributes = group.get("attributes").and_then(Value::as_sequence);
            for attribute in attributes.into_iter().flatten() {
                let key = attribute.get("id").or_else(|| attribute.get("ref"));
                if let Some(key) = key.and_then(Value::as_str) {
                    names.insert((Kind::Attribute, key.to_string()));
                }
            }
        }
        let imports = doc.get("imports");
        for metric in strings(imports.and_then(|i| i.get("metrics"))) {
            names.insert((Kind::Metric, metric));
        }
        for event in strings(imports.and_then(|i| i.get("events"))) {
            names.insert((Kind::Event, event));
        }
    }
    names.retain(|(_, name)| !name.starts_with(SET_BY_THE_SDK));
    names
}

fn matches(constant: &Constant, kind: Kind, name: &str) -> bool {
    constant.value == name && (constant.kind == kind || constant.kind == Kind::Any)
}

#[test]
fn names_rs_and_the_weaver_registry_name_the_same_telemetry() {
    let source = std::fs::read_to_string(repo().join("src/telemetry/names.rs"))
        .expect("src/telemetry/names.rs is readable");
    let all = parse_names(&source);
    assert!(
        all.len() > 40,
        "the names.rs parser found only {} constants",
        all.len()
    );
    for value in VALUES {
        assert!(
            all.iter().any(|c| c.path == *value),
            "VALUES in tests/integration/registry.rs lists {value}, which names.rs no longer has"
        );
    }
    let constants: Vec<&Constant> = all
        .iter()
        .filter(|c| !VALUES.contains(&c.path.as_str()))
        .collect();
    let registry = registry_names(&repo().join("telemetry/registry"));

    let not_in_registry: Vec<String> = constants
        .iter()
        .filter(|c| !registry.iter().any(|(kind, name)| matches(c, *kind, name)))
        .map(|c| format!("  {} `{}` ({})", c.kind, c.value, c.path))
        .collect();
    let not_in_names: Vec<String> = registry
        .iter()
        .filter(|(kind, name)| !constants.iter().any(|c| matches(c, *kind, name)))
        .map(|(kind, name)| format!("  {kind} `{name}`"))
        .collect();

    let mut problems = String::new();
    if !not_in_registry.is_empty() {
        problems.push_str(&format!(
            "in src/telemetry/names.rs, missing from telemetry/registry/ (define or `ref:` it \
             there; if it is an attribute value, add it to VALUES in this test):\n{}\n",
            not_in_registry.join("\n")
        ));
    }
    if !not_in_names.is_empty() {
        problems.push_str(&format!(
            "in telemetry/registry/, no constant of that kind in src/telemetry/names.rs:\n{}\n",
            not_in_names.join("\n")
        ));
    }
    assert!(
        problems.is_empty(),
        "names.rs and the registry disagree:\n{problems}"
    );
}

#[test]
fn the_names_rs_parser_reads_wrapped_values_and_skips_the_top_level() {
    let source = r#"
pub const SCOPE: &str = "chatbot-otel";
pub mod metric {
    /// A doc comment.
    pub const SHORT: &str = "llm.requests";
    pub const WRAPPED: &str =
        "gen_ai.client.operation.time_to_first_chunk";
}
pub mod buckets {
    pub const SECONDS: &[f64] = &[0.1, 1.0];
}
pub mod tools {
    pub const EXECUTE_TOOL: &str = "execute_tool";
}
"#;
    let parsed: Vec<(String, String, Kind)> = parse_names(source)
        .into_iter()
        .map(|c| (c.path, c.value, c.kind))
        .collect();
    assert_eq!(
        parsed,
        [
            ("metric::SHORT".into(), "llm.requests".into(), Kind::Metric),
            (
                "metric::WRAPPED".into(),
                "gen_ai.client.operation.time_to_first_chunk".into(),
                Kind::Metric
            ),
            (
                "tools::EXECUTE_TOOL".into(),
                "execute_tool".into(),
                Kind::Any
            ),
        ]
    );
}
