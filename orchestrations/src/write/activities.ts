/**
 * The write activities: thin steps over the ports. Each runs at least once and may run again
 * with the same input (retries, crashes, replays), so each is idempotent through its port: audit
 * by the entry's idempotency key, persist and undo by the operation id on the version claims.
 */
import type { WriteKind } from '../contract';
import { isPermanentFailure } from '../errors';
import { ACTIVITY_NAMES } from '../names';
import type { PatientStore, StoredVersion, WriteDependencies, WriteDocument, WriteOutcomeEvent } from '../ports';
import type { RetryPolicy } from '../retry-policies';
import { RETRY_POLICIES } from '../retry-policies';
import { historyOf, type InstanceStatusLike, readHistory } from '../support/history';
import type {
  AuditStepInput,
  AuditStepResult,
  PersistStepInput,
  PersistStepResult,
  ReportStepInput,
  ReportStepResult,
  StepResult,
  UndoStepInput,
  UndoStepResult,
} from './steps';

/** Reads an instance's status with its history (the activity's durable client). */
export type InstanceReader = (instanceId: string) => Promise<InstanceStatusLike>;

export interface WriteActivities {
  audit(input: AuditStepInput): Promise<AuditStepResult>;
  persist(input: PersistStepInput): Promise<PersistStepResult>;
  undo(input: UndoStepInput): Promise<UndoStepResult>;
  report(input: ReportStepInput, readInstance: InstanceReader): Promise<ReportStepResult>;
}

/** An attempt that ran out of time. Transient: the host retries it. */
export class AttemptTimeout extends Error {
  override readonly name = 'AttemptTimeout';
}

/** Builds the activity handlers over the ports (what `register` registers). */
export function createWriteActivities({ store, audit, cipher, outcomes }: WriteDependencies): WriteActivities {
  return {
    audit: (entry) => step(RETRY_POLICIES.audit, () => audit.record(entry)),

    persist: (input) =>
      step(RETRY_POLICIES.persist, async () => {
        const document = input.payload === undefined ? undefined : await cipher.open(input.payload);
        return persistWrite(store, input, document);
      }),

    undo: (input) =>
      step(RETRY_POLICIES.compensation, () =>
        store.undo({
          kind: input.kind,
          operationId: input.operationId,
          patientId: input.patientId,
          at: input.at,
          ...(input.testId === undefined ? {} : { testId: input.testId }),
          ...(input.restartOf === undefined ? {} : { restartOf: input.restartOf }),
        }),
      ),

    // Not through `step`: an attempt given up on must not emit after its retry did, so the time
    // limit covers the read only, and the emission after it is synchronous.
    report: async (input, readInstance) => {
      if (outcomes === undefined || !outcomes.enabled) return { ok: true, value: { reported: false } };
      const status = await withTimeout(readInstance(input.instanceId), RETRY_POLICIES.outcomeReport.attemptTimeoutMs);
      outcomes.report(outcomeEventFor(input, status));
      return { ok: true, value: { reported: true } };
    },
  };
}

/**
 * The outcome event of a write whose outcome step runs now: the attempts are the activity
 * executions its history shows (retries included, this step's own attempts not), the duration runs
 * from its start to the orchestration time at which the outcome was decided.
 */
export function outcomeEventFor(input: ReportStepInput, status: InstanceStatusLike): WriteOutcomeEvent {
  const events = readHistory(historyOf(status) ?? []);
  const attempts = events.filter(
    (event) => (event.type === 'TaskCompleted' || event.type === 'TaskFailed') && event.name !== ACTIVITY_NAMES.report,
  ).length;
  const startedAt = events.find((event) => event.type === 'ExecutionStarted')?.timestamp ?? status.createdTime;
  const durationMs = Date.parse(input.at) - (startedAt === undefined ? NaN : new Date(startedAt).getTime());
  return {
    outcome: input.outcome,
    kind: input.kind,
    instanceId: input.instanceId,
    attempts,
    durationMs: Number.isFinite(durationMs) ? Math.max(0, durationMs) : 0,
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.trace === undefined ? {} : { trace: input.trace }),
  };
}

function persistWrite(
  store: PatientStore,
  input: PersistStepInput,
  document: WriteDocument | undefined,
): Promise<StoredVersion> {
  const command = {
    operationId: input.operationId,
    patientId: input.patientId,
    at: input.at,
    ...(input.restartOf === undefined ? {} : { restartOf: input.restartOf }),
  };
  const expected = input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion };
  const kind: WriteKind = input.kind;
  switch (kind) {
    case 'createPatient':
      return store.createPatient({ ...command, document: required(document, kind) });
    case 'updatePatient':
      return store.updatePatient({ ...command, ...expected, document: required(document, kind) });
    case 'deletePatient':
      return store.deletePatient({ ...command, ...expected });
    case 'createTestResult':
      if (input.testId === undefined) throw new Error('createTestResult: testId is missing');
      return store.createTestResult({ ...command, testId: input.testId, document: required(document, kind) });
  }
}

function required(document: WriteDocument | undefined, kind: WriteKind): WriteDocument {
  if (document === undefined) throw new Error(`${kind}: the sealed document is missing`);
  return document;
}

/**
 * Runs one attempt within the policy's attempt timeout. A `PermanentFailure` becomes a completed
 * `{ ok: false }` result (not retried); every other error is rethrown for the host to retry.
 */
async function step<T>(policy: RetryPolicy, run: () => Promise<T>): Promise<StepResult<T>> {
  try {
    return { ok: true, value: await withTimeout(run(), policy.attemptTimeoutMs) };
  } catch (error) {
    if (isPermanentFailure(error)) {
      return {
        ok: false,
        failure: {
          code: error.code,
          message: error.message,
          ...(error.currentVersion === undefined ? {} : { currentVersion: error.currentVersion }),
        },
      };
    }
    throw error;
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new AttemptTimeout(`The attempt did not finish within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
