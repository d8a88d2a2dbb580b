export { startStore, type StartStoreOptions, type Store } from './embedded-store';
export { ensureFerretDb, FERRETDB_VERSION, ferretDbBinaryPath, StoreUnavailableError } from './ferretdb';
export { type StoreFixture, storeFixture, type SuiteHooks, uniqueDatabaseName } from './fixture';
export { freePort } from './ports';
