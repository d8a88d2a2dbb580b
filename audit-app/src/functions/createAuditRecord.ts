import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import {
  BadRequestError,
  created,
  currentTraceCarrier,
  handle,
  ok,
  operationIdOf,
  readJsonBody,
  traceHttpRequest,
  UnprocessableEntityError,
  validOrThrow,
} from '@patient-records/platform';

import { appServices } from '../composition';
import { CreateAuditRecordDto } from '../records/model';
import type { AuditRecordStore } from '../records/store';

/** Audit records are small: ids, codes and counts. */
export const MAX_AUDIT_RECORD_BYTES = 16 * 1024;

/**
 * `POST /api/auditrecord`: `201` with the new record and its `Location`; `200` with the stored
 * record when its idempotency key was seen before with the same content (nothing is written);
 * `422` when the key was used for different content.
 */
export async function createAuditRecord(records: AuditRecordStore, request: HttpRequest): Promise<HttpResponseInit> {
  const body = await readJsonBody(request, { maxBytes: MAX_AUDIT_RECORD_BYTES });
  const input = await validOrThrow(CreateAuditRecordDto, withHeaderKey(body, request.headers.get('idempotency-key')));
  // The operation this request belongs to (the caller's, when it sent trace context).
  const telemetryOperationId = operationIdOf(currentTraceCarrier()?.traceparent);
  const result = await records.create(input, telemetryOperationId === undefined ? {} : { telemetryOperationId });
  const location = `/api/auditrecord/${result.record.id}`;
  switch (result.kind) {
    case 'created':
      return created(result.record, location);
    case 'repeated':
      return ok(result.record, { 'Content-Location': location });
    case 'conflict':
      throw new UnprocessableEntityError('This idempotency key was already used for a different audit record.', {
        code: 'idempotency_key_reused',
        details: { id: result.record.id },
      });
  }
}

/** The `Idempotency-Key` header, when sent, is the same as the body's `idempotencyKey`. */
function withHeaderKey(body: unknown, headerKey: string | null): unknown {
  if (headerKey === null || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const bodyKey = (body as { idempotencyKey?: unknown }).idempotencyKey;
  if (bodyKey !== undefined && bodyKey !== headerKey) {
    throw new BadRequestError("The Idempotency-Key header and the body's idempotencyKey differ.", { code: 'idempotency_key_mismatch' });
  }
  return { ...body, idempotencyKey: headerKey };
}

app.http('createAuditRecord', {
  route: 'auditrecord',
  methods: ['POST'],
  authLevel: 'function',
  handler: traceHttpRequest('api/auditrecord', handle(async (request) => createAuditRecord((await appServices()).records, request))),
});
