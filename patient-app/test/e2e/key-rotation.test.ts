import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Devhost, type FakeKeyVault, startDevhost, startFakeKeyVault } from '@patient-records/devhost';

import { uniqueDatabaseName, useStore } from '../support/store';

// The rotation drill of docs/key-rotation.md, end to end: patient-app reads AUDIT_API_KEY from a
// Key Vault-compatible endpoint (real SecretClient, managed identity flow), audit-app runs under the
// devhost with named host keys, and while writes keep flowing the audit key is rotated — add the
// new key, write it to the vault, remove the old one. patient-app caches the key for an hour here,
// so it can only keep working by refreshing the key after a 401 and retrying. No write may fail;
// afterwards audit-app refuses the old key.

const repo = path.resolve(__dirname, '..', '..', '..');
const OLD_KEY = `old-${randomBytes(16).toString('hex')}`;
const NEW_KEY = `new-${randomBytes(16).toString('hex')}`;
const API_KEY = `api-${randomBytes(12).toString('hex')}`;
const WRITERS = 2;

const fixture = useStore('rotation_e2e');
let vault: FakeKeyVault;
let audit: Devhost | undefined;
let patient: Devhost | undefined;
let keysDir: string;

beforeAll(async () => {
  keysDir = mkdtempSync(path.join(os.tmpdir(), 'rotation-keys-'));
  vault = await startFakeKeyVault();
  vault.setSecret('audit-api-key', OLD_KEY);
  const uri = fixture.store().uri;
  audit = await startDevhost({
    appDir: path.join(repo, 'audit-app'),
    port: 0,
    keysFile: path.join(keysDir, 'audit.json'),
    hostKeys: { 'audit-api-key-1': OLD_KEY },
    env: { MONGODB_CONNECTION_STRING: uri, AUDIT_DATABASE_NAME: uniqueDatabaseName('rotation_audit') },
    log: () => undefined,
  });
  patient = await startDevhost({
    appDir: path.join(repo, 'patient-app'),
    port: 0,
    mongoUri: uri,
    databaseName: uniqueDatabaseName('rotation_hub'),
    keysFile: path.join(keysDir, 'patient.json'),
    hostKeys: { apim: API_KEY },
    env: {
      ...vault.env(),
      KEY_VAULT_CACHE_SECONDS: '3600',
      MONGODB_CONNECTION_STRING: uri,
      PATIENT_DATABASE_NAME: fixture.db().databaseName,
      AUDIT_API_URL: audit.url,
      PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
    },
    log: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  await patient?.stop();
  await audit?.stop();
  await vault.stop();
  rmSync(keysDir, { recursive: true, force: true });
});

async function write(n: number): Promise<number> {
  const response = await fetch(`${patient!.url}/api/patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': API_KEY },
    body: JSON.stringify({ firstName: `Rota${n}`, lastName: 'Drill', gender: 'other', dateOfBirth: '1990-01-01', postCode: '1000' }),
  });
  await response.body?.cancel();
  return response.status;
}

async function hostKey(method: 'PUT' | 'DELETE', name: string, value?: string): Promise<number> {
  const response = await fetch(`${audit!.url}/admin/host/keys/${name}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-functions-key': audit!.masterKey },
    ...(value === undefined ? {} : { body: JSON.stringify({ name, value }) }),
  });
  await response.body?.cancel();
  return response.status;
}

async function auditWith(key: string): Promise<number> {
  const response = await fetch(`${audit!.url}/api/auditrecord`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': key },
    body: JSON.stringify({ sourceSystemName: 'rotation-test', resource: { type: 'patient', id: 'p-rotation', operation: 'read' }, outcome: 'succeeded' }),
  });
  await response.body?.cancel();
  return response.status;
}

test('rotating the audit key while writes flow fails no write, and the old key is refused afterwards', async () => {
  const statuses: number[] = [];
  let rotated = false;
  let written = 0;
  let afterRotation = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const completed = (): void => {
    written += 1;
    if (rotated) afterRotation += 1;
    for (const waiter of waiters.filter((candidate) => written >= candidate.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  /** Resolves once `more` further writes have finished: steps are spaced by traffic, not by sleeps. */
  const afterWrites = (more: number): Promise<void> =>
    new Promise((resolve) => {
      waiters.push({ count: written + more, resolve });
    });
  // Each writer keeps writing until the rotation is done and it has written a few more.
  const writers = Array.from({ length: WRITERS }, async (_, writer) => {
    for (let n = 0; n < 200 && !(rotated && afterRotation >= 4 * WRITERS); n += 1) {
      statuses.push(await write(writer * 1000 + n));
      completed();
    }
  });

  await afterWrites(2);
  expect(await hostKey('PUT', 'audit-api-key-2', NEW_KEY)).toBe(201); // 1. add the new key
  await afterWrites(2);
  vault.setSecret('audit-api-key', NEW_KEY); // 2. switch: the new value in Key Vault
  await afterWrites(2);
  expect(await hostKey('DELETE', 'audit-api-key-1')).toBe(204); // 3. remove the old key
  rotated = true;
  await Promise.all(writers);

  expect(statuses.length).toBeGreaterThanOrEqual(6 + 4 * WRITERS);
  expect(statuses.filter((status) => status !== 201)).toEqual([]);
  // patient-app read the key again after the old one was refused (its cache alone would have kept
  // the old key for an hour), through the managed identity flow.
  const keyReads = vault.requests().filter((request) => request.path.startsWith('/secrets/audit-api-key') && request.auth === 'valid');
  expect(keyReads.length).toBeGreaterThanOrEqual(2);
  expect(await auditWith(OLD_KEY)).toBe(401);
  expect(await auditWith(NEW_KEY)).toBe(201);
}, 180_000);
