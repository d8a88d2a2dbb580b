import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { ok, queryOf } from '@patient-records/platform';
import * as df from 'durable-functions';

import { actionOf, type SupportCall, supportHandler } from '../support/support-http';
import { readListQuery } from '../support/support-query';

/**
 * `POST /api/support/writes/purge?status=&outcome=&kind=&from=&to=…` `{ reason }`: purges every
 * ended write the filter selects (at most 100 per call; `remaining` says how many are left). Each
 * purge is recorded in the audit register.
 */
export async function supportPurgeWrites(
  request: HttpRequest,
  { support, client }: SupportCall,
): Promise<HttpResponseInit> {
  const query = readListQuery(queryOf(request), new Date());
  const { actor, reason } = await actionOf(request);
  const { purged, remaining } = await support.purgeMany(client, query, actor, reason);
  return ok({ purged: purged.length, instanceIds: purged.map((item) => item.instanceId), remaining });
}

app.http('supportPurgeWrites', {
  route: 'support/writes/purge',
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: supportHandler(supportPurgeWrites),
});
