import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startStore, type Store } from '@patient-records/devhost';
import { type Db, MongoClient } from 'mongodb';

export interface StoreFixture {
  store(): Store;
  client(): MongoClient;
  /** A database no other test file uses, dropped after the file's tests. */
  db(): Db;
}

/** One embedded store per test file (the devhost's), started in beforeAll and stopped in afterAll. */
export function useStore(prefix = 'patients'): StoreFixture {
  let store: Store | undefined;
  let client: MongoClient | undefined;
  let db: Db | undefined;
  let dataDir: string | undefined;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'patient-app-store-'));
    store = await startStore({ dataDir, log: () => undefined });
    client = await MongoClient.connect(store.uri);
    db = client.db(uniqueDatabaseName(prefix));
  });
  afterAll(async () => {
    await db?.dropDatabase().catch(() => undefined);
    await client?.close();
    await store?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('The store is not started yet; use it inside a test or hook');
    return value;
  };
  return { store: () => started(store), client: () => started(client), db: () => started(db) };
}

export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
