/**
 * Support restarts of writes whose change stayed IN EFFECT, end to end under two devhosts: an
 * update without `If-Match` and a test-result add each take effect, audit-app cannot record their
 * `succeeded` (a proxy answers 503), and their undo cannot reach the store (patient-app's
 * connections are cut by a TCP proxy; the Durable engine and audit-app keep theirs). A real case 9
 * (`compensationFailed`) takes the compensation policy's four minutes, so support does what the
 * runbook says for a write stuck there: terminates it, leaving the change in effect as case 9
 * does (orchestration level, with the real case 9: integration/restart-failed-compensation.test.ts).
 * Once the store and audit-app are back, the restarts apply nothing again: they answer the
 * version and the test result the first writes produced, and record the `succeeded` that was
 * missing; the old operations links follow them.
 */
import { randomBytes } from 'node:crypto';

import { ACTIVITY_NAMES } from '@patient-records/orchestrations';

import { useAuditProxy } from '../support/audit-proxy';
import { settled, sleep } from '../support/drills';
import { type Answer, call, type Stack, useStack } from '../support/stack';
import { useStoreProxy } from '../support/store-proxy';
import { installSupportKey } from '../support/support-key';

jest.setTimeout(90_000);

const supportKey = `support-restart-in-effect-${randomBytes(8).toString('hex')}`;
const holder: { stack?: Stack } = {};
const stackOf = (): Stack => {
  if (!holder.stack) throw new Error('no stack');
  return holder.stack;
};
const auditProxy = useAuditProxy(() => stackOf().audit().url);
const storeProxy = useStoreProxy(() => stackOf().store().uri);
const stack = useStack({
  auditApiUrl: () => auditProxy.url(),
  patientMongoUri: (storeUri) => storeProxy.uri(storeUri),
  patientEnv: { SUPPORT_API_KEY: supportKey, WRITE_WAIT_TIMEOUT_MS: '500' },
});
holder.stack = stack;

beforeAll(() => installSupportKey(stack, supportKey));
afterAll(() => {
  storeProxy.restore();
});

const support = (method: string, path: string, body?: unknown): Promise<Answer> =>
  call(stack, method, `/api/support${path}`, {
    key: supportKey,
    headers: { 'x-caller-user': 'support.tester' },
    ...(body === undefined ? {} : { body }),
  });

/** Polls a write through the support API until `done` holds for its detail (bounded). */
async function writeDetail(instanceId: string, done: (write: Record<string, unknown>) => boolean): Promise<Answer> {
  for (let attempt = 0; attempt < 240; attempt += 1) {
    const answer = await support('GET', `/writes/${instanceId}`);
    if (answer.status === 200 && done(answer.body.write as Record<string, unknown>)) return answer;
    await sleep(250);
  }
  throw new Error(`write ${instanceId} did not get there`);
}
const ended = (instanceId: string): Promise<Answer> => writeDetail(instanceId, (write) => write['status'] !== 'running');

/** Resolves once the log shows a failed undo attempt of write `instanceId` (bounded). */
async function undoFailed(instanceId: string): Promise<void> {
  const failure = `Activity '${ACTIVITY_NAMES.undo}' failed (instance ${instanceId}`;
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if (stack.logs.some((entry) => entry.message.includes(failure))) return;
    await sleep(100);
  }
  throw new Error(`no failed undo attempt of ${instanceId}`);
}

/**
 * Resolves once every undo attempt the host started has ended, and none started for a second
 * (bounded; the writes are terminated, so no retry starts another).
 */
async function undoAttemptsEnded(): Promise<void> {
  const count = (what: string): number =>
    stack.logs.filter((entry) => entry.message.startsWith(`${what} 'Functions.${ACTIVITY_NAMES.undo}'`)).length;
  let quiet = 0;
  for (let attempt = 0; attempt < 300 && quiet < 10; attempt += 1) {
    quiet = count('Executing') === count('Executed') ? quiet + 1 : 0;
    await sleep(100);
  }
  if (quiet < 10 || count('Executing') === 0) throw new Error('an undo attempt did not end, or none was seen');
}

/** The audit records of a write's own steps (support's actions on it carry its id too). */
async function audits(operationId: string): Promise<Record<string, unknown>[]> {
  const records = await stack.auditDb().collection('audits').find({ correlationId: operationId }).toArray();
  return records.map((record) => record as Record<string, unknown>).filter((record) => record['outcome'] !== 'support-action');
}

const patient = { firstName: 'Ottoline', lastName: 'Brackwater', gender: 'female', dateOfBirth: '1977-03-19', postCode: '4K8P' };
const test = {
  performer: 'Lab',
  orderReference: 'ORD-31',
  observations: [{ id: 'o1', code: 'K', measurement: '4.1', interpretation: 'normal', issued: '2026-01-02T03:04:05Z', status: 'final' }],
};

describe('restarting writes whose change stayed in effect when their undo could not reach the store', () => {
  let patientId = '';
  const first = { update: '', test: '' };
  let firstTestId = '';

  it('updates without If-Match and adds a test result; their success cannot be recorded nor their change undone; support terminates them', async () => {
    const created = await settled((location) => call(stack, 'GET', location), await call(stack, 'POST', '/api/patient', { body: patient }), 30_000);
    expect(created.status).toBe(201);
    patientId = String(created.body.id);

    // Both changes must be in before the store goes: it is cut once both writes want their success recorded.
    const waiting = new Set<string>();
    auditProxy.setRule((record) => {
      if (record['outcome'] !== 'succeeded') return 'forward';
      waiting.add(String(record['correlationId']));
      if (waiting.size === 2 && !storeProxy.isCut) storeProxy.cut();
      return 'unavailable';
    });
    const started = await Promise.all([
      call(stack, 'PUT', `/api/patient/${patientId}`, { body: { ...patient, lastName: 'Updated' } }),
      call(stack, 'POST', `/api/patient/${patientId}/tests`, { body: test }),
    ]);
    [first.update, first.test] = started.map((answer) => answer.headers.get('x-operation-id') ?? '') as [string, string];
    // Support's reads need patient-app's store; its terminate does not.
    for (const id of Object.values(first)) await undoFailed(id);
    for (const id of Object.values(first)) {
      expect((await support('POST', `/writes/${id}/terminate`, { reason: 'stuck compensating behind the store' })).status).toBe(202);
    }
    // Terminating does not stop an undo attempt already running: let it fail against the cut store.
    await undoAttemptsEnded();
    storeProxy.restore();
    auditProxy.setRule(() => 'forward');
    for (const id of Object.values(first)) expect((await ended(id)).body.write).toMatchObject({ status: 'terminated' });
    firstTestId = String((await ended(first.test)).body.write.testId);

    // Both changes are in effect, and no undo claims a version after them.
    const claims = await stack.patientDb().collection('patientVersions').find({ _shardKey: patientId }).sort({ version: 1 }).toArray();
    expect(claims.map((claim) => [claim['version'], claim['kind'], claim['operationId']])).toEqual([
      [1, 'create', expect.any(String)],
      [2, 'update', first.update],
    ]);
    const read = await call(stack, 'GET', `/api/patient/${patientId}`);
    expect([read.status, read.body.lastName, read.headers.get('etag')]).toEqual([200, 'Updated', '"2"']);
    expect((await call(stack, 'GET', `/api/patient/${patientId}/tests/${firstTestId}`)).status).toBe(200);
    for (const id of Object.values(first)) expect((await audits(id)).map((record) => record['outcome'])).toEqual(['attempted']);
  });

  it('restarts the update: it answers the version the first write produced (no second version), records succeeded, and the old link follows it', async () => {
    const answer = await support('POST', `/writes/${first.update}/restart`, { reason: 'store back' });
    expect(answer.status).toBe(202);
    const restarted = String(answer.body.newInstanceId);
    expect((await ended(restarted)).body.write).toMatchObject({ status: 'completed', outcome: 'succeeded' });

    expect(await stack.patientDb().collection('patientVersions').countDocuments({ _shardKey: patientId })).toBe(2);
    const read = await call(stack, 'GET', `/api/patient/${patientId}`);
    expect([read.body.lastName, read.headers.get('etag')]).toEqual(['Updated', '"2"']);
    const records = await audits(restarted);
    expect(records.map((record) => record['outcome']).sort()).toEqual(['attempted', 'succeeded']);
    expect(records.find((record) => record['outcome'] === 'succeeded')).toMatchObject({ version: 2, reason: 'alreadyApplied' });

    const followed = await call(stack, 'GET', `/api/operations/${first.update}`);
    expect([followed.status, followed.body.lastName, followed.headers.get('etag')]).toEqual([200, 'Updated', '"2"']);
    expect(followed.headers.get('x-restarted-as')).toBe(restarted);
  });

  it('restarts the test result: it answers with the test result the first write added, not a second one under its new id', async () => {
    const answer = await support('POST', `/writes/${first.test}/restart`, { reason: 'store back' });
    const restarted = String(answer.body.newInstanceId);
    expect((await ended(restarted)).body.write).toMatchObject({ status: 'completed', outcome: 'succeeded', testId: firstTestId });

    const list = await call(stack, 'GET', `/api/patient/${patientId}/tests`);
    expect((list.body as { id: string }[]).map((item) => item.id)).toEqual([firstTestId]);
    const succeeded = (await audits(restarted)).find((record) => record['outcome'] === 'succeeded');
    expect(succeeded).toMatchObject({ reason: 'alreadyApplied', resourceId: firstTestId });

    const followed = await call(stack, 'GET', `/api/operations/${first.test}`);
    expect(followed.status).toBe(201);
    expect(followed.headers.get('location')).toBe(`/api/patient/${patientId}/tests/${firstTestId}`);
    expect(followed.headers.get('x-restarted-as')).toBe(restarted);
  });
});
