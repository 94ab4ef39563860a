#!/usr/bin/env bash
# Every check of the observability stack, in order; exits non-zero if any fails.
#
#   bash scripts/stack/ci.sh
#
#   1. install     real servers and tools into .stack/ (install.sh)
#   2. compose     docker-compose.yml parsed by compose_spec; its mounts exist
#   3. promtool    check config, check rules, test rules, dashboard queries
#                  parsed as PromQL
#   4. dashboard   Grafana dashboard JSON against @grafana/schema's Dashboard type
#   5. e2e         chatbot-otel -> rotel -> Phoenix / VictoriaMetrics / Prometheus
#
# The compose stack itself needs Docker and images, which CI does not have;
# stack/README.md says what each step proves instead, and what it does not.
set -uo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
cd "$REPO" || exit 1

T0=$(now)
RESULTS=()
FAILED=0

run_step() {
    local name=$1
    shift
    local t; t=$(now)
    printf '\n===== stack: %s =====\n' "$name"
    if "$@"; then
        RESULTS+=("ok    $name ($(elapsed "$t") s)")
    else
        RESULTS+=("FAIL  $name ($(elapsed "$t") s)")
        FAILED=$((FAILED + 1))
    fi
}

run_step install bash scripts/stack/install.sh
if [ "$FAILED" != 0 ]; then
    echo "stack: install failed; nothing else can run"
    echo "stack: 0 passed, 1 failed"
    exit 1
fi
run_step "compose" "$VENV/bin/python" scripts/stack/check_compose.py
run_step "promtool" bash scripts/stack/promtool_checks.sh
run_step "dashboard schema" node scripts/stack/check_dashboard_schema.mjs "$NODE_DIR" stack/grafana/dashboards/*.json
run_step "e2e" bash scripts/stack/e2e.sh

printf '\n===== stack: summary (%s s) =====\n' "$(elapsed "$T0")"
printf '  %s\n' "${RESULTS[@]}"
echo "stack: $(( ${#RESULTS[@]} - FAILED )) passed, $FAILED failed"
[ "$FAILED" = 0 ]
