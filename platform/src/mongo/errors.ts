import { ServiceUnavailableError } from '../http/errors';

// Driver errors that mean "the store cannot be reached right now", by class name so that a second
// copy of the driver in node_modules is recognised too. A subclass counts as its ancestors (see
// `errorNames`).
const UNAVAILABLE_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoServerClosedError',
  'MongoPoolClearedError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
]);

// Server codes for a store that is shutting down, failing over or out of capacity. 16500 is Cosmos
// DB's "request rate is large" (it says when to retry, in RetryAfterMs); 50 is ExceededTimeLimit.
const UNAVAILABLE_CODES = new Set([6, 7, 50, 89, 91, 189, 9001, 10107, 11600, 11602, 13435, 13436, 16500]);

const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** MongoDB's duplicate key error: a unique index (or `_id`) refused an insert. */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/**
 * The names of `error`'s class and of each class it extends, as the driver's `name` getters give
 * them. The driver throws subclasses under their own names: an operation waiting for a connection
 * while another connection to the same server breaks gets `PoolClearedOnNetworkError`, a
 * `MongoPoolClearedError` the driver does not export, so a list of names alone misses it.
 */
function errorNames(error: Error): string[] {
  const names = [error.name];
  for (
    let proto: object | null = Object.getPrototypeOf(error) as object | null;
    proto !== null;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    // Read with the error as receiver: the driver's getters return a constant per class.
    if (Object.hasOwn(proto, 'name')) names.push(String(Reflect.get(proto, 'name', error)));
  }
  return names;
}

/** Whether `error` says the data store is unreachable or overloaded (a retry later may succeed). */
export function isStoreUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (errorNames(error).some((name) => UNAVAILABLE_ERROR_NAMES.has(name))) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && UNAVAILABLE_CODES.has(code);
}

/**
 * The `503` to answer with when `error` is a store outage, else `undefined`. The `Retry-After`
 * follows Cosmos DB's `RetryAfterMs` hint when the error carries one.
 */
export function storeUnavailable(error: unknown): ServiceUnavailableError | undefined {
  if (!isStoreUnavailableError(error)) return undefined;
  const hint = /RetryAfterMs=(\d+)/.exec((error as Error).message)?.[1];
  const retryAfter = hint === undefined ? DEFAULT_RETRY_AFTER_SECONDS : Math.max(1, Math.ceil(Number(hint) / 1000));
  return new ServiceUnavailableError('The data store is unavailable; retry later.', retryAfter, {
    code: 'store_unavailable',
    cause: error,
  });
}

/** Runs `operation`, turning a store outage into the `503` `ServiceUnavailableError`. */
export async function withStore<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw storeUnavailable(error) ?? error;
  }
}
