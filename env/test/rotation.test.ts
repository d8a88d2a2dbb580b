/**
 * scripts/rotate-function-key.sh against a recording stand-in for `az`: the order of its steps is
 * what makes rotation free of failed calls (new key valid before callers see it, old key removed
 * only after they have all switched), and no key value may appear on a command line.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { envDir } from './terraform';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rotate-key-'));
  // Records each call (one line of arguments) and copies the files it is given (--body @file,
  // --file) so the test can see what was sent. Answers the two queries the script makes.
  writeFileSync(
    join(dir, 'az'),
    `#!/usr/bin/env bash
set -euo pipefail
log="${dir}/calls.log"
printf '%s\\n' "$*" >>"$log"
n=$(wc -l <"$log")
prev=""
for arg in "$@"; do
  case "$prev" in
    --body) cp "\${arg#@}" "${dir}/sent-$n.txt" ;;
    --file) cp "$arg" "${dir}/sent-$n.txt" ;;
  esac
  prev="$arg"
done
case "$*" in
  "functionapp function list"*) printf '%s\\t%s\\t%s\\n' \\
    func-patient/createPatient https://h/api/patient function \\
    func-patient/getPatient 'https://h/api/patient/{patientId}' function \\
    func-patient/health https://h/api/health anonymous \\
    func-patient/listWrites https://h/api/support/writes function ;;
  "functionapp show"*) echo "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/$(printf '%s' "$*" | sed 's/.*--name \\([^ ]*\\).*/\\1/')" ;;
  *"--query tags.\\"key-name\\""*) echo "\${CURRENT_KEY_NAME:-}" ;;
  *"--query value"*) echo "value-from-key-vault" ;;
esac
`,
  );
  chmodSync(join(dir, 'az'), 0o755);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], currentKeyName: string): string[] {
  execFileSync('bash', [join(envDir, 'scripts', 'rotate-function-key.sh'), ...args], {
    env: {
      ...process.env,
      PATH: `${dir}:${process.env.PATH ?? ''}`,
      RESOURCE_GROUP: 'rg',
      PATIENT_APP: 'func-patient',
      AUDIT_APP: 'func-audit',
      PATIENT_VAULT: 'kv-patient',
      CURRENT_KEY_NAME: currentKeyName,
    },
    stdio: 'pipe',
    timeout: 30_000,
  });
  return readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n');
}

function sent(call: number): string {
  return readFileSync(join(dir, `sent-${call}.txt`), 'utf8');
}

const keyCall = (calls: string[], method: string, where: string): number =>
  calls.findIndex((c) => c.startsWith(`rest --method ${method}`) && c.includes(where));

it('adds the new key to every API function, then switches Key Vault, then removes the old key', () => {
  const calls = run(['--grace-seconds', '0', 'patient-api-key'], 'patient-api-key-1');
  const puts = ['createPatient', 'getPatient'].map((fn) =>
    keyCall(calls, 'put', `/sites/func-patient/functions/${fn}/keys/patient-api-key-2?`),
  );
  const set = calls.findIndex(
    (c) =>
      c.startsWith('keyvault secret set') &&
      c.includes('--vault-name kv-patient --name patient-api-key') &&
      c.includes('key-name=patient-api-key-2'),
  );
  const removes = ['createPatient', 'getPatient'].map((fn) =>
    keyCall(calls, 'delete', `/sites/func-patient/functions/${fn}/keys/patient-api-key-1?`),
  );
  for (const put of puts) {
    expect(put).toBeGreaterThan(-1);
    expect(set).toBeGreaterThan(put);
  }
  for (const remove of removes) expect(remove).toBeGreaterThan(set);
  // Neither the support function nor an anonymous one gets the consumers' key.
  expect(calls.some((c) => c.includes('/functions/listWrites/') || c.includes('/functions/health/'))).toBe(false);

  // Every function and the secret get the same new value, and it was never an argument.
  const body = JSON.parse(sent(puts[0]! + 1)) as { properties: { name: string; value: string } };
  expect(body.properties.name).toBe('patient-api-key-2');
  expect(body.properties.value).toMatch(/^[A-Za-z0-9]{48}$/);
  expect(sent(puts[1]! + 1)).toBe(sent(puts[0]! + 1));
  expect(sent(set + 1)).toBe(body.properties.value);
  expect(calls.join('\n')).not.toContain(body.properties.value);
});

it("rotates audit-app's host key, alternating back to the first key name", () => {
  const calls = run(['--grace-seconds', '0', 'audit-api-key'], 'audit-api-key-2');
  expect(keyCall(calls, 'put', '/sites/func-audit/host/default/functionKeys/audit-api-key-1?')).toBeGreaterThan(-1);
  expect(keyCall(calls, 'delete', '/sites/func-audit/host/default/functionKeys/audit-api-key-2?')).toBeGreaterThan(-1);
});

it('--sync gives the support functions the key Key Vault names, with its value, and removes nothing', () => {
  const calls = run(['--sync', 'support-api-key'], 'support-api-key-2');
  const put = keyCall(calls, 'put', '/sites/func-patient/functions/listWrites/keys/support-api-key-2?');
  expect(put).toBeGreaterThan(-1);
  expect(JSON.parse(sent(put + 1))).toEqual({
    properties: { name: 'support-api-key-2', value: 'value-from-key-vault' },
  });
  expect(calls.filter((c) => c.startsWith('rest --method put'))).toHaveLength(1);
  expect(calls.some((c) => c.includes('--method delete') || c.startsWith('keyvault secret set'))).toBe(false);
});

it('refuses a secret it does not know', () => {
  expect(() => run(['--grace-seconds', '0', 'payload-encryption-key'], '')).toThrow();
});
