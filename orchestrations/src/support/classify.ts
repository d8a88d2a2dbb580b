/**
 * How a write ended, in the terms support staff filter by: the orchestration's runtime status
 * (running, completed, failed, terminated) and the write's outcome (succeeded, rejected,
 * compensated, failed) read from its `WriteResult` output.
 */
import type { WriteKind, WriteResult } from '../contract';
import { WRITE_KINDS } from '../contract';
import { ORCHESTRATION_NAMES } from '../names';

export const SUPPORT_STATUSES = ['running', 'completed', 'failed', 'terminated'] as const;
/** The orchestration's runtime status, folded: Pending/Suspended/ContinuedAsNew are `running`, Canceled is `terminated`. */
export type SupportStatus = (typeof SUPPORT_STATUSES)[number];

export const WRITE_OUTCOMES = ['succeeded', 'rejected', 'compensated', 'failed', 'inProgress'] as const;
/**
 * - `succeeded`: the change is in effect (created, updated, deleted).
 * - `rejected`: the store refused it (not found, stale version); nothing changed; nothing to fix.
 * - `compensated`: a dependency stayed down after the change took effect, and it was undone.
 * - `failed`: a dependency stayed down before anything changed, or the orchestration failed or was terminated.
 * - `inProgress`: still running.
 */
export type WriteOutcomeClass = (typeof WRITE_OUTCOMES)[number];

/** The Durable runtime statuses that each support status stands for (for `getStatusBy`). */
export const RUNTIME_STATUSES_FOR: Record<SupportStatus, string[]> = {
  running: ['Running', 'Pending', 'Suspended', 'ContinuedAsNew'],
  completed: ['Completed'],
  failed: ['Failed'],
  terminated: ['Terminated', 'Canceled'],
};

export function supportStatusOf(runtimeStatus: string): SupportStatus {
  for (const status of SUPPORT_STATUSES) {
    if (RUNTIME_STATUSES_FOR[status].includes(runtimeStatus)) return status;
  }
  return 'running';
}

export interface WriteClassification {
  status: SupportStatus;
  outcome: WriteOutcomeClass;
  /** A short reason for anything other than success, free of personal data. */
  reason?: string;
  /** True when support should act: failed or compensated writes. */
  needsAttention: boolean;
  /** Whether the audit register confirmed a final outcome for the write. */
  auditComplete?: boolean;
}

const FINAL_AUDIT = new Set(['succeeded', 'rejected', 'failed', 'compensated']);

function isWriteResult(value: unknown): value is WriteResult {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Partial<WriteResult>;
  return typeof result.outcome === 'string' && Array.isArray(result.auditRecorded);
}

export function classifyWrite(instance: { runtimeStatus: string; output?: unknown }): WriteClassification {
  const status = supportStatusOf(instance.runtimeStatus);
  if (status === 'running') return { status, outcome: 'inProgress', needsAttention: false };
  if (status === 'terminated') {
    const reason =
      typeof instance.output === 'string' && instance.output !== '' ? `terminated: ${instance.output}` : 'terminated';
    return { status, outcome: 'failed', reason, needsAttention: true };
  }
  if (status === 'failed') {
    const reason =
      typeof instance.output === 'string' ? (instance.output.split(/\r?\n/, 1)[0] ?? 'failed') : 'orchestration failed';
    return { status, outcome: 'failed', reason, needsAttention: true };
  }
  const output = instance.output;
  if (!isWriteResult(output))
    return { status, outcome: 'failed', reason: 'completed without a write result', needsAttention: true };
  const auditComplete = output.auditRecorded.some((outcome) => FINAL_AUDIT.has(outcome));
  switch (output.outcome) {
    case 'created':
    case 'updated':
    case 'deleted':
      return { status, outcome: 'succeeded', needsAttention: !auditComplete, auditComplete };
    case 'notFound':
    case 'conflict':
      return { status, outcome: 'rejected', reason: output.outcome, needsAttention: false, auditComplete };
    case 'unavailable': {
      const step = output.failure?.step ?? 'unknown';
      if (output.failure?.compensated === true)
        return {
          status,
          outcome: 'compensated',
          reason: `${step} unavailable; change undone`,
          needsAttention: true,
          auditComplete,
        };
      return {
        status,
        outcome: 'failed',
        reason: `${step} unavailable; nothing changed`,
        needsAttention: true,
        auditComplete,
      };
    }
    default:
      return { status, outcome: 'failed', reason: 'unknown write outcome', needsAttention: true, auditComplete };
  }
}

/** The write kind an orchestrator name stands for, or undefined for an orchestration that is not a write. */
export function writeKindOf(orchestratorName: string): WriteKind | undefined {
  return WRITE_KINDS.find((kind) => ORCHESTRATION_NAMES[kind].toLowerCase() === orchestratorName.toLowerCase());
}
