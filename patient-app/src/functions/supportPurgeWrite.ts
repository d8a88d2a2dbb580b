import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { ok } from '@patient-records/platform';
import * as df from 'durable-functions';

import { actionOf, instanceIdOf, type SupportCall, supportHandler } from '../support/support-http';

/** `POST /api/support/writes/{instanceId}/purge` `{ reason }`: deletes an ended write's history. */
export async function supportPurgeWrite(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  const instanceId = instanceIdOf(request);
  const { actor, reason } = await actionOf(request);
  return ok(await support.purge(client, instanceId, actor, reason));
}

app.http('supportPurgeWrite', {
  route: 'support/writes/{instanceId}/purge',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportPurgeWrite),
});
