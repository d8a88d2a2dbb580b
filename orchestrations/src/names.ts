/**
 * Function names the write orchestrations register under. They are part of the wire contract:
 * patient-app starts orchestrations by these names, and recorded histories replay against them.
 * Suffixed so they never collide with an app's HTTP function names.
 */
import type { WriteKind } from './contract';

/** One orchestration per write kind, so support can list and filter writes by kind. */
export const ORCHESTRATION_NAMES = {
  createPatient: 'createPatientOrchestrator',
  updatePatient: 'updatePatientOrchestrator',
  deletePatient: 'deletePatientOrchestrator',
  createTestResult: 'createTestResultOrchestrator',
} as const satisfies Record<WriteKind, string>;

export type OrchestrationName = (typeof ORCHESTRATION_NAMES)[WriteKind];

/** The activities every write orchestration calls. */
export const ACTIVITY_NAMES = {
  /** Records one audit entry in audit-app. */
  audit: 'auditWriteActivity',
  /** Opens the sealed document and applies the write to the patient store. */
  persist: 'persistWriteActivity',
  /** Reverses what `persist` changed for an operation (compensation). */
  undo: 'undoWriteActivity',
  /** Emits the write's outcome to telemetry, once its result is decided (docs/telemetry.md). */
  report: 'reportWriteOutcomeActivity',
} as const;

export type ActivityName = (typeof ACTIVITY_NAMES)[keyof typeof ACTIVITY_NAMES];

/** The orchestration name for a write kind. */
export function orchestrationNameFor(kind: WriteKind): OrchestrationName {
  return ORCHESTRATION_NAMES[kind];
}
