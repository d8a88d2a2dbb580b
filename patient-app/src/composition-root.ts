import { createHmac } from 'node:crypto';

import { ContinuationTokens, createMongoClient, createSecretSource, type SecretSource } from '@patient-records/platform';
import type { MongoClient } from 'mongodb';

import { HttpAuditClient } from './audit/audit-client';
import { IdempotencyKeys } from './data/idempotency-keys';
import { MongoPatientRepository } from './data/patient-repository';
import { IdempotencyKeyRing } from './security/idempotency';
import { AesGcmPayloadCipher } from './security/payload-cipher';
import { loadSettings, type PatientAppSettings, settingDefinitions } from './settings';
import { RestartLinks } from './support/restart-links';
import { WriteService } from './writes/write-service';

/** Everything patient-app's handlers and activities use, built once per process. */
export interface PatientAppServices {
  settings: PatientAppSettings;
  mongo: MongoClient;
  repository: MongoPatientRepository;
  audit: HttpAuditClient;
  cipher: AesGcmPayloadCipher;
  writes: WriteService;
  /** Which write a support restart started from which: the support API records them, `GET /api/operations` follows them. */
  restarts: RestartLinks;
  pageTokens: ContinuationTokens;
}

/**
 * Builds the services: reads and checks every setting (a missing one fails with its name), builds
 * the one MongoDB client, creates the indexes, and wires the repository, audit client, cipher and
 * write service.
 */
export async function buildServices(source: SecretSource): Promise<PatientAppServices> {
  const settings = await loadSettings(source);
  const mongo = createMongoClient({ connectionString: settings.mongoConnectionString, appName: 'patient-app' });
  const db = mongo.db(settings.databaseName);
  const repository = new MongoPatientRepository(db);
  try {
    await repository.ensureIndexes();
  } catch (error) {
    await mongo.close().catch(() => undefined);
    throw error;
  }
  const readKey = async (read: (name: string) => Promise<string | undefined>): Promise<string> => {
    const key = await read(settingDefinitions.auditApiKey.name);
    if (key === undefined) throw new Error(`The setting ${settingDefinitions.auditApiKey.name} is required but not set`);
    return key;
  };
  const audit = new HttpAuditClient({
    baseUrl: settings.auditApiUrl.toString(),
    timeoutMs: settings.auditTimeoutMs,
    functionKey: {
      current: () => readKey((name) => source.get(name)),
      refresh: () => readKey((name) => source.refresh(name)),
    },
  });
  const cipher = new AesGcmPayloadCipher(settings.payloadEncryptionKey, settings.payloadEncryptionPreviousKeys);
  const restarts = new RestartLinks(db);
  const writes = new WriteService({
    cipher,
    hashers: new IdempotencyKeyRing(settings.idempotencyHmacKey, settings.idempotencyHmacPreviousKeys),
    idempotencyKeys: new IdempotencyKeys(db),
    waitTimeoutMs: settings.writeWaitTimeoutMs,
    restarts,
    storedWrites: repository,
  });
  // Paging tokens are signed with a key derived from the idempotency key: no extra secret to manage,
  // and it rotates with it (tokens signed with a key derived from a previous one stay valid).
  const pageTokenKey = (hmacKey: Buffer): string => createHmac('sha256', hmacKey).update('continuation-tokens').digest('base64');
  return {
    settings,
    mongo,
    repository,
    audit,
    cipher,
    writes,
    restarts,
    pageTokens: new ContinuationTokens(pageTokenKey(settings.idempotencyHmacKey), settings.idempotencyHmacPreviousKeys.map(pageTokenKey)),
  };
}

let built: Promise<PatientAppServices> | undefined;

/**
 * The process's services, built on first use and shared afterwards. A failed build is not kept:
 * the next call tries again (the store may have been down), and the error names what is wrong.
 */
export function services(): Promise<PatientAppServices> {
  built ??= buildServices(createSecretSource(process.env)).catch((error: unknown) => {
    built = undefined;
    throw error;
  });
  return built;
}

/** Closes the MongoDB client; the next `services()` builds everything again. */
export async function closeServices(): Promise<void> {
  const current = built;
  built = undefined;
  if (current) await (await current.catch(() => undefined))?.mongo.close();
}
