import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, NotFoundError, ok } from '@patient-records/platform';

import { services } from '../composition-root';
import { continuationHeader, isPagePosition, pageQueryOf, routeId } from '../http/inputs';
import { auditRead } from '../http/read-audit';

/** `GET /api/patient/{patientId}/tests`: always an array (paged); 404 when the patient does not exist. */
export async function listTestResults(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { repository, audit, pageTokens } = await services();
  const patientId = routeId(request, 'patientId', 'patient');
  const page = await pageQueryOf(request);
  const scope = `tests:${patientId}`;
  const after = page.continuationToken !== undefined ? pageTokens.decode(page.continuationToken, scope, isPagePosition) : undefined;
  const found = await repository.listTestResults(patientId, { limit: page.pageSize, ...(after !== undefined ? { after } : {}) });
  await auditRead(audit, request, context, {
    operation: 'list',
    resource: { type: 'test', patientId },
    outcome: found ? 'succeeded' : 'notFound',
    resultCount: found?.items.length ?? 0,
  });
  if (!found) throw new NotFoundError('The patient was not found.');
  const headers: Record<string, string> = found.next !== undefined ? { [continuationHeader]: pageTokens.encode(found.next, scope) } : {};
  return ok(found.items, headers);
}

app.http('listTestResults', {
  route: 'patient/{patientId}/tests',
  methods: ['GET'],
  authLevel: 'function',
  handler: handle(listTestResults),
});
