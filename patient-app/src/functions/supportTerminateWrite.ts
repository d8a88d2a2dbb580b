import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { json } from '@patient-records/platform';
import * as df from 'durable-functions';

import { actionOf, instanceIdOf, type SupportCall, supportHandler } from '../support/support-http';

/** `POST /api/support/writes/{instanceId}/terminate` `{ reason }`: stops a running write; `202`. */
export async function supportTerminateWrite(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  const instanceId = instanceIdOf(request);
  const { actor, reason } = await actionOf(request);
  return json(202, await support.terminate(client, instanceId, actor, reason));
}

app.http('supportTerminateWrite', {
  route: 'support/writes/{instanceId}/terminate',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportTerminateWrite),
});
