import { ACTIVITY_NAMES, ORCHESTRATION_NAMES, RETRY_POLICIES, type WriteResult } from '../src';
import { attempts, PATIENT, setup } from './support/saga';

const output = (run: { output?: unknown }) => run.output as WriteResult;

describe('write orchestrations: permanent failures map to results, not retries', () => {
  it('updating an unknown patient is notFound after one persist attempt, audited as rejected', async () => {
    const { driver, input, audit } = setup();
    const write = input('updatePatient', { patientId: 'nobody' });
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, write);

    expect(run.status).toBe('Completed');
    expect(output(run)).toMatchObject({ outcome: 'notFound', auditRecorded: ['attempted', 'rejected'] });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.persist)).toBe(1);
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.undo)).toBe(0);
    expect(audit.list(write.operationId)[1]).toMatchObject({ outcome: 'rejected', reason: 'notFound' });
  });

  it('a stale If-Match is a conflict carrying the current version; nothing changes', async () => {
    const { driver, input, audit, store, existing } = setup();
    const patientId = existing();
    await driver.run(ORCHESTRATION_NAMES.updatePatient, input('updatePatient', { patientId, expectedVersion: 1 }));
    const stale = input('updatePatient', { patientId, expectedVersion: 1, document: { firstName: 'Late' } });
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, stale);

    expect(output(run)).toMatchObject({ outcome: 'conflict', currentVersion: 2 });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.persist)).toBe(1);
    expect(store.patient(patientId)).toMatchObject({ version: 2, document: PATIENT });
    expect(audit.list(stale.operationId).map((r) => [r.outcome, r.reason])).toEqual([
      ['attempted', undefined],
      ['rejected', 'conflict'],
    ]);
  });

  it('deleting an unknown patient is notFound', async () => {
    const { driver, input } = setup();
    const run = await driver.run(ORCHESTRATION_NAMES.deletePatient, input('deletePatient', { patientId: 'nobody' }));
    expect(output(run).outcome).toBe('notFound');
  });

  it('a test result for an unknown or deleted patient is notFound', async () => {
    const { driver, input, existing } = setup();
    const unknown = await driver.run(
      ORCHESTRATION_NAMES.createTestResult,
      input('createTestResult', { patientId: 'nobody' }),
    );
    expect(output(unknown).outcome).toBe('notFound');

    const patientId = existing();
    await driver.run(ORCHESTRATION_NAMES.deletePatient, input('deletePatient', { patientId }));
    const deleted = await driver.run(ORCHESTRATION_NAMES.createTestResult, input('createTestResult', { patientId }));
    expect(output(deleted).outcome).toBe('notFound');
  });

  it('audit-app refusing the attempt record (4xx) stops the write at once, without retries', async () => {
    const { driver, input, audit, store } = setup();
    audit.rejectOutcomes.add('attempted');
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write);

    expect(output(run)).toMatchObject({
      outcome: 'unavailable',
      failure: { step: 'auditAttempt', compensated: false },
      auditRecorded: [],
    });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.audit)).toBe(1);
    expect(store.patient(write.patientId)).toBeUndefined();
  });

  it('a payload that does not authenticate is not retried, changes nothing, and answers unavailable', async () => {
    const { driver, input, store } = setup();
    const write = input('createPatient');
    if (write.kind !== 'createPatient') throw new Error('unreachable');
    write.payload = { ...write.payload, ciphertext: Buffer.from('tampered').toString('base64') };
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write);

    expect(output(run)).toMatchObject({
      outcome: 'unavailable',
      failure: { step: 'persist', compensated: false },
      auditRecorded: ['attempted', 'rejected'],
    });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.persist)).toBe(1);
    expect(store.patient(write.patientId)).toBeUndefined();
  });
});

describe('write orchestrations: transient failures are retried by policy', () => {
  it('audit-app flaky for the attempt record: retried, then the write goes through', async () => {
    const { driver, input, audit } = setup();
    audit.faults.failNext('record', 2);
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient'));

    expect(output(run)).toMatchObject({ outcome: 'created', auditRecorded: ['attempted', 'succeeded'] });
    expect(run.activityCalls.filter((c) => c.name === ACTIVITY_NAMES.audit).map((c) => [c.attempt, c.ok])).toEqual([
      [1, false],
      [2, false],
      [3, true],
      [1, true],
    ]);
  });

  it('audit-app down from the start: the attempt is retried to the policy limit, nothing is written, 503', async () => {
    const { driver, input, audit, store } = setup();
    audit.faults.down('record');
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write);

    expect(output(run)).toMatchObject({
      outcome: 'unavailable',
      failure: { step: 'auditAttempt', compensated: false },
      auditRecorded: [],
    });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.audit)).toBe(RETRY_POLICIES.audit.maxAttempts);
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.persist)).toBe(0);
    expect(store.patient(write.patientId)).toBeUndefined();
  });

  it('a lost persist answer is retried and the store recognises the operation: one version, created', async () => {
    const { driver, input, store } = setup();
    store.faults.loseNextAnswers('createPatient', 1);
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write);

    expect(output(run)).toMatchObject({ outcome: 'created', version: 1 });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.persist)).toBe(2);
    expect(store.versionsClaimed(write.patientId)).toBe(1);
  });
});

describe('write orchestrations: compensation', () => {
  it('store down for good before anything changed: undo finds nothing, audit records failed, 503 not compensated', async () => {
    const { driver, input, audit, store } = setup();
    store.faults.down('createPatient');
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write);

    expect(output(run)).toMatchObject({
      outcome: 'unavailable',
      failure: { step: 'persist', compensated: false },
      auditRecorded: ['attempted', 'failed'],
    });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.persist)).toBe(RETRY_POLICIES.persist.maxAttempts);
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.undo)).toBe(1);
    expect(audit.list(write.operationId)[1]).toMatchObject({ outcome: 'failed', reason: 'persistUnavailable' });
    expect(store.patient(write.patientId)).toBeUndefined();
  });

  it('the store applied the change but every answer was lost: the change is undone, 503 compensated', async () => {
    const { driver, input, audit, store } = setup();
    store.faults.loseNextAnswers('createPatient', RETRY_POLICIES.persist.maxAttempts);
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write);

    expect(output(run)).toMatchObject({ outcome: 'unavailable', failure: { step: 'persist', compensated: true } });
    expect(store.patient(write.patientId)).toMatchObject({ deleted: true, version: 2 });
    expect(audit.outcomes(write.operationId)).toEqual(['attempted', 'failed']);
  });

  it('the success record cannot be written: the update is undone as a new version with the old content, recorded as compensated', async () => {
    const { driver, input, audit, store, existing } = setup();
    const patientId = existing('patient-x', { firstName: 'Before' });
    audit.unavailableFor.add('succeeded');
    const write = input('updatePatient', { patientId, expectedVersion: 1 });
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, write);

    expect(output(run)).toMatchObject({
      outcome: 'unavailable',
      failure: { step: 'auditResult', compensated: true },
      auditRecorded: ['attempted', 'compensated'],
    });
    expect(store.patient(patientId)).toMatchObject({ version: 3, deleted: false, document: { firstName: 'Before' } });
    expect(audit.list(write.operationId)[1]).toMatchObject({
      outcome: 'compensated',
      reason: 'auditUnavailable',
      version: 2,
    });
    expect(run.customStatuses).toContainEqual(expect.objectContaining({ step: 'compensating' }));
  });

  it('audit-app goes down after the attempt record: the create is undone; the register holds only "attempted", which reads as not in effect', async () => {
    const { driver, input, audit, store } = setup({
      beforeActivity: ({ name }) => {
        if (name === ACTIVITY_NAMES.persist) audit.faults.down('record');
      },
    });
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write);

    expect(output(run)).toMatchObject({
      outcome: 'unavailable',
      failure: { step: 'auditResult', compensated: true },
      auditRecorded: ['attempted'],
    });
    expect(audit.outcomes(write.operationId)).toEqual(['attempted']);
    expect(store.patient(write.patientId)).toMatchObject({ deleted: true });
  });

  it('a compensated delete brings the patient back', async () => {
    const { driver, input, audit, store, existing } = setup();
    const patientId = existing('patient-d', { firstName: 'Kept' });
    audit.unavailableFor.add('succeeded');
    const run = await driver.run(ORCHESTRATION_NAMES.deletePatient, input('deletePatient', { patientId }));

    expect(output(run)).toMatchObject({ outcome: 'unavailable', failure: { step: 'auditResult', compensated: true } });
    expect(store.patient(patientId)).toMatchObject({ deleted: false, version: 3, document: { firstName: 'Kept' } });
  });

  it('a compensated test result is removed', async () => {
    const { driver, input, audit, store, existing } = setup();
    const patientId = existing();
    audit.unavailableFor.add('succeeded');
    const write = input('createTestResult', { patientId });
    const run = await driver.run(ORCHESTRATION_NAMES.createTestResult, write);

    expect(output(run)).toMatchObject({ outcome: 'unavailable', failure: { step: 'auditResult', compensated: true } });
    expect(store.testResult(write.kind === 'createTestResult' ? write.testId : '')).toBeUndefined();
  });

  it('a later write replaced the change before it could be undone: it stays, and is recorded as succeeded (superseded)', async () => {
    const { driver, input, audit, store, existing } = setup({
      beforeActivity: async ({ name }) => {
        if (name !== ACTIVITY_NAMES.undo) return;
        // Another writer gets in between; then audit-app comes back.
        await store.updatePatient({
          operationId: 'other-writer',
          patientId: 'patient-s',
          at: '2026-01-01T00:05:00.000Z',
          document: { firstName: 'Other' },
        });
        audit.unavailableFor.delete('succeeded');
      },
    });
    const patientId = existing('patient-s');
    audit.unavailableFor.add('succeeded');
    const write = input('updatePatient', { patientId });
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, write);

    expect(output(run)).toMatchObject({ outcome: 'updated', version: 2, auditRecorded: ['attempted', 'succeeded'] });
    expect(audit.list(write.operationId)[1]).toMatchObject({ outcome: 'succeeded', reason: 'superseded', version: 2 });
    expect(store.patient(patientId)).toMatchObject({ version: 3, document: { firstName: 'Other' } });
  });

  it('undo failing for good fails the instance for support; a restart with the same input completes the write once', async () => {
    const { driver, input, audit, store } = setup();
    audit.unavailableFor.add('succeeded');
    store.faults.down('undo');
    const write = input('createPatient');
    const failed = await driver.run(ORCHESTRATION_NAMES.createPatient, write, 'instance-r');

    expect(failed.status).toBe('Failed');
    expect(failed.error).toContain(`Compensation of operation ${write.operationId} failed`);
    expect(failed.customStatus).toMatchObject({ step: 'compensationFailed' });
    expect(attempts(failed.activityCalls, ACTIVITY_NAMES.undo)).toBe(RETRY_POLICIES.compensation.maxAttempts);
    expect(store.patient(write.patientId)).toMatchObject({ version: 1, deleted: false });

    // Support restarts it once audit-app and the store are back.
    audit.unavailableFor.clear();
    store.faults.recover('undo');
    const restarted = await driver.run(ORCHESTRATION_NAMES.createPatient, write, 'instance-r');
    expect(output(restarted)).toMatchObject({ outcome: 'created', version: 1 });
    expect(store.versionsClaimed(write.patientId)).toBe(1);
    expect(audit.outcomes(write.operationId)).toEqual(['attempted', 'succeeded']);
  });

  it('every activity delivered twice (crash after completion): same answers, one version, no duplicate records', async () => {
    const { driver, input, audit, store, existing } = setup({ redeliver: () => true });
    const patientId = existing();
    const write = input('updatePatient', { patientId, expectedVersion: 1 });
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, write);

    expect(output(run)).toMatchObject({ outcome: 'updated', version: 2 });
    expect(store.versionsClaimed(patientId)).toBe(2);
    expect(audit.outcomes(write.operationId)).toEqual(['attempted', 'succeeded']);
    expect(store.faults.count('updatePatient')).toBe(2);
  });
});
