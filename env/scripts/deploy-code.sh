#!/usr/bin/env bash
# Deploys both apps' code after terraform apply: builds the zips (npm run package), uploads each
# to the blob its app runs from (WEBSITE_RUN_FROM_PACKAGE), restarts the apps, and makes the
# function keys Key Vault holds exist on the hosts (rotate-function-key.sh --sync).
#
#   env/scripts/deploy-code.sh
#
# Needs: az (logged in as the principal that ran terraform apply: it holds Storage Blob Data
# Contributor on the deployments containers), and network reach to the storage accounts and the
# patient vault (inside the VNet, or this machine's address in operator_ip_ranges).
set -euo pipefail

env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "${env_dir}/.." && pwd)"
output() { TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="${env_dir}" output -raw "$1"; }

(cd "${repo}" && npm run package)

resource_group="$(output resource_group_name)"
for app in patient-app audit-app; do
  key="${app%-app}_app"
  url="$(output "${key}_package_url")"
  name="$(output "${key}_name")"
  account="$(printf '%s' "${url}" | cut -d/ -f3 | cut -d. -f1)"
  blob="$(basename "${url}")"
  echo "${name}: uploading ${app}.zip to ${account}/deployments/${blob}"
  az storage blob upload --auth-mode login --only-show-errors --output none --overwrite \
    --account-name "${account}" --container-name deployments --name "${blob}" \
    --file "${repo}/.local/packages/${app}.zip"
  az functionapp restart --resource-group "${resource_group}" --name "${name}" --only-show-errors
done

for secret in audit-api-key patient-api-key support-api-key; do
  "${env_dir}/scripts/rotate-function-key.sh" --sync "${secret}"
done
echo "deployed; gateway: $(output gateway_url)"
