import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle } from '@patient-records/platform';
import * as df from 'durable-functions';

import { services } from '../composition-root';
import { parseIfMatch } from '../http/etag';
import { routeId } from '../http/inputs';
import { carryOut } from '../writes/carry-out';

/** `DELETE /api/patient/{patientId}`: deletes through the deletePatient orchestration; `If-Match` optional. */
export async function deletePatient(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { writes } = await services();
  const patientId = routeId(request, 'patientId', 'patient');
  const ifMatch = parseIfMatch(request.headers.get('if-match'));
  const expectedVersion = ifMatch.kind === 'version' ? ifMatch.version : ifMatch.kind === 'stale' ? 0 : undefined;
  return carryOut(writes, request, context, {
    kind: 'deletePatient',
    patientId,
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
    body: null,
  });
}

app.http('deletePatient', {
  route: 'patient/{patientId}',
  methods: ['DELETE'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: handle(deletePatient),
});
