import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { ok } from '@patient-records/platform';
import * as df from 'durable-functions';

import { actionOf, instanceIdOf, type SupportCall, supportHandler } from '../support/support-http';

/**
 * `POST /api/support/writes/{instanceId}/export` `{ reason }`: the instance and its full history in
 * the format `npm run replay` reads. Audited: it takes the write's record out of the system.
 */
export async function supportExportWrite(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  const instanceId = instanceIdOf(request);
  const { actor, reason } = await actionOf(request);
  return ok(await support.export(client, instanceId, actor, reason, new URL(request.url).origin));
}

app.http('supportExportWrite', {
  route: 'support/writes/{instanceId}/export',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportExportWrite),
});
