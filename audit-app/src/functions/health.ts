import { app, type HttpResponseInit } from '@azure/functions';
import { handle, ok, traceHttpRequest } from '@patient-records/platform';

/**
 * `GET /api/health`: `200`, anonymous, no data. A liveness check only: it does not touch the store,
 * so a store outage shows as `503` on the API rather than as instances being recycled.
 */
export function health(): Promise<HttpResponseInit> {
  return Promise.resolve(ok({ status: 'ok' }));
}

app.http('health', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: traceHttpRequest('api/health', handle(health)),
});
