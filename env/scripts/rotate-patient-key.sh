#!/usr/bin/env bash
# Rotates one of patient-app's own keys in three phases, one run each, so that no instance ever
# meets a payload it cannot open or a repeat it cannot recognise (docs/key-rotation.md, "The payload
# and idempotency keys"):
#
#   env/scripts/rotate-patient-key.sh <key> add                       # new key accepted everywhere
#   env/scripts/rotate-patient-key.sh <key> switch                    # new key current, old previous
#   env/scripts/rotate-patient-key.sh [--retention-days N] <key> drop # old key gone (after N days)
#   <key>: payload-encryption-key | idempotency-hmac-key
#
# The current key is the Key Vault secret <key>; the keys still accepted are <previous>
# (payload-encryption-previous-keys, idempotency-hmac-previous-keys): comma-separated base64, blank
# outside a rotation. patient-app reads both once at start, so every phase ends with a restart.
#   add:    a new random key is appended to <previous> (tag pending=<key id>); restart. Every
#           instance now opens, finds and verifies with it, and none uses it yet.
#   switch: run once `add` has restarted every instance. <previous> gets the current key too, THEN
#           <key> becomes the pending one (an instance starting between the two writes still has
#           both); restart. New payloads, records and tokens use the new key; old ones still work.
#   drop:   run after the retention (default 30 days after switch): <previous> is blanked, restart,
#           and the secret versions that held old keys are disabled (not deleted: the vault keeps
#           them, so a support restart of an older write can get its key back).
#
# Needs: az (logged in, Key Vault Secrets Officer on the vault, Website Contributor on the app),
# openssl, and terraform outputs of env/ (or RESOURCE_GROUP, PATIENT_APP, PATIENT_VAULT set).
set -euo pipefail

usage() {
  sed -n '2,10p' "$0" >&2
  exit 2
}

retention_days=30
while [ $# -gt 0 ]; do
  case "$1" in
    --retention-days) retention_days="${2:?}"; shift 2 ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || usage
secret="$1"
phase="$2"
case "${secret}" in
  payload-encryption-key) previous=payload-encryption-previous-keys; bytes=32 ;;
  idempotency-hmac-key) previous=idempotency-hmac-previous-keys; bytes=32 ;;
  *) usage ;;
esac

env_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
output() { TF_CLI_CONFIG_FILE=/dev/null terraform -chdir="${env_dir}" output -raw "$1"; }
resource_group="${RESOURCE_GROUP:-$(output resource_group_name)}"
app="${PATIENT_APP:-$(output patient_app_name)}"
vault="${PATIENT_VAULT:-$(output patient_key_vault_name)}"

# Values go through files readable only by this user, never on a command line.
workdir="$(mktemp -d)"
chmod 700 "${workdir}"
trap 'rm -rf "${workdir}"' EXIT

# The key id patient-app names a key by (keyIdOf): the first 16 hex digits of SHA-256 of its bytes.
key_id() { base64 -d | sha256sum | cut -c1-16; }

read_value() { # secret file
  az keyvault secret show --vault-name "${vault}" --name "$1" --query value --output tsv --only-show-errors >"$2"
}

read_tag() { # secret tag
  az keyvault secret show --vault-name "${vault}" --name "$1" --query "tags.\"$2\"" --output tsv --only-show-errors
}

write_value() { # secret file content-type [tags...]
  local name="$1" file="$2" type="$3"
  shift 3
  az keyvault secret set --vault-name "${vault}" --name "${name}" --file "${file}" --encoding utf-8 \
    --content-type "${type}" --tags "$@" --only-show-errors --output none
}

# The non-blank entries of a comma-separated list file, one a line.
entries() { tr ',' '\n' <"$1" | tr -d ' \r' | grep -v '^$' || true; }

restart() {
  az functionapp restart --resource-group "${resource_group}" --name "${app}" --only-show-errors --output none
}

list_type="base64 keys, comma-separated: ${secret} values still accepted (docs/key-rotation.md)"
key_type="base64, ${bytes} bytes (${secret}, docs/key-rotation.md)"

case "${phase}" in
  add)
    [ -z "$(read_tag "${previous}" pending)" ] || { echo "a rotation of ${secret} is already pending: run switch" >&2; exit 1; }
    read_value "${previous}" "${workdir}/previous"
    openssl rand -base64 "${bytes}" | tr -d '\n' >"${workdir}/new"
    [ "$(base64 -d <"${workdir}/new" | wc -c)" -eq "${bytes}" ] || { echo "could not generate a key" >&2; exit 1; }
    new_id="$(key_id <"${workdir}/new")"
    { entries "${workdir}/previous"; cat "${workdir}/new"; echo; } | grep -v '^$' | paste -sd, - | tr -d '\n' >"${workdir}/list"
    echo "1/2 ${vault}: ${previous} now also holds the new key ${new_id} (accepted, not used)"
    write_value "${previous}" "${workdir}/list" "${list_type}" "pending=${new_id}"
    echo "2/2 restarting ${app}: it reads both secrets at start"
    restart
    echo "next, once every instance has restarted: $0 ${secret} switch"
    ;;
  switch)
    pending="$(read_tag "${previous}" pending)"
    [ -n "${pending}" ] || { echo "no new key of ${secret} is pending: run add first" >&2; exit 1; }
    read_value "${previous}" "${workdir}/previous"
    read_value "${secret}" "${workdir}/current"
    found=false
    while read -r entry; do
      if [ "$(printf '%s' "${entry}" | key_id)" = "${pending}" ]; then
        printf '%s' "${entry}" >"${workdir}/new"
        found=true
      fi
    done < <(entries "${workdir}/previous")
    [ "${found}" = true ] || { echo "${previous} no longer holds the pending key ${pending}: run add again" >&2; exit 1; }
    old_id="$(tr -d '\n' <"${workdir}/current" | key_id)"
    { entries "${workdir}/previous"; tr -d '\n' <"${workdir}/current"; echo; } | grep -v '^$' | paste -sd, - | tr -d '\n' >"${workdir}/list"
    echo "1/3 ${vault}: ${previous} now also holds the current key ${old_id}"
    write_value "${previous}" "${workdir}/list" "${list_type}" "retiring=${old_id}" "switched-at=$(date -u +%s)"
    echo "2/3 ${vault}: ${secret} is now the new key ${pending}"
    write_value "${secret}" "${workdir}/new" "${key_type}"
    echo "3/3 restarting ${app}: it reads both secrets at start"
    restart
    echo "next, after ${retention_days} days: $0 ${secret} drop"
    ;;
  drop)
    switched_at="$(read_tag "${previous}" switched-at)"
    [ -n "${switched_at}" ] || { echo "no switch of ${secret} to finish: ${previous} has no switched-at tag" >&2; exit 1; }
    due=$((switched_at + retention_days * 86400))
    [ "$(date -u +%s)" -ge "${due}" ] || { echo "the retention (${retention_days} days after the switch) ends $(date -u -d "@${due}" +%FT%TZ)" >&2; exit 1; }
    printf ' ' >"${workdir}/blank"
    echo "1/3 ${vault}: ${previous} is blank again"
    write_value "${previous}" "${workdir}/blank" "${list_type}" "rotation=done"
    echo "2/3 restarting ${app}: it reads both secrets at start"
    restart
    echo "3/3 ${vault}: disabling the versions that held old keys"
    for name in "${secret}" "${previous}"; do
      az keyvault secret list-versions --vault-name "${vault}" --name "${name}" \
        --query "sort_by([?attributes.enabled], &attributes.created)[:-1].id" --output tsv --only-show-errors |
        while read -r id; do
          az keyvault secret set-attributes --id "${id}" --enabled false --only-show-errors --output none
        done
    done
    echo "rotated ${secret}"
    ;;
  *) usage ;;
esac
