/**
 * patient-app when its store fails during the persist step, end to end under two devhosts: the
 * write's audit `attempted` goes in, then patient-app's connections to the store are cut (a TCP
 * proxy drops them; the Durable engine and audit-app keep theirs). Persist retries to its policy's
 * limit, the orchestrator undoes (nothing landed) and records `failed`; the operation answers 503
 * with step `persist`; nothing is half-written; reads meanwhile answer 503; once the store is back
 * the next write succeeds without restarting anything.
 *
 * Timing: patient-app's client keeps its own 5 s server selection (explicit client options win
 * over the connection string's), so each of persist's 4 attempts waits up to 5 s: the failing
 * write takes about 25 s.
 */
import { ACTIVITY_NAMES, RETRY_POLICIES } from '@patient-records/orchestrations';

import { useAuditProxy } from '../support/audit-proxy';
import { type Answer, call, type Stack, useStack } from '../support/stack';
import { useStoreProxy } from '../support/store-proxy';

jest.setTimeout(90_000);

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
  patientEnv: { WRITE_WAIT_TIMEOUT_MS: '3000' },
});
holder.stack = stack;

const patient = { firstName: 'Wilhelmina', lastName: 'Quartermaine', gender: 'female', dateOfBirth: '1964-02', postCode: '3051' };

afterAll(() => {
  storeProxy.restore();
});

/** Follows an operations link until the write has finished (bounded). */
async function finished(location: string): Promise<Answer> {
  const deadline = Date.now() + 75_000;
  for (;;) {
    const answer = await call(stack, 'GET', location);
    if (answer.status !== 202 || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Resolves when the log shows `count` failed attempts of `activity` after log line `from`. */
function activityFailures(activity: string, count: number, from: number): Promise<void> {
  const deadline = Date.now() + 75_000;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const seen = stack.logs.slice(from).filter((entry) => JSON.stringify(entry).includes(`Activity '${activity}' failed`)).length;
      if (seen >= count) resolve();
      else if (Date.now() > deadline) reject(new Error(`saw ${seen} of ${count} failures of ${activity}`));
      else setTimeout(check, 100);
    };
    check();
  });
}

describe('patient-app when the store fails during persist', () => {
  it('answers 503 (step persist) with nothing written, the register shows attempted then failed, reads answer 503, and the next write succeeds once the store is back', async () => {
    const created = await call(stack, 'POST', '/api/patient', { body: patient });
    expect(created.status).toBe(201);
    const patientId = String(created.body.id);
    const etag = created.headers.get('etag')!;
    const versionsBefore = await stack.patientDb().collection('patientVersions').find({ patientId }).toArray();
    const documentBefore = await stack.patientDb().collection('patients').findOne({ _id: patientId as never });

    // Cut the store the moment the update's `attempted` record arrives (it is still forwarded and stored).
    let armed = true;
    auditProxy.setRule((record) => {
      if (armed && record['outcome'] === 'attempted') {
        armed = false;
        storeProxy.cut();
      }
      return 'forward';
    });
    const logFrom = stack.logs.length;
    const update = call(stack, 'PUT', `/api/patient/${patientId}`, { body: { ...patient, lastName: 'Featherstonehaugh' }, headers: { 'if-match': etag } });
    // Persist gives up after its policy's attempts; bring the store back so the undo can run.
    const persistGaveUp = activityFailures(ACTIVITY_NAMES.persist, RETRY_POLICIES.persist.maxAttempts, logFrom).then(() => storeProxy.restore());

    const started = await update;
    expect(storeProxy.isCut).toBe(true);
    expect(started.status).toBe(202);
    const operationId = started.headers.get('x-operation-id')!;
    auditProxy.setRule(() => 'forward');

    const read = await call(stack, 'GET', `/api/patient/${patientId}`);
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBeTruthy();
    expect(read.body.error.code).toBe('store_unavailable');

    await persistGaveUp;
    const done = await finished(started.headers.get('location')!);
    expect(done.status).toBe(503);
    expect(done.headers.get('retry-after')).toBeTruthy();
    expect(done.body.error.code).toBe('dependency_unavailable');
    expect(done.body.error.details).toMatchObject({ operationId, step: 'persist', compensated: false });

    // Nothing half-written: the patient and its version claims are as they were.
    expect(await stack.patientDb().collection('patients').findOne({ _id: patientId as never })).toEqual(documentBefore);
    expect(await stack.patientDb().collection('patientVersions').find({ patientId }).toArray()).toEqual(versionsBefore);
    const after = await call(stack, 'GET', `/api/patient/${patientId}`);
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).toBe(etag);
    expect(after.body.lastName).toBe(patient.lastName);

    // The audit register tells the story.
    const outcomes = (await stack.auditDb().collection('audits').find({ correlationId: operationId }).sort({ timestamp: 1, createdDate: 1 }).toArray()).map((r) => String(r['outcome']));
    expect(outcomes).toEqual(['attempted', 'failed']);

    // The store is back: the next write succeeds on the same running apps.
    const retried = await call(stack, 'PUT', `/api/patient/${patientId}`, { body: { ...patient, lastName: 'Featherstonehaugh' }, headers: { 'if-match': etag } });
    const retriedDone = retried.status === 202 ? await finished(retried.headers.get('location')!) : retried;
    expect(retriedDone.status).toBe(200);
    expect(retriedDone.body.lastName).toBe('Featherstonehaugh');
    expect(retriedDone.headers.get('etag')).not.toBe(etag);
  });
});
