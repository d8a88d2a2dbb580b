/**
 * The shapes patient-app stores in its MongoDB database (`PATIENT_DATABASE_NAME`). Every document
 * carries `_shardKey` (Cosmos DB's partition key) and every query names it; see docs/data-store.md.
 */
import type { PatientFields, TestResultFields } from '../model';

/** Collection names, in one place. */
export const collections = {
  /** The current state of each patient: a projection of its latest version claim. */
  patients: 'patients',
  /** One document per patient version; inserting one is how a write wins that version. */
  patientVersions: 'patientVersions',
  /** Test results, partitioned by patient. */
  tests: 'tests',
  /** Idempotency keys (HMAC of the caller's key) and the write they started. */
  idempotencyKeys: 'idempotencyKeys',
  /** Which write a support restart started from which (`support/restart-links.ts`). */
  supportRestarts: 'supportRestarts',
} as const;

/** `patients`: `_id` and `_shardKey` are the patient id. */
export interface PatientDocument {
  _id: string;
  _shardKey: string;
  version: number;
  lastUpdated: Date;
  deleted: boolean;
  /** The operation whose version this is. */
  operationId: string;
  /** `null` once deleted: a deleted patient's personal data leaves the live document. */
  patient: PatientFields | null;
  /** The earliest day `patient.dateOfBirth` can mean, for range search. */
  dateOfBirthDate: Date | null;
}

/** `erase`: a support erasure of a deleted patient (docs/support-runbook.md); no write claims a version after it. */
export type VersionKind = 'create' | 'update' | 'delete' | 'undo' | 'erase';

/**
 * `patientVersions`: the claim of one version, `_id` `${patientId}:${version}`, `_shardKey` the
 * patient id. Inserting it is atomic (unique `_id`), which is what decides concurrent writes.
 */
export interface PatientVersionDocument {
  _id: string;
  _shardKey: string;
  patientId: string;
  version: number;
  /** The write that claimed it; undo claims use `${operationId}:undo`, erase claims the support action's id. */
  operationId: string;
  kind: VersionKind;
  /** For `undo`: the operation it reverses. */
  undoOf?: string;
  deleted: boolean;
  /** `null` on every claim of an erased patient: an erasure keeps the claims' ids, kinds and times, never their content. */
  patient: PatientFields | null;
  lastUpdated: Date;
}

/** `tests`: `_id` the test id, `_shardKey` the patient id (tests are read per patient). */
export interface TestDocument {
  _id: string;
  _shardKey: string;
  patientId: string;
  operationId: string;
  lastUpdated: Date;
  /** Set when the create was undone (compensation); such a test is not found. */
  revoked: boolean;
  /** The operation whose undo removed it: its own, or a support restart's that had answered with it. */
  revokedBy?: string;
  test: TestResultFields | null;
}

/** `idempotencyKeys`: `_id` and `_shardKey` are the HMAC of the caller's `Idempotency-Key`. */
export interface IdempotencyKeyDocument {
  _id: string;
  _shardKey: string;
  /** HMAC of the method, route and body the key was first used with. */
  requestHash: string;
  /** The write (orchestration instance) the key started. */
  operationId: string;
  createdAt: Date;
}

/**
 * `idempotencyKeys`, `_id` `race:<every hash of the key under the HMAC key ring, sorted>`: which
 * write of one key may start while a rotation has several keys (docs/key-rotation.md). Inserted
 * once; never matches a key's `_id` (a hex hash).
 */
export interface IdempotencyRaceDocument {
  _id: string;
  _shardKey: string;
  /** The write that won, and the hash (of one ring key) its record has. */
  operationId: string;
  keyHash: string;
  createdAt: Date;
}

export function versionClaimId(patientId: string, version: number): string {
  return `${patientId}:${version}`;
}
