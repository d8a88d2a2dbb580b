#!/usr/bin/env bash
# npm run check:infra — static checks of env/: terraform fmt (when terraform is installed),
# checkov (always; the pinned version is installed into .venv/checkov on first use) and
# and, when installed, a shell script lint over env/scripts. Any finding fails the run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"

if command -v terraform >/dev/null 2>&1; then
  # The image points TF_CLI_CONFIG_FILE at a missing file; fmt needs no CLI configuration.
  TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff env
  echo "terraform fmt: ok"
else
  echo "terraform fmt: skipped (no terraform binary on PATH)"
fi

"${root}/env/scripts/install-checkov.sh"
# --skip-download: no calls to Prisma Cloud for guideline links (not reachable, and not needed).
"${root}/.venv/checkov/bin/checkov" --directory env --framework terraform --quiet --compact \
  --skip-download --output cli
echo "checkov: ok"

if command -v shellcheck >/dev/null 2>&1; then
  shellcheck env/scripts/*.sh
  echo "shellcheck: ok"
else
  echo "shellcheck: skipped (not installed; apt-get install shellcheck)"
fi
