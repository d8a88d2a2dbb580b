import { readSettings, SECRET_SETTINGS, type SecretSource, setting, settingNames, type SettingsOf, TELEMETRY_SETTINGS } from '@patient-records/platform';

/** Every setting audit-app reads itself, with its default; see docs/audit.md. */
export const settingDefinitions = {
  /** The audit register's MongoDB (Cosmos DB for MongoDB in Azure); a secret. */
  mongoConnectionString: setting.mongoConnectionString('MONGODB_CONNECTION_STRING'),
  /** The database of its own that audit-app keeps records in. */
  databaseName: setting.string('AUDIT_DATABASE_NAME', { default: 'audit' }),
  /** Signs continuation tokens (any long random string); a secret. Unset: a key derived from the connection string. */
  continuationTokenKey: setting.optionalString('CONTINUATION_TOKEN_KEY', { secret: true }),
};

export type AuditAppSettings = SettingsOf<typeof settingDefinitions>;

/**
 * Every app setting audit-app reads: its own, those the settings source reads (Key Vault) and the
 * Application Insights connection string. The infra cross-check compares this list with the app
 * settings Terraform declares. (`TELEMETRY_OFFLINE_STORAGE_DIRECTORY` is left out: a local test
 * knob, never set in Azure.)
 */
export const appSettingNames: readonly string[] = [
  ...settingNames(settingDefinitions),
  ...Object.values(SECRET_SETTINGS),
  TELEMETRY_SETTINGS.connectionString,
];

/** Reads and checks every setting once; throws a `SettingsError` naming each one missing or invalid. */
export function loadSettings(source: SecretSource): Promise<AuditAppSettings> {
  return readSettings(source, settingDefinitions);
}
