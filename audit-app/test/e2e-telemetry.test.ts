import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Devhost, type FakeIngestion, startDevhost, startFakeIngestion, type TelemetryEnvelope } from '@patient-records/devhost';

import { useStore } from './support/store';

// audit-app under the devhost with Application Insights pointed at a local ingestion endpoint: the
// request a caller traces arrives under the caller's operation id, with the store calls inside it.
const appDir = path.resolve(__dirname, '..');
const fixture = useStore('audit_telemetry');
const key = 'audit-telemetry-key';
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerSpanId = '00f067aa0ba902b7';
let ingestion: FakeIngestion;
let host: Devhost;
let keysDir: string;

beforeAll(async () => {
  keysDir = mkdtempSync(path.join(os.tmpdir(), 'audit-telemetry-keys-'));
  ingestion = await startFakeIngestion();
  host = await startDevhost({
    appDir,
    port: 0,
    keysFile: path.join(keysDir, 'keys.json'),
    hostKeys: { patientApp: key },
    env: { ...ingestion.env(), MONGODB_CONNECTION_STRING: fixture.store().uri, AUDIT_DATABASE_NAME: fixture.db().databaseName },
    log: () => undefined,
  });
});

afterAll(async () => {
  // Each step guarded: a host that failed to start must not leave the ingestion server running.
  await (host as Devhost | undefined)?.stop();
  await (ingestion as FakeIngestion | undefined)?.stop();
  if ((keysDir as string | undefined) !== undefined) rmSync(keysDir, { recursive: true, force: true });
});

const fromAudit = (all: TelemetryEnvelope[], baseType: string): TelemetryEnvelope[] =>
  all.filter((e) => e.tags?.['ai.cloud.role'] === 'audit-app' && e.data?.baseType === baseType);

it('records the request under the caller’s operation id, with its MongoDB calls as dependencies', async () => {
  const response = await fetch(`${host.url}/api/auditrecord`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': key, traceparent: `00-${traceId}-${callerSpanId}-01` },
    body: JSON.stringify({
      idempotencyKey: 'telemetry-1',
      sourceSystemName: 'patient-app',
      resource: { type: 'patient', id: 'telemetry-patient', operation: 'read' },
      outcome: 'read',
      correlationId: traceId,
    }),
  });
  expect(response.status).toBe(201);
  // The record is linked to the trace that delivered it.
  expect(((await response.json()) as { telemetryOperationId?: string }).telemetryOperationId).toBe(traceId);
  // Telemetry is exported in batches; stopping the worker runs appTerminate, which flushes.
  await host.stop();
  const all = await ingestion.waitFor((envelopes) => fromAudit(envelopes, 'RequestData').length > 0);
  const request = fromAudit(all, 'RequestData').find((e) => e.data?.baseData?.name === 'POST /api/auditrecord');
  expect(request?.tags?.['ai.operation.id']).toBe(traceId);
  expect(request?.tags?.['ai.operation.parentId']).toBe(callerSpanId);
  expect(request?.data?.baseData?.responseCode).toBe('201');
  const storeCalls = fromAudit(all, 'RemoteDependencyData').filter((e) => String(e.data?.baseData?.type).toLowerCase() === 'mongodb');
  expect(storeCalls.length).toBeGreaterThan(0);
  for (const call of storeCalls.filter((e) => e.tags?.['ai.operation.id'] === traceId)) {
    expect(call.tags?.['ai.operation.parentId']).toBe(request?.data?.baseData?.id);
  }
  expect(storeCalls.some((e) => e.tags?.['ai.operation.id'] === traceId)).toBe(true);
  // The function key never reaches telemetry.
  expect(ingestion.rawBodies().join('\n')).not.toContain(key);
});
