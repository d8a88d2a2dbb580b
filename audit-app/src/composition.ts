import { createHash } from 'node:crypto';

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
  const records = new AuditRecordStore(client.db(settings.databaseName), new ContinuationTokens(continuationTokenKey(settings)));
  return { settings, records, close: () => client.close() };
}

/**
 * The key that signs continuation tokens: `CONTINUATION_TOKEN_KEY` when set, else one derived from
 * the connection string, which is a secret in every deployed environment, so tokens are signed
 * without a further secret to provision (they stop verifying when that credential rotates, and a
 * caller then starts its listing again).
 */
function continuationTokenKey(settings: AuditAppSettings): string {
  return (
    settings.continuationTokenKey ??
    createHash('sha256').update(`audit-app continuation tokens\n${settings.mongoConnectionString}`).digest('base64url')
  );
}

let services: Promise<AuditServices> | undefined;

/**
 * The process's services, composed once from the app settings (and Key Vault when `KEY_VAULT_URL`
 * is set). The app's `appStart` hook calls it, so a missing setting stops the app at start; a
 * failure is not kept, so a vault that was briefly unreachable is read again on the next call.
 */
export function appServices(): Promise<AuditServices> {
  services ??= compose(createSecretSource(process.env)).catch((error: unknown) => {
    services = undefined;
    throw error instanceof Error ? new Error(`audit-app cannot start: ${error.message}`, { cause: error }) : error;
  });
  return services;
}

/** Closes what `appServices` built; for the app's `appTerminate` hook. */
export async function closeAppServices(): Promise<void> {
  const built = services;
  services = undefined;
  if (built) await (await built.catch(() => undefined))?.close();
}
