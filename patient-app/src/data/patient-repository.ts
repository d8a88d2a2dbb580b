import type {
  PatientStore,
  StoreCommand,
  StoredVersion,
  UndoResult,
  WriteDocument,
  WriteKind,
} from '@patient-records/orchestrations';
import { PermanentFailure } from '@patient-records/orchestrations';
import { type Collection, type Db, type Filter, MongoServerError } from 'mongodb';

import {
  earliestDateOfBirth,
  genders,
  type Patient,
  type PatientCriteria,
  type PatientFields,
  type TestResult,
  type TestResultFields,
} from '../model';
import {
  collections,
  type PatientDocument,
  type PatientVersionDocument,
  type TestDocument,
  versionClaimId,
  type VersionKind,
} from './documents';

/** A patient as read, with the version its ETag carries. */
export interface VersionedPatient {
  patient: Patient;
  version: number;
}

/** One page of a listing: `next` is the sort key to continue after, when there is more. */
export interface Page<T> {
  items: T[];
  next?: string;
}

export interface PageRequest {
  limit: number;
  /** The `next` of the previous page. */
  after?: string;
}

/** Where a patient stands for a support erasure. */
export type ErasureState = 'unknown' | 'notDeleted' | 'deleted' | 'erased';

/** The writes an erasure must purge from the task hub, as the store knows them. */
export interface PatientWrites {
  /** The operation (instance) ids on the patient's version claims and test results, undo claims under their write's id. */
  operationIds: string[];
  /** When the earliest of them stored something; `undefined` when the store knows no write of the patient. */
  earliest?: Date;
}

/** What an erasure removed from the store. */
export interface ErasedContent {
  /** Version claims whose content was set to nothing. */
  versionsScrubbed: number;
  testsRemoved: number;
}

/**
 * What the store holds of one write, found by its operation id (a repeat of its request once support
 * purged its history): its change in effect (the version it claimed, or 1 for a test result, and
 * when), or the patient erased since.
 */
export type StoredWrite = { state: 'inEffect'; version: number; lastUpdated: Date } | { state: 'erased' };

/** A write found by its operation id alone, with what it stored (`document`: the content it set). */
export interface WriteByOperation {
  kind: WriteKind;
  patientId: string;
  testId?: string;
  stored: StoredWrite;
  document?: WriteDocument;
}

/** The write kind that claims each kind of version; undo and erase claims are no consumer's write. */
const writeKindOfClaim: Partial<Record<VersionKind, WriteKind>> = {
  create: 'createPatient',
  update: 'updatePatient',
  delete: 'deletePatient',
};

/** How many times an unconditional write re-reads the latest version after losing a claim. */
const maxClaimAttempts = 32;
/** How many times a writer re-applies the latest claim when a concurrent document write overtook it. */
const maxConvergeRounds = 8;

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 11000;
}

function toPatient(doc: PatientDocument): Patient | undefined {
  if (doc.deleted || doc.patient === null) return undefined;
  return { id: doc._id, ...doc.patient, lastUpdated: doc.lastUpdated.toISOString() };
}

function toTestResult(doc: TestDocument): TestResult | undefined {
  if (doc.revoked || doc.test === null) return undefined;
  return { id: doc._id, patientId: doc.patientId, ...doc.test, lastUpdated: doc.lastUpdated.toISOString() };
}

function optionalString(doc: WriteDocument, name: string): string | undefined {
  const value = doc[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new PermanentFailure('rejected', `The document's ${name} is not a string`);
  return value;
}

function requiredString(doc: WriteDocument, name: string): string {
  const value = optionalString(doc, name);
  if (value === undefined) throw new PermanentFailure('rejected', `The document has no ${name}`);
  return value;
}

/**
 * The patient fields of an opened write document. patient-app validated the request before sealing
 * it; this only guards against a document of the wrong shape reaching the store (e.g. a payload of
 * another kind), which is permanent.
 */
export function patientFieldsOf(doc: WriteDocument): PatientFields {
  const gender = requiredString(doc, 'gender');
  if (!(genders as readonly string[]).includes(gender)) throw new PermanentFailure('rejected', 'The document has an unknown gender');
  const fields: PatientFields = {
    firstName: requiredString(doc, 'firstName'),
    gender: gender as PatientFields['gender'],
    dateOfBirth: requiredString(doc, 'dateOfBirth'),
    postCode: requiredString(doc, 'postCode'),
  };
  for (const name of ['lastName', 'fullName', 'insuranceNumber', 'preferredContactNumber'] as const) {
    const value = optionalString(doc, name);
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}

export function testResultFieldsOf(doc: WriteDocument): TestResultFields {
  const observations = doc['observations'];
  if (!Array.isArray(observations)) throw new PermanentFailure('rejected', 'The document has no observations');
  return {
    performer: requiredString(doc, 'performer'),
    orderReference: requiredString(doc, 'orderReference'),
    observations: observations.map((o: unknown) => {
      if (typeof o !== 'object' || o === null) throw new PermanentFailure('rejected', 'An observation is not an object');
      const obs = o as WriteDocument;
      return {
        id: requiredString(obs, 'id'),
        code: requiredString(obs, 'code'),
        measurement: requiredString(obs, 'measurement'),
        interpretation: requiredString(obs, 'interpretation'),
        issued: requiredString(obs, 'issued'),
        status: requiredString(obs, 'status'),
      };
    }),
  };
}

/**
 * patient-app's MongoDB repository: the `PatientStore` port the write activities use, and the reads
 * the HTTP handlers serve.
 *
 * Every version change is decided by inserting a version claim with the unique `_id`
 * `${patientId}:${version}` (FerretDB, the local store, does not isolate concurrent updates of one
 * document; inserts are atomic). The claim holds the new content; only its winner then projects it
 * onto the `patients` document, and every writer finishes by making sure the document shows the
 * latest claim. Re-running a command with the same `operationId` finds its claim and answers as the
 * first run did.
 */
export class MongoPatientRepository implements PatientStore {
  private readonly patients: Collection<PatientDocument>;
  private readonly versions: Collection<PatientVersionDocument>;
  private readonly tests: Collection<TestDocument>;

  constructor(db: Db) {
    this.patients = db.collection<PatientDocument>(collections.patients);
    this.versions = db.collection<PatientVersionDocument>(collections.patientVersions);
    this.tests = db.collection<TestDocument>(collections.tests);
  }

  /** Creates the indexes the queries need; run at every start (one call per index, see docs/data-store.md). */
  async ensureIndexes(): Promise<void> {
    await this.versions.createIndex({ _shardKey: 1, operationId: 1 }, { name: 'byOperation' });
    await this.versions.createIndex({ _shardKey: 1, version: -1 }, { name: 'latestVersion' });
    // A purged write's operations link finds its write by the operation id alone (`writeByOperation`).
    await this.versions.createIndex({ operationId: 1 }, { name: 'byOperationId' });
    await this.tests.createIndex({ operationId: 1 }, { name: 'byOperationId' });
    await this.patients.createIndex({ 'patient.lastName': 1 }, { name: 'byLastName' });
    await this.patients.createIndex({ dateOfBirthDate: 1 }, { name: 'byDateOfBirth' });
    await this.tests.createIndex({ _shardKey: 1, _id: 1 }, { name: 'byPatient' });
  }

  // ---- PatientStore (write activities) ----

  async createPatient(command: StoreCommand & { document: WriteDocument }): Promise<StoredVersion> {
    const existing = await this.claimOf(command.patientId, command.operationId);
    if (existing) return this.rerun(existing);
    const earlier = await this.restartedChangeInEffect(command);
    if (earlier) return this.finishRestarted(earlier);
    const patient = patientFieldsOf(command.document);
    // A support restart of a create whose change was undone creates the patient again under the same
    // id, as the next version over the undo. Only then: an id a consumer deleted is never reused.
    let version = 1;
    if (command.restartOf !== undefined) {
      const latest = await this.latestClaim(command.patientId);
      if (latest && (await this.versionBeforeRestarts(latest, command.restartOf)) === 0) version = latest.version + 1;
    }
    const claim = this.newClaim(command, version, 'create', { deleted: false, patient });
    if (!(await this.insertClaim(claim))) {
      const again = await this.claimOf(command.patientId, command.operationId);
      if (again) return this.finish(again);
      throw new PermanentFailure('conflict', 'Another write created a patient with this id', 1);
    }
    return this.finish(claim);
  }

  updatePatient(command: StoreCommand & { expectedVersion?: number; document: WriteDocument }): Promise<StoredVersion> {
    const patient = patientFieldsOf(command.document);
    return this.change(command, 'update', { deleted: false, patient });
  }

  deletePatient(command: StoreCommand & { expectedVersion?: number }): Promise<StoredVersion> {
    return this.change(command, 'delete', { deleted: true, patient: null });
  }

  async createTestResult(command: StoreCommand & { testId: string; document: WriteDocument }): Promise<StoredVersion> {
    const test = testResultFieldsOf(command.document);
    const first = await this.existingTest(command);
    if (first) return first;
    const earlier = await this.restartedTestInEffect(command);
    if (earlier) {
      return {
        version: 1,
        lastUpdated: earlier.lastUpdated.toISOString(),
        restartedWrite: { operationId: earlier.operationId, testId: earlier._id },
      };
    }
    const latest = await this.latestClaim(command.patientId);
    if (!latest || latest.deleted) throw new PermanentFailure('notFound', 'The patient does not exist');
    const doc: TestDocument = {
      _id: command.testId,
      _shardKey: command.patientId,
      patientId: command.patientId,
      operationId: command.operationId,
      lastUpdated: new Date(command.at),
      revoked: false,
      test,
    };
    try {
      await this.tests.insertOne(doc);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const again = await this.existingTest(command);
      if (again) return again;
      throw error;
    }
    return { version: 1, lastUpdated: doc.lastUpdated.toISOString() };
  }

  async undo(command: StoreCommand & { kind: WriteKind; testId?: string }): Promise<UndoResult> {
    if (command.kind === 'createTestResult') return this.undoTestResult(command);
    const undoOperationId = `${command.operationId}:undo`;
    const done = await this.claimOf(command.patientId, undoOperationId);
    if (done) {
      await this.finish(done);
      return 'reverted';
    }
    // A restart that answered with a restarted write's change (see `restartedChangeInEffect`)
    // undoes that change: the undo claim is its own, and names the write whose change it reverses.
    const own =
      (await this.claimOf(command.patientId, command.operationId)) ?? (await this.restartedChangeInEffect(command));
    if (!own) return 'nothingToUndo';
    const latest = await this.latestClaim(command.patientId);
    if (latest && latest.version > own.version) return 'superseded';
    const before =
      own.version === 1
        ? { deleted: true, patient: null }
        : await this.versions.findOne({ _id: versionClaimId(command.patientId, own.version - 1), _shardKey: command.patientId });
    if (!before) throw new Error('The version before the one to undo is missing');
    const claim = this.newClaim({ ...command, operationId: undoOperationId }, own.version + 1, 'undo', {
      deleted: before.deleted,
      patient: before.patient,
    });
    claim.undoOf = own.operationId;
    if (!(await this.insertClaim(claim))) {
      const again = await this.claimOf(command.patientId, undoOperationId);
      if (!again) return 'superseded';
      await this.finish(again);
      return 'reverted';
    }
    await this.finish(claim);
    return 'reverted';
  }

  // ---- erasure (support) ----

  async erasureState(patientId: string): Promise<ErasureState> {
    const latest = await this.latestClaim(patientId);
    if (!latest) return 'unknown';
    if (latest.kind === 'erase') return 'erased';
    return latest.deleted ? 'deleted' : 'notDeleted';
  }

  /**
   * Claims the version after a deleted patient's latest with an `erase` claim (kept if one is there
   * already), and projects it. Inserting the claim is what orders the erasure against every write,
   * as between writes: a write that claims the version first (a restart or undo reviving the
   * patient) makes this answer `notDeleted`; once the erase claim is in, every write finds the
   * patient deleted (`notFound`), a compensating undo finds its change superseded, and a restarted
   * create finds no undo to look through (`conflict`), so nothing writes the patient again.
   */
  async claimErasure(patientId: string, operationId: string, at: Date): Promise<Exclude<ErasureState, 'deleted'>> {
    for (let attempt = 0; attempt < maxClaimAttempts; attempt++) {
      const latest = await this.latestClaim(patientId);
      if (!latest) return 'unknown';
      if (latest.kind === 'erase') {
        await this.finish(latest);
        return 'erased';
      }
      if (!latest.deleted) return 'notDeleted';
      const claim = this.newClaim({ patientId, operationId, at: at.toISOString() }, latest.version + 1, 'erase', {
        deleted: true,
        patient: null,
      });
      if (await this.insertClaim(claim)) {
        await this.finish(claim);
        return 'erased';
      }
    }
    throw new Error('Other writes kept claiming the next version of the patient being erased');
  }

  /** The operation ids the store holds for the patient's writes: what an erasure purges from the task hub. */
  async writesOf(patientId: string): Promise<PatientWrites> {
    const [claims, tests] = await Promise.all([
      this.versions
        .find({ _shardKey: patientId, kind: { $ne: 'erase' } }, { projection: { operationId: 1, lastUpdated: 1 } })
        .toArray(),
      this.tests.find({ _shardKey: patientId }, { projection: { operationId: 1, lastUpdated: 1 } }).toArray(),
    ]);
    const operationIds = new Set<string>();
    let earliest: Date | undefined;
    for (const doc of [...claims, ...tests]) {
      operationIds.add(doc.operationId.replace(/:undo$/, ''));
      if (earliest === undefined || doc.lastUpdated < earliest) earliest = doc.lastUpdated;
    }
    return { operationIds: [...operationIds], ...(earliest === undefined ? {} : { earliest }) };
  }

  /**
   * Removes an erased patient's content: every version claim keeps its id, version, kind, operation
   * ids, `deleted` and time (so concurrency, idempotency, restarts and audit cross-references keep
   * working) and loses its `patient`; the test results are deleted. Only after `claimErasure`: the
   * erase claim is checked first, so no write can put content back afterwards. Claims are never
   * updated otherwise, so the store's unisolated updates cannot race here; running it again is a no-op.
   */
  async scrubErased(patientId: string): Promise<ErasedContent> {
    if ((await this.erasureState(patientId)) !== 'erased') throw new Error('Only an erased patient is scrubbed');
    const scrubbed = await this.versions.updateMany(
      { _shardKey: patientId, patient: { $ne: null } },
      { $set: { patient: null } },
    );
    const removed = await this.tests.deleteMany({ _shardKey: patientId });
    return { versionsScrubbed: scrubbed.modifiedCount, testsRemoved: removed.deletedCount };
  }

  /**
   * What the write `operationId` stored on the patient (its test result `testId`, for an add): its
   * change in effect, or the patient erased since; `undefined` when it stored nothing, or its change
   * was undone (compensated) or its test result removed, so it did not end applied.
   */
  async storedWrite(patientId: string, operationId: string, testId?: string): Promise<StoredWrite | undefined> {
    if (testId !== undefined) {
      const test = await this.tests.findOne({ _id: testId, _shardKey: patientId });
      if (!test || test.operationId !== operationId || test.revoked) return undefined;
      return { state: 'inEffect', version: 1, lastUpdated: test.lastUpdated };
    }
    const claim = await this.claimOf(patientId, operationId);
    if (!claim) return undefined;
    if ((await this.erasureState(patientId)) === 'erased') return { state: 'erased' };
    // An undo claims the version right after the change it undoes (see `undo`).
    const next = await this.versions.findOne({ _id: versionClaimId(patientId, claim.version + 1), _shardKey: patientId });
    if (next?.kind === 'undo' && next.undoOf === operationId) return undefined;
    return { state: 'inEffect', version: claim.version, lastUpdated: claim.lastUpdated };
  }

  /**
   * `storedWrite` for an operation id alone (a purged write's operations link names no patient):
   * the two queries without a shard key besides search, fanned out across partitions, and only for
   * an operation the task hub does not know.
   */
  async writeByOperation(operationId: string): Promise<WriteByOperation | undefined> {
    const claim = await this.versions.findOne({ operationId });
    const kind = claim ? writeKindOfClaim[claim.kind] : undefined;
    if (claim && kind) {
      const stored = await this.storedWrite(claim.patientId, operationId);
      return stored && { kind, patientId: claim.patientId, stored, ...(claim.patient ? { document: { ...claim.patient } } : {}) };
    }
    const test = await this.tests.findOne({ operationId });
    if (!test) return undefined;
    const stored = await this.storedWrite(test.patientId, operationId, test._id);
    return (
      stored && {
        kind: 'createTestResult',
        patientId: test.patientId,
        testId: test._id,
        stored,
        ...(test.test ? { document: { ...test.test } } : {}),
      }
    );
  }

  // ---- reads (HTTP handlers) ----

  async getPatient(patientId: string): Promise<VersionedPatient | undefined> {
    const doc = await this.patients.findOne({ _id: patientId, _shardKey: patientId });
    const patient = doc ? toPatient(doc) : undefined;
    return doc && patient ? { patient, version: doc.version } : undefined;
  }

  /**
   * Patients matching every given criterion, in id order. This is the one query without a shard key:
   * a search by personal fields cannot know the patient's partition (Cosmos DB fans it out).
   */
  async searchPatients(criteria: PatientCriteria, page: PageRequest): Promise<Page<VersionedPatient>> {
    const and: Filter<PatientDocument>[] = [{ deleted: false }];
    const { id, dateOfBirthFrom, dateOfBirthBefore, ...fields } = criteria;
    if (id !== undefined) and.push({ _id: id, _shardKey: id });
    for (const [name, value] of Object.entries(fields) as [string, string | undefined][]) {
      if (value !== undefined) and.push({ [`patient.${name}`]: value });
    }
    if (dateOfBirthFrom) and.push({ dateOfBirthDate: { $gte: dateOfBirthFrom } });
    if (dateOfBirthBefore) and.push({ dateOfBirthDate: { $lt: dateOfBirthBefore } });
    if (page.after !== undefined) and.push({ _id: { $gt: page.after } });
    const docs = await this.patients
      .find({ $and: and })
      .sort({ _id: 1 })
      .limit(page.limit + 1)
      .toArray();
    return this.page(docs, page.limit, (doc) => {
      const patient = toPatient(doc);
      return patient ? { patient, version: doc.version } : undefined;
    });
  }

  /** The patient's test results in id order, or `undefined` when the patient does not exist. */
  async listTestResults(patientId: string, page: PageRequest): Promise<Page<TestResult> | undefined> {
    if (!(await this.getPatient(patientId))) return undefined;
    const filter: Filter<TestDocument> = { _shardKey: patientId, revoked: false };
    if (page.after !== undefined) filter._id = { $gt: page.after };
    const docs = await this.tests
      .find(filter)
      .sort({ _id: 1 })
      .limit(page.limit + 1)
      .toArray();
    return this.page(docs, page.limit, toTestResult);
  }

  /** One test result, or `undefined` when it or its patient does not exist. */
  async getTestResult(patientId: string, testId: string): Promise<TestResult | undefined> {
    if (!(await this.getPatient(patientId))) return undefined;
    const doc = await this.tests.findOne({ _id: testId, _shardKey: patientId });
    return doc ? toTestResult(doc) : undefined;
  }

  // ---- internals ----

  private page<D extends { _id: string }, T>(docs: D[], limit: number, map: (doc: D) => T | undefined): Page<T> {
    const pageDocs = docs.slice(0, limit);
    const items = pageDocs.map(map).filter((item): item is T => item !== undefined);
    const last = pageDocs[pageDocs.length - 1];
    return docs.length > limit && last ? { items, next: last._id } : { items };
  }

  private async change(
    command: StoreCommand & { expectedVersion?: number },
    kind: VersionKind,
    content: Pick<PatientVersionDocument, 'deleted' | 'patient'>,
  ): Promise<StoredVersion> {
    const existing = await this.claimOf(command.patientId, command.operationId);
    if (existing) return this.rerun(existing);
    const earlier = await this.restartedChangeInEffect(command);
    if (earlier) return this.finishRestarted(earlier);
    for (let attempt = 0; attempt < maxClaimAttempts; attempt++) {
      const latest = await this.latestClaim(command.patientId);
      if (!latest || latest.deleted) throw new PermanentFailure('notFound', 'The patient does not exist');
      if (
        command.expectedVersion !== undefined &&
        latest.version !== command.expectedVersion &&
        (command.restartOf === undefined ||
          (await this.versionBeforeRestarts(latest, command.restartOf)) !== command.expectedVersion)
      ) {
        throw new PermanentFailure('conflict', 'The expected version is not the current one', latest.version);
      }
      const claim = this.newClaim(command, latest.version + 1, kind, content);
      if (await this.insertClaim(claim)) return this.finish(claim);
      const again = await this.claimOf(command.patientId, command.operationId);
      if (again) return this.finish(again);
      if (command.expectedVersion !== undefined) {
        throw new PermanentFailure('conflict', 'Another write claimed the next version first', latest.version + 1);
      }
    }
    throw new PermanentFailure('conflict', 'Other writes kept claiming the next version');
  }

  private newClaim(
    command: StoreCommand,
    version: number,
    kind: VersionKind,
    content: Pick<PatientVersionDocument, 'deleted' | 'patient'>,
  ): PatientVersionDocument {
    return {
      _id: versionClaimId(command.patientId, version),
      _shardKey: command.patientId,
      patientId: command.patientId,
      version,
      operationId: command.operationId,
      kind,
      deleted: content.deleted,
      patient: content.patient,
      lastUpdated: new Date(command.at),
    };
  }

  /** Inserts a claim; `false` when that version was claimed already. */
  private async insertClaim(claim: PatientVersionDocument): Promise<boolean> {
    try {
      await this.versions.insertOne(claim);
      return true;
    } catch (error) {
      if (isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /**
   * The version whose content `latest` shows once the undos of the restarted operations' changes
   * are looked through (0: no patient before them). Each such undo restored the version before the
   * change it undid, so the walk steps back over the pair; it stops at any other version — a
   * consumer's update or delete, or a change that was not undone — so a restart never applies over
   * anyone else's write. Bounded: one step per restarted operation.
   */
  private async versionBeforeRestarts(latest: PatientVersionDocument, restartOf: readonly string[]): Promise<number> {
    let current = latest;
    for (let step = 0; step < restartOf.length; step++) {
      if (current.kind !== 'undo' || current.undoOf === undefined || !restartOf.includes(current.undoOf)) break;
      const undone = await this.claimOf(current.patientId, current.undoOf);
      // An undo claims the version right after the change it undoes (or it is 'superseded' and claims nothing).
      if (!undone || undone.version !== current.version - 1) break;
      if (undone.version === 1) return 0;
      const before = await this.versions.findOne({
        _id: versionClaimId(current.patientId, undone.version - 1),
        _shardKey: current.patientId,
      });
      if (!before) break;
      current = before;
    }
    return current.version;
  }

  /**
   * For a support restart: the change of an operation it restarts that is still in effect — its
   * claim exists and the version after it is not that claim's undo (its compensation failed for
   * good, docs/orchestration.md case 9, or support terminated it before the undo). The restart then
   * answers with that change instead of applying it again, even when a later write superseded it
   * (as case 8 answers), but not once the patient is erased: then nothing answers with its content.
   * The newest such operation counts (a restart names them oldest first). Bounded: two reads per
   * restarted operation.
   */
  private async restartedChangeInEffect(command: StoreCommand): Promise<PatientVersionDocument | undefined> {
    for (const operationId of [...(command.restartOf ?? [])].reverse()) {
      const claim = await this.claimOf(command.patientId, operationId);
      if (!claim) continue;
      // An undo claims the version right after the change it undoes (see `undo`).
      const next = await this.versions.findOne({
        _id: versionClaimId(command.patientId, claim.version + 1),
        _shardKey: command.patientId,
      });
      if (next?.kind === 'undo' && next.undoOf === operationId) continue;
      return (await this.erasureState(command.patientId)) === 'erased' ? undefined : claim;
    }
    return undefined;
  }

  /** Answers a restart with the restarted write's change it found in effect: that version, named as its write's. */
  private async finishRestarted(claim: PatientVersionDocument): Promise<StoredVersion> {
    return { ...(await this.finish(claim)), restartedWrite: { operationId: claim.operationId } };
  }

  /** As `restartedChangeInEffect`, for test results: a restarted add whose test result was not removed. */
  private async restartedTestInEffect(command: StoreCommand): Promise<TestDocument | undefined> {
    const restartOf = command.restartOf ?? [];
    if (restartOf.length === 0) return undefined;
    const tests = await this.tests
      .find({ _shardKey: command.patientId, operationId: { $in: [...restartOf] }, revoked: false })
      .toArray();
    return tests.sort((a, b) => restartOf.indexOf(b.operationId) - restartOf.indexOf(a.operationId))[0];
  }

  private claimOf(patientId: string, operationId: string): Promise<PatientVersionDocument | null> {
    return this.versions.findOne({ _shardKey: patientId, operationId });
  }

  private async latestClaim(patientId: string): Promise<PatientVersionDocument | undefined> {
    const [latest] = await this.versions.find({ _shardKey: patientId }).sort({ version: -1 }).limit(1).toArray();
    return latest;
  }

  /**
   * A re-run of a write that claimed its version answers as the first run did, unless the patient
   * was erased since (a repeat of the request under its `Idempotency-Key` after the erasure purged
   * the write): its content is gone, so it answers `notFound`, as any write on the erased patient.
   */
  private async rerun(existing: PatientVersionDocument): Promise<StoredVersion> {
    if ((await this.latestClaim(existing.patientId))?.kind === 'erase')
      throw new PermanentFailure('notFound', 'The patient was erased');
    return this.finish(existing);
  }

  /**
   * Projects `claim` onto the patients document, then makes sure the document shows the latest
   * claim: a concurrent projection of an older version may have overwritten a newer one, since the
   * store does not isolate concurrent updates. Every projection is checked afterwards: one that
   * overwrote a newer version and was left unchecked would leave the document behind its latest
   * claim for good (writers left after an unchecked projection 8 times in 600 concurrent updates on
   * a loaded machine). A document still behind after the last round throws, and the write
   * activity's retry finishes it.
   */
  private async finish(claim: PatientVersionDocument): Promise<StoredVersion> {
    await this.project(claim);
    for (let round = 0; round < maxConvergeRounds; round++) {
      const [latest, doc] = await Promise.all([
        this.latestClaim(claim.patientId),
        this.patients.findOne({ _id: claim.patientId, _shardKey: claim.patientId }, { projection: { version: 1 } }),
      ]);
      if (!latest || (doc && doc.version >= latest.version)) {
        return { version: claim.version, lastUpdated: claim.lastUpdated.toISOString() };
      }
      await this.project(latest);
    }
    throw new Error(`The patient document did not reach its latest version within ${maxConvergeRounds} rounds`);
  }

  private async project(claim: PatientVersionDocument): Promise<void> {
    const doc: PatientDocument = {
      _id: claim.patientId,
      _shardKey: claim.patientId,
      version: claim.version,
      lastUpdated: claim.lastUpdated,
      deleted: claim.deleted,
      operationId: claim.operationId,
      patient: claim.patient,
      dateOfBirthDate: claim.patient ? earliestDateOfBirth(claim.patient.dateOfBirth) : null,
    };
    try {
      // Only moves the document forward: an older claim matches nothing and its upsert hits the _id.
      await this.patients.replaceOne({ _id: claim.patientId, _shardKey: claim.patientId, version: { $lt: claim.version } }, doc, {
        upsert: true,
      });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
  }

  private async existingTest(command: StoreCommand & { testId: string }): Promise<StoredVersion | undefined> {
    const doc = await this.tests.findOne({ _id: command.testId, _shardKey: command.patientId });
    if (!doc) return undefined;
    if (doc.operationId !== command.operationId) throw new PermanentFailure('conflict', 'Another write created a test result with this id');
    return { version: 1, lastUpdated: doc.lastUpdated.toISOString() };
  }

  private async undoTestResult(command: StoreCommand & { testId?: string }): Promise<UndoResult> {
    if (command.testId === undefined) throw new PermanentFailure('rejected', 'Undoing a test result needs its id');
    const own = await this.tests.findOne({ _id: command.testId, _shardKey: command.patientId });
    // A restart that answered with a restarted add's test result (see `restartedTestInEffect`)
    // removes that one; `revokedBy` lets a second call answer as the first.
    let doc = own?.operationId === command.operationId ? own : undefined;
    if (!doc && command.restartOf !== undefined) {
      doc =
        (await this.tests.findOne({ _shardKey: command.patientId, revokedBy: command.operationId })) ??
        (await this.restartedTestInEffect(command));
    }
    if (!doc) return 'nothingToUndo';
    if (!doc.revoked) {
      await this.tests.updateOne(
        { _id: doc._id, _shardKey: command.patientId, operationId: doc.operationId },
        { $set: { revoked: true, revokedBy: command.operationId, test: null, lastUpdated: new Date(command.at) } },
      );
    }
    return 'reverted';
  }
}
