import type { SecretSource } from '@patient-records/platform';

/**
 * Every setting patient-app reads, by the names Terraform (env/) and local.settings.json use. The
 * infra cross-check compares this list with the app settings Terraform declares.
 */
export const settingNames = {
  mongoConnectionString: 'MONGODB_CONNECTION_STRING',
  databaseName: 'PATIENT_DATABASE_NAME',
  auditApiUrl: 'AUDIT_API_URL',
  auditApiKey: 'AUDIT_API_KEY',
  auditTimeoutMs: 'AUDIT_TIMEOUT_MS',
  payloadEncryptionKey: 'PAYLOAD_ENCRYPTION_KEY',
  idempotencyHmacKey: 'IDEMPOTENCY_HMAC_KEY',
  writeWaitTimeoutMs: 'WRITE_WAIT_TIMEOUT_MS',
  keyVaultUrl: 'KEY_VAULT_URL',
  applicationInsightsConnectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
} as const;

export const appSettingNames: readonly string[] = Object.values(settingNames);

export interface PatientAppSettings {
  mongoConnectionString: string;
  /** Default `patients`. */
  databaseName: string;
  /** audit-app's origin; the audit client appends `/api/auditrecord`. */
  auditApiUrl: string;
  /** Default 3000. */
  auditTimeoutMs: number;
  /** 32 bytes. */
  payloadEncryptionKey: Buffer;
  idempotencyHmacKey: Buffer;
  /** How long a write's HTTP starter waits before answering 202; default 10000. */
  writeWaitTimeoutMs: number;
  keyVaultUrl?: string;
  applicationInsightsConnectionString?: string;
}

/** A setting that is missing or malformed; the message names it (never its value). */
export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

async function required(source: SecretSource, name: string): Promise<string> {
  const value = await source.get(name);
  if (value === undefined || value.trim() === '') throw new SettingsError(`The setting ${name} is required but not set`);
  return value;
}

async function positiveInteger(source: SecretSource, name: string, fallback: number): Promise<number> {
  const value = await source.get(name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new SettingsError(`The setting ${name} must be a positive integer (milliseconds)`);
  return parsed;
}

async function base64Key(source: SecretSource, name: string, bytes: { exactly?: number; atLeast?: number }): Promise<Buffer> {
  const text = await required(source, name);
  const key = Buffer.from(text, 'base64');
  if (key.toString('base64').replace(/=+$/, '') !== text.trim().replace(/=+$/, '')) {
    throw new SettingsError(`The setting ${name} must be base64`);
  }
  if (bytes.exactly !== undefined && key.length !== bytes.exactly) {
    throw new SettingsError(`The setting ${name} must be ${bytes.exactly} bytes, base64-encoded`);
  }
  if (bytes.atLeast !== undefined && key.length < bytes.atLeast) {
    throw new SettingsError(`The setting ${name} must be at least ${bytes.atLeast} bytes, base64-encoded`);
  }
  return key;
}

/**
 * Reads and checks every setting once, at start. The audit key is not part of the result: the
 * audit client reads it through the source on use, so a rotated key is picked up (see
 * `SecretSource.refresh`); it is still checked here, so a missing key stops the app at start.
 */
export async function loadSettings(source: SecretSource): Promise<PatientAppSettings> {
  const auditApiUrl = await required(source, settingNames.auditApiUrl);
  try {
    new URL(auditApiUrl);
  } catch {
    throw new SettingsError(`The setting ${settingNames.auditApiUrl} must be an absolute URL (audit-app's origin)`);
  }
  await required(source, settingNames.auditApiKey);
  const settings: PatientAppSettings = {
    mongoConnectionString: await required(source, settingNames.mongoConnectionString),
    databaseName: (await source.get(settingNames.databaseName)) ?? 'patients',
    auditApiUrl,
    auditTimeoutMs: await positiveInteger(source, settingNames.auditTimeoutMs, 3000),
    payloadEncryptionKey: await base64Key(source, settingNames.payloadEncryptionKey, { exactly: 32 }),
    idempotencyHmacKey: await base64Key(source, settingNames.idempotencyHmacKey, { atLeast: 16 }),
    writeWaitTimeoutMs: await positiveInteger(source, settingNames.writeWaitTimeoutMs, 10_000),
  };
  const keyVaultUrl = await source.get(settingNames.keyVaultUrl);
  if (keyVaultUrl !== undefined) settings.keyVaultUrl = keyVaultUrl;
  const aiConnection = await source.get(settingNames.applicationInsightsConnectionString);
  if (aiConnection !== undefined) settings.applicationInsightsConnectionString = aiConnection;
  return settings;
}
