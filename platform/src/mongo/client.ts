import { type Collection, type Document, type IndexSpecification, MongoClient, type MongoClientOptions } from 'mongodb';

/** Options for the one MongoDB client an app builds in its composition root. */
export interface MongoClientSettings {
  /** The connection string (a secret: never logged). */
  connectionString: string;
  /** Shown in the server's logs and in Cosmos DB diagnostics. */
  appName: string;
  /**
   * How long an operation waits for a reachable server before failing, so that an outage answers
   * `503` quickly instead of holding the request (the driver's default is 30 s).
   */
  serverSelectionTimeoutMS?: number;
  /** Anything else the driver accepts. */
  options?: MongoClientOptions;
}

/**
 * Builds the app's MongoDB client. Call it once, in the composition root, and pass the client (or
 * collections from it) to what needs it. The driver connects on first use and reconnects after an
 * outage by itself, so a store that is down at start does not stop the app, and a failed connect is
 * never cached. Close it on shutdown.
 */
export function createMongoClient(settings: MongoClientSettings): MongoClient {
  return new MongoClient(settings.connectionString, {
    appName: settings.appName,
    serverSelectionTimeoutMS: settings.serverSelectionTimeoutMS ?? 5_000,
    connectTimeoutMS: 5_000,
    ...settings.options,
  });
}

/** One index of a collection. */
export interface IndexDefinition {
  key: IndexSpecification;
  name: string;
  unique?: boolean;
  sparse?: boolean;
}

/**
 * Creates the indexes a collection's queries need, one `createIndex` call per index (a single
 * `createIndexes` naming several existing indexes breaks FerretDB 1.24; see docs/data-store.md).
 * Safe to repeat at every start.
 */
export async function ensureIndexes<T extends Document>(collection: Collection<T>, indexes: readonly IndexDefinition[]): Promise<void> {
  for (const index of indexes) {
    const options: { name: string; unique?: boolean; sparse?: boolean } = { name: index.name };
    if (index.unique !== undefined) options.unique = index.unique;
    if (index.sparse !== undefined) options.sparse = index.sparse;
    await collection.createIndex(index.key, options);
  }
}
