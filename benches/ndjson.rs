//! Hot path 1: turning the bytes of a streamed `/api/chat` reply into chunks.
//!
//! The input is a realistic Ollama stream: 500 content lines, one lorem-ipsum word each,
//! shaped exactly like Ollama's (`model`, `created_at`, `message`, `done`), then the
//! `done:true` line with the six server metrics. The network may hand it over in any cuts,
//! so the decoder is measured with pieces of 1, 7, 64 and 1500 bytes and with one piece
//! per line (what a server that writes each chunk as it is generated delivers).
//!
//! Throughput is reported in *chunks* (501 lines per stream): criterion's `elem/s` is
//! chunks per second, and its time per iteration divided by 501 is the cost per chunk.
//!
//! Groups:
//! * `ndjson/line_decoder/<cut>`: `LineDecoder` alone (push + next_line until drained).
//! * `ndjson/decode_and_parse/<cut>`: the client's full per-chunk path, decoder plus
//!   `serde_json::from_slice::<ChatChunk>`.
//! * `ndjson/parse_one`: one content line and the final line, parsed alone.
//! * `ndjson/parse_what_if/...`: the same lines parsed into a local copy of `ChatChunk`
//!   whose metrics are inline fields instead of `#[serde(flatten)]`. Not a product path:
//!   it measures what the `flatten` attribute in `src/ollama/wire.rs` costs per chunk.
//!
//! Run: `cargo bench --bench ndjson` (add `-- --quick` for a rough pass).

use std::hint::black_box;
use std::time::Duration;

use chatbot_otel::ollama::ndjson::LineDecoder;
use chatbot_otel::ollama::wire::ChatChunk;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::Deserialize;

/// Content lines in the stream (the `done:true` line comes on top).
const CHUNKS: usize = 500;

const WORDS: [&str; 16] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "café",
];

/// A 500-chunk reply as Ollama writes it (Go key order, RFC 3339 nanosecond timestamps).
fn ollama_stream() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..CHUNKS {
        let word = WORDS[i % WORDS.len()];
        let content = if i == 0 {
            word.to_string()
        } else {
            format!(" {word}")
        };
        out.push_str(&format!(
            "{{\"model\":\"llama3.1:8b\",\"created_at\":\"2026-08-22T10:15:{:02}.{:09}Z\",\"message\":{{\"role\":\"assistant\",\"content\":\"{content}\"}},\"done\":false}}\n",
            i % 60,
            523_914_000 + i * 7_919
        ));
    }
    out.push_str(
        "{\"model\":\"llama3.1:8b\",\"created_at\":\"2026-08-22T10:15:59.999914Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\"total_duration\":171902334,\"load_duration\":18743211,\"prompt_eval_count\":31,\"prompt_eval_duration\":40211000,\"eval_count\":500,\"eval_duration\":98442000}\n",
    );
    out.into_bytes()
}

/// The stream cut as the network might deliver it.
#[derive(Clone, Copy)]
enum Cut {
    /// Fixed-size pieces (1 byte is the worst case, 1500 about one Ethernet frame).
    Bytes(usize),
    /// One piece per NDJSON line: one TCP segment per generated chunk.
    Lines,
}

impl Cut {
    fn label(self) -> String {
        match self {
            Cut::Bytes(n) => format!("{n}B"),
            Cut::Lines => "per_line".into(),
        }
    }

    fn pieces(self, stream: &[u8]) -> Vec<&[u8]> {
        match self {
            Cut::Bytes(n) => stream.chunks(n).collect(),
            Cut::Lines => stream.split_inclusive(|&b| b == b'\n').collect(),
        }
    }
}

const CUTS: [Cut; 5] = [
    Cut::Bytes(1),
    Cut::Bytes(7),
    Cut::Bytes(64),
    Cut::Bytes(1500),
    Cut::Lines,
];

/// Decoder only: returns the number of lines and their total length (so nothing is
/// optimised away).
fn decode(pieces: &[&[u8]]) -> (usize, usize) {
    let mut decoder = LineDecoder::new();
    let (mut lines, mut bytes) = (0, 0);
    for piece in pieces {
        decoder.push(piece);
        while let Some(line) = decoder.next_line() {
            lines += 1;
            bytes += line.len();
        }
    }
    if let Some(rest) = decoder.finish() {
        lines += 1;
        bytes += rest.len();
    }
    (lines, bytes)
}

/// Decoder plus the real parse, as `ChatStream::next_chunk` does it.
fn decode_and_parse(pieces: &[&[u8]]) -> (usize, usize) {
    let mut decoder = LineDecoder::new();
    let (mut chunks, mut text) = (0, 0);
    let mut take = |line: &[u8]| {
        let chunk: ChatChunk = serde_json::from_slice(line).expect("valid chunk");
        chunks += 1;
        text += chunk.message.map_or(0, |m| m.content.len());
    };
    for piece in pieces {
        decoder.push(piece);
        while let Some(line) = decoder.next_line() {
            take(&line);
        }
    }
    if let Some(rest) = decoder.finish() {
        take(&rest);
    }
    (chunks, text)
}

/// What-if: `ChatChunk` with the server metrics as plain fields. `#[serde(flatten)]`
/// makes serde buffer every key of the object into an intermediate map before
/// deserialising; without it, unknown keys are skipped in place.
#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
struct ChatChunkInline {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    message: Option<MessageInline>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    error: Option<String>,
    total_duration: Option<u64>,
    load_duration: Option<u64>,
    prompt_eval_count: Option<u64>,
    prompt_eval_duration: Option<u64>,
    eval_count: Option<u64>,
    eval_duration: Option<u64>,
}

#[allow(dead_code)]
#[derive(Debug, Default, Deserialize)]
struct MessageInline {
    #[serde(default)]
    content: String,
}

fn benches(c: &mut Criterion) {
    let stream = ollama_stream();
    let lines = CHUNKS as u64 + 1;
    assert_eq!(decode(&Cut::Lines.pieces(&stream)).0, CHUNKS + 1);
    assert_eq!(
        decode_and_parse(&Cut::Bytes(7).pieces(&stream)).0,
        CHUNKS + 1
    );

    let mut group = c.benchmark_group("ndjson/line_decoder");
    group.throughput(Throughput::Elements(lines));
    for cut in CUTS {
        let pieces = cut.pieces(&stream);
        group.bench_with_input(BenchmarkId::from_parameter(cut.label()), &pieces, |b, p| {
            b.iter(|| decode(black_box(p)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("ndjson/decode_and_parse");
    group.throughput(Throughput::Elements(lines));
    for cut in CUTS {
        let pieces = cut.pieces(&stream);
        group.bench_with_input(BenchmarkId::from_parameter(cut.label()), &pieces, |b, p| {
            b.iter(|| decode_and_parse(black_box(p)))
        });
    }
    group.finish();

    let all: Vec<&[u8]> = stream
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let content_line = all[1];
    let final_line = *all.last().expect("a final line");

    let mut group = c.benchmark_group("ndjson/parse_one");
    group.throughput(Throughput::Elements(1));
    group.bench_function("content_line", |b| {
        b.iter(|| serde_json::from_slice::<ChatChunk>(black_box(content_line)).unwrap())
    });
    group.bench_function("final_line", |b| {
        b.iter(|| serde_json::from_slice::<ChatChunk>(black_box(final_line)).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("ndjson/parse_what_if_no_flatten");
    group.throughput(Throughput::Elements(1));
    group.bench_function("content_line", |b| {
        b.iter(|| serde_json::from_slice::<ChatChunkInline>(black_box(content_line)).unwrap())
    });
    group.bench_function("final_line", |b| {
        b.iter(|| serde_json::from_slice::<ChatChunkInline>(black_box(final_line)).unwrap())
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = ndjson;
    config = config();
    targets = benches
}
criterion_main!(ndjson);
