import type { Db } from 'mongodb';

import type { Answer } from './stack';

/**
 * A seeded pseudo-random source (mulberry32) for the fault drills: the seed is printed, and
 * `DRILL_SEED=<n>` replays a run's choices (kill points, pauses, outage timing).
 */
export interface Drand {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
}

export function seededRandom(drill: string): Drand {
  const fromEnv = process.env['DRILL_SEED'];
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;
  console.info(`[${drill}] seed ${seed} (DRILL_SEED=${seed} replays this run's choices)`);
  let state = seed;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { seed, next, between: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A valid, distinct patient for write number `n` of a drill. */
export function drillPatient(drill: string, n: number): Record<string, string> {
  return {
    firstName: `Drill${n}`,
    lastName: `${drill}-Fairweather`,
    gender: ['female', 'male', 'other', 'unknown'][n % 4] ?? 'unknown',
    dateOfBirth: `19${String(40 + (n % 60)).padStart(2, '0')}-0${1 + (n % 9)}`,
    postCode: String(2000 + n),
  };
}

/**
 * Follows a `202`'s operation link until the write has finished, within `withinMs`; answers the
 * last answer (still `202` when the bound was reached, which the drills report as a failure).
 */
export async function settled(get: (location: string) => Promise<Answer>, answer: Answer, withinMs: number): Promise<Answer> {
  const deadline = Date.now() + withinMs;
  let last = answer;
  while (last.status === 202 && Date.now() < deadline) {
    const location = last.headers.get('location');
    if (!location) throw new Error('a 202 without a Location');
    await sleep(250);
    last = await get(location);
  }
  return last;
}

/** The outcomes audit-app holds for one write, oldest first. */
export async function auditOutcomes(auditDb: Db, operationId: string): Promise<string[]> {
  const records = await auditDb.collection('audits').find({ correlationId: operationId }).sort({ timestamp: 1, createdDate: 1 }).toArray();
  return records.map((record) => String(record['outcome']));
}

/** Instances of the task hub that have not finished. */
export async function unfinishedInstances(taskHubDb: Db, hubName: string): Promise<string[]> {
  const open = await taskHubDb.collection<{ _id: string }>(`${hubName}_instances`).find({ status: { $in: ['Running', 'Pending'] } }).toArray();
  return open.map((doc) => doc._id);
}

/** A body a client may see: an error body in the one shape, with no stack trace or internals. */
export function leaksInternals(text: string): boolean {
  return /\n\s+at\s|node_modules|MongoServerError|MongoNetworkError|ECONNREFUSED|durabletask|webhooks/i.test(text);
}
