#!/usr/bin/env python3
"""docker-compose.yml is a valid Compose file, and every file it mounts exists.

    python3 scripts/stack/check_compose.py

No Docker runs here, so the file is parsed by compose_spec (PyPI compose-spec,
a spec-compliant Compose parser) after `${VAR:-default}` interpolation: unknown
keys, bad durations, wrong enum values and malformed ports fail as they would
for `docker compose`. The bind mounts are checked because the stack's files
live in stack/ and a moved file would otherwise only show up at `up` time.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml
from compose_spec import PyCompose  # installed by scripts/stack/install.sh

REPO = Path(__file__).resolve().parents[2]


def interpolate(x):
    """Compose's ${VAR:-default} / ${VAR} interpolation, with the defaults."""
    if isinstance(x, str):
        return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", x)
    if isinstance(x, list):
        return [interpolate(i) for i in x]
    if isinstance(x, dict):
        return {k: interpolate(v) for k, v in x.items()}
    return x


def main() -> int:
    compose = interpolate(yaml.safe_load((REPO / "docker-compose.yml").read_text()))
    failures = []
    try:
        PyCompose.from_json(json.dumps(compose))
    except ValueError as e:
        failures.append(f"not a valid Compose file: {e}")
    mounts = 0
    for name, service in (compose.get("services") or {}).items():
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                mounts += 1
                if not (REPO / source).exists():
                    failures.append(f"{name}: mounts {source}, which does not exist")
    for f in failures:
        print(f"FAIL docker-compose.yml: {f}")
    if not failures:
        print(f"ok   docker-compose.yml: valid Compose, {mounts} bind mounts all present")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
