#!/usr/bin/env bash
# End-to-end proof of the stack's telemetry path with real servers, no Docker:
#
#   chatbot-otel ──OTLP/HTTP──▶ rotel (collector) ──▶ Arize Phoenix     (traces)
#        │                                       ──▶ VictoriaMetrics   (metrics, OTLP → Prometheus names)
#        │                                       ──▶ rotel debug log   (logs)
#        └──▶ fake-ollama (scripted replies and faults)
#   VictoriaMetrics ──samples──▶ Prometheus 2.x (promtool backfill), evaluating stack/prometheus/alerts.yml
#
# The chatbot runs in piped mode for a few turns, two of them failing, then
# e2e_verify.py checks that each turn's spans reached Phoenix, its log record
# (with trace and span id) reached rotel, and its counts reached
# VictoriaMetrics, and runs every PromQL expression of the dashboard and the
# alert rules against VictoriaMetrics and Prometheus. What each span and
# metric point holds is checked by the Rust tests (tests/piped_*.rs).
#
# Phoenix takes seconds to start, so the chatbot runs meanwhile: rotel retries
# the traces (every second at most) until Phoenix answers, as a collector in
# front of a restarting backend would.
#
# Every server listens on 127.0.0.1 on ports picked free at run time, and is
# stopped by its PID when the script exits, whether it passed or not.
#   E2E_KEEP_RUN_DIR=1   keep .stack/run/e2e-* (logs, data) after a passing run too
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

T_START=$(now)
CHATBOT="${CHATBOT_BIN:-$REPO/target/release/chatbot-otel}"
FAKE="${FAKE_OLLAMA_BIN:-$REPO/target/release/fake-ollama}"

bash "$REPO/scripts/stack/install.sh"
if [ ! -x "$CHATBOT" ] || [ ! -x "$FAKE" ]; then
    log "building the release binaries (cargo build --release --locked --workspace --bins)"
    (cd "$REPO" && cargo build --release --locked --workspace --bins)
fi

RUN="$STACK_DIR/run/e2e-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$RUN"
PIDS=()        # every process this script started, stopped in reverse order
NAMES=()

stop_all() {
    local rc=$?
    trap - EXIT INT TERM
    local i pid
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
    done
    # Give each up to 10 s to exit, then kill it.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        pid=${PIDS[$i]}
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            log "${NAMES[$i]} (pid $pid) ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    if [ "$rc" != 0 ]; then
        log "e2e FAILED (exit $rc); server logs kept in ${RUN#"$REPO"/}:"
        for f in "$RUN"/*.log; do
            [ -f "$f" ] || continue
            printf '\n--- last lines of %s ---\n' "$(basename "$f")" >&2
            tail -n 15 "$f" | sed 's/\x1b\[[0-9;]*m//g' >&2
        done
    elif [ -z "${E2E_KEEP_RUN_DIR:-}" ]; then
        rm -rf "$RUN"
    fi
    exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LOGFILE CMD...: run CMD in the background, remember its PID.
start() {
    local name=$1 logfile=$2
    shift 2
    "$@" >"$logfile" 2>&1 &
    PIDS+=($!)
    NAMES+=("$name")
    log "started $name (pid $!)"
}

# wait_for NAME SECONDS CMD...: poll CMD every 0.25 s until it succeeds.
wait_for() {
    local name=$1 secs=$2 t; t=$(now)
    shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        local i
        for i in "${!PIDS[@]}"; do
            kill -0 "${PIDS[$i]}" 2>/dev/null || die "${NAMES[$i]} exited early (see ${RUN#"$REPO"/}/${NAMES[$i]}.log)"
        done
        [ "$(date +%s)" -lt "$deadline" ] || die "$name not ready after ${secs} s"
        sleep 0.25
    done
    log "$name ready in $(elapsed "$t") s"
}

http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# Free loopback ports, chosen by the kernel.
read -r VM_PORT PHX_PORT PHX_GRPC_PORT ROTEL_GRPC_PORT ROTEL_HTTP_PORT PROM_PORT FAKE_PORT < <(
    python3 -c '
import socket
socks = [socket.socket() for _ in range(7)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

T_SERVERS=$(now)
start victoria-metrics "$RUN/victoria-metrics.log" "$VM_BIN" \
    -httpListenAddr="127.0.0.1:$VM_PORT" \
    -storageDataPath="$RUN/vm-data" \
    -retentionPeriod=1d \
    -opentelemetry.usePrometheusNaming=true \
    -search.latencyOffset=1s \
    -search.disableCache \
    -inmemoryDataFlushInterval=1s \
    -loggerLevel=WARN

# A copy of the migrated empty database (install.sh) spares Phoenix its migrations.
mkdir -p "$RUN/phoenix"
cp "$PHOENIX_DB_TEMPLATE" "$RUN/phoenix/phoenix.db"
start phoenix "$RUN/phoenix.log" env \
    PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$PHX_PORT" PHOENIX_GRPC_PORT="$PHX_GRPC_PORT" \
    PHOENIX_WORKING_DIR="$RUN/phoenix" PHOENIX_TELEMETRY_ENABLED=false \
    "$VENV/bin/python" "$REPO/scripts/stack/phoenix_loopback.py" serve

# rotel plays the collector: one OTLP endpoint in, each signal forwarded to
# its store, and every received log record printed to its debug log.
start rotel "$RUN/rotel.log" env NO_COLOR=1 \
    ROTEL_EXPORTERS=traces_out:otlp,metrics_out:otlp,logs_out:blackhole \
    ROTEL_EXPORTERS_TRACES=traces_out ROTEL_EXPORTERS_METRICS=metrics_out ROTEL_EXPORTERS_LOGS=logs_out \
    ROTEL_EXPORTER_TRACES_OUT_ENDPOINT="http://127.0.0.1:$PHX_PORT" ROTEL_EXPORTER_TRACES_OUT_PROTOCOL=http \
    ROTEL_EXPORTER_TRACES_OUT_RETRY_INITIAL_BACKOFF="{secs=0,nanos=250000000}" \
    ROTEL_EXPORTER_TRACES_OUT_RETRY_MAX_BACKOFF="{secs=1,nanos=0}" \
    ROTEL_EXPORTER_METRICS_OUT_ENDPOINT="http://127.0.0.1:$VM_PORT/opentelemetry" ROTEL_EXPORTER_METRICS_OUT_PROTOCOL=http \
    "$(rotel_agent_bin)" start \
    --otlp-grpc-endpoint "127.0.0.1:$ROTEL_GRPC_PORT" \
    --otlp-http-endpoint "127.0.0.1:$ROTEL_HTTP_PORT" \
    --batch-timeout 200ms \
    --pid-file "$RUN/rotel-agent.pid" --log-file "$RUN/rotel-agent.log" \
    --debug-log logs --debug-log-verbosity detailed

start fake-ollama "$RUN/fake-ollama.log" "$FAKE" --addr "127.0.0.1:$FAKE_PORT"

wait_for victoria-metrics 30 http_ok "http://127.0.0.1:$VM_PORT/health"
wait_for fake-ollama 15 grep -q "listening on" "$RUN/fake-ollama.log"
wait_for rotel 15 bash -c "exec 3<>/dev/tcp/127.0.0.1/$ROTEL_HTTP_PORT"
SERVERS_S=$(elapsed "$T_SERVERS")

VERIFY=("$VENV/bin/python" "$REPO/scripts/stack/e2e_verify.py" --repo "$REPO" --run-dir "$RUN")
"${VERIFY[@]}" stores \
    --chatbot "$CHATBOT" \
    --ollama "http://127.0.0.1:$FAKE_PORT" \
    --otlp "http://127.0.0.1:$ROTEL_HTTP_PORT" \
    --otlp-grpc "http://127.0.0.1:$ROTEL_GRPC_PORT" \
    --phoenix "http://127.0.0.1:$PHX_PORT" \
    --victoriametrics "http://127.0.0.1:$VM_PORT" \
    --rotel-log "$RUN/rotel.log"

# Prometheus (the Debian build has no OTLP receiver) gets the very samples
# VictoriaMetrics stored, backfilled with promtool, and evaluates the real
# rules file on them; e2e_verify.py then runs every query there too.
"$PROMTOOL" tsdb create-blocks-from openmetrics "$RUN/chatbot-samples.om" "$RUN/prometheus-data" \
    >"$RUN/promtool-backfill.log" 2>&1 || { cat "$RUN/promtool-backfill.log" >&2; die "promtool backfill failed"; }
cat >"$RUN/prometheus-e2e.yml" <<EOF
global:
  evaluation_interval: 1s
rule_files:
  - $REPO/stack/prometheus/alerts.yml
EOF
start prometheus "$RUN/prometheus.log" "$PROMETHEUS" \
    --config.file="$RUN/prometheus-e2e.yml" \
    --storage.tsdb.path="$RUN/prometheus-data" \
    --web.listen-address="127.0.0.1:$PROM_PORT"
wait_for prometheus 30 http_ok "http://127.0.0.1:$PROM_PORT/-/ready"
"${VERIFY[@]}" prometheus --prometheus "http://127.0.0.1:$PROM_PORT"

log "e2e passed in $(elapsed "$T_START") s (servers other than Phoenix ready in $SERVERS_S s)"
