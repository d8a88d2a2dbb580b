import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Devhost, type DevhostLogEntry, type FakeIngestion, startDevhost, startFakeIngestion, type TelemetryEnvelope } from '@patient-records/devhost';

import { useAuditProxy } from '../support/audit-proxy';
import { uniqueDatabaseName, useStore } from '../support/store';

// A real write through both apps, each under its own devhost, with Application Insights exporting
// to the local ingestion endpoint: one operation from the caller's traceparent to audit-app, the
// parent chain request → activity → dependency → audit-app request, the outcome event, the
// operation id on the audit record, and none of the submitted personal values anywhere in the
// telemetry or the logs. Every process runs with a preload that refuses non-loopback connections.
// A second write outlasts the starter's wait (its success cannot be recorded, so it retries, then
// compensates) and is answered 202; nobody follows its link, and its outcome event still comes. A
// third one, retrying its first audit record, is terminated through the support API, which emits
// its outcome event (a terminated write runs no step of its own).

const repo = path.resolve(__dirname, '..', '..', '..');
const loopbackGuard = path.join(repo, 'platform', 'test', 'fixtures', 'loopback-guard.js');
const PATIENT = { firstName: 'Philippa', lastName: 'Vexworthy', gender: 'female', dateOfBirth: '1977-03-29', postCode: '9410', insuranceNumber: 'INS-55013' };
const AUDIT_KEY = `audit-${randomBytes(12).toString('hex')}`;
const API_KEY = `api-${randomBytes(12).toString('hex')}`;
const TRACE_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const APIM_SPAN = '1122334455667788';
const SLOW_TRACE_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const TERMINATED_TRACE_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const SUPPORT_KEY = `support-${randomBytes(12).toString('hex')}`;

// Between patient-app and audit-app: after the first write, it answers 503 to every "succeeded" record.
const proxy = useAuditProxy(() => {
  if (!audit) throw new Error('audit-app is not running');
  return audit.url;
});

const fixture = useStore('telemetry_e2e');
const logs: DevhostLogEntry[] = [];
let ingestion: FakeIngestion;
let audit: Devhost | undefined;
let patient: Devhost | undefined;
let keysDir: string;
let auditDatabase: string;
let response: { status: number; body: Record<string, unknown> };
let slow: { status: number; operationId: string | null };
let terminated: { status: number; operationId: string | null; terminate: number };
let envelopes: TelemetryEnvelope[];

beforeAll(async () => {
  keysDir = mkdtempSync(path.join(os.tmpdir(), 'telemetry-e2e-keys-'));
  ingestion = await startFakeIngestion();
  const uri = fixture.store().uri;
  auditDatabase = uniqueDatabaseName('telemetry_audit');
  const common = { ...ingestion.env(), NODE_OPTIONS: `--require ${loopbackGuard}` };
  audit = await startDevhost({
    appDir: path.join(repo, 'audit-app'),
    port: 0,
    keysFile: path.join(keysDir, 'audit.json'),
    hostKeys: { patientApp: AUDIT_KEY },
    env: { ...common, MONGODB_CONNECTION_STRING: uri, AUDIT_DATABASE_NAME: auditDatabase },
    log: (entry) => logs.push(entry),
  });
  patient = await startDevhost({
    appDir: path.join(repo, 'patient-app'),
    port: 0,
    mongoUri: uri,
    databaseName: uniqueDatabaseName('telemetry_hub'),
    keysFile: path.join(keysDir, 'patient.json'),
    hostKeys: { apim: API_KEY, support: SUPPORT_KEY },
    env: {
      ...common,
      MONGODB_CONNECTION_STRING: uri,
      PATIENT_DATABASE_NAME: fixture.db().databaseName,
      AUDIT_API_URL: proxy.url(),
      AUDIT_API_KEY: AUDIT_KEY,
      // The first write answers well within it; the others' audit retries alone take 7.5 s.
      WRITE_WAIT_TIMEOUT_MS: '4000',
      SUPPORT_API_KEY: SUPPORT_KEY,
      PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
    },
    log: (entry) => logs.push(entry),
  });

  const answer = await fetch(`${patient.url}/api/patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': API_KEY, traceparent: `00-${TRACE_ID}-${APIM_SPAN}-01` },
    body: JSON.stringify(PATIENT),
  });
  response = { status: answer.status, body: (await answer.json()) as Record<string, unknown> };

  const write = async (trace: string): Promise<{ status: number; operationId: string | null }> => {
    const accepted = await fetch(`${patient!.url}/api/patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': API_KEY, traceparent: `00-${trace}-${APIM_SPAN}-01` },
      body: JSON.stringify(PATIENT),
    });
    await accepted.body?.cancel();
    return { status: accepted.status, operationId: accepted.headers.get('x-operation-id') };
  };
  // The outcome events come from each write's last step, the slow one's some seconds after its 202;
  // stopping the hosts runs appTerminate, which flushes.
  const outcomeOf = (all: TelemetryEnvelope[], trace: string): boolean => all.some((e) => e.data?.baseType === 'EventData' && e.tags?.['ai.operation.id'] === trace);

  proxy.setRule((record) => (record['outcome'] === 'succeeded' ? 'unavailable' : 'forward'));
  slow = await write(SLOW_TRACE_ID);
  await ingestion.waitFor((all) => outcomeOf(all, TRACE_ID) && outcomeOf(all, SLOW_TRACE_ID), 60_000).catch(() => undefined);

  // Its "attempted" record is refused too: answered 202 at 4 s, it is still retrying (7.5 s of waits) when terminated.
  proxy.setRule((record) => (record['outcome'] === 'succeeded' || record['outcome'] === 'attempted' ? 'unavailable' : 'forward'));
  const started = await write(TERMINATED_TRACE_ID);
  const stop = await fetch(`${patient.url}/api/support/writes/${started.operationId ?? 'none'}/terminate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-functions-key': SUPPORT_KEY, 'x-caller-user': 'support.tester' },
    body: JSON.stringify({ reason: 'telemetry test' }),
  });
  await stop.body?.cancel();
  terminated = { ...started, terminate: stop.status };
  await ingestion.waitFor((all) => outcomeOf(all, TERMINATED_TRACE_ID), 30_000).catch(() => undefined);
  await patient.stop();
  await audit.stop();
  envelopes = await ingestion.waitFor((all) => all.some((e) => e.tags?.['ai.cloud.role'] === 'audit-app' && e.data?.baseType === 'RequestData'));
  if (process.env.DUMP_TELEMETRY) writeFileSync(process.env.DUMP_TELEMETRY, JSON.stringify({ envelopes, logs }, null, 1));
}, 180_000);

afterAll(async () => {
  await patient?.stop();
  await audit?.stop();
  await ingestion.stop();
  rmSync(keysDir, { recursive: true, force: true });
});

const ofOperation = (trace: string): TelemetryEnvelope[] => envelopes.filter((e) => e.tags?.['ai.operation.id'] === trace);
const requests = (role: string, trace = TRACE_ID): TelemetryEnvelope[] => ofOperation(trace).filter((e) => e.data?.baseType === 'RequestData' && e.tags?.['ai.cloud.role'] === role);
const dependencies = (role: string): TelemetryEnvelope[] => envelopes.filter((e) => e.data?.baseType === 'RemoteDependencyData' && e.tags?.['ai.cloud.role'] === role);
const outcomeEvents = (trace: string): TelemetryEnvelope[] => ofOperation(trace).filter((e) => e.data?.baseType === 'EventData');
const named = (items: TelemetryEnvelope[], name: string): TelemetryEnvelope[] => items.filter((e) => e.data?.baseData?.name === name);
const idOf = (e: TelemetryEnvelope | undefined): unknown => e?.data?.baseData?.id;
const parentOf = (e: TelemetryEnvelope | undefined): unknown => e?.tags?.['ai.operation.parentId'];

test('the write succeeds', () => {
  expect(response.status).toBe(201);
  expect(response.body.lastName).toBe(PATIENT.lastName);
});

test('one operation from the caller to audit-app: request → activity → dependency → audit-app request', () => {
  const [request] = named(requests('patient-app'), 'POST /api/patient');
  expect(request?.tags?.['ai.operation.id']).toBe(TRACE_ID);
  expect(parentOf(request)).toBe(APIM_SPAN);

  const auditActivities = named(requests('patient-app'), 'Activity auditWriteActivity');
  const [persist] = named(requests('patient-app'), 'Activity persistWriteActivity');
  expect(auditActivities.length).toBeGreaterThanOrEqual(2); // "attempted" and "succeeded"
  for (const activity of [...auditActivities, persist]) {
    expect(activity?.tags?.['ai.operation.id']).toBe(TRACE_ID);
    expect(parentOf(activity)).toBe(idOf(request));
  }

  const auditRequests = named(requests('audit-app'), 'POST /api/auditrecord');
  expect(auditRequests.length).toBe(auditActivities.length);
  for (const auditRequest of auditRequests) {
    expect(auditRequest.tags?.['ai.operation.id']).toBe(TRACE_ID);
    const call = dependencies('patient-app').find((e) => idOf(e) === parentOf(auditRequest));
    expect(call?.data?.baseData?.type).toBe('Http');
    expect(auditActivities.map(idOf)).toContain(parentOf(call));
  }

  const mongo = dependencies('patient-app').filter((e) => String(e.data?.baseData?.type).toLowerCase() === 'mongodb' && parentOf(e) === idOf(persist));
  expect(mongo.length).toBeGreaterThan(0);
  expect(dependencies('audit-app').some((e) => String(e.data?.baseData?.type).toLowerCase() === 'mongodb')).toBe(true);
});

test('the outcome is one custom event in the same operation, under its request', () => {
  const events = outcomeEvents(TRACE_ID);
  expect(events.map((e) => e.data?.baseData?.name)).toEqual(['PatientWriteCompleted']);
  const [event] = events;
  expect(parentOf(event)).toBe(idOf(named(requests('patient-app'), 'POST /api/patient')[0]));
  expect(event?.data?.baseData?.properties).toEqual({ writeKind: 'createPatient', outcome: 'completed', instanceId: expect.any(String) as string });
  // audit "attempted", persist, audit "succeeded"
  expect(event?.data?.baseData?.measurements?.attempts).toBe(3);
  expect(event?.data?.baseData?.measurements?.durationMs).toBeGreaterThan(0);
  const metrics = envelopes
    .filter((e) => e.data?.baseType === 'MetricData' && e.tags?.['ai.cloud.role'] === 'patient-app')
    .flatMap((e) => (e.data?.baseData?.['metrics'] as { name: string }[] | undefined) ?? [])
    .map((metric) => metric.name);
  expect(metrics).toEqual(expect.arrayContaining(['patient_records.write.duration', 'patient_records.write.attempts']));
});

test('a write answered 202 still emits its outcome once, in its own operation, when it ends', () => {
  expect(slow.status).toBe(202);
  const events = outcomeEvents(SLOW_TRACE_ID);
  expect(events.map((e) => e.data?.baseData?.name)).toEqual(['PatientWriteCompensated']);
  const [event] = events;
  expect(parentOf(event)).toBe(idOf(named(requests('patient-app', SLOW_TRACE_ID), 'POST /api/patient')[0]));
  expect(event?.data?.baseData?.properties).toEqual({
    writeKind: 'createPatient',
    outcome: 'compensated',
    instanceId: slow.operationId,
    reason: 'auditResultUnavailable',
  });
  // attempted, persist, five attempts of "succeeded", undo, compensated
  expect(event?.data?.baseData?.measurements?.attempts).toBe(9);
  // At least the audit policy's waits between those five attempts.
  expect(event?.data?.baseData?.measurements?.durationMs).toBeGreaterThanOrEqual(7_500);
});

test('a write support terminates emits one PatientWriteFailed (terminated), in its own operation', () => {
  expect(terminated).toMatchObject({ status: 202, terminate: 202 });
  const events = outcomeEvents(TERMINATED_TRACE_ID);
  expect(events.map((e) => e.data?.baseData?.name)).toEqual(['PatientWriteFailed']);
  const [event] = events;
  expect(parentOf(event)).toBe(idOf(named(requests('patient-app', TERMINATED_TRACE_ID), 'POST /api/patient')[0]));
  expect(event?.data?.baseData?.properties).toEqual({ writeKind: 'createPatient', outcome: 'failed', instanceId: terminated.operationId, reason: 'terminated' });
  // The failed attempts of its "attempted" record before the termination.
  expect(event?.data?.baseData?.measurements?.attempts).toBeGreaterThanOrEqual(1);
  expect(event?.data?.baseData?.measurements?.attempts).toBeLessThanOrEqual(5);
});

test('the audit records carry the operation id', async () => {
  const records = await fixture.client().db(auditDatabase).collection('audits').find({ resourceId: response.body.id }).toArray();
  expect(records.length).toBeGreaterThanOrEqual(2);
  for (const record of records) expect(record.telemetryOperationId).toBe(TRACE_ID);
});

/**
 * Whether a submitted value appears in the text. A value made only of hex digits (the postcode)
 * also occurs inside random ids and trace ids by chance, so it counts only where it stands alone.
 */
function leaked(text: string, value: string): boolean {
  if (!/^[0-9a-f]+$/i.test(value)) return text.includes(value);
  return new RegExp(`(?<![0-9a-f])${value}(?![0-9a-f])`, 'i').test(text);
}

test('no personal value or key in any envelope or log line, and nothing left the machine', () => {
  const logText = logs.map((entry) => entry.message).join('\n');
  const everything = [...ingestion.rawBodies(), logText].join('\n');
  for (const value of [...Object.values(PATIENT), AUDIT_KEY, API_KEY, SUPPORT_KEY]) expect({ value, leaked: leaked(everything, value) }).toEqual({ value, leaked: false });
  expect(everything).not.toMatch(/[?&]code=/);
  expect(logText).not.toContain('NON-LOOPBACK');
});
