#!/usr/bin/env bash
# Soak: ~3,000 turns through the release binary against fake-ollama, with the OTLP
# collector stopped twice for 10 s in the middle; prints spans sent vs received (per
# phase) and RSS at start and end. Not a test: figures go to BENCHMARKS.md by hand.
#   scripts/soak/run.sh [--turns N] [--outage-at 1000,2000] [--outage-seconds 10] ...
# (see `python3 scripts/soak/soak.py --help`)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p chatbot-otel -p fake-ollama
exec python3 scripts/soak/soak.py "$@"
