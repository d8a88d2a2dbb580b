import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import { BadRequestError } from './errors';

/** Tokens longer than this are refused before any decoding. */
const MAX_TOKEN_LENGTH = 2048;

// Used only when no key is configured: tokens are then still checked for integrity and shape, but
// anyone who reads this source can forge one (which gains nothing beyond the caller's own query).
const FALLBACK_KEY = 'patient-records/continuation-token/unsigned';

/**
 * Opaque, tamper-evident continuation tokens for keyset paging.
 *
 * A token carries the position after the last item of a page (e.g. its sort key and `_id`), bound to
 * the query it belongs to (`scope`, e.g. the canonical filter), and an HMAC-SHA256 over both. A
 * token that is garbage, altered, signed with another key, or replayed against another query is a
 * `400 invalid_continuation_token`; a valid one is handed back with a shape the caller checks.
 *
 * New tokens are signed with `key`; tokens signed with one of `previousKeys` are accepted too, so
 * that a key rotation does not break the paging a consumer is in the middle of.
 */
export class ContinuationTokens {
  private readonly key: Buffer;
  private readonly previousKeys: readonly Buffer[];

  /**
   * @param key the signing key (a secret setting); without one, tokens are integrity-checked only.
   * @param previousKeys keys a rotation replaced, still accepted for tokens they signed, never used to sign.
   */
  constructor(key?: string, previousKeys: readonly string[] = []) {
    this.key = Buffer.from(key === undefined || key === '' ? FALLBACK_KEY : key, 'utf8');
    this.previousKeys = previousKeys.filter((previous) => previous !== '').map((previous) => Buffer.from(previous, 'utf8'));
  }

  /** A token for `position` within the query identified by `scope`. */
  encode(position: unknown, scope: string): string {
    const payload = Buffer.from(JSON.stringify({ p: position, s: digest(scope) }), 'utf8').toString('base64url');
    return `${payload}.${sign(this.key, payload)}`;
  }

  /**
   * The position inside `token`, after checking its signature, its scope and its shape with `isPosition`.
   * @throws BadRequestError `invalid_continuation_token` when any check fails.
   */
  decode<T>(token: string, scope: string, isPosition: (value: unknown) => value is T): T {
    const invalid = (): BadRequestError =>
      new BadRequestError('The continuation token is not valid for this query.', { code: 'invalid_continuation_token' });
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw invalid();
    const [payload, signature, extra] = token.split('.');
    if (payload === undefined || signature === undefined || extra !== undefined) throw invalid();
    if (!/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]+$/.test(signature)) throw invalid();
    const given = Buffer.from(signature, 'utf8');
    const signedBy = (key: Buffer): boolean => {
      const expected = Buffer.from(sign(key, payload), 'utf8');
      return expected.length === given.length && timingSafeEqual(expected, given);
    };
    if (!signedBy(this.key) && !this.previousKeys.some(signedBy)) throw invalid();
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (typeof decoded !== 'object' || decoded === null) throw invalid();
    const { p, s } = decoded as { p?: unknown; s?: unknown };
    if (s !== digest(scope) || !isPosition(p)) throw invalid();
    return p;
  }

}

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

function digest(scope: string): string {
  return createHash('sha256').update(scope).digest('base64url').slice(0, 22);
}
