import { EnvironmentSecretSource, readSettings, setting, settingNames, SettingsError } from '../../src';

const definitions = {
  connectionString: setting.mongoConnectionString('MONGODB_CONNECTION_STRING'),
  databaseName: setting.string('DATABASE_NAME', { default: 'audit' }),
  pageSize: setting.integer('PAGE_SIZE', { default: 50, min: 1, max: 100 }),
  verbose: setting.boolean('VERBOSE', { default: false }),
  signingKey: setting.optionalString('SIGNING_KEY', { secret: true }),
  auditUrl: setting.url('AUDIT_URL', { default: 'http://127.0.0.1:7072/api/auditrecord' }),
};

const read = (env: Record<string, string>): ReturnType<typeof readSettings<typeof definitions>> =>
  readSettings(new EnvironmentSecretSource(env), definitions);

describe('readSettings', () => {
  it('reads typed values and applies defaults', async () => {
    const settings = await read({ MONGODB_CONNECTION_STRING: 'mongodb://127.0.0.1:1/', PAGE_SIZE: '20', VERBOSE: 'true' });
    expect(settings).toEqual({
      connectionString: 'mongodb://127.0.0.1:1/',
      databaseName: 'audit',
      pageSize: 20,
      verbose: true,
      signingKey: undefined,
      auditUrl: new URL('http://127.0.0.1:7072/api/auditrecord'),
    });
  });

  it('treats an empty value as unset', async () => {
    const settings = await read({ MONGODB_CONNECTION_STRING: 'mongodb://h/', DATABASE_NAME: '' });
    expect(settings.databaseName).toBe('audit');
  });

  it('names every missing or invalid setting in one error', async () => {
    const error = await read({ PAGE_SIZE: '500', VERBOSE: 'maybe', AUDIT_URL: 'ftp://x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SettingsError);
    const problems = (error as SettingsError).problems;
    expect(problems).toEqual([
      'MONGODB_CONNECTION_STRING is not set',
      'PAGE_SIZE must be an integer from 1 to 100, got "500"',
      'VERBOSE must be true or false, got "maybe"',
      'AUDIT_URL must be a URL with scheme http: or https:',
    ]);
    expect((error as Error).message).toContain('MONGODB_CONNECTION_STRING is not set');
  });

  it('never echoes a secret value', async () => {
    const error = await read({ MONGODB_CONNECTION_STRING: 'postgres://user:hunter2@db' }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('MONGODB_CONNECTION_STRING');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('reports a source that fails to read', async () => {
    const failing = { get: () => Promise.reject(new Error('vault unreachable')), refresh: () => Promise.resolve(undefined) };
    const error = await readSettings(failing, { a: setting.string('A') }).catch((e: unknown) => e);
    expect((error as SettingsError).problems).toEqual(['A could not be read: vault unreachable']);
  });

  it('lists setting names', () => {
    expect(settingNames(definitions)).toEqual(['MONGODB_CONNECTION_STRING', 'DATABASE_NAME', 'PAGE_SIZE', 'VERBOSE', 'SIGNING_KEY', 'AUDIT_URL']);
  });
});
