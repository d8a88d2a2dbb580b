import { type Context, context as contextApi, createTraceState, ROOT_CONTEXT, type SpanContext, trace, TraceFlags } from '@opentelemetry/api';

/**
 * W3C trace context in a form that survives JSON: what patient-app puts into an orchestration's
 * input and each activity's input, so that activities run long after the HTTP request (and after
 * any number of replays) still join the request's operation. It is data, not ambient state: the
 * orchestrator passes it on unchanged, which keeps replay deterministic.
 */
export interface TraceCarrier {
  /** `00-<32 hex trace id>-<16 hex parent span id>-<2 hex flags>` */
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a `traceparent` header value; `undefined` for anything invalid (all-zero ids, version ff). */
export function parseTraceparent(value: string | null | undefined): SpanContext | undefined {
  const match = TRACEPARENT.exec((value ?? '').trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff' || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED, isRemote: true };
}

export function formatTraceparent(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-0${(spanContext.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
}

/** The operation id (W3C trace id) of a `traceparent`, which is what Application Insights shows as `operation_Id`. */
export function operationIdOf(traceparent: string | null | undefined): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}

/** A context whose parent is the carrier's span, for starting spans under it. */
export function contextFromCarrier(carrier: TraceCarrier | null | undefined, base: Context = ROOT_CONTEXT): Context {
  const parent = parseTraceparent(carrier?.traceparent);
  if (!parent) return base;
  return trace.setSpanContext(base, carrier?.tracestate ? { ...parent, traceState: createTraceState(carrier.tracestate) } : parent);
}

/** The carrier for the span active now (inside a request or activity), or `undefined` outside any. */
export function currentTraceCarrier(active: Context = contextApi.active()): TraceCarrier | undefined {
  const spanContext = trace.getSpanContext(active);
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return undefined;
  const tracestate = spanContext.traceState?.serialize();
  return { traceparent: formatTraceparent(spanContext), ...(tracestate ? { tracestate } : {}) };
}

/** Whether a value read back from an orchestration input is a usable carrier. */
export function isTraceCarrier(value: unknown): value is TraceCarrier {
  return typeof value === 'object' && value !== null && parseTraceparent((value as { traceparent?: unknown }).traceparent as string) !== undefined;
}
