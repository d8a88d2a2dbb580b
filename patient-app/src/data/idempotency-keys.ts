import { type Collection, type Db, MongoServerError } from 'mongodb';

import { collections, type IdempotencyKeyDocument } from './documents';

/** One request's idempotency key and identity hashed with one HMAC key of the ring. */
export interface IdempotencyCandidate {
  keyHash: string;
  requestHash: string;
}

/** What a write with an `Idempotency-Key` should do. */
export type IdempotencyDecision =
  /** First use of the key: start the write under `operationId`. */
  | { kind: 'first'; operationId: string }
  /**
   * The key was used for the same request: answer from that write, start nothing. `matched` is the
   * index of the candidate whose record was found, i.e. the HMAC key that hashed the first request.
   */
  | { kind: 'repeat'; operationId: string; matched: number }
  /** The key was used for another request: `422`. */
  | { kind: 'mismatch' };

/**
 * The idempotency keys seen, as HMACs. Inserting the key's document is atomic (unique `_id`), so of
 * two concurrent requests with one key exactly one starts the write; the other waits on it.
 *
 * During a rotation of the HMAC key, a key has one hash per key of the ring. A repeat looks each
 * up, the current key's first (the record of a request sent before the rotation has only the old
 * key's hash); a first use records only the current key's hash. Two instances that call different
 * keys current (only while phase b of docs/key-rotation.md restarts them) therefore do not meet on
 * one record: that window is described there, under "Idempotency across the switch".
 */
export class IdempotencyKeys {
  private readonly keys: Collection<IdempotencyKeyDocument>;

  constructor(db: Db) {
    this.keys = db.collection<IdempotencyKeyDocument>(collections.idempotencyKeys);
  }

  /**
   * @param candidates the key and request hashed with each HMAC key of the ring, the current key's first.
   * @param operationId the write a first use starts.
   */
  async decide(candidates: readonly IdempotencyCandidate[], operationId: string, now: Date): Promise<IdempotencyDecision> {
    const [current] = candidates;
    if (current === undefined) throw new Error('An idempotency decision needs at least the current key');
    if (candidates.length > 1) {
      const hashes = candidates.map((candidate) => candidate.keyHash);
      const found = await this.keys.find({ _id: { $in: hashes }, _shardKey: { $in: hashes } }).toArray();
      for (const [index, candidate] of candidates.entries()) {
        const record = found.find((existing) => existing._id === candidate.keyHash);
        if (record) return judge(record, candidate, index);
      }
    }
    try {
      await this.keys.insertOne({ _id: current.keyHash, _shardKey: current.keyHash, requestHash: current.requestHash, operationId, createdAt: now });
      return { kind: 'first', operationId };
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
    }
    const existing = await this.keys.findOne({ _id: current.keyHash, _shardKey: current.keyHash });
    if (!existing) throw new Error('An idempotency key vanished between its insert and its read');
    return judge(existing, current, 0);
  }
}

/** A repeat when the record was made for the same request (as hashed with the key that found it), else a mismatch. */
function judge(record: IdempotencyKeyDocument, candidate: IdempotencyCandidate, matched: number): IdempotencyDecision {
  return record.requestHash === candidate.requestHash ? { kind: 'repeat', operationId: record.operationId, matched } : { kind: 'mismatch' };
}
