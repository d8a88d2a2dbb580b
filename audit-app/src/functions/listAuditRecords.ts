import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { handle, ok, queryOf, queryToObject, traceHttpRequest, ValidationError, validOrThrow } from '@patient-records/platform';

import { appServices } from '../composition';
import { AuditRecordQueryDto, DEFAULT_PAGE_SIZE } from '../records/query';
import type { AuditRecordStore } from '../records/store';

/**
 * `GET /api/auditrecord?resourceId=&correlationId=&instanceId=&from=&to=&limit=&continuationToken=`:
 * `200` with `{ items, continuationToken }`, newest first; `continuationToken` is `null` on the last page.
 */
export async function listAuditRecords(records: AuditRecordStore, request: HttpRequest): Promise<HttpResponseInit> {
  const query = await validOrThrow(AuditRecordQueryDto, queryToObject(queryOf(request)));
  const from = query.from === undefined ? undefined : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  if (from !== undefined && to !== undefined && from >= to) {
    throw new ValidationError([{ field: 'to', messages: ['to must be later than from'] }]);
  }
  const filter = {
    ...(query.resourceId === undefined ? {} : { resourceId: query.resourceId }),
    ...(query.correlationId === undefined ? {} : { correlationId: query.correlationId }),
    ...(query.instanceId === undefined ? {} : { instanceId: query.instanceId }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
  const page = await records.query(filter, query.limit ?? DEFAULT_PAGE_SIZE, query.continuationToken);
  return ok(page);
}

app.http('listAuditRecords', {
  route: 'auditrecord',
  methods: ['GET'],
  authLevel: 'function',
  handler: traceHttpRequest('api/auditrecord', handle(async (request) => listAuditRecords((await appServices()).records, request))),
});
