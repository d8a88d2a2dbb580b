import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { ok, queryOf } from '@patient-records/platform';
import * as df from 'durable-functions';

import { type SupportCall, supportHandler } from '../support/support-http';
import { readListQuery } from '../support/support-query';

/**
 * `GET /api/support/writes?status=&outcome=&kind=&from=&to=&operationId=&patientId=&pageSize=&continuationToken=`:
 * writes newest first, with counts per status and outcome for the range (default: the last 24 hours).
 */
export async function supportListWrites(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  return ok(await support.list(client, readListQuery(queryOf(request), new Date())));
}

app.http('supportListWrites', {
  route: 'support/writes',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportListWrites),
});
