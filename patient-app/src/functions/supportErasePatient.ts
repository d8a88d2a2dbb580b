import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { ok } from '@patient-records/platform';
import * as df from 'durable-functions';

import { actionOf, patientIdOf, type SupportCall, supportHandler } from '../support/support-http';

/**
 * `POST /api/support/patients/{patientId}/erase` `{ reason }`: erases a deleted patient's personal
 * data (version contents, test results, write instances); `200` with what it removed, again `200`
 * when run again. docs/support-runbook.md says when.
 */
export async function supportErasePatient(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  const patientId = patientIdOf(request);
  const { actor, reason } = await actionOf(request);
  return ok(await support.erase(client, patientId, actor, reason));
}

app.http('supportErasePatient', {
  route: 'support/patients/{patientId}/erase',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportErasePatient),
});
