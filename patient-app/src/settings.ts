import { readSettings, type SecretSource, setting, type SettingDefinition, settingNames, type SettingsOf } from '@patient-records/platform';

/** The key (or the reason it is not one) for base64 `text`, checked as `base64Key` describes. */
function decodeKey(text: string, what: string, bytes: { exactly?: number; atLeast?: number }): { ok: true; value: Buffer } | { ok: false; problem: string } {
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) {
    return { ok: false, problem: `${what} must be base64` };
  }
  if (bytes.exactly !== undefined && key.length !== bytes.exactly) return { ok: false, problem: `${what} must be ${bytes.exactly} bytes, base64-encoded` };
  if (bytes.atLeast !== undefined && key.length < bytes.atLeast) return { ok: false, problem: `${what} must be at least ${bytes.atLeast} bytes, base64-encoded` };
  return { ok: true, value: key };
}

/** A base64 key setting (always secret): `exactly` or `atLeast` bytes once decoded. */
function base64Key(name: string, bytes: { exactly?: number; atLeast?: number }): SettingDefinition<Buffer> {
  return {
    name,
    secret: true,
    read(raw) {
      if (raw === undefined) return { ok: false, problem: `${name} is not set` };
      return decodeKey(raw.trim(), name, bytes);
    },
  };
}

/**
 * The keys a rotation still accepts (always secret): comma-separated base64 keys, each checked like
 * `base64Key`; unset, empty or blank entries are none (so a script may join a list with a trailing
 * comma). A problem names the entry by position, never by value.
 */
function previousBase64Keys(name: string, bytes: { exactly?: number; atLeast?: number }): SettingDefinition<readonly Buffer[]> {
  return {
    name,
    secret: true,
    read(raw) {
      const entries = (raw ?? '')
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      const keys: Buffer[] = [];
      for (const [index, entry] of entries.entries()) {
        const key = decodeKey(entry, `${name} (key ${index + 1} of ${entries.length})`, bytes);
        if (!key.ok) return key;
        keys.push(key.value);
      }
      return { ok: true, value: keys };
    },
  };
}

/**
 * Every setting patient-app reads, by the names Terraform (env/) and local.settings.json use.
 * Read once at start through the `SecretSource`; a missing or invalid one stops the app with its name.
 */
export const settingDefinitions = {
  mongoConnectionString: setting.mongoConnectionString('MONGODB_CONNECTION_STRING'),
  databaseName: setting.string('PATIENT_DATABASE_NAME', { default: 'patients' }),
  /** audit-app's origin, e.g. `http://127.0.0.1:7072`; the audit client appends `/api/auditrecord`. */
  auditApiUrl: setting.url('AUDIT_API_URL'),
  /** Checked at start; the audit client reads it again on use, so a rotated key is picked up. */
  auditApiKey: setting.string('AUDIT_API_KEY', { secret: true }),
  auditTimeoutMs: setting.integer('AUDIT_TIMEOUT_MS', { default: 3000, min: 100, max: 60_000 }),
  /** AES-256-GCM key sealing documents into orchestration input. */
  payloadEncryptionKey: base64Key('PAYLOAD_ENCRYPTION_KEY', { exactly: 32 }),
  /**
   * Keys a rotation still opens payloads with, never seals with (docs/key-rotation.md): writes
   * sealed before the switch, their retries and their support restarts. Usually empty.
   */
  payloadEncryptionPreviousKeys: previousBase64Keys('PAYLOAD_ENCRYPTION_PREVIOUS_KEYS', { exactly: 32 }),
  /** HMAC-SHA256 key for stored idempotency keys (and, derived, paging tokens). */
  idempotencyHmacKey: base64Key('IDEMPOTENCY_HMAC_KEY', { atLeast: 16 }),
  /**
   * Keys a rotation still looks idempotency keys up with and accepts paging tokens from, never
   * hashes new keys or signs tokens with (docs/key-rotation.md). Usually empty.
   */
  idempotencyHmacPreviousKeys: previousBase64Keys('IDEMPOTENCY_HMAC_PREVIOUS_KEYS', { atLeast: 16 }),
  /** How long a write's HTTP starter waits before answering 202. */
  writeWaitTimeoutMs: setting.integer('WRITE_WAIT_TIMEOUT_MS', { default: 10_000, min: 1, max: 230_000 }),
  /**
   * The support API's own key (docs/decisions.md, "The support API's own key"): the support functions
   * refuse every other key. Read again through the secret source on a mismatch, so a rotated key is
   * picked up. Unset: the support API answers 503.
   */
  supportApiKey: setting.optionalString('SUPPORT_API_KEY', { secret: true }),
  /** Read by the secret source itself; listed here so the infra cross-check sees it. */
  keyVaultUrl: setting.optionalString('KEY_VAULT_URL'),
  /** Read by the telemetry setup; listed here so the infra cross-check sees it. */
  applicationInsightsConnectionString: setting.optionalString('APPLICATIONINSIGHTS_CONNECTION_STRING', { secret: true }),
};

export type PatientAppSettings = SettingsOf<typeof settingDefinitions>;

/** Every setting the app reads, for the infra cross-check (env/ must define each one). */
export const appSettingNames: readonly string[] = settingNames(settingDefinitions);

/** Reads and checks every setting; throws one `SettingsError` naming each missing or invalid one. */
export function loadSettings(source: SecretSource): Promise<PatientAppSettings> {
  return readSettings(source, settingDefinitions);
}
