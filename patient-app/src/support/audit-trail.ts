/**
 * The audit register as support uses it: the records a write produced (by instance and operation
 * id), and a record for every support action (who, what, which instance, why), written BEFORE the
 * action: when audit-app cannot record it, the action is refused (`503`), never done unrecorded.
 */
import { randomUUID } from 'node:crypto';

import type { Actor } from '@patient-records/orchestrations';
import { ServiceUnavailableError } from '@patient-records/platform';

export type SupportAction = 'restart' | 'terminate' | 'purge' | 'export' | 'erase';

export interface SupportActionRecord {
  action: SupportAction;
  /** `requested` before the action runs; `done` or `failed` after it. */
  phase: 'requested' | 'done' | 'failed';
  actionId: string;
  actor: Actor;
  /** The write acted on; an action on a patient (`erase`) names none and needs `patientId`. */
  instanceId?: string;
  /** The write's operation id, so the action shows in the write's trail. */
  operationId?: string;
  patientId?: string;
  /** Why, as the support person wrote it (at most 256 characters, no personal data). */
  reason: string;
  /** Further ids, codes and counts: `newInstanceId`, `kind`, `error`, an erasure's counts. */
  details?: Record<string, string | number | boolean>;
}

/** An audit record as audit-app answers (the fields support shows). */
export interface AuditRecordView {
  id: string;
  timestamp: string;
  createdDate?: string;
  actor: { system: string; user?: string };
  resource: { type: string; id?: string; operation: string; patientId?: string };
  outcome: string;
  reason?: string;
  correlationId?: string;
  instanceId?: string;
  version?: number;
  details?: Record<string, string | number | boolean>;
}

export interface AuditTrailOptions {
  /** audit-app's origin, e.g. `http://127.0.0.1:7072`. */
  baseUrl: string;
  functionKey: () => Promise<string>;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export class AuditUnreachableError extends Error {
  override readonly name = 'AuditUnreachableError';
}

export class SupportAuditTrail {
  private readonly url: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: AuditTrailOptions) {
    this.url = new URL('/api/auditrecord', options.baseUrl).toString();
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  newActionId(): string {
    return randomUUID();
  }

  /** The records about an instance and its operation, newest first (at most 200). */
  async forWrite(instanceId: string, operationId: string | undefined): Promise<AuditRecordView[]> {
    const queries = [`instanceId=${encodeURIComponent(instanceId)}`];
    if (operationId !== undefined && operationId !== instanceId)
      queries.push(`correlationId=${encodeURIComponent(operationId)}`);
    const byId = new Map<string, AuditRecordView>();
    for (const query of queries) {
      const body = (await this.request('GET', `${this.url}?${query}&limit=100`)) as { items?: AuditRecordView[] };
      for (const record of body.items ?? []) byId.set(record.id, record);
    }
    return [...byId.values()].sort((a, b) =>
      a.timestamp === b.timestamp ? a.id.localeCompare(b.id) : a.timestamp < b.timestamp ? 1 : -1,
    );
  }

  /** Records a support action; throws `ServiceUnavailableError` (503) when audit-app cannot. */
  async record(entry: SupportActionRecord): Promise<void> {
    const details: Record<string, string | number | boolean> = {
      phase: entry.phase,
      supportReason: entry.reason,
      ...entry.details,
    };
    const body = {
      idempotencyKey: `support-${entry.actionId}-${entry.phase}`,
      sourceSystemName: 'patient-app',
      actor: entry.actor,
      resource: {
        type: entry.instanceId === undefined ? 'patient' : 'orchestration',
        id: entry.instanceId ?? entry.patientId,
        operation: entry.action,
        ...(entry.patientId === undefined ? {} : { patientId: entry.patientId }),
      },
      outcome: 'support-action',
      reason: `support-${entry.action}-${entry.phase}`,
      ...(entry.instanceId === undefined ? {} : { instanceId: entry.instanceId }),
      ...(entry.operationId === undefined ? {} : { correlationId: entry.operationId }),
      timestamp: new Date().toISOString(),
      details,
    };
    try {
      await this.request('POST', this.url, body);
    } catch (error) {
      const why = error instanceof Error ? error.message : 'unknown error';
      throw new ServiceUnavailableError(
        `The audit register could not record the support action, so it was not done (${why}). Retry when audit-app is back.`,
        5,
        {
          code: 'audit_unavailable',
        },
      );
    }
  }

  private async request(method: 'GET' | 'POST', url: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: {
          'x-functions-key': await this.options.functionKey(),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch {
      throw new AuditUnreachableError('audit-app unreachable');
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new AuditUnreachableError(`audit-app answered ${response.status}`);
    }
    return response.json();
  }
}
