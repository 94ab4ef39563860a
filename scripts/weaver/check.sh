#!/usr/bin/env bash
# The telemetry schema, checked by OpenTelemetry Weaver (docs/weaver.md):
#
#   bash scripts/weaver/check.sh        (after `cargo build --release --workspace --bins`)
#
#   1. `weaver registry check` on telemetry/registry, whose dependency (the semantic
#      conventions v1.41.0) is the local ../shared/semconv/v1.41.0/model: no network.
#   2. `weaver registry live-check` listening for OTLP/gRPC on loopback while scripted
#      sessions of target/release/chatbot-otel against target/release/fake-ollama take
#      every path: good turns, each error type, a cancelled turn, feedback, thinking (boolean
#      and levels), model options, the GenAI semconv opt-in, /save and --resume, `--demo`,
#      and `doctor`.
#   3. The live-check report (JSON) is summed up by report.py: the count of findings per
#      level and message; the script fails on any `violation`.
#
# Weaver is a development tool: without ../shared/tools/weaver this says so in one line
# and exits 0, so a plain checkout's CI does not depend on it.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
REPO=$(pwd)
WEAVER=../shared/tools/weaver
# Weaver resolves the manifest's `registry_path` relative to the working directory: the
# repository root, where ../shared is the directory beside the checkout.
REGISTRY=telemetry/registry

if [ ! -x "$WEAVER" ]; then
    echo "weaver: ../shared/tools/weaver not found; skipping the telemetry schema check"
    exit 0
fi
CHATBOT=target/release/chatbot-otel
FAKE=target/release/fake-ollama
for bin in "$CHATBOT" "$FAKE"; do
    if [ ! -x "$bin" ]; then
        echo "weaver: $bin is missing; run cargo build --release --workspace --bins first" >&2
        exit 1
    fi
done

T0=$(date +%s)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/weaver-check.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    [ -n "${WEAVER_KEEP:-}" ] && echo "weaver: kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

echo "=== weaver registry check"
if ! "$WEAVER" registry check -r "$REGISTRY" 2>&1; then
    echo "weaver: registry check failed" >&2
    exit 1
fi

# Three free loopback ports: OTLP/gRPC, the live check's admin endpoint, fake-ollama.
read -r OTLP_PORT ADMIN_PORT OLLAMA_PORT DOWN_PORT < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
EOF
)

wait_for_port() {
    local port=$1 tries=0
    until (: > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt 100 ]; then
            echo "weaver: nothing listens on 127.0.0.1:$port" >&2
            return 1
        fi
        sleep 0.1
    done
}

echo "=== weaver registry live-check (OTLP/gRPC on 127.0.0.1:$OTLP_PORT)"
# `--fail-on none`: report.py decides from the report, so a crash of Weaver itself (no
# report) is told apart from findings.
"$WEAVER" registry live-check -r "$REGISTRY" \
    --otlp-grpc-address 127.0.0.1 --otlp-grpc-port "$OTLP_PORT" \
    --admin-port "$ADMIN_PORT" --inactivity-timeout 120 \
    --format json --output "$WORK/report" --fail-on none \
    > "$WORK/live-check.out" 2>&1 &
LIVE_CHECK=$!
PIDS+=("$LIVE_CHECK")
"$FAKE" --addr "127.0.0.1:$OLLAMA_PORT" \
    --models llama3.2:latest,qwen3:0.6b,gpt-oss:20b > "$WORK/fake-ollama.log" 2>&1 &
PIDS+=("$!")
wait_for_port "$OTLP_PORT" || exit 1
wait_for_port "$OLLAMA_PORT" || exit 1

export OTEL_EXPORTER_OTLP_PROTOCOL=grpc
export OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$OTLP_PORT"
export LOG_FILE="$WORK/chatbot-otel.log"
export OTEL_SERVICE_NAME=chatbot-otel-weaver-check
export DEPLOYMENT_ENVIRONMENT=test
export XDG_STATE_HOME="$WORK/state"
unset OTEL_SEMCONV_STABILITY_OPT_IN OTEL_SDK_DISABLED CHATBOT_EXPORT
OLLAMA="http://127.0.0.1:$OLLAMA_PORT"

# One piped session: its stdin is the script. Exit codes are not checked (a session may
# be cut short on purpose); what matters is the telemetry the live check receives.
session() {
    local name=$1 input=$2
    shift 2
    echo "--- session: $name"
    printf '%s' "$input" | "$CHATBOT" --ollama-url "$OLLAMA" "$@" \
        > "$WORK/$name.out" 2>&1
}

session good-and-faults "$(printf '%s\n' \
    'Hello there' \
    'And a second turn' \
    '/feedback good nice' \
    'break [fault:http_500]' \
    'break [fault:mid_stream_error]' \
    'break [fault:truncate]' \
    'break [fault:drop]' \
    'break [fault:invalid_json]' \
    'break [fault:legacy_error]' \
    '/feedback bad')" \
    --model llama3.2:latest --timeout 5 \
    --option num_ctx=4096 --option min_p=0.05 --option repeat_penalty=1.1 \
    --option repeat_last_n=64 --option top_k=40 --option top_p=0.9 --option seed=7 \
    --option num_predict=64 --option stop=END
session model-not-found $'Hello\n' --model no-such-model:1b
session think-not-supported $'Hello\n' --model llama3.2:latest --think
session thinking $'Think about it\n/feedback good\n' --model qwen3:0.6b
session reasoning-level $'Think hard\n' --model gpt-oss:20b --think high
# The GenAI opt-in only: `http/dup` emits the deprecated `http.method`, `http.url` and
# `http.status_code` on purpose, and a deprecated attribute is a violation to Weaver.
(
    export OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental
    session opt-in $'Hello\n' --model qwen3:0.6b --think
)
# A saved conversation, resumed: the loaded one keeps its conversation id.
session save $'Hello\n/save weaver-check\n' --model llama3.2:latest
session resume $'Once more\n' --model llama3.2:latest --resume weaver-check
# The built-in demo model: the Resource says `chatbot.demo=true`.
session demo $'Hello\n' --demo
# Tools: a real MCP server (installed by scripts/mcp/install.sh), one call allowed, one not.
if [ -x "$REPO/.mcp/venv/bin/mcp-server-time" ]; then
    printf '{"mcpServers":{"time":{"command":"%s","args":[]}}}' \
        "$REPO/.mcp/venv/bin/mcp-server-time" > "$WORK/mcp.json"
    session tools $'use get_current_time timezone=UTC\n' \
        --model llama3.2:latest --mcp-config "$WORK/mcp.json" --allow-tools
    session tools-denied $'use get_current_time timezone=UTC\n' \
        --model llama3.2:latest --mcp-config "$WORK/mcp.json"
else
    echo "--- session: tools skipped (run scripts/mcp/install.sh for the MCP servers)"
fi
echo "--- session: ollama-down"
printf 'Hello\n' | "$CHATBOT" --ollama-url "http://127.0.0.1:$DOWN_PORT" \
    --model llama3.2:latest > "$WORK/ollama-down.out" 2>&1

# A cancelled turn: SIGINT while a reply hangs. In piped mode SIGINT cancels the turn in
# flight, then the program flushes and exits. `hang_thinking` streams two chunks and then
# goes silent: once they are on stdout the turn is surely in flight. The input is a FIFO
# held open, so the program is not at end of input when the signal comes.
echo "--- session: cancelled"
mkfifo "$WORK/cancel.in"
"$CHATBOT" --ollama-url "$OLLAMA" --model llama3.2:latest \
    < "$WORK/cancel.in" > "$WORK/cancelled.out" 2>&1 &
CANCELLED=$!
PIDS+=("$CANCELLED")
exec 3> "$WORK/cancel.in"
printf 'wait for it [fault:hang_thinking]\n' >&3
tries=0
until [ -s "$WORK/cancelled.out" ] || [ "$tries" -gt 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
kill -INT "$CANCELLED" 2>/dev/null
wait "$CANCELLED" 2>/dev/null
exec 3>&-

echo "--- doctor"
"$CHATBOT" --ollama-url "$OLLAMA" --model llama3.2:latest doctor > "$WORK/doctor.out" 2>&1

# Stop the listener: it writes the report and exits.
python3 - "$ADMIN_PORT" <<'EOF'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/stop", method="POST"), timeout=30).read()
EOF
wait "$LIVE_CHECK"
STATUS=$?
if [ "$STATUS" != 0 ] || [ ! -f "$WORK/report/live_check.json" ]; then
    echo "weaver: live-check failed (exit $STATUS):" >&2
    tail -20 "$WORK/live-check.out" >&2
    exit 1
fi

python3 scripts/weaver/report.py "$WORK/report/live_check.json"
RESULT=$?
echo "weaver: done in $(( $(date +%s) - T0 )) s (repo $REPO)"
exit "$RESULT"
