import { randomUUID } from 'node:crypto';

import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';

import { storeUnavailable } from '../mongo/errors';
import { HttpError } from './errors';
import { errorBody, errorResponse, json } from './responses';

/**
 * The one edge mapping from errors to answers. Wrap every HTTP handler in it:
 *
 * - an `HttpError` becomes its status, headers and the error body;
 * - a data store connectivity failure becomes `503` with `Retry-After`;
 * - anything else is logged with a new incident id and the invocation id, and answered with a
 *   generic `500` carrying only that incident id: never a stack trace or an internal message.
 */
export function handle(
  fn: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request, context) => {
    try {
      return await fn(request, context);
    } catch (error) {
      return toErrorResponse(error, context);
    }
  };
}

/** The answer `handle()` gives for `error`; exported for code that catches on its own. */
export function toErrorResponse(error: unknown, context: InvocationContext): HttpResponseInit {
  if (error instanceof HttpError) return errorResponse(error);
  const unavailable = storeUnavailable(error);
  if (unavailable) {
    context.warn(`Data store unavailable (invocation ${context.invocationId}): ${describe(error)}`);
    return errorResponse(unavailable);
  }
  const incidentId = randomUUID();
  context.error(`Unhandled error, incident ${incidentId} (invocation ${context.invocationId}): ${describe(error, true)}`);
  return json(
    500,
    errorBody('internal_error', `An unexpected error occurred. Quote incident ${incidentId} when reporting it.`, { incidentId }),
  );
}

function describe(error: unknown, withStack = false): string {
  if (!(error instanceof Error)) return `non-error thrown: ${typeof error}`;
  const code = (error as { code?: unknown }).code;
  const head = `${error.name}${typeof code === 'number' || typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
  return withStack && error.stack ? `${head}\n${error.stack.split('\n').slice(1).join('\n')}` : head;
}
