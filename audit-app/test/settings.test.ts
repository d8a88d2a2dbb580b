import type * as Composition from '../src/composition';
import { appSettingNames } from '../src/settings';
import type { RegisteredHttpFunction } from './support/functions';
import { invoke, loadFunctionApp } from './support/functions';

describe('settings', () => {
  it('lists every app setting audit-app reads', () => {
    expect([...appSettingNames].sort()).toEqual(
      ['AUDIT_DATABASE_NAME', 'CONTINUATION_TOKEN_KEY', 'KEY_VAULT_CACHE_SECONDS', 'KEY_VAULT_URL', 'MONGODB_CONNECTION_STRING'].sort(),
    );
  });

  describe('when a required setting is missing', () => {
    let functions: Map<string, RegisteredHttpFunction>;
    const startupErrors: string[] = [];

    beforeAll(async () => {
      delete process.env.MONGODB_CONNECTION_STRING;
      process.env.AUDIT_DATABASE_NAME = 'audit_unused';
      jest.spyOn(console, 'error').mockImplementation((message: unknown) => {
        startupErrors.push(String(message));
      });
      functions = loadFunctionApp(() => jest.requireActual('../src/index'));
      // The entry point reports a settings failure asynchronously; let its rejection settle.
      const { appServices } = jest.requireActual<typeof Composition>('../src/composition');
      await appServices().catch(() => undefined);
    });

    afterAll(() => jest.restoreAllMocks());

    it('says so at start, naming the setting', () => {
      expect(startupErrors.join('\n')).toContain('audit-app cannot start');
      expect(startupErrors.join('\n')).toContain('MONGODB_CONNECTION_STRING is not set');
    });

    it('answers requests with a generic 500 and logs the setting by name', async () => {
      const answer = await invoke(functions.get('listAuditRecords'));
      expect(answer.status).toBe(500);
      expect(answer.body.error.code).toBe('internal_error');
      expect(JSON.stringify(answer.body)).not.toContain('MONGODB');
      expect(answer.logs.join('\n')).toContain('MONGODB_CONNECTION_STRING is not set');
    });
  });
});
