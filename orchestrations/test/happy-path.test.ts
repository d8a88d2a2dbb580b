import { ACTIVITY_NAMES, ORCHESTRATION_NAMES, type WriteResult } from '../src';
import { attempts, PATIENT, setup, TEST_RESULT } from './support/saga';

describe('write orchestrations, everything up', () => {
  it('creates a patient: audit attempted, persist, audit succeeded; answers references only', async () => {
    const { driver, input, store, audit } = setup();
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write, write.operationId);

    expect(run.status).toBe('Completed');
    const output = run.output as WriteResult;
    expect(output).toEqual({
      v: 1,
      kind: 'createPatient',
      operationId: write.operationId,
      patientId: write.patientId,
      outcome: 'created',
      version: 1,
      lastUpdated: expect.any(String),
      auditRecorded: ['attempted', 'succeeded'],
    });
    expect(store.patient(write.patientId)).toMatchObject({
      version: 1,
      deleted: false,
      document: PATIENT,
      lastUpdated: output.lastUpdated,
    });
    expect(audit.outcomes(write.operationId)).toEqual(['attempted', 'succeeded']);
    const [attempted, succeeded] = audit.list(write.operationId);
    expect(attempted).toMatchObject({
      operation: 'create',
      resource: { type: 'patient', id: write.patientId },
      actor: { system: 'test-suite', user: 'nurse-7' },
      instanceId: write.operationId,
    });
    expect(succeeded).toMatchObject({ version: 1 });
    expect(Date.parse(succeeded!.at)).toBeGreaterThanOrEqual(Date.parse(attempted!.at));
    expect(run.customStatus).toMatchObject({ step: 'done', kind: 'createPatient' });
    expect(attempts(run.activityCalls, ACTIVITY_NAMES.undo)).toBe(0);
  });

  it('updates with a matching If-Match version and answers the new version', async () => {
    const { driver, input, store, existing } = setup();
    const patientId = existing();
    const write = input('updatePatient', { patientId, expectedVersion: 1, document: { ...PATIENT, postCode: '1111' } });
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, write);

    expect(run.output).toMatchObject({ outcome: 'updated', version: 2 });
    expect(store.patient(patientId)).toMatchObject({ version: 2, document: { postCode: '1111' } });
  });

  it('updates without If-Match (unconditional)', async () => {
    const { driver, input, existing } = setup();
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, input('updatePatient', { patientId: existing() }));
    expect(run.output).toMatchObject({ outcome: 'updated', version: 2 });
  });

  it('deletes a patient as a new (tombstone) version', async () => {
    const { driver, input, store, audit, existing } = setup();
    const patientId = existing();
    const write = input('deletePatient', { patientId });
    const run = await driver.run(ORCHESTRATION_NAMES.deletePatient, write);

    expect(run.output).toMatchObject({ outcome: 'deleted', version: 2 });
    expect(store.patient(patientId)).toMatchObject({ deleted: true, version: 2 });
    expect(audit.list(write.operationId)[0]).toMatchObject({ operation: 'delete' });
  });

  it('creates a test result for an existing patient, audited as a test resource', async () => {
    const { driver, input, store, audit, existing } = setup();
    const patientId = existing();
    const write = input('createTestResult', { patientId });
    const run = await driver.run(ORCHESTRATION_NAMES.createTestResult, write);

    expect(write.kind).toBe('createTestResult');
    const testId = write.kind === 'createTestResult' ? write.testId : '';
    expect(run.output).toMatchObject({ outcome: 'created', testId, patientId, version: 1 });
    expect(store.testResult(testId)).toEqual({ patientId, document: TEST_RESULT });
    expect(audit.list(write.operationId)[0]).toMatchObject({
      operation: 'create',
      resource: { type: 'test', id: testId, patientId },
    });
  });

  it('replays its own recorded history to the same result (determinism)', async () => {
    const { driver, input } = setup();
    const write = input('createPatient');
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, write, 'replayed');
    const replay = await driver.episode(ORCHESTRATION_NAMES.createPatient, {
      history: run.history,
      input: write,
      instanceId: 'replayed',
    });
    expect(replay.isDone).toBe(true);
    expect(replay.output).toEqual(run.output);
  });

  it('fails the instance on an input that is not a write of its kind', async () => {
    const { driver, input } = setup();
    const run = await driver.run(ORCHESTRATION_NAMES.updatePatient, input('createPatient'));
    expect(run.status).toBe('Failed');
    expect(run.error).toContain('the input is for createPatient');
    expect(run.activityCalls).toHaveLength(0);
  });
});

describe('write orchestrations, malformed input', () => {
  it.each([
    ['no actor', { actor: null }],
    ['no patient id', { patientId: '' }],
    ['another contract version', { v: 2 }],
    ['no payload', { payload: undefined }],
  ])('fails the instance before any activity: %s', async (_case, change) => {
    const { driver, input } = setup();
    const run = await driver.run(ORCHESTRATION_NAMES.createPatient, { ...input('createPatient'), ...change });
    expect(run.status).toBe('Failed');
    expect(run.error).toMatch(/^createPatient: /);
    expect(run.activityCalls).toHaveLength(0);
  });
});
