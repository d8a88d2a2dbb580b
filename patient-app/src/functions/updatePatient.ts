import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, readJsonBody, ValidationError, validOrThrow } from '@patient-records/platform';
import * as df from 'durable-functions';

import { services } from '../composition-root';
import { parseIfMatch } from '../http/etag';
import { maxWriteBodyBytes, routeId } from '../http/inputs';
import { PatientDto, patientFields } from '../model';
import { carryOut } from '../writes/carry-out';

/**
 * `PUT /api/patient/{patientId}`: full replacement through the updatePatient orchestration.
 * `If-Match: "<version>"` makes it conditional (412 when stale); a body `id` must match the route.
 */
export async function updatePatient(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { writes } = await services();
  const patientId = routeId(request, 'patientId', 'patient');
  const body = await readJsonBody(request, { maxBytes: maxWriteBodyBytes });
  const dto = await validOrThrow(PatientDto, body);
  if (dto.id !== undefined && dto.id.toLowerCase() !== patientId) {
    throw new ValidationError([{ field: 'id', messages: ['id must match the patient id in the URL'] }]);
  }
  const ifMatch = parseIfMatch(request.headers.get('if-match'));
  // A stale or unparsable If-Match can match no version: version 0 never exists, so the store says 412 (or 404).
  const expectedVersion = ifMatch.kind === 'version' ? ifMatch.version : ifMatch.kind === 'stale' ? 0 : undefined;
  return carryOut(writes, request, context, {
    kind: 'updatePatient',
    patientId,
    document: { ...patientFields(dto) },
    ...(expectedVersion !== undefined ? { expectedVersion } : {}),
    body,
  });
}

app.http('updatePatient', {
  route: 'patient/{patientId}',
  methods: ['PUT'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: handle(updatePatient),
});
