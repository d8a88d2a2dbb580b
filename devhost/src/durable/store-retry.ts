/**
 * The embedded store (FerretDB on SQLite) answers concurrent writes with `database is locked
 * (SQLITE_BUSY)` instead of waiting. Every engine store call goes through `retryBusy`, so a busy
 * store delays an episode instead of failing it halfway.
 */
const maxAttempts = 60;

export function isBusyError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return message.includes('SQLITE_BUSY') || message.includes('database is locked');
}

export async function retryBusy<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (!isBusyError(error) || attempt >= maxAttempts) throw error;
      // Jittered, growing pause: writers that collided should not collide again in lock step.
      const pause = Math.min(200, 2 * attempt) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

const writeMethods = new Set(['insertOne', 'updateOne', 'deleteOne', 'deleteMany', 'replaceOne', 'createIndex']);
const readMethods = new Set(['findOne', 'countDocuments']);
const cursorBuilders = new Set(['sort', 'limit', 'skip', 'project']);

/** A view of a cursor whose `toArray` retries a busy store (each attempt on a fresh clone). */
function retryingCursor<C extends object>(cursor: C): C {
  return new Proxy(cursor, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'toArray') {
        const clone = (target as unknown as { clone(): { toArray(): Promise<unknown> } }).clone.bind(target);
        return () => retryBusy(() => clone().toArray());
      }
      if (typeof property === 'string' && cursorBuilders.has(property)) {
        return (...args: unknown[]) => retryingCursor((value as (...a: unknown[]) => object).apply(target, args));
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** Runs writes in turn (the task hub's HubWriter). */
export interface WriteTurns {
  run<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * A view of a collection whose calls retry a busy store. Writes go through `writes` (one at a time
 * for the embedded store): SQLite takes one writer anyway, and writers that queue here instead of
 * colliding there spare the back-off.
 */
export function retryingCollection<C extends object>(collection: C, writes: WriteTurns): C {
  return new Proxy(collection, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = value as (...a: unknown[]) => unknown;
      if (writeMethods.has(property)) {
        return (...args: unknown[]) =>
          writes.run(() => retryBusy(() => method.apply(target, args) as Promise<unknown>));
      }
      if (readMethods.has(property)) {
        return (...args: unknown[]) => retryBusy(() => method.apply(target, args) as Promise<unknown>);
      }
      if (property === 'find') return (...args: unknown[]) => retryingCursor(method.apply(target, args) as object);
      return method.bind(target);
    },
  });
}
