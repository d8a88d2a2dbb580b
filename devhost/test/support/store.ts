import { type StoreFixture, storeFixture } from '../../src/store';

export { type StoreFixture, uniqueDatabaseName } from '../../src/store';

/** One embedded store per test file (see storeFixture). */
export function useStore(prefix = 'test'): StoreFixture {
  return storeFixture({ beforeAll, afterAll }, prefix);
}
