export { redact, REDACTED, REDACTED_FIELDS, redactUrl } from './redaction';
export {
  type ActivitySpanOptions,
  outgoingTraceHeaders,
  traceActivity,
  traceCarrierForOrchestration,
  type TracedHttpRequest,
  type TracedInvocation,
  traceHttpRequest,
  trackWriteOutcome,
  type WriteOutcome,
} from './spans';
export { startTelemetry, type StartTelemetryOptions, type Telemetry, TELEMETRY_SETTINGS } from './start';
export { contextFromCarrier, currentTraceCarrier, formatTraceparent, isTraceCarrier, operationIdOf, parseTraceparent, type TraceCarrier } from './trace-context';
