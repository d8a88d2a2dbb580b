import { randomUUID } from 'node:crypto';

import { isPermanentFailure, type PermanentFailure } from '@patient-records/orchestrations';

import { collections } from '../../src/data/documents';
import { type IdempotencyCandidate, IdempotencyKeys } from '../../src/data/idempotency-keys';
import { MongoPatientRepository } from '../../src/data/patient-repository';
import { useStore } from '../support/store';

const store = useStore();
let repo: MongoPatientRepository;

beforeAll(async () => {
  repo = new MongoPatientRepository(store.db());
  await repo.ensureIndexes();
});

const ada = { firstName: 'Ada', lastName: 'Lovelace', gender: 'female', dateOfBirth: '1815-12-10', postCode: '2000' };
const at = (n = 0): string => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();

async function failure(promise: Promise<unknown>): Promise<PermanentFailure> {
  try {
    await promise;
  } catch (error) {
    if (isPermanentFailure(error)) return error;
    throw error;
  }
  throw new Error('expected a permanent failure');
}

async function created(document: Record<string, unknown> = ada): Promise<string> {
  const patientId = randomUUID();
  await repo.createPatient({ operationId: randomUUID(), patientId, at: at(), document });
  return patientId;
}

describe('patients', () => {
  it('creates a patient at version 1 and reads it back with its shard key', async () => {
    const patientId = randomUUID();
    const stored = await repo.createPatient({ operationId: 'op-create', patientId, at: at(1), document: ada });
    expect(stored).toEqual({ version: 1, lastUpdated: at(1) });
    const read = await repo.getPatient(patientId);
    expect(read).toEqual({ version: 1, patient: { id: patientId, ...ada, lastUpdated: at(1) } });
    const raw = await store.db().collection('patients').findOne({ _id: patientId as never });
    expect(raw?.['_shardKey']).toBe(patientId);
  });

  it('answers a re-run of the same create with the first answer and writes nothing new', async () => {
    const patientId = randomUUID();
    const command = { operationId: 'op-rerun', patientId, at: at(2), document: ada };
    const first = await repo.createPatient(command);
    const second = await repo.createPatient({ ...command, at: at(9) });
    expect(second).toEqual(first);
    expect(await store.db().collection('patientVersions').countDocuments({ _shardKey: patientId })).toBe(1);
  });

  it('refuses a second create of the same id by another operation', async () => {
    const patientId = await created();
    const error = await failure(repo.createPatient({ operationId: randomUUID(), patientId, at: at(), document: ada }));
    expect(error.code).toBe('conflict');
  });

  it('replaces the whole document on update, clearing fields left out', async () => {
    const patientId = await created({ ...ada, insuranceNumber: 'INS-1' });
    const stored = await repo.updatePatient({ operationId: randomUUID(), patientId, at: at(3), expectedVersion: 1, document: { ...ada, postCode: '3000' } });
    expect(stored.version).toBe(2);
    const read = await repo.getPatient(patientId);
    expect(read?.patient.postCode).toBe('3000');
    expect(read?.patient.insuranceNumber).toBeUndefined();
    expect(read?.version).toBe(2);
  });

  it('answers conflict with the current version when the expected version is stale', async () => {
    const patientId = await created();
    await repo.updatePatient({ operationId: randomUUID(), patientId, at: at(), document: ada });
    const error = await failure(repo.updatePatient({ operationId: randomUUID(), patientId, at: at(), expectedVersion: 1, document: ada }));
    expect(error.code).toBe('conflict');
    expect(error.currentVersion).toBe(2);
  });

  it('answers notFound for an unknown or deleted patient', async () => {
    expect((await failure(repo.updatePatient({ operationId: 'x', patientId: randomUUID(), at: at(), document: ada }))).code).toBe('notFound');
    const patientId = await created();
    const deleted = await repo.deletePatient({ operationId: randomUUID(), patientId, at: at() });
    expect(deleted.version).toBe(2);
    expect(await repo.getPatient(patientId)).toBeUndefined();
    expect((await failure(repo.deletePatient({ operationId: randomUUID(), patientId, at: at() }))).code).toBe('notFound');
    const raw = await store.db().collection('patients').findOne({ _id: patientId as never });
    expect(raw?.['patient']).toBeNull();
  });

  it('lets exactly one of 20 concurrent updates with the same expected version win', async () => {
    const patientId = await created();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        repo.updatePatient({ operationId: `race-${i}`, patientId, at: at(i), expectedVersion: 1, document: { ...ada, postCode: `${1000 + i}` } }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.every((r) => isPermanentFailure(r.reason) && r.reason.code === 'conflict')).toBe(true);
    const winner = results.findIndex((r) => r.status === 'fulfilled');
    const read = await repo.getPatient(patientId);
    expect(read?.version).toBe(2);
    expect(read?.patient.postCode).toBe(`${1000 + winner}`);
  });

  it('serialises 10 concurrent unconditional updates into 10 distinct versions', async () => {
    const patientId = await created();
    const stored = await Promise.all(
      Array.from({ length: 10 }, (_, i) => repo.updatePatient({ operationId: `free-${i}`, patientId, at: at(i), document: { ...ada, postCode: `${2000 + i}` } })),
    );
    expect(stored.map((s) => s.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const read = await repo.getPatient(patientId);
    expect(read?.version).toBe(11);
    const last = stored.findIndex((s) => s.version === 11);
    expect(read?.patient.postCode).toBe(`${2000 + last}`);
  });

  it('finishes a re-run whose claim was inserted before a crash', async () => {
    const patientId = await created();
    await store
      .db()
      .collection('patientVersions')
      .insertOne({
        _id: `${patientId}:2` as never,
        _shardKey: patientId,
        patientId,
        version: 2,
        operationId: 'op-crashed',
        kind: 'update',
        deleted: false,
        patient: { ...ada, postCode: '9999' },
        lastUpdated: new Date(at(5)),
      });
    expect((await repo.getPatient(patientId))?.version).toBe(1);
    const stored = await repo.updatePatient({ operationId: 'op-crashed', patientId, at: at(5), expectedVersion: 1, document: { ...ada, postCode: '9999' } });
    expect(stored.version).toBe(2);
    expect((await repo.getPatient(patientId))?.patient.postCode).toBe('9999');
  });
});

describe('undo (compensation)', () => {
  it('reverts an update with a new version carrying the content from before, once', async () => {
    const patientId = await created();
    await repo.updatePatient({ operationId: 'op-upd', patientId, at: at(), document: { ...ada, postCode: '4000' } });
    const cmd = { operationId: 'op-upd', patientId, at: at(7), kind: 'updatePatient' as const };
    expect(await repo.undo(cmd)).toBe('reverted');
    expect(await repo.undo(cmd)).toBe('reverted');
    const read = await repo.getPatient(patientId);
    expect(read?.version).toBe(3);
    expect(read?.patient.postCode).toBe('2000');
  });

  it('reverts a create into a deletion and a delete into the patient again', async () => {
    const patientId = randomUUID();
    await repo.createPatient({ operationId: 'op-c', patientId, at: at(), document: ada });
    expect(await repo.undo({ operationId: 'op-c', patientId, at: at(), kind: 'createPatient' })).toBe('reverted');
    expect(await repo.getPatient(patientId)).toBeUndefined();

    const other = await created();
    await repo.deletePatient({ operationId: 'op-d', patientId: other, at: at() });
    expect(await repo.undo({ operationId: 'op-d', patientId: other, at: at(), kind: 'deletePatient' })).toBe('reverted');
    expect((await repo.getPatient(other))?.patient.firstName).toBe('Ada');
  });

  it('changes nothing when a later write superseded the change, or nothing had changed', async () => {
    const patientId = await created();
    await repo.updatePatient({ operationId: 'op-1', patientId, at: at(), document: { ...ada, postCode: '5000' } });
    await repo.updatePatient({ operationId: 'op-2', patientId, at: at(), document: { ...ada, postCode: '6000' } });
    expect(await repo.undo({ operationId: 'op-1', patientId, at: at(), kind: 'updatePatient' })).toBe('superseded');
    expect(await repo.undo({ operationId: 'op-never', patientId, at: at(), kind: 'updatePatient' })).toBe('nothingToUndo');
    expect((await repo.getPatient(patientId))?.patient.postCode).toBe('6000');
  });
});

describe('support restarts (restartOf)', () => {
  it('creates a compensated create again under its id, over its undo, and again after a restart of the restart is undone', async () => {
    const patientId = randomUUID();
    await repo.createPatient({ operationId: 'r-a', patientId, at: at(), document: ada });
    await repo.undo({ operationId: 'r-a', patientId, at: at(), kind: 'createPatient' });
    // Without restartOf, a create of that id stays a conflict.
    expect((await failure(repo.createPatient({ operationId: 'r-x', patientId, at: at(), document: ada }))).code).toBe('conflict');

    const restart = { operationId: 'r-b', patientId, at: at(4), document: ada, restartOf: ['r-a'] };
    expect(await repo.createPatient(restart)).toEqual({ version: 3, lastUpdated: at(4) });
    expect(await repo.createPatient(restart)).toEqual({ version: 3, lastUpdated: at(4) });
    expect(await repo.getPatient(patientId)).toEqual({ version: 3, patient: { id: patientId, ...ada, lastUpdated: at(4) } });

    // The restart is compensated too: its undo deletes again, and a restart of it creates at 5.
    expect(await repo.undo({ operationId: 'r-b', patientId, at: at(), kind: 'createPatient' })).toBe('reverted');
    expect(await repo.getPatient(patientId)).toBeUndefined();
    expect((await repo.createPatient({ operationId: 'r-c', patientId, at: at(), document: ada, restartOf: ['r-a', 'r-b'] })).version).toBe(5);
  });

  it('never creates an id again over a delete that is not the undo of a restarted create', async () => {
    const patientId = randomUUID();
    await repo.createPatient({ operationId: 'd-a', patientId, at: at(), document: ada });
    await repo.deletePatient({ operationId: 'd-consumer', patientId, at: at() });
    const error = await failure(repo.createPatient({ operationId: 'd-b', patientId, at: at(), document: ada, restartOf: ['d-elsewhere'] }));
    expect(error.code).toBe('conflict');
    // A restart of the create itself: it took effect (a consumer deleted the patient since), so the
    // restart answers with it as case 8 does, and creates nothing.
    const restart = { operationId: 'd-e', patientId, at: at(5), document: ada, restartOf: ['d-a'] };
    expect(await repo.createPatient(restart)).toEqual({ version: 1, lastUpdated: at(), restartedWrite: { operationId: 'd-a' } });
    expect(await store.db().collection('patientVersions').countDocuments({ _shardKey: patientId })).toBe(2);

    // An undone create that the restart does not name is no licence either.
    const other = randomUUID();
    await repo.createPatient({ operationId: 'd-c', patientId: other, at: at(), document: ada });
    await repo.undo({ operationId: 'd-c', patientId: other, at: at(), kind: 'createPatient' });
    expect((await failure(repo.createPatient({ operationId: 'd-d', patientId: other, at: at(), document: ada, restartOf: ['d-other'] }))).code).toBe('conflict');
    expect(await repo.getPatient(patientId)).toBeUndefined();
    expect(await repo.getPatient(other)).toBeUndefined();
  });

  it("matches a compensated update's expected version through its undo, but not through anyone else's change", async () => {
    const patientId = await created();
    await repo.updatePatient({ operationId: 'u-a', patientId, at: at(), expectedVersion: 1, document: { ...ada, postCode: '7000' } });
    await repo.undo({ operationId: 'u-a', patientId, at: at(), kind: 'updatePatient' });
    const restart = { operationId: 'u-b', patientId, at: at(), expectedVersion: 1, document: { ...ada, postCode: '7000' } };
    expect((await failure(repo.updatePatient(restart))).currentVersion).toBe(3);
    expect((await repo.updatePatient({ ...restart, restartOf: ['u-a'] })).version).toBe(4);
    expect((await repo.getPatient(patientId))?.patient.postCode).toBe('7000');

    // A compensated delete likewise.
    const deleted = await created();
    await repo.deletePatient({ operationId: 'u-e', patientId: deleted, at: at(), expectedVersion: 1 });
    await repo.undo({ operationId: 'u-e', patientId: deleted, at: at(), kind: 'deletePatient' });
    expect((await repo.deletePatient({ operationId: 'u-f', patientId: deleted, at: at(), expectedVersion: 1, restartOf: ['u-e'] })).version).toBe(4);
    expect(await repo.getPatient(deleted)).toBeUndefined();

    // A consumer's update after the undo: the restart's If-Match is stale for real.
    const other = await created();
    await repo.deletePatient({ operationId: 'u-c', patientId: other, at: at(), expectedVersion: 1 });
    await repo.undo({ operationId: 'u-c', patientId: other, at: at(), kind: 'deletePatient' });
    await repo.updatePatient({ operationId: 'u-consumer', patientId: other, at: at(), document: { ...ada, postCode: '8000' } });
    const stale = await failure(repo.deletePatient({ operationId: 'u-d', patientId: other, at: at(), expectedVersion: 1, restartOf: ['u-c'] }));
    expect(stale.code).toBe('conflict');
    expect(stale.currentVersion).toBe(4);
    expect((await repo.getPatient(other))?.patient.postCode).toBe('8000');
  });
});

describe('support restarts of a write whose change is still in effect (its undo failed, case 9)', () => {
  const claims = (patientId: string): Promise<number> =>
    store.db().collection('patientVersions').countDocuments({ _shardKey: patientId });

  it('answers with the version the restarted write produced and applies nothing again, for every kind', async () => {
    const createdId = randomUUID();
    await repo.createPatient({ operationId: 'k-create', patientId: createdId, at: at(1), document: ada });
    const create = { operationId: 'k-create-2', patientId: createdId, at: at(5), document: ada, restartOf: ['k-create'] };
    const answer = { version: 1, lastUpdated: at(1), restartedWrite: { operationId: 'k-create' } };
    expect(await repo.createPatient(create)).toEqual(answer);
    expect(await repo.createPatient(create)).toEqual(answer);
    expect(await claims(createdId)).toBe(1);

    // An update without If-Match would otherwise apply again; with If-Match it would conflict.
    const updatedId = await created();
    await repo.updatePatient({ operationId: 'k-update', patientId: updatedId, at: at(2), document: { ...ada, postCode: '7100' } });
    const update = { operationId: 'k-update-2', patientId: updatedId, at: at(6), document: { ...ada, postCode: '7100' }, restartOf: ['k-update'] };
    expect(await repo.updatePatient(update)).toEqual({ version: 2, lastUpdated: at(2), restartedWrite: { operationId: 'k-update' } });
    expect(await repo.updatePatient({ ...update, operationId: 'k-update-3', expectedVersion: 1 })).toMatchObject({ version: 2 });
    expect(await claims(updatedId)).toBe(2);
    expect(await repo.getPatient(updatedId)).toEqual({ version: 2, patient: { id: updatedId, ...ada, postCode: '7100', lastUpdated: at(2) } });

    const deletedId = await created();
    await repo.deletePatient({ operationId: 'k-delete', patientId: deletedId, at: at(3), expectedVersion: 1 });
    const deleted = { operationId: 'k-delete-2', patientId: deletedId, at: at(7), expectedVersion: 1, restartOf: ['k-delete'] };
    expect(await repo.deletePatient(deleted)).toEqual({ version: 2, lastUpdated: at(3), restartedWrite: { operationId: 'k-delete' } });
    expect(await claims(deletedId)).toBe(2);
  });

  it('answers with the change when a later write superseded it (as case 8 does), leaving the later write in place', async () => {
    const patientId = await created();
    await repo.updatePatient({ operationId: 's-update', patientId, at: at(2), document: { ...ada, postCode: '7200' } });
    await repo.updatePatient({ operationId: 's-consumer', patientId, at: at(3), document: { ...ada, postCode: '7300' } });
    const restart = { operationId: 's-update-2', patientId, at: at(6), document: { ...ada, postCode: '7200' }, restartOf: ['s-update'] };
    expect(await repo.updatePatient(restart)).toEqual({ version: 2, lastUpdated: at(2), restartedWrite: { operationId: 's-update' } });
    expect(await claims(patientId)).toBe(3);
    expect((await repo.getPatient(patientId))?.patient.postCode).toBe('7300');
  });

  it('finishes projecting the change when the restarted write stopped between its claim and the patient document', async () => {
    const patientId = await created();
    await repo.updatePatient({ operationId: 'p-update', patientId, at: at(2), document: { ...ada, postCode: '7400' } });
    // As if the store went away after the claim: the document still shows version 1.
    await store.db().collection('patients').updateOne({ _id: patientId as never }, { $set: { version: 1, 'patient.postCode': '2000' } });
    const restart = { operationId: 'p-update-2', patientId, at: at(6), document: { ...ada, postCode: '7400' }, restartOf: ['p-update'] };
    expect((await repo.updatePatient(restart)).version).toBe(2);
    expect(await repo.getPatient(patientId)).toMatchObject({ version: 2, patient: { postCode: '7400' } });
  });

  it('answers a restart of a restart with the newest restarted write whose change is in effect', async () => {
    // The first write's change is in effect; its restart answered with it and failed too.
    const patientId = await created();
    await repo.updatePatient({ operationId: 'c-1', patientId, at: at(2), document: { ...ada, postCode: '7500' } });
    expect((await repo.updatePatient({ operationId: 'c-2', patientId, at: at(4), document: ada, restartOf: ['c-1'] })).version).toBe(2);
    const third = { operationId: 'c-3', patientId, at: at(6), document: ada, restartOf: ['c-1', 'c-2'] };
    expect(await repo.updatePatient(third)).toEqual({ version: 2, lastUpdated: at(2), restartedWrite: { operationId: 'c-1' } });

    // The first write was undone, its restart applied again (version 4) and failed in compensation.
    const other = await created();
    await repo.updatePatient({ operationId: 'c-4', patientId: other, at: at(2), expectedVersion: 1, document: { ...ada, postCode: '7600' } });
    await repo.undo({ operationId: 'c-4', patientId: other, at: at(3), kind: 'updatePatient' });
    const restart = { operationId: 'c-5', patientId: other, at: at(4), expectedVersion: 1, document: { ...ada, postCode: '7600' }, restartOf: ['c-4'] };
    expect(await repo.updatePatient(restart)).toEqual({ version: 4, lastUpdated: at(4) });
    const again = { ...restart, operationId: 'c-6', at: at(8), restartOf: ['c-4', 'c-5'] };
    expect(await repo.updatePatient(again)).toEqual({ version: 4, lastUpdated: at(4), restartedWrite: { operationId: 'c-5' } });
    expect(await claims(other)).toBe(4);
  });

  it("undoes the restarted write's change when the restart that answered with it is compensated, and a restart of both applies it again", async () => {
    const patientId = await created();
    await repo.updatePatient({ operationId: 'x-1', patientId, at: at(2), expectedVersion: 1, document: { ...ada, postCode: '7700' } });
    const restart = { operationId: 'x-2', patientId, at: at(4), expectedVersion: 1, document: { ...ada, postCode: '7700' }, restartOf: ['x-1'] };
    expect((await repo.updatePatient(restart)).version).toBe(2);
    const undo = { operationId: 'x-2', patientId, at: at(5), kind: 'updatePatient' as const, restartOf: ['x-1'] };
    expect(await repo.undo(undo)).toBe('reverted');
    expect(await repo.undo(undo)).toBe('reverted');
    expect(await repo.getPatient(patientId)).toMatchObject({ version: 3, patient: { postCode: '2000' } });
    // Undone now, so a restart of both applies it again over the undo, its If-Match still holding.
    const third = { ...restart, operationId: 'x-3', at: at(6), restartOf: ['x-1', 'x-2'] };
    expect(await repo.updatePatient(third)).toEqual({ version: 4, lastUpdated: at(6) });
    expect(await repo.getPatient(patientId)).toMatchObject({ version: 4, patient: { postCode: '7700' } });
  });
});

describe('test results', () => {
  const test = {
    performer: 'Lab',
    orderReference: 'O-1',
    observations: [{ id: 'o', code: 'c', measurement: 'm', interpretation: 'i', issued: '2024-01-01T00:00:00.000Z', status: 'final' }],
  };

  it('creates, lists and reads test results of a patient, idempotently', async () => {
    const patientId = await created();
    const testIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const testId of testIds) {
      await repo.createTestResult({ operationId: `t-${testId}`, patientId, testId, at: at(), document: test });
    }
    const first = testIds[0]!;
    await repo.createTestResult({ operationId: `t-${first}`, patientId, testId: first, at: at(), document: test });
    const page1 = await repo.listTestResults(patientId, { limit: 2 });
    expect(page1?.items).toHaveLength(2);
    expect(page1?.next).toBeDefined();
    const page2 = await repo.listTestResults(patientId, { limit: 2, after: page1!.next! });
    expect(page2?.items).toHaveLength(1);
    expect(page2?.next).toBeUndefined();
    expect([...page1!.items, ...page2!.items].map((t) => t.id).sort()).toEqual([...testIds].sort());
    expect(await repo.getTestResult(patientId, first)).toMatchObject({ id: first, patientId, ...test });
  });

  it('refuses a test result for an unknown patient and hides tests of other patients', async () => {
    const error = await failure(repo.createTestResult({ operationId: 'x', patientId: randomUUID(), testId: randomUUID(), at: at(), document: test }));
    expect(error.code).toBe('notFound');
    const a = await created();
    const b = await created();
    const testId = randomUUID();
    await repo.createTestResult({ operationId: 'tt', patientId: a, testId, at: at(), document: test });
    expect(await repo.getTestResult(b, testId)).toBeUndefined();
    expect((await repo.listTestResults(b, { limit: 10 }))?.items).toEqual([]);
    expect(await repo.listTestResults(randomUUID(), { limit: 10 })).toBeUndefined();
  });

  it("answers a restarted add whose test result is still in effect with that test result, and its undo removes it", async () => {
    const patientId = await created();
    const first = randomUUID();
    await repo.createTestResult({ operationId: 'ta-1', patientId, testId: first, at: at(2), document: test });
    // A restart gets a new test id (support's restart input), which must stay unused.
    const restart = { operationId: 'ta-2', patientId, testId: randomUUID(), at: at(5), document: test, restartOf: ['ta-1'] };
    const answer = { version: 1, lastUpdated: at(2), restartedWrite: { operationId: 'ta-1', testId: first } };
    expect(await repo.createTestResult(restart)).toEqual(answer);
    expect(await repo.createTestResult(restart)).toEqual(answer);
    expect((await repo.listTestResults(patientId, { limit: 10 }))?.items.map((item) => item.id)).toEqual([first]);

    const undo = { operationId: 'ta-2', patientId, testId: restart.testId, at: at(6), kind: 'createTestResult' as const, restartOf: ['ta-1'] };
    expect(await repo.undo(undo)).toBe('reverted');
    expect(await repo.undo(undo)).toBe('reverted');
    expect(await repo.getTestResult(patientId, first)).toBeUndefined();
    // Removed, so a restart of both adds it under its own new id.
    const third = { ...restart, operationId: 'ta-3', testId: randomUUID(), restartOf: ['ta-1', 'ta-2'] };
    expect(await repo.createTestResult(third)).toEqual({ version: 1, lastUpdated: at(5) });
    expect((await repo.listTestResults(patientId, { limit: 10 }))?.items.map((item) => item.id)).toEqual([third.testId]);
  });

  it('undoes a created test result', async () => {
    const patientId = await created();
    const testId = randomUUID();
    await repo.createTestResult({ operationId: 'tu', patientId, testId, at: at(), document: test });
    const cmd = { operationId: 'tu', patientId, testId, at: at(), kind: 'createTestResult' as const };
    expect(await repo.undo(cmd)).toBe('reverted');
    expect(await repo.undo(cmd)).toBe('reverted');
    expect(await repo.getTestResult(patientId, testId)).toBeUndefined();
  });
});

describe('erasure (support)', () => {
  const personal = { firstName: 'Eudora', lastName: 'Quillfeather', gender: 'female', dateOfBirth: '1962-08-14', postCode: '9041', insuranceNumber: 'INS-7733-1902' };
  const test = {
    performer: 'Harbour Lab',
    orderReference: 'ORD-5521',
    observations: [{ id: 'o', code: 'c', measurement: '7.9 mmol/L', interpretation: 'high', issued: '2024-01-01T00:00:00.000Z', status: 'final' }],
  };

  /** Everything the store holds about the patient, as text. */
  async function held(patientId: string): Promise<string> {
    const docs = await Promise.all(
      ['patients', 'patientVersions', 'tests'].map((name) => store.db().collection(name).find({ _shardKey: patientId }).toArray()),
    );
    return JSON.stringify(docs);
  }

  /** Created, updated, an update undone (its undo claim carries the content too), a test result, deleted. */
  async function deletedPatient(): Promise<{ patientId: string; ops: string[] }> {
    const patientId = randomUUID();
    const ops = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const [create, update, undone, test1, remove] = ops as [string, string, string, string, string];
    await repo.createPatient({ operationId: create, patientId, at: at(1), document: personal });
    await repo.updatePatient({ operationId: update, patientId, at: at(2), document: { ...personal, postCode: '9042' } });
    await repo.updatePatient({ operationId: undone, patientId, at: at(3), document: { ...personal, postCode: '9043' } });
    expect(await repo.undo({ operationId: undone, patientId, at: at(4), kind: 'updatePatient' })).toBe('reverted');
    await repo.createTestResult({ operationId: test1, patientId, testId: randomUUID(), at: at(5), document: test });
    await repo.deletePatient({ operationId: remove, patientId, at: at(6) });
    return { patientId, ops };
  }

  it('keeps the claims (ids, versions, kinds, operations, times) without content, and removes the tests, once', async () => {
    const { patientId, ops } = await deletedPatient();
    expect(await held(patientId)).toContain('Quillfeather');
    expect(await repo.erasureState(patientId)).toBe('deleted');
    const writes = await repo.writesOf(patientId);
    expect(writes.operationIds.sort()).toEqual([...ops].sort());
    expect(writes.earliest).toEqual(new Date(at(1)));

    expect(await repo.claimErasure(patientId, 'erase-1', new Date(at(7)))).toBe('erased');
    expect(await repo.scrubErased(patientId)).toEqual({ versionsScrubbed: 4, testsRemoved: 1 });
    const text = await held(patientId);
    for (const value of [...Object.values(personal).filter((v) => v.length > 5), '9042', '9043', 'Harbour Lab', 'ORD-5521', '7.9 mmol/L']) {
      expect({ value, found: text.includes(value) }).toEqual({ value, found: false });
    }
    const claims = await store.db().collection('patientVersions').find({ _shardKey: patientId }).sort({ version: 1 }).toArray();
    expect(claims.map((c) => [c['version'], c['kind'], c['deleted'], c['patient']])).toEqual([
      [1, 'create', false, null],
      [2, 'update', false, null],
      [3, 'update', false, null],
      [4, 'undo', false, null],
      [5, 'delete', true, null],
      [6, 'erase', true, null],
    ]);
    expect(claims.map((c) => c['operationId'])).toEqual([ops[0], ops[1], ops[2], `${ops[2]}:undo`, ops[4], 'erase-1']);
    expect(await store.db().collection('patients').findOne({ _shardKey: patientId })).toMatchObject({ version: 6, deleted: true, patient: null, dateOfBirthDate: null });
    // The erase claim is no write to purge; the others still name theirs, so an erasure run again purges what it missed.
    expect((await repo.writesOf(patientId)).operationIds.sort()).toEqual([ops[0], ops[1], ops[2], ops[4]].sort());

    expect(await repo.claimErasure(patientId, 'erase-2', new Date(at(8)))).toBe('erased');
    expect(await repo.scrubErased(patientId)).toEqual({ versionsScrubbed: 0, testsRemoved: 0 });
    expect(await store.db().collection('patientVersions').countDocuments({ _shardKey: patientId })).toBe(6);
  });

  it('erases only a deleted patient, and scrubs only an erased one', async () => {
    expect(await repo.erasureState(randomUUID())).toBe('unknown');
    expect(await repo.claimErasure(randomUUID(), 'erase-x', new Date())).toBe('unknown');
    const patientId = randomUUID();
    await repo.createPatient({ operationId: randomUUID(), patientId, at: at(), document: personal });
    expect(await repo.erasureState(patientId)).toBe('notDeleted');
    expect(await repo.claimErasure(patientId, 'erase-y', new Date())).toBe('notDeleted');
    await expect(repo.scrubErased(patientId)).rejects.toThrow('Only an erased patient');
    expect((await repo.getPatient(patientId))?.patient.lastName).toBe('Quillfeather');
    expect(await store.db().collection('patientVersions').countDocuments({ _shardKey: patientId })).toBe(1);
  });

  it('lets no write, undo or restart put content back after the erase claim', async () => {
    const { patientId, ops } = await deletedPatient();
    await repo.claimErasure(patientId, 'erase-3', new Date());
    await repo.scrubErased(patientId);
    // The delete's compensation, had it run late, finds its change superseded: the patient stays erased.
    expect(await repo.undo({ operationId: ops[4]!, patientId, at: at(), kind: 'deletePatient' })).toBe('superseded');
    expect((await failure(repo.updatePatient({ operationId: randomUUID(), patientId, at: at(), document: personal }))).code).toBe('notFound');
    expect((await failure(repo.createTestResult({ operationId: randomUUID(), patientId, testId: randomUUID(), at: at(), document: test }))).code).toBe('notFound');
    expect((await failure(repo.createPatient({ operationId: randomUUID(), patientId, at: at(), document: personal, restartOf: [ops[0]!] }))).code).toBe('conflict');
    // A repeat of an erased write (its Idempotency-Key names the same operation) finds its claim but no content to answer with.
    expect((await failure(repo.createPatient({ operationId: ops[0]!, patientId, at: at(), document: personal }))).code).toBe('notFound');
    expect((await failure(repo.updatePatient({ operationId: ops[1]!, patientId, at: at(), document: personal }))).code).toBe('notFound');
    expect((await failure(repo.deletePatient({ operationId: ops[4]!, patientId, at: at() }))).code).toBe('notFound');
    expect(await held(patientId)).not.toContain('Quillfeather');

    // An undone create is deleted too, and erasable; a restart of it cannot revive it afterwards.
    const undoneCreate = randomUUID();
    await repo.createPatient({ operationId: 'e-c', patientId: undoneCreate, at: at(), document: personal });
    await repo.undo({ operationId: 'e-c', patientId: undoneCreate, at: at(), kind: 'createPatient' });
    expect(await repo.claimErasure(undoneCreate, 'erase-4', new Date())).toBe('erased');
    expect((await failure(repo.createPatient({ operationId: 'e-r', patientId: undoneCreate, at: at(), document: personal, restartOf: ['e-c'] }))).code).toBe('conflict');
  });

  it('loses to a restart that revives the patient first', async () => {
    const patientId = randomUUID();
    await repo.createPatient({ operationId: 'v-c', patientId, at: at(), document: personal });
    await repo.undo({ operationId: 'v-c', patientId, at: at(), kind: 'createPatient' });
    await repo.createPatient({ operationId: 'v-r', patientId, at: at(), document: personal, restartOf: ['v-c'] });
    expect(await repo.claimErasure(patientId, 'erase-5', new Date())).toBe('notDeleted');
    expect((await repo.getPatient(patientId))?.patient.lastName).toBe('Quillfeather');
  });
});

describe('search', () => {
  it('matches every given field, date-of-birth ranges inclusive, pages in id order, and answers [] for nothing', async () => {
    const family = `Fam${Date.now()}`;
    const ids = [];
    for (const [i, dateOfBirth] of ['1980', '1980-06-15', '1981-01-01', '1979-12-31'].entries()) {
      ids.push(await created({ ...ada, lastName: family, dateOfBirth, postCode: `${7000 + i}` }));
    }
    const in1980 = await repo.searchPatients({ lastName: family, dateOfBirthFrom: new Date('1980-01-01'), dateOfBirthBefore: new Date('1981-01-01') }, { limit: 10 });
    expect(in1980.items.map((p) => p.patient.dateOfBirth).sort()).toEqual(['1980', '1980-06-15']);
    const byPostCode = await repo.searchPatients({ lastName: family, postCode: '7002' }, { limit: 10 });
    expect(byPostCode.items.map((p) => p.patient.id)).toEqual([ids[2]]);
    const p1 = await repo.searchPatients({ lastName: family }, { limit: 3 });
    const p2 = await repo.searchPatients({ lastName: family }, { limit: 3, after: p1.next! });
    expect([...p1.items, ...p2.items].map((p) => p.patient.id).sort()).toEqual([...ids].sort());
    expect(p2.next).toBeUndefined();
    expect((await repo.searchPatients({ lastName: 'Nobody' }, { limit: 10 })).items).toEqual([]);
    expect((await repo.searchPatients({ id: ids[1]! }, { limit: 10 })).items).toHaveLength(1);
  });
});

describe('idempotency keys', () => {
  const one = (keyHash: string, requestHash: string): IdempotencyCandidate[] => [{ keyHash, requestHash }];

  it('starts once, repeats the same request, and flags another request under the same key', async () => {
    const keys = new IdempotencyKeys(store.db());
    const now = new Date();
    expect(await keys.decide(one('k1', 'r1'), 'op-a', now)).toEqual({ kind: 'first', operationId: 'op-a' });
    expect(await keys.decide(one('k1', 'r1'), 'op-b', now)).toEqual({ kind: 'repeat', operationId: 'op-a', matched: 0 });
    expect(await keys.decide(one('k1', 'r2'), 'op-c', now)).toEqual({ kind: 'mismatch' });
    const racers = await Promise.all(Array.from({ length: 10 }, (_, i) => keys.decide(one('k2', 'r'), `op-${i}`, now)));
    expect(racers.filter((d) => d.kind === 'first')).toHaveLength(1);
  });

  // One Idempotency-Key and request hashed with the old HMAC key A and the new key B.
  const underA = { keyHash: 'x-under-A', requestHash: 'req-under-A' };
  const underB = { keyHash: 'x-under-B', requestHash: 'req-under-B' };

  it('after a rotation, finds the record made under the previous key: the same request repeats, another is a mismatch', async () => {
    const keys = new IdempotencyKeys(store.db());
    const now = new Date();
    expect(await keys.decide([underA], 'op-before', now)).toEqual({ kind: 'first', operationId: 'op-before' });
    // B current, A previous.
    expect(await keys.decide([underB, underA], 'op-after', now)).toEqual({ kind: 'repeat', operationId: 'op-before', matched: 1 });
    expect(await keys.decide([{ ...underB, requestHash: 'other-under-B' }, { ...underA, requestHash: 'other-under-A' }], 'op-other', now)).toEqual({ kind: 'mismatch' });
    // Nothing new was recorded under B: the write from before the rotation stays the only one.
    expect(await store.db().collection(collections.idempotencyKeys).countDocuments({ _id: underB.keyHash as never })).toBe(0);
    // A repeat racing others on the new ring still finds only the first write.
    const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => keys.decide([underB, underA], `op-race-${i}`, now)));
    expect(racers).toEqual(racers.map(() => ({ kind: 'repeat', operationId: 'op-before', matched: 1 })));
  });

  it('prefers the current key when both have a record, and records a first use under the current key only', async () => {
    const keys = new IdempotencyKeys(store.db());
    const now = new Date();
    const a = { ...underA, keyHash: 'y-under-A' };
    const b = { ...underB, keyHash: 'y-under-B' };
    expect(await keys.decide([b, a], 'op-new', now)).toEqual({ kind: 'first', operationId: 'op-new' });
    expect(await store.db().collection(collections.idempotencyKeys).countDocuments({ _id: a.keyHash as never })).toBe(0);
    expect(await keys.decide([a], 'op-old', now)).toEqual({ kind: 'first', operationId: 'op-old' });
    expect(await keys.decide([b, a], 'op-3', now)).toEqual({ kind: 'repeat', operationId: 'op-new', matched: 0 });
  });

  // The instances a rolling restart mixes in each phase of docs/key-rotation.md: (a) add B as
  // previous, (b) switch: B current and A previous, (c) drop A.
  const phases: [string, (a: IdempotencyCandidate, b: IdempotencyCandidate) => IdempotencyCandidate[][]][] = [
    ['a', (a, b) => [[a], [a, b]]],
    ['b', (a, b) => [[a, b], [b, a]]],
    ['c', (a, b) => [[b, a], [b]]],
  ];

  it.each(phases)('of concurrent uses of one key during the restart of phase %s, one write starts and every request ends up answering it', async (phase, ringsOf) => {
    const keys = new IdempotencyKeys(store.db());
    const now = new Date();
    for (let round = 0; round < 8; round += 1) {
      // Each instance hashes with its own current key, so the request hash differs per key too.
      const a = { keyHash: `${phase}-${round}-under-A`, requestHash: 'req-under-A' };
      const b = { keyHash: `${phase}-${round}-under-B`, requestHash: 'req-under-B' };
      const rings = Array.from({ length: 6 }, (_, i) => ringsOf(a, b)[i % 2] ?? []);
      // Each instance offers the operation id its current key derives; as WriteService does, a
      // repeat of a write not started (here: any) settles the race before it would start one.
      const decisions = await Promise.all(
        rings.map(async (ring) => {
          const decision = await keys.decide(ring, `op-${ring[0]?.keyHash ?? ''}`, now);
          return decision.kind === 'repeat' && ring.length > 1 ? keys.settle(ring, decision, now) : decision;
        }),
      );
      const firsts = decisions.filter((d) => d.kind === 'first');
      expect(firsts).toHaveLength(1);
      const winner = firsts[0]?.operationId;
      expect(decisions.map((d) => (d.kind === 'mismatch' ? 'mismatch' : d.operationId))).toEqual(decisions.map(() => winner));
      // No record is left pointing a later repeat at a write that never starts.
      const records = await store.db().collection(collections.idempotencyKeys).find({ _id: { $in: [a.keyHash, b.keyHash] as never[] } }).toArray();
      expect(records.map((record) => record['operationId'])).toEqual(records.map(() => winner));
    }
  });
});
