import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, NotFoundError, ok } from '@patient-records/platform';

import { services } from '../composition-root';
import { etagOf } from '../http/etag';
import { routeId } from '../http/inputs';
import { auditRead } from '../http/read-audit';

/** `GET /api/patient/{patientId}`: the patient with its `ETag`; audited (fail closed). */
export async function getPatient(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { repository, audit } = await services();
  const patientId = routeId(request, 'patientId', 'patient');
  const found = await repository.getPatient(patientId);
  await auditRead(audit, request, context, {
    operation: 'read',
    resource: { type: 'patient', id: patientId, patientId },
    outcome: found ? 'succeeded' : 'notFound',
  });
  if (!found) throw new NotFoundError('The patient was not found.');
  return ok(found.patient, { ETag: etagOf(found.version) });
}

app.http('getPatient', {
  route: 'patient/{patientId}',
  methods: ['GET'],
  authLevel: 'function',
  handler: handle(getPatient),
});
