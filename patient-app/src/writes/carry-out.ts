import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { UnprocessableEntityError } from '@patient-records/platform';
import * as df from 'durable-functions';

import { idempotencyKeyOf } from '../http/inputs';
import { actorOf, traceOf } from '../http/request-context';
import { answerForFollowed } from './answers';
import type { WriteRequest, WriteService } from './write-service';

/**
 * Starts a validated write as its orchestration, waits for it (up to WRITE_WAIT_TIMEOUT_MS) and
 * answers from its result. A repeated `Idempotency-Key` with the same request answers from the
 * first write (or, once support restarted it, from the restart, as its operations link does; or,
 * once support purged its history, from what it stored); with another request it is `422`.
 */
export async function carryOut(
  writes: WriteService,
  request: HttpRequest,
  context: InvocationContext,
  write: Omit<WriteRequest, 'actor' | 'trace' | 'idempotency'> & { body: unknown },
): Promise<HttpResponseInit> {
  const client = df.getClient(context);
  const key = idempotencyKeyOf(request);
  const { body, ...rest } = write;
  const writeRequest: WriteRequest = { ...rest, actor: actorOf(request) };
  const trace = traceOf(context);
  if (trace) writeRequest.trace = trace;
  if (key !== undefined) writeRequest.idempotency = { key, method: request.method, route: new URL(request.url).pathname, body };
  const started = await writes.start(client, writeRequest);
  if (started.kind === 'idempotencyMismatch') {
    throw new UnprocessableEntityError('This Idempotency-Key was used for a different request.', { code: 'idempotency_key_reused' });
  }
  if (started.kind === 'purged') {
    // A support restart of it wins, as for its operations link; else it answers from what it stored.
    const followed = await writes.followRestarts(client, { state: 'unknown', operationId: started.operationId });
    return answerForFollowed(followed.restartedAs !== undefined ? followed : { status: started.status });
  }
  // The write's outcome event comes from its orchestration's last step, however long it takes.
  const status = await writes.wait(client, started.operationId);
  return answerForFollowed(started.kind === 'repeat' ? await writes.followRestarts(client, status) : { status });
}
