#!/usr/bin/env bash
# Installs the real servers and tools that scripts/stack/ checks the stack with.
#
#   promtool + prometheus  Debian bookworm `prometheus` package, extracted into .stack/prometheus
#   VictoriaMetrics        Debian trixie `victoria-metrics` package, extracted into .stack/vm
#                          (bookworm's build predates OTLP ingestion)
#   rotel, Arize Phoenix   PyPI, installed with uv into the venv .stack/venv
#   PyYAML, compose-spec   PyPI, same venv (check_compose.py, e2e_verify.py)
#   @grafana/schema, ts-json-schema-generator, ajv   npm, into .stack/node
#   an empty, migrated Phoenix database   .stack/phoenix.db, copied by e2e.sh into each run
#
# Idempotent: a part whose stamp file names the pinned version is skipped, so a
# second run takes a second. `install.sh --force` reinstalls everything.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
mkdir -p "$STACK_DIR"
STAMPS="$STACK_DIR/stamps"
mkdir -p "$STAMPS"

# stamped NAME VALUE: true when part NAME was installed at VALUE before.
stamped() { [ "$FORCE" = 0 ] && [ "$(cat "$STAMPS/$1" 2>/dev/null)" = "$2" ]; }
stamp() { printf '%s\n' "$2" >"$STAMPS/$1"; }

# --- Debian packages, extracted into .stack/ ----------------------------------
# promtool and prometheus come from bookworm's `prometheus` package, VictoriaMetrics
# from trixie's `victoria-metrics` (bookworm's 1.79 predates OTLP ingestion).
# Both are downloaded with a private apt state (own source list, package lists
# and cache) and unpacked with dpkg-deb -x instead of being installed: no root,
# nothing outside the repository, and no service started (`apt-get install
# prometheus` would start a Prometheus daemon on :9090 on a host with systemd).
# The binaries need only libc (and libzstd, which bookworm has).
debian_mirror() {
    # Same mirror as the machine's own Debian sources (deb822 or one-line form).
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $0 ~ /debian/ && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)
    fi
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

install_debian() {
    local want="$PROM_PACKAGE/$PROM_SUITE $VM_PACKAGE/$VM_SUITE"
    if stamped debian "$want" && [ -x "$VM_BIN" ] && [ -x "$PROMTOOL" ] && [ -x "$PROMETHEUS" ]; then
        log "debian packages: $(cat "$STACK_DIR/prometheus/VERSION") $(cat "$STACK_DIR/vm/VERSION")"
        return
    fi
    local t; t=$(now)
    local apt="$STACK_DIR/apt"
    rm -rf "$apt" "$STACK_DIR/vm" "$STACK_DIR/prometheus"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg mirror
    mirror=$(debian_mirror)
    printf 'deb [signed-by=%s] %s %s main\n' \
        "$keyring" "$mirror" "$PROM_SUITE" "$keyring" "$mirror" "$VM_SUITE" >"$apt/sources.list"
    local opts=(
        -o "Dir::Etc::SourceList=$apt/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::Etc::Preferences=/dev/null"
        -o "Dir::Etc::PreferencesParts=/dev/null"
        -o "Dir::State::Lists=$apt/lists"
        -o "Dir::Cache=$apt/cache"
        -o "Dir::State::status=/var/lib/dpkg/status"
        -o "APT::Sandbox::User=$(id -un)"
        -o "Debug::NoLocking=1"
    )
    apt-get "${opts[@]}" -qq update
    (cd "$apt/debs" && apt-get "${opts[@]}" -qq download "$PROM_PACKAGE/$PROM_SUITE" "$VM_PACKAGE/$VM_SUITE")
    local pair pkg dir deb
    for pair in "$PROM_PACKAGE:prometheus" "$VM_PACKAGE:vm"; do
        pkg=${pair%%:*} dir="$STACK_DIR/${pair#*:}"
        deb=$(ls "$apt"/debs/"$pkg"_*.deb)
        dpkg-deb -x "$deb" "$dir"
        dpkg-deb -f "$deb" Version >"$dir/VERSION"   # VictoriaMetrics' -version prints nothing
    done
    rm -rf "$apt/lists" "$apt/cache"   # 100 MB of package indexes we no longer need
    "$PROMTOOL" --version >/dev/null 2>&1 || die "$PROMTOOL does not run"
    "$PROMETHEUS" --version >/dev/null 2>&1 || die "$PROMETHEUS does not run"
    "$VM_BIN" -version >/dev/null 2>&1 || die "$VM_BIN does not run (missing libzstd?)"
    local vmv; vmv=$(cat "$STACK_DIR/vm/VERSION")
    case "$vmv" in 1.9[0-9].*|1.1[0-9][0-9].*|[2-9].*) ;;  # OTLP ingestion: 1.92+
        *) die "victoria-metrics $vmv from $VM_SUITE is too old to ingest OTLP" ;; esac
    stamp debian "$want"
    log "prometheus $(cat "$STACK_DIR/prometheus/VERSION") ($PROM_SUITE) and victoria-metrics $vmv ($VM_SUITE)" \
        "installed in $(elapsed "$t") s"
}

# --- Python venv: uv, then rotel, Phoenix and PyYAML through uv ---------------
install_python() {
    local want="uv=$UV_VERSION phoenix=$PHOENIX_VERSION rotel=$ROTEL_VERSION pyyaml=$PYYAML_VERSION compose-spec=$COMPOSE_SPEC_VERSION"
    if stamped python "$want" && [ -x "$VENV/bin/phoenix" ] && [ -n "$(rotel_agent_bin)" ]; then
        log "python venv: $want"
        return
    fi
    local t; t=$(now)
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "uv==$UV_VERSION"
    # --compile-bytecode: Phoenix starts about twice as fast with .pyc files
    # (this machine sets PYTHONDONTWRITEBYTECODE, so they are never written later).
    "$VENV/bin/uv" pip install -q --python "$VENV/bin/python" --compile-bytecode \
        "arize-phoenix==$PHOENIX_VERSION" "rotel==$ROTEL_VERSION" "pyyaml==$PYYAML_VERSION" \
        "compose-spec==$COMPOSE_SPEC_VERSION"
    [ -n "$(rotel_agent_bin)" ] || die "rotel-agent binary not found in the rotel wheel"
    [ -x "$VENV/bin/phoenix" ] || die "phoenix entry point missing"
    stamp python "$want"
    log "python venv installed in $(elapsed "$t") s ($want)"
}

# --- an empty Phoenix database, migrated once ---------------------------------
# Phoenix creates and migrates its SQLite database at every start, which is a third
# of its start-up time. e2e.sh starts each run from a copy of this one instead: made
# by starting the pinned Phoenix once on an empty working directory and stopping it.
install_phoenix_db() {
    local want="phoenix=$PHOENIX_VERSION"
    if stamped phoenix-db "$want" && [ -f "$PHOENIX_DB_TEMPLATE" ]; then
        log "phoenix database template: $want"
        return
    fi
    local t; t=$(now)
    local dir="$STACK_DIR/phoenix-db.tmp" port grpc_port pid ok=0
    rm -rf "$dir" && mkdir -p "$dir"
    read -r port grpc_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
    env PHOENIX_HOST=127.0.0.1 PHOENIX_PORT="$port" PHOENIX_GRPC_PORT="$grpc_port" \
        PHOENIX_WORKING_DIR="$dir" PHOENIX_TELEMETRY_ENABLED=false \
        "$VENV/bin/python" "$REPO/scripts/stack/phoenix_loopback.py" serve >"$dir/phoenix.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
        if curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz"; then ok=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.25
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$ok" = 1 ] && [ -f "$dir/phoenix.db" ] || { tail -n 20 "$dir/phoenix.log" >&2; die "Phoenix did not start to create its database"; }
    mv "$dir/phoenix.db" "$PHOENIX_DB_TEMPLATE"
    rm -rf "$dir"
    stamp phoenix-db "$want"
    log "phoenix database template made in $(elapsed "$t") s"
}

# --- npm tools for the Grafana dashboard schema check -------------------------
install_node() {
    local want="schema=$GRAFANA_SCHEMA_VERSION tsjsg=$TS_JSON_SCHEMA_GENERATOR_VERSION ajv=$AJV_VERSION ajv-formats=$AJV_FORMATS_VERSION"
    if stamped node "$want" && [ -d "$NODE_DIR/node_modules/@grafana/schema" ]; then
        log "node tools: $want"
        return
    fi
    command -v npm >/dev/null || die "npm not found (Node.js 18+ is needed for the dashboard schema check)"
    local t; t=$(now)
    rm -rf "$NODE_DIR"
    mkdir -p "$NODE_DIR"
    printf '{ "name": "chatbot-otel-stack-tools", "private": true }\n' >"$NODE_DIR/package.json"
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error --ignore-scripts \
        "@grafana/schema@$GRAFANA_SCHEMA_VERSION" \
        "ts-json-schema-generator@$TS_JSON_SCHEMA_GENERATOR_VERSION" \
        "ajv@$AJV_VERSION" "ajv-formats@$AJV_FORMATS_VERSION" >/dev/null
    stamp node "$want"
    log "node tools installed in $(elapsed "$t") s ($want)"
}

T0=$(now)
# The four parts are independent; run the network-bound ones side by side.
pids=()
install_debian & pids+=($!)
{ install_python && install_phoenix_db; } & pids+=($!)
install_node & pids+=($!)
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
[ "$rc" = 0 ] || die "install failed (see above)"
log "install done in $(elapsed "$T0") s"
