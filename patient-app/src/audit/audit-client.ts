import type { Actor, AuditEntry, AuditRegister, TraceCarrier } from '@patient-records/orchestrations';
import { PermanentFailure } from '@patient-records/orchestrations';
import { outgoingTraceHeaders } from '@patient-records/platform';

/** What patient-app reports to audit-app about reads, which are audited directly (not orchestrated). */
export interface ReadAuditEntry {
  operation: 'read' | 'search' | 'list';
  resource: { type: 'patient' | 'test'; id?: string; patientId?: string };
  actor: Actor;
  /** The correlation id of the request (its invocation id). */
  operationId: string;
  /** `notFound` when the addressed resource does not exist (recorded as the reason of a `read`). */
  outcome: 'succeeded' | 'notFound';
  /** Counts only: how many records the read returned. Never criteria or values. */
  resultCount?: number;
  at: string;
  trace?: TraceCarrier;
}

/**
 * The body `POST /api/auditrecord` takes. It keeps the seed's `sourceSystemName` and `resource`
 * and adds what an audit register needs: actor, outcome, correlation and instance ids, time.
 * Never personal data: ids, codes, counts and times only.
 */
export interface AuditRecordRequest {
  idempotencyKey?: string;
  sourceSystemName: string;
  actor: Actor;
  resource: { type: string; id?: string; operation: string; patientId?: string };
  outcome: string;
  reason?: string;
  correlationId: string;
  instanceId?: string;
  version?: number;
  resultCount?: number;
  timestamp: string;
}

export const sourceSystemName = 'patient-app';

export function writeAuditRecord(entry: AuditEntry): AuditRecordRequest {
  const record: AuditRecordRequest = {
    idempotencyKey: entry.idempotencyKey,
    sourceSystemName,
    actor: entry.actor,
    resource: { type: entry.resource.type, id: entry.resource.id, operation: entry.operation, patientId: entry.resource.patientId },
    outcome: entry.outcome,
    correlationId: entry.operationId,
    instanceId: entry.instanceId,
    timestamp: entry.at,
  };
  if (entry.reason !== undefined) record.reason = entry.reason;
  if (entry.version !== undefined) record.version = entry.version;
  return record;
}

export function readAuditRecord(entry: ReadAuditEntry): AuditRecordRequest {
  const resource: AuditRecordRequest['resource'] = { type: entry.resource.type, operation: entry.operation };
  if (entry.resource.id !== undefined) resource.id = entry.resource.id;
  if (entry.resource.patientId !== undefined) resource.patientId = entry.resource.patientId;
  const record: AuditRecordRequest = {
    sourceSystemName,
    actor: entry.actor,
    resource,
    // audit-app records every read with outcome `read`; a miss says so in `reason`.
    outcome: 'read',
    correlationId: entry.operationId,
    timestamp: entry.at,
  };
  if (entry.outcome === 'notFound') record.reason = 'notFound';
  if (entry.resultCount !== undefined) record.resultCount = entry.resultCount;
  return record;
}

/** A transient audit failure: the register could not be reached or answered 408/429/5xx. */
export class AuditUnavailableError extends Error {
  override readonly name = 'AuditUnavailableError';
}

export interface AuditClientOptions {
  /** audit-app's origin, e.g. `http://127.0.0.1:7072`; the client appends `/api/auditrecord`. */
  baseUrl: string;
  /** audit-app's function key, read (and re-read after a `401`, for key rotation) through this. */
  functionKey: { current(): Promise<string>; refresh(): Promise<string> };
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * The audit register as an HTTP client to audit-app (`x-functions-key`). Implements the
 * orchestrations' `AuditRegister` port for writes and records reads directly. Fails closed: any
 * failure throws, and callers answer `503` rather than skip the audit.
 */
export class HttpAuditClient implements AuditRegister {
  private readonly url: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: AuditClientOptions) {
    this.url = new URL('/api/auditrecord', options.baseUrl).toString();
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  record(entry: AuditEntry): Promise<{ recordId: string }> {
    return this.post(writeAuditRecord(entry), entry.trace);
  }

  recordRead(entry: ReadAuditEntry): Promise<{ recordId: string }> {
    return this.post(readAuditRecord(entry), entry.trace);
  }

  private async post(record: AuditRecordRequest, trace: TraceCarrier | undefined): Promise<{ recordId: string }> {
    let response = await this.send(record, trace, await this.options.functionKey.current());
    if (response.status === 401 || response.status === 403) {
      // The key may have been rotated since it was read: read it again once.
      response = await this.send(record, trace, await this.options.functionKey.refresh());
    }
    if (response.ok) {
      const body = (await response.json().catch(() => ({}))) as { id?: unknown };
      return { recordId: typeof body.id === 'string' ? body.id : '' };
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      throw new AuditUnavailableError(`audit-app answered ${response.status}`);
    }
    throw new PermanentFailure('rejected', `audit-app refused the record (${response.status})`);
  }

  private async send(record: AuditRecordRequest, trace: TraceCarrier | undefined, key: string): Promise<Response> {
    // With telemetry on, the fetch instrumentation adds traceparent (naming this call's dependency
    // span); without it, the carrier's context is sent by hand so audit-app still joins the operation.
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-functions-key': key, ...outgoingTraceHeaders(trace) };
    try {
      return await this.fetch(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(record),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      // An abort arrives as a DOMException, which is not always `instanceof Error` across realms.
      const timedOut = typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'TimeoutError';
      const reason = timedOut ? `timed out after ${this.options.timeoutMs} ms` : 'unreachable';
      throw new AuditUnavailableError(`audit-app ${reason}`);
    }
  }
}
