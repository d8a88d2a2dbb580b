import {
  ACTIVITY_NAMES,
  isPermanentFailure,
  ORCHESTRATION_NAMES,
  orchestrationNameFor,
  PermanentFailure,
  WRITE_KINDS,
} from '../src';

describe('write contract', () => {
  it('gives every write kind its own orchestration name, distinct from the activity names', () => {
    const names = [...WRITE_KINDS.map(orchestrationNameFor), ...Object.values(ACTIVITY_NAMES)];
    expect(new Set(names).size).toBe(WRITE_KINDS.length + Object.keys(ACTIVITY_NAMES).length);
    expect(Object.keys(ORCHESTRATION_NAMES).sort()).toEqual([...WRITE_KINDS].sort());
  });

  it('recognises permanent failures, also across a second copy of the class', () => {
    expect(isPermanentFailure(new PermanentFailure('notFound', 'patient not found'))).toBe(true);
    const lookalike = Object.assign(new Error('stale'), { name: 'PermanentFailure', code: 'conflict' });
    expect(isPermanentFailure(lookalike)).toBe(true);
    expect(isPermanentFailure(new Error('ECONNREFUSED'))).toBe(false);
  });
});
