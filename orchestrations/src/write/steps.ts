/**
 * The inputs and results of the write activities, as recorded in history. Like the orchestration
 * input, they carry references, codes, times and the sealed payload only.
 */
import type { AuditOutcome, SealedPayload, TraceCarrier, WriteInput, WriteKind, WriteResult } from '../contract';
import type { PermanentFailureCode } from '../errors';
import type { AuditEntry, StoredVersion, UndoResult, WriteOutcomeEvent } from '../ports';

/**
 * What an activity answers. A permanent failure is a *completed* activity with `ok: false`, so the
 * host does not retry it; a transient failure is a thrown error, which it does retry.
 */
export type StepResult<T> = { ok: true; value: T } | { ok: false; failure: StepFailure };

export interface StepFailure {
  code: PermanentFailureCode;
  message: string;
  currentVersion?: number;
}

export type AuditStepInput = AuditEntry;
export type AuditStepResult = StepResult<{ recordId: string }>;

export interface PersistStepInput {
  kind: WriteKind;
  operationId: string;
  patientId: string;
  testId?: string;
  expectedVersion?: number;
  payload?: SealedPayload;
  /** Orchestration time of the persist step: the `lastUpdated` it writes. */
  at: string;
  /** From the input: the operations a support restart restarts. */
  restartOf?: string[];
  /** The caller's trace context, from the orchestration input, so the step joins its operation. */
  trace?: TraceCarrier;
}
export type PersistStepResult = StepResult<StoredVersion>;

export interface UndoStepInput {
  kind: WriteKind;
  operationId: string;
  patientId: string;
  testId?: string;
  at: string;
  /** From the input: a restart undoes the change of a restarted write that it answered with. */
  restartOf?: string[];
  /** The caller's trace context, from the orchestration input. */
  trace?: TraceCarrier;
}
export type UndoStepResult = StepResult<UndoResult>;

/** The outcome step's input: the write's outcome as the orchestrator decided it. */
export interface ReportStepInput {
  kind: WriteKind;
  operationId: string;
  instanceId: string;
  outcome: WriteOutcomeEvent['outcome'];
  reason?: string;
  /** Orchestration time when the outcome was decided: the end of the write's duration. */
  at: string;
  /** The caller's trace context, from the orchestration input. */
  trace?: TraceCarrier;
}
/** Whether an event was emitted (false with telemetry off). */
export type ReportStepResult = StepResult<{ reported: boolean }>;

const OPERATIONS: Record<WriteKind, AuditEntry['operation']> = {
  createPatient: 'create',
  updatePatient: 'update',
  deletePatient: 'delete',
  createTestResult: 'create',
};

/**
 * The audit record for one outcome of a write. `extra.testId` names the test result the record is
 * about when it is not the input's: a restart that answered with its restarted add's (case 9).
 */
export function auditEntryFor(
  input: WriteInput,
  instanceId: string,
  outcome: AuditOutcome,
  at: string,
  extra: { reason?: string; version?: number; testId?: string } = {},
): AuditEntry {
  const resource: AuditEntry['resource'] =
    input.kind === 'createTestResult'
      ? { type: 'test', id: extra.testId ?? input.testId, patientId: input.patientId }
      : { type: 'patient', id: input.patientId, patientId: input.patientId };
  return {
    idempotencyKey: `${input.operationId}:${outcome}`,
    operationId: input.operationId,
    instanceId,
    kind: input.kind,
    operation: OPERATIONS[input.kind],
    resource,
    actor: input.actor,
    outcome,
    ...(extra.reason === undefined ? {} : { reason: extra.reason }),
    ...(extra.version === undefined ? {} : { version: extra.version }),
    at,
    ...(input.trace === undefined ? {} : { trace: input.trace }),
  };
}

/** The persist activity's input for a write. */
export function persistInputFor(input: WriteInput, at: string): PersistStepInput {
  const step: PersistStepInput = { kind: input.kind, operationId: input.operationId, patientId: input.patientId, at };
  if (input.kind === 'createTestResult') step.testId = input.testId;
  if ((input.kind === 'updatePatient' || input.kind === 'deletePatient') && input.expectedVersion !== undefined) {
    step.expectedVersion = input.expectedVersion;
  }
  if (input.kind !== 'deletePatient') step.payload = input.payload;
  if (input.restartOf !== undefined) step.restartOf = input.restartOf;
  if (input.trace !== undefined) step.trace = input.trace;
  return step;
}

/** The undo activity's input for a write. */
export function undoInputFor(input: WriteInput, at: string): UndoStepInput {
  const step: UndoStepInput = { kind: input.kind, operationId: input.operationId, patientId: input.patientId, at };
  if (input.kind === 'createTestResult') step.testId = input.testId;
  if (input.restartOf !== undefined) step.restartOf = input.restartOf;
  if (input.trace !== undefined) step.trace = input.trace;
  return step;
}

/**
 * The outcome step's input for a write that ended with `result`: the change in effect or refused
 * by the store is `completed` (the refusal's code as `reason`), an undone change `compensated`,
 * anything else `failed`, with the step that stayed unavailable as `reason`.
 */
export function reportInputFor(
  input: WriteInput,
  instanceId: string,
  result: WriteResult,
  at: string,
): ReportStepInput {
  switch (result.outcome) {
    case 'created':
    case 'updated':
    case 'deleted':
      return reportInput(input, instanceId, 'completed', undefined, at);
    case 'notFound':
    case 'conflict':
      return reportInput(input, instanceId, 'completed', result.outcome, at);
    case 'unavailable': {
      const reason = `${result.failure?.step ?? 'write'}Unavailable`;
      return reportInput(
        input,
        instanceId,
        result.failure?.compensated === true ? 'compensated' : 'failed',
        reason,
        at,
      );
    }
  }
}

/** The outcome step's input for a write whose instance is about to fail: its compensation could not finish. */
export function failedReportInputFor(input: WriteInput, instanceId: string, at: string): ReportStepInput {
  return reportInput(input, instanceId, 'failed', 'compensationFailed', at);
}

function reportInput(
  input: WriteInput,
  instanceId: string,
  outcome: ReportStepInput['outcome'],
  reason: string | undefined,
  at: string,
): ReportStepInput {
  return {
    kind: input.kind,
    operationId: input.operationId,
    instanceId,
    outcome,
    ...(reason === undefined ? {} : { reason }),
    at,
    ...(input.trace === undefined ? {} : { trace: input.trace }),
  };
}
