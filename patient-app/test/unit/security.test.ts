import { randomBytes } from 'node:crypto';

import { isPermanentFailure } from '@patient-records/orchestrations';

import { canonicalJson, IdempotencyHasher } from '../../src/security/idempotency';
import { AesGcmPayloadCipher } from '../../src/security/payload-cipher';

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

  it('insists on a 32-byte key', () => {
    expect(() => new AesGcmPayloadCipher(randomBytes(16))).toThrow(/32 bytes/);
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

  it('writes canonical JSON', () => {
    expect(canonicalJson({ z: 1, a: [{ y: null, b: 'q' }], u: undefined })).toBe('{"a":[{"b":"q","y":null}],"z":1}');
  });
});
