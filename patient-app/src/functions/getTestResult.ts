import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, NotFoundError, ok } from '@patient-records/platform';

import { services } from '../composition-root';
import { routeId } from '../http/inputs';
import { auditRead } from '../http/read-audit';

/** `GET /api/patient/{patientId}/tests/{testId}`: one test result; 404 when it or the patient does not exist. */
export async function getTestResult(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { repository, audit } = await services();
  const patientId = routeId(request, 'patientId', 'patient');
  const testId = routeId(request, 'testId', 'test result');
  const found = await repository.getTestResult(patientId, testId);
  await auditRead(audit, request, context, {
    operation: 'read',
    resource: { type: 'test', id: testId, patientId },
    outcome: found ? 'succeeded' : 'notFound',
  });
  if (!found) throw new NotFoundError('The test result was not found.');
  return ok(found);
}

app.http('getTestResult', {
  route: 'patient/{patientId}/tests/{testId}',
  methods: ['GET'],
  authLevel: 'function',
  handler: handle(getTestResult),
});
