import { storeFixture } from '@patient-records/devhost';
import { BSON, MongoClient } from 'mongodb';

import { type CountingProxy, startCountingProxy } from '../src/counting-proxy';
import { commandOf, countsBetween, isConnectionCommand, OP_MSG, OP_QUERY, WireCommandReader } from '../src/wire';

function header(length: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(16);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(7, 4);
  buffer.writeInt32LE(0, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/** An OP_MSG: the body (kind 0) and optional document sequences (kind 1), in the order given. */
function opMsg(
  sections: ({ body: Record<string, unknown> } | { sequence: string; documents: Record<string, unknown>[] })[],
  checksum = false,
): Buffer {
  const parts = sections.map((section) => {
    if ('body' in section) return Buffer.concat([Buffer.from([0]), Buffer.from(BSON.serialize(section.body))]);
    const identifier = Buffer.from(`${section.sequence}\0`);
    const documents = section.documents.map((document) => Buffer.from(BSON.serialize(document)));
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + identifier.length + documents.reduce((sum, d) => sum + d.length, 0));
    return Buffer.concat([Buffer.from([1]), size, identifier, ...documents]);
  });
  const flags = Buffer.alloc(4);
  flags.writeUInt32LE(checksum ? 1 : 0);
  const tail = checksum ? Buffer.alloc(4) : Buffer.alloc(0);
  const length = 16 + 4 + parts.reduce((sum, p) => sum + p.length, 0) + tail.length;
  return Buffer.concat([header(length, OP_MSG), flags, ...parts, tail]);
}

function opQuery(collection: string, query: Record<string, unknown>): Buffer {
  const body = Buffer.concat([
    Buffer.alloc(4),
    Buffer.from(`${collection}\0`),
    Buffer.alloc(8),
    Buffer.from(BSON.serialize(query)),
  ]);
  return Buffer.concat([header(16 + body.length, OP_QUERY), body]);
}

describe('reading commands off the MongoDB wire', () => {
  it('names an OP_MSG by the first key of its body, wherever its document sequences are', () => {
    expect(commandOf(opMsg([{ body: { insert: 'patients', $db: 'x' } }]))).toBe('insert');
    expect(
      commandOf(
        opMsg([
          { sequence: 'documents', documents: [{ find: 'not me' }, { a: 1 }] },
          { body: { insert: 'p', ordered: true } },
        ]),
      ),
    ).toBe('insert');
    expect(commandOf(opMsg([{ body: { update: 'p' } }, { sequence: 'updates', documents: [{ q: {} }] }]))).toBe(
      'update',
    );
    expect(commandOf(opMsg([{ body: { findAndModify: 'p' } }], true))).toBe('findAndModify');
  });

  it('names a legacy OP_QUERY handshake by its query and anything else by its opCode', () => {
    expect(commandOf(opQuery('admin.$cmd', { isMaster: 1, client: { driver: 'x' } }))).toBe('isMaster');
    expect(commandOf(header(16, 2012))).toBe('(opCode 2012)');
  });

  it('reassembles messages split across chunks and splits chunks holding several', () => {
    const names: string[] = [];
    const reader = new WireCommandReader((name) => names.push(name));
    const stream = Buffer.concat([
      opMsg([{ body: { hello: 1 } }]),
      opMsg([{ body: { find: 'p', filter: {} } }]),
      opMsg([{ body: { delete: 'p' } }]),
    ]);
    for (let i = 0; i < stream.length; i += 5) reader.push(stream.subarray(i, i + 5));
    reader.push(Buffer.concat([opMsg([{ body: { insert: 'a' } }]), opMsg([{ body: { insert: 'b' } }])]));
    expect(names).toEqual(['hello', 'find', 'delete', 'insert', 'insert']);
  });

  it('refuses a stream that is not the wire protocol', () => {
    const reader = new WireCommandReader(() => undefined);
    expect(() => reader.push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/not a MongoDB wire message/);
    expect(() => new WireCommandReader(() => undefined).push(Buffer.from([3, 0, 0, 0, 1]))).toThrow(/length 3/);
  });

  it('keeps connection commands apart from operations between two snapshots', () => {
    const before = { insert: 2, hello: 5 };
    const after = { insert: 5, find: 4, hello: 9, isMaster: 1, saslStart: 1, endSessions: 1, ping: 2 };
    expect(countsBetween(before, after)).toEqual({
      operations: { insert: 3, find: 4 },
      connection: { hello: 4, isMaster: 1, saslStart: 1, endSessions: 1, ping: 2 },
    });
  });
});

describe('the counting proxy between a real driver and the store', () => {
  const store = storeFixture({ beforeAll, afterAll }, 'bench-wire');
  let proxy: CountingProxy;
  let client: MongoClient;

  beforeAll(async () => {
    proxy = await startCountingProxy(store.store().uri);
    client = await MongoClient.connect(proxy.uri);
  });

  afterAll(async () => {
    await client.close().catch(() => undefined);
    await proxy.stop();
  });

  it('counts each command the driver sends once, by name, and leaves the handshake out', async () => {
    const patients = client.db(store.db().databaseName).collection<{ _id: string; n: number }>('patients');
    const before = proxy.counts();
    await patients.insertOne({ _id: 'a', n: 1 });
    await patients.insertMany([
      { _id: 'b', n: 2 },
      { _id: 'c', n: 3 },
    ]);
    expect(await patients.find({ n: { $gte: 1 } }).toArray()).toHaveLength(3);
    await patients.updateOne({ _id: 'a' }, { $set: { n: 4 } });
    await patients.deleteOne({ _id: 'b' });
    await client.db('admin').command({ ping: 1 });
    const { operations, connection } = countsBetween(before, proxy.counts());
    expect(operations).toEqual({ insert: 2, find: 1, update: 1, delete: 1 });
    // The driver's heartbeats may fall into the window too; they stay out of the operations.
    expect(connection.ping).toBe(1);
    expect(Object.keys(connection).every(isConnectionCommand)).toBe(true);
    // The handshake of the connections opened so far was seen, and kept out of the operations.
    expect(Object.keys(proxy.counts()).some((name) => /^(hello|isMaster|ismaster)$/.test(name))).toBe(true);
  });
});
