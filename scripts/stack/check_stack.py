#!/usr/bin/env python3
"""Structural checks of the observability stack's files (no Docker needed).

    python3 scripts/stack/check_stack.py            # check the repository
    python3 scripts/stack/check_stack.py --self-test  # prove each check catches its fault

No collector, Compose or Grafana build can run on our machines, so this reads
the files and checks what those programs would reject or silently get wrong:

otel-collector-config.yaml
  * only known top-level sections; every component id is `type` or `type/name`;
  * every component a pipeline or `service.extensions` names is defined, and
    every defined component is used (connectors on both sides);
  * pipelines for traces, metrics and logs, each with a receiver and an exporter,
    `memory_limiter` first and `batch` present;
  * no component that was removed from the collector (`jaeger`, `logging`, ...);
  * the OTLP exporter reaches the Jaeger service on 4317, the prometheus
    exporter listens where prometheus.yml scrapes and carries resource
    attributes as labels (the dashboard filters on service_name).
docker-compose.yml
  * parsed by compose_spec (a spec-compliant Compose parser, PyPI compose-spec)
    after `${VAR:-default}` interpolation: unknown keys, bad durations, wrong
    enum values and malformed ports are rejected as `docker compose` would;
  * Compose specification: no obsolete `version:` key;
  * every image pinned to a version (no `latest`, no missing tag);
  * every published port bound to 127.0.0.1;
  * every bind-mounted file or directory exists in the repository, every named
    volume is declared, `depends_on` names real services and `service_healthy`
    only services that have a healthcheck;
  * the host ports are the chatbot's defaults (OTLP 4317/4318, Jaeger UI
    16686, Ollama 11434), and those defaults still appear in src/.
Prometheus and Grafana wiring
  * prometheus.yml's rule files are mounted where Prometheus looks for them;
  * the datasources point at the compose services, the dashboard uses only
    provisioned datasource uids and defined variables, its panels do not
    overlap the 24-column grid, and it has the panels the issue asks for;
  * every metric name in the dashboard and the alert rules is one the chatbot
    exports (after the collector's OTel-to-Prometheus translation).
"""
from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

# The chatbot's defaults (docs: notes/contract.md, "The binary's command line").
CHATBOT_DEFAULT_PORTS = {
    "OTLP HTTP (OTEL_EXPORTER_OTLP_ENDPOINT default http://localhost:4318)": ("otel-collector", 4318),
    "OTLP gRPC (the standard port for OTEL_EXPORTER_OTLP_PROTOCOL=grpc)": ("otel-collector", 4317),
    "Jaeger UI (JAEGER_UI_URL default http://localhost:16686)": ("jaeger", 16686),
    "Ollama (OLLAMA_ENDPOINT default http://localhost:11434)": ("ollama", 11434),
}
# The chatbot's metrics as Prometheus names (collector translation, see
# shared reference genai-telemetry.md section 6).
CHATBOT_METRICS = {
    "llm_requests_total", "llm_tokens_total", "llm_errors_total", "llm_requests_active",
    *(f"llm_request_duration_seconds_{s}" for s in ("bucket", "sum", "count")),
    *(f"llm_time_to_first_token_seconds_{s}" for s in ("bucket", "sum", "count")),
    *(f"gen_ai_client_operation_duration_seconds_{s}" for s in ("bucket", "sum", "count")),
    *(f"gen_ai_client_token_usage_{s}" for s in ("bucket", "sum", "count")),
    *(f"gen_ai_client_operation_time_to_first_chunk_seconds_{s}" for s in ("bucket", "sum", "count")),
}

COLLECTOR_SECTIONS = ("receivers", "processors", "exporters", "extensions", "connectors")
# Components removed from the collector distributions. The old Jaeger exporters
# went in v0.85 (Jaeger takes OTLP), `logging` in v0.111 (use `debug`).
REMOVED_COMPONENTS = {
    ("exporters", "jaeger"): "removed in v0.85: export OTLP to Jaeger (otlp exporter, jaeger:4317)",
    ("exporters", "jaeger_thrift"): "removed in v0.85: export OTLP to Jaeger",
    ("exporters", "logging"): "removed in v0.111: use the debug exporter",
    ("extensions", "memory_ballast"): "removed in v0.108: use memory_limiter / GOMEMLIMIT",
}
COMPONENT_ID = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}(/[^/\s]+)?$")
GRAFANA_BUILTIN_VARS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                        "__range_ms", "__all", "__value", "__data", "__field", "__series",
                        "__from", "__to", "__dashboard", "__org", "__user", "timeFilter"}


class Checker:
    """Collects failures; each check appends a message instead of raising."""

    def __init__(self, files: dict[str, object], repo: Path):
        self.f = files
        self.repo = repo
        self.errors: list[str] = []
        self.passed: list[str] = []

    def fail(self, area: str, msg: str) -> None:
        self.errors.append(f"{area}: {msg}")

    def ok(self, what: str) -> None:
        self.passed.append(what)

    # ------------------------------------------------------------ collector
    def check_collector(self) -> None:
        area = "otel-collector-config.yaml"
        cfg = self.f["collector"]
        if not isinstance(cfg, dict):
            return self.fail(area, "not a YAML mapping")
        for key in cfg:
            if key not in (*COLLECTOR_SECTIONS, "service"):
                self.fail(area, f"unknown top-level section {key!r}")
        defined: dict[str, set[str]] = {}
        for section in COLLECTOR_SECTIONS:
            comps = cfg.get(section) or {}
            defined[section] = set(comps)
            for cid in comps:
                if not COMPONENT_ID.match(str(cid)):
                    self.fail(area, f"{section}: invalid component id {cid!r} (want type or type/name)")
                ctype = str(cid).split("/")[0]
                if (section, ctype) in REMOVED_COMPONENTS:
                    self.fail(area, f"{section}.{cid}: {REMOVED_COMPONENTS[(section, ctype)]}")
        service = cfg.get("service") or {}
        used: dict[str, set[str]] = {s: set() for s in COLLECTOR_SECTIONS}
        for ext in service.get("extensions") or []:
            used["extensions"].add(ext)
            if ext not in defined["extensions"]:
                self.fail(area, f"service.extensions names undefined extension {ext!r}")
        pipelines = service.get("pipelines") or {}
        signals = set()
        for pid, p in pipelines.items():
            signal = str(pid).split("/")[0]
            signals.add(signal)
            if signal not in ("traces", "metrics", "logs", "profiles"):
                self.fail(area, f"pipeline {pid!r}: unknown signal {signal!r}")
            p = p or {}
            for role, section in (("receivers", "receivers"), ("processors", "processors"), ("exporters", "exporters")):
                for cid in p.get(role) or []:
                    if cid in defined["connectors"] and role != "processors":
                        used["connectors"].add(cid)
                        continue
                    used[section].add(cid)
                    if cid not in defined[section]:
                        self.fail(area, f"pipeline {pid}: {role} names undefined component {cid!r}")
            if not p.get("receivers"):
                self.fail(area, f"pipeline {pid}: no receiver")
            if not p.get("exporters"):
                self.fail(area, f"pipeline {pid}: no exporter")
            procs = [str(x).split("/")[0] for x in p.get("processors") or []]
            if "memory_limiter" not in procs or procs[0] != "memory_limiter":
                self.fail(area, f"pipeline {pid}: memory_limiter must be the first processor")
            if "batch" not in procs:
                self.fail(area, f"pipeline {pid}: no batch processor")
        for signal in ("traces", "metrics", "logs"):
            if signal not in signals:
                self.fail(area, f"no {signal} pipeline")
        for section in COLLECTOR_SECTIONS:
            for cid in sorted(defined[section] - used[section]):
                self.fail(area, f"{section}.{cid} is defined but no pipeline uses it")

        exporters = cfg.get("exporters") or {}
        jaeger = [(k, v or {}) for k, v in exporters.items() if str(k).split("/")[0] in ("otlp", "otlp_grpc")]
        if not any(str(v.get("endpoint", "")).rstrip("/").split("//")[-1] == "jaeger:4317" for _, v in jaeger):
            self.fail(area, "no OTLP exporter sending to jaeger:4317 (the Jaeger service's OTLP gRPC port)")
        for k, v in jaeger:
            if not str(v.get("endpoint", "")).startswith("https") and not (v.get("tls") or {}).get("insecure"):
                self.fail(area, f"exporters.{k}: plain-text endpoint without tls.insecure: true (Jaeger has no TLS here)")
        prom = [(k, v or {}) for k, v in exporters.items() if str(k).split("/")[0] == "prometheus"]
        if not prom:
            self.fail(area, "no prometheus exporter")
        for k, v in prom:
            if not (v.get("resource_to_telemetry_conversion") or {}).get("enabled"):
                self.fail(area, f"exporters.{k}: resource_to_telemetry_conversion must be enabled "
                                "(the dashboard filters on service_name)")
        recv = ((cfg.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}
        for proto, port in (("grpc", 4317), ("http", 4318)):
            ep = str((recv.get(proto) or {}).get("endpoint", ""))
            if not ep.endswith(f":{port}"):
                self.fail(area, f"receivers.otlp.protocols.{proto}.endpoint must listen on :{port}, got {ep!r}")
            elif not ep.startswith("0.0.0.0:"):
                self.fail(area, f"receivers.otlp.protocols.{proto}.endpoint {ep!r} must bind 0.0.0.0 inside the "
                                "container (compose publishes it on 127.0.0.1 only)")
        self.ok("collector: components defined and used, pipelines for traces/metrics/logs, no removed component")

    def prometheus_exporter_port(self) -> int | None:
        for k, v in ((self.f["collector"] or {}).get("exporters") or {}).items():
            if str(k).split("/")[0] == "prometheus":
                m = re.search(r":(\d+)$", str((v or {}).get("endpoint", "")))
                return int(m.group(1)) if m else None
        return None

    # -------------------------------------------------------------- compose
    def check_compose(self) -> None:
        area = "docker-compose.yml"
        c = self.f["compose"]
        from compose_spec import PyCompose  # installed by scripts/stack/install.sh
        try:
            PyCompose.from_json(json.dumps(interpolate(c)))
        except ValueError as e:
            self.fail(area, f"not a valid Compose file: {e}")
        if "version" in c:
            self.fail(area, "obsolete top-level `version:` key (Compose specification has none)")
        services = c.get("services") or {}
        volumes = set((c.get("volumes") or {}).keys())
        for name, s in services.items():
            image = str(s.get("image", ""))
            if not image:
                self.fail(area, f"{name}: no image")
            else:
                ref = image.split("@")[0]
                tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else ""
                if "@sha256:" not in image and (not tag or tag == "latest" or not re.search(r"\d", tag)):
                    self.fail(area, f"{name}: image {image!r} is not pinned to a version")
            for p in s.get("ports") or []:
                host_ip = p.get("host_ip") if isinstance(p, dict) else None
                if isinstance(p, dict):
                    ok = host_ip == "127.0.0.1"
                else:
                    parts = expand(str(p)).split(":")
                    ok = len(parts) == 3 and parts[0] == "127.0.0.1"
                if not ok:
                    self.fail(area, f"{name}: port {p!r} is not published on 127.0.0.1 only")
            for v in s.get("volumes") or []:
                src = v.get("source") if isinstance(v, dict) else str(v).split(":")[0]
                if src.startswith((".", "/")):
                    if src.startswith("/"):
                        self.fail(area, f"{name}: absolute bind mount {src!r} (machine-specific)")
                    elif not (self.repo / src).exists():
                        self.fail(area, f"{name}: mounted {src!r} does not exist in the repository")
                elif src not in volumes:
                    self.fail(area, f"{name}: named volume {src!r} is not declared under volumes:")
            deps = s.get("depends_on") or {}
            if isinstance(deps, list):
                deps = {d: {"condition": "service_started"} for d in deps}
            for dep, spec in deps.items():
                if dep not in services:
                    self.fail(area, f"{name}: depends_on unknown service {dep!r}")
                    continue
                cond = (spec or {}).get("condition", "service_started")
                if cond == "service_healthy" and "healthcheck" not in services[dep]:
                    self.fail(area, f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
        if not any(isinstance(s.get("depends_on"), dict) and any(
                (d or {}).get("condition") == "service_healthy" for d in s["depends_on"].values())
                for s in services.values()):
            self.fail(area, "no depends_on condition service_healthy: services would start in any order")
        # dependency cycles
        graph = {n: set((s.get("depends_on") or {})) for n, s in services.items()}
        seen, stack = set(), set()

        def visit(n: str) -> bool:
            if n in stack:
                return True
            if n in seen:
                return False
            seen.add(n)
            stack.add(n)
            cyc = any(visit(d) for d in graph.get(n, ()) if d in graph)
            stack.discard(n)
            return cyc
        if any(visit(n) for n in graph):
            self.fail(area, "depends_on has a cycle")

        images = {n: str(s.get("image", "")) for n, s in services.items()}
        expect = {
            "otel-collector": "otel/opentelemetry-collector-contrib:",
            "jaeger": "jaegertracing/jaeger:2.",
            "prometheus": "prom/prometheus:",
            "grafana": "grafana/grafana:",
            "ollama": "ollama/ollama:",
        }
        for svc, prefix in expect.items():
            if not images.get(svc, "").startswith(prefix):
                self.fail(area, f"service {svc!r} must run {prefix}<version>, got {images.get(svc)!r}")
        if not any("pull" in " ".join(map(str, s.get("command") or [])) and s.get("restart") == "no"
                   and "ollama" in str(s.get("image")) for s in services.values()):
            self.fail(area, "no one-shot service (restart: \"no\") that pulls the default model")
        env = (services.get("grafana") or {}).get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        if not re.fullmatch(r"\$\{[A-Z_]+:-[^}]+\}", str(env.get("GF_SECURITY_ADMIN_PASSWORD", ""))):
            self.fail(area, "grafana: GF_SECURITY_ADMIN_PASSWORD must come from ${VAR:-default}")

        # Published host ports are the chatbot's defaults.
        published = {}
        for name, s in services.items():
            for p in s.get("ports") or []:
                if isinstance(p, str):
                    parts = expand(p).split(":")
                    if len(parts) == 3:
                        published[(name, int(parts[2].split("/")[0]))] = int(parts[1])
        for what, (svc, port) in CHATBOT_DEFAULT_PORTS.items():
            if published.get((svc, port)) != port:
                self.fail(area, f"{svc}: container port {port} must be published on host port {port} - {what}")
        self.ok("compose: valid for compose_spec, pinned images, loopback-only ports, mounts exist, ordered start-up, chatbot default ports")

        # The collector container reads the config file we check.
        col = services.get("otel-collector") or {}
        cmd = " ".join(map(str, col.get("command") or []))
        m = re.search(r"--config[= ](\S+)", cmd)
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in col.get("volumes") or [] if isinstance(v, str)}
        if not m or mounts.get(m.group(1)) != "./otel-collector-config.yaml":
            self.fail(area, "otel-collector: --config must name the mount of ./otel-collector-config.yaml")

    def check_chatbot_defaults_in_source(self) -> None:
        """The ports above are the chatbot's defaults only if src/ still says so."""
        area = "src/ defaults"
        text = "\n".join(p.read_text(errors="replace") for p in sorted((self.repo / "src").rglob("*.rs")))
        ports = {int(p) for p in re.findall(r"(?:localhost|127\.0\.0\.1):(\d{2,5})", text)}
        if not ports:
            print("  note: no localhost URL in src/*.rs yet; chatbot defaults taken from the contract only")
            return
        for what, (_svc, port) in CHATBOT_DEFAULT_PORTS.items():
            if port not in ports:
                self.fail(area, f"src/ no longer mentions localhost:{port} - {what}; update the stack to match")
        self.ok("the chatbot's default URLs in src/ match the published ports")

    # ------------------------------------------------------------ prometheus
    def check_prometheus(self) -> None:
        area = "prometheus.yml"
        p = self.f["prometheus"]
        compose = self.f["compose"]
        svc = (compose.get("services") or {}).get("prometheus") or {}
        cmd = " ".join(map(str, svc.get("command") or []))
        m = re.search(r"--config\.file=(\S+)", cmd)
        cfg_path = m.group(1) if m else "/etc/prometheus/prometheus.yml"
        mounts = {}
        for v in svc.get("volumes") or []:
            parts = str(v).split(":")
            if parts[0].startswith("."):
                mounts[parts[1]] = parts[0]
        if mounts.get(cfg_path) != "./prometheus.yml":
            self.fail(area, f"compose does not mount ./prometheus.yml at {cfg_path}")
        cfg_dir = cfg_path.rsplit("/", 1)[0]
        for rf in p.get("rule_files") or []:
            if not (self.repo / rf).exists():
                self.fail(area, f"rule file {rf!r} does not exist next to prometheus.yml")
            target = rf if rf.startswith("/") else f"{cfg_dir}/{rf}"
            if mounts.get(target) != f"./{rf}":
                self.fail(area, f"rule file {rf!r} is read from {target} in the container, but compose mounts "
                                f"{mounts.get(target)!r} there")
        port = self.prometheus_exporter_port()
        targets = [t for sc in p.get("scrape_configs") or [] for s in sc.get("static_configs") or []
                   for t in s.get("targets") or []]
        if f"otel-collector:{port}" not in targets:
            self.fail(area, f"no scrape target otel-collector:{port} (the collector's prometheus exporter)")
        if not p.get("rule_files"):
            self.fail(area, "no rule_files: the alert rules are not loaded")
        self.ok("prometheus: scrapes the collector's exporter port, rule files mounted where they are read")

    # --------------------------------------------------------------- grafana
    def check_grafana(self) -> None:
        area = "grafana"
        compose = self.f["compose"]
        services = compose.get("services") or {}
        g = services.get("grafana") or {}
        mounts = {}
        for v in g.get("volumes") or []:
            parts = str(v).split(":")
            if parts[0].startswith("."):
                mounts[parts[0].rstrip("/")] = parts[1]
        ds_uids = {}
        for ds in self.f["datasources"].get("datasources") or []:
            ds_uids[ds.get("uid")] = ds.get("type")
            m = re.match(r"https?://([^:/]+):(\d+)", str(ds.get("url", "")))
            if not m or m.group(1) not in services:
                self.fail(area, f"datasource {ds.get('name')!r}: url {ds.get('url')!r} is not a compose service")
        want_ports = {"prometheus": ("prometheus", "9090"), "jaeger": ("jaeger", "16686")}
        for ds in self.f["datasources"].get("datasources") or []:
            if ds.get("type") in want_ports and want_ports[ds["type"]] != tuple(
                    re.match(r"https?://([^:/]+):(\d+)", ds.get("url", "x://x:0")).groups()):
                self.fail(area, f"datasource {ds.get('name')!r} must point at {':'.join(want_ports[ds['type']])}")
        if set(ds_uids.values()) < {"prometheus", "jaeger"}:
            self.fail(area, "datasources must include prometheus and jaeger")
        provider_paths = [(pr.get("options") or {}).get("path") for pr in self.f["dashboards_provider"].get("providers") or []]
        if mounts.get("./grafana/dashboards") not in provider_paths:
            self.fail(area, f"dashboard provider path {provider_paths} is not where compose mounts ./grafana/dashboards "
                            f"({mounts.get('./grafana/dashboards')})")
        for local in ("./grafana/provisioning/datasources", "./grafana/provisioning/dashboards"):
            if local not in mounts:
                self.fail(area, f"compose does not mount {local}")
        home = str((g.get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", ""))
        if home and not home.startswith(str(mounts.get("./grafana/dashboards")) + "/"):
            self.fail(area, f"home dashboard {home} is outside the mounted dashboards directory")

        d = self.f["dashboard"]
        variables = {v.get("name") for v in (d.get("templating") or {}).get("list") or []}
        panels = [p for top in d.get("panels") or [] for p in (top, *(top.get("panels") or []))]
        ids = [p.get("id") for p in panels]
        if len(ids) != len(set(ids)):
            self.fail(area, "dashboard: duplicate panel ids")
        cells = {}
        for p in panels:
            gp = p.get("gridPos") or {}
            if gp.get("x", 0) + gp.get("w", 0) > 24:
                self.fail(area, f"dashboard: panel {p.get('title')!r} is wider than the 24-column grid")
            for x in range(gp.get("x", 0), gp.get("x", 0) + gp.get("w", 0)):
                for y in range(gp.get("y", 0), gp.get("y", 0) + gp.get("h", 0)):
                    if (x, y) in cells:
                        self.fail(area, f"dashboard: panels {cells[(x, y)]!r} and {p.get('title')!r} overlap")
                        break
                    cells[(x, y)] = p.get("title")
                else:
                    continue
                break
            for t in p.get("targets") or []:
                ds = t.get("datasource") or p.get("datasource") or {}
                if ds.get("uid") not in ds_uids:
                    self.fail(area, f"dashboard: panel {p.get('title')!r} uses datasource uid {ds.get('uid')!r}, "
                                    f"not provisioned ({sorted(ds_uids)})")
        text = json.dumps(d)
        for var in set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text)):
            if var not in variables and var not in GRAFANA_BUILTIN_VARS:
                self.fail(area, f"dashboard: ${var} is not a dashboard variable")
        exprs = [t["expr"] for p in panels for t in p.get("targets") or [] if "expr" in t]
        joined = "\n".join(exprs)
        wanted = {
            "request rate by status": r"by \(status\)[^\n]*llm_requests_total",
            "latency p50": r"histogram_quantile\(0\.50?,[^\n]*llm_request_duration_seconds_bucket",
            "latency p95": r"histogram_quantile\(0\.95,[^\n]*llm_request_duration_seconds_bucket",
            "latency p99": r"histogram_quantile\(0\.99,[^\n]*llm_request_duration_seconds_bucket",
            "time to first token": r"llm_time_to_first_token_seconds_bucket",
            "tokens per minute by type": r"by \(type\)[^\n]*llm_tokens_total",
            "errors by error_type": r"by \(error_type\)[^\n]*llm_errors_total",
            "active requests": r"llm_requests_active",
        }
        for what, rx in wanted.items():
            if not re.search(rx, joined):
                self.fail(area, f"dashboard: no panel for {what}")
        if not any((t.get("datasource") or {}).get("type") == "jaeger" for p in panels for t in p.get("targets") or []):
            self.fail(area, "dashboard: no table of recent traces (Jaeger datasource)")
        alert_exprs = [r["expr"] for grp in self.f["alerts"].get("groups") or [] for r in grp.get("rules") or []]
        for expr in exprs + alert_exprs:
            for name in metric_names(expr):
                if name not in CHATBOT_METRICS:
                    self.fail(area, f"query uses {name!r}, which the chatbot does not export: {expr.strip()[:80]}")
        self.ok("grafana: datasources reach compose services, dashboard wiring, required panels, metric names")

    def run(self) -> bool:
        for check in (self.check_collector, self.check_compose, self.check_chatbot_defaults_in_source,
                      self.check_prometheus, self.check_grafana):
            try:
                check()
            except Exception as e:  # a malformed file must fail the check, not crash it
                self.fail(check.__name__, f"{type(e).__name__}: {e}")
        return not self.errors


def interpolate(x):
    """expand() applied to every string of a parsed YAML document."""
    if isinstance(x, str):
        return expand(x)
    if isinstance(x, list):
        return [interpolate(i) for i in x]
    if isinstance(x, dict):
        return {k: interpolate(v) for k, v in x.items()}
    return x


def expand(s: str) -> str:
    """Compose-style ${VAR:-default} / ${VAR} interpolation with defaults only."""
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", s)


PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "and", "on", "or", "unless", "vector",
                "without", "ignoring", "group_left", "group_right", "avg", "max", "min", "count", "bool",
                "offset", "irate", "delta", "abs", "clamp_min", "clamp_max", "label_values", "topk", "le",
                "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers not inside {...} or [...],
    not a function or keyword, not a label in by/on (...), not a number."""
    e = re.sub(r"\{[^}]*\}", "", expr)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r'"[^"]*"', "", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if word.lower() in PROMQL_WORDS or rest.startswith("(") or word.startswith("$"):
            continue
        if e[max(0, m.start() - 1)] == "$":
            continue
        names.add(word)
    return names


def load(repo: Path) -> dict[str, object]:
    y = lambda p: yaml.safe_load((repo / p).read_text())  # noqa: E731
    return {
        "collector": y("otel-collector-config.yaml"),
        "compose": y("docker-compose.yml"),
        "prometheus": y("prometheus.yml"),
        "alerts": y("prometheus/alerts.yml"),
        "datasources": y("grafana/provisioning/datasources/datasources.yml"),
        "dashboards_provider": y("grafana/provisioning/dashboards/dashboards.yml"),
        "dashboard": json.loads((repo / "grafana/dashboards/chatbot-otel.json").read_text()),
    }


def self_test(repo: Path) -> bool:
    """Break the real files one way at a time; every fault must be reported."""
    base = load(repo)

    def mutate(fn):
        f = copy.deepcopy(base)
        fn(f)
        return f

    def svc(f, name):
        return f["compose"]["services"][name]

    cases = {
        "obsolete version key": lambda f: f["compose"].__setitem__("version", "3.8"),
        "image :latest": lambda f: svc(f, "grafana").__setitem__("image", "grafana/grafana:latest"),
        "image without tag": lambda f: svc(f, "jaeger").__setitem__("image", "jaegertracing/jaeger"),
        "port on all interfaces": lambda f: svc(f, "jaeger")["ports"].append("9411:9411"),
        "port on 0.0.0.0": lambda f: svc(f, "grafana").__setitem__("ports", ["0.0.0.0:3000:3000"]),
        "missing mounted file": lambda f: svc(f, "prometheus")["volumes"].append("./nope.yml:/etc/nope.yml:ro"),
        "undeclared volume": lambda f: svc(f, "grafana")["volumes"].append("nodata:/x"),
        "healthy wait without healthcheck": lambda f: svc(f, "jaeger").pop("healthcheck"),
        "collector OTLP HTTP not on 4318": lambda f: svc(f, "otel-collector").__setitem__(
            "ports", ["127.0.0.1:4317:4317", "127.0.0.1:14318:4318"]),
        "removed logging exporter": lambda f: (f["collector"]["exporters"].__setitem__("logging", {}),
                                               f["collector"]["service"]["pipelines"]["logs"]["exporters"].append("logging")),
        "removed jaeger exporter": lambda f: f["collector"]["exporters"].__setitem__("jaeger", {"endpoint": "jaeger:14250"}),
        "undefined processor": lambda f: f["collector"]["service"]["pipelines"]["traces"]["processors"].append("filter/x"),
        "unused exporter": lambda f: f["collector"]["exporters"].__setitem__("otlphttp/unused", {"endpoint": "http://x"}),
        "no logs pipeline": lambda f: f["collector"]["service"]["pipelines"].pop("logs"),
        "memory_limiter not first": lambda f: f["collector"]["service"]["pipelines"]["metrics"].__setitem__(
            "processors", ["batch", "memory_limiter"]),
        "undefined extension": lambda f: f["collector"]["service"]["extensions"].append("pprof"),
        "bad component id": lambda f: f["collector"]["processors"].__setitem__("batch//x", {}),
        "no resource labels": lambda f: f["collector"]["exporters"]["prometheus"].pop("resource_to_telemetry_conversion"),
        "scrape wrong port": lambda f: f["prometheus"]["scrape_configs"][0]["static_configs"][0].__setitem__(
            "targets", ["otel-collector:9999"]),
        "rule file not mounted": lambda f: f["prometheus"].__setitem__("rule_files", ["alerts.yml"]),
        "unknown datasource uid": lambda f: f["dashboard"]["panels"][1]["targets"][0].__setitem__(
            "datasource", {"type": "prometheus", "uid": "prom"}),
        "undefined variable": lambda f: f["dashboard"]["panels"][1]["targets"][0].__setitem__(
            "expr", "sum(llm_requests_total{model=~\"$modle\"})"),
        "misspelt metric": lambda f: f["dashboard"]["panels"][1]["targets"][0].__setitem__(
            "expr", "sum(llm_request_total)"),
        "alert on unknown metric": lambda f: f["alerts"]["groups"][0]["rules"][0].__setitem__(
            "expr", "llm_latency_seconds > 1"),
        "overlapping panels": lambda f: f["dashboard"]["panels"][2]["gridPos"].__setitem__("x", 2),
        "no jaeger table": lambda f: f["dashboard"].__setitem__(
            "panels", [p for p in f["dashboard"]["panels"] if p.get("datasource", {}).get("type") != "jaeger"]),
        "no one-shot model pull": lambda f: f["compose"]["services"].pop("ollama-pull"),
        "grafana password hard-coded": lambda f: svc(f, "grafana")["environment"].__setitem__(
            "GF_SECURITY_ADMIN_PASSWORD", "secret"),
        "misspelt healthcheck key": lambda f: svc(f, "prometheus")["healthcheck"].__setitem__(
            "intervall", "5s"),
        "bad healthcheck duration": lambda f: svc(f, "grafana")["healthcheck"].__setitem__("interval", "5 seconds"),
        "unknown depends_on condition": lambda f: svc(f, "grafana")["depends_on"]["jaeger"].__setitem__(
            "condition", "service_ready"),
        "unknown restart policy": lambda f: svc(f, "jaeger").__setitem__("restart", "sometimes"),
    }
    good = Checker(base, repo)
    if not good.run():
        print("self-test: the unmodified files already fail:", *good.errors, sep="\n  ")
        return False
    missed = []
    for name, fn in cases.items():
        c = Checker(mutate(fn), repo)
        c.run()
        print(f"  {'caught' if c.errors else 'MISSED'}: {name}" + (f"  ({c.errors[0]})" if c.errors else ""))
        if not c.errors:
            missed.append(name)
    print(f"self-test: {len(cases) - len(missed)}/{len(cases)} injected faults caught")
    return not missed


def main() -> int:
    if "--self-test" in sys.argv[1:]:
        return 0 if self_test(REPO) else 1
    c = Checker(load(REPO), REPO)
    good = c.run()
    for p in c.passed:
        print(f"ok   {p}")
    for e in c.errors:
        print(f"FAIL {e}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
