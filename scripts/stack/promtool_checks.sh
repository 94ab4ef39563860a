#!/usr/bin/env bash
# promtool checks of the Prometheus side of the stack, no server needed:
#   1. stack/prometheus.yml is a valid config and its rule files load;
#   2. stack/prometheus/alerts.yml is valid;
#   3. stack/prometheus/alerts_test.yml: every alert fires with its labels and
#      annotations when it should, and stays quiet (or pending) when it should not;
#   4. every dashboard query parses with the real PromQL parser.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
cd "$REPO" || exit 1
[ -x "$PROMTOOL" ] || die "promtool missing: run scripts/stack/install.sh"
promtool() { "$PROMTOOL" "$@"; }
promtool --version | head -n 1

step() { printf '[promtool] %s\n' "$*"; }

step "check config stack/prometheus.yml"
promtool check config stack/prometheus.yml

step "check rules stack/prometheus/alerts.yml"
promtool check rules stack/prometheus/alerts.yml

step "test rules stack/prometheus/alerts_test.yml"
promtool test rules stack/prometheus/alerts_test.yml

step "every dashboard query parses as PromQL"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$VENV/bin/python" scripts/stack/e2e_verify.py dashboard-rules --repo "$REPO" >"$tmp/dashboard-rules.yml"
head -n 1 "$tmp/dashboard-rules.yml"
promtool check rules "$tmp/dashboard-rules.yml"
