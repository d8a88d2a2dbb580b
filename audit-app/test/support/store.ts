import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startStore, type Store } from '@patient-records/devhost';

/**
 * One embedded store per test file (or the server named by MONGODB_URI), started in beforeAll and
 * stopped in afterAll, with a database name no other file uses.
 */
export function useStore(prefix: string): { store(): Store; databaseName: string } {
  let store: Store | undefined;
  let dataDir: string | undefined;
  const databaseName = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'audit-store-'));
    store = await startStore({ dataDir, log: () => undefined });
  });
  afterAll(async () => {
    await store?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    store: () => {
      if (store === undefined) throw new Error('The store is not started yet');
      return store;
    },
    databaseName,
  };
}
