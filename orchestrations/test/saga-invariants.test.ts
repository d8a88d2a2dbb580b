import fc from 'fast-check';

import { type AuditOutcome, ORCHESTRATION_NAMES, type WriteKind, type WriteResult } from '../src';
import { PATIENT, setup } from './support/saga';

// Whatever fails, and however often: a write the caller is told took effect is in the store and on
// record as succeeded; a write the caller is told did not take effect left the store's content as
// it was and has no "succeeded" record; and the result lists exactly the records audit-app kept.
const OUTCOMES: AuditOutcome[] = ['attempted', 'succeeded', 'rejected', 'failed', 'compensated'];
const STORE_METHODS = {
  createPatient: 'createPatient',
  updatePatient: 'updatePatient',
  deletePatient: 'deletePatient',
  createTestResult: 'createTestResult',
} as const;

const scenario = fc.record({
  kind: fc.constantFrom<WriteKind>('createPatient', 'updatePatient', 'deletePatient', 'createTestResult'),
  expectedVersion: fc.constantFrom<number | undefined>(undefined, 1, 2),
  auditFailNext: fc.integer({ min: 0, max: 7 }),
  auditUnavailableFor: fc.subarray(OUTCOMES),
  auditRejects: fc.subarray(OUTCOMES, { maxLength: 1 }),
  persistFailNext: fc.integer({ min: 0, max: 5 }),
  persistLoseAnswers: fc.integer({ min: 0, max: 5 }),
  undoFailNext: fc.integer({ min: 0, max: 11 }),
  redeliver: fc.boolean(),
});

describe('write saga invariants under arbitrary faults', () => {
  it('the answer, the store and the audit register always agree', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const { driver, input, audit, store, existing } = setup({ redeliver: () => s.redeliver });
        const patientId = s.kind === 'createPatient' ? undefined : existing('patient-before', { firstName: 'Before' });
        const before = patientId === undefined ? undefined : store.patient(patientId);
        const write = input(s.kind, {
          ...(patientId === undefined ? {} : { patientId }),
          ...(s.expectedVersion === undefined ? {} : { expectedVersion: s.expectedVersion }),
        });

        audit.faults.failNext('record', s.auditFailNext);
        for (const outcome of s.auditUnavailableFor) audit.unavailableFor.add(outcome);
        for (const outcome of s.auditRejects) audit.rejectOutcomes.add(outcome);
        store.faults
          .failNext(STORE_METHODS[s.kind], s.persistFailNext)
          .loseNextAnswers(STORE_METHODS[s.kind], s.persistLoseAnswers);
        store.faults.failNext('undo', s.undoFailNext);

        const run = await driver.run(ORCHESTRATION_NAMES[s.kind], write);
        const recorded = audit.outcomes(write.operationId);

        if (run.status === 'Failed') {
          // Only when compensation could not finish; support restarts it.
          expect(run.customStatus).toMatchObject({ step: 'compensationFailed' });
          expect(recorded).not.toContain('succeeded');
          return;
        }
        const result = run.output as WriteResult;
        expect(result.auditRecorded).toEqual(recorded);
        const inEffect = ['created', 'updated', 'deleted'].includes(result.outcome);
        expect(recorded.includes('succeeded')).toBe(inEffect);

        if (write.kind === 'createTestResult') {
          expect(store.testResult(write.testId) !== undefined).toBe(inEffect);
          return;
        }
        const now = store.patient(write.patientId);
        if (inEffect) {
          expect(now?.version).toBe(result.version);
          if (write.kind === 'deletePatient') expect(now?.deleted).toBe(true);
          else expect(now).toMatchObject({ deleted: false, document: PATIENT });
        } else if (before === undefined) {
          expect(now === undefined || now.deleted).toBe(true);
        } else {
          expect(now).toMatchObject({ deleted: before.deleted, document: before.document! });
        }
      }),
      { numRuns: 100 },
    );
  });
});
