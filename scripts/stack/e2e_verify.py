#!/usr/bin/env python3
"""Runs chatbot-otel against real telemetry servers and checks what arrived.

Called by scripts/stack/e2e.sh once the servers are started; stdlib + PyYAML only.
The span tree, attributes, metric points and log fields themselves are the Rust
tests' job (tests/piped_*.rs, against an in-process OTLP receiver); this script
checks what only real servers can show:

1. The chatbot (piped mode) sends TURNS to fake-ollama, one line every GAP
   seconds like a person typing, exporting OTLP/HTTP to rotel (the collector).
   The trace ids on its stderr are the keys for everything else.
2. Phoenix (trace store) holds each turn's spans, forwarded by rotel.
3. rotel's debug log holds a `chat interaction` log record per turn, carrying
   that turn's trace and span id (the Logs Bridge, through a real collector).
4. VictoriaMetrics (OTLP in, PromQL out) counts the turns by status and the
   failures by error_type.
5. Every PromQL expression of stack/prometheus/alerts.yml and of the Grafana
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
6. One more turn, run beside the others as another service and exported over
   OTLP/gRPC, reaches all three places (no Rust test has a gRPC receiver).

Phases: `stores` (1-5 on VictoriaMetrics, then writes the samples for the
backfill), `prometheus` (5 on Prometheus, summary), `dashboard-rules` (prints
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
GRPC_SERVICE = SERVICE + "-grpc"
PROJECT = "chatbot-otel-e2e"          # Phoenix project, via openinference.project.name
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
MODEL = "llama3.1:8b"                 # the chatbot's default model, for the $model variable
# The span names each turn sends (an HTTP 500 ends the turn before any stream is read).
SPANS = {"chat_interaction", "generate_response", "ollama_request", "process_streaming_response", "log_interaction"}
ALERTS_FILE = "stack/prometheus/alerts.yml"
DASHBOARD_FILE = "stack/grafana/dashboards/chatbot-otel.json"


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
def chatbot_env(a, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "OLLAMA_", "LOG_", "JAEGER_", "DEPLOYMENT_", "CHATBOT_"))}
    env.update({
        "OLLAMA_ENDPOINT": a.ollama,
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={PROJECT}",
        "XDG_STATE_HOME": str(Path(a.run_dir) / "state"),
    })
    env.update(extra)
    return env


def run_chatbot(a) -> list[dict]:
    """Runs the turns; returns one {turn, prompt, error_type, trace_id} per turn."""
    run = Path(a.run_dir)
    env = chatbot_env(a, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": a.otlp,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_SERVICE_NAME": SERVICE,
        "DEPLOYMENT_ENVIRONMENT": "e2e",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "LOG_FILE": str(run / "chatbot.log"),
    })
    with open(run / "chatbot.stdout", "wb") as out, open(run / "chatbot.stderr", "wb") as err:
        p = subprocess.Popen([a.chatbot], stdin=subprocess.PIPE, stdout=out, stderr=err, env=env)
        for prompt, _ in TURNS:
            p.stdin.write(prompt.encode() + b"\n")
            p.stdin.flush()
            time.sleep(GAP)
        p.stdin.close()
        try:
            rc = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise SystemExit("[e2e] FAIL: the chatbot was still running 30 s after the end of its input") from None
    stderr = (run / "chatbot.stderr").read_text()
    ids = re.findall(r"^trace: ([0-9a-f]{32})\b", stderr, re.M)
    F.check(rc == 0, f"chatbot exit code {rc}, want 0 (failed turns do not change it)")
    if not F.check(len(ids) == len(TURNS), f"{len(ids)} trace lines on stderr, want {len(TURNS)}:\n{stderr}"):
        return []
    return [{"turn": i, "prompt": p, "error_type": e, "trace_id": t}
            for i, ((p, e), t) in enumerate(zip(TURNS, ids, strict=True), start=1)]


# ------------------------------------------------------------------ Phoenix
def check_traces(a, turns: list[dict]) -> float:
    """Each turn's spans reached Phoenix through rotel. Phoenix may still be
    starting when the chatbot runs: rotel retries until it answers."""
    say("traces in Phoenix")
    url = f"{a.phoenix}/v1/projects/{PROJECT}/spans/otlpv1"

    def want(t):
        return SPANS - ({"process_streaming_response"} if t["error_type"] == "http_500" else set())

    sessions = set()

    def fetch():
        spans = http_json(url, [("limit", "200")] + [("trace_id", t["trace_id"]) for t in turns])["data"]
        by = {}
        for s in spans:
            by.setdefault(s["trace_id"], set()).add(s["name"])
            sessions.add(attribute(s, "session.id"))
        return by if all(want(t) <= by.get(t["trace_id"], set()) for t in turns) else None
    by, waited = poll("all turns' spans in Phoenix project " + PROJECT, 150, fetch)
    for t in turns:
        F.check(by[t["trace_id"]] == want(t), f"turn {t['turn']}: spans {sorted(by[t['trace_id']])}, want {sorted(want(t))}")
    print(f"  {len(turns)} traces, {sum(len(v) for v in by.values())} spans")
    check_session(a, turns, sessions)
    return waited


def attribute(span: dict, key: str):
    """A string attribute of a span from Phoenix's OTLP-shaped span list (a list of
    {key, value: {string_value|stringValue}}), or from a plain mapping."""
    attrs = span.get("attributes") or []
    if isinstance(attrs, dict):
        return attrs.get(key)
    for kv in attrs:
        if kv.get("key") == key:
            v = kv.get("value") or {}
            return v.get("string_value", v.get("stringValue"))
    return None


def check_session(a, turns: list[dict], sessions: set) -> None:
    """Phoenix's sessions view: the turns of one run are one session (from `session.id`)."""
    F.check(len(sessions) == 1 and None not in sessions, f"one session.id on every span, got {sessions}")
    if len(sessions) != 1:
        return
    (session_id,) = sessions
    query = json.dumps({
        "query": "query($id: String!) { getProjectSessionById(sessionId: $id) { sessionId numTraces } }",
        "variables": {"id": session_id},
    }).encode()

    def fetch():
        req = urllib.request.Request(f"{a.phoenix}/graphql", data=query,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            found = (json.load(r).get("data") or {}).get("getProjectSessionById")
        return found if found and found.get("numTraces") == len(turns) else None
    found, _ = poll(f"session {session_id} with {len(turns)} traces in Phoenix", 60, fetch)
    F.check(found["sessionId"] == session_id, f"Phoenix session {found}")
    print(f"  one Phoenix session {session_id}: {found['numTraces']} traces")


# -------------------------------------------------------------------- rotel
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
    say("log records received by rotel (the collector's place)")

    def fetch():
        recs = [r for r in parse_rotel_log_records(Path(a.rotel_log).read_text(errors="replace"))
                if r.get("body") == "chat interaction"]
        return recs if len(recs) >= len(turns) else None
    recs, waited = poll("the turns' log records in rotel's debug log", 20, fetch)
    by_trace = {r.get("trace_id"): r for r in recs}
    for t in turns:
        r = by_trace.get(t["trace_id"])
        if F.check(r is not None, f"turn {t['turn']}: no log record with trace id {t['trace_id']} reached rotel"):
            F.check(re.fullmatch(r"[0-9a-f]{16}", r.get("span_id", "")) is not None,
                    f"turn {t['turn']}: log record has no span id")
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
    want_err: dict[str, float] = {}
    for t in turns:
        if t["error_type"]:
            want_err[t["error_type"]] = want_err.get(t["error_type"], 0) + 1
    got = by_label(instant(vm, f"sum by (error_type) (llm_errors_total{{{sel}}})", t_eval), "error_type")
    F.check(got == want_err, f"llm_errors_total by error_type {got}, want {want_err}")
    return waited


# ------------------------------------------------------------------ OTLP gRPC
def start_grpc_turn(a) -> subprocess.Popen:
    """One more turn, exported over OTLP/gRPC (the compose collector's 4317), as
    another service. It runs beside the main turns; its one success leaves the
    alert outcomes as they are (2 failures in 6 requests is still above 5 %)."""
    env = chatbot_env(a, {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": a.otlp_grpc,
                          "OTEL_SERVICE_NAME": GRPC_SERVICE, "LOG_FILE": str(Path(a.run_dir) / "chatbot-grpc.log")})
    run = Path(a.run_dir)
    (run / "chatbot-grpc.stdin").write_text("over grpc\n")
    with open(run / "chatbot-grpc.stdin", "rb") as stdin, open(run / "chatbot-grpc.stderr", "wb") as err:
        return subprocess.Popen([a.chatbot], stdin=stdin, stdout=subprocess.DEVNULL, stderr=err, env=env)


def check_grpc(a, p: subprocess.Popen) -> None:
    say("the turn exported over OTLP gRPC")
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    stderr = (Path(a.run_dir) / "chatbot-grpc.stderr").read_text()
    m = re.search(r"^trace: ([0-9a-f]{32})", stderr, re.M)
    if not F.check(p.returncode == 0 and m is not None, f"gRPC turn: exit {p.returncode}, stderr {stderr!r}"):
        return
    tid = m.group(1)
    url = f"{a.phoenix}/v1/projects/{PROJECT}/spans/otlpv1"
    spans, _ = poll("the gRPC turn's spans in Phoenix", 30,
                    lambda: (d := http_json(url, [("trace_id", tid), ("limit", "50")])["data"]) and len(d) >= 5 and d)
    F.check({s["name"] for s in spans} == SPANS, f"gRPC turn: spans {sorted(s['name'] for s in spans)}")
    poll("the gRPC turn's llm_requests_total in VictoriaMetrics", 40,
         lambda: (r := instant(a.victoriametrics, f'sum(llm_requests_total{{service_name="{GRPC_SERVICE}"}})',
                               time.time()))
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
    for g in yaml.safe_load((repo / ALERTS_FILE).read_text())["groups"]:
        for r in g["rules"]:
            if "alert" in r:
                alerts.append({"name": r["alert"], "expr": r["expr"].strip()})
    dash = json.loads((repo / DASHBOARD_FILE).read_text())
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
    say(f"Prometheus evaluating {ALERTS_FILE} on the chatbot's samples")

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
    t0 = time.monotonic()
    timings = {}
    say(f"running chatbot-otel: {len(TURNS)} turns, {sum(1 for _, e in TURNS if e)} failing, one every {GAP} s")
    grpc_turn = start_grpc_turn(a)
    turns = run_chatbot(a)
    t_end = time.time()
    timings["chatbot run"] = f"{time.monotonic() - t0:.1f}"
    if not turns:
        grpc_turn.kill()
        return 1
    t_eval = t_end + 1.0     # every query is evaluated at this instant
    timings["traces in Phoenix after"] = f"{check_traces(a, turns):.1f}"
    timings["logs in rotel after"] = f"{check_logs(a, turns):.1f}"
    timings["metrics in VictoriaMetrics after"] = f"{check_metrics(a, turns, t_eval):.1f}"
    n = run_promql(a, "VictoriaMetrics", a.victoriametrics, t_eval)
    t = time.monotonic()
    check_grpc(a, grpc_turn)
    timings["gRPC turn checked in"] = f"{time.monotonic() - t:.1f}"
    samples = export_openmetrics(a.victoriametrics, Path(a.run_dir) / "chatbot-samples.om")
    say(f"exported {samples} samples from VictoriaMetrics for the Prometheus backfill")
    save_state(Path(a.run_dir), {"turns": turns, "t_eval": t_eval, "timings": timings,
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
    a = ap.parse_args()
    return {"stores": phase_stores, "prometheus": phase_prometheus, "dashboard-rules": dashboard_rules}[a.phase](a)


if __name__ == "__main__":
    sys.exit(main())
