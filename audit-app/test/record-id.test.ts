import { idFromKey } from '../src/records/store';

describe('idFromKey', () => {
  it('derives the same UUID-shaped id from the same system and key', () => {
    const id = idFromKey('patient-app', 'op-1:attempted');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(idFromKey('patient-app', 'op-1:attempted')).toBe(id);
  });

  it('gives different ids to different keys and to different calling systems', () => {
    const ids = new Set([
      idFromKey('patient-app', 'op-1:attempted'),
      idFromKey('patient-app', 'op-1:succeeded'),
      idFromKey('support-cli', 'op-1:attempted'),
      // The separator keeps "a\nb" + "c" apart from "a" + "b\nc".
      idFromKey('a', 'b:c'),
      idFromKey('a:b', 'c'),
    ]);
    expect(ids.size).toBe(5);
  });
});
