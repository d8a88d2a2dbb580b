/**
 * The wire contract of the write orchestrations: what patient-app passes to `startNew` and what it
 * reads back as the instance output. Both are recorded in orchestration history, so they carry NO
 * patient personal data in clear text: ids, versions, times, the actor, and the document sealed
 * with AES-256-GCM (`SealedPayload`). Changing a field's meaning is a replay-breaking change: add
 * a new `v` instead.
 */

/** The four write kinds; each is its own orchestration (see `names.ts`). */
export const WRITE_KINDS = ['createPatient', 'updatePatient', 'deletePatient', 'createTestResult'] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];

/** Who asked for the write: the calling system (APIM subscription / app) and, when APIM passes it, the end user. */
export interface Actor {
  system: string;
  user?: string;
}

/**
 * A document sealed by patient-app with AES-256-GCM. All binary fields are base64. `keyId` names
 * the key (so keys can rotate while older instances still replay); `aad` is the additional
 * authenticated data the seal was bound to (patient-app binds it to the operation, so a payload
 * cannot be moved to another write). Opened only inside activities, through `PayloadCipher`.
 */
export interface SealedPayload {
  alg: 'A256GCM';
  keyId: string;
  iv: string;
  ciphertext: string;
  tag: string;
  aad?: string;
}

/** W3C trace context, so activities and audit-app calls join the caller's operation. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

interface WriteInputBase {
  /** Contract version of this input. */
  v: 1;
  /**
   * The operation (correlation) id handed to callers as `/api/operations/{operationId}` and written
   * on every audit record. patient-app may use the orchestration instance id itself.
   */
  operationId: string;
  /** The patient the write is about; for `createPatient`, the id the server assigned. */
  patientId: string;
  actor: Actor;
  /** SHA-256 (hex) of the caller's `Idempotency-Key` and body, when a key was sent; never the key itself. */
  idempotencyKeyHash?: string;
  /** Filled by the telemetry layer; optional. */
  trace?: TraceCarrier;
  /**
   * Set by a support restart: the operation ids of the writes this one restarts, oldest first (a
   * restart of a restart names both). The store lets the write apply over their UNDONE changes as
   * if they had never happened: a compensated create is created again under its patient id, and an
   * `expectedVersion` read before a compensated change still matches once that change is undone.
   */
  restartOf?: string[];
}

export interface CreatePatientInput extends WriteInputBase {
  kind: 'createPatient';
  payload: SealedPayload;
}

export interface UpdatePatientInput extends WriteInputBase {
  kind: 'updatePatient';
  /** From `If-Match`; absent means unconditional (last writer wins, still serialised per version). */
  expectedVersion?: number;
  payload: SealedPayload;
}

export interface DeletePatientInput extends WriteInputBase {
  kind: 'deletePatient';
  expectedVersion?: number;
}

export interface CreateTestResultInput extends WriteInputBase {
  kind: 'createTestResult';
  /** The id the server assigned to the new test result. */
  testId: string;
  payload: SealedPayload;
}

/** The input of every write orchestration (`client.startNew(name, { instanceId, input })`). */
export type WriteInput = CreatePatientInput | UpdatePatientInput | DeletePatientInput | CreateTestResultInput;

/** What the audit register records about one write, at each step of it. */
export type AuditOutcome =
  /** The write is about to be tried (recorded before anything changes). */
  | 'attempted'
  /** The change took effect and stays. The only outcome meaning "in effect". */
  | 'succeeded'
  /** The store refused it (`reason`: `notFound` or `conflict`); nothing changed. */
  | 'rejected'
  /** The store stayed unavailable (`reason` says which step); nothing changed (any partial effect was undone). */
  | 'failed'
  /** The change had taken effect, then was undone because its outcome could not be recorded. */
  | 'compensated';

/**
 * How a write ended. patient-app maps it to HTTP:
 * `created` 201, `updated` 200, `deleted` 204, `notFound` 404, `conflict` 412, `unavailable` 503
 * (with `Retry-After` and the operation id).
 */
export type WriteOutcome = 'created' | 'updated' | 'deleted' | 'notFound' | 'conflict' | 'unavailable';

/** The step that could not be completed when the outcome is `unavailable`. */
export type WriteStep = 'auditAttempt' | 'persist' | 'auditResult';

/**
 * The output of every write orchestration: references only. patient-app reads the document back
 * from its store (by `patientId`/`testId`) to build the response body.
 */
export interface WriteResult {
  v: 1;
  kind: WriteKind;
  operationId: string;
  patientId: string;
  testId?: string;
  outcome: WriteOutcome;
  /** The version the write produced (the ETag), for `created`/`updated`/`deleted`. */
  version?: number;
  /** ISO-8601 time the write took effect (the document's `lastUpdated`). */
  lastUpdated?: string;
  /** For `conflict`: the version the store holds now, when known. */
  currentVersion?: number;
  /** For `unavailable`: which step stayed down, and whether a change that had taken effect was undone. */
  failure?: { step: WriteStep; compensated: boolean };
  /**
   * The audit outcomes audit-app confirmed for this write, in order (see `AuditOutcome`). A
   * missing final outcome means the register could not be reached at the end. The change is in
   * effect exactly when the outcome is `created`, `updated` or `deleted`.
   */
  auditRecorded: AuditOutcome[];
}
