/**
 * The write path without a host: WriteService starts the real write orchestrations (run by the
 * orchestrations' testing driver on the real durable-functions replay engine) against the real
 * MongoDB repository on the embedded store, and the answers are mapped to HTTP. The Durable client
 * is the one piece played here: it hands `startNew` to the driver and reports its runs as statuses.
 */
import { randomBytes } from 'node:crypto';

import { register } from '@patient-records/orchestrations';
import { createDriver, InMemoryAuditRegister, type OrchestrationDriver, type RunResult } from '@patient-records/orchestrations/testing';
import type { DurableClient } from 'durable-functions';

import { IdempotencyKeys } from '../../src/data/idempotency-keys';
import { MongoPatientRepository } from '../../src/data/patient-repository';
import { IdempotencyHasher, IdempotencyKeyRing } from '../../src/security/idempotency';
import { AesGcmPayloadCipher } from '../../src/security/payload-cipher';
import { RestartLinks } from '../../src/support/restart-links';
import { answerFor } from '../../src/writes/answers';
import { type WriteRequest, WriteService } from '../../src/writes/write-service';
import { useStore } from '../support/store';

const store = useStore();

/** Runs started instances through the driver; `hold` keeps a run from finishing until released. */
class DriverClient {
  readonly runs = new Map<string, { input: unknown; result?: RunResult; done: Promise<RunResult> }>();
  starts = 0;
  hold: Promise<void> | undefined;

  constructor(private readonly driver: OrchestrationDriver) {}

  startNew(name: string, options: { instanceId: string; input: unknown }): Promise<string> {
    this.starts += 1;
    const input = JSON.parse(JSON.stringify(options.input)) as unknown;
    const gate = this.hold ?? Promise.resolve();
    const entry: { input: unknown; result?: RunResult; done: Promise<RunResult> } = {
      input,
      done: gate.then(() => this.driver.run(name, input, options.instanceId)),
    };
    void entry.done.then((result) => (entry.result = result));
    this.runs.set(options.instanceId, entry);
    return Promise.resolve(options.instanceId);
  }

  getStatus(instanceId: string): Promise<unknown> {
    const run = this.runs.get(instanceId);
    if (!run) return Promise.reject(new Error(`DurableClient error: Durable Functions extension replied with HTTP 404 response. This usually means we could not find any data associated with the instanceId provided: ${instanceId}.`));
    if (!run.result) return Promise.resolve({ runtimeStatus: 'Running', input: run.input, output: null });
    return Promise.resolve({ runtimeStatus: run.result.status, input: run.input, output: run.result.output ?? null });
  }
}

let repository: MongoPatientRepository;
let audit: InMemoryAuditRegister;
let client: DriverClient;
let writes: WriteService;
let cipher: AesGcmPayloadCipher;

beforeAll(async () => {
  repository = new MongoPatientRepository(store.db());
  await repository.ensureIndexes();
  audit = new InMemoryAuditRegister();
  cipher = new AesGcmPayloadCipher(randomBytes(32));
  const driver = createDriver((registrar) => register({ store: repository, audit, cipher }, registrar));
  client = new DriverClient(driver);
  writes = new WriteService({ cipher, hashers: new IdempotencyKeyRing(randomBytes(32)), idempotencyKeys: new IdempotencyKeys(store.db()), waitTimeoutMs: 5_000, restarts: new RestartLinks(store.db()), storedWrites: repository });
});

const ada = { firstName: 'Adelina', lastName: 'Quorndale', gender: 'female', dateOfBirth: '1815-12-10', postCode: '2000', insuranceNumber: 'INS-77821' };
const durable = (): DurableClient => client as unknown as DurableClient;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
type Json = any;

async function write(request: Omit<WriteRequest, 'actor'>): Promise<{ status: number; headers: Record<string, string>; body: Json }> {
  const started = await writes.start(durable(), { actor: { system: 'test-consumer' }, ...request });
  if (started.kind === 'idempotencyMismatch') return { status: 422, headers: {}, body: undefined };
  const answer = answerFor(await writes.wait(durable(), started.operationId));
  return { status: answer.status ?? 200, headers: (answer.headers ?? {}) as Record<string, string>, body: answer.jsonBody };
}

describe('the write path', () => {
  it('creates a patient: 201 with the patient, Location and ETag, audited attempted then succeeded', async () => {
    const answer = await write({ kind: 'createPatient', document: ada });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ ...ada, id: expect.any(String), lastUpdated: expect.any(String) });
    expect(answer.headers['Location']).toBe(`/api/patient/${answer.body.id}`);
    expect(answer.headers['ETag']).toBe('"1"');
    expect((await repository.getPatient(answer.body.id))?.patient.lastName).toBe('Quorndale');
    expect(audit.outcomes(answer.headers['x-operation-id'])).toEqual(['attempted', 'succeeded']);
  });

  it('keeps personal data out of orchestration input, output and history', async () => {
    const answer = await write({ kind: 'createPatient', document: ada });
    const run = client.runs.get(answer.headers['x-operation-id']!)!;
    const recorded = JSON.stringify([run.input, run.result?.output, run.result?.history, run.result?.customStatuses]);
    for (const value of ['Adelina', 'Quorndale', 'INS-77821', '1815-12-10']) expect(recorded).not.toContain(value);
  });

  it('answers a repeated Idempotency-Key with the first result and starts nothing; another body is refused', async () => {
    const idempotency = { key: 'key-1', method: 'POST', route: '/api/patient', body: ada };
    const first = await write({ kind: 'createPatient', document: ada, idempotency });
    const starts = client.starts;
    const again = await write({ kind: 'createPatient', document: ada, idempotency });
    expect(client.starts).toBe(starts);
    expect(again).toEqual(first);
    const other = await write({ kind: 'createPatient', document: { ...ada, postCode: '3000' }, idempotency: { ...idempotency, body: { ...ada, postCode: '3000' } } });
    expect(other.status).toBe(422);
  });

  it('after an HMAC key rotation, a repeat whose first request stopped before starting its write starts it as the first would have', async () => {
    const oldKey = randomBytes(32);
    const before = new IdempotencyHasher(oldKey);
    const body = { ...ada, postCode: '5151' };
    const keyHash = before.keyHash('test-consumer', 'key-rotated');
    // The first request, under the old key, recorded the key and stopped before startNew.
    await new IdempotencyKeys(store.db()).decide(
      [{ keyHash, requestHash: before.requestHash('POST', '/api/patient', { body, expectedVersion: null }) }],
      before.operationId(keyHash),
      new Date(),
    );
    const rotated = new WriteService({
      cipher,
      hashers: new IdempotencyKeyRing(randomBytes(32), [oldKey]),
      idempotencyKeys: new IdempotencyKeys(store.db()),
      waitTimeoutMs: 5_000,
      restarts: new RestartLinks(store.db()),
      storedWrites: repository,
    });
    const started = await rotated.start(durable(), { actor: { system: 'test-consumer' }, kind: 'createPatient', document: body, idempotency: { key: 'key-rotated', method: 'POST', route: '/api/patient', body } });
    expect(started).toEqual({ kind: 'started', operationId: before.operationId(keyHash) });
    const answer = answerFor(await rotated.wait(durable(), before.operationId(keyHash)));
    expect(answer.status).toBe(201);
    expect((answer.jsonBody as { id: string }).id).toBe(before.derivedId(keyHash, 'patientId'));
  });

  it('updates with a current If-Match (200, next ETag) and refuses a stale one (412 with the current ETag)', async () => {
    const created = await write({ kind: 'createPatient', document: ada });
    const patientId = created.body.id as string;
    const updated = await write({ kind: 'updatePatient', patientId, expectedVersion: 1, document: { ...ada, postCode: '4000' } });
    expect(updated.status).toBe(200);
    expect(updated.headers['ETag']).toBe('"2"');
    expect(updated.body.postCode).toBe('4000');
    const stale = await write({ kind: 'updatePatient', patientId, expectedVersion: 1, document: ada });
    expect(stale.status).toBe(412);
    expect(stale.body.error.details.currentETag).toBe('"2"');
  });

  it('answers 404 for a missing patient on update, delete and test creation; 204 on delete', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await write({ kind: 'updatePatient', patientId: missing, document: ada })).status).toBe(404);
    expect((await write({ kind: 'deletePatient', patientId: missing })).status).toBe(404);
    const test = { performer: 'Lab', orderReference: 'O', observations: [] };
    expect((await write({ kind: 'createTestResult', patientId: missing, document: test })).status).toBe(404);
    const created = await write({ kind: 'createPatient', document: ada });
    const testAnswer = await write({ kind: 'createTestResult', patientId: created.body.id, document: test });
    expect(testAnswer.status).toBe(201);
    expect(testAnswer.headers['Location']).toBe(`/api/patient/${created.body.id}/tests/${testAnswer.body.id}`);
    const deleted = await write({ kind: 'deletePatient', patientId: created.body.id });
    expect(deleted.status).toBe(204);
    expect(await repository.getPatient(created.body.id)).toBeUndefined();
  });

  it('answers 503 with the operation id and Retry-After when audit-app stays down, with nothing written', async () => {
    audit.faults.down('record');
    try {
      const answer = await write({ kind: 'createPatient', document: ada });
      expect(answer.status).toBe(503);
      expect(answer.headers['Retry-After']).toBeDefined();
      expect(answer.body.error.details.operationId).toBe(answer.headers['x-operation-id']);
    } finally {
      audit.faults.recover('record');
    }
  });

  it('answers 202 with the operations link when the write does not finish in time, and the link answers later', async () => {
    let release: () => void = () => undefined;
    client.hold = new Promise((resolve) => (release = resolve));
    const started = await writes.start(durable(), { kind: 'createPatient', document: ada, actor: { system: 't' } });
    client.hold = undefined;
    if (started.kind !== 'started') throw new Error('expected a start');
    const running = answerFor(await writes.wait(durable(), started.operationId, 50));
    expect(running.status).toBe(202);
    expect((running.headers as Record<string, string>)['Location']).toBe(`/api/operations/${started.operationId}`);
    expect(JSON.stringify(running)).not.toMatch(/runtime\/webhooks|code=/);
    release();
    await client.runs.get(started.operationId)!.done;
    const later = answerFor(await writes.status(durable(), started.operationId));
    expect(later.status).toBe(201);
  });

  describe('when the Durable host cannot serve the task hub (its storage failing)', () => {
    // What the durable-functions client throws: a 5xx from the host, and a call that got no answer.
    const hostFailure = new Error('The operation failed with an unexpected status code: 500. Details: {"error":{"code":"host_error","message":"The Durable engine could not serve the request."}}');
    const noAnswer = Object.assign(new Error('read ECONNRESET'), { isAxiosError: true, code: 'ECONNRESET' });
    const failing = (error: Error, calls: ('startNew' | 'getStatus')[]): DurableClient =>
      ({
        startNew: (name: string, options: { instanceId: string; input: unknown }) => (calls.includes('startNew') ? Promise.reject(error) : client.startNew(name, options)),
        getStatus: (instanceId: string) => (calls.includes('getStatus') ? Promise.reject(error) : client.getStatus(instanceId)),
      }) as unknown as DurableClient;

    it.each([
      ['a 5xx', hostFailure],
      ['no answer', noAnswer],
    ])('a write whose start got %s answers 503 orchestration_unavailable with Retry-After, not 500', async (label, error) => {
      const refused = writes.start(failing(error, ['startNew', 'getStatus']), { kind: 'createPatient', document: ada, actor: { system: 't' }, idempotency: { key: `hub-down-${label}`, method: 'POST', route: '/api/patient', body: ada } });
      await expect(refused).rejects.toMatchObject({ status: 503, code: 'orchestration_unavailable', headers: { 'Retry-After': expect.any(String) } });
    });

    it('a status that cannot be read answers 503, and an unknown failure stays a 500', async () => {
      const started = await writes.start(durable(), { kind: 'createPatient', document: ada, actor: { system: 't' } });
      if (started.kind !== 'started') throw new Error('expected a start');
      await expect(writes.status(failing(hostFailure, ['getStatus']), started.operationId)).rejects.toMatchObject({ status: 503, code: 'orchestration_unavailable' });
      const bug = new Error('The operation failed with an unexpected status code: 400. Details: {}');
      await expect(writes.status(failing(bug, ['getStatus']), started.operationId)).rejects.toBe(bug);
    });
  });
});
