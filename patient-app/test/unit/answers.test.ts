import type { WriteResult } from '@patient-records/orchestrations';

import { parseIfMatch } from '../../src/http/etag';
import { answerFor, answerForFollowed, operationLocation } from '../../src/writes/answers';

const base: WriteResult = { v: 1, kind: 'updatePatient', operationId: 'op-1', patientId: 'p-1', outcome: 'updated', version: 3, lastUpdated: '2026-01-01T00:00:00.000Z', auditRecorded: ['attempted', 'succeeded'] };
const headers = (answer: ReturnType<typeof answerFor>): Record<string, string> => answer.headers as Record<string, string>;

describe('answerFor', () => {
  it('answers a create with 201, the body from the opened document, Location and ETag', () => {
    const answer = answerFor({ state: 'done', operationId: 'op-1', result: { ...base, kind: 'createPatient', outcome: 'created', version: 1 }, document: { firstName: 'A' } });
    expect(answer.status).toBe(201);
    expect(answer.jsonBody).toEqual({ id: 'p-1', firstName: 'A', lastUpdated: base.lastUpdated });
    expect(headers(answer)).toMatchObject({ Location: '/api/patient/p-1', ETag: '"1"', 'x-operation-id': 'op-1' });
  });

  it('answers a test result create with its own Location under the patient', () => {
    const answer = answerFor({ state: 'done', operationId: 'op-1', result: { ...base, kind: 'createTestResult', testId: 't-1', outcome: 'created', version: 1 }, document: {} });
    expect(answer.jsonBody).toMatchObject({ id: 't-1', patientId: 'p-1' });
    expect(headers(answer)['Location']).toBe('/api/patient/p-1/tests/t-1');
  });

  it('maps every outcome to its status', () => {
    const status = (result: Partial<WriteResult>): number | undefined => answerFor({ state: 'done', operationId: 'op-1', result: { ...base, ...result } }).status;
    expect(status({ outcome: 'updated' })).toBe(200);
    expect(status({ kind: 'deletePatient', outcome: 'deleted' })).toBe(204);
    expect(status({ outcome: 'notFound' })).toBe(404);
    expect(status({ outcome: 'conflict', currentVersion: 4 })).toBe(412);
    expect(status({ kind: 'createPatient', outcome: 'conflict' })).toBe(409);
    expect(status({ outcome: 'unavailable', failure: { step: 'persist', compensated: true } })).toBe(503);
  });

  it('gives 503 a Retry-After and the operation id, and 412 the current ETag', () => {
    const unavailable = answerFor({ state: 'done', operationId: 'op-1', result: { ...base, outcome: 'unavailable', failure: { step: 'auditAttempt', compensated: false } } });
    expect(headers(unavailable)['Retry-After']).toBeDefined();
    expect(unavailable.jsonBody).toMatchObject({ error: { code: 'dependency_unavailable', details: { operationId: 'op-1', step: 'auditAttempt', compensated: false } } });
    const conflict = answerFor({ state: 'done', operationId: 'op-1', result: { ...base, outcome: 'conflict', currentVersion: 7 } });
    expect(conflict.jsonBody).toMatchObject({ error: { code: 'precondition_failed', details: { currentETag: '"7"' } } });
  });

  it('answers a running write with 202 and the operations link only, and a failed or unknown one with 500 or 404', () => {
    const running = answerFor({ state: 'running', operationId: 'op-9' });
    expect(running.status).toBe(202);
    expect(headers(running)['Location']).toBe(operationLocation('op-9'));
    expect(JSON.stringify(running)).not.toMatch(/webhooks|code=|durabletask/i);
    expect(answerFor({ state: 'failed', operationId: 'op-9', runtimeStatus: 'Failed' }).status).toBe(500);
    expect(answerFor({ state: 'unknown', operationId: 'op-9' }).status).toBe(404);
  });

  it("answers a restarted write as its restart, naming it in x-restarted-as and x-operation-id, and only then", () => {
    const running = answerForFollowed({ status: { state: 'running', operationId: 'op-new' }, restartedAs: 'op-new' });
    expect(running.status).toBe(202);
    expect(headers(running)).toMatchObject({ Location: operationLocation('op-new'), 'x-operation-id': 'op-new', 'x-restarted-as': 'op-new' });
    const unavailable = answerForFollowed({ status: { state: 'done', operationId: 'op-new', result: { ...base, operationId: 'op-new', outcome: 'unavailable', failure: { step: 'auditAttempt', compensated: false } } }, restartedAs: 'op-new' });
    expect(unavailable.status).toBe(503);
    expect(headers(unavailable)['x-restarted-as']).toBe('op-new');
    expect(headers(answerForFollowed({ status: { state: 'running', operationId: 'op-9' } }))['x-restarted-as']).toBeUndefined();
  });
});

describe('parseIfMatch', () => {
  it('reads a strong version ETag, *, absence, and treats anything else as stale', () => {
    expect(parseIfMatch(null)).toEqual({ kind: 'none' });
    expect(parseIfMatch('  ')).toEqual({ kind: 'none' });
    expect(parseIfMatch('*')).toEqual({ kind: 'any' });
    expect(parseIfMatch('"12"')).toEqual({ kind: 'version', version: 12 });
    for (const value of ['12', 'W/"12"', '"0"', '"1", "2"', '"abc"']) expect(parseIfMatch(value)).toEqual({ kind: 'stale' });
  });
});
