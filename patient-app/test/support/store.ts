import { type StoreFixture, storeFixture } from '@patient-records/devhost';

export { type StoreFixture, uniqueDatabaseName } from '@patient-records/devhost';

/** One embedded store per test file (the devhost's storeFixture). */
export function useStore(prefix = 'patients'): StoreFixture {
  return storeFixture({ beforeAll, afterAll }, prefix);
}
