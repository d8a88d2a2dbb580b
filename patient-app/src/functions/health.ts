import { app, type HttpResponseInit } from '@azure/functions';

/** `GET /api/health`: anonymous liveness for probes and APIM; says nothing about data or settings. */
export function health(): Promise<HttpResponseInit> {
  return Promise.resolve({ status: 200, jsonBody: { status: 'ok' }, headers: { 'Cache-Control': 'no-store' } });
}

app.http('health', {
  route: 'health',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: health,
});
