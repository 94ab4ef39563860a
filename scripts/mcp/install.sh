#!/usr/bin/env bash
# Installs the real MCP servers that the `mcp_real::` integration tests talk to,
# into .mcp/ (gitignored) or $CHATBOT_MCP_DIR:
#
#   .mcp/venv   a Python venv with
#                 mcp-server-time   (PyPI) the reference "time" server
#                 mcp               (PyPI) the official Python SDK, for tests/mcp_server/
#                 opentelemetry-sdk, opentelemetry-exporter-otlp-proto-http
#                                   (PyPI) so that server exports its own span over OTLP/HTTP
#   .mcp/npm    @modelcontextprotocol/server-everything (npm), the protocol's test server
#
# Idempotent: each part is skipped when its stamp names the pinned versions, so a
# second run takes well under a second. `install.sh --force` reinstalls.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MCP_DIR=${CHATBOT_MCP_DIR:-$ROOT/.mcp}

MCP_SERVER_TIME_VERSION="2026.10.19"
MCP_SDK_VERSION="2.3.0"
OTEL_PY_VERSION="1.45.2"
SERVER_EVERYTHING_VERSION="2026.8.31"

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
STAMPS="$MCP_DIR/stamps"
mkdir -p "$STAMPS"
stamped() { [ "$FORCE" = 0 ] && [ "$(cat "$STAMPS/$1" 2>/dev/null)" = "$2" ]; }
stamp() { printf '%s\n' "$2" >"$STAMPS/$1"; }
log() { printf 'mcp install: %s\n' "$*"; }

install_python() {
    local want="mcp-server-time=$MCP_SERVER_TIME_VERSION mcp=$MCP_SDK_VERSION otel=$OTEL_PY_VERSION"
    local venv="$MCP_DIR/venv"
    if stamped python "$want" && [ -x "$venv/bin/python" ]; then
        log "python: $want (already installed)"
        return
    fi
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        "mcp-server-time==$MCP_SERVER_TIME_VERSION" \
        "mcp==$MCP_SDK_VERSION" \
        "opentelemetry-sdk==$OTEL_PY_VERSION" \
        "opentelemetry-exporter-otlp-proto-http==$OTEL_PY_VERSION"
    stamp python "$want"
    log "python: $want"
}

install_npm() {
    local want="server-everything=$SERVER_EVERYTHING_VERSION"
    local prefix="$MCP_DIR/npm"
    if stamped npm "$want" && [ -f "$prefix/node_modules/@modelcontextprotocol/server-everything/package.json" ]; then
        log "npm: $want (already installed)"
        return
    fi
    rm -rf "$prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/server-everything@$SERVER_EVERYTHING_VERSION" >/dev/null
    stamp npm "$want"
    log "npm: $want"
}

install_python
install_npm
