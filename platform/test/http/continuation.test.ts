import { BadRequestError, ContinuationTokens } from '../../src/http';

interface Position {
  at: string;
  id: string;
}

const isPosition = (value: unknown): value is Position =>
  typeof value === 'object' && value !== null && typeof (value as Position).at === 'string' && typeof (value as Position).id === 'string';

const position: Position = { at: '2026-01-01T00:00:00.000Z', id: 'abc' };

describe('ContinuationTokens', () => {
  const tokens = new ContinuationTokens('a-secret-key');

  it('round-trips a position within the same query', () => {
    const token = tokens.encode(position, 'resourceId=1');
    expect(tokens.decode(token, 'resourceId=1', isPosition)).toEqual(position);
  });

  it('is opaque: the token does not show the scope in clear text', () => {
    expect(tokens.encode(position, 'resourceId=secret-scope')).not.toContain('secret-scope');
  });

  const rejects = (token: string, scope = 'resourceId=1', codec = tokens): void => {
    let error: unknown;
    try {
      codec.decode(token, scope, isPosition);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_continuation_token' });
  };

  it.each(['', 'garbage', 'a.b.c', '!!!.???', 'x'.repeat(3000), 'eyJ9.abc'])('rejects garbage: %p', (token) => rejects(token));

  it('rejects a token whose payload was altered', () => {
    const token = tokens.encode(position, 'resourceId=1');
    const [, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ p: { at: '2030-01-01T00:00:00.000Z', id: 'abc' }, s: 'x' })).toString('base64url');
    rejects(`${forged}.${signature}`);
  });

  it('rejects a token signed with another key', () => {
    rejects(new ContinuationTokens('another-key').encode(position, 'resourceId=1'));
  });

  it('after a rotation, signs with the new key and still accepts tokens the previous key signed', () => {
    const rotated = new ContinuationTokens('the-new-key', ['a-secret-key']);
    const old = tokens.encode(position, 'resourceId=1');
    expect(rotated.decode(old, 'resourceId=1', isPosition)).toEqual(position);
    // New tokens carry the new key's signature: the old codec (which knows only its own key) refuses them.
    rejects(rotated.encode(position, 'resourceId=1'));
    expect(new ContinuationTokens('the-new-key').decode(rotated.encode(position, 'resourceId=1'), 'resourceId=1', isPosition)).toEqual(position);
    // A previous key is accepted only for its own tokens' signatures, not for the query binding or the shape.
    rejects(old, 'resourceId=2', rotated);
    rejects(new ContinuationTokens('yet-another-key').encode(position, 'resourceId=1'), 'resourceId=1', rotated);
  });

  it('rejects a token from another query', () => {
    rejects(tokens.encode(position, 'resourceId=2'));
  });

  it('rejects a correctly signed token whose position has the wrong shape', () => {
    rejects(tokens.encode({ at: 5 }, 'resourceId=1'));
  });

  it('without a key still checks integrity and shape', () => {
    const unsigned = new ContinuationTokens();
    const token = unsigned.encode(position, 'q');
    expect(unsigned.decode(token, 'q', isPosition)).toEqual(position);
    rejects(`${token}x`, 'q', unsigned);
  });
});
