export { startStore, type StartStoreOptions,type Store } from './embedded-store';
export { ensureFerretDb, FERRETDB_VERSION, ferretDbBinaryPath, StoreUnavailableError } from './ferretdb';
export { freePort } from './ports';
