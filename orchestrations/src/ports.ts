/**
 * The ports the write activities need. patient-app's composition root implements them (MongoDB
 * repository, HTTP client to audit-app, AES-256-GCM cipher with the key from configuration) and
 * hands them to `register(deps)`. Dependencies point one way: patient-app → orchestrations.
 *
 * Failure contract for every port: throw `PermanentFailure` (from `./errors`) for anything a retry
 * cannot fix; throw anything else for transient failures (network, timeouts, 5xx, store
 * unavailable), which the Durable host retries with the policy in `retry-policies.ts`. Error
 * messages end up in orchestration history: they must never contain personal data.
 *
 * Every method runs at least once and may run again after a crash with the same arguments
 * (activities are retried and replayed); each one must be idempotent as described on it.
 */
import type { Actor, AuditOutcome, SealedPayload, TraceCarrier, WriteKind } from './contract';

/** A JSON document opened from a `SealedPayload`. Its schema belongs to patient-app (validated before the write starts). */
export type WriteDocument = Record<string, unknown>;

/** Opens the sealed document inside an activity. */
export interface PayloadCipher {
  /**
   * Decrypts and authenticates `payload` (AES-256-GCM, key chosen by `payload.keyId`) and parses
   * the JSON document. Throws `PermanentFailure('rejected', …)` when the payload does not
   * authenticate or names an unknown key; other errors (key source unavailable) are transient.
   */
  open(payload: SealedPayload): Promise<WriteDocument>;
}

/** One audit record, free of personal data: references, codes and times. */
export interface AuditEntry {
  /**
   * `${operationId}:${outcome}`: unique per write and outcome. audit-app stores a key once and
   * answers a repeat with the record already stored, so a re-run activity writes nothing new.
   */
  idempotencyKey: string;
  /** The correlation (operation) id callers see. */
  operationId: string;
  /** The orchestration instance id. */
  instanceId: string;
  kind: WriteKind;
  operation: 'create' | 'update' | 'delete';
  resource: { type: 'patient' | 'test'; id: string; patientId: string };
  actor: Actor;
  outcome: AuditOutcome;
  /**
   * A code, never free text with data: `notFound`, `conflict`, `persistUnavailable`,
   * `auditUnavailable`, `superseded` (a later write had replaced this one before it could be undone),
   * `alreadyApplied` (a support restart found the change of the write it restarts in effect and
   * applied nothing: `version` is that write's).
   */
  reason?: string;
  /** The version written, for `succeeded` and `compensated`. */
  version?: number;
  /** When the step happened: orchestration time, identical on every replay and re-run. */
  at: string;
  trace?: TraceCarrier;
}

/** The audit register (audit-app), as patient-app reaches it: an HTTP client with its function key. */
export interface AuditRegister {
  /**
   * Stores `entry`, idempotent by `entry.idempotencyKey`. Transient: network errors, timeouts,
   * 408, 429, 5xx. Permanent (`PermanentFailure('rejected')`): other 4xx (invalid record, wrong key).
   */
  record(entry: AuditEntry): Promise<{ recordId: string }>;
}

/** The version a persist produced. Versions start at 1 and grow by one per change; the ETag is the version. */
export interface StoredVersion {
  version: number;
  /** ISO-8601; equals the command's `at` (or, with `restartedWrite`, that write's). */
  lastUpdated: string;
  /**
   * Set when a support restart found the change of a write it restarts still in effect (case 9:
   * its undo failed for good) and applied nothing: that write, and for a test result the id of the
   * test result it added. The version is the one that write produced.
   */
  restartedWrite?: { operationId: string; testId?: string };
}

/** Fields common to every store command. */
export interface StoreCommand {
  /**
   * The write making the change. Stored with the change (on its version claim), so that a re-run of
   * the same command is recognised and answered with the first answer, and `undo` finds it.
   */
  operationId: string;
  patientId: string;
  /** The time to record as `lastUpdated`: orchestration time, the same on every re-run. */
  at: string;
  /**
   * For a support restart (`WriteInput.restartOf`): the operations it restarts, oldest first. When
   * the change of one of them is still in effect (its claim exists and was not undone), the command
   * applies nothing and answers that change's version with `restartedWrite`, and `undo` reverses
   * that change. Otherwise the patient's versions that are undos of their changes are looked
   * through: a create claims the next version over the undo of a restarted create (never over any
   * other delete), and `expectedVersion` matches the version the undos restored.
   */
  restartOf?: readonly string[];
}

/** How `undo` ended. */
export type UndoResult =
  /** The operation's change was reversed by a new version (or, for a test result, removed). */
  | 'reverted'
  /** The operation had changed nothing (it was rejected, or failed before taking effect). */
  | 'nothingToUndo'
  /** A later write had already replaced the operation's change; undoing it would destroy that write, so nothing was changed. */
  | 'superseded';

/**
 * The patient-app MongoDB repository, as the persist and undo activities use it.
 *
 * **Concurrency (a requirement, not a hint).** The local store (FerretDB 1.24) does not isolate
 * concurrent updates of one document: a `replaceOne`/`findOneAndUpdate` with the version in its
 * filter lets several writers "win". Every version change must therefore be decided by an atomic
 * INSERT of a version claim with a unique `_id` of `${patientId}:${version}` (carrying the
 * `operationId` and the new document as stored), treating duplicate key (11000) as "another write
 * claimed this version": a `conflict` when `expectedVersion` was given, otherwise read the current
 * version again and claim the next one (bounded). Only the claim's winner then writes the patient
 * document. Cosmos DB needs the same shape (no multi-document transactions).
 *
 * **Idempotency.** Before claiming, look for a claim by `operationId` (an index on it): when one
 * exists, the command already ran; finish applying it if the crash came between the claim and the
 * document write, and return the same `StoredVersion` without a new version. A duplicate key on
 * the claim whose claim carries the SAME `operationId` is that case too: an attempt the host gave
 * up on (timeout) may still be running next to its retry.
 *
 * **Deletion** is a version too (a tombstone claim), so it can be undone and reads answer 404.
 */
export interface PatientStore {
  /** Creates patient `patientId` at version 1. A patient created by another operation with that id: `PermanentFailure('conflict')`. */
  createPatient(command: StoreCommand & { document: WriteDocument }): Promise<StoredVersion>;
  /**
   * Replaces the patient's document with a new version. `PermanentFailure('notFound')` when the
   * patient does not exist or is deleted; `PermanentFailure('conflict', …, currentVersion)` when
   * `expectedVersion` is given and is not the current version, or another write claimed the next version first.
   */
  updatePatient(command: StoreCommand & { expectedVersion?: number; document: WriteDocument }): Promise<StoredVersion>;
  /** Deletes the patient (a tombstone version). `notFound` and `conflict` as for `updatePatient`. */
  deletePatient(command: StoreCommand & { expectedVersion?: number }): Promise<StoredVersion>;
  /**
   * Creates test result `testId` (partitioned by `patientId`). `PermanentFailure('notFound')` when the
   * patient does not exist or is deleted. A re-run with the same `operationId` returns the first answer.
   */
  createTestResult(command: StoreCommand & { testId: string; document: WriteDocument }): Promise<StoredVersion>;
  /**
   * Reverses whatever operation `operationId` of kind `kind` changed, as a NEW version carrying the
   * content from before it (versions never go back, so no ETag is reused); a created patient becomes
   * deleted, a deleted one comes back, a created test result is removed. Changes nothing when a later
   * version replaced the operation's change (`superseded`) or when it changed nothing. Idempotent: a
   * second call answers as the first did.
   */
  undo(command: StoreCommand & { kind: WriteKind; testId?: string }): Promise<UndoResult>;
}

/**
 * A finished write as telemetry reports it (docs/telemetry.md): ids, codes and numbers only, so no
 * personal data can reach it through this shape.
 */
export interface WriteOutcomeEvent {
  /** `completed` covers writes the store refused too (`reason` `notFound`, `conflict`). */
  outcome: 'completed' | 'compensated' | 'failed';
  kind: WriteKind;
  /** The orchestration instance id: the write's operation id, and the key to deduplicate by. */
  instanceId: string;
  /** Activity executions, retries included (the report step itself not counted). */
  attempts: number;
  /** From the orchestration's start to the end of its last step. */
  durationMs: number;
  /** A code (`notFound`, `conflict`, `persistUnavailable`, `compensationFailed`, …), never free text. */
  reason?: string;
  /** The starter's trace context, so the event joins the write's operation. */
  trace?: TraceCarrier;
}

/** Where the outcome step sends a finished write's outcome: patient-app's Application Insights. */
export interface WriteOutcomeReporter {
  /** False when nothing would be sent (telemetry off): the step then reads and emits nothing. */
  readonly enabled: boolean;
  /**
   * Emits the event (and its metrics). Synchronous, so an attempt the step has given up on cannot
   * emit after its retry did.
   */
  report(event: WriteOutcomeEvent): void;
}

/** What `register(deps)` needs: the ports, built once by the app's composition root. */
export interface WriteDependencies {
  store: PatientStore;
  audit: AuditRegister;
  cipher: PayloadCipher;
  /** Without it the outcome step still runs (the orchestration's path never depends on it) and emits nothing. */
  outcomes?: WriteOutcomeReporter;
}
