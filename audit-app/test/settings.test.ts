import { appSettingNames } from '../src/settings';
import type { LoadedFunctionApp } from './support/functions';
import { invoke, loadFunctionApp } from './support/functions';

describe('settings', () => {
  it('lists every app setting audit-app reads', () => {
    expect([...appSettingNames].sort()).toEqual(
      [
        'APPLICATIONINSIGHTS_CONNECTION_STRING',
        'AUDIT_DATABASE_NAME',
        'CONTINUATION_TOKEN_KEY',
        'KEY_VAULT_CACHE_SECONDS',
        'KEY_VAULT_URL',
        'MONGODB_CONNECTION_STRING',
      ].sort(),
    );
  });

  describe('when a required setting is missing', () => {
    let auditApp: LoadedFunctionApp;

    beforeAll(() => {
      delete process.env.MONGODB_CONNECTION_STRING;
      process.env.AUDIT_DATABASE_NAME = 'audit_unused';
      auditApp = loadFunctionApp(() => jest.requireActual('../src/index'));
    });

    it('stops the app at start, naming the setting', async () => {
      await expect(auditApp.start()).rejects.toThrow(/audit-app cannot start: Missing or invalid settings:\n {2}- MONGODB_CONNECTION_STRING is not set/);
    });

    it('answers requests with a generic 500 and logs the setting by name', async () => {
      const answer = await invoke(auditApp.get('listAuditRecords'));
      expect(answer.status).toBe(500);
      expect(answer.body.error.code).toBe('internal_error');
      expect(JSON.stringify(answer.body)).not.toContain('MONGODB');
      expect(answer.logs.join('\n')).toContain('MONGODB_CONNECTION_STRING is not set');
    });

    it('reads the settings again on the next request once they are fixed', async () => {
      process.env.MONGODB_CONNECTION_STRING = 'mongodb://127.0.0.1:1/';
      await expect(auditApp.start()).resolves.toBeUndefined();
      await auditApp.terminate();
    });
  });
});
