export { createMongoClient, ensureIndexes, type IndexDefinition, type MongoClientSettings } from './client';
export { isDuplicateKeyError, isStoreUnavailableError, storeUnavailable, withStore } from './errors';
