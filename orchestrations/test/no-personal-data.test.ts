import { ORCHESTRATION_NAMES, type WriteDocument } from '../src';
import type { RunResult } from '../src/testing';
import { PATIENT, setup, TEST_RESULT } from './support/saga';

/** Every clear-text value a caller submitted that would identify the patient or their results. */
const SUBMITTED = [
  PATIENT.firstName,
  PATIENT.lastName,
  PATIENT.fullName,
  PATIENT.dateOfBirth,
  PATIENT.postCode,
  PATIENT.insuranceNumber,
  PATIENT.preferredContactNumber,
  TEST_RESULT.performer,
  TEST_RESULT.orderReference,
  '48 mmol/mol',
  'Quixwortha-Updated',
] as string[];

/** Everything the Durable runtime would store or show: input, history, output, custom status, activity inputs and results. */
function recorded(run: RunResult): string {
  return JSON.stringify({
    history: run.history,
    output: run.output,
    error: run.error,
    customStatuses: run.customStatuses,
    calls: run.activityCalls,
  });
}

describe('no personal data in orchestration input, history, output or custom status', () => {
  it('holds for every write kind and for the compensation paths', async () => {
    const { driver, input, audit, store, existing } = setup();
    const patientId = existing();
    const updated: WriteDocument = { ...PATIENT, lastName: 'Quixwortha-Updated' };
    const runs: RunResult[] = [];
    runs.push(await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient')));
    runs.push(
      await driver.run(ORCHESTRATION_NAMES.updatePatient, input('updatePatient', { patientId, document: updated })),
    );
    runs.push(await driver.run(ORCHESTRATION_NAMES.createTestResult, input('createTestResult', { patientId })));
    // The runs did carry the data to the store (so the search below is not vacuous)...
    expect(store.patient(patientId)?.document).toMatchObject({ lastName: 'Quixwortha-Updated' });
    audit.unavailableFor.add('succeeded');
    runs.push(
      await driver.run(ORCHESTRATION_NAMES.updatePatient, input('updatePatient', { patientId, document: updated })),
    );
    store.faults.down('undo');
    runs.push(await driver.run(ORCHESTRATION_NAMES.createPatient, input('createPatient')));
    runs.push(await driver.run(ORCHESTRATION_NAMES.deletePatient, input('deletePatient', { patientId })));

    // The last two hit a compensation that could not run: failed instances for support.
    expect(runs.map((run) => run.status)).toEqual([
      'Completed',
      'Completed',
      'Completed',
      'Completed',
      'Failed',
      'Failed',
    ]);
    // ...but none of it appears anywhere the runtime records, nor in the audit register.
    const haystacks = [...runs.map(recorded), JSON.stringify(audit.list())];
    for (const value of SUBMITTED) {
      for (const haystack of haystacks) expect(haystack).not.toContain(value);
    }
  });
});
