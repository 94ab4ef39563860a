"""Sums up a `weaver registry live-check --format json` report; exits 1 on any violation.

    python3 scripts/weaver/report.py REPORT.json

Prints the count of findings per level, then every finding grouped by level and message
(most frequent first), then the registry's names the sessions never emitted (coverage: a
name nobody sends may be dead, or a path the script does not take).
"""

import json
import sys
from collections import Counter

LEVELS = ("violation", "improvement", "information")


def findings(node):
    """Every advice object in the report: each sits in a `live_check_result.all_advice`."""
    if isinstance(node, dict):
        result = node.get("live_check_result")
        if isinstance(result, dict):
            yield from result.get("all_advice") or []
        for value in node.values():
            yield from findings(value)
    elif isinstance(node, list):
        for value in node:
            yield from findings(value)


def main(path):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    by_message = {level: Counter() for level in LEVELS}
    for advice in findings(report.get("samples", [])):
        level = advice.get("level", "?")
        by_message.setdefault(level, Counter())[advice.get("message", "?")] += 1

    totals = {level: sum(c.values()) for level, c in by_message.items()}
    print("live-check: " + ", ".join(f"{totals.get(l, 0)} {l}" for l in LEVELS))
    for level, counter in by_message.items():
        if not counter:
            continue
        print(f"\n{level} ({totals[level]}), by message:")
        for message, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {count:4d}  {message}")

    stats = report.get("statistics", {})
    for kind in ("attributes", "metrics", "events"):
        unseen = sorted(k for k, n in stats.get(f"seen_registry_{kind}", {}).items() if n == 0)
        if unseen:
            print(f"\nregistry {kind} never seen ({len(unseen)}): {', '.join(unseen)}")

    if totals.get("violation", 0):
        print(f"\nweaver: FAIL, {totals['violation']} violation(s)")
        return 1
    print("\nweaver: ok, 0 violations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
