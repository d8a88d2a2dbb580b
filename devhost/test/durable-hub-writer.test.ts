import type { Collection } from 'mongodb';

import { HubWriter } from '../src/durable/hub-writer';
import { useStore } from './support/store';

/** The task hub's writer against the embedded store: what each caller is told when writes are combined. */
const store = useStore('hub_writer');

interface Message {
  _id: string;
  stamp: number;
  state?: string;
  n?: number;
}

let collectionCount = 0;
function fresh(): { collection: Collection<Message>; writer: HubWriter; logs: string[] } {
  collectionCount += 1;
  const collection = store.db().collection<Message>(`messages_${collectionCount}`);
  const logs: string[] = [];
  const writer = new HubWriter(collection as unknown as Collection<{ _id: string }>, (level, message) =>
    logs.push(`${level} ${message}`),
  );
  return { collection, writer, logs };
}

test('concurrent inserts are stored once each; a duplicate id, stored before or in the same round, is reported as not inserted', async () => {
  const { collection, writer } = fresh();
  await collection.insertOne({ _id: 'existing', stamp: 0 });
  const sameWrite = (doc: Message) => (stored: Message) => stored.stamp === doc.stamp;
  const docs: Message[] = [
    ...Array.from({ length: 150 }, (_, i) => ({ _id: `m${i}`, stamp: i + 1 })),
    { _id: 'existing', stamp: 1000 },
    { _id: 'twice', stamp: 2000 },
    { _id: 'twice', stamp: 2001 },
  ];
  const inserted = await Promise.all(docs.map((doc) => writer.insert(collection, doc, sameWrite(doc))));

  expect(inserted.slice(0, 150).every(Boolean)).toBe(true);
  expect(inserted[150]).toBe(false);
  expect(inserted.slice(151).filter(Boolean)).toHaveLength(1);
  expect(await collection.countDocuments()).toBe(152);
  expect((await collection.findOne({ _id: 'existing' }))?.stamp).toBe(0);
});

test('deletes by id in one round remove exactly those documents', async () => {
  const { collection, writer } = fresh();
  await collection.insertMany(Array.from({ length: 20 }, (_, i) => ({ _id: `d${i}`, stamp: i })));
  await Promise.all(['d1', 'd3', 'd5', 'missing'].map((id) => writer.deleteById(collection, id)));
  const left = (await collection.find({}).toArray()).map((d) => d._id);
  expect(left).toHaveLength(17);
  expect(left).not.toEqual(expect.arrayContaining(['d1', 'd3', 'd5']));
});

test('updates written behind collapse to the latest per document, are readable until stored, and flush waits for them', async () => {
  const { collection, writer } = fresh();
  // More than the store answers in one update command (FerretDB 1.24 never answers 100 or more).
  const ids = Array.from({ length: 130 }, (_, i) => `u${i}`);
  await collection.insertMany(ids.map((id) => ({ _id: id, stamp: 0, state: 'new' })));
  // Hold the writer with a slow write, so that the updates below queue behind it.
  let release = (): void => undefined;
  const held = writer.run(() => new Promise<void>((resolve) => (release = resolve)));
  for (const id of ids) writer.updateLater(id, { state: 'running', n: 1 });
  for (const id of ids) writer.updateLater(id, { state: 'done', n: 2 });
  expect(writer.pendingFields('u7')).toEqual({ state: 'done', n: 2 });
  const flushed = writer.flush();
  release();
  await held;
  await flushed;

  expect(writer.pendingFields('u7')).toBeUndefined();
  const stored = await collection.find({}).toArray();
  expect(stored.every((doc) => doc.state === 'done' && doc.n === 2)).toBe(true);
});

test('a forgotten update is neither readable nor written (the instance was purged, or its writer stores it itself)', async () => {
  const { collection, writer } = fresh();
  await collection.insertOne({ _id: 'f', stamp: 0, state: 'new' });
  let release = (): void => undefined;
  const held = writer.run(() => new Promise<void>((resolve) => (release = resolve)));
  writer.updateLater('f', { state: 'stale' });
  writer.forget('f');
  expect(writer.pendingFields('f')).toBeUndefined();
  release();
  await Promise.all([held, writer.flush()]);
  expect((await collection.findOne({ _id: 'f' }))?.state).toBe('new');
});

test('a write that fails is reported to its caller only; the writer goes on', async () => {
  const { collection, writer } = fresh();
  const failing = writer.run(() => Promise.reject(new Error('boom')));
  const next = writer.insert(collection, { _id: 'after', stamp: 1 }, () => true);
  await expect(failing).rejects.toThrow('boom');
  await expect(next).resolves.toBe(true);
});
