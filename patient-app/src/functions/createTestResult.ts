import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, readJsonBody, ValidationError, validOrThrow } from '@patient-records/platform';
import * as df from 'durable-functions';

import { services } from '../composition-root';
import { maxWriteBodyBytes, routeId } from '../http/inputs';
import { observationsOverLimit, TestResultDto, testResultFields } from '../model';
import { carryOut } from '../writes/carry-out';

/** `POST /api/patient/{patientId}/tests`: adds a test result through the createTestResult orchestration; 404 for an unknown patient. */
export async function createTestResult(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { writes } = await services();
  const patientId = routeId(request, 'patientId', 'patient');
  const body = await readJsonBody(request, { maxBytes: maxWriteBodyBytes });
  const overLimit = observationsOverLimit(body);
  if (overLimit) throw new ValidationError([overLimit]);
  const dto = await validOrThrow(TestResultDto, body);
  const problems = [];
  if (dto.id !== undefined) problems.push({ field: 'id', messages: ['id is assigned by the server and must not be sent'] });
  if (dto.lastUpdated !== undefined) problems.push({ field: 'lastUpdated', messages: ['lastUpdated is assigned by the server and must not be sent'] });
  if (dto.patientId !== undefined && dto.patientId.toLowerCase() !== patientId) {
    problems.push({ field: 'patientId', messages: ['patientId must match the patient id in the URL'] });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return carryOut(writes, request, context, { kind: 'createTestResult', patientId, document: { ...testResultFields(dto) }, body });
}

app.http('createTestResult', {
  route: 'patient/{patientId}/tests',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: handle(createTestResult),
});
