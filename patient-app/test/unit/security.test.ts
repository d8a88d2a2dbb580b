import { randomBytes } from 'node:crypto';

import { isPermanentFailure } from '@patient-records/orchestrations';

import { canonicalJson, IdempotencyHasher, IdempotencyKeyRing } from '../../src/security/idempotency';
import { AesGcmPayloadCipher, keyIdOf } from '../../src/security/payload-cipher';

describe('AesGcmPayloadCipher', () => {
  const cipher = new AesGcmPayloadCipher(randomBytes(32));
  const document = { firstName: 'Grace', insuranceNumber: 'INS-42' };

  it('seals a document so that none of its values appear in the payload, and opens it again', async () => {
    const sealed = cipher.seal(document, 'createPatient:op-1');
    const text = JSON.stringify(sealed);
    expect(text).not.toContain('Grace');
    expect(text).not.toContain('INS-42');
    expect(await cipher.open(sealed)).toEqual(document);
  });

  it('refuses a payload that was tampered with, or sealed with another key', async () => {
    const sealed = cipher.seal(document, 'createPatient:op-1');
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(cipher.open({ ...sealed, ciphertext: flipped.toString('base64') })).rejects.toMatchObject({ code: 'rejected' });
    await expect(cipher.open({ ...sealed, aad: Buffer.from('createPatient:op-2').toString('base64') })).rejects.toMatchObject({ code: 'rejected' });
    const other = new AesGcmPayloadCipher(randomBytes(32));
    const error: unknown = await other.open(sealed).catch((e: unknown) => e);
    expect(isPermanentFailure(error)).toBe(true);
  });

  it('insists on 32-byte keys', () => {
    expect(() => new AesGcmPayloadCipher(randomBytes(16))).toThrow(/32 bytes/);
    expect(() => new AesGcmPayloadCipher(randomBytes(32), [randomBytes(32), randomBytes(31)])).toThrow(/PAYLOAD_ENCRYPTION_PREVIOUS_KEYS.*32 bytes/);
  });

  describe('across a rotation', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new AesGcmPayloadCipher(oldKey);
    const accepting = new AesGcmPayloadCipher(oldKey, [newKey]); // phase a: the new key is accepted, not used
    const switched = new AesGcmPayloadCipher(newKey, [oldKey]); // phase b: the new key seals, the old one still opens
    const after = new AesGcmPayloadCipher(newKey); // phase c: the old key is gone

    it('seals with the current key only', () => {
      expect(accepting.seal(document, 'op').keyId).toBe(keyIdOf(oldKey));
      expect(switched.seal(document, 'op').keyId).toBe(keyIdOf(newKey));
    });

    it('opens a payload sealed before the switch after it, and one sealed after the switch on an instance not yet switched', async () => {
      expect(await switched.open(before.seal(document, 'createPatient:op-1'))).toEqual(document);
      expect(await accepting.open(switched.seal(document, 'createPatient:op-2'))).toEqual(document);
    });

    it('once the old key is dropped, rejects an old payload naming its key id and no key material', async () => {
      const sealed = before.seal(document, 'createPatient:op-1');
      const error: unknown = await after.open(sealed).catch((e: unknown) => e);
      expect(isPermanentFailure(error)).toBe(true);
      expect(error).toMatchObject({ code: 'rejected' });
      expect((error as Error).message).toContain(keyIdOf(oldKey));
      expect((error as Error).message).toContain('PAYLOAD_ENCRYPTION_PREVIOUS_KEYS');
      expect((error as Error).message).not.toContain(oldKey.toString('base64'));
    });

    it('does not let a previous key open a payload that claims another key id', async () => {
      const sealed = before.seal(document, 'createPatient:op-1');
      await expect(switched.open({ ...sealed, keyId: keyIdOf(newKey) })).rejects.toMatchObject({ code: 'rejected' });
    });
  });
});

describe('IdempotencyHasher', () => {
  const hasher = new IdempotencyHasher(randomBytes(32));

  it('hashes the same body with keys in another order alike, and another body differently', () => {
    const a = hasher.requestHash('post', '/api/patient', { b: 1, a: { d: [1, 2], c: 'x' } });
    const b = hasher.requestHash('POST', '/api/patient', { a: { c: 'x', d: [1, 2] }, b: 1 });
    const c = hasher.requestHash('POST', '/api/patient', { a: { c: 'y', d: [1, 2] }, b: 1 });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('scopes keys to the caller and derives a stable operation id that does not contain the key', () => {
    const one = hasher.keyHash('consumer-a', 'my-key');
    expect(hasher.keyHash('consumer-a', 'my-key')).toBe(one);
    expect(hasher.keyHash('consumer-b', 'my-key')).not.toBe(one);
    expect(hasher.operationId(one)).toMatch(/^idem-[0-9a-f]{40}$/);
    expect(hasher.operationId(one)).not.toContain('my-key');
  });

  it('derives the same ids from the same hash and key, other ids under another key', () => {
    const key = randomBytes(32);
    const hasher = new IdempotencyHasher(key);
    const other = new IdempotencyHasher(randomBytes(32));
    const hash = hasher.keyHash('consumer-a', 'my-key');
    expect(hasher.derivedId(hash, 'patientId')).toBe(new IdempotencyHasher(Buffer.from(key)).derivedId(hash, 'patientId'));
    expect(hasher.derivedId(hash, 'patientId')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(other.keyHash('consumer-a', 'my-key')).not.toBe(hash);
    expect(other.derivedId(hash, 'patientId')).not.toBe(hasher.derivedId(hash, 'patientId'));
  });

  it('writes canonical JSON', () => {
    expect(canonicalJson({ z: 1, a: [{ y: null, b: 'q' }], u: undefined })).toBe('{"a":[{"b":"q","y":null}],"z":1}');
  });
});

describe('IdempotencyKeyRing', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('puts the current key first, then each previous key once, leaving out the current one if listed again', () => {
    const ring = new IdempotencyKeyRing(newKey, [oldKey, newKey, oldKey]);
    expect(ring.current.keyId).toBe(keyIdOf(newKey));
    expect(ring.hashers.map((hasher) => hasher.keyId)).toEqual([keyIdOf(newKey), keyIdOf(oldKey)]);
    expect(new IdempotencyKeyRing(newKey).hashers).toHaveLength(1);
  });

  it('hashes a key under each ring key as the single-key hasher of that key did', () => {
    const ring = new IdempotencyKeyRing(newKey, [oldKey]);
    const [current, previous] = ring.hashers;
    expect(current?.keyHash('c', 'k')).toBe(new IdempotencyHasher(newKey).keyHash('c', 'k'));
    expect(previous?.keyHash('c', 'k')).toBe(new IdempotencyHasher(oldKey).keyHash('c', 'k'));
    expect(previous?.requestHash('POST', '/api/patient', { a: 1 })).toBe(new IdempotencyHasher(oldKey).requestHash('POST', '/api/patient', { a: 1 }));
  });

  it('validates every key', () => {
    expect(() => new IdempotencyKeyRing(newKey, [randomBytes(8)])).toThrow(/16 bytes/);
  });
});
