import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, ok, readJsonBody, validOrThrow } from '@patient-records/platform';

import { services } from '../composition-root';
import { continuationHeader, isPagePosition, maxSearchBodyBytes, pageQueryOf } from '../http/inputs';
import { auditRead } from '../http/read-audit';
import { PatientSearchDto, toCriteria } from '../model';
import { canonicalJson } from '../security/idempotency';

/**
 * `POST /api/patient/search`: patients matching every given field, paged (`pageSize`,
 * `continuationToken` in the query; the next token in `x-continuation-token`). Nothing found is
 * `200 []`. The audit record holds the count, never the criteria (they are personal data).
 */
export async function searchPatients(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { repository, audit, pageTokens } = await services();
  const body = await readJsonBody(request, { maxBytes: maxSearchBodyBytes });
  const dto = await validOrThrow(PatientSearchDto, body);
  const page = await pageQueryOf(request);
  const scope = `search:${canonicalJson(body)}`;
  const after = page.continuationToken !== undefined ? pageTokens.decode(page.continuationToken, scope, isPagePosition) : undefined;
  const found = await repository.searchPatients(toCriteria(dto), { limit: page.pageSize, ...(after !== undefined ? { after } : {}) });
  await auditRead(audit, request, context, {
    operation: 'search',
    resource: { type: 'patient' },
    outcome: 'succeeded',
    resultCount: found.items.length,
  });
  const headers: Record<string, string> = found.next !== undefined ? { [continuationHeader]: pageTokens.encode(found.next, scope) } : {};
  return ok(
    found.items.map((item) => item.patient),
    headers,
  );
}

app.http('searchPatients', {
  route: 'patient/search',
  methods: ['POST'],
  authLevel: 'function',
  handler: handle(searchPatients),
});
