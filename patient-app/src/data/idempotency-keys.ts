import { type Collection, type Db, MongoServerError } from 'mongodb';

import { collections, type IdempotencyKeyDocument, type IdempotencyRaceDocument } from './documents';

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

/** How many times `decide` decides again after a record vanished under it. */
const maxDecideRounds = 5;

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

/**
 * The idempotency keys seen, as HMACs. Inserting the key's document is atomic (unique `_id`), so of
 * two concurrent requests with one key exactly one starts the write; the other waits on it.
 *
 * During a rotation of the HMAC key, a key has one hash per key of the ring. A repeat looks each
 * up, the current key's first (the record of a request sent before the rotation has only the old
 * key's hash); a first use is recorded under the current key. While the switch restarts the app,
 * two instances may call different keys current, so two concurrent first uses of one key can both
 * record one: with more than one key in the ring, a write starts only after winning the key's race
 * document, whose id every instance of the rotation derives alike (all the ring's hashes), and the
 * loser follows the winner (docs/key-rotation.md, "Idempotency across the switch").
 */
export class IdempotencyKeys {
  private readonly keys: Collection<IdempotencyKeyDocument>;
  private readonly races: Collection<IdempotencyRaceDocument>;

  constructor(db: Db) {
    this.keys = db.collection<IdempotencyKeyDocument>(collections.idempotencyKeys);
    this.races = db.collection<IdempotencyRaceDocument>(collections.idempotencyKeys);
  }

  /**
   * @param candidates the key and request hashed with each HMAC key of the ring, the current key's first.
   * @param operationId the write a first use starts.
   */
  async decide(candidates: readonly IdempotencyCandidate[], operationId: string, now: Date): Promise<IdempotencyDecision> {
    const [current] = candidates;
    if (current === undefined) throw new Error('An idempotency decision needs at least the current key');
    // A record can vanish between our failed insert and our read only when its maker lost the race
    // below and deleted it; deciding again then finds the winner's record (or records ours). One
    // more round is enough; the bound only keeps the loop finite.
    for (let round = 1; ; round += 1) {
      const decision = await this.decideOnce(candidates, current, operationId, now);
      if (decision !== 'vanished') return decision;
      if (round >= maxDecideRounds) throw new Error('An idempotency key kept vanishing between its insert and its read');
    }
  }

  private async decideOnce(candidates: readonly IdempotencyCandidate[], current: IdempotencyCandidate, operationId: string, now: Date): Promise<IdempotencyDecision | 'vanished'> {
    if (candidates.length > 1) {
      const found = await this.find(candidates);
      if (found) return found;
    }
    try {
      await this.keys.insertOne({ _id: current.keyHash, _shardKey: current.keyHash, requestHash: current.requestHash, operationId, createdAt: now });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const existing = await this.keys.findOne({ _id: current.keyHash, _shardKey: current.keyHash });
      return existing ? judge(existing, current, 0) : 'vanished';
    }
    if (candidates.length === 1) return { kind: 'first', operationId };
    const winner = await this.race(candidates, { operationId, keyHash: current.keyHash }, now);
    if (winner.operationId === operationId) return { kind: 'first', operationId };
    // Another first use, under another key of the ring, won: its write is the one. Ours never
    // starts, so its record goes (a request that read it meanwhile settles through the race too).
    await this.keys.deleteOne({ _id: current.keyHash, _shardKey: current.keyHash, operationId });
    return this.judgeWinner(candidates, winner);
  }

  /**
   * For a repeat whose write has not started, with more than one key in the ring: the write that may
   * start, which is this one unless a first use under another key won the key's race.
   */
  async settle(candidates: readonly IdempotencyCandidate[], repeat: Extract<IdempotencyDecision, { kind: 'repeat' }>, now: Date): Promise<IdempotencyDecision> {
    const keyHash = candidates[repeat.matched]?.keyHash;
    if (keyHash === undefined) throw new Error('The repeat matched no key of the ring');
    const winner = await this.race(candidates, { operationId: repeat.operationId, keyHash }, now);
    return winner.operationId === repeat.operationId ? repeat : this.judgeWinner(candidates, winner);
  }

  /** The first record found, by the order of `candidates`, judged with the key that made it. */
  private async find(candidates: readonly IdempotencyCandidate[]): Promise<IdempotencyDecision | undefined> {
    const hashes = candidates.map((candidate) => candidate.keyHash);
    const found = await this.keys.find({ _id: { $in: hashes }, _shardKey: { $in: hashes } }).toArray();
    for (const [index, candidate] of candidates.entries()) {
      const record = found.find((existing) => existing._id === candidate.keyHash);
      if (record) return judge(record, candidate, index);
    }
    return undefined;
  }

  /** Claims the key's race for `claim` (an atomic insert); answers whoever holds it. */
  private async race(candidates: readonly IdempotencyCandidate[], claim: { operationId: string; keyHash: string }, now: Date): Promise<IdempotencyRaceDocument> {
    const id = raceIdOf(candidates);
    const document: IdempotencyRaceDocument = { _id: id, _shardKey: id, ...claim, createdAt: now };
    try {
      await this.races.insertOne(document);
      return document;
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const winner = await this.races.findOne({ _id: id, _shardKey: id });
    if (!winner) throw new Error('An idempotency race vanished between its insert and its read');
    return winner;
  }

  /** The winner's write, judged against the winner's record with the key that made it. */
  private async judgeWinner(candidates: readonly IdempotencyCandidate[], winner: IdempotencyRaceDocument): Promise<IdempotencyDecision> {
    const matched = candidates.findIndex((candidate) => candidate.keyHash === winner.keyHash);
    const candidate = candidates[matched];
    const record = candidate && (await this.keys.findOne({ _id: candidate.keyHash, _shardKey: candidate.keyHash }));
    if (!candidate || !record) throw new Error('The idempotency record of the write that won the race is missing');
    return judge(record, candidate, matched);
  }
}

/** The race document's id: every hash of the key under the ring, so every instance of one rotation derives the same. */
function raceIdOf(candidates: readonly IdempotencyCandidate[]): string {
  return `race:${candidates
    .map((candidate) => candidate.keyHash)
    .sort()
    .join(':')}`;
}

/** A repeat when the record was made for the same request (as hashed with the key that found it), else a mismatch. */
function judge(record: IdempotencyKeyDocument, candidate: IdempotencyCandidate, matched: number): IdempotencyDecision {
  return record.requestHash === candidate.requestHash ? { kind: 'repeat', operationId: record.operationId, matched } : { kind: 'mismatch' };
}
