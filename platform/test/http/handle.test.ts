import { HttpRequest, type HttpResponseInit, InvocationContext } from '@azure/functions';
import { MongoNetworkError, MongoServerError } from 'mongodb';

import type { HttpError} from '../../src/http';
import { ConflictError, handle, NotFoundError, ServiceUnavailableError, ValidationError } from '../../src/http';

function capture(): { context: InvocationContext; logs: string[] } {
  const logs: string[] = [];
  const context = new InvocationContext({
    invocationId: 'inv-1',
    functionName: 'test',
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
  });
  return { context, logs };
}

const request = new HttpRequest({ method: 'GET', url: 'http://localhost/api/thing' });

async function answer(error: unknown): Promise<{ response: HttpResponseInit; logs: string[] }> {
  const { context, logs } = capture();
  const response = await handle(() => {
    throw error;
  })(request, context);
  return { response, logs };
}

describe('handle', () => {
  it('passes a successful answer through', async () => {
    const { context } = capture();
    const response = await handle(() => Promise.resolve({ status: 204 }))(request, context);
    expect(response).toEqual({ status: 204 });
  });

  it.each<[HttpError, number, string]>([
    [new NotFoundError('No such thing.'), 404, 'not_found'],
    [new ConflictError('Taken.'), 409, 'conflict'],
    [new ValidationError([{ field: 'a', messages: ['a must be a string'] }]), 400, 'validation_failed'],
  ])('maps %p to its status and the error body', async (error, status, code) => {
    const { response } = await answer(error);
    expect(response.status).toBe(status);
    expect(response.jsonBody).toEqual({ error: expect.objectContaining({ code, message: error.message }) });
    expect(response.headers).toMatchObject({ 'Content-Type': 'application/json; charset=utf-8' });
  });

  it('includes details only when there are some', async () => {
    const { response } = await answer(new ValidationError([{ field: 'a', messages: ['bad'] }]));
    expect(response.jsonBody).toEqual({ error: { code: 'validation_failed', message: 'The request has invalid fields.', details: [{ field: 'a', messages: ['bad'] }] } });
    const plain = await answer(new NotFoundError());
    expect(Object.keys((plain.response.jsonBody as { error: object }).error)).toEqual(['code', 'message']);
  });

  it('answers 503 with Retry-After for a ServiceUnavailableError', async () => {
    const { response } = await answer(new ServiceUnavailableError('Audit is down.', 7));
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '7' });
  });

  it('answers 503 store_unavailable for a driver connectivity error', async () => {
    const { response, logs } = await answer(new MongoNetworkError('connection refused'));
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '5' });
    expect(response.jsonBody).toMatchObject({ error: { code: 'store_unavailable' } });
    expect(logs.join('\n')).toContain('inv-1');
  });

  it('takes Retry-After from a Cosmos DB throttling hint', async () => {
    const throttled = new MongoServerError({ message: 'Request rate is large. RetryAfterMs=2300, Details=...', code: 16500 });
    const { response } = await answer(throttled);
    expect(response.status).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '3' });
  });

  it('answers an unexpected error with a generic 500 and an incident id, logging the details', async () => {
    const { response, logs } = await answer(new TypeError('Cannot read properties of undefined (reading secretThing)'));
    expect(response.status).toBe(500);
    const body = response.jsonBody as { error: { code: string; message: string; details: { incidentId: string } } };
    expect(body.error.code).toBe('internal_error');
    const incidentId = body.error.details.incidentId;
    expect(incidentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.error.message).toContain(incidentId);
    const serialised = JSON.stringify(response);
    expect(serialised).not.toContain('secretThing');
    expect(serialised).not.toContain('at ');
    expect(serialised).not.toContain('TypeError');
    const logged = logs.join('\n');
    expect(logged).toContain(incidentId);
    expect(logged).toContain('inv-1');
    expect(logged).toContain('secretThing');
    expect(logged).toMatch(/^error: /);
  });

  it('answers a thrown non-error with a generic 500', async () => {
    const { response } = await answer('a string');
    expect(response.status).toBe(500);
  });
});
