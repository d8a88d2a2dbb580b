/**
 * The MongoDB subset this project relies on, run through the official driver against the embedded
 * store (FerretDB) or, unchanged, against the server named by MONGODB_URI. docs/data-store.md lists
 * the same subset; a data layer that needs anything else adds a case here first.
 */
import { type Collection, type Db, type IndexDescription, MongoServerError } from 'mongodb';

import { useStore } from './support/store';

interface Patient {
  _id: string;
  _shardKey: string;
  lastName: string;
  dateOfBirth: Date;
  version: number;
  insuranceNumber?: string;
  tags?: string[];
}

const fixture = useStore('compat');
let db: Db;

beforeAll(() => {
  db = fixture.db();
});

function patients(name: string): Collection<Patient> {
  return db.collection<Patient>(name);
}

function patient(id: string, lastName: string, dateOfBirth: string, extra: Partial<Patient> = {}): Patient {
  return { _id: id, _shardKey: id, lastName, dateOfBirth: new Date(dateOfBirth), version: 1, ...extra };
}

test('insert and find one by id and shard key', async () => {
  const c = patients('insert');
  await c.insertOne(patient('p1', 'Ngata', '1980-02-03'));
  await c.insertMany([patient('p2', 'Smith', '1990-01-01'), patient('p3', 'Jones', '2000-12-31')]);
  const found = await c.findOne({ _id: 'p1', _shardKey: 'p1' });
  expect(found?.lastName).toBe('Ngata');
  expect(found?.dateOfBirth).toEqual(new Date('1980-02-03'));
  expect(await c.findOne({ _id: 'missing', _shardKey: 'missing' })).toBeNull();
});

test('duplicate _id and unique index violations carry code 11000', async () => {
  const c = patients('unique');
  await c.createIndex({ insuranceNumber: 1 }, { unique: true, sparse: true, name: 'insuranceNumber_unique' });
  await c.insertOne(patient('u1', 'A', '1970-01-01', { insuranceNumber: 'INS-1' }));
  await expect(c.insertOne(patient('u1', 'B', '1970-01-01'))).rejects.toMatchObject({ code: 11000 });
  const duplicate = await c
    .insertOne(patient('u2', 'C', '1970-01-01', { insuranceNumber: 'INS-1' }))
    .catch((e: unknown) => e);
  expect(duplicate).toBeInstanceOf(MongoServerError);
  expect((duplicate as MongoServerError).code).toBe(11000);
  // Sparse: any number of documents may lack the field.
  await c.insertOne(patient('u3', 'D', '1970-01-01'));
  await c.insertOne(patient('u4', 'E', '1970-01-01'));
  expect(await c.countDocuments({})).toBe(3);
});

test('creating the same indexes again, one call per index, is a no-op, and they are listed', async () => {
  // One createIndex call per index: FerretDB 1.24 drops the connection when a single createIndexes
  // command names several indexes that already exist (docs/data-store.md).
  const c = patients('indexes');
  const specs: IndexDescription[] = [
    { key: { _shardKey: 1, lastName: 1 }, name: 'shard_lastName' },
    { key: { dateOfBirth: 1 }, name: 'dateOfBirth' },
    { key: { insuranceNumber: 1 }, name: 'insurance_sparse', sparse: true },
  ];
  for (let round = 0; round < 2; round += 1) {
    for (const { key, ...options } of specs) await c.createIndex(key, options);
  }
  const names = (await c.listIndexes().toArray()).map((index) => index.name as string);
  expect(names).toEqual(expect.arrayContaining(['_id_', 'shard_lastName', 'dateOfBirth', 'insurance_sparse']));
});

test('upsert inserts once and then leaves $setOnInsert fields alone', async () => {
  const c = db.collection<{ _id: string; createdBy: string; seen: number }>('upsert');
  const first = await c.updateOne(
    { _id: 'k1' },
    { $setOnInsert: { createdBy: 'first' }, $inc: { seen: 1 } },
    { upsert: true },
  );
  expect(first.upsertedCount).toBe(1);
  const second = await c.updateOne(
    { _id: 'k1' },
    { $setOnInsert: { createdBy: 'second' }, $inc: { seen: 1 } },
    { upsert: true },
  );
  expect(second.upsertedCount).toBe(0);
  expect(second.matchedCount).toBe(1);
  expect(await c.findOne({ _id: 'k1' })).toEqual({ _id: 'k1', createdBy: 'first', seen: 2 });
  const replaced = await c.replaceOne({ _id: 'k2' }, { createdBy: 'replace', seen: 0 }, { upsert: true });
  expect(replaced.upsertedId).toBe('k2');
});

test('replace with a version filter refuses a stale version, one writer at a time', async () => {
  const c = patients('occ');
  await c.insertOne(patient('o1', 'Before', '1985-05-05'));
  const won = await c.replaceOne(
    { _id: 'o1', _shardKey: 'o1', version: 1 },
    { ...patient('o1', 'Winner', '1985-05-05'), version: 2 },
  );
  expect(won.matchedCount).toBe(1);
  const lost = await c.replaceOne(
    { _id: 'o1', _shardKey: 'o1', version: 1 },
    { ...patient('o1', 'Loser', '1985-05-05'), version: 2 },
  );
  expect(lost.matchedCount).toBe(0);
  expect((await c.findOne({ _id: 'o1' }))?.lastName).toBe('Winner');
});

test('concurrent inserts of one claim id: exactly one wins, the rest get 11000', async () => {
  // FerretDB 1.24 does not isolate concurrent updates of one document (docs/data-store.md), but
  // an insert is atomic. Every "exactly one wins" decision in the code is therefore a claim insert.
  const c = db.collection<{ _id: string; _shardKey: string; writer: number }>('claims');
  const writers = Array.from({ length: 30 }, (_, writer) => writer);
  const results = await Promise.allSettled(
    writers.map((writer) => c.insertOne({ _id: 'p1:2', _shardKey: 'p1', writer })),
  );
  const won = results.filter((result) => result.status === 'fulfilled');
  const lost = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost.map((result) => (result.reason as MongoServerError).code)).toEqual(Array(29).fill(11000));
  expect(await c.countDocuments({ _id: 'p1:2' })).toBe(1);
});

test('findOneAndUpdate returns the document after the update, and null when nothing matches', async () => {
  const c = patients('fau');
  await c.insertOne(patient('f1', 'Counter', '1999-09-09'));
  const after = await c.findOneAndUpdate(
    { _id: 'f1', _shardKey: 'f1', version: 1 },
    { $inc: { version: 1 }, $push: { tags: { $each: ['a', 'b'] } }, $set: { lastName: 'Renamed' } },
    { returnDocument: 'after' },
  );
  expect(after).toMatchObject({ _id: 'f1', version: 2, tags: ['a', 'b'], lastName: 'Renamed' });
  const stale = await c.findOneAndUpdate(
    { _id: 'f1', version: 1 },
    { $inc: { version: 1 } },
    { returnDocument: 'after' },
  );
  expect(stale).toBeNull();
  const unset = await c.findOneAndUpdate({ _id: 'f1' }, { $unset: { tags: '' } }, { returnDocument: 'after' });
  expect(unset).not.toHaveProperty('tags');
});

test('range queries on dates, equality, $in and projection', async () => {
  const c = patients('range');
  await c.insertMany([
    patient('r1', 'Able', '1950-06-15'),
    patient('r2', 'Baker', '1975-01-01'),
    patient('r3', 'Baker', '1975-12-31'),
    patient('r4', 'Carter', '2001-03-04'),
  ]);
  const seventies = await c
    .find({ dateOfBirth: { $gte: new Date('1975-01-01'), $lt: new Date('1976-01-01') } })
    .sort({ _id: 1 })
    .toArray();
  expect(seventies.map((p) => p._id)).toEqual(['r2', 'r3']);
  const bakers = await c.find({ lastName: 'Baker', dateOfBirth: { $lte: new Date('1975-06-01') } }).toArray();
  expect(bakers.map((p) => p._id)).toEqual(['r2']);
  const some = await c
    .find({ _id: { $in: ['r1', 'r4', 'nope'] } }, { projection: { lastName: 1 } })
    .sort({ _id: 1 })
    .toArray();
  expect(some).toEqual([
    { _id: 'r1', lastName: 'Able' },
    { _id: 'r4', lastName: 'Carter' },
  ]);
});

test('paging with sort, skip and limit is stable with a tie-breaking key', async () => {
  const c = db.collection<{ _id: string; at: Date; kind: string }>('paging');
  const docs = Array.from({ length: 25 }, (_, i) => ({
    _id: `e${String(i).padStart(2, '0')}`,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(i / 2))),
    kind: i % 3 === 0 ? 'read' : 'write',
  }));
  await c.insertMany(docs);
  const seen: string[] = [];
  for (let page = 0; page < 3; page += 1) {
    const batch = await c
      .find({})
      .sort({ at: -1, _id: -1 })
      .skip(page * 10)
      .limit(10)
      .toArray();
    seen.push(...batch.map((d) => d._id));
  }
  expect(seen).toEqual(docs.map((d) => d._id).reverse());
  // Keyset paging (continuation tokens): everything strictly older than the last item seen.
  const firstPage = await c.find({}).sort({ at: -1, _id: -1 }).limit(4).toArray();
  const last = firstPage[firstPage.length - 1]!;
  const next = await c
    .find({ $or: [{ at: { $lt: last.at } }, { at: last.at, _id: { $lt: last._id } }] })
    .sort({ at: -1, _id: -1 })
    .limit(4)
    .toArray();
  expect(next.map((d) => d._id)).toEqual(seen.slice(4, 8));
  expect(await c.countDocuments({ kind: 'read' })).toBe(9);
  const counts = await c
    .aggregate<{ _id: string; n: number }>([
      { $match: { at: { $gte: new Date(Date.UTC(2026, 0, 1)) } } },
      { $group: { _id: '$kind', n: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ])
    .toArray();
  expect(counts).toEqual([
    { _id: 'read', n: 9 },
    { _id: 'write', n: 16 },
  ]);
});

test('delete one and many, and count what is left', async () => {
  const c = patients('delete');
  await c.insertMany([
    patient('d1', 'X', '1960-01-01'),
    patient('d2', 'X', '1961-01-01'),
    patient('d3', 'Y', '1962-01-01'),
  ]);
  expect((await c.deleteOne({ _id: 'd1', _shardKey: 'd1' })).deletedCount).toBe(1);
  expect((await c.deleteOne({ _id: 'd1', _shardKey: 'd1' })).deletedCount).toBe(0);
  expect((await c.deleteMany({ lastName: 'X' })).deletedCount).toBe(1);
  expect(await c.countDocuments({})).toBe(1);
});
