import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { AuditEntry } from '@patient-records/orchestrations';

import { AuditUnavailableError, HttpAuditClient } from '../../src/audit/audit-client';

interface Seen {
  key: string | undefined;
  body: Record<string, unknown>;
  url: string | undefined;
}

let server: Server;
let origin: string;
let answer: (seen: Seen, res: ServerResponse) => void;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const record: Seen = { key: req.headers['x-functions-key'] as string | undefined, body: JSON.parse(Buffer.concat(chunks).toString()), url: req.url };
      seen.push(record);
      answer(record, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

const entry: AuditEntry = {
  idempotencyKey: 'op-1:attempted',
  operationId: 'op-1',
  instanceId: 'op-1',
  kind: 'createPatient',
  operation: 'create',
  resource: { type: 'patient', id: 'p-1', patientId: 'p-1' },
  actor: { system: 'consumer-a' },
  outcome: 'attempted',
  at: '2026-01-01T00:00:00.000Z',
};

function client(keys: string[] = ['key-1'], timeoutMs = 2000): HttpAuditClient {
  let index = 0;
  return new HttpAuditClient({
    baseUrl: origin,
    timeoutMs,
    functionKey: {
      current: () => Promise.resolve(keys[index] ?? ''),
      refresh: () => Promise.resolve(keys[++index] ?? ''),
    },
  });
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

describe('HttpAuditClient', () => {
  it('posts the record to /api/auditrecord with the function key and returns its id', async () => {
    answer = (_s, res) => json(res, 201, { id: 'rec-1' });
    expect(await client().record(entry)).toEqual({ recordId: 'rec-1' });
    expect(seen[0]).toMatchObject({
      key: 'key-1',
      url: '/api/auditrecord',
      body: { idempotencyKey: 'op-1:attempted', correlationId: 'op-1', instanceId: 'op-1', outcome: 'attempted', resource: { type: 'patient', id: 'p-1', operation: 'create' } },
    });
  });

  it('reads the key again once after a 401 (rotation)', async () => {
    answer = (s, res) => (s.key === 'key-2' ? json(res, 201, { id: 'rec-2' }) : json(res, 401, {}));
    expect(await client(['key-1', 'key-2']).record(entry)).toEqual({ recordId: 'rec-2' });
    expect(seen.map((s) => s.key)).toEqual(['key-1', 'key-2']);
  });

  it('throws a transient error for 5xx and 429, and a permanent one for other 4xx', async () => {
    answer = (_s, res) => json(res, 503, {});
    await expect(client().record(entry)).rejects.toBeInstanceOf(AuditUnavailableError);
    answer = (_s, res) => json(res, 429, {});
    await expect(client().record(entry)).rejects.toBeInstanceOf(AuditUnavailableError);
    answer = (_s, res) => json(res, 400, { error: { code: 'validation' } });
    await expect(client().record(entry)).rejects.toMatchObject({ name: 'PermanentFailure', code: 'rejected' });
  });

  it('gives up after its timeout, and when nothing listens', async () => {
    answer = () => undefined;
    await expect(client(['k'], 100).record(entry)).rejects.toThrow('timed out after 100 ms');
    const nowhere = new HttpAuditClient({
      baseUrl: 'http://127.0.0.1:1',
      timeoutMs: 500,
      functionKey: { current: () => Promise.resolve('k'), refresh: () => Promise.resolve('k') },
    });
    await expect(nowhere.record(entry)).rejects.toThrow('unreachable');
  });

  it('records reads with counts, never criteria', async () => {
    answer = (_s, res) => json(res, 201, { id: 'rec-3' });
    await client().recordRead({ outcome: 'succeeded', operation: 'search', resource: { type: 'patient' }, actor: { system: 's' }, operationId: 'inv-1', resultCount: 3, at: entry.at });
    expect(seen[0]?.body).toEqual({
      sourceSystemName: 'patient-app',
      actor: { system: 's' },
      resource: { type: 'patient', operation: 'search' },
      outcome: 'read',
      correlationId: 'inv-1',
      resultCount: 3,
      timestamp: entry.at,
    });
  });
});
