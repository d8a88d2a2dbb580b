/**
 * In-memory implementations of the ports, for unit tests of orchestrator decisions and activities
 * (pure logic over ports, where doubles are fine). They follow the contracts in `ports.ts` —
 * version claims, idempotency by operation id, undo as a new version — so tests of the saga see
 * the behaviour patient-app's MongoDB repository must have. Faults are injected per method.
 */
import type { WriteKind } from '../contract';
import { PermanentFailure } from '../errors';
import type {
  AuditEntry,
  AuditRegister,
  PatientStore,
  StoreCommand,
  StoredVersion,
  UndoResult,
  WriteDocument,
} from '../ports';

/** Decides, per call, whether a port method fails (transiently) before or after doing its work. */
export class Faults<M extends string> {
  private readonly plans = new Map<M, { before: number; after: number; always: boolean }>();
  readonly calls = new Map<M, number>();

  /** The next `count` calls fail before changing anything. */
  failNext(method: M, count = 1): this {
    this.plan(method).before += count;
    return this;
  }

  /** The next `count` calls do their work, then fail as if the answer was lost. */
  loseNextAnswers(method: M, count = 1): this {
    this.plan(method).after += count;
    return this;
  }

  /** Every call fails until `recover`. */
  down(method: M): this {
    this.plan(method).always = true;
    return this;
  }

  recover(method: M): this {
    this.plans.delete(method);
    return this;
  }

  count(method: M): number {
    return this.calls.get(method) ?? 0;
  }

  /** @internal Runs `work` under the plan for `method`. */
  async run<T>(method: M, work: () => Promise<T> | T): Promise<T> {
    this.calls.set(method, this.count(method) + 1);
    const plan = this.plans.get(method);
    if (plan?.always === true || (plan !== undefined && plan.before > 0)) {
      if (plan.before > 0) plan.before -= 1;
      throw new Error(`${method}: unavailable (injected)`);
    }
    const result = await work();
    if (plan !== undefined && plan.after > 0) {
      plan.after -= 1;
      throw new Error(`${method}: answer lost (injected)`);
    }
    return result;
  }

  private plan(method: M): { before: number; after: number; always: boolean } {
    let plan = this.plans.get(method);
    if (plan === undefined) {
      plan = { before: 0, after: 0, always: false };
      this.plans.set(method, plan);
    }
    return plan;
  }
}

/** A patient as the in-memory store holds it. */
export interface MemoryPatient {
  patientId: string;
  version: number;
  deleted: boolean;
  document?: WriteDocument;
  lastUpdated: string;
}

interface Claim {
  id: string;
  operationId: string;
  kind: WriteKind | 'undo';
  version: number;
  before?: MemoryPatient;
  stored: StoredVersion;
}

interface MemoryTest {
  testId: string;
  patientId: string;
  operationId: string;
  document: WriteDocument;
  stored: StoredVersion;
}

type StoreMethod = 'createPatient' | 'updatePatient' | 'deletePatient' | 'createTestResult' | 'undo';

export class InMemoryPatientStore implements PatientStore {
  readonly faults = new Faults<StoreMethod>();
  private readonly patients = new Map<string, MemoryPatient>();
  private readonly claims = new Map<string, Claim>();
  private readonly claimsByOperation = new Map<string, Claim>();
  private readonly tests = new Map<string, MemoryTest>();
  private readonly removedTests = new Set<string>();
  private readonly undone = new Map<string, UndoResult>();

  /** The patient as stored (deleted ones included), or undefined. */
  patient(patientId: string): MemoryPatient | undefined {
    const patient = this.patients.get(patientId);
    return patient === undefined ? undefined : structuredClone(patient);
  }

  testResult(testId: string): { patientId: string; document: WriteDocument } | undefined {
    const test = this.tests.get(testId);
    return test === undefined ? undefined : { patientId: test.patientId, document: structuredClone(test.document) };
  }

  /** How many versions were ever claimed for a patient (every change, undo included). */
  versionsClaimed(patientId: string): number {
    return [...this.claims.values()].filter((claim) => claim.id.startsWith(`${patientId}:`)).length;
  }

  /** Puts a patient in place directly (test setup). */
  seed(patient: MemoryPatient): void {
    this.patients.set(patient.patientId, structuredClone(patient));
    this.claims.set(`${patient.patientId}:${patient.version}`, {
      id: `${patient.patientId}:${patient.version}`,
      operationId: `seed:${patient.patientId}`,
      kind: 'createPatient',
      version: patient.version,
      stored: { version: patient.version, lastUpdated: patient.lastUpdated },
    });
  }

  createPatient(command: StoreCommand & { document: WriteDocument }): Promise<StoredVersion> {
    return this.faults.run('createPatient', () => {
      const again = this.claimsByOperation.get(command.operationId);
      if (again !== undefined) return again.stored;
      if (this.patients.has(command.patientId))
        throw new PermanentFailure('conflict', `Patient ${command.patientId} already exists`);
      return this.claim('createPatient', command, 1, { deleted: false, document: command.document });
    });
  }

  updatePatient(command: StoreCommand & { expectedVersion?: number; document: WriteDocument }): Promise<StoredVersion> {
    return this.faults.run('updatePatient', () =>
      this.change('updatePatient', command, { deleted: false, document: command.document }),
    );
  }

  deletePatient(command: StoreCommand & { expectedVersion?: number }): Promise<StoredVersion> {
    return this.faults.run('deletePatient', () => this.change('deletePatient', command, { deleted: true }));
  }

  createTestResult(command: StoreCommand & { testId: string; document: WriteDocument }): Promise<StoredVersion> {
    return this.faults.run('createTestResult', () => {
      const existing = this.tests.get(command.testId);
      if (existing !== undefined) {
        if (existing.operationId === command.operationId) return existing.stored;
        throw new PermanentFailure('conflict', `Test result ${command.testId} already exists`);
      }
      const patient = this.patients.get(command.patientId);
      if (patient === undefined || patient.deleted)
        throw new PermanentFailure('notFound', `Patient ${command.patientId} not found`);
      const stored = { version: 1, lastUpdated: command.at };
      this.tests.set(command.testId, {
        testId: command.testId,
        patientId: command.patientId,
        operationId: command.operationId,
        document: structuredClone(command.document),
        stored,
      });
      return stored;
    });
  }

  undo(command: StoreCommand & { kind: WriteKind; testId?: string }): Promise<UndoResult> {
    return this.faults.run('undo', () => {
      const key = `${command.operationId}:${command.kind}`;
      const again = this.undone.get(key);
      if (again !== undefined) return again;
      const result = this.reverse(command);
      this.undone.set(key, result);
      return result;
    });
  }

  private reverse(command: StoreCommand & { kind: WriteKind; testId?: string }): UndoResult {
    if (command.kind === 'createTestResult') {
      const test = command.testId === undefined ? undefined : this.tests.get(command.testId);
      if (test === undefined || test.operationId !== command.operationId) return 'nothingToUndo';
      this.tests.delete(test.testId);
      this.removedTests.add(test.testId);
      return 'reverted';
    }
    const claim = this.claimsByOperation.get(command.operationId);
    if (claim === undefined) return 'nothingToUndo';
    const current = this.patients.get(command.patientId);
    if (current === undefined || current.version !== claim.version) return 'superseded';
    const before = claim.before;
    this.claim('undo', { ...command, operationId: `${command.operationId}:undo` }, current.version + 1, {
      deleted: before === undefined ? true : before.deleted,
      ...(before?.document === undefined ? {} : { document: before.document }),
    });
    return 'reverted';
  }

  private change(
    kind: 'updatePatient' | 'deletePatient',
    command: StoreCommand & { expectedVersion?: number },
    next: Pick<MemoryPatient, 'deleted' | 'document'>,
  ): StoredVersion {
    const again = this.claimsByOperation.get(command.operationId);
    if (again !== undefined) return again.stored;
    const current = this.patients.get(command.patientId);
    if (current === undefined || current.deleted)
      throw new PermanentFailure('notFound', `Patient ${command.patientId} not found`);
    if (command.expectedVersion !== undefined && command.expectedVersion !== current.version) {
      throw new PermanentFailure('conflict', `Version ${command.expectedVersion} is not current`, current.version);
    }
    return this.claim(kind, command, current.version + 1, next);
  }

  /** The atomic version claim: `${patientId}:${version}` exists at most once. */
  private claim(
    kind: Claim['kind'],
    command: StoreCommand,
    version: number,
    next: Pick<MemoryPatient, 'deleted' | 'document'>,
  ): StoredVersion {
    const id = `${command.patientId}:${version}`;
    const existing = this.claims.get(id);
    if (existing !== undefined) {
      if (existing.operationId === command.operationId) return existing.stored;
      throw new PermanentFailure(
        'conflict',
        `Version ${version} of patient ${command.patientId} was claimed by another write`,
        version,
      );
    }
    const before = this.patients.get(command.patientId);
    const stored = { version, lastUpdated: command.at };
    const claim: Claim = {
      id,
      operationId: command.operationId,
      kind,
      version,
      stored,
      ...(before === undefined ? {} : { before: structuredClone(before) }),
    };
    this.claims.set(id, claim);
    this.claimsByOperation.set(command.operationId, claim);
    this.patients.set(command.patientId, {
      patientId: command.patientId,
      version,
      deleted: next.deleted,
      ...(next.document === undefined ? {} : { document: structuredClone(next.document) }),
      lastUpdated: command.at,
    });
    return stored;
  }
}

/** The audit register in memory: one record per idempotency key, in arrival order. */
export class InMemoryAuditRegister implements AuditRegister {
  readonly faults = new Faults<'record'>();
  private readonly records = new Map<string, AuditEntry & { recordId: string }>();
  /** Outcomes refused permanently (as audit-app would with a 4xx). */
  readonly rejectOutcomes = new Set<AuditEntry['outcome']>();
  /** Outcomes whose calls fail transiently while listed. */
  readonly unavailableFor = new Set<AuditEntry['outcome']>();

  record(entry: AuditEntry): Promise<{ recordId: string }> {
    return this.faults.run('record', () => {
      if (this.rejectOutcomes.has(entry.outcome))
        throw new PermanentFailure('rejected', `audit-app refused the ${entry.outcome} record`);
      if (this.unavailableFor.has(entry.outcome)) throw new Error(`audit-app unavailable (injected, ${entry.outcome})`);
      const existing = this.records.get(entry.idempotencyKey);
      if (existing !== undefined) return { recordId: existing.recordId };
      const recordId = `audit-${this.records.size + 1}`;
      this.records.set(entry.idempotencyKey, { ...structuredClone(entry), recordId });
      return { recordId };
    });
  }

  /** Every stored record, oldest first. */
  list(operationId?: string): (AuditEntry & { recordId: string })[] {
    return [...this.records.values()].filter(
      (record) => operationId === undefined || record.operationId === operationId,
    );
  }

  outcomes(operationId?: string): AuditEntry['outcome'][] {
    return this.list(operationId).map((record) => record.outcome);
  }
}
