import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type FakeIngestion, startFakeIngestion, startStore, type Store, type TelemetryEnvelope } from '@patient-records/devhost';

// The real applicationinsights SDK, in two child processes standing in for the two apps, exporting
// to the local HTTPS ingestion endpoint. Asserts the operation and parent chain a real write must
// produce, the custom event, and that no personal value or key reaches telemetry or logs.

const fixtures = path.join(__dirname, '..', 'fixtures');
const PATIENT = { firstName: 'Zebedee', lastName: 'Quillfeather', dateOfBirth: '1961-07-14', email: 'zq@example.test' };
const FUNCTION_KEY = 'fk-telemetry-test-Wq9';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const APIM_SPAN_ID = '00f067aa0ba902b7';

let store: Store;
let storeDir: string;
let ingestion: FakeIngestion;
const children: ChildProcess[] = [];

interface Run {
  stdout: string;
  stderr: string;
}

function runNode(script: string, env: Record<string, string>, until: RegExp, timeoutMs = 45_000): { child: ChildProcess; ready: Promise<Run> } {
  const child = spawn(process.execPath, ['-r', path.join(fixtures, 'loopback-guard.js'), path.join(fixtures, script)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const run: Run = { stdout: '', stderr: '' };
  const ready = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${script} did not print ${String(until)} in time:\n${run.stdout}\n${run.stderr}`)); }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      run.stdout += chunk.toString();
      if (until.test(run.stdout)) {
        clearTimeout(timer);
        resolve(run);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!until.test(run.stdout)) reject(new Error(`${script} exited with ${String(code)}:\n${run.stdout}\n${run.stderr}`));
    });
  });
  return { child, ready };
}

let patientRun: Run;
let auditRun: Run;
let envelopes: TelemetryEnvelope[];

beforeAll(async () => {
  storeDir = mkdtempSync(path.join(os.tmpdir(), 'telemetry-store-'));
  store = await startStore({ dataDir: storeDir, log: () => undefined });
  ingestion = await startFakeIngestion();
  const env = ingestion.env();
  const audit = runNode('traced-app.js', { ...env, ROLE_NAME: 'audit-app' }, /LISTENING (\d+)/);
  auditRun = await audit.ready;
  const auditPort = /LISTENING (\d+)/.exec(auditRun.stdout)?.[1] ?? '';
  const patient = runNode(
    'traced-app.js',
    {
      ...env,
      ROLE_NAME: 'patient-app',
      AUDIT_URL: `http://127.0.0.1:${auditPort}`,
      MONGODB_URI: store.uri,
      DB_NAME: `telemetry_${process.pid}`,
      PATIENT_JSON: JSON.stringify(PATIENT),
      FUNCTION_KEY,
      APIM_TRACEPARENT: `00-${TRACE_ID}-${APIM_SPAN_ID}-01`,
    },
    /DONE/,
  );
  patientRun = await patient.ready;
  audit.child.kill('SIGTERM');
  envelopes = await ingestion.waitFor((all) => all.some((e) => e.tags?.['ai.cloud.role'] === 'audit-app' && e.data?.baseType === 'RequestData'));
  if (process.env.DUMP_TELEMETRY) writeFileSync(process.env.DUMP_TELEMETRY, JSON.stringify(envelopes, null, 1));
}, 90_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await ingestion.stop();
  await store.stop();
  rmSync(storeDir, { recursive: true, force: true });
});

const ofType = (baseType: string, role?: string): TelemetryEnvelope[] =>
  envelopes.filter((e) => e.data?.baseType === baseType && (role === undefined || e.tags?.['ai.cloud.role'] === role));
const named = (baseType: string, name: string): TelemetryEnvelope => {
  const found = ofType(baseType).find((e) => e.data?.baseData?.name === name);
  if (!found) throw new Error(`No ${baseType} named ${name} in ${envelopes.map((e) => `${e.data?.baseType ?? ''}:${JSON.stringify(e.data?.baseData?.name)}`).join(', ')}`);
  return found;
};
const idOf = (e: TelemetryEnvelope): unknown => e.data?.baseData?.id;
const parentOf = (e: TelemetryEnvelope): string | undefined => e.tags?.['ai.operation.parentId'];

test('one operation id from the APIM traceparent to audit-app, with the request → activity → dependency → request chain', () => {
  const request = named('RequestData', 'POST /api/patient');
  const auditActivity = named('RequestData', 'Activity writeAuditRecord');
  const persistActivity = named('RequestData', 'Activity persistPatient');
  const auditRequest = ofType('RequestData', 'audit-app')[0]!;
  const auditCall = ofType('RemoteDependencyData', 'patient-app').find((e) => e.data?.baseData?.type === 'Http' && String(e.data.baseData.target).startsWith('127.0.0.1'))!;
  const mongoCalls = ofType('RemoteDependencyData', 'patient-app').filter((e) => String(e.data?.baseData?.type).toLowerCase() === 'mongodb');

  for (const item of [request, auditActivity, persistActivity, auditRequest, auditCall, ...mongoCalls]) {
    expect(item.tags?.['ai.operation.id']).toBe(TRACE_ID);
  }
  expect(parentOf(request)).toBe(APIM_SPAN_ID);
  expect(parentOf(auditActivity)).toBe(idOf(request));
  expect(parentOf(persistActivity)).toBe(idOf(request));
  expect(parentOf(auditCall)).toBe(idOf(auditActivity));
  expect(parentOf(auditRequest)).toBe(idOf(auditCall));
  expect(mongoCalls.length).toBeGreaterThan(0);
  for (const call of mongoCalls) expect(parentOf(call)).toBe(idOf(persistActivity));

  expect(request.tags?.['ai.cloud.role']).toBe('patient-app');
  expect(auditRequest.tags?.['ai.cloud.role']).toBe('audit-app');
  expect(auditRequest.data?.baseData?.name).toBe('POST /api/auditrecord');
  // audit-app read the same operation id from the incoming traceparent (what its record stores).
  expect(patientRun.stdout).toContain(`"operationId":"${TRACE_ID}"`);
});

test('the write outcome is a custom event in the same operation, with kind, instance, attempts and duration', () => {
  const event = ofType('EventData').find((e) => e.data?.baseData?.name === 'PatientWriteCompleted');
  expect(event).toBeDefined();
  expect(event?.tags?.['ai.operation.id']).toBe(TRACE_ID);
  expect(event?.data?.baseData?.properties).toMatchObject({ writeKind: 'createPatient', instanceId: 'write-0001', outcome: 'completed' });
  expect(event?.data?.baseData?.measurements?.attempts).toBe(2);
  expect(typeof event?.data?.baseData?.measurements?.durationMs).toBe('number');
});

test('every trace is kept (no rate-limited sampling)', () => {
  for (const item of [...ofType('RequestData'), ...ofType('RemoteDependencyData')]) expect(item.sampleRate ?? 100).toBe(100);
});

test('no personal value, function key or key query reaches telemetry or logs', () => {
  const everything = [...ingestion.rawBodies(), patientRun.stdout, patientRun.stderr, auditRun.stdout, auditRun.stderr].join('\n');
  expect(ingestion.rawBodies().length).toBeGreaterThan(0);
  for (const value of [...Object.values(PATIENT), FUNCTION_KEY, 'code=']) expect(everything).not.toContain(value);
  expect(patientRun.stdout).toContain('[redacted]');
});

test('nothing left the machine', () => {
  expect(`${patientRun.stderr}${auditRun.stderr}`).not.toContain('NON-LOOPBACK');
});
