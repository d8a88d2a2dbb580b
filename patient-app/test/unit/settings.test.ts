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

  it('reads the keys a rotation still accepts, none when unset or empty', async () => {
    const settings = await loadSettings(new EnvironmentSecretSource(complete));
    expect(settings.payloadEncryptionPreviousKeys).toEqual([]);
    expect(settings.idempotencyHmacPreviousKeys).toEqual([]);
    const [p1, p2, h1] = [randomBytes(32), randomBytes(32), randomBytes(16)];
    const rotating = await loadSettings(
      new EnvironmentSecretSource({
        ...complete,
        PAYLOAD_ENCRYPTION_PREVIOUS_KEYS: ` ${p1.toString('base64')} ,${p2.toString('base64')},`,
        IDEMPOTENCY_HMAC_PREVIOUS_KEYS: h1.toString('base64'),
      }),
    );
    expect(rotating.payloadEncryptionPreviousKeys).toEqual([p1, p2]);
    expect(rotating.idempotencyHmacPreviousKeys).toEqual([h1]);
    expect((await loadSettings(new EnvironmentSecretSource({ ...complete, PAYLOAD_ENCRYPTION_PREVIOUS_KEYS: '' }))).payloadEncryptionPreviousKeys).toEqual([]);
  });

  it('refuses a malformed previous key by its setting and position, without echoing any key', async () => {
    const good = randomBytes(32).toString('base64');
    const short = randomBytes(31).toString('base64');
    const error: unknown = await loadSettings(new EnvironmentSecretSource({ ...complete, PAYLOAD_ENCRYPTION_PREVIOUS_KEYS: `${good},${short}` })).catch((e: unknown) => e);
    expect(String(error)).toContain('PAYLOAD_ENCRYPTION_PREVIOUS_KEYS (key 2 of 2) must be 32 bytes');
    expect(String(error)).not.toContain(good);
    expect(String(error)).not.toContain(short);
    const notBase64 = await loadSettings(new EnvironmentSecretSource({ ...complete, IDEMPOTENCY_HMAC_PREVIOUS_KEYS: 'not base64!' })).catch((e: unknown) => e);
    expect(String(notBase64)).toContain('IDEMPOTENCY_HMAC_PREVIOUS_KEYS (key 1 of 1) must be base64');
    expect(String(notBase64)).not.toContain('not base64!');
    const tooShort = await loadSettings(new EnvironmentSecretSource({ ...complete, IDEMPOTENCY_HMAC_PREVIOUS_KEYS: randomBytes(8).toString('base64') })).catch((e: unknown) => e);
    expect(String(tooShort)).toContain('IDEMPOTENCY_HMAC_PREVIOUS_KEYS (key 1 of 1) must be at least 16 bytes');
  });

  it('lists the settings names Terraform uses', () => {
    expect(appSettingNames).toEqual(
      expect.arrayContaining([
        'PAYLOAD_ENCRYPTION_KEY',
        'PAYLOAD_ENCRYPTION_PREVIOUS_KEYS',
        'IDEMPOTENCY_HMAC_KEY',
        'IDEMPOTENCY_HMAC_PREVIOUS_KEYS',
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
