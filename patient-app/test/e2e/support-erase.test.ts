/**
 * Erasing a deleted patient through the support API, end to end under two devhosts on the embedded
 * store: a patient is created, updated, refused a stale update, given a test result, deleted, and
 * refused a test result after; support's erasure is refused for what it must not touch (a patient
 * not deleted, an unknown one, a write still running, no audit record, no person, reason or key)
 * and then removes every personal value from the patient store and every write of the patient
 * from the task hub, while every read path answers as for a patient that never was.
 */
import { randomUUID } from 'node:crypto';

import type { Db } from 'mongodb';

import { EXIT, runCli } from '../../src/support/cli/support-cli';
import { loadOpenApi, OpenApiChecker, recordingFetch, type SeenAnswer, supportRouteOf } from '../support/openapi';
import { type Answer, call } from '../support/stack';
import { useSupportStack } from '../support/support-key';

jest.setTimeout(90_000);

const { stack, proxy, supportKey } = useSupportStack('support-erase');

const patient = {
  firstName: 'Wilhelmina',
  lastName: 'Achterberg-Pryce',
  gender: 'female',
  dateOfBirth: '1971-11-23',
  postCode: '8R4K',
  insuranceNumber: 'INS-6042-7718',
  preferredContactNumber: '+61 455 203 981',
};
const updated = { ...patient, postCode: '8R4L', preferredContactNumber: '+61 455 777 120' };
const testResult = {
  performer: 'Saltmarsh Pathology',
  orderReference: 'ORD-90311',
  observations: [
    {
      id: 'o-1',
      code: 'LDL',
      measurement: '4.83 mmol/L',
      interpretation: 'high',
      issued: '2026-03-04T05:06:07Z',
      status: 'final',
    },
  ],
};
const lateTest = { ...testResult, orderReference: 'ORD-90377', performer: 'Tidewater Clinic' };
/** Every value only this patient's requests carried. */
const personalValues = [
  ...Object.values(patient).filter((value) => value.length > 5),
  updated.preferredContactNumber,
  testResult.performer,
  testResult.orderReference,
  testResult.observations[0]!.measurement,
  lateTest.performer,
  lateTest.orderReference,
];

const checker = new OpenApiChecker(loadOpenApi('support-openapi.yaml'));
const seen: SeenAnswer[] = [];

async function erase(
  patientId: string,
  options: { reason?: unknown; user?: string | null; key?: string } = {},
): Promise<Answer> {
  const path = `/api/support/patients/${patientId}/erase`;
  const answer = await call(stack, 'POST', path, {
    key: options.key ?? supportKey,
    headers: options.user === null ? {} : { 'x-caller-user': options.user ?? 'support.tester' },
    body: { reason: options.reason ?? 'erasure request ER-2026-118 accepted' },
  });
  seen.push({
    method: 'POST',
    route: supportRouteOf(path),
    status: answer.status,
    headers: answer.headers,
    body: answer.body,
  });
  return answer;
}

/** Polls a write until it has ended (bounded: the retry policies end every write within a minute). */
async function ended(operationId: string): Promise<void> {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    const answer = await call(stack, 'GET', `/api/operations/${operationId}`);
    if (answer.status !== 202) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`write ${operationId} did not end`);
}

/** The collections of `db` whose documents contain any of `values`, with the value found. */
async function holding(db: Db, values: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    const text = JSON.stringify(await db.collection(name).find({}).toArray());
    for (const value of values) if (text.includes(value)) found.push(`${name}: ${value}`);
  }
  return found;
}

const operationOf = (answer: Answer): string => answer.headers.get('x-operation-id') ?? '';

describe('erasing a deleted patient', () => {
  let patientId = '';
  const operations: string[] = [];
  let running = '';

  it('keeps a patient that is not deleted, and knows no unknown one', async () => {
    const created = await call(stack, 'POST', '/api/patient', { body: patient });
    expect(created.status).toBe(201);
    patientId = String(created.body.id);
    const update = await call(stack, 'PUT', `/api/patient/${patientId}`, {
      body: updated,
      headers: { 'if-match': '"1"', 'idempotency-key': 'erase-e2e-update' },
    });
    // Refused (412), but its sealed request stays in the task hub: the erasure must find it there.
    const stale = await call(stack, 'PUT', `/api/patient/${patientId}`, {
      body: patient,
      headers: { 'if-match': '"1"' },
    });
    const test = await call(stack, 'POST', `/api/patient/${patientId}/tests`, { body: testResult });
    expect([update.status, stale.status, test.status]).toEqual([200, 412, 201]);
    operations.push(operationOf(created), operationOf(update), operationOf(stale), operationOf(test));

    const notDeleted = await erase(patientId);
    expect([notDeleted.status, notDeleted.body.error.code]).toEqual([409, 'patient_not_deleted']);
    const unknown = await erase(randomUUID());
    const notAnId = await erase('no%20such');
    expect([unknown.status, unknown.body.error.code, notAnId.status, notAnId.body.error.code]).toEqual([
      404,
      'patient_not_found',
      404,
      'patient_not_found',
    ]);
    expect((await call(stack, 'GET', `/api/patient/${patientId}`)).body.lastName).toBe(patient.lastName);
  });

  it('refuses while a write of the patient runs, and without an audit record, a person, a reason or the key', async () => {
    const deleted = await call(stack, 'DELETE', `/api/patient/${patientId}`);
    expect(deleted.status).toBe(204);
    operations.push(operationOf(deleted));

    // A test result sent after the delete keeps retrying its audit record: it runs.
    proxy.setRule((record) => (record['outcome'] === 'attempted' ? 'unavailable' : 'forward'));
    const late = await call(stack, 'POST', `/api/patient/${patientId}/tests`, { body: lateTest });
    expect(late.status).toBe(202);
    running = operationOf(late);
    const whileRunning = await erase(patientId);
    expect([whileRunning.status, whileRunning.body.error]).toEqual([
      409,
      expect.objectContaining({ code: 'write_running', details: { instanceIds: [running] } }),
    ]);
    proxy.setRule(() => 'forward');
    await ended(running);
    expect((await call(stack, 'GET', `/api/operations/${running}`)).status).toBe(404);
    operations.push(running);

    proxy.setRule((record) => (record['outcome'] === 'support-action' ? 'unavailable' : 'forward'));
    const unrecorded = await erase(patientId);
    proxy.setRule(() => 'forward');
    expect([unrecorded.status, unrecorded.body.error.code]).toEqual([503, 'audit_unavailable']);

    const refused = [
      await erase(patientId, { user: null }),
      await erase(patientId, { reason: 'no' }),
      await erase(patientId, { reason: 'two\nlines' }),
      await erase(patientId, { key: stack.patientKey }),
    ];
    expect(refused.map((answer) => [answer.status, answer.body.error.code])).toEqual([
      [400, 'support_user_required'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [401, 'support_key_required'],
    ]);

    // Nothing was erased: no erase version, the versions still hold the patient, every write is still in the task hub.
    const versions = await stack.patientDb().collection('patientVersions').find({ _shardKey: patientId }).toArray();
    expect(versions.map((version) => version['kind']).sort()).toEqual(['create', 'delete', 'update']);
    expect(await holding(stack.patientDb(), [patient.lastName])).toEqual(
      expect.arrayContaining([`patientVersions: ${patient.lastName}`]),
    );
    const instances = stack.taskHubDb().collection(`${stack.patients().hubName}_instances`);
    expect(await instances.countDocuments({ _id: { $in: operations as never[] } })).toBe(operations.length);
  });

  it('erases: no personal value in the patient store, no write of the patient in the task hub', async () => {
    const erased = await erase(patientId);
    expect(erased.status).toBe(200);
    expect(erased.body).toEqual({
      action: 'erase',
      patientId,
      actionId: expect.any(String),
      // create and update had content; the delete had none.
      versionsScrubbed: 2,
      testsRemoved: 1,
      instancesPurged: operations.length,
      instanceIds: expect.arrayContaining(operations),
    });
    expect(erased.body.instanceIds).toHaveLength(operations.length);

    expect(await holding(stack.patientDb(), personalValues)).toEqual([]);
    expect(await holding(stack.taskHubDb(), [patientId, ...operations])).toEqual([]);
    // The audit register holds ids and codes only: never a personal value, before or after.
    expect(await holding(stack.auditDb(), personalValues)).toEqual([]);
    const versions = await stack
      .patientDb()
      .collection('patientVersions')
      .find({ _shardKey: patientId })
      .sort({ version: 1 })
      .toArray();
    expect(versions.map((v) => [v['version'], v['kind'], v['operationId'], v['patient']])).toEqual([
      [1, 'create', operations[0], null],
      [2, 'update', operations[1], null],
      [3, 'delete', operations[4], null],
      [4, 'erase', erased.body.actionId, null],
    ]);

    const records = await stack
      .auditDb()
      .collection('audits')
      .find({ 'resource.operation': { $in: ['erase', 'purge'] } })
      .toArray();
    const erasure = records.filter((r) => r['resource'].operation === 'erase');
    expect(erasure.map((r) => [r['resource'], r['details'].phase])).toEqual(
      expect.arrayContaining([
        [{ type: 'patient', id: patientId, operation: 'erase', patientId }, 'requested'],
        [{ type: 'patient', id: patientId, operation: 'erase', patientId }, 'done'],
      ]),
    );
    expect(erasure.find((r) => r['details'].phase === 'done')?.['details']).toMatchObject({
      versionsScrubbed: 2,
      testsRemoved: 1,
      instancesPurged: operations.length,
    });
    const purged = records.filter((r) => r['resource'].operation === 'purge' && r['details'].phase === 'done');
    expect(purged.map((r) => r['instanceId']).sort()).toEqual([...operations].sort());
  });

  it('answers every read as for a patient that never was, and erases again with nothing left', async () => {
    const reads = [
      await call(stack, 'GET', `/api/patient/${patientId}`),
      await call(stack, 'GET', `/api/patient/${patientId}/tests`),
      await call(stack, 'GET', `/api/operations/${operations[0]!}`),
      await call(stack, 'GET', `/api/operations/${operations[3]!}`),
      await call(stack, 'GET', `/api/support/writes/${operations[0]!}`, {
        key: supportKey,
        headers: { 'x-caller-user': 'support.tester' },
      }),
    ];
    expect(reads.map((answer) => [answer.status, answer.body.error.code])).toEqual([
      [404, 'not_found'],
      [404, 'not_found'],
      [404, 'operation_not_found'],
      [404, 'operation_not_found'],
      [404, 'write_not_found'],
    ]);
    const search = await call(stack, 'POST', '/api/patient/search', { body: { lastName: patient.lastName } });
    expect([search.status, search.body]).toEqual([200, []]);
    const writes = await call(stack, 'GET', `/api/support/writes?patientId=${patientId}`, {
      key: supportKey,
      headers: { 'x-caller-user': 'support.tester' },
    });
    expect([writes.status, writes.body.items]).toEqual([200, []]);

    // Again, through the support CLI: nothing is left to erase.
    const out: string[] = [];
    const cli = await runCli(
      ['erase', patientId, '--reason', 'erasure re-run', '--json', '--base-url', `${stack.patients().url}/api/support`],
      {
        out: (text) => out.push(text),
        err: (text) => out.push(text),
        env: { SUPPORT_API_KEY: supportKey, SUPPORT_USER: 'cli.tester' },
        cwd: process.cwd(),
        repositoryRoot: process.cwd(),
        fetch: recordingFetch(seen),
        now: () => new Date(),
      },
    );
    expect([cli, JSON.parse(out.join('\n'))]).toEqual([
      EXIT.ok,
      {
        action: 'erase',
        patientId,
        actionId: expect.any(String),
        versionsScrubbed: 0,
        testsRemoved: 0,
        instancesPurged: 0,
        instanceIds: [],
      },
    ]);
    // Nothing writes the erased patient again. A repeat of its update under the same Idempotency-Key
    // finds the purged write's claim of an erased patient, and answers 404 as any write on it
    // (docs/support-runbook.md, "Erasing a deleted patient").
    const repeat = await call(stack, 'PUT', `/api/patient/${patientId}`, {
      body: updated,
      headers: { 'if-match': '"1"', 'idempotency-key': 'erase-e2e-update' },
    });
    const revived = await call(stack, 'PUT', `/api/patient/${patientId}`, { body: patient });
    expect([repeat.status, repeat.body.error.code, revived.status]).toEqual([404, 'not_found', 404]);
    const versions = await stack.patientDb().collection('patientVersions').find({ _shardKey: patientId }).toArray();
    expect(versions.map((version) => [version['kind'], version['patient']])).toEqual([
      ['create', null],
      ['update', null],
      ['delete', null],
      ['erase', null],
    ]);
  });

  it('gave only answers support-openapi.yaml describes', () => {
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.flatMap((answer) => checker.problems(answer))).toEqual([]);
  });
});
