import { randomBytes } from 'node:crypto';

import { EnvironmentSecretSource } from '@patient-records/platform';

import { appSettingNames, loadSettings } from '../../src/settings';

const complete = {
  MONGODB_CONNECTION_STRING: 'mongodb://127.0.0.1:1',
  AUDIT_API_URL: 'http://127.0.0.1:7072',
  AUDIT_API_KEY: 'k',
  PAYLOAD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
};

describe('settings', () => {
  it('reads every setting with its default', async () => {
    const settings = await loadSettings(new EnvironmentSecretSource(complete));
    expect(settings).toMatchObject({ databaseName: 'patients', auditTimeoutMs: 3000, writeWaitTimeoutMs: 10_000 });
    expect(settings.payloadEncryptionKey).toHaveLength(32);
  });

  it.each(['MONGODB_CONNECTION_STRING', 'AUDIT_API_URL', 'AUDIT_API_KEY', 'PAYLOAD_ENCRYPTION_KEY', 'IDEMPOTENCY_HMAC_KEY'])(
    'stops with a message naming %s when it is missing',
    async (name) => {
      const env = Object.fromEntries(Object.entries(complete).filter(([key]) => key !== name));
      await expect(loadSettings(new EnvironmentSecretSource(env))).rejects.toThrow(name);
    },
  );

  it('refuses malformed values without echoing them', async () => {
    const shortKey = randomBytes(16).toString('base64');
    const error: unknown = await loadSettings(new EnvironmentSecretSource({ ...complete, PAYLOAD_ENCRYPTION_KEY: shortKey })).catch((e: unknown) => e);
    expect(String(error)).toContain('PAYLOAD_ENCRYPTION_KEY must be 32 bytes');
    expect(String(error)).not.toContain('MONGODB');
    expect(String(error)).not.toContain(shortKey);
    await expect(loadSettings(new EnvironmentSecretSource({ ...complete, WRITE_WAIT_TIMEOUT_MS: 'soon' }))).rejects.toThrow('WRITE_WAIT_TIMEOUT_MS');
    await expect(loadSettings(new EnvironmentSecretSource({ ...complete, AUDIT_API_URL: 'audit-app' }))).rejects.toThrow('AUDIT_API_URL');
  });

  it('lists the settings names Terraform uses', () => {
    expect(appSettingNames).toEqual(
      expect.arrayContaining([
        'PAYLOAD_ENCRYPTION_KEY',
        'IDEMPOTENCY_HMAC_KEY',
        'WRITE_WAIT_TIMEOUT_MS',
        'KEY_VAULT_URL',
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'MONGODB_CONNECTION_STRING',
        'PATIENT_DATABASE_NAME',
        'AUDIT_API_URL',
        'AUDIT_API_KEY',
        'AUDIT_TIMEOUT_MS',
      ]),
    );
  });
});
