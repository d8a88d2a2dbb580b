import { app, type HttpResponseInit } from '@azure/functions';

import { SUPPORT_PAGE_CSP, SUPPORT_PAGE_HTML } from '../support/page/page';

/**
 * `GET /api/support/ui`: the support page. Anonymous, like `/api/health`: it holds no data, and
 * every call it makes goes to the support API with the key the user enters. Deep links:
 * `/api/support/ui#write=<instanceId>`.
 */
export function supportPage(): Promise<HttpResponseInit> {
  return Promise.resolve({
    status: 200,
    body: SUPPORT_PAGE_HTML,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': SUPPORT_PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
    },
  });
}

app.http('supportPage', {
  route: 'support/ui',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: supportPage,
});
