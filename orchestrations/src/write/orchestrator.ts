/**
 * The write saga, one orchestration per write kind (docs/orchestration.md has the table of cases):
 *
 *   audit "attempted" → persist → audit "succeeded" → report the outcome (telemetry)
 *
 * and when a step fails for good after a change may have taken effect, undo it (compensation) and
 * record what happened. Deterministic: no I/O, clocks or randomness; time comes from
 * `currentUtcDateTime`, everything else from the input and activity results.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';

import type { AuditOutcome, WriteInput, WriteKind, WriteOutcome, WriteResult, WriteStep } from '../contract';
import { WRITE_KINDS } from '../contract';
import { ACTIVITY_NAMES } from '../names';
import type { StoredVersion, UndoResult } from '../ports';
import type { RetryPolicy } from '../retry-policies';
import { RETRY_POLICIES, retryOptions } from '../retry-policies';
import type { AuditStepResult, PersistStepResult, ReportStepInput, UndoStepResult } from './steps';
import { auditEntryFor, failedReportInputFor, persistInputFor, reportInputFor, undoInputFor } from './steps';

/** Where a write is, as its custom status shows it (support lists and filters by it). */
export type WriteProgress =
  'auditAttempt' | 'persist' | 'auditResult' | 'compensating' | 'recordingOutcome' | 'done' | 'compensationFailed';

/** The custom status of a write orchestration: no personal data. */
export interface WriteStatus {
  v: 1;
  kind: WriteKind;
  operationId: string;
  step: WriteProgress;
}

const APPLIED: Record<WriteKind, WriteOutcome> = {
  createPatient: 'created',
  updatePatient: 'updated',
  deletePatient: 'deleted',
  createTestResult: 'created',
};

/** The orchestrator for one write kind. */
export function writeOrchestrator(kind: WriteKind): OrchestrationHandler {
  return function* writeSaga(context: OrchestrationContext): Generator<Task, WriteResult, unknown> {
    const input = readInput(context.df.getInput(), kind);
    const instanceId = context.df.instanceId;
    const recorded: AuditOutcome[] = [];
    const now = (): string => context.df.currentUtcDateTime.toISOString();
    const progress = (step: WriteProgress): void => {
      const status: WriteStatus = { v: 1, kind, operationId: input.operationId, step };
      context.df.setCustomStatus(status);
    };
    const result = (outcome: WriteOutcome, extra: Partial<WriteResult> = {}): WriteResult => {
      progress('done');
      return {
        v: 1,
        kind,
        operationId: input.operationId,
        patientId: input.patientId,
        ...(input.kind === 'createTestResult' ? { testId: input.testId } : {}),
        outcome,
        ...extra,
        auditRecorded: recorded,
      };
    };
    const unavailable = (step: WriteStep, compensated: boolean): WriteResult =>
      result('unavailable', { failure: { step, compensated } });
    const applied = (stored: StoredVersion): WriteResult =>
      result(APPLIED[kind], {
        version: stored.version,
        lastUpdated: stored.lastUpdated,
        ...(stored.restartedWrite?.testId === undefined ? {} : { testId: stored.restartedWrite.testId }),
      });
    /**
     * What the audit records about a change name: its version and, when a support restart answered
     * with the change of a write it restarts (case 9) instead of applying it again, that write's
     * test result and the reason `alreadyApplied` (`reason` given here wins).
     */
    const changeDetails = (
      stored: StoredVersion,
      reason?: string,
    ): { version: number; reason?: string; testId?: string } => {
      const restarted = stored.restartedWrite;
      const why = reason ?? (restarted === undefined ? undefined : 'alreadyApplied');
      return {
        version: stored.version,
        ...(why === undefined ? {} : { reason: why }),
        ...(restarted?.testId === undefined ? {} : { testId: restarted.testId }),
      };
    };

    /** Records one outcome; answers whether audit-app confirmed it. */
    function* audit(
      outcome: AuditOutcome,
      policy: RetryPolicy,
      extra: { reason?: string; version?: number; testId?: string } = {},
    ): Generator<Task, boolean, unknown> {
      const entry = auditEntryFor(input, instanceId, outcome, now(), extra);
      try {
        const answer = (yield context.df.callActivityWithRetry(
          ACTIVITY_NAMES.audit,
          retryOptions(policy),
          entry,
        )) as AuditStepResult;
        if (!answer.ok) return false;
        recorded.push(outcome);
        return true;
      } catch {
        return false;
      }
    }

    /** Undoes whatever this operation changed. Giving up here would leave a change in effect without its record: the instance fails instead, for support to restart. */
    function* undo(): Generator<Task, UndoResult, unknown> {
      progress('compensating');
      let answer: UndoStepResult;
      try {
        answer = (yield context.df.callActivityWithRetry(
          ACTIVITY_NAMES.undo,
          retryOptions(RETRY_POLICIES.compensation),
          undoInputFor(input, now()),
        )) as UndoStepResult;
      } catch {
        answer = { ok: false, failure: { code: 'rejected', message: 'undo kept failing' } };
      }
      if (!answer.ok) {
        progress('compensationFailed');
        throw new Error(
          `Compensation of operation ${input.operationId} failed (${answer.failure.message}); its change may still be in effect without a "succeeded" audit record. Restart the instance once the store is back: every step is idempotent.`,
        );
      }
      return answer.value;
    }

    /**
     * A later write had replaced this one before it could be undone: the change did take effect and
     * cannot be taken back, so it is recorded and answered as applied. Both steps are patient; if
     * they still fail, the instance fails for support (a restart completes it: every step is idempotent).
     */
    function* confirmApplied(known: StoredVersion | undefined): Generator<Task, WriteResult, unknown> {
      progress('recordingOutcome');
      let stored = known;
      if (stored === undefined) {
        // persist is idempotent: run again, it answers with the version this operation wrote.
        const answer = (yield context.df.callActivityWithRetry(
          ACTIVITY_NAMES.persist,
          retryOptions(RETRY_POLICIES.compensation),
          persistInputFor(input, now()),
        )) as PersistStepResult;
        if (!answer.ok)
          throw new Error(
            `Operation ${input.operationId} was superseded but its version could not be read back: ${answer.failure.code}`,
          );
        stored = answer.value;
      }
      const confirmed = yield* audit('succeeded', RETRY_POLICIES.compensation, changeDetails(stored, 'superseded'));
      if (!confirmed) {
        progress('compensationFailed');
        throw new Error(
          `Operation ${input.operationId} took effect but its "succeeded" audit record could not be written. Restart the instance once audit-app is back.`,
        );
      }
      return applied(stored);
    }

    /** The saga itself: its result, or a throw when a compensation could not finish (case 9). */
    function* saga(): Generator<Task, WriteResult, unknown> {
      // 1. Nothing changes unless the attempt is on record (fail closed).
      progress('auditAttempt');
      if (!(yield* audit('attempted', RETRY_POLICIES.audit))) return unavailable('auditAttempt', false);

      // 2. Persist. Permanent refusals come back as results; exhausted retries as a throw.
      progress('persist');
      let persisted: PersistStepResult | undefined;
      try {
        persisted = (yield context.df.callActivityWithRetry(
          ACTIVITY_NAMES.persist,
          retryOptions(RETRY_POLICIES.persist),
          persistInputFor(input, now()),
        )) as PersistStepResult;
      } catch {
        persisted = undefined;
      }

      if (persisted === undefined) {
        // An attempt may have taken effect before the store went away: undo whatever it did.
        const undone = yield* undo();
        if (undone === 'superseded') return yield* confirmApplied(undefined);
        progress('recordingOutcome');
        yield* audit('failed', RETRY_POLICIES.auditFollowUp, { reason: 'persistUnavailable' });
        return unavailable('persist', undone === 'reverted');
      }

      if (!persisted.ok) {
        const { code, currentVersion } = persisted.failure;
        progress('recordingOutcome');
        yield* audit('rejected', RETRY_POLICIES.auditFollowUp, { reason: code });
        if (code === 'notFound') return result('notFound');
        if (code === 'conflict') return result('conflict', currentVersion === undefined ? {} : { currentVersion });
        return unavailable('persist', false);
      }

      // 3. The change is in effect only once its success is on record.
      const stored = persisted.value;
      progress('auditResult');
      if (yield* audit('succeeded', RETRY_POLICIES.audit, changeDetails(stored))) return applied(stored);

      const undone = yield* undo();
      if (undone === 'superseded') return yield* confirmApplied(stored);
      progress('recordingOutcome');
      yield* audit('compensated', RETRY_POLICIES.auditFollowUp, changeDetails(stored, 'auditUnavailable'));
      return unavailable('auditResult', undone === 'reverted');
    }

    /**
     * The outcome step, appended after the saga so that every finished write, however long it took,
     * emits its outcome once (docs/telemetry.md). Appended at the end, it is replay-safe for writes
     * in flight; it never changes the write: a failure here is ignored.
     */
    function* report(step: ReportStepInput): Generator<Task, void, unknown> {
      try {
        yield context.df.callActivityWithRetry(ACTIVITY_NAMES.report, retryOptions(RETRY_POLICIES.outcomeReport), step);
      } catch {
        // The event is lost; the write stands, and its activities are still in telemetry.
      }
    }

    let written: WriteResult;
    try {
      written = yield* saga();
    } catch (error) {
      yield* report(failedReportInputFor(input, instanceId, now()));
      throw error;
    }
    yield* report(reportInputFor(input, instanceId, written, now()));
    return written;
  };
}

/** Checks the input's shape (ids and kind only: the document is sealed). A bad input is a starter bug: the instance fails. */
function readInput(raw: unknown, kind: WriteKind): WriteInput {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${kind}: the input is not an object`);
  const input = raw as Partial<WriteInput> & Record<string, unknown>;
  if (input.v !== 1) throw new Error(`${kind}: unsupported input version ${String(input.v)}`);
  if (input.kind !== kind || !(WRITE_KINDS as readonly string[]).includes(input.kind))
    throw new Error(`${kind}: the input is for ${String(input.kind)}`);
  for (const field of ['operationId', 'patientId'] as const) {
    if (typeof input[field] !== 'string' || input[field] === '') throw new Error(`${kind}: ${field} is missing`);
  }
  if (typeof input.actor !== 'object' || (input.actor as unknown) === null || typeof input.actor.system !== 'string')
    throw new Error(`${kind}: actor is missing`);
  if (kind === 'createTestResult' && typeof input.testId !== 'string') throw new Error(`${kind}: testId is missing`);
  if (
    input.restartOf !== undefined &&
    !(Array.isArray(input.restartOf) && input.restartOf.every((id) => typeof id === 'string' && id !== ''))
  )
    throw new Error(`${kind}: restartOf is not a list of operation ids`);
  if (kind !== 'deletePatient' && (typeof input.payload !== 'object' || input.payload === null))
    throw new Error(`${kind}: payload is missing`);
  return input as WriteInput;
}
