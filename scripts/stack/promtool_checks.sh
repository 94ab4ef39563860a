#!/usr/bin/env bash
# promtool checks of the Prometheus side of the stack, no server needed:
#   1. prometheus.yml is a valid config and its rule files load;
#   2. prometheus/alerts.yml is valid;
#   3. prometheus/alerts_test.yml: every alert fires with its labels and
#      annotations when it should, and stays quiet (or pending) when it should not;
#   4. the tests are not vacuous: each alert's threshold or `for:` changed on a
#      copy of alerts.yml must make the unit tests fail;
#   5. every dashboard query parses with the real PromQL parser.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
cd "$REPO" || exit 1
[ -x "$PROMTOOL" ] || die "promtool missing: run scripts/stack/install.sh"
promtool() { "$PROMTOOL" "$@"; }
promtool --version | head -n 1

step() { printf '[promtool] %s\n' "$*"; }

step "check config prometheus.yml"
promtool check config prometheus.yml

step "check rules prometheus/alerts.yml"
promtool check rules prometheus/alerts.yml

step "test rules prometheus/alerts_test.yml"
promtool test rules prometheus/alerts_test.yml

step "the unit tests catch a changed threshold or for: in every alert"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp prometheus/alerts_test.yml "$tmp/"
mutations=(
    "LLMHighLatencyP95|s/^          ) > 30\$/          ) > 60/"
    "LLMHighErrorRatio|s/^          > 0.05\$/          > 0.2/"
    "LLMSlowTimeToFirstToken|s/^          ) > 10\$/          ) > 30/"
    "LLMChatbotIdle|s/^          ) == 0\$/          ) == 1/"
    "for: 5m|s/for: 5m/for: 1m/"
)
for m in "${mutations[@]}"; do
    what=${m%%|*} expr=${m#*|}
    sed "$expr" prometheus/alerts.yml >"$tmp/alerts.yml"
    if cmp -s prometheus/alerts.yml "$tmp/alerts.yml"; then
        die "mutation for $what changed nothing: update promtool_checks.sh to match alerts.yml"
    fi
    if promtool test rules "$tmp/alerts_test.yml" >/dev/null 2>&1; then
        die "alerts_test.yml still passes with $what changed ($expr): the tests do not pin it"
    fi
    echo "  caught: $what ($expr)"
done

step "every dashboard query parses as PromQL"
"$VENV/bin/python" scripts/stack/e2e_verify.py dashboard-rules --repo "$REPO" >"$tmp/dashboard-rules.yml"
head -n 1 "$tmp/dashboard-rules.yml"
promtool check rules "$tmp/dashboard-rules.yml"
