#!/usr/bin/env bash
# Installs the pinned checkov into the git-ignored .venv/checkov at the repository root.
# Idempotent: when the pinned version is already there it does nothing. Uses a virtual
# environment; where python3 has no venv module (Debian without python3-venv), it installs
# into .venv/checkov/site with pip --target and writes a small launcher instead.
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

echo "installing checkov ${CHECKOV_VERSION} into ${venv} (once; a few minutes)" >&2
rm -rf "${venv}"
if "${python}" -m venv "${venv}" >/dev/null 2>&1; then
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==${CHECKOV_VERSION}" >&2
else
  rm -rf "${venv}"
  if ! "${python}" -m pip --version >/dev/null 2>&1; then
    echo "check:infra needs python3 with venv or pip (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
  mkdir -p "${venv}/bin"
  "${python}" -m pip install --quiet --disable-pip-version-check --target "${venv}/site" "checkov==${CHECKOV_VERSION}" >&2
  cat >"${venv}/bin/checkov" <<LAUNCHER
#!/usr/bin/env bash
PYTHONPATH="${venv}/site\${PYTHONPATH:+:\${PYTHONPATH}}" exec "${python}" -m checkov.main "\$@"
LAUNCHER
  chmod +x "${venv}/bin/checkov"
fi
"${venv}/bin/checkov" --version >&2
