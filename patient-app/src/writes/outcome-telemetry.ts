import { classifyWrite, historyOf, type InstanceStatusLike, readHistory, type TraceCarrier, type WriteKind } from '@patient-records/orchestrations';
import { trackWriteOutcome, type WriteOutcome } from '@patient-records/platform';
import type { DurableClient } from 'durable-functions';

import { telemetry } from '../telemetry';

const REASON_CODE = /^[\w.:-]{1,64}$/;

/**
 * Emits the write's outcome event and metrics (docs/telemetry.md) once its orchestration has
 * finished: the outcome class from its output, the attempts (activity executions, retries
 * included) and the duration from its history. Only with telemetry on: it costs one status read.
 */
export async function reportWriteOutcome(client: DurableClient, operationId: string, kind: WriteKind, trace?: TraceCarrier): Promise<void> {
  if (!telemetry.enabled) return;
  const status = (await client.getStatus(operationId, { showHistory: true, showHistoryOutput: false, showInput: false })) as unknown as InstanceStatusLike;
  const classification = classifyWrite(status);
  if (classification.outcome === 'inProgress') return;
  const outcome: WriteOutcome['outcome'] =
    classification.outcome === 'compensated' ? 'compensated' : classification.outcome === 'failed' ? 'failed' : 'completed';
  const history = historyOf(status);
  const attempts = history === undefined ? 0 : readHistory(history).filter((event) => event.type === 'TaskCompleted' || event.type === 'TaskFailed').length;
  const started = status.createdTime === undefined ? NaN : new Date(status.createdTime).getTime();
  const ended = status.lastUpdatedTime === undefined ? NaN : new Date(status.lastUpdatedTime).getTime();
  const reason = classification.outcome === 'succeeded' ? undefined : classification.reason !== undefined && REASON_CODE.test(classification.reason) ? classification.reason : classification.outcome;
  trackWriteOutcome({
    outcome,
    kind,
    instanceId: operationId,
    attempts,
    durationMs: Number.isFinite(ended - started) ? Math.max(0, ended - started) : 0,
    ...(reason === undefined ? {} : { reason }),
    ...(trace ? { trace } : {}),
  });
}
