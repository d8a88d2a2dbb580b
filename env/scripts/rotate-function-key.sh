#!/usr/bin/env bash
# Rotates one function key with no window of failed calls, or (--sync) makes the host key that
# Key Vault names exist with Key Vault's value (after the first deployment, or a redeploy).
#
#   env/scripts/rotate-function-key.sh [--sync] [--grace-seconds N] <secret>
#   <secret>: patient-api-key | support-api-key  (APIM -> patient-app)
#             audit-api-key                      (patient-app -> audit-app)
#
# Each key alternates between two key names, <secret>-1 and <secret>-2; the Key Vault secret holds
# the value callers send and its key-name tag says which key name holds it. audit-api-key is a
# host key of audit-app. On patient-app the keys are function keys, as the devhost sets them:
# patient-api-key on every function-level function outside /api/support, support-api-key on those
# under it, so neither key opens the other's functions. Rotation:
#   1. create the other key name with a new value: both keys are now valid;
#   2. write the new value to Key Vault (a new version of the same secret);
#   3. wait until every caller has re-read the secret: APIM caches it for key-cache-seconds,
#      patient-app's settings source for KEY_VAULT_CACHE_SECONDS (both 300 s by default);
#   4. delete the old host key.
# A caller that still held the old value in step 3 is served, because the old key is still valid.
#
# Needs: az (logged in, with Key Vault Secrets Officer on the vault and Website Contributor on
# the app), terraform outputs of env/ (or RESOURCE_GROUP, PATIENT_APP, AUDIT_APP, PATIENT_VAULT
# in the environment), and network reach to the vault (inside the VNet, or operator_ip_ranges).
set -euo pipefail

usage() {
  sed -n '2,9p' "$0" >&2
  exit 2
}

sync=false
grace=420
while [ $# -gt 0 ]; do
  case "$1" in
    --sync) sync=true; shift ;;
    --grace-seconds) grace="${2:?}"; shift 2 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage
secret="$1"

env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
output() { TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="${env_dir}" output -raw "$1"; }
resource_group="${RESOURCE_GROUP:-$(output resource_group_name)}"
vault="${PATIENT_VAULT:-$(output patient_key_vault_name)}"

case "${secret}" in
  patient-api-key | support-api-key) app="${PATIENT_APP:-$(output patient_app_name)}" ;;
  audit-api-key) app="${AUDIT_APP:-$(output audit_app_name)}" ;;
  *) usage ;;
esac

app_id="$(az functionapp show --resource-group "${resource_group}" --name "${app}" --query id --output tsv)"
api="api-version=2022-03-01"

# Values go through files readable only by this user, never on a command line.
workdir="$(mktemp -d)"
chmod 700 "${workdir}"
trap 'rm -rf "${workdir}"' EXIT

# Where a key lives: the host (audit-app) or each function of the key's kind (patient-app).
key_paths() {
  if [ "${secret}" = audit-api-key ]; then
    echo "host/default/functionKeys"
    return
  fi
  az functionapp function list --resource-group "${resource_group}" --name "${app}" \
    --query "[].[name, invokeUrlTemplate, config.bindings[0].authLevel]" --output tsv |
    while IFS=$'\t' read -r name url level; do
      [ "${level}" = function ] || continue
      case "${url}" in
        */api/support | */api/support/*) kind=support-api-key ;;
        *) kind=patient-api-key ;;
      esac
      if [ "${kind}" = "${secret}" ]; then echo "functions/${name##*/}/keys"; fi
    done
}

put_key() { # name value
  printf '{"properties":{"name":"%s","value":"%s"}}' "$1" "$2" >"${workdir}/body.json"
  for where in ${paths}; do
    az rest --method put --only-show-errors --output none \
      --uri "https://management.azure.com${app_id}/${where}/$1?${api}" \
      --body "@${workdir}/body.json"
  done
}

delete_key() { # name
  for where in ${paths}; do
    az rest --method delete --only-show-errors --output none \
      --uri "https://management.azure.com${app_id}/${where}/$1?${api}"
  done
}

paths="$(key_paths)"
if [ -z "${paths}" ]; then
  echo "${app} has no function that ${secret} opens (deploy the code first)" >&2
  exit 1
fi

current_name="$(az keyvault secret show --vault-name "${vault}" --name "${secret}" --query 'tags."key-name"' --output tsv)"
[ -n "${current_name}" ] || current_name="${secret}-1"

if [ "${sync}" = true ]; then
  value="$(az keyvault secret show --vault-name "${vault}" --name "${secret}" --query value --output tsv)"
  put_key "${current_name}" "${value}"
  echo "${app}: key ${current_name} matches Key Vault secret ${secret}"
  exit 0
fi

case "${current_name}" in
  *-1) next_name="${secret}-2" ;;
  *) next_name="${secret}-1" ;;
esac

new_value="$(openssl rand -base64 64 | tr -dc 'A-Za-z0-9' | head -c 48)"
[ "${#new_value}" -eq 48 ] || { echo "could not generate a key" >&2; exit 1; }

echo "1/4 ${app}: adding key ${next_name} (${current_name} stays valid)"
put_key "${next_name}" "${new_value}"

echo "2/4 ${vault}: writing the new value as a new version of ${secret}"
printf '%s' "${new_value}" >"${workdir}/value"
az keyvault secret set --vault-name "${vault}" --name "${secret}" --file "${workdir}/value" --encoding utf-8 \
  --content-type "Azure Functions host key of ${app}" --tags "key-name=${next_name}" --only-show-errors --output none

echo "3/4 waiting ${grace}s for APIM and patient-app to re-read the secret (both keys work meanwhile)"
sleep "${grace}"

echo "4/4 ${app}: deleting the old key ${current_name}"
delete_key "${current_name}"

# The old value is useless now; disable its versions so nothing reads it by version id.
az keyvault secret list-versions --vault-name "${vault}" --name "${secret}" \
  --query "[?attributes.enabled && tags.\"key-name\"=='${current_name}'].id" --output tsv |
  while read -r id; do
    az keyvault secret set-attributes --id "${id}" --enabled false --only-show-errors --output none
  done
echo "rotated ${secret}: callers now send ${next_name}"
