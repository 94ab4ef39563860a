//! The one test harness: every test module does `use crate::support::*;` and takes what it needs.
//!
//! - [`OtlpReceiver`]: an in-process OTLP/HTTP (protobuf) collector that keeps everything it gets
//!   and flattens it into [`Span`], [`MetricPoint`] and [`LogRecord`] values.
//! - [`BlackHole`]: a TCP port that accepts connections and never answers.
//! - [`Chatbot`]: runs the built binary in piped mode with a clean environment, either in one go
//!   ([`Chatbot::run`]) or line by line ([`Chatbot::spawn`] → [`Session`]).
//! - [`otlp_json`]: reading back an OTLP/JSON export file into the same flat values.
//! - [`in_memory`]: a `ChatSession` over the SDK's in-memory exporters, for tests in process.
//! - [`check`]: parsing of the stderr protocol and span-tree / metric lookups.
#![allow(dead_code, unused_imports)]

pub mod blackhole;
pub mod chatbot;
pub mod check;
pub mod in_memory;
pub mod otlp;
pub mod otlp_json;
pub mod pty;

pub use blackhole::BlackHole;
pub use chatbot::{Chatbot, Output, Session};
pub use check::*;
pub use otlp::{
    LogRecord, MetricKind, MetricPoint, OtlpReceiver, ReceivedRequest, Span, SpanEvent,
};

/// A base URL on 127.0.0.1 where nothing listens (the port was bound, then released).
pub fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}", closed_port())
}

/// A TCP port on 127.0.0.1 that was free a moment ago and is closed now.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    let port = l.local_addr().expect("local addr").port();
    drop(l);
    port
}

/// True when `s` is exactly `len` lowercase hexadecimal digits.
pub fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
