import { freePort } from '@patient-records/devhost';

import type { LoadedFunctionApp } from './support/functions';
import { invoke, loadFunctionApp } from './support/functions';

// The app is configured with a store address where nothing listens: every data operation fails
// with the driver's server selection error after its timeout (5 s), as when the store is down.
let auditApp: LoadedFunctionApp;

beforeAll(async () => {
  process.env.MONGODB_CONNECTION_STRING = `mongodb://127.0.0.1:${await freePort()}/`;
  process.env.AUDIT_DATABASE_NAME = 'audit_store_down';
  auditApp = loadFunctionApp(() => jest.requireActual('../src/index'));
  // A store that is down does not stop the app from starting.
  await auditApp.start();
});

afterAll(async () => {
  await (auditApp as LoadedFunctionApp | undefined)?.terminate();
});

describe('when the store is down', () => {
  it('answers writes and reads with 503, Retry-After and no internals, and stays healthy', async () => {
    const [write, read, health] = await Promise.all([
      invoke(auditApp.get('createAuditRecord'), {
        json: { sourceSystemName: 'patient-app', resource: { type: 'patient', id: 'p-1', operation: 'read' } },
      }),
      invoke(auditApp.get('listAuditRecords'), { query: { resourceId: 'p-1' } }),
      invoke(auditApp.get('health')),
    ]);
    for (const answer of [write, read]) {
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
      expect(answer.body).toEqual({ error: { code: 'store_unavailable', message: 'The data store is unavailable; retry later.' } });
      expect(answer.logs.join('\n')).toContain('Data store unavailable');
    }
    expect(health.status).toBe(200);
  });

  it('still validates before touching the store', async () => {
    const answer = await invoke(auditApp.get('createAuditRecord'), { json: { resource: {} } });
    expect(answer.status).toBe(400);
  });
});
