import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { handle, NotFoundError, ok, traceHttpRequest } from '@patient-records/platform';

import { appServices } from '../composition';
import type { AuditRecordStore } from '../records/store';

/** `GET /api/auditrecord/{id}`: `200` with the record, `404` when there is none. */
export async function getAuditRecord(records: AuditRecordStore, request: HttpRequest): Promise<HttpResponseInit> {
  const record = await records.get(request.params.id ?? '');
  if (record === undefined) throw new NotFoundError('No audit record has this id.');
  return ok(record);
}

app.http('getAuditRecord', {
  route: 'auditrecord/{id:guid}',
  methods: ['GET'],
  authLevel: 'function',
  handler: traceHttpRequest('api/auditrecord/{id}', handle(async (request) => getAuditRecord((await appServices()).records, request))),
});
