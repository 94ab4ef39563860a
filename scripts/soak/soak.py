#!/usr/bin/env python3
"""Soak test of chatbot-otel with collector outages (Python 3.11, standard library only).

Run through scripts/soak/run.sh, which builds the release binaries first. It starts the
release fake-ollama and an OTLP/HTTP receiver on a fixed port, runs the release chatbot
in piped mode for --turns prompts in lockstep (write a prompt, read its reply line),
paced like a fast user, and stops the receiver for --outage-seconds at each turn listed
in --outage-at (the port is closed: connection refused, as when a collector restarts).

Reported: spans sent (turns x spans per turn) vs received, overall and per phase (the
turns run while the collector was up, during each outage, and after it); log records;
the chatbot's RSS after the first 10 turns and at the end; the exit code and time.
The receiver's protobuf walker is scripts/bench/bench.py's.
"""

from __future__ import annotations

import argparse
import collections
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "bench"))
import bench  # noqa: E402  (Fake, decode_spans, decode_logs)


class Collector:
    """An OTLP/HTTP receiver that can be stopped and started again on the same port."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.bodies: dict[str, list[bytes]] = collections.defaultdict(list)
        self.server = None
        self.conns: set[socket.socket] = set()
        self.start()

    def start(self):
        collector = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with collector.lock:
                    collector.conns.add(self.connection)

            def finish(self):
                with collector.lock:
                    collector.conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with collector.lock:
                    collector.bodies[self.path.rsplit("/", 1)[-1]].append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        """Closes the port and every open connection: a keep-alive connection left open
        would carry the exports through the "outage"."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for conn in self.conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns.clear()
        self.server = None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chatbot", default=str(ROOT / "target/release/chatbot-otel"))
    ap.add_argument("--fake", default=str(ROOT / "target/release/fake-ollama"))
    ap.add_argument("--turns", type=int, default=3000)
    ap.add_argument("--outage-at", default="1000,2000", help="turn numbers (comma-separated)")
    ap.add_argument("--outage-seconds", type=float, default=10.0)
    ap.add_argument("--pace-ms", type=float, default=20.0, help="pause between turns")
    ap.add_argument("--words", type=int, default=10, help="reply words (chunks) per turn")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    bench.FAKE = Path(args.fake)
    outages = [int(t) for t in args.outage_at.split(",") if t]

    collector = Collector()
    home = tempfile.mkdtemp(prefix="chatbot-soak-")
    with bench.Fake("--reply-words", str(args.words)) as fake:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "XDG_STATE_HOME": home,
            "LOG_FILE": f"{home}/chatbot.log",
            "OLLAMA_ENDPOINT": fake.url,
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
        }
        stderr = open(f"{home}/stderr.txt", "wb")
        started = time.monotonic()
        chat = subprocess.Popen([args.chatbot], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=stderr)
        phase_of_turn: list[str] = []
        phase, outage_ends, n_outage = "up", None, 0
        rss_start = rss_max = 0
        for turn in range(1, args.turns + 1):
            if outage_ends is not None and time.monotonic() >= outage_ends:
                collector.start()
                phase, outage_ends = f"after outage {n_outage}", None
            if turn in outages and outage_ends is None:
                n_outage += 1
                collector.stop()
                phase, outage_ends = f"outage {n_outage}", time.monotonic() + args.outage_seconds
            chat.stdin.write(f"soak question {turn}: tell me more\n".encode())
            chat.stdin.flush()
            if not chat.stdout.readline():
                print(f"chatbot stopped at turn {turn}", file=sys.stderr)
                break
            phase_of_turn.append(phase)
            if turn == 10:
                rss_start = rss_kib(chat.pid)
            rss_max = max(rss_max, rss_kib(chat.pid)) if turn % 50 == 0 else rss_max
            time.sleep(args.pace_ms / 1000)
        if collector.server is None:
            collector.start()
        rss_end = rss_kib(chat.pid)
        chat.stdin.close()
        eof = time.monotonic()
        code = chat.wait(60)
        exit_s = time.monotonic() - eof
        total_s = time.monotonic() - started
        stderr.close()

    # Which trace belongs to which turn: the `trace: <id>` lines, in turn order.
    trace_ids = [line.split()[1] for line in Path(f"{home}/stderr.txt").read_text().splitlines()
                 if line.startswith("trace: ")]
    other_stderr = [line for line in Path(f"{home}/stderr.txt").read_text().splitlines()
                    if not line.startswith("trace: ")]
    with collector.lock:
        spans = [s for body in collector.bodies["traces"] for s in bench.decode_spans(body)]
        logs = [r for body in collector.bodies["logs"] for r in bench.decode_logs(body)]
    per_trace = collections.Counter(s[0].hex() for s in spans)
    spans_per_turn = collections.Counter(per_trace.values()).most_common(1)[0][0] if per_trace else 0
    logs_per_trace = collections.Counter(r[0].hex() for r in logs)

    phases: dict[str, dict] = {}
    for trace_id, phase in zip(trace_ids, phase_of_turn):
        p = phases.setdefault(phase, {"turns": 0, "spans_sent": 0, "spans_received": 0,
                                      "logs_received": 0})
        p["turns"] += 1
        p["spans_sent"] += spans_per_turn
        p["spans_received"] += per_trace.get(trace_id, 0)
        p["logs_received"] += logs_per_trace.get(trace_id, 0)
    result = {
        "turns": len(phase_of_turn),
        "outages": f"{len(outages)} x {args.outage_seconds:g} s at turns {args.outage_at}",
        "pace_ms": args.pace_ms,
        "spans_per_turn": spans_per_turn,
        "spans_sent": spans_per_turn * len(trace_ids),
        "spans_received": sum(per_trace.get(t, 0) for t in trace_ids),
        "turn_log_records_received": sum(logs_per_trace.get(t, 0) for t in trace_ids),
        "log_records_received_total": len(logs),
        "trace_requests": len(collector.bodies["traces"]),
        "log_requests": len(collector.bodies["logs"]),
        "phases": phases,
        "rss_kib_turn_10": rss_start,
        "rss_kib_max_sampled": rss_max,
        "rss_kib_end": rss_end,
        "exit_code": code,
        "exit_after_eof_s": round(exit_s, 3),
        "total_s": round(total_s, 1),
        "stderr_lines_other_than_trace": len(other_stderr),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
