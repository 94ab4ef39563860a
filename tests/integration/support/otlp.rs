//! An in-process OTLP/HTTP receiver (protobuf bodies) and flat views of what it received.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value;
use tokio::task::JoinHandle;

/// Attributes as a sorted map key → JSON value (string, i64 number, f64 number, bool, array, object).
/// An OTLP int becomes an integer JSON number and a double a float one, so `json!(1) != json!(1.0)`.
pub type Attrs = BTreeMap<String, Value>;

/// One HTTP request the receiver got (any path), with its headers (names lowercase).
#[derive(Clone, Debug)]
pub struct ReceivedRequest {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
}

impl ReceivedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Store {
    requests: Vec<ReceivedRequest>,
    traces: Vec<ExportTraceServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    logs: Vec<ExportLogsServiceRequest>,
    errors: Vec<String>,
}

/// An OTLP/HTTP collector on 127.0.0.1:0 accepting `POST /v1/{traces,metrics,logs}` with
/// `application/x-protobuf` bodies. It keeps everything and aborts its server task on drop.
pub struct OtlpReceiver {
    addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    task: JoinHandle<()>,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn protobuf(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        body,
    )
        .into_response()
}

/// Records the request; returns an error response if the body cannot be decoded.
fn accept(store: &Mutex<Store>, path: &str, headers: &HeaderMap, body: &Bytes) -> Option<Response> {
    let mut s = store.lock().unwrap();
    s.requests.push(ReceivedRequest {
        path: path.to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body_len: body.len(),
    });
    if let Some(enc) = headers.get(header::CONTENT_ENCODING) {
        let enc = String::from_utf8_lossy(enc.as_bytes()).to_ascii_lowercase();
        if enc != "identity" {
            s.errors
                .push(format!("{path}: unsupported content-encoding {enc:?}"));
            return Some(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
        }
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if !ct.starts_with("application/x-protobuf") {
        s.errors
            .push(format!("{path}: unsupported content-type {ct:?}"));
        return Some(StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response());
    }
    None
}

fn bad_request(store: &Mutex<Store>, path: &str, e: prost::DecodeError) -> Response {
    store
        .lock()
        .unwrap()
        .errors
        .push(format!("{path}: cannot decode body: {e}"));
    StatusCode::BAD_REQUEST.into_response()
}

async fn traces(
    State(store): State<Arc<Mutex<Store>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const P: &str = "/v1/traces";
    if let Some(r) = accept(&store, P, &headers, &body) {
        return r;
    }
    match ExportTraceServiceRequest::decode(body) {
        Ok(req) => {
            store.lock().unwrap().traces.push(req);
            protobuf(ExportTraceServiceResponse::default().encode_to_vec())
        }
        Err(e) => bad_request(&store, P, e),
    }
}

async fn metrics(
    State(store): State<Arc<Mutex<Store>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const P: &str = "/v1/metrics";
    if let Some(r) = accept(&store, P, &headers, &body) {
        return r;
    }
    match ExportMetricsServiceRequest::decode(body) {
        Ok(req) => {
            store.lock().unwrap().metrics.push(req);
            protobuf(ExportMetricsServiceResponse::default().encode_to_vec())
        }
        Err(e) => bad_request(&store, P, e),
    }
}

async fn logs(State(store): State<Arc<Mutex<Store>>>, headers: HeaderMap, body: Bytes) -> Response {
    const P: &str = "/v1/logs";
    if let Some(r) = accept(&store, P, &headers, &body) {
        return r;
    }
    match ExportLogsServiceRequest::decode(body) {
        Ok(req) => {
            store.lock().unwrap().logs.push(req);
            protobuf(ExportLogsServiceResponse::default().encode_to_vec())
        }
        Err(e) => bad_request(&store, P, e),
    }
}

async fn other(
    State(store): State<Arc<Mutex<Store>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let _ = accept(&store, &path, &headers, &body);
    store
        .lock()
        .unwrap()
        .errors
        .push(format!("unexpected request to {path}"));
    StatusCode::NOT_FOUND.into_response()
}

impl OtlpReceiver {
    /// Binds 127.0.0.1:0 and serves on the current tokio runtime.
    pub async fn start() -> OtlpReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind OTLP receiver");
        let addr = listener.local_addr().unwrap();
        let store = Arc::new(Mutex::new(Store::default()));
        let app = Router::new()
            .route("/v1/traces", post(traces))
            .route("/v1/metrics", post(metrics))
            .route("/v1/logs", post(logs))
            .fallback(other)
            .with_state(store.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        OtlpReceiver { addr, store, task }
    }

    /// `http://127.0.0.1:PORT` (the base URL; the exporter appends `/v1/...`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every HTTP request received, in order (including rejected ones).
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.store.lock().unwrap().requests.clone()
    }

    /// Problems met while receiving (bad content type, undecodable body, unknown path).
    pub fn errors(&self) -> Vec<String> {
        self.store.lock().unwrap().errors.clone()
    }

    pub fn raw_traces(&self) -> Vec<ExportTraceServiceRequest> {
        self.store.lock().unwrap().traces.clone()
    }

    pub fn raw_metrics(&self) -> Vec<ExportMetricsServiceRequest> {
        self.store.lock().unwrap().metrics.clone()
    }

    pub fn raw_logs(&self) -> Vec<ExportLogsServiceRequest> {
        self.store.lock().unwrap().logs.clone()
    }

    /// All spans received, flattened, in the order received.
    pub fn spans(&self) -> Vec<Span> {
        spans_of(&self.store.lock().unwrap().traces)
    }

    /// Every metric data point received, in the order received (no de-duplication).
    pub fn all_metric_points(&self) -> Vec<MetricPoint> {
        metric_points_of(&self.store.lock().unwrap().metrics)
    }

    /// One point per (metric name, attribute set): see [`latest_points`].
    pub fn metrics(&self) -> Vec<MetricPoint> {
        latest_points(self.all_metric_points())
    }

    /// All log records received, flattened, in the order received.
    pub fn logs(&self) -> Vec<LogRecord> {
        logs_of(&self.store.lock().unwrap().logs)
    }
}

/// The spans of export requests (from the receiver or an OTLP/JSON file), flattened.
pub fn spans_of(requests: &[ExportTraceServiceRequest]) -> Vec<Span> {
    let mut out = Vec::new();
    for req in requests {
        for rs in &req.resource_spans {
            let resource = resource_attrs(rs.resource.as_ref());
            for ss in &rs.scope_spans {
                let scope = ss
                    .scope
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                for s in &ss.spans {
                    let status = s.status.clone().unwrap_or_default();
                    out.push(Span {
                        name: s.name.clone(),
                        kind: span_kind(s.kind).to_string(),
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent_span_id: hex(&s.parent_span_id),
                        status_code: status_code(status.code).to_string(),
                        status_message: status.message.clone(),
                        attributes: attrs(&s.attributes),
                        events: s
                            .events
                            .iter()
                            .map(|e| SpanEvent {
                                name: e.name.clone(),
                                attributes: attrs(&e.attributes),
                                time_unix_nano: e.time_unix_nano,
                            })
                            .collect(),
                        links: s
                            .links
                            .iter()
                            .map(|l| (hex(&l.trace_id), hex(&l.span_id)))
                            .collect(),
                        start_unix_nano: s.start_time_unix_nano,
                        end_unix_nano: s.end_time_unix_nano,
                        flags: s.flags,
                        resource: resource.clone(),
                        scope: scope.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Every metric data point of export requests, in order (no de-duplication).
pub fn metric_points_of(requests: &[ExportMetricsServiceRequest]) -> Vec<MetricPoint> {
    let mut out = Vec::new();
    for req in requests {
        for rm in &req.resource_metrics {
            let resource = resource_attrs(rm.resource.as_ref());
            for sm in &rm.scope_metrics {
                let scope = sm
                    .scope
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                for m in &sm.metrics {
                    let base = MetricPoint {
                        name: m.name.clone(),
                        description: m.description.clone(),
                        unit: m.unit.clone(),
                        kind: MetricKind::Gauge,
                        monotonic: false,
                        delta: false,
                        attributes: Attrs::new(),
                        value: 0.0,
                        int_value: None,
                        count: 0,
                        sum: 0.0,
                        bounds: Vec::new(),
                        bucket_counts: Vec::new(),
                        min: None,
                        max: None,
                        time_unix_nano: 0,
                        resource: resource.clone(),
                        scope: scope.clone(),
                    };
                    let number = |p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint,
                                  kind: MetricKind,
                                  monotonic: bool,
                                  delta: bool| {
                        let (value, int_value) = match p.value {
                            Some(number_data_point::Value::AsDouble(d)) => (d, None),
                            Some(number_data_point::Value::AsInt(i)) => (i as f64, Some(i)),
                            None => (0.0, None),
                        };
                        MetricPoint {
                            kind,
                            monotonic,
                            delta,
                            attributes: attrs(&p.attributes),
                            value,
                            int_value,
                            time_unix_nano: p.time_unix_nano,
                            ..base.clone()
                        }
                    };
                    match &m.data {
                        Some(metric::Data::Sum(s)) => {
                            for p in &s.data_points {
                                out.push(number(
                                    p,
                                    MetricKind::Sum,
                                    s.is_monotonic,
                                    s.aggregation_temporality == 1,
                                ));
                            }
                        }
                        Some(metric::Data::Gauge(g)) => {
                            for p in &g.data_points {
                                out.push(number(p, MetricKind::Gauge, false, false));
                            }
                        }
                        Some(metric::Data::Histogram(h)) => {
                            for p in &h.data_points {
                                out.push(MetricPoint {
                                    kind: MetricKind::Histogram,
                                    delta: h.aggregation_temporality == 1,
                                    attributes: attrs(&p.attributes),
                                    count: p.count,
                                    sum: p.sum.unwrap_or(0.0),
                                    bounds: p.explicit_bounds.clone(),
                                    bucket_counts: p.bucket_counts.clone(),
                                    min: p.min,
                                    max: p.max,
                                    time_unix_nano: p.time_unix_nano,
                                    ..base.clone()
                                });
                            }
                        }
                        Some(metric::Data::ExponentialHistogram(h)) => {
                            for p in &h.data_points {
                                out.push(MetricPoint {
                                    kind: MetricKind::ExponentialHistogram,
                                    delta: h.aggregation_temporality == 1,
                                    attributes: attrs(&p.attributes),
                                    count: p.count,
                                    sum: p.sum.unwrap_or(0.0),
                                    time_unix_nano: p.time_unix_nano,
                                    ..base.clone()
                                });
                            }
                        }
                        Some(metric::Data::Summary(s)) => {
                            for p in &s.data_points {
                                out.push(MetricPoint {
                                    kind: MetricKind::Summary,
                                    attributes: attrs(&p.attributes),
                                    count: p.count,
                                    sum: p.sum,
                                    time_unix_nano: p.time_unix_nano,
                                    ..base.clone()
                                });
                            }
                        }
                        None => {}
                    }
                }
            }
        }
    }
    out
}

/// One point per (metric name, attribute set): the last cumulative point (latest timestamp,
/// then latest received), or the accumulation of all delta points.
pub fn latest_points(points: Vec<MetricPoint>) -> Vec<MetricPoint> {
    let mut out: Vec<MetricPoint> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    for p in points {
        let key = (
            p.name.clone(),
            serde_json::to_string(&p.attributes).unwrap(),
        );
        match index.get(&key) {
            None => {
                index.insert(key, out.len());
                out.push(p);
            }
            Some(&i) => {
                let prev = &mut out[i];
                if p.delta && prev.delta {
                    prev.value += p.value;
                    prev.int_value = match (prev.int_value, p.int_value) {
                        (Some(a), Some(b)) => Some(a + b),
                        _ => None,
                    };
                    prev.count += p.count;
                    prev.sum += p.sum;
                    if prev.bucket_counts.len() == p.bucket_counts.len() {
                        for (a, b) in prev.bucket_counts.iter_mut().zip(&p.bucket_counts) {
                            *a += *b;
                        }
                    }
                    prev.time_unix_nano = prev.time_unix_nano.max(p.time_unix_nano);
                } else if p.time_unix_nano >= prev.time_unix_nano {
                    *prev = p;
                }
            }
        }
    }
    out
}

/// The log records of export requests, flattened, in order.
pub fn logs_of(requests: &[ExportLogsServiceRequest]) -> Vec<LogRecord> {
    let mut out = Vec::new();
    for req in requests {
        for rl in &req.resource_logs {
            let resource = resource_attrs(rl.resource.as_ref());
            for sl in &rl.scope_logs {
                let scope = sl
                    .scope
                    .as_ref()
                    .map(|s| s.name.clone())
                    .unwrap_or_default();
                for r in &sl.log_records {
                    let body = match r.body.as_ref().map(any_to_json) {
                        Some(Value::String(s)) => s,
                        Some(Value::Null) | None => String::new(),
                        Some(v) => v.to_string(),
                    };
                    out.push(LogRecord {
                        body,
                        severity_text: r.severity_text.clone(),
                        severity_number: r.severity_number,
                        trace_id: hex(&r.trace_id),
                        span_id: hex(&r.span_id),
                        event_name: r.event_name.clone(),
                        attributes: attrs(&r.attributes),
                        resource: resource.clone(),
                        scope: scope.clone(),
                    });
                }
            }
        }
    }
    out
}

/// A span as a backend would show it.
#[derive(Clone, Debug)]
pub struct Span {
    pub name: String,
    /// "unspecified", "internal", "server", "client", "producer", "consumer".
    pub kind: String,
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 lowercase hex digits.
    pub span_id: String,
    /// 16 lowercase hex digits, or "" for a root span.
    pub parent_span_id: String,
    /// "unset", "ok", "error".
    pub status_code: String,
    pub status_message: String,
    pub attributes: Attrs,
    pub events: Vec<SpanEvent>,
    /// (trace id, span id) of each link.
    pub links: Vec<(String, String)>,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub flags: u32,
    pub resource: Attrs,
    /// Instrumentation scope name.
    pub scope: String,
}

#[derive(Clone, Debug)]
pub struct SpanEvent {
    pub name: String,
    pub attributes: Attrs,
    pub time_unix_nano: u64,
}

impl Span {
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }

    fn must(&self, key: &str) -> &Value {
        self.attributes.get(key).unwrap_or_else(|| {
            panic!(
                "span {:?} has no attribute {key:?}; it has {:?}",
                self.name, self.attributes
            )
        })
    }

    /// The string attribute `key` (panics if absent or not a string).
    pub fn str_attr(&self, key: &str) -> &str {
        let v = self.must(key);
        v.as_str().unwrap_or_else(|| {
            panic!(
                "span {:?}: attribute {key:?} = {v} is not a string",
                self.name
            )
        })
    }

    /// The integer attribute `key` (panics if absent or not an OTLP int).
    pub fn int_attr(&self, key: &str) -> i64 {
        let v = self.must(key);
        v.as_i64().filter(|_| !v.is_f64()).unwrap_or_else(|| {
            panic!(
                "span {:?}: attribute {key:?} = {v} is not an int",
                self.name
            )
        })
    }

    /// The double attribute `key` (panics if absent or not an OTLP double).
    pub fn f64_attr(&self, key: &str) -> f64 {
        let v = self.must(key);
        v.as_f64().filter(|_| v.is_f64()).unwrap_or_else(|| {
            panic!(
                "span {:?}: attribute {key:?} = {v} is not a double",
                self.name
            )
        })
    }

    /// The boolean attribute `key` (panics if absent or not a bool).
    pub fn bool_attr(&self, key: &str) -> bool {
        let v = self.must(key);
        v.as_bool().unwrap_or_else(|| {
            panic!(
                "span {:?}: attribute {key:?} = {v} is not a bool",
                self.name
            )
        })
    }

    pub fn is_root(&self) -> bool {
        self.parent_span_id.is_empty()
    }

    pub fn events_named(&self, name: &str) -> Vec<&SpanEvent> {
        self.events.iter().filter(|e| e.name == name).collect()
    }

    /// The single event called `name` (panics if there is none or more than one).
    pub fn event(&self, name: &str) -> &SpanEvent {
        let ev = self.events_named(name);
        assert_eq!(
            ev.len(),
            1,
            "span {:?}: expected exactly one {name:?} event, events: {:?}",
            self.name,
            self.events
        );
        ev[0]
    }

    pub fn duration_secs(&self) -> f64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano) as f64 / 1e9
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Sum,
    Gauge,
    Histogram,
    ExponentialHistogram,
    Summary,
}

/// One metric data point.
#[derive(Clone, Debug)]
pub struct MetricPoint {
    pub name: String,
    pub description: String,
    pub unit: String,
    pub kind: MetricKind,
    /// Sums only.
    pub monotonic: bool,
    /// Aggregation temporality is delta (false = cumulative or not applicable).
    pub delta: bool,
    pub attributes: Attrs,
    /// Sum/gauge value (an int value converted to f64).
    pub value: f64,
    /// Sum/gauge value when it was sent as an int.
    pub int_value: Option<i64>,
    /// Histogram count.
    pub count: u64,
    /// Histogram sum.
    pub sum: f64,
    /// Histogram explicit bucket bounds.
    pub bounds: Vec<f64>,
    pub bucket_counts: Vec<u64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub time_unix_nano: u64,
    pub resource: Attrs,
    pub scope: String,
}

impl MetricPoint {
    /// The string attribute `key`, if present and a string.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }
}

/// A log record as exported over OTLP.
#[derive(Clone, Debug)]
pub struct LogRecord {
    /// The body as a string (a non-string body is rendered as JSON).
    pub body: String,
    pub severity_text: String,
    pub severity_number: i32,
    /// 32 lowercase hex digits, or "".
    pub trace_id: String,
    /// 16 lowercase hex digits, or "".
    pub span_id: String,
    pub event_name: String,
    pub attributes: Attrs,
    pub resource: Attrs,
    pub scope: String,
}

/// Lowercase hex of the bytes ("" for none).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn span_kind(k: i32) -> &'static str {
    match k {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

fn status_code(c: i32) -> &'static str {
    match c {
        1 => "ok",
        2 => "error",
        _ => "unset",
    }
}

fn resource_attrs(r: Option<&Resource>) -> Attrs {
    r.map(|r| attrs(&r.attributes)).unwrap_or_default()
}

/// Flattens OTLP key/values into a map.
pub fn attrs(kvs: &[KeyValue]) -> Attrs {
    kvs.iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(any_to_json).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// An OTLP AnyValue as JSON (bytes become a hex string).
pub fn any_to_json(v: &AnyValue) -> Value {
    match &v.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s.clone()),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(*b),
        Some(any_value::Value::IntValue(i)) => Value::from(*i),
        Some(any_value::Value::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.iter().map(any_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(l)) => Value::Object(
            l.values
                .iter()
                .map(|kv| {
                    (
                        kv.key.clone(),
                        kv.value.as_ref().map(any_to_json).unwrap_or(Value::Null),
                    )
                })
                .collect(),
        ),
        Some(any_value::Value::BytesValue(b)) => Value::String(hex(b)),
        Some(other) => Value::String(format!("{other:?}")),
    }
}
