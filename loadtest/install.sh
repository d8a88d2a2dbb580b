#!/usr/bin/env bash
# Installs the pinned Locust (loadtest/requirements.txt) into a git-ignored virtual environment,
# .venv/locust at the repository root. Idempotent: does nothing when the environment already holds
# exactly that version. Needs Python 3.10+ (python3.11 preferred when present).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${LOCUST_VENV:-$root/.venv/locust}"
requirements="$root/loadtest/requirements.txt"
pinned="$(sed -n 's/^locust==//p' "$requirements")"

if [ -x "$venv/bin/locust" ] && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("locust"))' 2>/dev/null)" = "$pinned" ]; then
  exit 0
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
  done
fi
if [ -z "$python" ]; then echo "install.sh: no python3 found (set PYTHON)" >&2; exit 1; fi

echo "Installing locust $pinned into $venv with $python" >&2
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
"$venv/bin/locust" --version >&2
