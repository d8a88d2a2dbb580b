import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

import type { PayloadCipher, SealedPayload, WriteDocument } from '@patient-records/orchestrations';
import { PermanentFailure } from '@patient-records/orchestrations';

const ivBytes = 12;

/** A short, stable name for a key that reveals nothing about it: the first 16 hex digits of its SHA-256. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * AES-256-GCM sealing of the documents that travel through orchestration input, so that history
 * holds no personal data in clear text. It seals with the current key (`PAYLOAD_ENCRYPTION_KEY`,
 * base64, 32 bytes) and opens with any key of its ring: the current one or one a rotation still
 * accepts (`PAYLOAD_ENCRYPTION_PREVIOUS_KEYS`), chosen by the payload's `keyId`, so a write sealed
 * before a rotation is still carried out, retried and restarted after it (docs/key-rotation.md).
 * A payload whose key left the ring fails with a clear `rejected` instead of garbage; `aad` binds
 * the payload to the write it was sealed for.
 */
export class AesGcmPayloadCipher implements PayloadCipher {
  private readonly keyId: string;
  /** Every key payloads are opened with, by key id: the current one and the previous ones. */
  private readonly ring = new Map<string, Buffer>();

  constructor(
    private readonly key: Buffer,
    previousKeys: readonly Buffer[] = [],
  ) {
    if (key.length !== 32) throw new Error('PAYLOAD_ENCRYPTION_KEY must be 32 bytes (base64-encoded)');
    if (previousKeys.some((previous) => previous.length !== 32)) throw new Error('Every PAYLOAD_ENCRYPTION_PREVIOUS_KEYS key must be 32 bytes (base64-encoded)');
    this.keyId = keyIdOf(key);
    for (const previous of previousKeys) this.ring.set(keyIdOf(previous), previous);
    this.ring.set(this.keyId, key);
  }

  /** Seals `document`; `aad` (ids only, no personal data) is authenticated but not encrypted. */
  seal(document: WriteDocument, aad: string): SealedPayload {
    const iv = randomBytes(ivBytes);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const aadBytes = Buffer.from(aad, 'utf8');
    cipher.setAAD(aadBytes);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(document), 'utf8'), cipher.final()]);
    return {
      alg: 'A256GCM',
      keyId: this.keyId,
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      aad: aadBytes.toString('base64'),
    };
  }

  /** Whether the payload's key is in the ring (it may still fail to authenticate). */
  hasKeyFor(payload: SealedPayload): boolean {
    return this.ring.has(payload.keyId);
  }

  open(payload: SealedPayload): Promise<WriteDocument> {
    try {
      return Promise.resolve(this.openSync(payload));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  openSync(payload: SealedPayload): WriteDocument {
    // The type says A256GCM; a payload from history or another version may say otherwise.
    if ((payload.alg as string) !== 'A256GCM') throw new PermanentFailure('rejected', 'The payload uses an unknown algorithm');
    const key = this.ring.get(payload.keyId);
    if (key === undefined) {
      throw new PermanentFailure(
        'rejected',
        `The payload was sealed with key ${payload.keyId}, which is neither PAYLOAD_ENCRYPTION_KEY nor one of PAYLOAD_ENCRYPTION_PREVIOUS_KEYS`,
      );
    }
    let text: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(payload.iv, 'base64'));
      if (payload.aad !== undefined) decipher.setAAD(Buffer.from(payload.aad, 'base64'));
      decipher.setAuthTag(Buffer.from(payload.tag, 'base64'));
      text = Buffer.concat([decipher.update(Buffer.from(payload.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new PermanentFailure('rejected', 'The payload does not authenticate');
    }
    const document: unknown = JSON.parse(text);
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      throw new PermanentFailure('rejected', 'The payload is not a JSON object');
    }
    return document as WriteDocument;
  }
}
