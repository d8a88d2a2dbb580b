import { classifyWrite, REDACTED, redactPersonalData, supportStatusOf, writeKindOf } from '../../src/support';

const result = (fields: Record<string, unknown>) => ({
  v: 1,
  kind: 'createPatient',
  operationId: 'op',
  patientId: 'p',
  auditRecorded: ['attempted', 'succeeded'],
  ...fields,
});

describe('classifyWrite', () => {
  it.each([
    ['Running', undefined, 'running', 'inProgress', false],
    ['Pending', undefined, 'running', 'inProgress', false],
    ['Completed', result({ outcome: 'created' }), 'completed', 'succeeded', false],
    [
      'Completed',
      result({ outcome: 'conflict', auditRecorded: ['attempted', 'rejected'] }),
      'completed',
      'rejected',
      false,
    ],
    [
      'Completed',
      result({
        outcome: 'unavailable',
        failure: { step: 'auditResult', compensated: true },
        auditRecorded: ['attempted', 'compensated'],
      }),
      'completed',
      'compensated',
      true,
    ],
    [
      'Completed',
      result({ outcome: 'unavailable', failure: { step: 'auditAttempt', compensated: false }, auditRecorded: [] }),
      'completed',
      'failed',
      true,
    ],
    ['Completed', 'not a write result', 'completed', 'failed', true],
    ['Failed', "Orchestrator function 'x' failed: boom\n at stack", 'failed', 'failed', true],
    ['Terminated', 'operator asked', 'terminated', 'failed', true],
    ['Canceled', null, 'terminated', 'failed', true],
  ])('%s with %j is %s / %s', (runtimeStatus, output, status, outcome, needsAttention) => {
    expect(classifyWrite({ runtimeStatus, output })).toMatchObject({ status, outcome, needsAttention });
  });

  it('gives reasons without stack traces', () => {
    expect(
      classifyWrite({ runtimeStatus: 'Failed', output: "Orchestrator function 'x' failed: boom\n at stack" }).reason,
    ).toBe("Orchestrator function 'x' failed: boom");
    expect(
      classifyWrite({
        runtimeStatus: 'Completed',
        output: result({ outcome: 'unavailable', failure: { step: 'persist', compensated: false } }),
      }).reason,
    ).toBe('persist unavailable; nothing changed');
  });

  it('flags a succeeded write whose final audit record is missing', () => {
    expect(
      classifyWrite({
        runtimeStatus: 'Completed',
        output: result({ outcome: 'updated', auditRecorded: ['attempted'] }),
      }),
    ).toMatchObject({ outcome: 'succeeded', needsAttention: true, auditComplete: false });
  });
});

describe('names and statuses', () => {
  it('folds runtime statuses and recognises write orchestrators', () => {
    expect(supportStatusOf('Suspended')).toBe('running');
    expect(supportStatusOf('Canceled')).toBe('terminated');
    expect(writeKindOf('createTestResultOrchestrator')).toBe('createTestResult');
    expect(writeKindOf('somethingElse')).toBeUndefined();
  });
});

describe('redactPersonalData', () => {
  it('replaces personal fields at any depth and reduces sealed payloads to their key id', () => {
    const value = {
      patientId: 'p-1',
      patient: {
        firstName: 'Ada',
        last_name: 'Lovelace',
        DateOfBirth: '1815-12-10',
        contacts: [{ preferredContactNumber: '0400' }],
      },
      payload: { alg: 'A256GCM', keyId: 'k1', iv: 'x', ciphertext: 'secret-bytes', tag: 't' },
    };
    const out = redactPersonalData(value);
    expect(out).toEqual({
      patientId: 'p-1',
      patient: {
        firstName: REDACTED,
        last_name: REDACTED,
        DateOfBirth: REDACTED,
        contacts: [{ preferredContactNumber: REDACTED }],
      },
      payload: { sealed: true, alg: 'A256GCM', keyId: 'k1' },
    });
    expect(value.patient.firstName).toBe('Ada');
  });

  it('cuts long strings and deep nesting', () => {
    expect(redactPersonalData('x'.repeat(30), { maxStringLength: 10 })).toBe(`${'x'.repeat(10)}… [20 more characters]`);
    expect(redactPersonalData({ a: { b: { c: 1 } } }, { maxDepth: 2 })).toEqual({ a: { b: '[nested too deep]' } });
  });
});
