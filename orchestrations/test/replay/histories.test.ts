/**
 * The replay regression gate: every recorded write history in `histories/` must replay against
 * today's orchestrator code on its recorded path. A change that would break writes in flight
 * (another step, order, retry policy or result) fails here.
 *
 * The histories were recorded from real runs of the write orchestrations (real durable-functions
 * engine, in-memory ports with injected faults) and saved in the `support export` format. To record
 * them again after an intended, versioned change: `RECORD_REPLAY_HISTORIES=1 npx jest --selectProjects
 * orchestrations test/replay/histories` — and say why in the commit.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { WriteDocument, WriteInput } from '../../src';
import { ACTIVITY_NAMES, ORCHESTRATION_NAMES, register, RETRY_POLICIES, WRITE_KINDS } from '../../src';
import type { OrchestrationExport } from '../../src/replay';
import {
  assertReplays,
  EXPORT_FORMAT,
  listHistoryFiles,
  readRecording,
  replay,
  todaysOrchestrators,
} from '../../src/replay';
import { createDriver, InMemoryAuditRegister, InMemoryPatientStore, TestPayloadCipher } from '../../src/testing';

const FOLDER = join(__dirname, 'histories');
/** Durable Task `HistoryEventType.ExecutionCompleted`, as the raw recordings number it. */
const EXECUTION_COMPLETED = 1;
const load = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

/** Values that must never appear in a recorded history (they are sealed in the input). */
const PATIENT: WriteDocument = {
  firstName: 'Philippa',
  lastName: 'Quarrendon',
  gender: 'female',
  dateOfBirth: '1970-03-14',
  postCode: '7Q2Z',
};
const TEST_RESULT: WriteDocument = {
  performer: 'Dr Ambrose Kettleworth',
  orderReference: 'ORD-99182',
  observations: [],
};

interface Scenario {
  kind: (typeof WRITE_KINDS)[number];
  arrange?: (ports: { store: InMemoryPatientStore; audit: InMemoryAuditRegister }) => void;
  expectedVersion?: number;
}

const SCENARIOS: Record<string, Scenario> = {
  'create-patient-succeeded': { kind: 'createPatient' },
  'create-patient-retried': { kind: 'createPatient', arrange: ({ audit }) => audit.faults.failNext('record', 2) },
  'create-patient-compensated': {
    kind: 'createPatient',
    arrange: ({ audit }) => audit.unavailableFor.add('succeeded'),
  },
  'create-patient-store-down': { kind: 'createPatient', arrange: ({ store }) => store.faults.down('createPatient') },
  'update-patient-succeeded': { kind: 'updatePatient' },
  'update-patient-conflict': { kind: 'updatePatient', expectedVersion: 7 },
  'delete-patient-succeeded': { kind: 'deletePatient' },
  'create-test-result-succeeded': { kind: 'createTestResult' },
  'create-test-result-compensated': {
    kind: 'createTestResult',
    arrange: ({ audit }) => audit.unavailableFor.add('succeeded'),
  },
};

async function record(name: string, scenario: Scenario): Promise<void> {
  const store = new InMemoryPatientStore();
  const audit = new InMemoryAuditRegister();
  const cipher = new TestPayloadCipher({ currentKeyId: 'k1', keys: { k1: randomBytes(32) } });
  const driver = createDriver((registrar) => register({ store, audit, cipher }, registrar), {
    startTime: new Date('2026-11-30T09:00:00.000Z'),
  });
  const operationId = `op-${name}`;
  const patientId = '5f0c2a9e-8d7b-4c61-a3e2-9b1d0e7f6a45';
  if (scenario.kind !== 'createPatient')
    store.seed({
      patientId,
      version: 1,
      deleted: false,
      document: { firstName: 'Before' },
      lastUpdated: '2026-11-01T00:00:00.000Z',
    });
  scenario.arrange?.({ store, audit });
  const base = { v: 1 as const, operationId, patientId, actor: { system: 'replay-fixtures', user: 'nurse-7' } };
  const input: WriteInput =
    scenario.kind === 'createPatient'
      ? { ...base, kind: 'createPatient', payload: cipher.seal(PATIENT, operationId) }
      : scenario.kind === 'updatePatient'
        ? {
            ...base,
            kind: 'updatePatient',
            payload: cipher.seal(PATIENT, operationId),
            ...(scenario.expectedVersion === undefined ? {} : { expectedVersion: scenario.expectedVersion }),
          }
        : scenario.kind === 'deletePatient'
          ? { ...base, kind: 'deletePatient' }
          : {
              ...base,
              kind: 'createTestResult',
              testId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
              payload: cipher.seal(TEST_RESULT, operationId),
            };
  const run = await driver.run(ORCHESTRATION_NAMES[scenario.kind], input, operationId);
  const exported: OrchestrationExport = {
    format: EXPORT_FORMAT,
    version: 1,
    exportedAt: new Date().toISOString(),
    source: 'orchestrations test driver (real durable-functions engine, in-memory ports)',
    instance: {
      name: run.name,
      instanceId: run.instanceId,
      runtimeStatus: run.status,
      input,
      output: run.output ?? run.error ?? null,
      customStatus: run.customStatus,
    },
    history: run.history,
  };
  writeFileSync(join(FOLDER, `${name}.json`), `${JSON.stringify(exported, null, 2)}\n`);
}

if (process.env.RECORD_REPLAY_HISTORIES === '1') {
  beforeAll(async () => {
    for (const [name, scenario] of Object.entries(SCENARIOS)) await record(name, scenario);
  });
}

describe("recorded write histories replay against today's code", () => {
  const files = listHistoryFiles(FOLDER);

  it('cover every write kind, and the retried and compensated paths', () => {
    expect(files.map((file) => file.slice(FOLDER.length + 1).replace(/\.json$/, ''))).toEqual(
      Object.keys(SCENARIOS).sort(),
    );
    const recordings = files.map((file) => readRecording(load(file)));
    expect(new Set(recordings.map((recording) => recording.orchestrator))).toEqual(
      new Set(WRITE_KINDS.map((kind) => ORCHESTRATION_NAMES[kind])),
    );
  });

  it.each(files.map((file) => [file.slice(FOLDER.length + 1), file]))('%s', async (_name, file) => {
    const result = await assertReplays(file, todaysOrchestrators().invoke, { strictInputs: true });
    expect(result.end).toBe('completed');
  });

  it('hold no personal data in clear text', () => {
    const text = files.map((file) => JSON.stringify(load(file))).join('\n');
    for (const value of [...Object.values(PATIENT), TEST_RESULT.performer, TEST_RESULT.orderReference])
      expect(text).not.toContain(String(value));
  });
});

describe('writes in flight when the outcome step was appended', () => {
  // Recorded by the code before the outcome step. An instance that had not ended when that step was
  // deployed resumes on today's code: cut before its end, each must take its recorded path and only
  // then go on to the new step (appending a step is replay-safe; inserting one would not be).
  const BEFORE = join(__dirname, 'before-outcome-step');
  const files = listHistoryFiles(BEFORE);

  it('cover the same paths as the current recordings', () => {
    expect(files.map((file) => file.slice(BEFORE.length + 1))).toEqual(
      listHistoryFiles(FOLDER).map((file) => file.slice(FOLDER.length + 1)),
    );
  });

  it.each(files.map((file) => [file.slice(BEFORE.length + 1), file]))('%s', async (_name, file) => {
    const recorded = load(file) as OrchestrationExport;
    const inFlight = {
      ...recorded,
      instance: { ...recorded.instance, runtimeStatus: 'Running', output: null },
      history: recorded.history.filter((event) => (event as { EventType?: unknown }).EventType !== EXECUTION_COMPLETED),
    };
    const result = await replay(readRecording(inFlight), todaysOrchestrators().invoke, { strictInputs: true });
    expect(result).toMatchObject({ ok: true, end: 'running' });
    expect(result.path.at(-1)).toEqual({
      step: expect.any(Number) as number,
      what: `CallActivityWithRetry ${ACTIVITY_NAMES.report}`,
      outcome: 'next (beyond the recording)',
    });
  });
});

describe('a changed orchestrator is caught', () => {
  const policy = RETRY_POLICIES.audit as { maxAttempts: number };
  const original = policy.maxAttempts;
  afterEach(() => {
    policy.maxAttempts = original;
  });

  it('when the audit retry policy allows fewer attempts than a recorded write used', async () => {
    // The retried write needed three audit attempts; with two, today's code gives up and takes another path.
    policy.maxAttempts = 2;
    const recording = readRecording(load(join(FOLDER, 'create-patient-retried.json')));
    const result = await replay(recording, todaysOrchestrators().invoke);
    expect(result.ok).toBe(false);
    expect(result.divergence).toMatchObject({ step: 1, today: 'gives up after 2 attempts' });
  });

  it('when another orchestrator runs the recorded write', async () => {
    const recording = readRecording(load(join(FOLDER, 'create-patient-succeeded.json')), {
      orchestrator: ORCHESTRATION_NAMES.deletePatient,
    });
    const result = await replay(recording, todaysOrchestrators().invoke);
    expect(result.ok).toBe(false);
  });
});
