import { HttpRequest } from '@azure/functions';

import { idempotencyKeyOf } from '../../src/http/inputs';

function withKey(key: string): HttpRequest {
  return new HttpRequest({ method: 'POST', url: 'http://localhost/api/patient', headers: { 'idempotency-key': key } });
}

describe('idempotencyKeyOf', () => {
  it('accepts 1 to 128 printable ASCII characters', () => {
    expect(idempotencyKeyOf(withKey('order-42_retry~1'))).toBe('order-42_retry~1');
    expect(idempotencyKeyOf(withKey('k'.repeat(128)))).toBe('k'.repeat(128));
  });

  it.each(['a,b', 'a, b', 'k'.repeat(129), 'two words', 'cl\u00e9'])(
    'refuses %s with 400 invalid_idempotency_key',
    (key) => {
      // A header sent twice reaches the app joined by a comma, so a comma would make two keys one.
      expect(() => idempotencyKeyOf(withKey(key))).toThrow(
        expect.objectContaining({ status: 400, code: 'invalid_idempotency_key' }),
      );
    },
  );
});
