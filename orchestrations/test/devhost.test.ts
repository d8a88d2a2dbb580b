/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and task-hub documents from the wire */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Devhost, startDevhost, startStore, type Store } from '@patient-records/devhost';
import { MongoClient } from 'mongodb';

import { PATIENT } from './support/saga';

// The write orchestrations on the devhost's Durable engine (the engine the apps run on locally):
// real worker process, real DurableClient, host-side retries with real timers, history in MongoDB.
// The ports are in-memory, inside the worker (test/fixtures/write-app).
const appDir = path.join(__dirname, 'fixtures', 'write-app');
const databaseName = `orchestrations_devhost_${process.pid}`;
let store: Store | undefined;
let host: Devhost;
let client: MongoClient | undefined;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'orchestrations-devhost-'));
  store = await startStore({ dataDir: path.join(scratch, 'store'), log: () => undefined });
  const started = store;
  client = await MongoClient.connect(started.uri);
  host = await startDevhost({
    appDir,
    port: 0,
    keysFile: path.join(scratch, 'keys.json'),
    mongoUri: started.uri,
    databaseName,
    hubName: 'WriteHub',
    log: () => undefined,
  });
}, 120_000);

afterAll(async () => {
  await (host as Devhost | undefined)?.stop();
  await client
    ?.db(databaseName)
    .dropDatabase()
    .catch(() => undefined);
  await client?.close();
  await store?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

async function write(kind: string, body: unknown): Promise<{ status: number; result: any }> {
  const response = await fetch(`${host.url}/api/writes/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, result: await response.json() };
}

async function faults(body: unknown): Promise<void> {
  const response = await fetch(`${host.url}/api/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(204);
}

async function seen(operationId: string, patientId: string): Promise<any> {
  return (await fetch(`${host.url}/api/seen/${operationId}/${patientId}`)).json();
}

async function history(instanceId: string): Promise<any[]> {
  const response = await fetch(
    `${host.url}/runtime/webhooks/durabletask/instances/${instanceId}?showHistory=true&showHistoryOutput=true`,
    {
      headers: { 'x-functions-key': host.masterKey },
    },
  );
  return ((await response.json()) as any).historyEvents as any[];
}

describe('write orchestrations on the devhost', () => {
  it('creates a patient end to end and answers references only', async () => {
    const { status, result } = await write('createPatient', { document: PATIENT });
    expect(status).toBe(200);
    expect(result).toMatchObject({ outcome: 'created', version: 1, auditRecorded: ['attempted', 'succeeded'] });
    const state = await seen(result.operationId, result.patientId);
    expect(state.patient).toMatchObject({ version: 1, document: PATIENT });
    expect(state.audit.map((record: any) => record.outcome)).toEqual(['attempted', 'succeeded']);
  });

  it('maps a stale If-Match to conflict without retrying it', async () => {
    const created = await write('createPatient', { document: PATIENT });
    const { result } = await write('updatePatient', {
      patientId: created.result.patientId,
      expectedVersion: 7,
      document: PATIENT,
    });
    expect(result).toMatchObject({ outcome: 'conflict', currentVersion: 1, auditRecorded: ['attempted', 'rejected'] });
    const events = await history(result.operationId);
    expect(events.filter((event) => event.EventType === 'TaskFailed')).toHaveLength(0);
  });

  it('retries a flaky store through the engine (failed attempts and retry timers in history)', async () => {
    await faults({ storeFailNext: { createPatient: 2 } });
    const { result } = await write('createPatient', { document: PATIENT });
    expect(result).toMatchObject({ outcome: 'created', version: 1 });
    const events = await history(result.operationId);
    const persist = events.filter((event) => event.FunctionName === 'persistWriteActivity');
    expect(persist.map((event) => event.EventType)).toEqual(['TaskFailed', 'TaskFailed', 'TaskCompleted']);
    expect(events.filter((event) => event.EventType === 'TimerFired').length).toBeGreaterThanOrEqual(2);
  });

  it('compensates when the success record cannot be written, and the task hub holds no personal data', async () => {
    await faults({ auditUnavailableFor: ['succeeded', 'compensated'] });
    const { result } = await write('createPatient', { document: PATIENT });
    await faults({});
    expect(result).toMatchObject({
      outcome: 'unavailable',
      failure: { step: 'auditResult', compensated: true },
      auditRecorded: ['attempted'],
    });
    expect((await seen(result.operationId, result.patientId)).patient).toMatchObject({ deleted: true, version: 2 });

    // Every document of every task-hub collection, after all the writes of this file.
    const db = client!.db(databaseName);
    const collections = await db.listCollections().toArray();
    expect(collections.length).toBeGreaterThan(0);
    let dump = '';
    for (const { name } of collections) dump += JSON.stringify(await db.collection(name).find().toArray());
    expect(dump).toContain(result.operationId);
    for (const value of Object.values(PATIENT) as string[]) if (value.length > 6) expect(dump).not.toContain(value);
  }, 60_000);
});
