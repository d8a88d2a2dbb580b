import { type Attributes, context as contextApi, metrics, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';

import { redactUrl } from './redaction';
import { telemetryState } from './state';
import { contextFromCarrier, currentTraceCarrier, parseTraceparent, type TraceCarrier } from './trace-context';

const INSTRUMENTATION = '@patient-records/platform';
const tracer = () => trace.getTracer(INSTRUMENTATION);

/** The parts of `@azure/functions`' `HttpRequest` the request span reads. */
export interface TracedHttpRequest {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
}

/** The parts of `InvocationContext` the spans read. */
export interface TracedInvocation {
  invocationId: string;
  functionName?: string;
  traceContext?: { traceParent?: string | null; traceState?: string | null };
}

/**
 * Wraps an HTTP-triggered handler so that each invocation is one request in Application Insights
 * (`requests` in KQL), named `METHOD /api/<route>`, parented on the caller's trace context: the
 * Functions host's `traceContext` when it has one (in Azure it continues the `traceparent` APIM
 * sent), else the request's own `traceparent` header. Everything the handler does — starting an
 * orchestration, calling MongoDB, reading `currentTraceCarrier()` — happens inside this span.
 * The URL is recorded without its query string (function keys travel as `?code=`).
 */
export function traceHttpRequest<Request extends TracedHttpRequest, Invocation extends TracedInvocation, Response extends { status?: number }>(
  route: string,
  handler: (request: Request, invocation: Invocation) => Promise<Response>,
): (request: Request, invocation: Invocation) => Promise<Response> {
  return async (request, invocation) => {
    const fromHost = invocation.traceContext?.traceParent;
    const carrier: TraceCarrier | undefined = parseTraceparent(fromHost)
      ? { traceparent: fromHost as string, ...(invocation.traceContext?.traceState ? { tracestate: invocation.traceContext.traceState } : {}) }
      : headerCarrier(request);
    const method = request.method.toUpperCase();
    const path = `/${route.replace(/^\/+/, '')}`;
    const attributes: Attributes = {
      'http.request.method': method,
      'http.route': path,
      'url.full': redactUrl(request.url),
      'faas.trigger': 'http',
      'faas.invocation_id': invocation.invocationId,
      ...(invocation.functionName ? { 'faas.name': invocation.functionName } : {}),
    };
    return tracer().startActiveSpan(`${method} ${path}`, { kind: SpanKind.SERVER, attributes }, contextFromCarrier(carrier), async (span) => {
      try {
        const response = await handler(request, invocation);
        const status = response.status ?? 200;
        span.setAttribute('http.response.status_code', status);
        span.setStatus({ code: status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.OK });
        return response;
      } catch (error) {
        recordFailure(span, error);
        span.setAttribute('http.response.status_code', 500);
        throw error;
      } finally {
        span.end();
      }
    });
  };
}

function headerCarrier(request: TracedHttpRequest): TraceCarrier | undefined {
  const traceparent = request.headers.get('traceparent');
  if (!parseTraceparent(traceparent)) return undefined;
  const tracestate = request.headers.get('tracestate');
  return { traceparent: traceparent as string, ...(tracestate ? { tracestate } : {}) };
}

export interface ActivitySpanOptions {
  /** The activity function's name. */
  name: string;
  /** The orchestration instance id. */
  instanceId: string;
  /** The trace context the orchestration input carried, from the request that started it. */
  trace?: TraceCarrier | null;
  /** Anything else worth filtering on; never personal data. */
  attributes?: Attributes;
}

/**
 * Runs one activity execution as a request (`requests` in KQL, named `Activity <name>`) under the
 * carrier's span, so that it and the calls it makes (audit-app over HTTP, MongoDB) join the
 * operation of the HTTP request that started the orchestration. Each retry is its own execution and
 * its own span. Without a carrier the activity starts a new operation.
 */
export function traceActivity<T>(options: ActivitySpanOptions, run: () => Promise<T>): Promise<T> {
  const attributes: Attributes = {
    'faas.trigger': 'other',
    'faas.name': options.name,
    'durable.instance_id': options.instanceId,
    ...options.attributes,
  };
  return tracer().startActiveSpan(`Activity ${options.name}`, { kind: SpanKind.SERVER, attributes }, contextFromCarrier(options.trace, ROOT_CONTEXT), async (span) => {
    try {
      const result = await run();
      span.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The outcome of one write orchestration, as support staff and dashboards see it. */
export interface WriteOutcome {
  outcome: 'completed' | 'compensated' | 'failed';
  /** What the write did: `createPatient`, `updatePatient`, `deletePatient`, `addTest`, … */
  kind: string;
  instanceId: string;
  /** Activity executions it took, retries included. */
  attempts: number;
  /** From the orchestration's start to its end. */
  durationMs: number;
  /** A failure code (`AUDIT_UNAVAILABLE`, `CONFLICT`), never a message that could echo input. */
  reason?: string;
  /** The trace context of the request that started the write, so the event joins its operation. */
  trace?: TraceCarrier | null;
}

const EVENT_NAMES: Record<WriteOutcome['outcome'], string> = {
  completed: 'PatientWriteCompleted',
  compensated: 'PatientWriteCompensated',
  failed: 'PatientWriteFailed',
};

/**
 * Emits a write's outcome: a custom event (`customEvents`: `PatientWriteCompleted`, `PatientWriteCompensated`,
 * `PatientWriteFailed`, with `writeKind`, `instanceId`, `reason` in customDimensions and `attempts`,
 * `durationMs` in customMeasurements) and the metrics `patient_records.write.duration` (ms) and
 * `patient_records.write.attempts`, by kind and outcome. Only identifiers and numbers: no personal
 * data can reach it through this shape.
 */
export function trackWriteOutcome(write: WriteOutcome): void {
  const active = write.trace ? contextFromCarrier(write.trace) : contextApi.active();
  logs.getLogger(INSTRUMENTATION).emit({
    context: active,
    attributes: {
      'microsoft.custom_event.name': EVENT_NAMES[write.outcome],
      writeKind: write.kind,
      outcome: write.outcome,
      instanceId: write.instanceId,
      ...(write.reason ? { reason: write.reason } : {}),
    },
    body: { measurements: { attempts: write.attempts, durationMs: write.durationMs } },
  });
  const meter = metrics.getMeter(INSTRUMENTATION);
  const dimensions = { writeKind: write.kind, outcome: write.outcome };
  meter.createHistogram('patient_records.write.duration', { unit: 'ms' }).record(write.durationMs, dimensions);
  meter.createHistogram('patient_records.write.attempts').record(write.attempts, dimensions);
}

/**
 * Trace headers for an outgoing call. With telemetry on, the fetch/http instrumentation adds
 * `traceparent` itself (naming the dependency span as the parent), and a second header set by hand
 * would make the pair unparseable on the other side, so this returns none. With telemetry off it
 * returns the carrier's (or the active context's) headers, so audit-app still records the caller's
 * operation id.
 */
export function outgoingTraceHeaders(carrier?: TraceCarrier | null): Record<string, string> {
  if (telemetryState.instrumented) return {};
  const source = carrier ?? currentTraceCarrier();
  if (!source) return {};
  return { traceparent: source.traceparent, ...(source.tracestate ? { tracestate: source.tracestate } : {}) };
}

/** The carrier to put into an orchestration input: the active request span's context. */
export function traceCarrierForOrchestration(): TraceCarrier | undefined {
  return currentTraceCarrier();
}

function recordFailure(span: Span, error: unknown): void {
  // The error's type and code only: a message can quote input (a driver error can quote a document).
  const name = error instanceof Error ? error.name : 'Error';
  const code = (error as { code?: unknown } | null)?.code;
  span.setStatus({ code: SpanStatusCode.ERROR, message: name });
  span.setAttribute('error.type', typeof code === 'string' || typeof code === 'number' ? `${name}:${code}` : name);
}
