/**
 * Why a step failed in a way no retry can fix. Ports throw it; the activity wrappers turn it into
 * a *completed* activity result (`{ ok: false, failure }`), because the Durable host retries every
 * thrown activity error and cannot be told otherwise from JavaScript. The orchestrator then maps
 * the code to a result (`notFound` → 404, `conflict` → 412) instead of failing the instance.
 *
 * - `notFound`: the patient (or the document to change) does not exist, or was deleted.
 * - `conflict`: the expected version is stale, or another write claimed the same version first.
 * - `rejected`: a dependency refused the request as invalid or unauthorised (4xx other than 408/429);
 *   repeating it would be refused again. Treated like a dependency that stayed down.
 *
 * The message is recorded in orchestration history: it must not contain personal data.
 */
export type PermanentFailureCode = 'notFound' | 'conflict' | 'rejected';

export class PermanentFailure extends Error {
  override readonly name = 'PermanentFailure';

  constructor(
    readonly code: PermanentFailureCode,
    message: string,
    /** For `conflict`: the version the store holds now, when known. */
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}

export function isPermanentFailure(error: unknown): error is PermanentFailure {
  return (
    error instanceof PermanentFailure ||
    (error instanceof Error && error.name === 'PermanentFailure' && 'code' in error)
  );
}
