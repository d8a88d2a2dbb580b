import { ServiceUnavailableError } from '../http/errors';

// Driver errors that mean "the store cannot be reached right now", by class name so that a second
// copy of the driver in node_modules is recognised too.
const UNAVAILABLE_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
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

/** Whether `error` says the data store is unreachable or overloaded (a retry later may succeed). */
export function isStoreUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (UNAVAILABLE_ERROR_NAMES.has(error.name)) return true;
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
