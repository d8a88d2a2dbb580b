import { ServiceUnavailableError } from '@patient-records/platform';

/**
 * Whether a Durable client call failed because the host's Durable API could not serve it: no answer
 * at all (connection refused or reset, timeout) or a 5xx, which is how the host reports its task
 * hub's storage failing (Azure Storage in Azure, the store under the devhost). The durable-functions
 * client reports the first as an axios error without a response and the second as "The operation
 * failed with an unexpected status code: 5xx".
 */
export function isTaskHubUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const failure = error as { isAxiosError?: unknown; response?: unknown; message?: unknown };
  if (failure.isAxiosError === true) return failure.response === undefined;
  return typeof failure.message === 'string' && /^The operation failed with an unexpected status code: 5\d\d\b/.test(failure.message);
}

/**
 * The `503` for a Durable client call that failed because the task hub is unavailable, else
 * `undefined`. A start that failed this way may or may not have started the write: a repeat with
 * the same `Idempotency-Key` finds out, so the message says to send one.
 */
export function taskHubUnavailable(error: unknown): ServiceUnavailableError | undefined {
  if (!isTaskHubUnavailable(error)) return undefined;
  return new ServiceUnavailableError('The write service is unavailable; retry later, with the same Idempotency-Key to make the retry safe.', undefined, {
    code: 'orchestration_unavailable',
    cause: error,
  });
}
