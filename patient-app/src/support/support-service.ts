/**
 * The support API's logic over the public `DurableClient` (so it runs unchanged against the devhost
 * and a task hub in Azure): list writes, show one as a timeline with its audit trail, export it for
 * replay, and restart, terminate or purge — each action recorded in the audit register first.
 */
import { randomUUID } from 'node:crypto';

import {
  type Actor,
  buildWriteTimeline,
  EXPORT_FORMAT,
  historyOf,
  type InstanceStatusLike,
  type OrchestrationExport,
  outcomeEventFor,
  readHistory,
  redactPersonalData,
  supportStatusOf,
  type Timeline,
  type WriteOutcomeReporter,
} from '@patient-records/orchestrations';
import { ConflictError, type ContinuationTokens, isTraceCarrier, NotFoundError } from '@patient-records/platform';
import type { DurableClient } from 'durable-functions';

import type { MongoPatientRepository } from '../data/patient-repository';
import type { AuditRecordView, SupportAction, SupportAuditTrail } from './audit-trail';
import type { RestartLinks } from './restart-links';
import { DEFAULT_RANGE_MS, type ListQuery } from './support-query';
import {
  type InstanceStatus,
  selectWrites,
  summarizeWrite,
  type WriteCounts,
  type WriteSummary,
} from './write-summary';

/** The part of `DurableClient` support uses. */
export type SupportClient = Pick<
  DurableClient,
  'getStatus' | 'getStatusBy' | 'startNew' | 'terminate' | 'purgeInstanceHistory' | 'createHttpManagementPayload'
>;

export interface WriteList {
  items: WriteSummary[];
  counts: WriteCounts;
  range: { from: string; to: string };
  continuationToken: string | null;
}

export interface WriteDetail {
  write: WriteSummary;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  timeline: Timeline;
  /** Newest first; `null` when audit-app could not be reached (see `auditError`). */
  auditRecords: AuditRecordView[] | null;
  auditError?: string;
  restartedAs?: string;
  restartedFrom?: string;
  /** How to find the write's telemetry in Application Insights. */
  telemetry: { operationId?: string; traceId?: string; kql: string };
}

export interface ActionResult {
  action: SupportAction;
  instanceId: string;
  actionId: string;
  newInstanceId?: string;
}

/** What an erasure removed; the counts are this call's (an erasure run again answers zeros). */
export interface ErasureResult {
  action: 'erase';
  patientId: string;
  actionId: string;
  versionsScrubbed: number;
  testsRemoved: number;
  instancesPurged: number;
  /** The write instances purged, each also recorded as a support purge. */
  instanceIds: string[];
}

/** The patient store as an erasure uses it. */
export type ErasureStore = Pick<MongoPatientRepository, 'erasureState' | 'claimErasure' | 'writesOf' | 'scrubErased'>;

const TERMINAL = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);
const MAX_PURGE = 100;
/** How long a terminate waits to see the termination take effect before giving up on its outcome event. */
const TERMINATION_WAIT_MS = 5_000;
const TERMINATION_POLL_MS = 100;

function notDeleted(): ConflictError {
  return new ConflictError(
    'Only a deleted patient is erased; this one is not deleted (DELETE /api/patient/{patientId} first).',
    {
      code: 'patient_not_deleted',
    },
  );
}

function isPosition(value: unknown): value is { offset: number; from: string; to: string } {
  if (typeof value !== 'object' || value === null) return false;
  const position = value as { offset?: unknown; from?: unknown; to?: unknown };
  return (
    typeof position.offset === 'number' &&
    Number.isInteger(position.offset) &&
    position.offset >= 0 &&
    typeof position.from === 'string' &&
    typeof position.to === 'string'
  );
}

function traceIdOf(input: unknown): string | undefined {
  const traceparent = (input as { trace?: { traceparent?: unknown } } | null | undefined)?.trace?.traceparent;
  if (typeof traceparent !== 'string') return undefined;
  const traceId = traceparent.split('-')[1];
  return traceId !== undefined && /^[0-9a-f]{32}$/.test(traceId) ? traceId : undefined;
}

function kqlFor(instanceId: string, traceId: string | undefined): string {
  const byTrace = traceId === undefined ? '' : `operation_Id == "${traceId}" or `;
  return `union requests, dependencies, exceptions, traces, customEvents | where ${byTrace}tostring(customDimensions["durable.instance_id"]) == "${instanceId}" or tostring(customDimensions.instanceId) == "${instanceId}" | order by timestamp asc`;
}

/**
 * The input of a restart: the old write's, under the new operation id, naming every operation it
 * restarts (the old one's own `restartOf` first) so the store looks through their undone changes.
 * A test result gets a new id: test results are not versioned, and reviving the undone one would
 * take an update, which the store does not isolate; a consumer never got the old id (only a 202 or
 * 503), and the operations link leads to the new one.
 */
export function restartInputOf(old: Record<string, unknown>, newInstanceId: string): Record<string, unknown> {
  // A new operation: the old request's trace context does not belong to it.
  const { trace: _oldTrace, ...rest } = old;
  const earlier = Array.isArray(old['restartOf']) ? (old['restartOf'] as unknown[]) : [];
  return {
    ...rest,
    operationId: newInstanceId,
    restartOf: [...earlier, old['operationId']],
    ...(old['kind'] === 'createTestResult' ? { testId: randomUUID() } : {}),
  };
}

export interface SupportServiceOptions {
  trail: SupportAuditTrail;
  restarts: RestartLinks;
  /** The patient store, for erasures. */
  patients: ErasureStore;
  pageTokens: ContinuationTokens;
  fetch?: typeof fetch;
  /** Where a terminated write's outcome event goes: it runs no outcome step of its own. */
  outcomes?: WriteOutcomeReporter;
}

export class SupportService {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: SupportServiceOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async list(client: SupportClient, query: ListQuery): Promise<WriteList> {
    const scope = JSON.stringify({ f: query.filter, given: query.given });
    let offset = 0;
    let { from, to } = query;
    if (query.continuationToken !== undefined) {
      // Later pages keep the first page's range, so new writes do not shift them, and a default
      // range (the 24 hours before now) does not move with the clock between pages.
      const position = this.options.pageTokens.decode(query.continuationToken, scope, isPosition);
      offset = position.offset;
      from = new Date(position.from);
      to = new Date(position.to);
    }
    const statuses = (await client.getStatusBy({ createdTimeFrom: from, createdTimeTo: to })) as InstanceStatus[];
    const summaries = statuses.map(summarizeWrite).filter((summary): summary is WriteSummary => summary !== undefined);
    await this.withInputs(client, summaries, 200);
    const { items, counts } = selectWrites(summaries, query.filter);
    const page = items.slice(offset, offset + query.pageSize);
    const next =
      offset + query.pageSize < items.length
        ? this.options.pageTokens.encode(
            { offset: offset + query.pageSize, from: from.toISOString(), to: to.toISOString() },
            scope,
          )
        : null;
    return {
      items: page,
      counts,
      range: { from: from.toISOString(), to: to.toISOString() },
      continuationToken: next,
    };
  }

  /**
   * Lists come without inputs (the management API's list leaves them out by default), so writes
   * whose output does not name the patient (running, failed, terminated) are read one by one, a few
   * at a time, to show and filter by their patient and operation ids. Bounded: at most `limit` per
   * list (200), and an erasure's one read of the range it scans.
   */
  private async withInputs(client: SupportClient, summaries: WriteSummary[], limit: number): Promise<void> {
    const missing = summaries.filter((summary) => summary.patientId === undefined).slice(0, limit);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < missing.length) {
        const summary = missing[next++];
        if (summary === undefined) return;
        const status = (await client.getStatus(summary.instanceId, { showInput: true }).catch(() => undefined)) as
          InstanceStatus | undefined;
        const full = status === undefined ? undefined : summarizeWrite(status);
        if (full?.patientId !== undefined) summary.patientId = full.patientId;
        if (full?.operationId !== undefined) summary.operationId = full.operationId;
        if (full?.testId !== undefined) summary.testId = full.testId;
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, missing.length) }, worker));
  }

  /** The instance's status with its full history (management API shape); `NotFoundError` for unknown or non-write instances. */
  private async statusWithHistory(
    client: SupportClient,
    instanceId: string,
  ): Promise<{ status: InstanceStatusLike & InstanceStatus; summary: WriteSummary; history: unknown[] }> {
    let status: InstanceStatusLike & InstanceStatus;
    try {
      status = await client.getStatus(instanceId, {
        showHistory: true,
        showHistoryOutput: true,
        showInput: true,
      });
    } catch (error) {
      if (error instanceof Error && /404|could not find/i.test(error.message))
        throw new NotFoundError('No write with this instance id is known.', { code: 'write_not_found' });
      throw error;
    }
    const summary = summarizeWrite(status);
    if (summary === undefined)
      throw new NotFoundError('No write with this instance id is known.', { code: 'write_not_found' });
    const history = historyOf(status) ?? (await this.fetchHistory(client, instanceId));
    return { status, summary, history };
  }

  /**
   * The JS client keeps `history` but Azure answers `historyEvents` (durable-js #620), so on Azure
   * the status comes without history: read it from the instance's status URL, as the client would.
   */
  private async fetchHistory(client: SupportClient, instanceId: string): Promise<unknown[]> {
    const url = new URL(client.createHttpManagementPayload(instanceId).statusQueryGetUri);
    url.searchParams.set('showHistory', 'true');
    url.searchParams.set('showHistoryOutput', 'true');
    url.searchParams.set('showInput', 'true');
    const response = await this.fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok)
      throw new Error(`the Durable management API answered ${response.status} for the history of ${instanceId}`);
    return historyOf((await response.json()) as InstanceStatusLike) ?? [];
  }

  async show(client: SupportClient, instanceId: string): Promise<WriteDetail> {
    const { status, summary, history } = await this.statusWithHistory(client, instanceId);
    const timeline = buildWriteTimeline(readHistory(history));
    const traceId = traceIdOf(status.input);
    const detail: WriteDetail = {
      write: summary,
      input: redactPersonalData(status.input),
      output: redactPersonalData(status.output),
      customStatus: redactPersonalData(status.customStatus ?? null),
      timeline,
      auditRecords: null,
      telemetry: {
        ...(summary.operationId === undefined ? {} : { operationId: summary.operationId }),
        ...(traceId === undefined ? {} : { traceId }),
        kql: kqlFor(instanceId, traceId),
      },
    };
    const [audit, links] = await Promise.all([
      this.options.trail.forWrite(instanceId, summary.operationId).then(
        (records) => ({ records }),
        (error: unknown) => ({ error: error instanceof Error ? error.message : 'audit-app unreachable' }),
      ),
      this.options.restarts.linksOf(instanceId),
    ]);
    if ('records' in audit) detail.auditRecords = audit.records;
    else detail.auditError = `The audit register could not be read: ${audit.error}`;
    return { ...detail, ...links };
  }

  /** The instance and its full history, for replay and for the incident record (sealed payloads stay sealed). */
  async export(
    client: SupportClient,
    instanceId: string,
    actor: Actor,
    reason: string,
    source: string,
  ): Promise<OrchestrationExport> {
    const { status, summary, history } = await this.statusWithHistory(client, instanceId);
    await this.audit('export', 'requested', { actor, summary, reason });
    const iso = (value: Date | string | undefined): string | undefined =>
      value === undefined ? undefined : new Date(value).toISOString();
    const instance: OrchestrationExport['instance'] = {
      name: status.name,
      instanceId: status.instanceId,
      runtimeStatus: status.runtimeStatus,
      input: status.input ?? null,
      output: status.output ?? null,
      customStatus: status.customStatus ?? null,
    };
    const created = iso(status.createdTime);
    if (created !== undefined) instance.createdTime = created;
    const updated = iso(status.lastUpdatedTime);
    if (updated !== undefined) instance.lastUpdatedTime = updated;
    return { format: EXPORT_FORMAT, version: 1, exportedAt: new Date().toISOString(), source, instance, history };
  }

  /**
   * Starts the write again as a new instance with the same input under a new operation id (the
   * audit register and the store key their idempotency on the operation id, so reusing it would
   * answer with the failed attempt's records), linked to the old instance.
   */
  async restart(
    client: SupportClient,
    instanceId: string,
    actor: Actor,
    reason: string,
    newInstanceId: string,
  ): Promise<ActionResult> {
    const status = (await client.getStatus(instanceId, { showInput: true }).catch(() => undefined)) as
      InstanceStatus | undefined;
    const summary = status === undefined ? undefined : summarizeWrite(status);
    if (status === undefined || summary === undefined)
      throw new NotFoundError('No write with this instance id is known.', { code: 'write_not_found' });
    if (summary.status === 'running')
      throw new ConflictError('The write is still running; terminate it first or wait for it to end.', {
        code: 'write_running',
      });
    if (summary.outcome === 'succeeded' || summary.outcome === 'rejected') {
      throw new ConflictError(`The write ended ${summary.outcome}; restarting it would apply it again.`, {
        code: 'write_not_restartable',
      });
    }
    if (typeof status.input !== 'object' || status.input === null)
      throw new ConflictError('The write has no input to restart with.', { code: 'write_not_restartable' });
    const actionId = this.options.trail.newActionId();
    const claim = await this.options.restarts.claim({
      _id: instanceId,
      newInstanceId,
      at: new Date().toISOString(),
      actionId,
    });
    if (!claim.claimed)
      throw new ConflictError(`The write was already restarted as ${claim.newInstanceId}.`, {
        code: 'already_restarted',
        details: { newInstanceId: claim.newInstanceId },
      });
    try {
      await this.audit('restart', 'requested', { actor, summary, reason, actionId, details: { newInstanceId } });
    } catch (error) {
      await this.options.restarts.release(instanceId);
      throw error;
    }
    const input = restartInputOf(status.input as Record<string, unknown>, newInstanceId);
    try {
      await client.startNew(status.name, { instanceId: newInstanceId, input });
    } catch (error) {
      await this.options.restarts.release(instanceId);
      await this.audit('restart', 'failed', { actor, summary, reason, actionId, details: { newInstanceId } }).catch(
        () => undefined,
      );
      throw error;
    }
    await this.audit('restart', 'done', { actor, summary, reason, actionId, details: { newInstanceId } }).catch(
      () => undefined,
    );
    return { action: 'restart', instanceId, actionId, newInstanceId };
  }

  async terminate(client: SupportClient, instanceId: string, actor: Actor, reason: string): Promise<ActionResult> {
    const summary = await this.summaryOf(client, instanceId);
    if (summary.status !== 'running')
      throw new ConflictError(`The write is not running (it is ${summary.runtimeStatus}).`, {
        code: 'write_not_running',
      });
    const actionId = this.options.trail.newActionId();
    await this.audit('terminate', 'requested', { actor, summary, reason, actionId });
    await client.terminate(instanceId, `support: ${reason}`);
    await this.audit('terminate', 'done', { actor, summary, reason, actionId }).catch(() => undefined);
    // Telemetry never fails a support action.
    await this.reportTerminated(client, summary).catch(() => undefined);
    return { action: 'terminate', instanceId, actionId };
  }

  /**
   * A terminated write runs no outcome step, so its outcome event (`PatientWriteFailed`, reason
   * `terminated`, docs/telemetry.md) is emitted here, once the termination is seen to take effect:
   * a write that ended otherwise meanwhile emitted its own, and one still running after
   * TERMINATION_WAIT_MS emits none.
   */
  private async reportTerminated(client: SupportClient, summary: WriteSummary): Promise<void> {
    const outcomes = this.options.outcomes;
    if (outcomes === undefined || !outcomes.enabled) return;
    const deadline = Date.now() + TERMINATION_WAIT_MS;
    for (;;) {
      const runtimeStatus: string = (await client.getStatus(summary.instanceId, { showInput: false })).runtimeStatus;
      if (runtimeStatus === 'Terminated') break;
      if (supportStatusOf(runtimeStatus) !== 'running' || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, TERMINATION_POLL_MS));
    }
    const status = (await client.getStatus(summary.instanceId, {
      showHistory: true,
      showHistoryOutput: false,
      showInput: true,
    })) as unknown as InstanceStatusLike;
    const history = readHistory(historyOf(status) ?? []);
    const end = history.find((event) => event.type === 'ExecutionTerminated')?.timestamp ?? status.lastUpdatedTime;
    const trace = (status.input as { trace?: unknown } | undefined)?.trace;
    outcomes.report(
      outcomeEventFor(
        {
          kind: summary.kind,
          operationId: summary.operationId ?? summary.instanceId,
          instanceId: summary.instanceId,
          outcome: 'failed',
          reason: 'terminated',
          at: end === undefined ? new Date().toISOString() : new Date(end).toISOString(),
          ...(isTraceCarrier(trace) ? { trace } : {}),
        },
        status,
      ),
    );
  }

  async purge(client: SupportClient, instanceId: string, actor: Actor, reason: string): Promise<ActionResult> {
    const summary = await this.summaryOf(client, instanceId);
    if (!TERMINAL.has(summary.runtimeStatus))
      throw new ConflictError('Only a write that has ended can be purged; terminate it first.', {
        code: 'write_running',
      });
    return this.purgeEnded(client, summary, actor, reason);
  }

  private async purgeEnded(
    client: SupportClient,
    summary: WriteSummary,
    actor: Actor,
    reason: string,
  ): Promise<ActionResult> {
    const actionId = this.options.trail.newActionId();
    await this.audit('purge', 'requested', { actor, summary, reason, actionId });
    await client.purgeInstanceHistory(summary.instanceId);
    await this.audit('purge', 'done', { actor, summary, reason, actionId }).catch(() => undefined);
    return { action: 'purge', instanceId: summary.instanceId, actionId };
  }

  /** Purges every ended write the query selects (at most 100 per call; ask again for more). */
  async purgeMany(
    client: SupportClient,
    query: ListQuery,
    actor: Actor,
    reason: string,
  ): Promise<{ purged: ActionResult[]; remaining: number }> {
    const { items } = await this.list(client, { ...query, pageSize: 100_000 });
    const ended = items.filter((item) => TERMINAL.has(item.runtimeStatus));
    const purged: ActionResult[] = [];
    for (const item of ended.slice(0, MAX_PURGE)) purged.push(await this.purge(client, item.instanceId, actor, reason));
    return { purged, remaining: ended.length - purged.length };
  }

  /**
   * Erases a deleted patient (docs/support-runbook.md, "Erasing a deleted patient"): refused for an
   * unknown patient (404), one not deleted (409) or one with a write still running (409), and
   * recorded in the audit register before anything changes (503 when it cannot be). Then the store's
   * erase claim stops every later write from putting the patient back; the patient's write
   * instances are purged (each a recorded support purge) while the store still names them; last,
   * the version claims lose their content and the test results go. Each step can run again, so an
   * erasure cut short is finished by erasing again.
   */
  async erase(client: SupportClient, patientId: string, actor: Actor, reason: string): Promise<ErasureResult> {
    const { patients } = this.options;
    const state = await patients.erasureState(patientId);
    if (state === 'unknown')
      throw new NotFoundError('No patient with this id is known.', { code: 'patient_not_found' });
    if (state === 'notDeleted') throw notDeleted();
    const writes = await this.writesOfPatient(client, patientId);
    const running = writes.filter((write) => !TERMINAL.has(write.runtimeStatus)).map((write) => write.instanceId);
    if (running.length > 0)
      throw new ConflictError(
        'A write of this patient is still running; wait for it to end (or terminate it), then erase.',
        {
          code: 'write_running',
          details: { instanceIds: running },
        },
      );
    const actionId = this.options.trail.newActionId();
    const record = (
      phase: 'requested' | 'done' | 'failed',
      details: Record<string, number | string> = {},
    ): Promise<void> =>
      this.options.trail.record({ action: 'erase', phase, actionId, actor, patientId, reason, details });
    await record('requested');
    try {
      if ((await patients.claimErasure(patientId, actionId, new Date())) === 'notDeleted') throw notDeleted();
      const instanceIds: string[] = [];
      for (const write of writes) instanceIds.push((await this.purgeEnded(client, write, actor, reason)).instanceId);
      const content = await patients.scrubErased(patientId);
      const result: ErasureResult = {
        action: 'erase',
        patientId,
        actionId,
        ...content,
        instancesPurged: instanceIds.length,
        instanceIds,
      };
      await record('done', { ...content, instancesPurged: instanceIds.length }).catch(() => undefined);
      return result;
    } catch (error) {
      await record('failed', { error: error instanceof Error ? error.name : 'unknown' }).catch(() => undefined);
      throw error;
    }
  }

  /**
   * The patient's write instances in the task hub: those whose operation id the store holds (they
   * stored something), those naming the patient in their input or output created from a day before
   * the earliest of them (writes refused or failed before storing: their input still holds the
   * sealed request), and the writes any of these is a support restart of.
   */
  private async writesOfPatient(client: SupportClient, patientId: string): Promise<WriteSummary[]> {
    const known = await this.options.patients.writesOf(patientId);
    const to = new Date();
    const from = new Date((known.earliest ?? to).getTime() - DEFAULT_RANGE_MS);
    const statuses = (await client.getStatusBy({ createdTimeFrom: from, createdTimeTo: to })) as InstanceStatus[];
    const scanned = statuses.map(summarizeWrite).filter((summary): summary is WriteSummary => summary !== undefined);
    await this.withInputs(client, scanned, scanned.length);
    const found = new Map(selectWrites(scanned, { patientId }).items.map((write) => [write.instanceId, write]));
    const pending = [...known.operationIds];
    for (const write of found.values()) pending.push(write.instanceId);
    // Each instance is looked at once: the walk ends when no new restart origin turns up.
    const seen = new Set<string>();
    for (let instanceId = pending.pop(); instanceId !== undefined; instanceId = pending.pop()) {
      if (seen.has(instanceId)) continue;
      seen.add(instanceId);
      if (!found.has(instanceId)) {
        const status = (await client.getStatus(instanceId, { showInput: true }).catch((error: unknown) => {
          // Gone already (purged by an earlier erasure or by hand); any other failure stops the erasure.
          if (error instanceof Error && /404|could not find/i.test(error.message)) return undefined;
          throw error;
        })) as InstanceStatus | undefined;
        const summary = status === undefined ? undefined : summarizeWrite(status);
        if (summary === undefined) continue;
        found.set(instanceId, summary);
      }
      const { restartedFrom } = await this.options.restarts.linksOf(instanceId);
      if (restartedFrom !== undefined) pending.push(restartedFrom);
    }
    return [...found.values()];
  }

  private async summaryOf(client: SupportClient, instanceId: string): Promise<WriteSummary> {
    const status = (await client.getStatus(instanceId).catch(() => undefined)) as InstanceStatus | undefined;
    const summary = status === undefined ? undefined : summarizeWrite(status);
    if (summary === undefined)
      throw new NotFoundError('No write with this instance id is known.', { code: 'write_not_found' });
    return summary;
  }

  private audit(
    action: SupportAction,
    phase: 'requested' | 'done' | 'failed',
    entry: {
      actor: Actor;
      summary: WriteSummary;
      reason: string;
      actionId?: string;
      details?: Record<string, string | number | boolean>;
    },
  ): Promise<void> {
    return this.options.trail.record({
      action,
      phase,
      actionId: entry.actionId ?? this.options.trail.newActionId(),
      actor: entry.actor,
      instanceId: entry.summary.instanceId,
      ...(entry.summary.operationId === undefined ? {} : { operationId: entry.summary.operationId }),
      ...(entry.summary.patientId === undefined ? {} : { patientId: entry.summary.patientId }),
      reason: entry.reason,
      details: { kind: entry.summary.kind, ...entry.details },
    });
  }
}
