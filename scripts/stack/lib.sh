# Shared settings for the scripts in scripts/stack/. Source it; do not run it.
# Used by the scripts that source it, hence SC2034 (unused variables) is off.
# shellcheck shell=bash disable=SC2034
#
# Everything these scripts install or write lives under $STACK_DIR (.stack/ in
# the repository root, gitignored); nothing is cached outside the repo and no
# root rights are needed.

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK_DIR="${STACK_DIR:-$REPO/.stack}"

# Pinned versions of the real backends the checks run against.
PHOENIX_VERSION="20.26.1"        # PyPI arize-phoenix: OTLP trace store
ROTEL_VERSION="0.0.1a15"         # PyPI rotel: ships the rotel-agent collector binary
PYYAML_VERSION="6.0.3"           # PyPI PyYAML, for check_compose.py and e2e_verify.py
COMPOSE_SPEC_VERSION="0.2.1"     # PyPI compose-spec: the Rust compose_spec parser, for check_compose.py
UV_VERSION="0.13.8"              # PyPI uv, installs the above in seconds
PROM_SUITE="bookworm"            # Debian prometheus 2.42: promtool and the server (no OTLP receiver)
PROM_PACKAGE="prometheus"
VM_SUITE="trixie"                # Debian suite whose victoria-metrics package speaks OTLP
VM_PACKAGE="victoria-metrics"
GRAFANA_SCHEMA_VERSION="12.2.1"  # npm @grafana/schema, same release as the compose Grafana image
TS_JSON_SCHEMA_GENERATOR_VERSION="2.9.0"
AJV_VERSION="8.20.0"
AJV_FORMATS_VERSION="3.0.1"

VENV="$STACK_DIR/venv"
VM_BIN="$STACK_DIR/vm/usr/bin/victoria-metrics"
PROMTOOL="$STACK_DIR/prometheus/usr/bin/promtool"
PROMETHEUS="$STACK_DIR/prometheus/usr/bin/prometheus"
NODE_DIR="$STACK_DIR/node"
PHOENIX_DB_TEMPLATE="$STACK_DIR/phoenix.db"   # empty and migrated (install.sh)

# Caches stay inside .stack/ so a run leaves nothing behind in $HOME.
export UV_CACHE_DIR="$STACK_DIR/cache/uv"
export PIP_CACHE_DIR="$STACK_DIR/cache/pip"
export npm_config_cache="$STACK_DIR/cache/npm"
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] FAIL: %s\n' "$*" >&2; exit 1; }

# Seconds since the epoch with millisecond precision, for timings.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# rotel-agent ships inside the rotel wheel; find it in the venv.
rotel_agent_bin() {
    local f
    for f in "$VENV"/lib/python3*/site-packages/rotel/rotel-agent "$VENV"/bin/rotel-agent; do
        [ -x "$f" ] && { printf '%s\n' "$f"; return 0; }
    done
    find "$VENV" -name rotel-agent -type f -perm -u+x 2>/dev/null | head -n 1
}
