import { ContinuationTokens, createMongoClient, createSecretSource, type SecretSource } from '@patient-records/platform';
import type { MongoClient } from 'mongodb';

import { AuditRecordStore } from './records/store';
import { type AuditAppSettings, loadSettings } from './settings';

/** Everything the handlers use, built once per process. */
export interface AuditServices {
  settings: AuditAppSettings;
  records: AuditRecordStore;
  /** Closes the MongoDB client. */
  close(): Promise<void>;
}

/**
 * The composition root: reads and checks the settings, builds the one MongoDB client and the
 * record store. The client connects on first use, so a store that is down at start does not stop
 * the app; requests answer 503 until it is back.
 */
export async function compose(source: SecretSource): Promise<AuditServices> {
  const settings = await loadSettings(source);
  const client: MongoClient = createMongoClient({ connectionString: settings.mongoConnectionString, appName: 'audit-app' });
  const records = new AuditRecordStore(client.db(settings.databaseName), new ContinuationTokens(settings.continuationTokenKey));
  return { settings, records, close: () => client.close() };
}

let services: Promise<AuditServices> | undefined;

/**
 * The process's services, composed on first call from the app settings (and Key Vault when
 * `KEY_VAULT_URL` is set). A settings error is permanent until the app is restarted with fixed
 * settings, so it is kept and every request answers 500 with the logged message naming them.
 */
export function appServices(): Promise<AuditServices> {
  services ??= compose(createSecretSource(process.env));
  return services;
}
