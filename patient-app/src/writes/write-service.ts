import { randomUUID } from 'node:crypto';

import {
  type Actor,
  orchestrationNameFor,
  type SealedPayload,
  type TraceCarrier,
  WRITE_KINDS,
  type WriteDocument,
  type WriteInput,
  type WriteKind,
  type WriteResult,
} from '@patient-records/orchestrations';
import type { DurableClient } from 'durable-functions';

import type { IdempotencyKeys } from '../data/idempotency-keys';
import type { MongoPatientRepository, WriteByOperation } from '../data/patient-repository';
import type { IdempotencyKeyRing } from '../security/idempotency';
import type { AesGcmPayloadCipher } from '../security/payload-cipher';
import type { RestartLinks } from '../support/restart-links';
import { taskHubUnavailable } from './task-hub-unavailable';

/** A write the HTTP layer validated and wants carried out. */
export interface WriteRequest {
  kind: WriteKind;
  /** For `createPatient` without an idempotency key, leave it out: the service assigns one. */
  patientId?: string;
  document?: WriteDocument;
  expectedVersion?: number;
  actor: Actor;
  trace?: TraceCarrier;
  /** The caller's `Idempotency-Key` and what identifies the request (method, route, body). */
  idempotency?: { key: string; method: string; route: string; body: unknown };
}

/** How far a write got while the starter waited. */
export type WriteStatus =
  | { state: 'done'; operationId: string; result: WriteResult; document?: WriteDocument }
  | { state: 'running'; operationId: string }
  | { state: 'failed'; operationId: string; runtimeStatus: string }
  | { state: 'unknown'; operationId: string };

/** A write's status, or that of the support restart it was followed to (`restartedAs`, its operation id). */
export interface FollowedStatus {
  status: WriteStatus;
  restartedAs?: string;
}

/**
 * Started, or refused before starting. `purged`: a repeat of a write that ran and whose history
 * support purged since; `status` is its answer, from what it stored.
 */
export type StartOutcome =
  | { kind: 'started' | 'repeat'; operationId: string }
  | { kind: 'purged'; operationId: string; status: WriteStatus }
  | { kind: 'idempotencyMismatch' };

/** The outcome each kind of write answers with once its change is in effect. */
const appliedOutcome = {
  createPatient: 'created',
  updatePatient: 'updated',
  deletePatient: 'deleted',
  createTestResult: 'created',
} as const satisfies Record<WriteKind, WriteResult['outcome']>;

const finishedFailed = new Set(['Failed', 'Terminated', 'Canceled']);
/** How many restarts of restarts are followed: each took a support action, so real chains are short. */
const maxRestartHops = 10;
const firstPollMs = 2;
const maxPollMs = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isWriteInput(value: unknown): value is WriteInput {
  if (typeof value !== 'object' || value === null) return false;
  const input = value as { v?: unknown; kind?: unknown; operationId?: unknown };
  return input.v === 1 && typeof input.operationId === 'string' && (WRITE_KINDS as readonly unknown[]).includes(input.kind);
}

function isWriteResult(value: unknown): value is WriteResult {
  return typeof value === 'object' && value !== null && (value as { v?: unknown }).v === 1 && typeof (value as { outcome?: unknown }).outcome === 'string';
}

/**
 * The status of a write that ran, built from what it stored: its change in effect answers as the
 * first run did (`document` is the content it set), one of a patient erased since `notFound`, as
 * any write on it.
 */
function statusFromStore(operationId: string, write: WriteByOperation): WriteStatus {
  const { kind, patientId, testId, stored, document } = write;
  // Which audit outcomes were confirmed was in the purged history; the audit register still holds them.
  const base = { v: 1 as const, kind, operationId, patientId, ...(testId !== undefined ? { testId } : {}), auditRecorded: [] };
  if (stored.state === 'erased') return { state: 'done', operationId, result: { ...base, outcome: 'notFound' } };
  const outcome = appliedOutcome[kind];
  const result: WriteResult = { ...base, outcome, version: stored.version, lastUpdated: stored.lastUpdated.toISOString() };
  const answersWithDocument = outcome !== 'deleted' && document !== undefined;
  return { state: 'done', operationId, result, ...(answersWithDocument ? { document } : {}) };
}

export interface WriteServiceOptions {
  cipher: AesGcmPayloadCipher;
  /** The HMAC keys of idempotency keys: the current one hashes new keys, every one finds a repeat. */
  hashers: IdempotencyKeyRing;
  idempotencyKeys: IdempotencyKeys;
  /** How long `wait` polls before answering `running` (WRITE_WAIT_TIMEOUT_MS). */
  waitTimeoutMs: number;
  /** Which write a support restart started from which. */
  restarts: Pick<RestartLinks, 'restartedAs'>;
  /** What a write stored, for a repeat or the operations link of one whose history support purged. */
  storedWrites: Pick<MongoPatientRepository, 'storedWrite' | 'writeByOperation'>;
}

/** Whether support can have restarted the write: it ended unapplied (unavailable, failed, terminated), or its history was purged. */
function restartable(status: WriteStatus): boolean {
  switch (status.state) {
    case 'running':
      return false;
    case 'unknown':
    case 'failed':
      return true;
    case 'done':
      return status.result.outcome === 'unavailable';
  }
}

/**
 * Starts write orchestrations and waits for them. The operation id is the orchestration instance
 * id: a fresh UUID, or derived from the `Idempotency-Key` (HMAC) so that a repeat finds the
 * instance the first request started and starts nothing. The document travels sealed
 * (AES-256-GCM); the answer's body is opened from the instance's input, so it is exactly the first
 * result, and the store is not read again.
 */
export class WriteService {
  constructor(private readonly options: WriteServiceOptions) {}

  async start(client: DurableClient, request: WriteRequest): Promise<StartOutcome> {
    let operationId: string = randomUUID();
    let idempotencyKeyHash: string | undefined;
    let ids: { patientId: string; testId: string } = { patientId: randomUUID(), testId: randomUUID() };
    if (request.idempotency) {
      const { key, method, route, body } = request.idempotency;
      const { current, hashers } = this.options.hashers;
      const candidates = hashers.map((hasher) => ({
        keyHash: hasher.keyHash(request.actor.system, key),
        requestHash: hasher.requestHash(method, route, { body, expectedVersion: request.expectedVersion ?? null }),
      }));
      // hashers[0] is the current key: a first use is recorded, and its ids derived, under its hash.
      const firstKeyHash = candidates[0]?.keyHash ?? current.keyHash(request.actor.system, key);
      const now = new Date();
      let decision = await this.options.idempotencyKeys.decide(candidates, current.operationId(firstKeyHash), now);
      if (decision.kind === 'repeat' && hashers.length > 1 && !(await this.exists(client, decision.operationId))) {
        // Not started: its first request stopped before startNew, or, while a key rotation has the
        // instances disagree on the current key, it lost to a first use under another key.
        decision = await this.options.idempotencyKeys.settle(candidates, decision, now);
      }
      if (decision.kind === 'mismatch') return { kind: 'idempotencyMismatch' };
      // A repeat was found under whichever key of the ring hashed the first request: that key
      // derives the ids the first write assigned, so a repeat that has to start it assigns the same.
      const matched = decision.kind === 'repeat' ? decision.matched : 0;
      const hasher = hashers[matched] ?? current;
      const keyHash = candidates[matched]?.keyHash ?? firstKeyHash;
      operationId = decision.operationId;
      idempotencyKeyHash = keyHash;
      ids = { patientId: hasher.derivedId(keyHash, 'patientId'), testId: hasher.derivedId(keyHash, 'testId') };
      if (decision.kind === 'repeat') {
        if (await this.exists(client, operationId)) return { kind: 'repeat', operationId };
        // Not in the task hub: its first request stopped between recording the key and starting the
        // write, or support purged its history (docs/support-runbook.md). One that stored its change
        // ran: run again, its audit record would differ from the first run's under the same key and
        // audit-app would refuse it (503), so it answers from the store as the first run did.
        const status = await this.storedStatus(request, operationId, ids);
        if (status) return { kind: 'purged', operationId, status };
      }
    }
    const input = this.inputFor(request, operationId, ids, idempotencyKeyHash);
    try {
      await client.startNew(orchestrationNameFor(request.kind), { instanceId: operationId, input });
    } catch (error) {
      // Two repeats of a key whose first start was lost may both try to start it: one wins.
      if (request.idempotency && (await this.exists(client, operationId))) return { kind: 'repeat', operationId };
      throw taskHubUnavailable(error) ?? error;
    }
    return { kind: 'started', operationId };
  }

  /** Polls the write's status with a short, growing interval, up to `timeoutMs`. */
  async wait(client: DurableClient, operationId: string, timeoutMs = this.options.waitTimeoutMs): Promise<WriteStatus> {
    const deadline = Date.now() + timeoutMs;
    let interval = firstPollMs;
    for (;;) {
      const status = await this.status(client, operationId);
      if (status.state !== 'running') return status;
      const left = deadline - Date.now();
      if (left <= 0) return status;
      await sleep(Math.min(interval, left));
      interval = Math.min(interval * 2, maxPollMs);
    }
  }

  /**
   * What the operations link answers: the write's status followed to its support restarts, or, for
   * a write the task hub does not know (support purged it) and no restart, what it stored, as a
   * repeat of its request answers. Only an unknown operation costs the store's look-ups.
   */
  async lookUp(client: DurableClient, operationId: string): Promise<FollowedStatus> {
    const followed = await this.followRestarts(client, await this.status(client, operationId));
    if (followed.status.state !== 'unknown') return followed;
    const write = await this.options.storedWrites.writeByOperation(operationId);
    // A write of an erased patient stays unknown here, as for a patient that never was; a repeat of
    // its request answers 404 as any write on the patient.
    return write && write.stored.state !== 'erased' ? { status: statusFromStore(operationId, write) } : followed;
  }

  /** The write's status now, without waiting. */
  async status(client: DurableClient, operationId: string): Promise<WriteStatus> {
    let status;
    try {
      status = await client.getStatus(operationId, { showInput: true });
    } catch (error) {
      if (error instanceof Error && /could not find any data/i.test(error.message)) return { state: 'unknown', operationId };
      throw taskHubUnavailable(error) ?? error;
    }
    const runtimeStatus: string = status.runtimeStatus;
    if (!isWriteInput(status.input)) return { state: 'unknown', operationId };
    if (runtimeStatus === 'Completed') {
      if (!isWriteResult(status.output)) return { state: 'failed', operationId, runtimeStatus };
      const done: WriteStatus = { state: 'done', operationId, result: status.output };
      // Only an applied create or update answers with its document. Once a rotation has dropped the
      // key that sealed it (docs/key-rotation.md), the answer carries the ids, ETag and Location only.
      const answersWithDocument = status.output.outcome === 'created' || status.output.outcome === 'updated';
      if (answersWithDocument && 'payload' in status.input && this.options.cipher.hasKeyFor(status.input.payload)) {
        done.document = await this.options.cipher.open(status.input.payload);
      }
      return done;
    }
    if (finishedFailed.has(runtimeStatus)) return { state: 'failed', operationId, runtimeStatus };
    return { state: 'running', operationId };
  }

  /**
   * Follows support restarts from a write's status (`own`), so that a consumer who got `202`/`503`
   * with an operation id learns from that id what became of the write: a write that was restarted
   * (even one purged since) answers with its latest restart that has started. The link is claimed a
   * moment before the restart starts, so a restart not (or no longer) known is passed over. Only a
   * write that can have been restarted costs a read of the links: one that runs, applied or was
   * refused answers from the task hub alone.
   */
  async followRestarts(client: DurableClient, own: WriteStatus): Promise<FollowedStatus> {
    if (!restartable(own)) return { status: own };
    const chain: string[] = [];
    let next = await this.options.restarts.restartedAs(own.operationId);
    while (next !== undefined && chain.length < maxRestartHops) {
      chain.push(next);
      next = await this.options.restarts.restartedAs(next);
    }
    for (const restart of chain.reverse()) {
      const status = await this.status(client, restart);
      if (status.state !== 'unknown') return { status, restartedAs: restart };
    }
    return { status: own };
  }

  /**
   * The answer of a write that ran, from what it stored: its change in effect answers as the first
   * run did (the document is the request's, the same body, as the key matched), one of a patient
   * erased since answers `notFound`, as any write on it. `undefined` when it stored nothing or its
   * change was undone: then it did not end applied, and starting it again is what is left.
   */
  private async storedStatus(
    request: WriteRequest,
    operationId: string,
    ids: { patientId: string; testId: string },
  ): Promise<WriteStatus | undefined> {
    const patientId = request.patientId ?? ids.patientId;
    const testId = request.kind === 'createTestResult' ? ids.testId : undefined;
    const stored = await this.options.storedWrites.storedWrite(patientId, operationId, testId);
    if (stored === undefined) return undefined;
    return statusFromStore(operationId, {
      kind: request.kind,
      patientId,
      stored,
      ...(testId !== undefined ? { testId } : {}),
      ...(request.document !== undefined ? { document: request.document } : {}),
    });
  }

  private async exists(client: DurableClient, operationId: string): Promise<boolean> {
    return (await this.status(client, operationId)).state !== 'unknown';
  }

  private inputFor(
    request: WriteRequest,
    operationId: string,
    ids: { patientId: string; testId: string },
    idempotencyKeyHash: string | undefined,
  ): WriteInput {
    const patientId = request.patientId ?? ids.patientId;
    const base = {
      v: 1 as const,
      operationId,
      patientId,
      actor: request.actor,
      ...(idempotencyKeyHash !== undefined ? { idempotencyKeyHash } : {}),
      ...(request.trace !== undefined ? { trace: request.trace } : {}),
    };
    const seal = (): SealedPayload =>
      this.options.cipher.seal(request.document ?? {}, `${request.kind}:${operationId}:${patientId}`);
    const expected = request.expectedVersion !== undefined ? { expectedVersion: request.expectedVersion } : {};
    switch (request.kind) {
      case 'createPatient':
        return { ...base, kind: 'createPatient', payload: seal() };
      case 'updatePatient':
        return { ...base, kind: 'updatePatient', ...expected, payload: seal() };
      case 'deletePatient':
        return { ...base, kind: 'deletePatient', ...expected };
      case 'createTestResult':
        return { ...base, kind: 'createTestResult', testId: ids.testId, payload: seal() };
    }
  }
}
