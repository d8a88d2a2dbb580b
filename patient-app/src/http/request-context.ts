import type { HttpRequest, InvocationContext } from '@azure/functions';
import type { Actor } from '@patient-records/orchestrations';
import { currentTraceCarrier } from '@patient-records/platform';

/**
 * Headers APIM sets on every call it forwards (see env/ APIM policies): the subscription (the
 * calling system) and, when the caller authenticated an end user, that user. patient-app is
 * reachable only from APIM's subnet in Azure, so the headers cannot be forged from outside.
 */
export const actorHeaders = {
  system: 'x-caller-system',
  user: 'x-caller-user',
} as const;

/** Used when a call arrives without the APIM header (local runs, tests without it). */
export const unknownSystem = 'unknown';

const safeActorValue = /^[\w.@:+-]{1,128}$/;

/** Who is calling: the system (APIM subscription) and, when APIM passes one, the end user. */
export function actorOf(request: HttpRequest): Actor {
  const system = request.headers.get(actorHeaders.system)?.trim();
  const user = request.headers.get(actorHeaders.user)?.trim();
  const actor: Actor = { system: system !== undefined && safeActorValue.test(system) ? system : unknownSystem };
  if (user !== undefined && safeActorValue.test(user)) actor.user = user;
  return actor;
}

/**
 * The correlation id of a request: the W3C trace id when the host has a trace context (the one
 * APIM and telemetry use), otherwise the invocation id.
 */
export function correlationIdOf(context: InvocationContext): string {
  const traceparent = context.traceContext?.traceParent;
  const traceId = traceparent?.split('-')[1];
  return traceId !== undefined && /^[0-9a-f]{32}$/.test(traceId) && !/^0+$/.test(traceId) ? traceId : context.invocationId;
}

/**
 * The trace context to carry into the orchestration, so its activities join the caller's operation:
 * the request's own span when one is active (its activities then nest under this request), else
 * the host's trace context.
 */
export function traceOf(context: InvocationContext): { traceparent: string; tracestate?: string } | undefined {
  const current = currentTraceCarrier();
  if (current) return current;
  const traceparent = context.traceContext?.traceParent;
  if (traceparent === undefined || traceparent === '') return undefined;
  const tracestate = context.traceContext?.traceState;
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
