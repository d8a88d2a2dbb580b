import type { AnyBulkWriteOperation, Collection } from 'mongodb';

import type { DurableEngineOptions } from './contract';
import { isBusyError, retryBusy } from './store-retry';

/** A document with a string `_id`, as the task hub stores them. */
interface Identified {
  _id: string;
}

interface Insert {
  kind: 'insert';
  collection: Collection<Identified>;
  doc: Identified;
  /** Whether a stored document with this `_id` is this very write (after an attempt whose outcome is unknown). */
  isThisWrite: (stored: Identified) => boolean;
  resolve: (inserted: boolean) => void;
  reject: (error: unknown) => void;
}

interface Delete {
  kind: 'delete';
  collection: Collection<Identified>;
  id: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Single {
  kind: 'single';
  work: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Write = Insert | Delete | Single;

/**
 * Writes per combined command. FerretDB 1.24 never answers an `update` command of 100 or more
 * statements (measured: 99 answer in ~180 ms, 100 hang), and inserts more than 100 documents in
 * several transactions anyway.
 */
const maxCombinedInserts = 100;
const maxCombinedUpdates = 50;

interface LaterUpdate {
  fields: Record<string, unknown>;
  written: Promise<void>;
  done: () => void;
}

/**
 * The task hub's one writer. The embedded store takes one writer at a time (SQLite: concurrent
 * writes fail with SQLITE_BUSY), so the engine's writes queue here, and whatever queued while the
 * previous round was being written goes in the next round, combined: the inserts into one
 * collection as one `insertMany` (one SQLite transaction), the deletes by id as one `deleteMany`.
 * Under load, many instances' episodes then share a commit instead of each paying for its own.
 *
 * Combining is safe because everything queued at once is concurrent: every caller awaits its
 * write before it makes the next, so no write in a round depends on another one in it.
 *
 * `updateLater` is for state that can be rebuilt after a crash (the instances' summary documents,
 * which start-up repairs from the latest history batch): the caller does not wait, and an
 * instance's updates that queue behind a busy store collapse into the latest one.
 */
export class HubWriter {
  private queue: Write[] = [];
  private readonly later = new Map<string, LaterUpdate>();
  private pumping = false;

  constructor(
    private readonly laterCollection: Collection<Identified>,
    private readonly log: DurableEngineOptions['log'],
  ) {}

  /** Runs one write in its turn. */
  run<T>(work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.enqueue({ kind: 'single', work, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  /**
   * Inserts a document; resolves true when this call stored it and false when a document with its
   * `_id` was already stored. `isThisWrite` tells them apart when a combined insert failed halfway.
   */
  insert<D extends Identified>(
    collection: Collection<D>,
    doc: D,
    isThisWrite: (stored: D) => boolean,
  ): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.enqueue({
        kind: 'insert',
        collection: collection as unknown as Collection<Identified>,
        doc,
        isThisWrite: isThisWrite as (stored: Identified) => boolean,
        resolve,
        reject,
      });
    });
  }

  /** Deletes the document with this `_id`, if any. */
  deleteById<D extends Identified>(collection: Collection<D>, id: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.enqueue({
        kind: 'delete',
        collection: collection as unknown as Collection<Identified>,
        id,
        resolve,
        reject,
      });
    });
  }

  /** Sets these fields of the document `id` soon; a later call for the same id replaces an unwritten earlier one. */
  updateLater(id: string, fields: Record<string, unknown>): void {
    const pending = this.later.get(id);
    if (pending) {
      pending.fields = fields;
    } else {
      let done = (): void => undefined;
      const written = new Promise<void>((resolve) => (done = resolve));
      this.later.set(id, { fields, written, done });
    }
    this.kick();
  }

  /** The fields `updateLater` has not written yet for this id. */
  pendingFields(id: string): Record<string, unknown> | undefined {
    return this.later.get(id)?.fields;
  }

  /** Drops an unwritten `updateLater` (the caller writes the document itself, or deletes it). */
  forget(id: string): void {
    const pending = this.later.get(id);
    if (!pending) return;
    this.later.delete(id);
    pending.done();
  }

  /** Resolves once every write queued so far, `updateLater` included, is stored. */
  async flush(): Promise<void> {
    const waits = [...this.later.values()].map((pending) => pending.written);
    waits.push(this.run(() => Promise.resolve()).then(() => undefined));
    await Promise.all(waits);
  }

  private enqueue(write: Write): void {
    this.queue.push(write);
    this.kick();
  }

  private kick(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.pump()
      .catch((error: unknown) => this.log('error', 'The task hub writer failed', { error: String(error) }))
      .finally(() => {
        this.pumping = false;
        if (this.queue.length > 0 || this.later.size > 0) this.kick();
      });
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0 || this.later.size > 0) {
      const round = this.queue;
      this.queue = [];
      for (const group of groupBy(round.filter(isInsert), (w) => w.collection)) {
        for (const part of chunks(group, maxCombinedInserts)) await this.insertGroup(part);
      }
      for (const group of groupBy(round.filter(isDelete), (w) => w.collection)) await this.deleteGroup(group);
      for (const write of round) {
        if (write.kind !== 'single') continue;
        try {
          write.resolve(await write.work());
        } catch (error) {
          write.reject(error);
        }
      }
      await this.writeLater();
    }
  }

  private async insertGroup(group: Insert[]): Promise<void> {
    const [first] = group;
    if (!first) return;
    if (group.length === 1) {
      // Alone, an insert is atomic: after SQLITE_BUSY nothing was stored, and a duplicate is someone else's.
      try {
        await retryBusy(() => first.collection.insertOne(first.doc));
        first.resolve(true);
      } catch (error) {
        if ((error as { code?: unknown }).code === 11000) first.resolve(false);
        else first.reject(error);
      }
      return;
    }
    try {
      await first.collection.insertMany(
        group.map((w) => w.doc),
        { ordered: false },
      );
      for (const write of group) write.resolve(true);
      return;
    } catch (error) {
      const perDocument = writeErrorsOf(error);
      if (perDocument) {
        group.forEach((write, index) => {
          const failure = perDocument.get(index);
          if (failure === undefined) write.resolve(true);
          else if (failure.code === 11000) write.resolve(false);
          else write.reject(new Error(failure.message));
        });
        return;
      }
      if (!isBusyError(error)) {
        for (const write of group) write.reject(error);
        return;
      }
    }
    // The store was busy: the combined insert may have stored some documents before it failed.
    // Each one is inserted again on its own, and a duplicate is read back to see whose it is.
    for (const write of group) {
      try {
        await retryBusy(() => write.collection.insertOne(write.doc));
        write.resolve(true);
      } catch (error) {
        if ((error as { code?: unknown }).code !== 11000) {
          write.reject(error);
          continue;
        }
        try {
          const stored = await retryBusy(() => write.collection.findOne({ _id: write.doc._id }));
          write.resolve(stored !== null && write.isThisWrite(stored));
        } catch (readError) {
          write.reject(readError);
        }
      }
    }
  }

  private async deleteGroup(group: Delete[]): Promise<void> {
    const [first] = group;
    if (!first) return;
    try {
      const ids = group.map((w) => w.id);
      await retryBusy(() =>
        ids.length === 1
          ? first.collection.deleteOne({ _id: ids[0] })
          : first.collection.deleteMany({ _id: { $in: ids } }),
      );
      for (const write of group) write.resolve();
    } catch (error) {
      for (const write of group) write.reject(error);
    }
  }

  private async writeLater(): Promise<void> {
    if (this.later.size === 0) return;
    const batch = [...this.later.entries()];
    this.later.clear();
    for (const part of chunks(batch, maxCombinedUpdates)) {
      const operations: AnyBulkWriteOperation<Identified>[] = part.map(([id, pending]) => ({
        updateOne: { filter: { _id: id }, update: { $set: pending.fields } },
      }));
      try {
        await retryBusy(() => this.laterCollection.bulkWrite(operations, { ordered: false }));
      } catch (error) {
        // Only progress is lost: the instance's next state is written again, its end is written at
        // once, and start-up repairs every unfinished instance from its history.
        this.log('error', 'Storing instance progress failed', { instances: part.length, error: String(error) });
      } finally {
        for (const [, pending] of part) pending.done();
      }
    }
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += size) parts.push(items.slice(i, i + size));
  return parts;
}

function isInsert(write: Write): write is Insert {
  return write.kind === 'insert';
}

function isDelete(write: Write): write is Delete {
  return write.kind === 'delete';
}

function groupBy<T>(items: T[], key: (item: T) => unknown): T[][] {
  const groups = new Map<unknown, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return [...groups.values()];
}

/** The per-document failures of an `insertMany` that ran (index → failure), or undefined when the command itself failed. */
function writeErrorsOf(error: unknown): Map<number, { code: unknown; message: string }> | undefined {
  const raw = (error as { writeErrors?: unknown }).writeErrors;
  if (raw === undefined || raw === null) return undefined;
  const list = (Array.isArray(raw) ? raw : [raw]) as {
    index?: unknown;
    code?: unknown;
    errmsg?: unknown;
    message?: unknown;
  }[];
  if (list.length === 0) return undefined;
  const byIndex = new Map<number, { code: unknown; message: string }>();
  for (const failure of list) {
    if (typeof failure.index !== 'number') return undefined;
    byIndex.set(failure.index, {
      code: failure.code,
      message: typeof failure.errmsg === 'string' ? failure.errmsg : 'The insert failed',
    });
  }
  return byIndex;
}
