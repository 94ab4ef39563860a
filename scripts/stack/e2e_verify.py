#!/usr/bin/env python3
"""Runs chatbot-otel against real telemetry servers and checks what arrived.

Called by scripts/stack/e2e.sh once the servers are up; stdlib + PyYAML only.

1. The chatbot (piped mode) sends TURNS to fake-ollama, one line every GAP
   seconds like a person typing, exporting OTLP/HTTP to rotel.
2. Its stdout, stderr (`trace:`/`error:` lines) and JSON log file must follow
   the contract; the trace ids on stderr are the keys for everything else.
3. Phoenix (trace store): each turn's spans, tree, status, events and
   attributes. (Phoenix reports every span kind as INTERNAL, so the kinds are
   checked on the spans rotel received.)
4. rotel's debug log (the collector's place): a `chat interaction` log record
   carrying each turn's trace and span id, and the span kinds.
5. VictoriaMetrics (metrics store, OTLP in, PromQL out): the llm_* series with
   the contract's labels, and counts equal to what the turns did (and to the
   log file and the spans).
6. Every PromQL expression of prometheus/alerts.yml and of the Grafana
   dashboard runs against VictoriaMetrics, and (phase `prometheus`) against a
   Prometheus backfilled with the very samples VictoriaMetrics stored, which
   also evaluates the real rules file; each must return data. The rule for
   alert expressions, which are written `<query> <comparison> <number>`: the
   <query> part must return data, and the whole expression must return data
   exactly for the alerts this data should trigger (LLMHighErrorRatio: 2 of 5
   turns failed) and none for the others. Dashboard variables are replaced as
   Grafana would: $__rate_interval -> 1m (4 x the 15 s scrape interval),
   $__range -> 1h (the default time range), $service -> the e2e service name,
   $model -> .* (All). Every query is evaluated at one instant, 1 s after the
   chatbot exited.
7. One more turn exported over OTLP/gRPC reaches all three places.

Phases: `stores` (1-6 on VictoriaMetrics, then writes the samples for the
backfill), `prometheus` (6 on Prometheus, summary), `dashboard-rules` (prints
the dashboard queries as a rules file for `promtool check rules`).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

SERVICE = "chatbot-otel-e2e"
PROJECT = "chatbot-otel-e2e"          # Phoenix project, via openinference.project.name
MODEL = "llama3.1:8b"                 # the chatbot's default model
GAP = 1.5                             # seconds between input lines
# (prompt, error.type the turn must fail with, or None)
TURNS = [
    ("hello", None),
    ("second [fault:mid_stream_error]", "stream_error"),
    ("third", None),
    ("fourth [fault:http_500]", "http_500"),
    ("fifth", None),
]
EXPECTED_ALERTS = {"LLMHighErrorRatio": True, "LLMHighLatencyP95": False,
                   "LLMSlowTimeToFirstToken": False, "LLMChatbotIdle": False}
GRAFANA_VARS = {"__rate_interval": "1m", "__range": "1h", "service": SERVICE, "model": ".*"}
# Metric -> the labels the contract gives it (besides resource labels and le).
CONTRACT_LABELS = {
    "llm_requests_total": {"model", "status"},
    "llm_tokens_total": {"model", "type"},
    "llm_errors_total": {"model", "error_type"},
    "llm_request_duration_seconds_count": {"model"},
    "llm_request_duration_seconds_sum": {"model"},
    "llm_request_duration_seconds_bucket": {"model"},
    "llm_time_to_first_token_seconds_count": {"model"},
    "llm_time_to_first_token_seconds_sum": {"model"},
    "llm_time_to_first_token_seconds_bucket": {"model"},
    "llm_requests_active": {"model"},
}
SPAN_TREE = {  # name -> (parent name, OTel kind)
    "chat_interaction": (None, "SPAN_KIND_INTERNAL"),
    "generate_response": ("chat_interaction", "SPAN_KIND_CLIENT"),
    "ollama_request": ("generate_response", "SPAN_KIND_CLIENT"),
    "process_streaming_response": ("generate_response", "SPAN_KIND_INTERNAL"),
    "log_interaction": ("chat_interaction", "SPAN_KIND_INTERNAL"),
}


class Failures:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.passed = 0

    def check(self, cond: bool, msg: str) -> bool:
        if cond:
            self.passed += 1
        else:
            self.items.append(msg)
            print(f"  FAIL {msg}", flush=True)
        return cond


F = Failures()


def say(msg: str) -> None:
    print(f"[e2e] {msg}", flush=True)


def http_json(url: str, params: list[tuple[str, str]] | None = None, timeout: float = 10) -> object:
    if params:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def poll(what: str, deadline_s: float, fn):
    """Call fn until it returns a truthy value; return (value, seconds waited)."""
    t0 = time.monotonic()
    last_err = None
    while True:
        try:
            v = fn()
            if v:
                return v, time.monotonic() - t0
        except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
            last_err = e
        if time.monotonic() - t0 > deadline_s:
            raise SystemExit(f"[e2e] FAIL: {what} not there after {deadline_s:.0f} s"
                             + (f" (last error: {last_err})" if last_err else ""))
        time.sleep(0.5)


# ---------------------------------------------------------------- the chatbot
def run_chatbot(a) -> dict:
    run = Path(a.run_dir)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "OLLAMA_", "LOG_", "JAEGER_", "DEPLOYMENT_"))}
    env.update({
        "OLLAMA_ENDPOINT": a.ollama,
        "OTEL_EXPORTER_OTLP_ENDPOINT": a.otlp,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": SERVICE,
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={PROJECT}",
        "DEPLOYMENT_ENVIRONMENT": "e2e",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "LOG_FILE": str(run / "chatbot.log"),
        "XDG_STATE_HOME": str(run / "state"),
    })
    out, err = open(run / "chatbot.stdout", "wb"), open(run / "chatbot.stderr", "wb")
    t0 = time.time()
    p = subprocess.Popen([a.chatbot], stdin=subprocess.PIPE, stdout=out, stderr=err, env=env)
    for prompt, _ in TURNS:
        p.stdin.write(prompt.encode() + b"\n")
        p.stdin.flush()
        time.sleep(GAP)
    t_eof = time.time()
    p.stdin.close()
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise SystemExit("[e2e] FAIL: the chatbot was still running 30 s after the end of its input") from None
    t_end = time.time()
    out.close()
    err.close()
    return {"rc": rc, "t_start": t0, "t_end": t_end, "exit_after_eof": t_end - t_eof,
            "stdout": (run / "chatbot.stdout").read_text(), "stderr": (run / "chatbot.stderr").read_text(),
            "log": (run / "chatbot.log").read_text() if (run / "chatbot.log").exists() else ""}


def check_chatbot_output(res: dict, a) -> list[dict]:
    say("chatbot output (stdout, stderr, JSON log file)")
    F.check(res["rc"] == 0, f"chatbot exit code {res['rc']}, want 0 (failed turns do not change it)")
    F.check(res["exit_after_eof"] <= 2.5, f"chatbot took {res['exit_after_eof']:.1f} s to exit after end of input "
                                          "(contract: gone within 2 s)")
    turns: list[dict] = []
    pending_error = None
    for line in res["stderr"].splitlines():
        m = re.fullmatch(r"trace: ([0-9a-f]{32})\s+(\S+)", line)
        if m:
            turns.append({"trace_id": m.group(1), "url": m.group(2), "error_line": pending_error})
            pending_error = None
        elif line.startswith("error: "):
            pending_error = line
        else:
            F.check(False, f"unexpected stderr line: {line!r}")
    F.check(len(turns) == len(TURNS), f"{len(turns)} trace lines on stderr, want {len(TURNS)}")
    for i, (t, (prompt, err)) in enumerate(zip(turns, TURNS, strict=False), start=1):
        t.update(turn=i, prompt=prompt, error_type=err)
        F.check(t["url"] == f"http://localhost:16686/trace/{t['trace_id']}",
                f"turn {i}: trace link {t['url']!r} is not the default JAEGER_UI_URL /trace/<id>")
        F.check((t["error_line"] is not None) == (err is not None),
                f"turn {i}: error line {t['error_line']!r}, failure expected: {err is not None}")
    F.check(len({t["trace_id"] for t in turns}) == len(turns), "trace ids are not one per turn")
    replies = [ln for ln in res["stdout"].splitlines()]
    want = [f"You said: {p}" for p, e in TURNS if e is None]
    got = [r for r in replies if r in want]
    F.check(got == want, f"stdout replies {replies!r} do not contain {want!r} in order")
    F.check(not any(r.startswith(("trace:", "error:")) for r in replies), "trace/error lines leaked to stdout")

    logs = [json.loads(ln) for ln in res["log"].splitlines() if ln.strip().startswith("{")]
    inter = [r for r in logs if r.get("message") == "chat interaction"]
    F.check(len(inter) == len(TURNS), f"{len(inter)} 'chat interaction' log lines, want {len(TURNS)}")
    for t, rec in zip(turns, inter, strict=False):  # counts checked above
        i = t["turn"]
        F.check(rec.get("trace_id") == t["trace_id"], f"turn {i}: log trace_id {rec.get('trace_id')} != {t['trace_id']}")
        F.check(re.fullmatch(r"[0-9a-f]{16}", str(rec.get("span_id"))) is not None, f"turn {i}: log span_id missing")
        F.check(rec.get("turn") == i, f"turn {i}: log turn {rec.get('turn')}")
        F.check(rec.get("model") == MODEL, f"turn {i}: log model {rec.get('model')}")
        F.check(rec.get("status") == ("error" if t["error_type"] else "success"), f"turn {i}: log status {rec.get('status')}")
        F.check(rec.get("error_type") == t["error_type"], f"turn {i}: log error_type {rec.get('error_type')}")
        tok = rec.get("tokens") or {}
        t["tokens"] = tok
        F.check({"input", "output", "total"} <= set(tok), f"turn {i}: log tokens {tok}")
    return turns


def fake_input_tokens() -> int:
    """prompt_eval_count per the fake: words over all messages + 4 per message,
    for the successful turns (a failed turn reports no usage and leaves the
    history unchanged); the echo reply is `You said: <prompt>`."""
    total, history = 0, []
    for prompt, err in TURNS:
        msgs = history + [prompt]
        if err is None:
            total += sum(len(m.split()) for m in msgs) + 4 * len(msgs)
            history = msgs + [f"You said: {prompt}"]
    return total


# ------------------------------------------------------------------ Phoenix
def attrs_of(kvs) -> dict:
    def val(v):
        if v is None:
            return None
        if v.get("array_value") is not None:
            return [val(x) for x in v["array_value"].get("values") or []]
        for k in ("string_value", "bool_value", "int_value", "double_value"):
            if v.get(k) is not None:
                x = v[k]
                return int(x) if k == "int_value" else (float(x) if k == "double_value" else x)
        return None
    return {kv["key"]: val(kv.get("value")) for kv in kvs or []}


def check_traces(a, turns: list[dict], fake_port: int) -> float:
    say("traces in Phoenix")
    ids = [t["trace_id"] for t in turns]
    url = f"{a.phoenix}/v1/projects/{PROJECT}/spans/otlpv1"

    def fetch():
        spans = http_json(url, [("limit", "200")] + [("trace_id", i) for i in ids])["data"]
        by = {}
        for s in spans:
            by.setdefault(s["trace_id"], []).append(s)
        return by if all(len(by.get(t["trace_id"], [])) >= (4 if t["error_type"] == "http_500" else 5)
                         for t in turns) else None
    try:
        by, waited = poll("all turns' spans in Phoenix project " + PROJECT, 60, fetch)
    except SystemExit:
        other = http_json(f"{a.phoenix}/v1/projects")["data"]
        print(f"  Phoenix projects: {[p['name'] for p in other]}")
        raise
    for t in turns:
        i, err = t["turn"], t["error_type"]
        spans = {s["name"]: s for s in by[t["trace_id"]]}
        want = set(SPAN_TREE) - ({"process_streaming_response"} if err == "http_500" else set())
        F.check(want <= set(spans), f"turn {i}: spans {sorted(spans)}, want {sorted(want)}")
        for name, (parent, _kind) in SPAN_TREE.items():
            s = spans.get(name)
            if s is None:
                continue
            want_parent = spans[parent]["span_id"] if parent else None
            F.check((s.get("parent_span_id") or None) == want_parent,
                    f"turn {i}: {name} parent {s.get('parent_span_id')} is not {parent}")
            # Phoenix reports every span as INTERNAL; the kind is checked on
            # what rotel received (check_logs_and_kinds).
            code = (s.get("status") or {}).get("code") or 0
            if err is None:
                F.check(code != 2, f"turn {i}: {name} has status ERROR in a successful turn")
        root, gen, req = (attrs_of(spans[n]["attributes"]) for n in ("chat_interaction", "generate_response", "ollama_request"))
        F.check(root.get("chat.turn") == i, f"turn {i}: chat.turn = {root.get('chat.turn')}")
        F.check(root.get("llm.model") == MODEL, f"turn {i}: chat_interaction llm.model = {root.get('llm.model')}")
        F.check(root.get("llm.prompt") == t["prompt"], f"turn {i}: llm.prompt = {root.get('llm.prompt')!r}")
        for k, v in {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "ollama",
                     "gen_ai.request.model": MODEL, "gen_ai.request.stream": True,
                     "gen_ai.request.temperature": 0.7, "llm.model": MODEL, "llm.temperature": 0.7,
                     "server.address": "127.0.0.1", "server.port": fake_port}.items():
            F.check(gen.get(k) == v, f"turn {i}: generate_response {k} = {gen.get(k)!r}, want {v!r}")
        F.check(req.get("http.request.method") == "POST" and str(req.get("url.full", "")).endswith("/api/chat"),
                f"turn {i}: ollama_request method/url {req.get('http.request.method')} {req.get('url.full')}")
        F.check(req.get("http.response.status_code") == (500 if err == "http_500" else 200),
                f"turn {i}: ollama_request http.response.status_code = {req.get('http.response.status_code')}")
        gen_events = {e["name"]: attrs_of(e.get("attributes")) for e in spans["generate_response"].get("events") or []}
        t["first_token"] = "first_token" in gen_events
        if err is None:
            tok = t.get("tokens") or {}
            for k, v in {"gen_ai.usage.input_tokens": tok.get("input"), "gen_ai.usage.output_tokens": tok.get("output"),
                         "llm.tokens.input": tok.get("input"), "llm.tokens.output": tok.get("output"),
                         "llm.tokens.total": tok.get("total"), "gen_ai.response.model": MODEL,
                         "gen_ai.response.finish_reasons": ["stop"],
                         "llm.response": f"You said: {t['prompt']}"}.items():
                F.check(gen.get(k) == v, f"turn {i}: generate_response {k} = {gen.get(k)!r}, want {v!r}")
            F.check(isinstance(gen.get("llm.duration_ms"), float), f"turn {i}: llm.duration_ms missing")
            F.check(isinstance((gen_events.get("first_token") or {}).get("gen_ai.response.time_to_first_chunk"), float),
                    f"turn {i}: no first_token event with gen_ai.response.time_to_first_chunk")
            psr = attrs_of(spans["process_streaming_response"]["attributes"])
            F.check(isinstance(psr.get("llm.stream.chunks"), int) and psr["llm.stream.chunks"] >= 1,
                    f"turn {i}: llm.stream.chunks = {psr.get('llm.stream.chunks')}")
            F.check(psr.get("ollama.done_reason") == "stop", f"turn {i}: ollama.done_reason = {psr.get('ollama.done_reason')}")
            for k in ("gen_ai.response.time_to_first_chunk", "ollama.total_duration", "ollama.eval_duration"):
                F.check(isinstance(psr.get(k), float), f"turn {i}: process_streaming_response {k} = {psr.get(k)!r}")
        else:
            for name in ("chat_interaction", "generate_response"):
                s = spans[name]
                F.check((s.get("status") or {}).get("code") == 2, f"turn {i}: {name} status is not ERROR")
                F.check(attrs_of(s["attributes"]).get("error.type") == err,
                        f"turn {i}: {name} error.type = {attrs_of(s['attributes']).get('error.type')!r}, want {err}")
            failing = "process_streaming_response" if err == "stream_error" else "ollama_request"
            if err == "stream_error":
                F.check((spans[failing].get("status") or {}).get("code") == 2, f"turn {i}: {failing} status is not ERROR")
            F.check(any(e["name"] == "exception" for s in spans.values() for e in s.get("events") or []),
                    f"turn {i}: no exception event in the failed turn")
    return waited


# -------------------------------------------------------------------- rotel
def parse_rotel_spans(text: str) -> list[dict]:
    """Spans from rotel's `--debug-log traces --debug-log-verbosity detailed` output."""
    spans, cur = [], None
    for line in re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines():
        if line.startswith("Span #"):
            cur = {}
            spans.append(cur)
        elif cur is not None:
            m = re.match(r"^\s+(Trace ID|Parent ID|ID|Name|Kind)\s*: ?(.*)$", line)
            if m:
                cur[m.group(1)] = m.group(2).strip()
            elif re.match(r"^(Resource|Scope|LogRecord)", line):
                cur = None
    return spans


def parse_rotel_log_records(text: str) -> list[dict]:
    """Log records from rotel's `--debug-log logs --debug-log-verbosity detailed` output."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    records, cur, resource, in_resource = [], None, {}, False
    for line in text.splitlines():
        if line.startswith("ResourceLog #"):
            resource, in_resource, cur = {}, True, None
            continue
        if re.match(r"^(ResourceSpans|ResourceMetrics|ScopeLogs|Span #|ScopeSpans)", line):
            in_resource = False
            if not line.startswith("ScopeLogs"):
                cur = None
            continue
        if line.startswith("LogRecord #"):
            in_resource = False
            cur = {"attributes": {}, "resource": resource}
            records.append(cur)
            continue
        m = re.match(r"^\s+-> ([^:]+): (\w+)\((.*)\)$", line)
        if m and in_resource:
            resource[m.group(1)] = m.group(3)
        elif m and cur is not None:
            cur["attributes"][m.group(1)] = m.group(3)
        elif cur is not None:
            if line.startswith("Body: "):
                mb = re.match(r"Body: \w+\((.*)\)$", line)
                cur["body"] = mb.group(1) if mb else line[6:]
            elif "Trace ID" in line:
                cur["trace_id"] = line.split(":", 1)[1].strip()
            elif "Span ID" in line:
                cur["span_id"] = line.split(":", 1)[1].strip()
            elif line.startswith("SeverityText:"):
                cur["severity"] = line.split(":", 1)[1].strip()
    return records


def check_logs(a, turns: list[dict]) -> float:
    say("log records and span kinds received by rotel (the collector's place)")
    spans = parse_rotel_spans(Path(a.rotel_log).read_text(errors="replace"))
    for t in turns:
        mine = {s.get("Name"): s for s in spans if s.get("Trace ID") == t["trace_id"]}
        for name, (_parent, kind) in SPAN_TREE.items():
            if name in mine:
                F.check(mine[name].get("Kind") == kind,
                        f"turn {t['turn']}: {name} kind {mine[name].get('Kind')}, want {kind}")
        F.check("chat_interaction" in mine, f"turn {t['turn']}: rotel received no chat_interaction span")

    def fetch():
        recs = [r for r in parse_rotel_log_records(Path(a.rotel_log).read_text(errors="replace"))
                if r.get("body") == "chat interaction"]
        return recs if len(recs) >= len(turns) else None
    recs, waited = poll("the turns' log records in rotel's debug log", 20, fetch)
    by_trace = {r.get("trace_id"): r for r in recs}
    for t in turns:
        i, r = t["turn"], by_trace.get(t["trace_id"])
        if not F.check(r is not None, f"turn {i}: no log record with trace id {t['trace_id']} reached rotel"):
            continue
        F.check(re.fullmatch(r"[0-9a-f]{16}", r.get("span_id", "")) is not None, f"turn {i}: log record has no span id")
        F.check(r["attributes"].get("turn") == str(i), f"turn {i}: log record turn = {r['attributes'].get('turn')}")
        F.check(r["attributes"].get("status") == ("error" if t["error_type"] else "success"),
                f"turn {i}: log record status = {r['attributes'].get('status')}")
        if t["error_type"]:
            F.check(r["attributes"].get("error_type") == t["error_type"],
                    f"turn {i}: log record error_type = {r['attributes'].get('error_type')}")
            F.check(r.get("severity") == "WARN" or r.get("severity") == "ERROR",
                    f"turn {i}: failed turn logged at {r.get('severity')}")
        F.check(r["resource"].get("service.name") == SERVICE,
                f"turn {i}: log resource service.name = {r['resource'].get('service.name')}")
    return waited


# ------------------------------------------------------------------ metrics
def instant(base: str, query: str, at: float) -> list[dict]:
    d = http_json(f"{base}/api/v1/query", [("query", query), ("time", f"{at:.3f}")])
    if d.get("status") != "success":
        raise ValueError(f"query failed: {d}")
    return d["data"]["result"]


def by_label(res: list[dict], label: str) -> dict:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in res}


def check_metrics(a, turns: list[dict], t_eval: float) -> float:
    say("metrics in VictoriaMetrics")
    vm = a.victoriametrics
    sel = f'service_name="{SERVICE}"'
    _, waited = poll("llm_requests_total summing to the number of turns", 40,
                     lambda: (r := instant(vm, f"sum(llm_requests_total{{{sel}}})", t_eval))
                     and float(r[0]["value"][1]) == len(turns))
    n_err = sum(1 for t in turns if t["error_type"])
    want_status = {"success": len(turns) - n_err, "error": n_err}
    got = by_label(instant(vm, f"sum by (status) (llm_requests_total{{{sel}}})", t_eval), "status")
    F.check(got == want_status, f"llm_requests_total by status {got}, want {want_status}")
    want_err = {}
    for t in turns:
        if t["error_type"]:
            want_err[t["error_type"]] = want_err.get(t["error_type"], 0) + 1
    got = by_label(instant(vm, f"sum by (error_type) (llm_errors_total{{{sel}}})", t_eval), "error_type")
    F.check(got == want_err, f"llm_errors_total by error_type {got}, want {want_err}")
    log_in = sum(int((t.get("tokens") or {}).get("input", 0)) for t in turns)
    log_out = sum(int((t.get("tokens") or {}).get("output", 0)) for t in turns)
    got = by_label(instant(vm, f"sum by (type) (llm_tokens_total{{{sel}}})", t_eval), "type")
    F.check(got.get("input") == fake_input_tokens() == log_in,
            f"llm_tokens_total input {got.get('input')}, fake-ollama counted {fake_input_tokens()}, log says {log_in}")
    F.check(got.get("output") == log_out and log_out > 0, f"llm_tokens_total output {got.get('output')}, log says {log_out}")
    got = instant(vm, f"sum(llm_request_duration_seconds_count{{{sel}}})", t_eval)
    F.check(got and float(got[0]["value"][1]) == len(turns),
            f"llm_request_duration_seconds_count {got and got[0]['value'][1]}, want {len(turns)} (failed requests too)")
    inf = instant(vm, f'sum(llm_request_duration_seconds_bucket{{{sel}, le="+Inf"}})', t_eval)
    F.check(inf and float(inf[0]["value"][1]) == len(turns), "llm_request_duration_seconds_bucket{le=\"+Inf\"} != count")
    les = {r["metric"].get("le") for r in instant(vm, f"llm_request_duration_seconds_bucket{{{sel}}}", t_eval)}
    want_les = {"0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "120", "+Inf"}
    F.check(want_les <= les, f"llm_request_duration_seconds buckets {sorted(les)} lack the contract's "
                             f"second-scale boundaries {sorted(want_les - les)}")
    n_ttft = sum(1 for t in turns if t.get("first_token"))
    got = instant(vm, f"sum(llm_time_to_first_token_seconds_count{{{sel}}})", t_eval)
    F.check(got and float(got[0]["value"][1]) == n_ttft,
            f"llm_time_to_first_token_seconds_count {got and got[0]['value'][1]}, want {n_ttft} "
            "(turns whose generate_response span has a first_token event)")
    got = instant(vm, f"sum(llm_requests_active{{{sel}}})", t_eval)
    F.check(got and float(got[0]["value"][1]) == 0, f"llm_requests_active {got and got[0]['value'][1]}, want 0 at the end")

    # Labels: every llm_* series carries exactly the contract's labels plus
    # resource attributes (VictoriaMetrics turns each one into a label).
    series = instant(vm, f'{{__name__=~"llm_.+", {sel}}}', t_eval)
    resource = {"service_name", "service_version", "host_name", "deployment_environment",
                "openinference_project_name", "telemetry_sdk_name", "telemetry_sdk_language", "telemetry_sdk_version"}
    names = {r["metric"]["__name__"] for r in series}
    F.check(set(CONTRACT_LABELS) <= names, f"missing llm_* series: {sorted(set(CONTRACT_LABELS) - names)}")
    for r in series:
        m = r["metric"]
        name = m["__name__"]
        own = set(m) - resource - {"__name__", "le"}
        if name in CONTRACT_LABELS:
            F.check(own == CONTRACT_LABELS[name], f"{name} labels {sorted(own)}, contract says {sorted(CONTRACT_LABELS[name])}")
        F.check(m.get("model") == MODEL, f"{name} model label {m.get('model')!r}")
        F.check(m.get("deployment_environment") == "e2e", f"{name}: resource deployment.environment missing")
    # The GenAI semantic-convention histograms ride along.
    for metric, by in (("gen_ai_client_operation_duration_seconds_count", "error_type"),
                       ("gen_ai_client_token_usage_count", "gen_ai_token_type"),
                       ("gen_ai_client_operation_time_to_first_chunk_seconds_count", "gen_ai_operation_name")):
        got = by_label(instant(vm, f"sum by ({by}) ({metric}{{{sel}}})", t_eval), by)
        F.check(bool(got), f"{metric} missing")
        if metric.startswith("gen_ai_client_operation_duration"):
            F.check(sum(got.values()) == len(turns) and all(got.get(e) == c for e, c in want_err.items()),
                    f"{metric} by error_type {got}, want {len(turns)} in all and {want_err} on errors")
        if metric.startswith("gen_ai_client_token_usage"):
            F.check(set(got) == {"input", "output"}, f"{metric} by gen_ai_token_type {got}")
    return waited


# ------------------------------------------------------------------ OTLP gRPC
def check_grpc(a) -> None:
    """One more turn exported over OTLP/gRPC (the compose collector's 4317)."""
    say("one turn exported over OTLP gRPC")
    run = Path(a.run_dir)
    svc = SERVICE + "-grpc"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "OLLAMA_", "LOG_", "JAEGER_", "DEPLOYMENT_"))}
    env.update({"OLLAMA_ENDPOINT": a.ollama, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                "OTEL_EXPORTER_OTLP_ENDPOINT": a.otlp_grpc, "OTEL_SERVICE_NAME": svc,
                "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={PROJECT}",
                "LOG_FILE": str(run / "chatbot-grpc.log"), "XDG_STATE_HOME": str(run / "state")})
    p = subprocess.run([a.chatbot], input=b"over grpc\n", capture_output=True, env=env, timeout=30)
    m = re.search(r"^trace: ([0-9a-f]{32})", p.stderr.decode(), re.M)
    if not F.check(p.returncode == 0 and m is not None, f"gRPC turn: exit {p.returncode}, stderr {p.stderr.decode()!r}"):
        return
    tid = m.group(1)
    url = f"{a.phoenix}/v1/projects/{PROJECT}/spans/otlpv1"
    spans, _ = poll("the gRPC turn's spans in Phoenix", 30,
                    lambda: (d := http_json(url, [("trace_id", tid), ("limit", "50")])["data"]) and len(d) >= 5 and d)
    F.check({s["name"] for s in spans} == set(SPAN_TREE), f"gRPC turn: spans {sorted(s['name'] for s in spans)}")
    poll("the gRPC turn's llm_requests_total in VictoriaMetrics", 40,
         lambda: (r := instant(a.victoriametrics, f'sum(llm_requests_total{{service_name="{svc}"}})', time.time()))
         and float(r[0]["value"][1]) == 1)
    poll("the gRPC turn's log record in rotel", 20, lambda: any(
        r.get("trace_id") == tid and r.get("body") == "chat interaction"
        for r in parse_rotel_log_records(Path(a.rotel_log).read_text(errors="replace"))))
    F.check(True, "gRPC turn arrived in all three places")
    print(f"  trace {tid[:8]}: 5 spans in Phoenix, counted in VictoriaMetrics, log record in rotel")


# ------------------------------------------------------------------- PromQL
def substitute(expr: str) -> str:
    def rep(m):
        name = m.group(1) or m.group(2)
        if name not in GRAFANA_VARS:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return GRAFANA_VARS[name]
    out = re.sub(r"\$\{(\w+)\}|\$(\w+)", rep, expr)
    return out


def split_comparison(expr: str) -> tuple[str, str, str] | None:
    """Split `<query> <op> <number>` at its last top-level comparison."""
    depth, quote, last = 0, None, None
    i = 0
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            for op in ("==", "!=", ">=", "<=", ">", "<"):
                if expr.startswith(op, i) and not expr.startswith("=~", i):
                    last = (i, op)
                    i += len(op) - 1
                    break
        i += 1
    if not last:
        return None
    pos, op = last
    rhs = expr[pos + len(op):].strip()
    rhs_num = re.sub(r"^bool\s+", "", rhs)
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", rhs_num):
        return None
    return expr[:pos].strip(), op, rhs


def queries(repo: Path) -> tuple[list[dict], list[dict], list[dict]]:
    alerts = []
    for g in yaml.safe_load((repo / "prometheus/alerts.yml").read_text())["groups"]:
        for r in g["rules"]:
            if "alert" in r:
                alerts.append({"name": r["alert"], "expr": r["expr"].strip()})
    dash = json.loads((repo / "grafana/dashboards/chatbot-otel.json").read_text())
    panels = [p for top in dash["panels"] for p in (top, *(top.get("panels") or []))]
    targets = []
    for p in panels:
        for t in p.get("targets") or []:
            ds = t.get("datasource") or p.get("datasource") or {}
            if ds.get("type") == "prometheus" and t.get("expr"):
                targets.append({"name": f"{p['title']} / {t.get('legendFormat') or t['refId']}",
                                "expr": substitute(t["expr"]), "raw": t["expr"]})
    variables = []
    for v in (dash.get("templating") or {}).get("list") or []:
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q or "")
        if v.get("type") == "query" and m:
            variables.append({"name": v["name"], "match": substitute(m.group(1)), "label": m.group(2)})
    return alerts, targets, variables


def run_promql(a, store: str, base: str, t_eval: float) -> int:
    say(f"PromQL of the dashboard and the alert rules against {store}")
    alerts, targets, variables = queries(Path(a.repo))
    n = 0
    for q in targets:
        res = instant(base, q["expr"], t_eval)
        n += 1
        F.check(bool(res), f"{store}: dashboard panel {q['name']!r} returns no data: {q['expr']}")
    for al in alerts:
        parts = split_comparison(al["expr"])
        if not F.check(parts is not None, f"alert {al['name']}: expression is not `<query> <op> <number>`"):
            continue
        lhs, op, rhs = parts
        res_lhs = instant(base, lhs, t_eval)
        res_full = instant(base, al["expr"], t_eval)
        n += 2
        values = ", ".join(f"{r['metric'].get('model', '')}={float(r['value'][1]):.4g}" for r in res_lhs)
        F.check(bool(res_lhs), f"{store}: alert {al['name']}: its query part returns no data: {lhs}")
        want = EXPECTED_ALERTS.get(al["name"])
        if F.check(want is not None, f"alert {al['name']}: no expected outcome in e2e_verify.EXPECTED_ALERTS"):
            F.check(bool(res_full) == want,
                    f"{store}: alert {al['name']} condition is {'met' if res_full else 'not met'} "
                    f"({values} {op} {rhs}), expected {'met' if want else 'not met'}")
        print(f"  {store}: {al['name']}: {values or 'no data'} {op} {rhs} -> {'MET' if res_full else 'not met'}")
    for v in variables:
        vals = http_json(f"{base}/api/v1/label/{v['label']}/values",
                         [("match[]", v["match"]), ("start", f"{t_eval - 3600:.0f}"), ("end", f"{t_eval:.0f}")])["data"]
        want = {"service": SERVICE, "model": MODEL}.get(v["name"])
        F.check(want in vals, f"{store}: variable ${v['name']} values {vals} lack {want!r}")
        n += 1
    print(f"  {store}: {len(targets)} panel queries, {len(alerts)} alert rules (query part and condition), "
          f"{len(variables)} variable queries")
    return n


def check_prometheus_rules(a, t_after: float) -> None:
    say("Prometheus evaluating prometheus/alerts.yml on the chatbot's samples")

    def fetch():
        groups = http_json(f"{a.prometheus}/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        done = rules and all(r.get("lastEvaluation", "").startswith("2") and
                             _ts(r["lastEvaluation"]) > t_after for r in rules)
        return rules if done else None
    rules, _ = poll("a rule evaluation after the chatbot's run", 20, fetch)
    for r in rules:
        F.check(r.get("health") == "ok" and not r.get("lastError"),
                f"Prometheus: rule {r['name']} health {r.get('health')}: {r.get('lastError')}")
        want = EXPECTED_ALERTS.get(r["name"])
        state = r.get("state")
        F.check((state in ("pending", "firing")) == bool(want),
                f"Prometheus: alert {r['name']} is {state}, expected {'pending/firing' if want else 'inactive'}")
        print(f"  Prometheus: {r['name']}: health {r.get('health')}, state {state}")


def _ts(s: str) -> float:
    from datetime import datetime
    s = re.sub(r"(\.\d{6})\d*", r"\1", s.replace("Z", "+00:00"))
    return datetime.fromisoformat(s).timestamp()


# ----------------------------------------------- VictoriaMetrics -> Prometheus
def export_openmetrics(vm: str, path: Path) -> int:
    """Write every chatbot sample VictoriaMetrics holds as OpenMetrics text with
    timestamps, for `promtool tsdb create-blocks-from openmetrics`.

    Prometheus cannot take OTLP (Debian patched the receiver out) and a live
    /federate scrape misses the first seconds of each new series, which
    VictoriaMetrics only makes searchable some seconds after ingesting it. The
    backfill gives Prometheus exactly the samples VictoriaMetrics stored."""
    with urllib.request.urlopen(f"{vm}/api/v1/export?" + urllib.parse.urlencode(
            {"match[]": '{__name__=~"llm_.+|gen_ai_.+"}'}), timeout=30) as r:
        series = [json.loads(line) for line in r.read().decode().splitlines() if line.strip()]
    esc = lambda v: v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')  # noqa: E731
    families: dict[str, list[str]] = {}
    n = 0
    for s in series:
        m = dict(s["metric"])
        name = m.pop("__name__")
        labels = ",".join(f'{k}="{esc(str(v))}"' for k, v in sorted(m.items()))
        for v, ts in zip(s["values"], s["timestamps"], strict=True):
            families.setdefault(name, []).append(f"{name}{{{labels}}} {v} {ts / 1000:.3f}")
            n += 1
    with open(path, "w") as f:
        for name in sorted(families):
            f.write("\n".join(families[name]) + "\n")
        f.write("# EOF\n")
    return n


# --------------------------------------------------------------------- main
def save_state(run: Path, state: dict) -> None:
    (run / "e2e-state.json").write_text(json.dumps(state))


def phase_stores(a) -> int:
    fake_port = int(a.ollama.rsplit(":", 1)[1])
    timings = {"servers ready": a.servers_seconds}
    say(f"running chatbot-otel: {len(TURNS)} turns, {sum(1 for _, e in TURNS if e)} failing, one every {GAP} s")
    res = run_chatbot(a)
    timings["chatbot run"] = f"{res['t_end'] - res['t_start']:.1f}"
    timings["chatbot exit after end of input"] = f"{res['exit_after_eof']:.2f}"
    turns = check_chatbot_output(res, a)
    if len(turns) != len(TURNS):
        print(res["stderr"])
        return 1
    t_eval = res["t_end"] + 1.0     # every query is evaluated at this instant
    timings["traces in Phoenix after"] = f"{check_traces(a, turns, fake_port):.1f}"
    timings["logs in rotel after"] = f"{check_logs(a, turns):.1f}"
    timings["metrics in VictoriaMetrics after"] = f"{check_metrics(a, turns, t_eval):.1f}"
    n = run_promql(a, "VictoriaMetrics", a.victoriametrics, t_eval)
    samples = export_openmetrics(a.victoriametrics, Path(a.run_dir) / "chatbot-samples.om")
    say(f"exported {samples} samples from VictoriaMetrics for the Prometheus backfill")
    # Last, so that neither the queries nor the backfill see this process.
    t = time.monotonic()
    check_grpc(a)
    timings["gRPC turn checked in"] = f"{time.monotonic() - t:.1f}"
    save_state(Path(a.run_dir), {"turns": turns, "t_eval": t_eval, "t_end": res["t_end"], "timings": timings,
                                 "promql": n, "passed": F.passed, "failed": F.items})
    return 1 if F.items else 0


def phase_prometheus(a) -> int:
    st = json.loads((Path(a.run_dir) / "e2e-state.json").read_text())
    F.passed, F.items = st["passed"], list(st["failed"])
    turns, t_eval = st["turns"], st["t_eval"]
    n = st["promql"] + run_promql(a, "Prometheus", a.prometheus, t_eval)
    check_prometheus_rules(a, time.time() - 1)
    print()
    say("summary")
    print(f"  turns: {len(turns)} ({', '.join(t['error_type'] or 'ok' for t in turns)}); "
          f"trace ids: {' '.join(t['trace_id'][:8] for t in turns)}")
    print(f"  PromQL executions: {n} (VictoriaMetrics and Prometheus)")
    for k, v in st["timings"].items():
        print(f"  {k:34s} {v} s")
    print(f"{F.passed} passed, {len(F.items)} failed")
    if F.items:
        print("\nFAILED checks:")
        for m in F.items:
            print(f"  - {m}")
        return 1
    return 0


def dashboard_rules(a) -> int:
    """Print the dashboard's queries as a Prometheus recording-rules file, so
    `promtool check rules` parses each with the real PromQL parser (VictoriaMetrics
    accepts a superset of PromQL, so its answers alone do not prove that)."""
    _, targets, variables = queries(Path(a.repo))
    rules = [{"record": f"dashboard:query_{i}", "expr": q["expr"]} for i, q in enumerate(targets, 1)]
    rules += [{"record": f"dashboard:variable_{v['name']}", "expr": v["match"]} for v in variables]
    print(f"# {len(targets)} dashboard panel queries and {len(variables)} variable selectors")
    print(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, sort_keys=False, width=1000))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["stores", "prometheus", "dashboard-rules"])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--run-dir")
    for k in ("chatbot", "ollama", "otlp", "otlp-grpc", "phoenix", "victoriametrics", "prometheus", "rotel-log"):
        ap.add_argument(f"--{k}")
    ap.add_argument("--servers-seconds", default="?")
    a = ap.parse_args()
    return {"stores": phase_stores, "prometheus": phase_prometheus, "dashboard-rules": dashboard_rules}[a.phase](a)


if __name__ == "__main__":
    sys.exit(main())
