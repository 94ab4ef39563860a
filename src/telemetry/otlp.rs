//! OTLP's connection settings, resolved once: protocol, and per signal the endpoint and
//! the export timeout; plus which headers are set.
//!
//! The OpenTelemetry spec defines these variables (`OTEL_EXPORTER_OTLP_*`, "OTLP Exporter
//! Configuration") and the SDK reads them too — but a builder call in code beats the
//! environment in opentelemetry-rust ≥ 0.29, so once `--otlp-endpoint` or our shorter
//! default timeout is passed as a builder call, the variables must be honoured here or
//! not at all. [`OtlpSettings`] applies the spec's rules in one place and every reader
//! (the exporters, `doctor`, the settings shown by `/help`) takes the result from it:
//!
//! * **Protocol**: `OTEL_EXPORTER_OTLP_PROTOCOL`, `http/protobuf` (default) or `grpc`.
//! * **Endpoint**, per signal: `--otlp-endpoint` (a base URL), else
//!   `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_ENDPOINT` (used as is), else
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL), else `http://localhost:4318` for HTTP,
//!   `http://localhost:4317` for gRPC. For HTTP a base URL gets the signal's path
//!   (`/v1/traces`, …) appended; gRPC uses it as is (the path is the RPC).
//! * **Timeout**, per signal: `OTEL_EXPORTER_OTLP_{SIGNAL}_TIMEOUT`, else
//!   `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds), else 3 s (the SDK's is 10 s: a local
//!   collector answers in milliseconds, and a dead one must not hold the exit flush).
//! * **Headers** (`OTEL_EXPORTER_OTLP_HEADERS` and per signal): only the *names* are kept,
//!   for display (values are often credentials). The exporters read and percent-decode the
//!   values themselves; no builder call here overrides them.
//!
//! Empty variables count as unset (spec). This module reads only what it is given — an
//! `env` function — so every rule above is unit-tested without touching the process.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use url::Url;

/// Per-export deadline when no `OTEL_EXPORTER_OTLP_*TIMEOUT` is set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    HttpProtobuf,
    Grpc,
}

impl OtlpProtocol {
    /// The spec's spelling, as in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::Grpc => "grpc",
        }
    }

    /// The spec's default endpoint: 4318 is OTLP/HTTP's port, 4317 OTLP/gRPC's.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            OtlpProtocol::HttpProtobuf => "http://localhost:4318",
            OtlpProtocol::Grpc => "http://localhost:4317",
        }
    }

    fn parse(raw: &str) -> Result<OtlpProtocol, String> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            "grpc" => Ok(OtlpProtocol::Grpc),
            other => Err(format!(
                "unsupported OTEL_EXPORTER_OTLP_PROTOCOL {other:?}: use http/protobuf or grpc"
            )),
        }
    }
}

/// The three OTel signals, as OTLP names them in paths and variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    /// The OTLP/HTTP path of the signal (spec: `/v1/traces`, …).
    fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Metrics => "v1/metrics",
            Signal::Logs => "v1/logs",
        }
    }

    fn endpoint_var(self) -> &'static str {
        match self {
            Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        }
    }

    fn timeout_var(self) -> &'static str {
        match self {
            Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
        }
    }

    fn headers_var(self) -> &'static str {
        match self {
            Signal::Traces => "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
            Signal::Metrics => "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            Signal::Logs => "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
        }
    }
}

/// A setting OTLP cannot work with: one line for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtlpError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` names a protocol we do not build.
    #[error("{0}")]
    Protocol(String),
    /// An endpoint is not an http(s) URL.
    #[error("{0}")]
    Endpoint(String),
}

/// Where a value came from: the flag, a variable, or the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env(&'static str),
    Default,
}

/// One signal's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalSettings {
    /// The full URL the exporter sends to (path included for HTTP).
    pub endpoint: Url,
    /// The whole export's deadline, retries included.
    pub timeout: Duration,
}

/// Every OTLP connection setting, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpSettings {
    pub protocol: OtlpProtocol,
    pub protocol_origin: Origin,
    /// The base endpoint, as shown to the user (the flag, `OTEL_EXPORTER_OTLP_ENDPOINT` or
    /// the default); per-signal variables may send a signal elsewhere.
    pub base: String,
    pub base_origin: Origin,
    pub traces: SignalSettings,
    pub metrics: SignalSettings,
    pub logs: SignalSettings,
    /// Names of the headers set by `OTEL_EXPORTER_OTLP_*HEADERS` (values left to the SDK).
    pub header_names: Vec<String>,
    /// The variables those names came from.
    pub header_vars: Vec<&'static str>,
    /// Values we ignored, with the reason (shown once at start-up).
    pub warnings: Vec<String>,
}

impl OtlpSettings {
    /// Applies the rules in the module comment. `flag` is `--otlp-endpoint`; `env` reads a
    /// variable and returns `None` for unset or empty ones.
    pub fn resolve(
        flag: Option<&Url>,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<OtlpSettings, OtlpError> {
        let (protocol, protocol_origin) = match env("OTEL_EXPORTER_OTLP_PROTOCOL") {
            Some(raw) => (
                OtlpProtocol::parse(&raw).map_err(OtlpError::Protocol)?,
                Origin::Env("OTEL_EXPORTER_OTLP_PROTOCOL"),
            ),
            None => (OtlpProtocol::HttpProtobuf, Origin::Default),
        };
        let general = "OTEL_EXPORTER_OTLP_ENDPOINT";
        let (base, base_origin) = match (flag, env(general)) {
            (Some(url), _) => (url.to_string(), Origin::Flag),
            (None, Some(raw)) => (raw.trim().to_string(), Origin::Env(general)),
            (None, None) => (protocol.default_endpoint().to_string(), Origin::Default),
        };
        let base_url = parse_endpoint(&base, base_origin, protocol, None)?;

        let mut warnings = Vec::new();
        let mut signal = |signal: Signal| -> Result<SignalSettings, OtlpError> {
            let endpoint = match env(signal.endpoint_var()) {
                // The flag beats the per-signal variables: it is the most explicit.
                Some(raw) if base_origin != Origin::Flag => parse_endpoint(
                    &raw,
                    Origin::Env(signal.endpoint_var()),
                    protocol,
                    Some(signal),
                )?,
                _ => signal_endpoint(&base_url, protocol, signal),
            };
            let timeout = [signal.timeout_var(), "OTEL_EXPORTER_OTLP_TIMEOUT"]
                .into_iter()
                .find_map(|var| {
                    let raw = env(var)?;
                    let instead = if var == "OTEL_EXPORTER_OTLP_TIMEOUT" {
                        "using the default 3000 ms"
                    } else {
                        "using OTEL_EXPORTER_OTLP_TIMEOUT or the default 3000 ms"
                    };
                    match raw.trim().parse::<u64>() {
                        // A zero deadline fails every export before it starts: all
                        // telemetry would be lost without a word.
                        Ok(0) => {
                            warnings.push(format!(
                                "ignoring {var}=\"0\" (a zero deadline fails every export): {instead}"
                            ));
                            None
                        }
                        Ok(ms) => Some(Duration::from_millis(ms)),
                        Err(_) => {
                            warnings.push(format!(
                                "ignoring {var}={raw:?} (expected milliseconds, e.g. 3000): {instead}"
                            ));
                            None
                        }
                    }
                })
                .unwrap_or(DEFAULT_TIMEOUT);
            Ok(SignalSettings { endpoint, timeout })
        };
        let (traces, metrics, logs) = (
            signal(Signal::Traces)?,
            signal(Signal::Metrics)?,
            signal(Signal::Logs)?,
        );
        warnings.dedup();

        let mut header_vars = Vec::new();
        let mut header_names = Vec::new();
        let vars = [Signal::Traces, Signal::Metrics, Signal::Logs].map(Signal::headers_var);
        for var in std::iter::once("OTEL_EXPORTER_OTLP_HEADERS").chain(vars) {
            if let Some(list) = env(var) {
                header_vars.push(var);
                header_names.extend(header_names_in(&list));
                warnings.extend(header_problems(var, &list));
            }
        }
        header_names.sort();
        header_names.dedup();

        Ok(OtlpSettings {
            protocol,
            protocol_origin,
            base,
            base_origin,
            traces,
            metrics,
            logs,
            header_names,
            header_vars,
            warnings,
        })
    }

    /// One signal's settings.
    pub fn signal(&self, signal: Signal) -> &SignalSettings {
        match signal {
            Signal::Traces => &self.traces,
            Signal::Metrics => &self.metrics,
            Signal::Logs => &self.logs,
        }
    }

    /// True when no endpoint is `https`: the HTTP client then skips loading root
    /// certificates (a few milliseconds of start-up, for nothing on a local collector).
    pub fn plain_http_only(&self) -> bool {
        [&self.traces, &self.metrics, &self.logs]
            .iter()
            .all(|s| s.endpoint.scheme() == "http")
    }

    /// The longest of the three timeouts: the shared HTTP client's per-request deadline
    /// must not cut a signal's own deadline short.
    pub fn longest_timeout(&self) -> Duration {
        [&self.traces, &self.metrics, &self.logs]
            .iter()
            .map(|s| s.timeout)
            .max()
            .unwrap_or(DEFAULT_TIMEOUT)
    }
}

/// The endpoint of `signal` given a base URL: for HTTP the base's path plus `/v1/<signal>`
/// (a trailing slash is dropped first, so `http://c:4318/` and `http://c:4318` agree);
/// for gRPC the base itself.
fn signal_endpoint(base: &Url, protocol: OtlpProtocol, signal: Signal) -> Url {
    match protocol {
        OtlpProtocol::Grpc => base.clone(),
        OtlpProtocol::HttpProtobuf => {
            let mut url = base.clone();
            let path = format!(
                "{}/{}",
                base.path().trim_end_matches('/'),
                signal.http_path()
            );
            url.set_path(&path);
            url
        }
    }
}

/// An endpoint URL, with an error that names its origin and shows a valid value.
fn parse_endpoint(
    raw: &str,
    origin: Origin,
    protocol: OtlpProtocol,
    signal: Option<Signal>,
) -> Result<Url, OtlpError> {
    let valid = Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    valid.ok_or_else(|| {
        let from = match origin {
            Origin::Flag => "flag --otlp-endpoint".to_string(),
            Origin::Env(var) => format!("environment {var}"),
            Origin::Default => "default".to_string(),
        };
        let example = match (protocol, signal) {
            (OtlpProtocol::HttpProtobuf, Some(s)) => {
                format!("{}/{}", protocol.default_endpoint(), s.http_path())
            }
            _ => protocol.default_endpoint().to_string(),
        };
        // A URL with credentials in it is shown with them masked.
        let shown = match Url::parse(raw.trim()) {
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                crate::text::redacted_url(&url)
            }
            _ => raw.to_string(),
        };
        OtlpError::Endpoint(format!(
            "invalid OTLP endpoint {shown:?} (from {from}): expected an http:// or https:// URL, e.g. {example}"
        ))
    })
}

/// The names in a `key1=value1,key2=value2` header list (W3C Baggage format).
fn header_names_in(list: &str) -> Vec<String> {
    list.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, _)| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect()
}

/// One warning per entry of a header list that the exporter would drop without a word
/// (opentelemetry-otlp skips an entry with no `=`, an empty name or value, or a name or
/// value HTTP cannot carry): an `Authorization` lost that way means every export is
/// refused. Values are never shown (they are often credentials); names are.
fn header_problems(var: &str, list: &str) -> Vec<String> {
    list.split_terminator(',')
        .map(str::trim)
        .enumerate()
        .filter(|(_, entry)| !entry.is_empty())
        .filter_map(|(i, entry)| {
            let why = match entry.split_once('=') {
                None => "not name=value".to_string(),
                Some((name, _)) if name.trim().is_empty() => "no name".to_string(),
                Some((name, _)) if !name.trim().bytes().all(is_token_byte) => {
                    "the name is not a valid HTTP header name".to_string()
                }
                Some((name, value)) if value.trim().is_empty() => {
                    format!("{} has an empty value", name.trim())
                }
                Some((name, value))
                    if value.bytes().any(|b| b < b' ' && b != b'\t' || b == 0x7f) =>
                {
                    format!("{}'s value holds control characters", name.trim())
                }
                Some(_) => return None,
            };
            Some(format!(
                "ignoring entry {} of {var} ({why}; values are not shown): that header is not sent",
                i + 1
            ))
        })
        .collect()
}

/// RFC 9110's `tchar`: the bytes a header name may hold.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

// --- is a collector listening? -----------------------------------------------------------

/// Whether anything accepts TCP connections at an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachability {
    /// The probe has not finished yet.
    Checking,
    Reachable,
    /// Nothing accepted a connection; the reason is the OS's ("Connection refused").
    Unreachable(String),
}

/// A one-shot, background TCP connect to the traces endpoint, started with the exporters.
///
/// OTLP exporters report a dead collector only on their first export, seconds after the
/// first turn, and only to the log file. This probe answers within a second of start-up,
/// so the front end can say once that telemetry stays in-process. It proves only that
/// something listens, not that it speaks OTLP (`doctor` sends a real span for that).
#[derive(Debug, Clone)]
pub struct CollectorProbe {
    endpoint: Url,
    state: Arc<(Mutex<Reachability>, Condvar)>,
}

impl CollectorProbe {
    /// How long the connect may take: a collector on this machine answers in microseconds.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

    /// Starts probing `endpoint` on a thread of its own.
    pub fn start(endpoint: Url) -> CollectorProbe {
        let probe = CollectorProbe {
            endpoint,
            state: Arc::new((Mutex::new(Reachability::Checking), Condvar::new())),
        };
        let (endpoint, state) = (probe.endpoint.clone(), probe.state.clone());
        let spawned = std::thread::Builder::new()
            .name("otlp-probe".into())
            .spawn(move || {
                let result = match connect(&endpoint, Self::CONNECT_TIMEOUT) {
                    Ok(()) => Reachability::Reachable,
                    Err(why) => Reachability::Unreachable(why),
                };
                let (slot, done) = &*state;
                if let Ok(mut slot) = slot.lock() {
                    *slot = result;
                }
                done.notify_all();
            });
        if let Err(e) = spawned {
            probe.set(Reachability::Unreachable(format!(
                "cannot start the probe: {e}"
            )));
        }
        probe
    }

    /// The endpoint probed (the traces endpoint).
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The result so far; never blocks.
    pub fn status(&self) -> Reachability {
        self.state
            .0
            .lock()
            .map(|s| s.clone())
            .unwrap_or(Reachability::Checking)
    }

    /// Waits up to `timeout` for the result.
    pub fn wait(&self, timeout: Duration) -> Reachability {
        let (slot, done) = &*self.state;
        let Ok(guard) = slot.lock() else {
            return Reachability::Checking;
        };
        match done.wait_timeout_while(guard, timeout, |s| *s == Reachability::Checking) {
            Ok((s, _)) => s.clone(),
            Err(_) => Reachability::Checking,
        }
    }

    fn set(&self, value: Reachability) {
        if let Ok(mut slot) = self.state.0.lock() {
            *slot = value;
        }
        self.state.1.notify_all();
    }
}

/// A TCP connect to the URL's host and port: `Err` says why it failed, in one line.
pub fn connect(url: &Url, timeout: Duration) -> Result<(), String> {
    let host = url.host_str().ok_or("no host in the URL")?.to_string();
    let port = url.port_or_known_default().ok_or("no port in the URL")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addr = match (host, port).to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("cannot resolve {host}"))?,
        Err(e) => return Err(format!("cannot resolve {host}: {e}")),
    };
    TcpStream::connect_timeout(&addr, timeout)
        .map(drop)
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(flag: Option<&str>, vars: &[(&str, &str)]) -> Result<OtlpSettings, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let flag = flag.map(|f| Url::parse(f).unwrap());
        OtlpSettings::resolve(flag.as_ref(), &|k: &str| map.get(k).cloned())
            .map_err(|e| e.to_string())
    }

    /// Nothing set: HTTP to localhost:4318 with each signal's path, 3 s each.
    #[test]
    fn defaults() {
        let s = resolve(None, &[]).unwrap();
        assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.base, "http://localhost:4318");
        assert_eq!(
            s.traces.endpoint.as_str(),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(
            s.metrics.endpoint.as_str(),
            "http://localhost:4318/v1/metrics"
        );
        assert_eq!(s.logs.endpoint.as_str(), "http://localhost:4318/v1/logs");
        assert_eq!(s.logs.timeout, DEFAULT_TIMEOUT);
        assert!(s.plain_http_only());
    }

    /// gRPC defaults to 4317 and uses the base URL as is.
    #[test]
    fn grpc() {
        let s = resolve(None, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
        assert_eq!(s.traces.endpoint.as_str(), "http://localhost:4317/");
        assert_eq!(
            s.protocol_origin,
            Origin::Env("OTEL_EXPORTER_OTLP_PROTOCOL")
        );
        let e = resolve(None, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).unwrap_err();
        assert!(e.contains("http/protobuf or grpc"), "{e}");
    }

    /// A base URL's path is kept and the signal's path appended, slash or not.
    #[test]
    fn base_path_is_joined() {
        for base in ["http://c:1/otlp", "http://c:1/otlp/"] {
            let s = resolve(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", base)]).unwrap();
            assert_eq!(s.traces.endpoint.as_str(), "http://c:1/otlp/v1/traces");
        }
    }

    /// Per-signal variable (verbatim) beats the general one; the flag beats both.
    #[test]
    fn endpoint_precedence() {
        let vars = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:1"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:2/custom",
            ),
        ];
        let s = resolve(None, &vars).unwrap();
        assert_eq!(s.traces.endpoint.as_str(), "http://traces:2/custom");
        assert_eq!(s.metrics.endpoint.as_str(), "http://general:1/v1/metrics");
        assert_eq!(s.base_origin, Origin::Env("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let s = resolve(Some("http://flag:3"), &vars).unwrap();
        assert_eq!(s.traces.endpoint.as_str(), "http://flag:3/v1/traces");
        assert_eq!(s.base_origin, Origin::Flag);
    }

    /// A bad endpoint is one line naming the variable, with a valid example.
    #[test]
    fn bad_endpoint_message() {
        let e = resolve(None, &[("OTEL_EXPORTER_OTLP_ENDPOINT", "garbage")]).unwrap_err();
        assert_eq!(
            e,
            "invalid OTLP endpoint \"garbage\" (from environment OTEL_EXPORTER_OTLP_ENDPOINT): expected an http:// or https:// URL, e.g. http://localhost:4318"
        );
        let e = resolve(
            None,
            &[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "localhost:4318")],
        )
        .unwrap_err();
        assert!(
            e.contains("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") && e.contains("/v1/logs"),
            "{e}"
        );
    }

    /// Per-signal timeout beats the general one; junk warns and keeps the default.
    #[test]
    fn timeouts() {
        let s = resolve(
            None,
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
                ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "7000"),
            ],
        )
        .unwrap();
        assert_eq!(s.traces.timeout, Duration::from_millis(500));
        assert_eq!(s.metrics.timeout, Duration::from_secs(7));
        assert_eq!(s.longest_timeout(), Duration::from_secs(7));
        let s = resolve(None, &[("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")]).unwrap();
        assert_eq!(s.traces.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    }

    /// Header names are collected from every headers variable; values are not kept.
    #[test]
    fn headers() {
        let s = resolve(
            None,
            &[
                (
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    "Authorization=Basic%20x, x-team=a",
                ),
                ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-team=b"),
            ],
        )
        .unwrap();
        assert_eq!(s.header_names, ["authorization", "x-team"]);
        assert_eq!(
            s.header_vars,
            [
                "OTEL_EXPORTER_OTLP_HEADERS",
                "OTEL_EXPORTER_OTLP_LOGS_HEADERS"
            ]
        );
        assert!(!format!("{s:?}").contains("Basic"));
    }

    /// Each header entry the exporter would drop gets one warning naming the variable and
    /// the entry, never its value; sound entries none.
    #[test]
    fn dropped_header_entries_are_warned_about_without_their_values() {
        let secret = "s3cr3t";
        let table: &[(&str, &[&str])] = &[
            ("Authorization s3cr3t", &["entry 1", "not name=value"]),
            ("x-a=1,=s3cr3t", &["entry 2", "no name"]),
            (
                "bad name=s3cr3t",
                &["entry 1", "not a valid HTTP header name"],
            ),
            (
                "authorization=",
                &["entry 1", "authorization has an empty value"],
            ),
            ("x-b=s3cr3t\u{7}", &["entry 1", "control characters"]),
        ];
        for (list, words) in table {
            let s = resolve(None, &[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", list)]).unwrap();
            assert_eq!(s.warnings.len(), 1, "{list:?}: {:?}", s.warnings);
            let line = &s.warnings[0];
            assert!(line.contains("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), "{line}");
            assert!(line.contains("not sent"), "{line}");
            assert!(!line.contains(secret), "{line}");
            for word in *words {
                assert!(line.contains(word), "{list:?}: {line:?} lacks {word:?}");
            }
        }
        let s = resolve(None, &[("OTEL_EXPORTER_OTLP_HEADERS", "a=1, b=x%20y,")]).unwrap();
        assert_eq!(s.warnings, Vec::<String>::new());
    }

    /// A refused endpoint is named, with any password in it masked.
    #[test]
    fn a_refused_endpoint_masks_its_credentials() {
        let e = resolve(
            None,
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://bob:hunter2@c:4318")],
        )
        .unwrap_err();
        assert!(e.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{e}");
        assert!(e.contains("ftp://REDACTED:REDACTED@c:4318"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    /// A zero timeout would fail every export: warned about, and the fallback used.
    #[test]
    fn a_zero_timeout_is_ignored_with_a_warning() {
        let s = resolve(None, &[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]).unwrap();
        assert_eq!(s.traces.timeout, DEFAULT_TIMEOUT);
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains("OTEL_EXPORTER_OTLP_TIMEOUT=\"0\""));
        assert!(s.warnings[0].contains("default 3000"));
        let s = resolve(
            None,
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "700"),
            ],
        )
        .unwrap();
        assert_eq!(s.traces.timeout, Duration::from_millis(700));
        assert!(s.warnings[0].contains("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"));
    }

    /// An https endpoint anywhere means root certificates are needed.
    #[test]
    fn https_needs_roots() {
        let s = resolve(
            None,
            &[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "https://h/v1/logs")],
        )
        .unwrap();
        assert!(!s.plain_http_only());
    }

    /// The probe says reachable when something listens, unreachable (with the OS's reason)
    /// when nothing does.
    #[test]
    fn probe_reports_reachability() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = Url::parse(&format!(
            "http://{}/v1/traces",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let probe = CollectorProbe::start(open);
        assert_eq!(probe.wait(Duration::from_secs(30)), Reachability::Reachable);

        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let probe = CollectorProbe::start(Url::parse(&format!("http://{closed}")).unwrap());
        match probe.wait(Duration::from_secs(30)) {
            Reachability::Unreachable(why) => assert!(why.contains("cannot connect"), "{why}"),
            other => panic!("expected unreachable, got {other:?}"),
        }
        assert_eq!(probe.endpoint().port(), Some(closed.port()));
    }
}
