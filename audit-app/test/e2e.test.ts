import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { AppStartError, type Devhost, startDevhost } from '@patient-records/devhost';

import { useStore } from './support/store';

// audit-app as it runs locally and in Azure: its built entry point in the devhost's worker process,
// over real HTTP with Azure's key checks, against the embedded store.
const appDir = path.resolve(__dirname, '..');
const fixture = useStore('audit_e2e');
const key = 'audit-e2e-host-key';
let host: Devhost;
let keysDir: string;

beforeAll(async () => {
  keysDir = mkdtempSync(path.join(os.tmpdir(), 'audit-e2e-keys-'));
  host = await startDevhost({
    appDir,
    port: 0,
    keysFile: path.join(keysDir, 'keys.json'),
    hostKeys: { patientApp: key },
    env: { MONGODB_CONNECTION_STRING: fixture.store().uri, AUDIT_DATABASE_NAME: fixture.db().databaseName },
    log: () => undefined,
  });
});

afterAll(async () => {
  await (host as Devhost | undefined)?.stop();
  if ((keysDir as string | undefined) !== undefined) rmSync(keysDir, { recursive: true, force: true });
});

const record = (idempotencyKey: string) => ({
  idempotencyKey,
  sourceSystemName: 'patient-app',
  actor: { system: 'contoso-portal' },
  resource: { type: 'patient', id: 'e2e-patient-1', operation: 'update' },
  outcome: 'succeeded',
  correlationId: `corr-${idempotencyKey}`,
  instanceId: `inst-${idempotencyKey}`,
  version: 2,
  timestamp: '2026-04-01T09:00:00.000Z',
});

function post(body: unknown, headers: Record<string, string> = { 'x-functions-key': key }): Promise<Response> {
  return fetch(`${host.url}/api/auditrecord`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('audit-app under the devhost', () => {
  it('serves health anonymously', async () => {
    const response = await fetch(`${host.url}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('refuses the audit API without a valid function key', async () => {
    expect((await post(record('no-key'), {})).status).toBe(401);
    expect((await post(record('wrong-key'), { 'x-functions-key': 'not-the-key' })).status).toBe(401);
    expect((await fetch(`${host.url}/api/auditrecord?resourceId=e2e-patient-1`)).status).toBe(401);
  });

  it('records, repeats idempotently and lists over HTTP', async () => {
    const first = await post(record('e2e-1'));
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string };
    expect(first.headers.get('location')).toBe(`/api/auditrecord/${created.id}`);

    const repeat = await post(record('e2e-1'));
    expect(repeat.status).toBe(200);
    expect(((await repeat.json()) as { id: string }).id).toBe(created.id);

    const byId = await fetch(`${host.url}${first.headers.get('location')}`, { headers: { 'x-functions-key': key } });
    expect(byId.status).toBe(200);

    const listed = await fetch(`${host.url}/api/auditrecord?resourceId=e2e-patient-1&code=${key}`);
    expect(listed.status).toBe(200);
    const page = (await listed.json()) as { items: { id: string }[]; continuationToken: string | null };
    expect(page.items.map((item) => item.id)).toEqual([created.id]);
    expect(page.continuationToken).toBeNull();
  });

  it('stores one record for concurrent duplicates sent over HTTP', async () => {
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(record('e2e-concurrent'))));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = await Promise.all(responses.map(async (response) => ((await response.json()) as { id: string }).id));
    expect(new Set(ids).size).toBe(1);
    const listed = await fetch(`${host.url}/api/auditrecord?correlationId=corr-e2e-concurrent`, { headers: { 'x-functions-key': key } });
    expect(((await listed.json()) as { items: unknown[] }).items).toHaveLength(1);
  });

  it('answers bad requests with the JSON error shape: 400, 413, 415, and 404 for a malformed id', async () => {
    const invalid = await post({ ...record('e2e-invalid'), outcome: 'whatever', email: 'jane@example.com' });
    expect(invalid.status).toBe(400);
    const invalidBody = (await invalid.json()) as { error: { code: string; details: { field: string }[] } };
    expect(invalidBody.error.code).toBe('validation_failed');
    expect(invalidBody.error.details.map((detail) => detail.field).sort()).toEqual(['email', 'outcome']);

    const tooLarge = await post({ ...record('e2e-large'), details: { pad: 'x'.repeat(200) }, padding: 'x'.repeat(20_000) });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');

    const wrongType = await post('a=1', { 'x-functions-key': key, 'content-type': 'application/x-www-form-urlencoded' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get('content-type')).toMatch(/^application\/json/);

    const malformed = await post('{"sourceSystemName": ');
    expect(malformed.status).toBe(400);
    const text = await malformed.text();
    expect(text).not.toMatch(/\bat \S+ \(/);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'invalid_json' } });

    const notAGuid = await fetch(`${host.url}/api/auditrecord/not-a-guid`, { headers: { 'x-functions-key': key } });
    expect(notAGuid.status).toBe(404);
  });
});

describe('audit-app without its settings', () => {
  it('does not start, and says which setting is missing', async () => {
    const attempt = startDevhost({
      appDir,
      port: 0,
      keysFile: path.join(keysDir, 'broken.json'),
      env: { MONGODB_CONNECTION_STRING: '', AUDIT_DATABASE_NAME: 'unused' },
      log: () => undefined,
    });
    await expect(attempt).rejects.toThrow(AppStartError);
    await expect(attempt).rejects.toThrow('MONGODB_CONNECTION_STRING is not set');
  });
});
