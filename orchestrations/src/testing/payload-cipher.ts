/**
 * AES-256-GCM sealing for tests of the orchestrations, so they run on real ciphertext (the
 * no-personal-data checks search history for the clear values). patient-app has the production
 * cipher; this one exists so orchestrations need not depend on the app. It takes a key ring, so
 * tests can rotate keys under writes in flight.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

import type { SealedPayload } from '../contract';
import { PermanentFailure } from '../errors';
import type { PayloadCipher, WriteDocument } from '../ports';

export interface PayloadKeyRing {
  /** The key new payloads are sealed with. */
  currentKeyId: string;
  /** Every key that may still be needed to open a payload: id → 32 bytes. */
  keys: Readonly<Record<string, Buffer>>;
}

export class TestPayloadCipher implements PayloadCipher {
  constructor(private readonly ring: PayloadKeyRing) {
    for (const [id, key] of Object.entries(ring.keys)) {
      if (key.length !== 32) throw new Error(`Payload key ${id} must be 32 bytes (AES-256), not ${key.length}`);
    }
    if (!(ring.currentKeyId in ring.keys))
      throw new Error(`The current payload key ${ring.currentKeyId} is not in the key ring`);
  }

  /** Seals `document`, bound to `aad` (e.g. the operation id) when given. */
  seal(document: WriteDocument, aad?: string): SealedPayload {
    const key = this.key(this.ring.currentKeyId);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(document), 'utf8'), cipher.final()]);
    return {
      alg: 'A256GCM',
      keyId: this.ring.currentKeyId,
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ...(aad === undefined ? {} : { aad }),
    };
  }

  open(payload: SealedPayload): Promise<WriteDocument> {
    try {
      if ((payload.alg as string) !== 'A256GCM')
        throw new PermanentFailure('rejected', `Unsupported payload algorithm ${payload.alg}`);
      const decipher = createDecipheriv('aes-256-gcm', this.key(payload.keyId), Buffer.from(payload.iv, 'base64'));
      if (payload.aad !== undefined) decipher.setAAD(Buffer.from(payload.aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(payload.tag, 'base64'));
      const text = Buffer.concat([
        decipher.update(Buffer.from(payload.ciphertext, 'base64')),
        decipher.final(),
      ]).toString('utf8');
      const document = JSON.parse(text) as unknown;
      if (typeof document !== 'object' || document === null || Array.isArray(document)) {
        throw new PermanentFailure('rejected', 'The sealed payload is not a JSON object');
      }
      return Promise.resolve(document as WriteDocument);
    } catch (error) {
      if (error instanceof PermanentFailure) return Promise.reject(error);
      // Authentication failures and malformed payloads: retrying cannot help. No details: they could echo content.
      return Promise.reject(
        new PermanentFailure('rejected', `The sealed payload (key ${payload.keyId}) could not be opened`),
      );
    }
  }

  private key(id: string): Buffer {
    const key = this.ring.keys[id];
    if (key === undefined) throw new PermanentFailure('rejected', `Unknown payload key ${id}`);
    return key;
  }
}
