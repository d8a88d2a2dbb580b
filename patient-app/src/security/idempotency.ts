import { createHmac } from 'node:crypto';

import { keyIdOf } from './payload-cipher';

/**
 * Turns the caller's `Idempotency-Key` and request into keyed hashes (HMAC-SHA256 with
 * `IDEMPOTENCY_HMAC_KEY`), so neither the key nor the body is stored or put into orchestration
 * history, and nobody without the key can link a stored hash to a guessed request.
 */
export class IdempotencyHasher {
  /** The key's name (`keyIdOf`): reveals nothing about it, and orders a ring's keys alike on every instance. */
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length < 16) throw new Error('IDEMPOTENCY_HMAC_KEY must be at least 16 bytes (base64-encoded)');
    this.keyId = keyIdOf(key);
  }

  /** The stored form of a key, scoped to the calling system so two consumers' keys never collide. */
  keyHash(caller: string, idempotencyKey: string): string {
    return this.hmac(['key', caller, idempotencyKey]);
  }

  /** What the key was used for: method, route and canonical body. A repeat with another request is 422. */
  requestHash(method: string, route: string, body: unknown): string {
    return this.hmac(['request', method.toUpperCase(), route, canonicalJson(body)]);
  }

  /** The orchestration instance (and operation) id a key maps to, so a repeat finds the same instance. */
  operationId(keyHash: string): string {
    return `idem-${keyHash.slice(0, 40)}`;
  }

  /** A UUID derived from the key (the new patient's or test's id), so a repeat assigns the same one. */
  derivedId(keyHash: string, purpose: string): string {
    const h = this.hmac(['id', purpose, keyHash]);
    const variant = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }

  private hmac(parts: string[]): string {
    const mac = createHmac('sha256', this.key);
    for (const part of parts) mac.update(`${part.length}:${part}`);
    return mac.digest('hex');
  }
}

/**
 * The HMAC keys idempotency keys are looked up with: the current one (`IDEMPOTENCY_HMAC_KEY`), which
 * hashes new keys, then the ones a rotation replaced (`IDEMPOTENCY_HMAC_PREVIOUS_KEYS`), so that a
 * repeat of a request sent before the rotation still finds its first write (docs/key-rotation.md).
 */
export class IdempotencyKeyRing {
  readonly current: IdempotencyHasher;
  /** The current hasher first, then the previous ones in the order configured. */
  readonly hashers: readonly IdempotencyHasher[];

  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    this.current = new IdempotencyHasher(current);
    // A key listed twice (or also current) is one key: it is looked up, and claimed, once.
    const byId = new Map([[this.current.keyId, this.current]]);
    for (const key of previous) {
      const hasher = new IdempotencyHasher(key);
      if (!byId.has(hasher.keyId)) byId.set(hasher.keyId, hasher);
    }
    this.hashers = [...byId.values()];
  }
}

/** JSON with object keys sorted, so the same body sent with keys in another order hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  if (value === undefined) return 'null';
  return JSON.stringify(value);
}
