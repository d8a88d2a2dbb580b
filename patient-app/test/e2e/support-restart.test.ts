/**
 * Support restarts of COMPENSATED writes, end to end under two devhosts: a create, an update with
 * `If-Match` and a test-result add each take effect, then audit-app turns unavailable for their
 * `succeeded` records (a proxy answers 503), so each change is undone and the write answers 503.
 * Once audit-app is back, support restarts each one, and the restart really applies it: the
 * create under the patient id the first write was given, the update despite its `If-Match` being
 * older than the undo, the test result under a new id. Each new write has its own operation id and
 * its own `attempted`/`succeeded` records. The consumer's operations link follows the restarts:
 * `202` to the restart while it runs, then the restart's answer, `x-restarted-as` naming it.
 */
import { randomBytes } from 'node:crypto';

import { settled } from '../support/drills';
import { type Answer, call } from '../support/stack';
import { useSupportStack } from '../support/support-key';

jest.setTimeout(90_000);

const { stack, proxy, support, ended } = useSupportStack('support-restart');

function auditOutcomes(operationId: string): Promise<string[]> {
  return stack
    .auditDb()
    .collection('audits')
    .find({ correlationId: operationId })
    .toArray()
    .then((records) => records.map((record) => String(record['outcome'])).sort());
}

const patient = { firstName: 'Perpetua', lastName: 'Oyelaran', gender: 'female', dateOfBirth: '1990-11-23', postCode: '7Q2W' };
const test = {
  performer: 'Lab',
  orderReference: 'ORD-7',
  observations: [{ id: 'o1', code: 'HB', measurement: '13.5', interpretation: 'normal', issued: '2026-01-02T03:04:05Z', status: 'final' }],
};

const createKey = `restart-e2e-${randomBytes(6).toString('hex')}`;

describe('restarting compensated writes', () => {
  const writes: Record<'create' | 'update' | 'test', string> = { create: '', update: '', test: '' };
  const restarted: Record<'create' | 'update' | 'test', string> = { create: '', update: '', test: '' };
  let existingId = '';

  it('compensates a create, an update with If-Match and a test result while audit-app cannot record their success', async () => {
    // The requests wait 500 ms only: on a loaded machine even this one may answer 202 first.
    const existing = await settled((location) => call(stack, 'GET', location), await call(stack, 'POST', '/api/patient', { body: patient }), 30_000);
    expect(existing.status).toBe(201);
    existingId = String(existing.body.id);

    proxy.setRule((record) => (record['outcome'] === 'succeeded' ? 'unavailable' : 'forward'));
    const started = await Promise.all([
      call(stack, 'POST', '/api/patient', { body: { ...patient, firstName: 'Created' }, headers: { 'idempotency-key': createKey } }),
      call(stack, 'PUT', `/api/patient/${existingId}`, { body: { ...patient, lastName: 'Updated' }, headers: { 'if-match': '"1"' } }),
      call(stack, 'POST', `/api/patient/${existingId}/tests`, { body: test }),
    ]);
    const [create, update, add] = started.map((answer) => answer.headers.get('x-operation-id') ?? '');
    Object.assign(writes, { create, update, test: add });
    for (const id of Object.values(writes)) {
      const detail = await ended(id);
      expect(detail.body.write).toMatchObject({ status: 'completed', outcome: 'compensated' });
    }
    proxy.setRule(() => 'forward');
    const read = await call(stack, 'GET', `/api/patient/${existingId}`);
    expect(read.body.lastName).toBe(patient.lastName);
    expect(read.headers.get('etag')).toBe('"3"');
  });

  it('restarts the compensated create: the patient is created under the id the first write was given, and the old operations link answers 201', async () => {
    const old = await ended(writes.create);
    const patientId = String(old.body.write.patientId);
    expect((await call(stack, 'GET', `/api/patient/${patientId}`)).status).toBe(404);
    const repeatCreate = (): Promise<Answer> =>
      call(stack, 'POST', '/api/patient', { body: { ...patient, firstName: 'Created' }, headers: { 'idempotency-key': createKey } });
    const before = await call(stack, 'GET', `/api/operations/${writes.create}`);
    expect(before.status).toBe(503);
    expect(before.headers.get('x-restarted-as')).toBeNull();
    expect((await repeatCreate()).status).toBe(503);

    const answer = await support('POST', `/writes/${writes.create}/restart`, { reason: 'audit-app back' });
    expect(answer.status).toBe(202);
    restarted.create = String(answer.body.newInstanceId);
    const detail = await ended(restarted.create);
    expect(detail.body.write).toMatchObject({ status: 'completed', outcome: 'succeeded', patientId });
    expect(detail.body.restartedFrom).toBe(writes.create);

    const read = await call(stack, 'GET', `/api/patient/${patientId}`);
    expect(read.status).toBe(200);
    expect(read.body.firstName).toBe('Created');
    // Versions never go back: 1 the first create, 2 its undo, 3 the restart.
    expect(read.headers.get('etag')).toBe('"3"');
    expect(await auditOutcomes(restarted.create)).toEqual(['attempted', 'succeeded']);
    expect(await auditOutcomes(writes.create)).toEqual(['attempted', 'compensated', 'support-action', 'support-action']);

    const followed = await call(stack, 'GET', `/api/operations/${writes.create}`);
    expect(followed.status).toBe(201);
    expect(followed.body).toMatchObject({ id: patientId, firstName: 'Created' });
    expect(followed.headers.get('location')).toBe(`/api/patient/${patientId}`);
    expect(followed.headers.get('etag')).toBe('"3"');
    expect(followed.headers.get('x-restarted-as')).toBe(restarted.create);
    expect(followed.headers.get('x-operation-id')).toBe(restarted.create);

    // A repeat with the first request's Idempotency-Key answers as the restart did, too.
    const repeated = await repeatCreate();
    expect(repeated.status).toBe(201);
    expect(repeated.body).toMatchObject({ id: patientId, firstName: 'Created' });
    expect(repeated.headers.get('etag')).toBe('"3"');
    expect(repeated.headers.get('x-restarted-as')).toBe(restarted.create);
  });

  it('restarts the compensated update twice (the first restart fails as audit-app is down again): its If-Match still holds, and the old link follows both', async () => {
    proxy.setRule((record) => (record['outcome'] === 'attempted' ? 'unavailable' : 'forward'));
    const first = await support('POST', `/writes/${writes.update}/restart`, { reason: 'audit-app back?' });
    const firstId = String(first.body.newInstanceId);
    const running = await call(stack, 'GET', `/api/operations/${writes.update}`);
    expect(running.status).toBe(202);
    expect(running.headers.get('location')).toBe(`/api/operations/${firstId}`);
    expect(running.headers.get('x-restarted-as')).toBe(firstId);
    expect(running.body).toMatchObject({ operationId: firstId, status: 'running' });
    expect((await ended(firstId)).body.write).toMatchObject({ status: 'completed', outcome: 'failed' });
    const failed = await call(stack, 'GET', `/api/operations/${writes.update}`);
    expect(failed.status).toBe(503);
    expect(failed.body.error.details).toMatchObject({ operationId: firstId, step: 'auditAttempt' });
    expect(failed.headers.get('x-restarted-as')).toBe(firstId);
    proxy.setRule(() => 'forward');

    const answer = await support('POST', `/writes/${firstId}/restart`, { reason: 'audit-app back' });
    restarted.update = String(answer.body.newInstanceId);
    const detail = await ended(restarted.update);
    expect(detail.body.write).toMatchObject({ status: 'completed', outcome: 'succeeded' });
    const read = await call(stack, 'GET', `/api/patient/${existingId}`);
    expect(read.body.lastName).toBe('Updated');
    expect(read.headers.get('etag')).toBe('"4"');
    expect(await auditOutcomes(restarted.update)).toEqual(['attempted', 'succeeded']);
    for (const asked of [writes.update, firstId]) {
      const followed = await call(stack, 'GET', `/api/operations/${asked}`);
      expect(followed.status).toBe(200);
      expect(followed.body.lastName).toBe('Updated');
      expect(followed.headers.get('etag')).toBe('"4"');
      expect(followed.headers.get('x-restarted-as')).toBe(restarted.update);
    }
  });

  it('restarts the compensated test result under a new test id', async () => {
    const old = await ended(writes.test);
    const answer = await support('POST', `/writes/${writes.test}/restart`, { reason: 'audit-app back' });
    restarted.test = String(answer.body.newInstanceId);
    const detail = await ended(restarted.test);
    expect(detail.body.write).toMatchObject({ status: 'completed', outcome: 'succeeded' });
    const testId = String(detail.body.write.testId);
    expect(testId).not.toBe(String(old.body.write.testId));
    const list = await call(stack, 'GET', `/api/patient/${existingId}/tests`);
    expect((list.body as { id: string }[]).map((item) => item.id)).toEqual([testId]);
    expect(await auditOutcomes(restarted.test)).toEqual(['attempted', 'succeeded']);

    // Support purges the old write's history: its operations link still leads to the restart.
    expect((await support('POST', `/writes/${writes.test}/purge`, { reason: 'investigated' })).status).toBe(200);
    const followed = await call(stack, 'GET', `/api/operations/${writes.test}`);
    expect(followed.status).toBe(201);
    expect(followed.headers.get('location')).toBe(`/api/patient/${existingId}/tests/${testId}`);
    expect(followed.headers.get('x-restarted-as')).toBe(restarted.test);
    // The restart itself answers as any write, without x-restarted-as.
    const direct = await call(stack, 'GET', `/api/operations/${restarted.test}`);
    expect(direct.status).toBe(201);
    expect(direct.headers.get('x-restarted-as')).toBeNull();
  });
});
