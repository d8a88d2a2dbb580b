/**
 * A support restart of a write whose compensation failed for good (docs/orchestration.md case 9),
 * at the orchestration level: the real write orchestrations on the real durable-functions replay
 * engine (the orchestrations' testing driver: virtual time, so the compensation policy's ten
 * attempts take no waiting), the real MongoDB repository on the embedded store, reached through a
 * TCP proxy that is cut the moment the undo starts. Each write takes effect, its `succeeded` record
 * cannot be written, its undo cannot reach the store, and the instance fails with the change in
 * effect. The restart (support's restart input: new operation id, `restartOf` naming the old one)
 * then applies nothing again: it answers with the version the old write produced and records the
 * missing `succeeded`. Seen end to end, with a terminated write, in e2e/support-restart.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import {
  ACTIVITY_NAMES,
  ORCHESTRATION_NAMES,
  register,
  type WriteInput,
  type WriteKind,
  type WriteResult,
} from '@patient-records/orchestrations';
import { createDriver, InMemoryAuditRegister, type OrchestrationDriver, type RunResult } from '@patient-records/orchestrations/testing';
import { MongoClient } from 'mongodb';

import { MongoPatientRepository } from '../../src/data/patient-repository';
import { AesGcmPayloadCipher } from '../../src/security/payload-cipher';
import { restartInputOf } from '../../src/support/support-service';
import { useStore } from '../support/store';
import { useStoreProxy } from '../support/store-proxy';

const store = useStore('restartfailed');
const proxy = useStoreProxy(() => store.store().uri);
const cipher = new AesGcmPayloadCipher(randomBytes(32));
const audit = new InMemoryAuditRegister();
let proxied: MongoClient | undefined;
let repository: MongoPatientRepository;
let driver: OrchestrationDriver;
/** Cuts the store when the undo starts while set: the compensation then fails for good. */
let cutAtUndo = false;

beforeAll(async () => {
  // A short server selection, so that each undo attempt against the cut store fails within a second.
  proxied = await MongoClient.connect(proxy.uri(store.store().uri), { serverSelectionTimeoutMS: 300 });
  repository = new MongoPatientRepository(proxied.db(store.db().databaseName));
  await repository.ensureIndexes();
  driver = createDriver((registrar) => register({ store: repository, audit, cipher }, registrar), {
    beforeActivity: ({ name }) => {
      if (cutAtUndo && name === ACTIVITY_NAMES.undo) proxy.cut();
    },
  });
});

afterAll(async () => {
  proxy.restore();
  await proxied?.close();
});

const ada = { firstName: 'Adaeze', lastName: 'Okonkwo', gender: 'female', dateOfBirth: '1980-04-02', postCode: '3121' };
const test = {
  performer: 'Lab',
  orderReference: 'ORD-9',
  observations: [{ id: 'o1', code: 'HB', measurement: '13.1', interpretation: 'normal', issued: '2026-01-02T03:04:05Z', status: 'final' }],
};

function writeInput(kind: WriteKind, patientId: string, document: Record<string, unknown> = {}): WriteInput {
  const operationId = randomUUID();
  const base = { v: 1 as const, operationId, patientId, actor: { system: 'test-consumer' } };
  // Sealed as patient-app's starter seals it: bound to the kind, operation and patient.
  const payload = cipher.seal(document, `${kind}:${operationId}:${patientId}`);
  switch (kind) {
    case 'createPatient':
    case 'updatePatient':
      return { ...base, kind, payload };
    case 'deletePatient':
      return { ...base, kind };
    case 'createTestResult':
      return { ...base, kind, testId: randomUUID(), payload };
  }
}

/** Runs `input` into case 9: in effect, `succeeded` not recorded, undo failed for good. */
async function failedInCompensation(input: WriteInput): Promise<RunResult> {
  audit.unavailableFor.add('succeeded');
  cutAtUndo = true;
  try {
    return await driver.run(ORCHESTRATION_NAMES[input.kind], input, input.operationId);
  } finally {
    cutAtUndo = false;
    proxy.restore();
    audit.unavailableFor.clear();
    await storeReachable();
  }
}

/** Waits until patient-app's client reaches the store again after a cut (bounded). */
async function storeReachable(): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await proxied?.db('admin').command({ ping: 1 });
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Support's restart of `old`: its input under a new operation id, `restartOf` naming it. */
function restart(old: WriteInput): Promise<RunResult> {
  const input = restartInputOf(old as unknown as Record<string, unknown>, randomUUID()) as unknown as WriteInput;
  return driver.run(ORCHESTRATION_NAMES[input.kind], input, input.operationId);
}

const claims = (patientId: string): Promise<number> =>
  store.db().collection('patientVersions').countDocuments({ _shardKey: patientId });

async function existingPatient(): Promise<string> {
  const patientId = randomUUID();
  await repository.createPatient({ operationId: randomUUID(), patientId, at: new Date().toISOString(), document: ada });
  return patientId;
}

function expectCompensationFailed(run: RunResult): void {
  expect(run.status).toBe('Failed');
  expect(run.customStatus).toMatchObject({ step: 'compensationFailed' });
  expect(run.activityCalls.filter((call) => call.name === ACTIVITY_NAMES.undo).every((call) => call.error !== undefined)).toBe(true);
}

describe('a support restart of a write whose compensation failed (case 9)', () => {
  it('an update without If-Match: answers the version the first write produced, applies nothing again, records the missing succeeded', async () => {
    const patientId = await existingPatient();
    const first = writeInput('updatePatient', patientId, { ...ada, postCode: '3999' });
    expectCompensationFailed(await failedInCompensation(first));
    expect(await repository.getPatient(patientId)).toMatchObject({ version: 2, patient: { postCode: '3999' } });
    expect(audit.outcomes(first.operationId)).toEqual(['attempted']);

    const restarted = await restart(first);
    expect(restarted.status).toBe('Completed');
    const output = restarted.output as WriteResult;
    expect(output).toMatchObject({ outcome: 'updated', version: 2, auditRecorded: ['attempted', 'succeeded'] });
    expect(await claims(patientId)).toBe(2);
    expect(await repository.getPatient(patientId)).toMatchObject({ version: 2, patient: { postCode: '3999' } });
    const [, succeeded] = audit.list(output.operationId);
    expect(succeeded).toMatchObject({ outcome: 'succeeded', version: 2, reason: 'alreadyApplied' });
  });

  it('a create and a delete: answered as created and deleted, not as a conflict and notFound', async () => {
    const createdId = randomUUID();
    const create = writeInput('createPatient', createdId, ada);
    expectCompensationFailed(await failedInCompensation(create));
    const recreated = await restart(create);
    expect(recreated.output).toMatchObject({ outcome: 'created', version: 1 });
    expect(await claims(createdId)).toBe(1);

    const deletedId = await existingPatient();
    const remove = writeInput('deletePatient', deletedId);
    expectCompensationFailed(await failedInCompensation(remove));
    const redeleted = await restart(remove);
    expect(redeleted.output).toMatchObject({ outcome: 'deleted', version: 2 });
    expect(await claims(deletedId)).toBe(2);
  });

  it("a test result: answered with the first write's test result, which the succeeded record names; the restart's new test id stays unused", async () => {
    const patientId = await existingPatient();
    const first = writeInput('createTestResult', patientId, test);
    if (first.kind !== 'createTestResult') throw new Error('not a test result');
    expectCompensationFailed(await failedInCompensation(first));

    const restarted = await restart(first);
    const output = restarted.output as WriteResult;
    expect(output).toMatchObject({ outcome: 'created', testId: first.testId, auditRecorded: ['attempted', 'succeeded'] });
    expect((await repository.listTestResults(patientId, { limit: 10 }))?.items.map((item) => item.id)).toEqual([first.testId]);
    const [attempted, succeeded] = audit.list(output.operationId);
    expect(attempted?.resource.id).not.toBe(first.testId);
    expect(succeeded).toMatchObject({ outcome: 'succeeded', reason: 'alreadyApplied', resource: { type: 'test', id: first.testId } });
  });
});
