#!/usr/bin/env bash
# Whole-process benchmark of chatbot-otel: builds the release binaries, then runs
# scripts/bench/bench.py (Python 3.11, standard library only), which starts its own
# fake Ollama, OTLP receiver and black hole on 127.0.0.1 and prints one table.
#
#   scripts/bench/run.sh                 # everything, ~6 minutes on 2 cores
#   scripts/bench/run.sh --quick         # fewer and shorter runs, ~2 minutes
#   scripts/bench/run.sh --only cpu,exit # some scenarios (ready,cpu,exit,soak,ttft,callgrind)
#   scripts/bench/run.sh --help
#
# Needs: cargo, python3 (>= 3.11), curl; valgrind for the opt-in `callgrind` scenario.
# Benchmarks are not tests: nothing here fails on a slow number; the exit status is 0
# whenever the measurements could be taken.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

for tool in cargo python3 curl; do
    command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { echo "error: python3 >= 3.11 is required" >&2; exit 1; }

if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
    cargo build --release --bins --quiet
fi
exec python3 scripts/bench/bench.py "$@"
