//! The OpenTelemetry SDK's own variables, checked before the SDK reads them.
//!
//! opentelemetry-rust reads `OTEL_BSP_*`, `OTEL_BLRP_*`, `OTEL_METRIC_EXPORT_INTERVAL`,
//! `OTEL_TRACES_SAMPLER[_ARG]` and `OTEL_RESOURCE_ATTRIBUTES` itself, and takes what it
//! cannot use silently (at most an internal log record in our log file): a zero delay
//! becomes a busy loop, a zero queue drops every span, a ratio of −1 samples nothing.
//! So each value that would do harm gets one line here, naming the variable:
//!
//! * **`error:` (exit 2)** for a value the SDK would *run* with and do harm — we cannot
//!   guess what was meant, and a clamped value would hide the mistake:
//!   - `0` for `OTEL_METRIC_EXPORT_INTERVAL`, `OTEL_BSP_SCHEDULE_DELAY` or
//!     `OTEL_BLRP_SCHEDULE_DELAY`: the SDK's export loop then never sleeps (one core at
//!     100 % while the chat is idle). Clamping was the alternative; we reject because
//!     "export continuously" is not a setting anyone wants, and 1 ms would still burn CPU.
//!   - `0` for `OTEL_BSP_MAX_QUEUE_SIZE` or `OTEL_BLRP_MAX_QUEUE_SIZE`: every span or log
//!     record is dropped on arrival.
//!   - an `OTEL_TRACES_SAMPLER_ARG` that is not a number in 0..=1 while a ratio sampler is
//!     chosen: the SDK would use −1 (nothing sampled) or 7 (everything) as given.
//! * **`warning:`** where the SDK's fallback is sound and we only make it visible: an
//!   unknown `OTEL_TRACES_SAMPLER` (the SDK uses `parentbased_always_on`), a ratio of 0
//!   (valid, but no trace is ever kept), an `OTEL_RESOURCE_ATTRIBUTES` entry with an empty
//!   key (dropped by `telemetry::resource`).
//!
//! Values are shown, since none of these variables holds a secret.

/// Variables where `0` means "no pause between exports".
const ZERO_IS_A_BUSY_LOOP: [&str; 3] = [
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BLRP_SCHEDULE_DELAY",
];

/// Variables where `0` means "keep nothing".
const ZERO_DROPS_EVERYTHING: [&str; 2] = ["OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BLRP_MAX_QUEUE_SIZE"];

/// The samplers opentelemetry-rust 0.33 builds from `OTEL_TRACES_SAMPLER` (exact spelling,
/// as the SDK compares them).
const SAMPLERS: [&str; 6] = [
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
];

/// Checks the SDK's variables: `Err` with the one line to print (exit 2), else the
/// warnings to show at start-up. `env` must treat empty values as unset.
pub(crate) fn check(env: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for var in ZERO_IS_A_BUSY_LOOP {
        if is_zero(env(var)) {
            return Err(format!(
                "{var}=0 would export in a busy loop (a core at 100 % while idle): use milliseconds above 0, e.g. {var}=5000, or unset it"
            ));
        }
    }
    for var in ZERO_DROPS_EVERYTHING {
        if is_zero(env(var)) {
            return Err(format!(
                "{var}=0 would drop all telemetry on arrival: use a size above 0 (the SDK's default is 2048), or unset it"
            ));
        }
    }
    if let Some(sampler) = env("OTEL_TRACES_SAMPLER") {
        if !SAMPLERS.contains(&sampler.as_str()) {
            warnings.push(format!(
                "ignoring OTEL_TRACES_SAMPLER={sampler:?} (expected one of {}): using parentbased_always_on",
                SAMPLERS.join(", ")
            ));
        } else if sampler.ends_with("traceidratio") {
            if let Some(raw) = env("OTEL_TRACES_SAMPLER_ARG") {
                match raw.parse::<f64>() {
                    Ok(0.0) => warnings.push(format!(
                        "OTEL_TRACES_SAMPLER_ARG={raw:?} with {sampler}: no trace will be sampled or exported"
                    )),
                    Ok(r) if (0.0..=1.0).contains(&r) => {}
                    _ => {
                        return Err(format!(
                            "invalid OTEL_TRACES_SAMPLER_ARG {raw:?} for {sampler}: expected a ratio from 0 to 1, e.g. 0.25"
                        ))
                    }
                }
            }
        }
    }
    if let Some(list) = env("OTEL_RESOURCE_ATTRIBUTES") {
        let empty = list
            .split(',')
            .filter_map(|entry| entry.split_once('='))
            .filter(|(key, _)| key.trim().is_empty())
            .count();
        if empty > 0 {
            warnings.push(format!(
                "ignoring {empty} entr{} of OTEL_RESOURCE_ATTRIBUTES with an empty key (in {list:?}): not exported",
                if empty == 1 { "y" } else { "ies" }
            ));
        }
    }
    Ok(warnings)
}

/// True for a value the SDK parses as the integer 0.
fn is_zero(value: Option<String>) -> bool {
    value.is_some_and(|v| v.trim().parse::<u64>() == Ok(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pairs: &[(&str, &str)]) -> Result<Vec<String>, String> {
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check(&move |name: &str| {
            owned
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// Each harmful value: an error or a warning that names the variable and the value.
    #[test]
    fn each_harmful_value_gets_one_line_naming_it() {
        // (variables, true = error / false = warning, words the line holds)
        type Row = (
            &'static [(&'static str, &'static str)],
            bool,
            &'static [&'static str],
        );
        let table: &[Row] = &[
            (
                &[("OTEL_METRIC_EXPORT_INTERVAL", "0")],
                true,
                &["OTEL_METRIC_EXPORT_INTERVAL=0", "busy loop"],
            ),
            (
                &[("OTEL_BSP_SCHEDULE_DELAY", " 0 ")],
                true,
                &["OTEL_BSP_SCHEDULE_DELAY=0"],
            ),
            (
                &[("OTEL_BLRP_SCHEDULE_DELAY", "0")],
                true,
                &["OTEL_BLRP_SCHEDULE_DELAY=0"],
            ),
            (
                &[("OTEL_BSP_MAX_QUEUE_SIZE", "0")],
                true,
                &["OTEL_BSP_MAX_QUEUE_SIZE=0", "drop all"],
            ),
            (
                &[("OTEL_BLRP_MAX_QUEUE_SIZE", "0")],
                true,
                &["OTEL_BLRP_MAX_QUEUE_SIZE=0"],
            ),
            (
                &[
                    ("OTEL_TRACES_SAMPLER", "traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "-1"),
                ],
                true,
                &["OTEL_TRACES_SAMPLER_ARG", "\"-1\"", "0 to 1"],
            ),
            (
                &[
                    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "half"),
                ],
                true,
                &["OTEL_TRACES_SAMPLER_ARG", "\"half\""],
            ),
            (
                &[
                    ("OTEL_TRACES_SAMPLER", "traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "0"),
                ],
                false,
                &["OTEL_TRACES_SAMPLER_ARG", "no trace"],
            ),
            (
                &[("OTEL_TRACES_SAMPLER", "sometimes")],
                false,
                &["OTEL_TRACES_SAMPLER=\"sometimes\"", "parentbased_always_on"],
            ),
            (
                &[("OTEL_RESOURCE_ATTRIBUTES", "a=1,=orphan")],
                false,
                &["OTEL_RESOURCE_ATTRIBUTES", "empty key", "=orphan"],
            ),
        ];
        for (vars, is_error, words) in table {
            let line = match (run(vars), is_error) {
                (Err(line), true) => line,
                (Ok(warnings), false) if warnings.len() == 1 => warnings[0].clone(),
                (other, _) => panic!("{vars:?}: {other:?}"),
            };
            for word in *words {
                assert!(line.contains(word), "{vars:?}: {line:?} lacks {word:?}");
            }
        }
    }

    /// Sound values pass without a word.
    #[test]
    fn sound_values_are_quiet() {
        for vars in [
            &[
                ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
                ("OTEL_BSP_SCHEDULE_DELAY", "1"),
            ][..],
            &[("OTEL_BSP_MAX_QUEUE_SIZE", "1")],
            &[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
            ],
            &[
                ("OTEL_TRACES_SAMPLER", "always_off"),
                ("OTEL_TRACES_SAMPLER_ARG", "-1"),
            ],
            &[("OTEL_RESOURCE_ATTRIBUTES", "a=1,b=")],
            &[],
        ] {
            assert_eq!(run(vars), Ok(vec![]), "{vars:?}");
        }
    }
}
