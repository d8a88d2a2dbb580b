import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Db, MongoClient } from 'mongodb';

import { startStore, type Store } from './embedded-store';

/** The lifecycle hooks of a test framework (jest's global `beforeAll`/`afterAll`). */
export interface SuiteHooks {
  beforeAll(fn: () => Promise<void>): void;
  afterAll(fn: () => Promise<void>): void;
}

export interface StoreFixture {
  /** The running store. */
  store(): Store;
  /** A connected client, closed after the suite. */
  client(): MongoClient;
  /** A database no other suite uses, dropped after the suite. */
  db(): Db;
}

/**
 * One store per test file: started before the file's tests in a fresh temporary folder, stopped
 * after them, once the file's database is dropped and its client closed. With MONGODB_URI set,
 * every file shares that server, which is why each file gets a database name of its own. The
 * hooks are passed in so this module does not depend on a test framework.
 */
export function storeFixture(hooks: SuiteHooks, prefix: string): StoreFixture {
  let store: Store | undefined;
  let client: MongoClient | undefined;
  let db: Db | undefined;
  let dataDir: string | undefined;
  hooks.beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-store-`));
    store = await startStore({ dataDir, log: () => undefined });
    client = await MongoClient.connect(store.uri);
    db = client.db(uniqueDatabaseName(prefix));
  });
  hooks.afterAll(async () => {
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

/** A database name no other test file or run uses, for servers shared through MONGODB_URI. */
export function uniqueDatabaseName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
