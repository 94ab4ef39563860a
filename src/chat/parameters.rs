//! Ollama's model parameters (`options` in the request), as `ollama run`'s
//! `/set parameter NAME VALUE` knows them: their names, types, ranges and messages.
//!
//! One table drives the command line (`--option NAME=VALUE`), the prompt
//! (`/set parameter`, `/show parameters`) and validation, so the three can never disagree.
//! Only parameters the user set are sent: the model's Modelfile defaults apply to the rest.
//! Which telemetry attribute each one becomes is decided in [`super::attributes`].

use crate::ollama::wire::ChatOptions;

/// What a parameter's value must be.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A number in `min..=max`.
    Float { min: f64, max: f64 },
    /// Any non-empty text; each `set` adds one more (`stop`).
    Text,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    kind: Kind,
    /// What the value means, for the error message.
    expected: &'static str,
}

/// The parameters we accept, in `ollama run`'s order of `/set parameter` help.
pub const PARAMETERS: &[Parameter] = &[
    Parameter {
        name: "num_ctx",
        kind: Kind::Int {
            min: 1,
            max: i64::MAX,
        },
        expected: "a whole number of tokens, 1 or more",
    },
    Parameter {
        name: "num_predict",
        kind: Kind::Int {
            min: -2,
            max: i64::MAX,
        },
        expected: "a whole number of tokens (-1 for no limit, -2 to fill the context)",
    },
    Parameter {
        name: "top_k",
        kind: Kind::Int {
            min: 0,
            max: i64::MAX,
        },
        expected: "a whole number, 0 or more",
    },
    Parameter {
        name: "top_p",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        expected: "a number from 0 to 1",
    },
    Parameter {
        name: "min_p",
        kind: Kind::Float { min: 0.0, max: 1.0 },
        expected: "a number from 0 to 1",
    },
    Parameter {
        name: "seed",
        kind: Kind::Int {
            min: i64::MIN,
            max: i64::MAX,
        },
        expected: "a whole number",
    },
    Parameter {
        name: "stop",
        kind: Kind::Text,
        expected: "some text (repeat /set parameter stop to add more)",
    },
    Parameter {
        name: "repeat_penalty",
        kind: Kind::Float {
            min: 0.0,
            max: f64::MAX,
        },
        expected: "a number, 0 or more",
    },
    Parameter {
        name: "repeat_last_n",
        kind: Kind::Int {
            min: -1,
            max: i64::MAX,
        },
        expected: "a whole number of tokens (-1 for the whole context, 0 to disable)",
    },
    Parameter {
        name: "temperature",
        kind: Kind::Float { min: 0.0, max: 2.0 },
        expected: "a number from 0 to 2",
    },
];

/// The parameter names, for usage lines and completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    PARAMETERS.iter().map(|p| p.name)
}

/// Sets `name` to `raw` in `options`. The error is one line for the user, in the same
/// words for the command line and the prompt: `invalid top_p "2": expected a number from 0 to 1`.
pub fn set(options: &mut ChatOptions, name: &str, raw: &str) -> Result<(), String> {
    let name = name.trim().to_ascii_lowercase();
    let Some(parameter) = PARAMETERS.iter().find(|p| p.name == name) else {
        return Err(format!(
            "unknown parameter {name:?}: expected one of {}",
            names().collect::<Vec<_>>().join(", ")
        ));
    };
    let invalid = || format!("invalid {name} {raw:?}: expected {}", parameter.expected);
    let value = raw.trim();
    match parameter.kind {
        Kind::Int { min, max } => {
            let n = value
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(invalid)?;
            let slot = match parameter.name {
                "num_ctx" => &mut options.num_ctx,
                "num_predict" => &mut options.num_predict,
                "top_k" => &mut options.top_k,
                "seed" => &mut options.seed,
                "repeat_last_n" => &mut options.repeat_last_n,
                _ => unreachable!("every Int row has a slot"),
            };
            *slot = Some(n);
        }
        Kind::Float { min, max } => {
            let x = value
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && (min..=max).contains(x))
                .ok_or_else(invalid)?;
            match parameter.name {
                "temperature" => options.temperature = x,
                "top_p" => options.top_p = Some(x),
                "min_p" => options.min_p = Some(x),
                "repeat_penalty" => options.repeat_penalty = Some(x),
                _ => unreachable!("every Float row has a slot"),
            }
        }
        Kind::Text => {
            // A stop sequence is taken as typed (a leading space can matter), but not empty.
            if raw.is_empty() {
                return Err(invalid());
            }
            options.stop.push(raw.to_string());
        }
    }
    Ok(())
}

/// Parses `--option NAME=VALUE` and applies it.
pub fn set_assignment(options: &mut ChatOptions, assignment: &str) -> Result<(), String> {
    let Some((name, value)) = assignment.split_once('=') else {
        return Err(format!(
            "invalid option {assignment:?}: expected NAME=VALUE, as in num_ctx=8192"
        ));
    };
    set(options, name, value)
}

/// What is set, as `(name, value)` rows in table order (`stop` once per sequence);
/// temperature always, since it always has a value.
pub fn list(options: &ChatOptions) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let int = |v: Option<i64>| v.map(|n| n.to_string());
    let float = |v: Option<f64>| v.map(|x| x.to_string());
    for p in PARAMETERS {
        let value = match p.name {
            "num_ctx" => int(options.num_ctx),
            "num_predict" => int(options.num_predict),
            "top_k" => int(options.top_k),
            "top_p" => float(options.top_p),
            "min_p" => float(options.min_p),
            "seed" => int(options.seed),
            "repeat_penalty" => float(options.repeat_penalty),
            "repeat_last_n" => int(options.repeat_last_n),
            "temperature" => Some(options.temperature.to_string()),
            "stop" => {
                rows.extend(options.stop.iter().map(|s| ("stop", format!("{s:?}"))));
                None
            }
            _ => None,
        };
        if let Some(value) = value {
            rows.push((p.name, value));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each kind validates its range and reports it in one line.
    #[test]
    fn validates_like_temperature() {
        let mut o = ChatOptions::default();
        set(&mut o, "num_ctx", "8192").unwrap();
        set(&mut o, "top_p", "0.9").unwrap();
        set(&mut o, "seed", "-7").unwrap();
        set(&mut o, "num_predict", "-1").unwrap();
        set(&mut o, "TEMPERATURE", "1.5").unwrap();
        assert_eq!(o.num_ctx, Some(8192));
        assert_eq!(o.top_p, Some(0.9));
        assert_eq!(o.seed, Some(-7));
        assert_eq!(o.num_predict, Some(-1));
        assert_eq!(o.temperature, 1.5);
        assert_eq!(
            set(&mut o, "top_p", "2").unwrap_err(),
            r#"invalid top_p "2": expected a number from 0 to 1"#
        );
        assert_eq!(
            set(&mut o, "temperature", "hot").unwrap_err(),
            r#"invalid temperature "hot": expected a number from 0 to 2"#
        );
        assert!(set(&mut o, "num_ctx", "0").is_err());
        assert!(set(&mut o, "num_ctx", "1.5").is_err());
        assert!(set(&mut o, "min_p", "NaN").is_err());
        assert!(set(&mut o, "repeat_last_n", "-2").is_err());
        assert!(set(&mut o, "mirostat", "1")
            .unwrap_err()
            .starts_with("unknown parameter \"mirostat\": expected one of num_ctx, num_predict"));
        // A failed set changes nothing.
        assert_eq!(o.top_p, Some(0.9));
    }

    /// `stop` accumulates, and the listing shows each sequence quoted.
    #[test]
    fn stop_repeats_and_lists() {
        let mut o = ChatOptions {
            temperature: 0.7,
            ..ChatOptions::default()
        };
        set(&mut o, "stop", "\n\n").unwrap();
        set(&mut o, "stop", "User:").unwrap();
        assert!(set(&mut o, "stop", "").is_err());
        set_assignment(&mut o, "top_k=20").unwrap();
        assert!(set_assignment(&mut o, "top_k")
            .unwrap_err()
            .contains("NAME=VALUE"));
        assert_eq!(
            list(&o),
            vec![
                ("top_k", "20".to_string()),
                ("stop", "\"\\n\\n\"".to_string()),
                ("stop", "\"User:\"".to_string()),
                ("temperature", "0.7".to_string()),
            ]
        );
    }
}
