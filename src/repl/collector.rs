//! Is an OTLP collector listening? The front end's side of the start-up probe.
//!
//! A new user runs the chatbot with no collector: the exporter's failures go to the log
//! file, and the Jaeger link under every reply points at nothing. The telemetry setup
//! starts a one-shot TCP connect to the traces endpoint in the background
//! ([`crate::telemetry::otlp::CollectorProbe`]); the interactive front end asks it once and,
//! if nothing answers, says so in one line with where the telemetry can be seen instead,
//! and stops printing links.

use std::time::Duration;

use crate::telemetry::otlp::{CollectorProbe, Reachability};

/// How long a caller waits for the answer (the probe's connect gives up after 1 s).
const WAIT: Duration = Duration::from_millis(1500);

/// `host:port` of the collector when the probe found nothing listening there; `None`
/// while it is reachable, or when the probe did not finish in time (then nothing is said
/// and the links stay, as before the probe existed).
pub(crate) fn down_address(probe: &CollectorProbe) -> Option<String> {
    match probe.wait(WAIT) {
        Reachability::Unreachable(_) => {
            let url = probe.endpoint();
            Some(format!(
                "{}:{}",
                url.host_str().unwrap_or_default(),
                url.port_or_known_default().unwrap_or(0)
            ))
        }
        Reachability::Reachable | Reachability::Checking => None,
    }
}

/// The one line said when nothing listens.
pub(crate) fn unreachable_notice(address: &str) -> String {
    format!(
        "note: no OTLP collector at {address}; telemetry stays here: /trace, /stats, or --export file:PATH"
    )
}
