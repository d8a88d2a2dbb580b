#!/usr/bin/env bash
# Installs the pinned checkov into the git-ignored virtual environment .venv/checkov at the
# repository root. Idempotent: when the pinned version is already there it does nothing.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${root}/.venv/checkov"

if [ -x "${venv}/bin/checkov" ] && [ "$("${venv}/bin/checkov" --version 2>/dev/null)" = "${CHECKOV_VERSION}" ]; then
  exit 0
fi

python="$(command -v python3 || true)"
if [ -z "${python}" ]; then
  echo "check:infra needs python3 (3.9 or newer) to install checkov ${CHECKOV_VERSION}" >&2
  exit 1
fi

echo "installing checkov ${CHECKOV_VERSION} into ${venv} (once; about a minute)" >&2
rm -rf "${venv}"
"${python}" -m venv "${venv}"
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==${CHECKOV_VERSION}" >&2
"${venv}/bin/checkov" --version >&2
