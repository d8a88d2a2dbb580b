/**
 * What support sees of a write in a list: who, what, where it is and how it ended. Built from the
 * orchestration status the Durable management API answers (the public `DurableClient` shape, so it
 * works against the devhost and Azure alike). References only: ids, codes and times.
 */
import {
  classifyWrite,
  type SupportStatus,
  type WriteKind,
  writeKindOf,
  type WriteOutcomeClass,
} from '@patient-records/orchestrations';

/** The fields of `DurableOrchestrationStatus` support reads. */
export interface InstanceStatus {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  createdTime: Date | string;
  lastUpdatedTime: Date | string;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
}

export interface WriteSummary {
  instanceId: string;
  kind: WriteKind;
  orchestrator: string;
  runtimeStatus: string;
  status: SupportStatus;
  outcome: WriteOutcomeClass;
  reason?: string;
  needsAttention: boolean;
  /** The operation (correlation) id callers saw; look its telemetry up by it. */
  operationId?: string;
  patientId?: string;
  testId?: string;
  /** Where a running write is (`auditAttempt`, `persist`, …), from its custom status. */
  step?: string;
  createdTime: string;
  lastUpdatedTime: string;
}

function iso(value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

function field(value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const item = (value as Record<string, unknown>)[name];
  return typeof item === 'string' ? item : undefined;
}

/** The summary of a write orchestration; `undefined` for any other orchestration. */
export function summarizeWrite(status: InstanceStatus): WriteSummary | undefined {
  const kind = writeKindOf(status.name);
  if (kind === undefined) return undefined;
  const classification = classifyWrite({ runtimeStatus: status.runtimeStatus, output: status.output });
  const summary: WriteSummary = {
    instanceId: status.instanceId,
    kind,
    orchestrator: status.name,
    runtimeStatus: status.runtimeStatus,
    status: classification.status,
    outcome: classification.outcome,
    needsAttention: classification.needsAttention,
    createdTime: iso(status.createdTime),
    lastUpdatedTime: iso(status.lastUpdatedTime),
  };
  if (classification.reason !== undefined) summary.reason = classification.reason;
  const operationId = field(status.input, 'operationId') ?? field(status.output, 'operationId');
  if (operationId !== undefined) summary.operationId = operationId;
  const patientId = field(status.input, 'patientId') ?? field(status.output, 'patientId');
  if (patientId !== undefined) summary.patientId = patientId;
  // The output's first: a restart that found its restarted add's test result in effect answers with that one.
  const testId = field(status.output, 'testId') ?? field(status.input, 'testId');
  if (testId !== undefined) summary.testId = testId;
  const step = field(status.customStatus, 'step');
  if (step !== undefined) summary.step = step;
  return summary;
}

/** What a list of writes can be narrowed by. All filters combine with AND. */
export interface WriteFilter {
  statuses?: SupportStatus[];
  outcomes?: WriteOutcomeClass[];
  kinds?: WriteKind[];
  operationId?: string;
  patientId?: string;
  instanceId?: string;
}

export interface WriteCounts {
  byStatus: Record<SupportStatus, number>;
  byOutcome: Record<WriteOutcomeClass, number>;
  total: number;
}

function matchesRest(summary: WriteSummary, filter: WriteFilter): boolean {
  if (filter.kinds !== undefined && filter.kinds.length > 0 && !filter.kinds.includes(summary.kind)) return false;
  if (filter.operationId !== undefined && summary.operationId !== filter.operationId) return false;
  if (filter.patientId !== undefined && summary.patientId?.toLowerCase() !== filter.patientId.toLowerCase())
    return false;
  if (filter.instanceId !== undefined && summary.instanceId !== filter.instanceId) return false;
  return true;
}

/**
 * Filters summaries, newest first (created time, then instance id), and counts them per status and
 * outcome. Counts cover the time range and every filter except status and outcome themselves, so
 * the list's tabs show what each choice would give.
 */
export function selectWrites(
  summaries: readonly WriteSummary[],
  filter: WriteFilter,
): { items: WriteSummary[]; counts: WriteCounts } {
  const counts: WriteCounts = {
    byStatus: { running: 0, completed: 0, failed: 0, terminated: 0 },
    byOutcome: { succeeded: 0, rejected: 0, compensated: 0, failed: 0, inProgress: 0 },
    total: 0,
  };
  const items: WriteSummary[] = [];
  for (const summary of summaries) {
    if (!matchesRest(summary, filter)) continue;
    counts.byStatus[summary.status] += 1;
    counts.byOutcome[summary.outcome] += 1;
    counts.total += 1;
    if (filter.statuses !== undefined && filter.statuses.length > 0 && !filter.statuses.includes(summary.status))
      continue;
    if (filter.outcomes !== undefined && filter.outcomes.length > 0 && !filter.outcomes.includes(summary.outcome))
      continue;
    items.push(summary);
  }
  items.sort((a, b) =>
    a.createdTime === b.createdTime ? (a.instanceId < b.instanceId ? 1 : -1) : a.createdTime < b.createdTime ? 1 : -1,
  );
  return { items, counts };
}
