#!/usr/bin/env python3
"""Whole-process benchmark of chatbot-otel (Python 3.11, standard library only).

Run through scripts/bench/run.sh, which builds the release binaries first. Every
scenario starts its own servers on 127.0.0.1 (the release `fake-ollama`, a counting
OTLP/HTTP receiver, a black hole, a readiness stub), runs the release `chatbot-otel` in
piped mode several times, and reports medians. Telemetry on/off runs alternate pairwise
(on,off / off,on / ...) because the machine is noisy; ratios are taken pair by pair.

Scenarios (names for --only):
  ready   exec -> first request at the server; empty-stdin start+exit; curl as the floor
  cpu     CPU per streamed chunk vs `curl -N` on the same stream; on/off CPU ratio;
          peak RSS of a 20-turn session
  exit    stdin EOF -> process gone, collector down / black-holed / up; stderr lines
  soak    1,000 turns with the collector up: spans counted at the receiver, export bytes
          per turn early vs late in the session
  ttft    time to first token as the user sees it (prompt written -> first reply byte on
          stdout) minus the same for a minimal raw-socket client of the same fake
  callgrind  (opt-in) user-space instructions per chunk, chatbot vs curl, under valgrind

The numbers are printed as one table and written as JSON (--json).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import queue
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Set in main(): private copies of the release binaries, so a rebuild in the work tree
# while the benchmark runs cannot swap them underneath it.
CHATBOT = Path()
FAKE = Path()
MODEL = "llama3.1:8b"
MiB = 1024 * 1024


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, unit="", digits=2):
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.{digits}f}{unit}"
    return f"{x}{unit}"


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------

@dataclass
class Run:
    """One finished child: wall time, CPU and peak RSS from wait4, output."""
    wall: float
    cpu: float           # user + sys, seconds
    user: float
    sys: float
    maxrss_kib: int
    csw: int             # voluntary + involuntary context switches
    code: int
    stdout: bytes = b""
    stderr: bytes = b""


def wait_rusage(proc: subprocess.Popen) -> tuple[int, resource.struct_rusage]:
    _, status, ru = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # so Popen does not wait again
    return code, ru


# Peak RSS cannot be read from this process's wait4: Python starts children with vfork,
# and Linux carries the parent's (Python's, ~25 MiB) high-water mark across the exec. GNU
# time forks a small process of its own and reports its child's peak: that one is right.
GNU_TIME = "/usr/bin/time"


def run_once(argv, stdin: bytes = b"", env=None, capture_stdout=False, timeout=600,
             rss=False) -> Run:
    """Runs argv to completion with `stdin` fed in, stdout to /dev/null unless captured.
    With rss=True the child runs under GNU time, whose report gives the real peak RSS (its
    own CPU, well under a millisecond, is then counted too)."""
    out_target = subprocess.PIPE if capture_stdout else subprocess.DEVNULL
    rss_file = None
    if rss:
        fd, rss_file = tempfile.mkstemp(prefix="rss-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file, *argv]
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out_target,
                            stderr=subprocess.PIPE, env=env)
    outs: dict[str, bytes] = {}

    def pump(name, stream):
        outs[name] = stream.read()

    threads = []
    if capture_stdout:
        threads.append(threading.Thread(target=pump, args=("stdout", proc.stdout)))
    threads.append(threading.Thread(target=pump, args=("stderr", proc.stderr)))
    for t in threads:
        t.start()
    try:
        proc.stdin.write(stdin)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    code, ru = wait_rusage(proc)
    wall = time.monotonic() - t0
    timer.cancel()
    for t in threads:
        t.join()
    maxrss = ru.ru_maxrss
    if rss_file:
        try:
            maxrss = int(Path(rss_file).read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            maxrss = -1
        os.unlink(rss_file)
    return Run(wall=wall, cpu=ru.ru_utime + ru.ru_stime, user=ru.ru_utime, sys=ru.ru_stime,
               maxrss_kib=maxrss, csw=ru.ru_nvcsw + ru.ru_nivcsw, code=code,
               stdout=outs.get("stdout", b""), stderr=outs.get("stderr", b""))


class Fake:
    """The release fake-ollama on a free port."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen([str(FAKE), "--addr", "127.0.0.1:0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            raise RuntimeError(f"fake-ollama did not start: {line!r}")
        self.url = m.group(1)
        self.host, self.port = self.url.removeprefix("http://").split(":")
        self.port = int(self.port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --------------------------------------------------------------------------------------
# OTLP receiver with a minimal protobuf walker
# --------------------------------------------------------------------------------------

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def pb_fields(buf: bytes):
    """Yields (field number, wire type, value) of one protobuf message."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        fno, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(buf, i)
            v, i = buf[i:i + ln], i + ln
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        yield fno, wt, v


def nested(buf: bytes, *path: int):
    """Every sub-message reached by following repeated fields `path`."""
    if not path:
        yield buf
        return
    for fno, wt, v in pb_fields(buf):
        if fno == path[0] and wt == 2:
            yield from nested(v, *path[1:])


def decode_spans(body: bytes):
    """ExportTraceServiceRequest -> [(trace_id, name, encoded size, chat.turn or None)]."""
    out = []
    for span in nested(body, 1, 2, 2):  # resource_spans / scope_spans / spans
        trace_id, name, turn = b"", "", None
        for fno, wt, v in pb_fields(span):
            if fno == 1:
                trace_id = bytes(v)
            elif fno == 5:
                name = bytes(v).decode()
            elif fno == 9:  # KeyValue
                kv = dict((f, val) for f, _, val in pb_fields(v))
                if kv.get(1) == b"chat.turn":
                    anyv = dict((f, val) for f, _, val in pb_fields(kv[2]))
                    turn = anyv.get(3)
        out.append((trace_id, name, len(span), turn))
    return out


def decode_logs(body: bytes):
    """ExportLogsServiceRequest -> [(trace_id, encoded size)]."""
    out = []
    for rec in nested(body, 1, 2, 2):  # resource_logs / scope_logs / log_records
        trace_id = b""
        for fno, wt, v in pb_fields(rec):
            if fno == 9:
                trace_id = bytes(v)
        out.append((trace_id, len(rec)))
    return out


class Receiver:
    """OTLP/HTTP protobuf receiver: answers 200 at once, keeps every body."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bodies: dict[str, list[bytes]] = {"traces": [], "metrics": [], "logs": []}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                signal_name = self.path.rstrip("/").rsplit("/", 1)[-1]
                with receiver.lock:
                    receiver.bodies.setdefault(signal_name, []).append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        with self.lock:
            for v in self.bodies.values():
                v.clear()

    def snapshot(self):
        with self.lock:
            return {k: list(v) for k, v in self.bodies.items()}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class BlackHole:
    """Accepts TCP connections and never reads or answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        self.running = True
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.running = False
        self.sock.close()
        for c in self.held:
            c.close()


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: connection refused
    return f"http://127.0.0.1:{port}"


class ReadyStub:
    """Records when the first request bytes arrive, answers one minimal Ollama stream."""

    BODY = (b'{"model":"llama3.1:8b","created_at":"2026-01-01T00:00:00Z","message":'
            b'{"role":"assistant","content":"ok"},"done":true,"done_reason":"stop",'
            b'"prompt_eval_count":1,"eval_count":1}\n')

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.arrivals: "queue.Queue[float]" = queue.Queue()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            data = b""
            first = None
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if first is None:
                    first = time.monotonic()
                if not chunk:
                    return
                data += chunk
            self.arrivals.put(first)
            head, _, rest = data.partition(b"\r\n\r\n")
            m = re.search(rb"(?i)content-length:\s*(\d+)", head)
            need = int(m.group(1)) if m else 0
            while len(rest) < need:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                rest += chunk
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
                         b"Connection: close\r\nContent-Length: "
                         + str(len(self.BODY)).encode() + b"\r\n\r\n" + self.BODY)

    def stop(self):
        self.sock.close()


# --------------------------------------------------------------------------------------
# The chatbot's command line and environment
# --------------------------------------------------------------------------------------

class Env:
    def __init__(self, workdir: Path, extra: dict[str, str] | None = None):
        self.workdir = workdir
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("OTEL_", "OLLAMA_", "LOG_", "JAEGER_"))}
        base["XDG_STATE_HOME"] = str(workdir / "state")
        base["LOG_LEVEL"] = "INFO"
        base.update(extra or {})
        self.base = base

    def chatbot(self, ollama: str, telemetry: bool, otlp: str | None = None,
                extra_env: dict | None = None) -> tuple[list[str], dict]:
        argv = [str(CHATBOT), "--ollama-url", ollama, "--model", MODEL,
                "--log-file", str(self.workdir / "chatbot.log.jsonl")]
        if telemetry:
            argv += ["--otlp-endpoint", otlp or closed_port_url()]
        else:
            argv += ["--no-telemetry"]
        env = dict(self.base)
        env.update(extra_env or {})
        return argv, env


def prompts(n: int, tag: str = "question") -> bytes:
    return "".join(f"{tag} {i + 1}: tell me more\n" for i in range(n)).encode()


def chat_body(prompt: str = "question 1: tell me more") -> bytes:
    return json.dumps({"model": MODEL, "messages": [{"role": "user", "content": prompt}],
                       "stream": True, "options": {"temperature": 0.7}}).encode()


def on_off_order(rep: int) -> list[bool]:
    return [True, False] if rep % 2 == 0 else [False, True]


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------

def scenario_ready(env: Env, reps: int, results: dict):
    """Exec -> first request bytes at the server (piped, one prompt on stdin)."""
    stub = ReadyStub()
    rec = Receiver()
    ready = {True: [], False: []}
    empty = {True: [], False: []}
    curl_ready = []
    try:
        for rep in range(reps):
            for tel in on_off_order(rep):
                argv, e = env.chatbot(stub.url, tel, rec.url)
                t0 = time.monotonic()
                r = run_once(argv, b"hello\n", e)
                arrival = stub.arrivals.get(timeout=10)
                ready[tel].append(arrival - t0)
                assert r.code == 0, r.stderr
                r = run_once(argv, b"", e)
                empty[tel].append(r.wall)
            t0 = time.monotonic()
            run_once(["curl", "-sS", "-o", "/dev/null", "-H", "Content-Type: application/json",
                      "--data-binary", chat_body().decode(), stub.url + "/api/chat"])
            curl_ready.append(stub.arrivals.get(timeout=10) - t0)
    finally:
        stub.stop()
        rec.stop()
    results["ready"] = {
        "ready_ms_on": median(ready[True]) * 1e3,
        "ready_ms_off": median(ready[False]) * 1e3,
        "ready_ms_curl": median(curl_ready) * 1e3,
        "empty_stdin_wall_ms_on": median(empty[True]) * 1e3,
        "empty_stdin_wall_ms_off": median(empty[False]) * 1e3,
        "samples_ms_on": [x * 1e3 for x in ready[True]],
    }


def scenario_cpu(env: Env, reps: int, turns: int, words: int, delay_ms: int, results: dict):
    """CPU per streamed chunk, chatbot (on/off, alternated) vs curl on the same stream."""
    chunks_per_turn = words + 1  # content lines + the done line
    rec = Receiver()
    rows = []
    with Fake("--reply-words", str(words), "--chunk-delay-ms", str(delay_ms)) as fake:
        body_file = env.workdir / "chat_body.json"
        body_file.write_bytes(chat_body())
        curl_stream = ["curl", "-sS", "-N", "-H", "Content-Type: application/json",
                       "--data-binary", f"@{body_file}"] + [fake.url + "/api/chat"] * turns
        curl_base = ["curl", "-sS", fake.url + "/api/version"]
        for rep in range(reps):
            row = {}
            for tel in on_off_order(rep):
                argv, e = env.chatbot(fake.url, tel, rec.url)
                base = run_once(argv, b"", e, rss=True)
                full = run_once(argv, prompts(turns), e, rss=True)
                assert full.code == 0, full.stderr[-2000:]
                key = "on" if tel else "off"
                row[key] = full
                row[key + "_base"] = base
            row["curl"] = run_once(curl_stream, rss=True)
            row["curl_base"] = run_once(curl_base, rss=True)
            rows.append(row)
            rec.reset()
    rec.stop()

    n = turns * chunks_per_turn

    def per_chunk_us(row, key):
        return (row[key].cpu - row[key + "_base"].cpu) / n * 1e6

    on_us = [per_chunk_us(r, "on") for r in rows]
    off_us = [per_chunk_us(r, "off") for r in rows]
    curl_us = [per_chunk_us(r, "curl") for r in rows]
    results["cpu"] = {
        "turns": turns, "words": words, "chunk_delay_ms": delay_ms, "reps": reps,
        "per_chunk_us_on": median(on_us),
        "per_chunk_us_off": median(off_us),
        "per_chunk_us_curl": median(curl_us),
        "ratio_on_vs_curl": median([a / b for a, b in zip(on_us, curl_us)]),
        "ratio_off_vs_curl": median([a / b for a, b in zip(off_us, curl_us)]),
        "total_cpu_s_on": median([r["on"].cpu for r in rows]),
        "total_cpu_s_off": median([r["off"].cpu for r in rows]),
        "ratio_total_cpu_on_off": median([r["on"].cpu / r["off"].cpu for r in rows]),
        "ratio_per_chunk_on_off": median([a / b for a, b in zip(on_us, off_us)]),
        "user_share_on": median([r["on"].user / r["on"].cpu for r in rows]),
        "user_share_curl": median([r["curl"].user / max(r["curl"].cpu, 1e-9) for r in rows]),
        "csw_per_chunk_on": median([(r["on"].csw - r["on_base"].csw) / n for r in rows]),
        "csw_per_chunk_curl": median([(r["curl"].csw - r["curl_base"].csw) / n for r in rows]),
        "peak_rss_mib_on": max(r["on"].maxrss_kib for r in rows) / 1024,
        "peak_rss_mib_on_median": median([r["on"].maxrss_kib for r in rows]) / 1024,
        "peak_rss_mib_off": median([r["off"].maxrss_kib for r in rows]) / 1024,
        "wall_s_on": median([r["on"].wall for r in rows]),
        "samples_us_on": on_us, "samples_us_off": off_us, "samples_us_curl": curl_us,
        "samples_total_cpu_on": [r["on"].cpu for r in rows],
        "samples_total_cpu_off": [r["off"].cpu for r in rows],
    }


def exit_after_turns(env: Env, fake: Fake, otlp: str, turns: int, idle: float) -> dict:
    """Runs `turns` prompts, waits for every reply, idles, closes stdin; times EOF -> exit."""
    argv, e = env.chatbot(fake.url, True, otlp)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=e)
    err_lines: list[str] = []
    err_thread = threading.Thread(
        target=lambda: err_lines.extend(l.decode(errors="replace").rstrip("\n")
                                        for l in proc.stderr), daemon=True)
    err_thread.start()
    proc.stdin.write(prompts(turns))
    proc.stdin.flush()
    got = 0
    while got < turns:
        line = proc.stdout.readline()
        if not line:
            break
        got += 1
    time.sleep(idle)
    t0 = time.monotonic()
    proc.stdin.close()
    code, _ = wait_rusage(proc)
    exit_s = time.monotonic() - t0
    err_thread.join(5)
    other = [l for l in err_lines if l and not l.startswith(("trace:", "error:"))]
    return {"exit_s": exit_s, "code": code, "replies": got, "other_stderr": other}


def scenario_exit(env: Env, reps: int, results: dict):
    out = {}
    rec = Receiver()
    with Fake("--reply-words", "20") as fake:
        for state in ("down", "blackhole", "up"):
            for idle in (0.0, 3.0):
                samples = []
                for _ in range(reps):
                    hole = BlackHole() if state == "blackhole" else None
                    url = {"down": closed_port_url(), "up": rec.url,
                           "blackhole": hole.url if hole else None}[state]
                    samples.append(exit_after_turns(env, fake, url, 3, idle))
                    if hole:
                        hole.stop()
                out[f"{state}_idle{idle:g}"] = {
                    "exit_s_median": median([s["exit_s"] for s in samples]),
                    "exit_s_max": max(s["exit_s"] for s in samples),
                    "other_stderr_lines": max(len(s["other_stderr"]) for s in samples),
                    "example_other": next((s["other_stderr"] for s in samples
                                           if s["other_stderr"]), []),
                    "codes": sorted({s["code"] for s in samples}),
                }
    rec.stop()
    results["exit"] = out


def scenario_soak(env: Env, turns: int, words: int, results: dict):
    """A long session with the collector up: count spans at the receiver, bytes per turn."""
    rec = Receiver()
    with Fake("--reply-words", str(words)) as fake:
        # A short metric interval, so the session spans several metric exports.
        argv, e = env.chatbot(fake.url, True, rec.url, {"OTEL_METRIC_EXPORT_INTERVAL": "200"})
        r = run_once(argv, prompts(turns), e, capture_stdout=True, rss=True)
    time.sleep(0.2)
    bodies = rec.snapshot()
    rec.stop()

    spans = [s for b in bodies["traces"] for s in decode_spans(b)]
    logs = [l for b in bodies["logs"] for l in decode_logs(b)]
    by_name: dict[str, int] = {}
    for _, name, _, _ in spans:
        by_name[name] = by_name.get(name, 0) + 1
    turn_of: dict[bytes, int] = {t: turn for t, name, _, turn in spans
                                 if name == "chat_interaction" and turn is not None}
    span_bytes: dict[int, int] = {}
    spans_per_turn: dict[int, int] = {}
    for t, _, size, _ in spans:
        if t in turn_of:
            span_bytes[turn_of[t]] = span_bytes.get(turn_of[t], 0) + size
            spans_per_turn[turn_of[t]] = spans_per_turn.get(turn_of[t], 0) + 1
    log_bytes: dict[int, int] = {}
    for t, size in logs:
        if t in turn_of:
            log_bytes[turn_of[t]] = log_bytes.get(turn_of[t], 0) + size

    def mean_over(d, lo, hi):
        vals = [d.get(i, 0) for i in range(lo, hi + 1)]
        return sum(vals) / len(vals)

    first = (1, min(100, turns))
    last = (max(1, turns - 99), turns)
    metric_sizes = [len(b) for b in bodies["metrics"]]
    results["soak"] = {
        "turns": turns, "words": words, "exit_code": r.code,
        "replies": r.stdout.count(b"\n"),
        "wall_s": r.wall, "cpu_s": r.cpu, "peak_rss_mib": r.maxrss_kib / 1024,
        "spans_total": len(spans), "spans_expected": 5 * turns, "spans_by_name": by_name,
        "complete_turns": sum(1 for v in spans_per_turn.values() if v == 5),
        "trace_requests": len(bodies["traces"]),
        "log_records_for_turns": sum(1 for t, _ in logs if t in turn_of),
        "span_bytes_per_turn_first100": mean_over(span_bytes, *first),
        "span_bytes_per_turn_last100": mean_over(span_bytes, *last),
        "log_bytes_per_turn_first100": mean_over(log_bytes, *first),
        "log_bytes_per_turn_last100": mean_over(log_bytes, *last),
        "metric_requests": len(metric_sizes),
        "metric_bytes_first": metric_sizes[0] if metric_sizes else None,
        "metric_bytes_last": metric_sizes[-1] if metric_sizes else None,
        "other_stderr_lines": sum(1 for l in r.stderr.decode(errors="replace").splitlines()
                                  if l and not l.startswith(("trace:", "error:"))),
    }


def raw_client_ttft(fake: Fake, n: int) -> list[float]:
    """A minimal HTTP/1.1 keep-alive client: request written -> first body bytes read."""
    body = chat_body()
    req = (f"POST /api/chat HTTP/1.1\r\nHost: {fake.host}:{fake.port}\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    s = socket.create_connection((fake.host, fake.port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for i in range(n + 1):
        t0 = time.monotonic()
        s.sendall(req)
        data = s.recv(65536)
        t1 = time.monotonic()
        while not data.endswith(b"0\r\n\r\n"):
            data += s.recv(65536)
        if i > 0:  # the first request is the warm-up
            out.append(t1 - t0)
    s.close()
    return out


def read_some(fd: int, timeout: float = 30.0) -> bytes:
    """os.read with a deadline, so a chatbot that answers nothing cannot hang the run."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        raise TimeoutError("no reply from chatbot-otel within %.0f s" % timeout)
    data = os.read(fd, 65536)
    if not data:
        raise EOFError("chatbot-otel closed its stdout")
    return data


def chatbot_ttft(env: Env, fake: Fake, otlp: str, telemetry: bool, n: int) -> list[float]:
    """Prompt line written to stdin -> first byte of the reply on stdout."""
    argv, e = env.chatbot(fake.url, telemetry, otlp)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=e, bufsize=0)
    fd = proc.stdout.fileno()
    out = []
    for i in range(n + 1):
        line = f"question {i}\n".encode()
        t0 = time.monotonic()
        os.write(proc.stdin.fileno(), line)
        data = read_some(fd)
        t1 = time.monotonic()
        while not data.endswith(b"\n"):
            data += read_some(fd)
        if i > 0:
            out.append(t1 - t0)
        time.sleep(0.005)
    proc.stdin.close()
    wait_rusage(proc)
    return out


def scenario_ttft(env: Env, n: int, results: dict):
    rec = Receiver()
    out = {}
    for delay in (0, 100):
        with Fake("--reply-words", "3", "--first-token-delay-ms", str(delay)) as fake:
            ref, on, off = [], [], []
            for rep in range(3):
                ref += raw_client_ttft(fake, n)
                for tel in on_off_order(rep):
                    (on if tel else off).extend(chatbot_ttft(env, fake, rec.url, tel, n))
        out[f"delay{delay}"] = {
            "raw_client_ms": median(ref) * 1e3,
            "chatbot_on_ms": median(on) * 1e3,
            "chatbot_off_ms": median(off) * 1e3,
            "added_on_ms": (median(on) - median(ref)) * 1e3,
            "added_off_ms": (median(off) - median(ref)) * 1e3,
            "chatbot_on_p90_ms": statistics.quantiles(on, n=10)[-1] * 1e3,
            "raw_client_p90_ms": statistics.quantiles(ref, n=10)[-1] * 1e3,
        }
    rec.stop()
    results["ttft"] = out


def callgrind_ir(argv, stdin: bytes, env=None) -> int | None:
    r = run_once(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                 stdin, env)
    m = re.findall(rb"Collected\s*:\s*(\d+)", r.stderr)
    return int(m[-1]) if m else None


def scenario_callgrind(env: Env, turns: int, words: int, results: dict):
    """User-space instructions per chunk (deterministic; the kernel's share is not seen)."""
    rec = Receiver()
    n = turns * (words + 1)
    out = {}
    with Fake("--reply-words", str(words), "--chunk-delay-ms", "1") as fake:
        for tel in (True, False):
            argv, e = env.chatbot(fake.url, tel, rec.url)
            base = callgrind_ir(argv, b"", e)
            full = callgrind_ir(argv, prompts(turns), e)
            out["ir_per_chunk_" + ("on" if tel else "off")] = (
                (full - base) / n if full and base else None)
        body_file = env.workdir / "chat_body.json"
        body_file.write_bytes(chat_body())
        full = callgrind_ir(["curl", "-sS", "-N", "-H", "Content-Type: application/json",
                             "--data-binary", f"@{body_file}"] + [fake.url + "/api/chat"] * turns,
                            b"")
        base = callgrind_ir(["curl", "-sS", fake.url + "/api/version"], b"")
        out["ir_per_chunk_curl"] = (full - base) / n if full and base else None
    rec.stop()
    out["turns"], out["words"] = turns, words
    results["callgrind"] = out


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------

def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        curl_version = subprocess.run(["curl", "--version"], capture_output=True,
                                      text=True).stdout.split("\n")[0]
    except OSError:
        curl_version = ""
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "cpus": os.cpu_count(),
            "cpu_model": model, "kernel": platform.release(), "curl": curl_version,
            "python": platform.python_version()}


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def table(results: dict) -> str:
    rows = []  # (what, measured, target, verdict)
    r = results.get("ready")
    if r:
        rows.append(("Ready for first prompt (exec -> 1st request at server), telemetry on",
                     f"{r['ready_ms_on']:.1f} ms (off {r['ready_ms_off']:.1f}, curl {r['ready_ms_curl']:.1f})",
                     "<= 20 ms", verdict(r["ready_ms_on"] <= 20)))
        rows.append(("Empty stdin: start + exit, on / off",
                     f"{r['empty_stdin_wall_ms_on']:.1f} / {r['empty_stdin_wall_ms_off']:.1f} ms", "-", "-"))
    c = results.get("cpu")
    if c:
        rows.append((f"Peak RSS, {c['turns']}-turn session x {c['words']} chunks, telemetry on",
                     f"{c['peak_rss_mib_on']:.1f} MiB (median {c['peak_rss_mib_on_median']:.1f}; off {c['peak_rss_mib_off']:.1f})",
                     "<= 15 MiB", verdict(c["peak_rss_mib_on"] <= 15)))
        rows.append(("Client CPU per streamed chunk, telemetry on (reply printed)",
                     f"{c['per_chunk_us_on']:.1f} us (off {c['per_chunk_us_off']:.1f}; curl -N {c['per_chunk_us_curl']:.1f})",
                     "-", "-"))
        rows.append(("  ... ratio to curl -N in the same run (median of per-run ratios)",
                     f"x{c['ratio_on_vs_curl']:.2f} (off x{c['ratio_off_vs_curl']:.2f})",
                     "<= x1.3", verdict(c["ratio_on_vs_curl"] <= 1.3)))
        rows.append(("  ... context switches per chunk, chatbot on / curl",
                     f"{c['csw_per_chunk_on']:.2f} / {c['csw_per_chunk_curl']:.2f}", "-", "-"))
        rows.append((f"CPU telemetry on / off, whole process, {c['turns']} turns x {c['words']} chunks",
                     f"x{c['ratio_total_cpu_on_off']:.3f} ({c['total_cpu_s_on']:.3f} s / {c['total_cpu_s_off']:.3f} s; per chunk x{c['ratio_per_chunk_on_off']:.3f})",
                     "<= x1.10", verdict(c["ratio_total_cpu_on_off"] <= 1.10)))
    e = results.get("exit")
    if e:
        for key, label, limit in (("down_idle0", "collector down", 1.0),
                                  ("down_idle3", "collector down, 3 s idle before EOF", 1.0),
                                  ("blackhole_idle0", "collector never answers", 2.0),
                                  ("blackhole_idle3", "collector never answers, 3 s idle", 2.0),
                                  ("up_idle0", "collector up", None)):
            if key in e:
                v = e[key]
                rows.append((f"Exit after last turn (stdin EOF -> gone), {label}",
                             f"{v['exit_s_median']:.3f} s (max {v['exit_s_max']:.3f})",
                             f"<= {limit:g} s" if limit else "-",
                             verdict(v["exit_s_median"] <= limit) if limit else "-"))
        lines = max(v["other_stderr_lines"] for v in e.values())
        rows.append(("Lines about export on the user's screen (any exit case)", str(lines),
                     "0", verdict(lines == 0)))
    s = results.get("soak")
    if s:
        rows.append((f"Spans received in a {s['turns']}-turn session, collector up",
                     f"{s['spans_total']} / {s['spans_expected']} ({s['complete_turns']} turns with all 5)",
                     "no span lost", verdict(s["spans_total"] == s["spans_expected"])))
        growth = (s["span_bytes_per_turn_last100"] + s["log_bytes_per_turn_last100"]) / max(
            1, s["span_bytes_per_turn_first100"] + s["log_bytes_per_turn_first100"])
        rows.append(("Export bytes per turn (spans + logs), turns 1-100 vs last 100",
                     f"{s['span_bytes_per_turn_first100'] + s['log_bytes_per_turn_first100']:.0f} B -> "
                     f"{s['span_bytes_per_turn_last100'] + s['log_bytes_per_turn_last100']:.0f} B (x{growth:.3f}); "
                     f"metrics export {s['metric_bytes_first']} -> {s['metric_bytes_last']} B",
                     "flat", verdict(growth <= 1.02)))
    t = results.get("ttft")
    if t:
        for key, v in t.items():
            d = key.removeprefix("delay")
            rows.append((f"TTFT added by the client (first-token delay {d} ms), telemetry on",
                         f"{v['added_on_ms']:.2f} ms (chatbot {v['chatbot_on_ms']:.2f}, raw client {v['raw_client_ms']:.2f}; off adds {v['added_off_ms']:.2f})",
                         "< 1 ms", verdict(v["added_on_ms"] < 1.0)))
    g = results.get("callgrind")
    if g:
        rows.append(("User-space instructions per chunk (callgrind), on / off / curl",
                     " / ".join(fmt(g.get(k), "", 0) for k in
                                ("ir_per_chunk_on", "ir_per_chunk_off", "ir_per_chunk_curl")),
                     "-", "-"))
    w = [max(len(x[i]) for x in rows + [("what", "measured", "target", "verdict")])
         for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(w[i]) for i, h in
                               enumerate(("what", "measured (median)", "target", "verdict"))) + " |",
             "|" + "|".join("-" * (w[i] + 2) for i in range(4)) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(row)) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="ready,cpu,exit,soak,ttft",
                    help="comma-separated scenarios (add 'callgrind' to opt in)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (pairs for on/off)")
    ap.add_argument("--turns", type=int, default=20, help="turns per CPU run")
    ap.add_argument("--words", type=int, default=500, help="chunks per reply in CPU runs")
    ap.add_argument("--chunk-delay-ms", type=int, default=1,
                    help="delay between chunks, so each is its own TCP segment")
    ap.add_argument("--soak-turns", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, shorter runs")
    ap.add_argument("--json", type=Path, default=ROOT / "target" / "bench" / "results.json")
    ap.add_argument("--chatbot-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for every chatbot run, e.g. "
                         "OTEL_BLRP_SCHEDULE_DELAY=5000 (repeatable)")
    ap.add_argument("--bin-dir", type=Path, default=ROOT / "target" / "release",
                    help="where chatbot-otel and fake-ollama (release builds) are")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.turns, args.soak_turns = 2, 5, 200

    global CHATBOT, FAKE
    for name in ("chatbot-otel", "fake-ollama"):
        if not (args.bin_dir / name).exists():
            sys.exit(f"missing {args.bin_dir / name}: run scripts/bench/run.sh "
                     "(it builds release first)")
    if not shutil.which("curl"):
        sys.exit("curl is needed as the per-chunk floor")
    if not Path(GNU_TIME).exists():
        sys.exit(f"{GNU_TIME} (GNU time) is needed for peak RSS: apt-get install time")
    only = set(args.only.split(","))
    results: dict = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="chatbot-bench-") as tmp:
        env = Env(Path(tmp), dict(kv.split("=", 1) for kv in args.chatbot_env))
        (Path(tmp) / "bin").mkdir()
        CHATBOT = Path(shutil.copy2(args.bin_dir / "chatbot-otel", Path(tmp) / "bin"))
        FAKE = Path(shutil.copy2(args.bin_dir / "fake-ollama", Path(tmp) / "bin"))
        steps = [
            ("ready", lambda: scenario_ready(env, max(args.reps * 2, 5), results)),
            ("cpu", lambda: scenario_cpu(env, args.reps, args.turns, args.words,
                                         args.chunk_delay_ms, results)),
            ("exit", lambda: scenario_exit(env, max(3, args.reps), results)),
            ("soak", lambda: scenario_soak(env, args.soak_turns, 10, results)),
            ("ttft", lambda: scenario_ttft(env, 20, results)),
            ("callgrind", lambda: scenario_callgrind(env, 2, args.words, results)),
        ]
        for name, step in steps:
            if name in only:
                t0 = time.monotonic()
                print(f"[bench] {name} ...", file=sys.stderr, flush=True)
                step()
                print(f"[bench] {name} done in {time.monotonic() - t0:.0f} s",
                      file=sys.stderr, flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str))
    m = results["machine"]
    print(f"chatbot-otel benchmark, {m['date']}, {m['cpus']} x {m['cpu_model']}, "
          f"Linux {m['kernel']}, {m['curl']}")
    print(table(results))
    print(f"(raw numbers: {args.json})")


if __name__ == "__main__":
    main()
