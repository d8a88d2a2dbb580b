/**
 * Every retry policy of the write orchestrations, in one place. The reasons are in
 * docs/orchestration.md ("Retry policies"); change both together.
 *
 * The Durable host performs the retries (TaskFailed → timer → next attempt), so a policy is part
 * of the replay contract: changing it changes the history of writes still running.
 */
import * as df from 'durable-functions';

export interface RetryPolicy {
  /** Wait before the second attempt. */
  firstRetryIntervalMs: number;
  /** Each further wait is the previous one times this. */
  backoffCoefficient: number;
  /** No wait is longer than this. */
  maxRetryIntervalMs: number;
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /**
   * How long one attempt may take before the activity gives up on it and fails it as transient
   * (enforced by the activity, see `activities.ts`). Not passed to the host as
   * `retryTimeoutInMilliseconds`: when that expires, the extension skips the retry timer the
   * JavaScript library waits for and the orchestration hangs (durable-js #629).
   */
  attemptTimeoutMs: number;
}

/**
 * - `audit`: audit-app restarting, scaling out or cold-starting, and lost connections; seconds,
 *   not minutes, because the caller is waiting (the starter waits 20 s by default).
 * - `persist`: the store failing over or throttling (Cosmos DB 429/16500, FerretDB busy); short
 *   waits, since such blips are short and the write holds no lock meanwhile.
 * - `auditFollowUp`: the outcome records written after something already failed (rejected,
 *   failed, compensated). Short: audit-app is then most likely the thing that is down, and the
 *   caller is waiting for its answer. Losing one is safe: without a `succeeded` record the
 *   register reads "not in effect", which is then true.
 * - `compensation`: undoing a change whose outcome could not be recorded must not give up early:
 *   otherwise a change would stay in effect without its "succeeded" record. Long and patient; the
 *   caller gets `202` meanwhile and the operation link answers when it ends.
 * - `outcomeReport`: the telemetry step at the end. It only reads the instance's history and
 *   emits; it fails only when the task hub cannot be read, and it delays the answer while it
 *   retries, so one retry and then the write goes on without its event.
 */
export const RETRY_POLICIES = {
  audit: {
    firstRetryIntervalMs: 500,
    backoffCoefficient: 2,
    maxRetryIntervalMs: 4_000,
    maxAttempts: 5,
    attemptTimeoutMs: 5_000,
  },
  persist: {
    firstRetryIntervalMs: 250,
    backoffCoefficient: 2,
    maxRetryIntervalMs: 2_000,
    maxAttempts: 4,
    attemptTimeoutMs: 5_000,
  },
  auditFollowUp: {
    firstRetryIntervalMs: 500,
    backoffCoefficient: 2,
    maxRetryIntervalMs: 2_000,
    maxAttempts: 2,
    attemptTimeoutMs: 5_000,
  },
  compensation: {
    firstRetryIntervalMs: 1_000,
    backoffCoefficient: 2,
    maxRetryIntervalMs: 60_000,
    maxAttempts: 10,
    attemptTimeoutMs: 10_000,
  },
  outcomeReport: {
    firstRetryIntervalMs: 500,
    backoffCoefficient: 2,
    maxRetryIntervalMs: 500,
    maxAttempts: 2,
    attemptTimeoutMs: 5_000,
  },
} as const satisfies Record<string, RetryPolicy>;

export type RetryPolicyName = keyof typeof RETRY_POLICIES;

/** The `RetryOptions` the orchestrator hands to `callActivityWithRetry`. */
export function retryOptions(policy: RetryPolicy): df.RetryOptions {
  const options = new df.RetryOptions(policy.firstRetryIntervalMs, policy.maxAttempts);
  options.backoffCoefficient = policy.backoffCoefficient;
  options.maxRetryIntervalInMilliseconds = policy.maxRetryIntervalMs;
  return options;
}

/** The host's wait before attempt `attempt + 1` (1-based), as the Durable Task retry interceptor computes it. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.firstRetryIntervalMs * policy.backoffCoefficient ** (attempt - 1), policy.maxRetryIntervalMs);
}

/** The longest a step can take when every attempt times out: attempts plus the waits between them. */
export function worstCaseMs(policy: RetryPolicy): number {
  let total = policy.maxAttempts * policy.attemptTimeoutMs;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt += 1) total += retryDelayMs(policy, attempt);
  return total;
}
