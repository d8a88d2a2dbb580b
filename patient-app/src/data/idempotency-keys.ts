import { type Collection, type Db, MongoServerError } from 'mongodb';

import { collections, type IdempotencyKeyDocument } from './documents';

/** What a write with an `Idempotency-Key` should do. */
export type IdempotencyDecision =
  /** First use of the key: start the write under `operationId`. */
  | { kind: 'first'; operationId: string }
  /** The key was used for the same request: answer from that write, start nothing. */
  | { kind: 'repeat'; operationId: string }
  /** The key was used for another request: `422`. */
  | { kind: 'mismatch' };

/**
 * The idempotency keys seen, as HMACs. Inserting the key's document is atomic (unique `_id`), so of
 * two concurrent requests with one key exactly one starts the write; the other waits on it.
 */
export class IdempotencyKeys {
  private readonly keys: Collection<IdempotencyKeyDocument>;

  constructor(db: Db) {
    this.keys = db.collection<IdempotencyKeyDocument>(collections.idempotencyKeys);
  }

  async decide(keyHash: string, requestHash: string, operationId: string, now: Date): Promise<IdempotencyDecision> {
    try {
      await this.keys.insertOne({ _id: keyHash, _shardKey: keyHash, requestHash, operationId, createdAt: now });
      return { kind: 'first', operationId };
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
    }
    const existing = await this.keys.findOne({ _id: keyHash, _shardKey: keyHash });
    if (!existing) throw new Error('An idempotency key vanished between its insert and its read');
    return existing.requestHash === requestHash ? { kind: 'repeat', operationId: existing.operationId } : { kind: 'mismatch' };
  }
}
