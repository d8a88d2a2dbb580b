import { type StoreFixture, storeFixture } from '@patient-records/devhost';

/** One embedded store per test file (the devhost's storeFixture), with a database of the file's own. */
export function useStore(prefix: string): StoreFixture {
  return storeFixture({ beforeAll, afterAll }, prefix);
}
