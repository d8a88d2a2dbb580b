import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, readJsonBody, ValidationError, validOrThrow } from '@patient-records/platform';
import * as df from 'durable-functions';

import { services } from '../composition-root';
import { maxWriteBodyBytes } from '../http/inputs';
import { PatientDto, patientFields } from '../model';
import { carryOut } from '../writes/carry-out';

/** `POST /api/patient`: creates a patient through the createPatient orchestration. */
export async function createPatient(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { writes } = await services();
  const body = await readJsonBody(request, { maxBytes: maxWriteBodyBytes });
  const dto = await validOrThrow(PatientDto, body);
  const serverOwned = (['id', 'lastUpdated'] as const).filter((name) => dto[name] !== undefined);
  if (serverOwned.length > 0) {
    throw new ValidationError(serverOwned.map((field) => ({ field, messages: [`${field} is assigned by the server and must not be sent`] })));
  }
  return carryOut(writes, request, context, { kind: 'createPatient', document: { ...patientFields(dto) }, body });
}

app.http('createPatient', {
  route: 'patient',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: handle(createPatient),
});
