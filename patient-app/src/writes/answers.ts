import type { HttpResponseInit } from '@azure/functions';
import type { WriteDocument, WriteResult } from '@patient-records/orchestrations';
import { errorBody, json } from '@patient-records/platform';

import { etagOf } from '../http/etag';
import type { FollowedStatus, WriteStatus } from './write-service';

/** Where callers look up a write that has not finished: never a Durable management URL or key. */
export function operationLocation(operationId: string): string {
  return `/api/operations/${encodeURIComponent(operationId)}`;
}

/** Seconds a caller should wait before asking again about a running write or a dependency outage. */
export const retryAfterSeconds = 2;

function resourceBody(result: WriteResult, document: WriteDocument | undefined): Record<string, unknown> {
  const lastUpdated = result.lastUpdated;
  if (result.kind === 'createTestResult') {
    return { id: result.testId, patientId: result.patientId, ...document, lastUpdated };
  }
  return { id: result.patientId, ...document, lastUpdated };
}

function locationOf(result: WriteResult): string {
  return result.kind === 'createTestResult'
    ? `/api/patient/${result.patientId}/tests/${result.testId ?? ''}`
    : `/api/patient/${result.patientId}`;
}

/**
 * The HTTP answer for a write's status: `201`/`200`/`204` with the resource, `ETag` and `Location`;
 * `404`; `412` (stale `If-Match`, with the current version); `503` with the operation id and
 * `Retry-After` when a dependency stayed down (the write was compensated); `202` with
 * `Location: /api/operations/{id}` while it runs; `500` when the orchestration itself failed.
 * Every answer carries `x-operation-id` and the `headers` given.
 */
export function answerFor(status: WriteStatus, headers: Record<string, string> = {}): HttpResponseInit {
  const operationId = status.operationId;
  const opHeader = { 'x-operation-id': operationId, ...headers };
  switch (status.state) {
    case 'running':
      return json(
        202,
        { operationId, status: 'running', location: operationLocation(operationId) },
        { ...opHeader, Location: operationLocation(operationId), 'Retry-After': String(retryAfterSeconds) },
      );
    case 'unknown':
      return json(404, errorBody('operation_not_found', 'No write with this operation id is known.'), opHeader);
    case 'failed':
      return json(
        500,
        errorBody('write_failed', `The write did not complete (${status.runtimeStatus.toLowerCase()}). Quote operation ${operationId} when reporting it.`, {
          operationId,
        }),
        opHeader,
      );
    case 'done':
      return answerForResult(status.result, status.document, opHeader);
  }
}

/** The answer for a write's status or, once support restarted it, its restart's, with `x-restarted-as` naming the restart. */
export function answerForFollowed({ status, restartedAs }: FollowedStatus): HttpResponseInit {
  return answerFor(status, restartedAs === undefined ? {} : { 'x-restarted-as': restartedAs });
}

function answerForResult(result: WriteResult, document: WriteDocument | undefined, opHeader: Record<string, string>): HttpResponseInit {
  const operationId = result.operationId;
  switch (result.outcome) {
    case 'created':
      return json(201, resourceBody(result, document), {
        ...opHeader,
        Location: locationOf(result),
        ...(result.version !== undefined ? { ETag: etagOf(result.version) } : {}),
      });
    case 'updated':
      return json(200, resourceBody(result, document), { ...opHeader, ...(result.version !== undefined ? { ETag: etagOf(result.version) } : {}) });
    case 'deleted':
      return { status: 204, headers: opHeader };
    case 'notFound':
      return json(
        404,
        errorBody('not_found', 'The patient was not found.'),
        opHeader,
      );
    case 'conflict':
      if (result.kind === 'createPatient' || result.kind === 'createTestResult') {
        return json(409, errorBody('conflict', 'A resource with this id exists already.', { operationId }), opHeader);
      }
      return json(
        412,
        errorBody('precondition_failed', 'The patient has changed since it was read (If-Match is stale).', {
          operationId,
          ...(result.currentVersion !== undefined ? { currentETag: etagOf(result.currentVersion) } : {}),
        }),
        opHeader,
      );
    case 'unavailable':
      return json(
        503,
        errorBody('dependency_unavailable', 'A service this write needs stayed unavailable; nothing was changed. Retry later.', {
          operationId,
          step: result.failure?.step,
          compensated: result.failure?.compensated ?? false,
        }),
        { ...opHeader, 'Retry-After': String(retryAfterSeconds) },
      );
  }
}
