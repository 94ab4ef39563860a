//! Is an OTLP collector listening? Asked once, in the background, at start-up.
//!
//! A new user runs the chatbot with no collector: the exporter's failures go to the log
//! file, and the Jaeger link under every reply points at nothing. So the interactive front
//! end asks once — a TCP connect to the traces endpoint, on its own thread so the first
//! prompt is not delayed — and if nothing answers, says so in one line, with where the
//! telemetry can be seen instead, and stops printing links.
//!
//! This is a stand-in: the endpoint rules below repeat the SDK's, and a TCP connect proves
//! only that something listens. When `telemetry` offers "is the collector reachable?"
//! itself, [`Collector::collector_reachable`] should ask it instead.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::Duration;

use url::Url;

use crate::config::{Config, ExportTarget, OtlpProtocol};

/// How long the connect may take: a collector on this machine answers at once.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a caller waits for the answer (longer than the connect, so it always comes).
const WAIT: Duration = Duration::from_millis(1500);

/// The start-up probe of the OTLP traces endpoint.
pub(crate) struct Collector {
    /// `host:port`, as the notice shows it.
    pub(crate) address: String,
    answer: Option<mpsc::Receiver<bool>>,
    reachable: Option<bool>,
}

impl Collector {
    /// Starts the probe when telemetry goes to a collector; `None` otherwise.
    pub(crate) fn probe(config: &Config) -> Option<Collector> {
        if !config.telemetry_enabled || config.export != ExportTarget::Otlp {
            return None;
        }
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Collector::start(&traces_endpoint(config, env)?)
    }

    /// Starts a TCP connect to `url`'s host and port on a thread of its own.
    pub(crate) fn start(url: &Url) -> Option<Collector> {
        let host = url.host_str()?.trim_matches(['[', ']']).to_string();
        let port = url.port_or_known_default()?;
        let (tx, rx) = mpsc::channel();
        let target = (host.clone(), port);
        std::thread::Builder::new()
            .name("collector-probe".into())
            .spawn(move || {
                let up = target.to_socket_addrs().is_ok_and(|mut addrs| {
                    addrs.any(|a| TcpStream::connect_timeout(&a, CONNECT_TIMEOUT).is_ok())
                });
                let _ = tx.send(up);
            })
            .ok()?;
        Some(Collector {
            address: format!("{host}:{port}"),
            answer: Some(rx),
            reachable: None,
        })
    }

    /// Whether something listens at the endpoint; `None` if the probe did not finish in
    /// time (then nothing is said and the links stay, as before the probe existed).
    pub(crate) fn collector_reachable(&mut self) -> Option<bool> {
        if let Some(rx) = self.answer.take() {
            self.reachable = rx.recv_timeout(WAIT).ok();
        }
        self.reachable
    }
}

/// The one line said when nothing listens.
pub(crate) fn unreachable_notice(address: &str) -> String {
    format!(
        "note: no OTLP collector at {address}; telemetry stays here: /trace, /stats, or --export file:PATH"
    )
}

/// The URL the trace exporter sends to, by the SDK's rules: `--otlp-endpoint`, then
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`, then the default.
fn traces_endpoint(config: &Config, env: impl Fn(&str) -> Option<String>) -> Option<Url> {
    let default = match config.otlp_protocol {
        OtlpProtocol::HttpProtobuf => "http://localhost:4318",
        OtlpProtocol::Grpc => "http://localhost:4317",
    };
    let raw = match &config.otlp_endpoint {
        Some(url) => return Some(url.clone()),
        None => env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"))
            .unwrap_or_else(|| default.to_string()),
    };
    Url::parse(raw.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe tells a listening loopback port from a closed one.
    #[test]
    fn probe_tells_listening_from_closed() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let closed_port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let closed = Url::parse(&format!("http://127.0.0.1:{closed_port}")).unwrap();
        assert_eq!(
            Collector::start(&open).unwrap().collector_reachable(),
            Some(true)
        );
        let mut down = Collector::start(&closed).unwrap();
        assert_eq!(down.address, format!("127.0.0.1:{closed_port}"));
        assert_eq!(down.collector_reachable(), Some(false));
        // Asked again, the answer is remembered.
        assert_eq!(down.collector_reachable(), Some(false));
    }

    /// The notice names the address and both ways to see the telemetry, on one line.
    #[test]
    fn notice_is_one_line_with_the_ways_out() {
        let text = unreachable_notice("localhost:4318");
        assert!(!text.contains('\n'));
        for part in ["localhost:4318", "/trace", "--export file:PATH"] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
