import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { ok } from '@patient-records/platform';
import * as df from 'durable-functions';

import { instanceIdOf, type SupportCall, supportHandler } from '../support/support-http';

/** `GET /api/support/writes/{instanceId}`: one write with its timeline, audit trail and telemetry query. */
export async function supportGetWrite(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  return ok(await support.show(client, instanceIdOf(request)));
}

app.http('supportGetWrite', {
  route: 'support/writes/{instanceId}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportGetWrite),
});
