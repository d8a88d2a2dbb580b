/**
 * scripts/rotate-patient-key.sh against a stand-in for `az` that keeps Key Vault secrets in files:
 * its three phases must leave patient-app able to open every payload at each restart (the new key
 * accepted before it is used, the old one kept after it), write the previous keys before the new
 * current key, and never put a key on a command line.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { EnvironmentSecretSource, type SecretSource } from '@patient-records/platform';

import { envDir } from './terraform';

let dir: string;
const initial = randomBytes(32).toString('base64');

// The stand-in: `keyvault secret show|set|list-versions|set-attributes` on files in vault/, and
// `functionapp restart`; every call is one line of calls.log.
const fakeAz = `#!/usr/bin/env node
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.FAKE_AZ_DIR;
const args = process.argv.slice(2);
fs.appendFileSync(path.join(dir, 'calls.log'), args.join(' ') + '\\n');
const option = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const vault = path.join(dir, 'vault');
const file = (name, ext) => path.join(vault, name + '.' + ext);
const command = args.slice(0, 3).join(' ');
const name = option('--name');
if (command === 'keyvault secret show') {
  const query = option('--query');
  if (query === 'value') process.stdout.write(fs.readFileSync(file(name, 'value'), 'utf8') + '\\n');
  else {
    const tag = /^tags\\."(.+)"$/.exec(query)[1];
    const tags = fs.existsSync(file(name, 'tags')) ? JSON.parse(fs.readFileSync(file(name, 'tags'), 'utf8')) : {};
    process.stdout.write((tags[tag] ?? '') + '\\n');
  }
} else if (command === 'keyvault secret set') {
  fs.copyFileSync(option('--file'), file(name, 'value'));
  const tags = {};
  for (let i = args.indexOf('--tags') + 1; i < args.length && !args[i].startsWith('--'); i += 1) {
    const [key, ...rest] = args[i].split('=');
    tags[key] = rest.join('=');
  }
  fs.writeFileSync(file(name, 'tags'), JSON.stringify(tags));
  const versions = fs.existsSync(file(name, 'versions')) ? Number(fs.readFileSync(file(name, 'versions'), 'utf8')) : 1;
  fs.writeFileSync(file(name, 'versions'), String(versions + 1));
} else if (command === 'keyvault secret list-versions') {
  const versions = Number(fs.readFileSync(file(name, 'versions'), 'utf8'));
  for (let v = 1; v < versions; v += 1) process.stdout.write('https://vault/secrets/' + name + '/v' + v + '\\n');
}
`;

function secret(name: string, value: string): void {
  writeFileSync(join(dir, 'vault', `${name}.value`), value);
}
const value = (name: string): string => readFileSync(join(dir, 'vault', `${name}.value`), 'utf8');
const tags = (name: string): Record<string, string> =>
  existsSync(join(dir, 'vault', `${name}.tags`)) ? (JSON.parse(readFileSync(join(dir, 'vault', `${name}.tags`), 'utf8')) as Record<string, string>) : {};
const keys = (list: string): string[] => list.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
/** patient-app's key id (keyIdOf). */
const keyId = (key: string): string => createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 16);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rotate-patient-key-'));
  mkdirSync(join(dir, 'vault'));
  writeFileSync(join(dir, 'az'), fakeAz);
  chmodSync(join(dir, 'az'), 0o755);
  secret('payload-encryption-key', initial);
  secret('payload-encryption-previous-keys', ' ');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What patient-app's own settings check makes of the payload keys now in the vault: [current id, previous ids]. */
async function ringAsTheAppReadsIt(): Promise<string[][]> {
  // By a computed name, as apps-and-gateway.test.ts reads appSettingNames: env/ does not depend on the app.
  const specifier = '@patient-records/patient-app/dist/settings';
  const { loadSettings }: { loadSettings: (source: SecretSource) => Promise<{ payloadEncryptionKey: Buffer; payloadEncryptionPreviousKeys: readonly Buffer[] }> } =
    await import(specifier);
  const settings = await loadSettings(
    new EnvironmentSecretSource({
      MONGODB_CONNECTION_STRING: 'mongodb://127.0.0.1:1',
      AUDIT_API_URL: 'http://127.0.0.1:1',
      AUDIT_API_KEY: 'k',
      IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
      PAYLOAD_ENCRYPTION_KEY: value('payload-encryption-key'),
      PAYLOAD_ENCRYPTION_PREVIOUS_KEYS: value('payload-encryption-previous-keys'),
    }),
  );
  const id = (key: Buffer): string => keyId(key.toString('base64'));
  return [[id(settings.payloadEncryptionKey)], settings.payloadEncryptionPreviousKeys.map(id)];
}

/** Runs one phase; answers the calls it made. */
function run(...args: string[]): string[] {
  const before = existsSync(join(dir, 'calls.log')) ? readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n').length : 0;
  execFileSync('bash', [join(envDir, 'scripts', 'rotate-patient-key.sh'), ...args], {
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, FAKE_AZ_DIR: dir, RESOURCE_GROUP: 'rg', PATIENT_APP: 'func-patient', PATIENT_VAULT: 'kv-patient' },
    stdio: 'pipe',
    timeout: 30_000,
  });
  return readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n').slice(before);
}

const setOf = (calls: string[], name: string): number => calls.findIndex((call) => call.startsWith(`keyvault secret set --vault-name kv-patient --name ${name} `));
const restartOf = (calls: string[]): number => calls.findIndex((call) => call.startsWith('functionapp restart --resource-group rg --name func-patient'));

it('add: a new 32-byte key is accepted (previous) before anything uses it, then the app restarts', async () => {
  const calls = run('payload-encryption-key', 'add');
  const [added, ...more] = keys(value('payload-encryption-previous-keys'));
  expect(more).toEqual([]);
  expect(Buffer.from(added ?? '', 'base64')).toHaveLength(32);
  expect(tags('payload-encryption-previous-keys').pending).toBe(keyId(added ?? ''));
  expect(value('payload-encryption-key')).toBe(initial);
  expect(setOf(calls, 'payload-encryption-key')).toBe(-1);
  expect(restartOf(calls)).toBeGreaterThan(setOf(calls, 'payload-encryption-previous-keys'));
  expect(calls.join('\n')).not.toContain(added);
  expect(await ringAsTheAppReadsIt()).toEqual([[keyId(initial)], [keyId(added ?? '')]]);
  // A second add before the switch would leave two pending keys.
  expect(() => run('payload-encryption-key', 'add')).toThrow();
});

it('switch: the old key joins the previous keys before the new one becomes current; drop waits for the retention, then blanks them', async () => {
  run('payload-encryption-key', 'add');
  const [added] = keys(value('payload-encryption-previous-keys'));
  const calls = run('payload-encryption-key', 'switch');
  expect(value('payload-encryption-key')).toBe(added);
  expect(keys(value('payload-encryption-previous-keys')).sort()).toEqual([added, initial].sort());
  const previous = setOf(calls, 'payload-encryption-previous-keys');
  expect(previous).toBeGreaterThan(-1);
  expect(setOf(calls, 'payload-encryption-key')).toBeGreaterThan(previous);
  expect(restartOf(calls)).toBeGreaterThan(setOf(calls, 'payload-encryption-key'));
  expect(calls.join('\n')).not.toContain(added);
  expect(calls.join('\n')).not.toContain(initial);
  expect((await ringAsTheAppReadsIt()).map((ids) => ids.sort())).toEqual([[keyId(added ?? '')], [keyId(added ?? ''), keyId(initial)].sort()]);

  expect(() => run('payload-encryption-key', 'drop')).toThrow();
  expect(value('payload-encryption-previous-keys')).toContain(initial);
  const dropped = run('--retention-days', '0', 'payload-encryption-key', 'drop');
  expect(keys(value('payload-encryption-previous-keys'))).toEqual([]);
  expect(value('payload-encryption-key')).toBe(added);
  expect(await ringAsTheAppReadsIt()).toEqual([[keyId(added ?? '')], []]);
  expect(restartOf(dropped)).toBeGreaterThan(setOf(dropped, 'payload-encryption-previous-keys'));
  // The versions that held the old keys are disabled, the newest of each secret is not.
  const disabled = dropped.filter((call) => call.startsWith('keyvault secret set-attributes'));
  expect(disabled.some((call) => call.includes('/payload-encryption-key/v1 '))).toBe(true);
  expect(disabled.some((call) => call.includes('/payload-encryption-key/v2 '))).toBe(false);
});

it('refuses a switch with nothing pending, and a secret it does not know', () => {
  expect(() => run('payload-encryption-key', 'switch')).toThrow();
  expect(value('payload-encryption-key')).toBe(initial);
  expect(() => run('audit-api-key', 'add')).toThrow();
});
