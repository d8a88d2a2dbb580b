import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { handle, NotFoundError } from '@patient-records/platform';
import * as df from 'durable-functions';

import { services } from '../composition-root';
import { answerForFollowed } from '../writes/answers';

const operationIdPattern = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|idem-[0-9a-f]{40})$/i;

/**
 * `GET /api/operations/{operationId}`: a write started earlier. Done: the answer the write would
 * have given (201/200/204/404/412/503); running: 202 with the same `Location`. A write support
 * restarted answers as its restart does (202 with the restart's `Location` while it runs), with
 * `x-restarted-as` naming it. A write whose history support purged answers from what it stored.
 * Only write orchestrations are visible here, and no Durable
 * management link is ever handed out.
 */
export async function getOperation(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { writes } = await services();
  const operationId = request.params['operationId'] ?? '';
  if (!operationIdPattern.test(operationId)) throw new NotFoundError('No write with this operation id is known.', { code: 'operation_not_found' });
  const client = df.getClient(context);
  return answerForFollowed(await writes.lookUp(client, operationId));
}

app.http('getOperation', {
  route: 'operations/{operationId}',
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: handle(getOperation),
});
