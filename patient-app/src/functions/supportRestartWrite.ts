import { randomUUID } from 'node:crypto';

import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { json } from '@patient-records/platform';
import * as df from 'durable-functions';

import { actionOf, instanceIdOf, type SupportCall, supportHandler } from '../support/support-http';

/**
 * `POST /api/support/writes/{instanceId}/restart` `{ reason }`: starts a failed or compensated write
 * again as a new instance (same input, new operation id), linked to the old one; `202` with its id.
 */
export async function supportRestartWrite(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  const instanceId = instanceIdOf(request);
  const { actor, reason } = await actionOf(request);
  const result = await support.restart(client, instanceId, actor, reason, randomUUID());
  return json(202, result, { Location: `/api/support/writes/${result.newInstanceId ?? ''}` });
}

app.http('supportRestartWrite', {
  route: 'support/writes/{instanceId}/restart',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportRestartWrite),
});
