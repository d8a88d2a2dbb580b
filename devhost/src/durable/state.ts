/**
 * The engine's persistent model. Three collections per task hub, prefixed by the hub name:
 *
 * - `<hub>_instances`: one summary document per instance (status, input, output, custom status,
 *   times, current execution id). Queries and the status API read it; only the engine writes it,
 *   one instance at a time.
 * - `<hub>_history`: one document per orchestrator episode ("batch"), inserted once and never
 *   updated. Inserting it is the episode's commit point: it carries the episode's history events,
 *   the id of the inbox message it consumed, the messages it sends to other instances, and a
 *   snapshot of the execution's scheduling state (sequence numbers, outstanding tasks, retries).
 * - `<hub>_inbox`: messages waiting for an instance (activity results, timer firings, external
 *   events, sub-orchestration results, terminate/suspend/resume, sub-orchestration creation), each
 *   with a unique id, so a message inserted twice is stored once.
 *
 * After a crash the latest batch of each unfinished instance says everything: its outstanding
 * activities run again unless their result message is already in the inbox, its timers are armed
 * again, and its outgoing messages are sent again (unique ids make that harmless).
 */
import type { Collection, Db } from 'mongodb';

import type { LeafRecord, RetryPolicy } from './actions';
import type { DurableEngineOptions } from './contract';
import type { HistoryEvent, RuntimeStatus } from './history';
import { HubWriter } from './hub-writer';
import { retryingCollection } from './store-retry';

export interface ParentLink {
  instanceId: string;
  executionId: string;
  seq: number;
}

export interface InstanceDocument {
  _id: string;
  name: string;
  executionId: string;
  status: RuntimeStatus;
  /** JSON text of the current execution's input; null when started without one. */
  input: string | null;
  output: string | null;
  customStatus: string | null;
  createdTime: Date;
  lastUpdatedTime: Date;
  parent: ParentLink | null;
  /** Id of the inbox message that created this instance (sub-orchestrations), for duplicate detection. */
  createdBy: string | null;
}

/** An outstanding piece of work the execution waits for. */
export interface TaskRecord {
  seq: number;
  kind: 'activity' | 'timer' | 'suborchestration';
  name?: string;
  /** Activity: wire input (JSON text). Sub-orchestration: JSON text of its input. */
  input?: string;
  fireAt?: string;
  childInstanceId?: string;
  /** The first sequence number of the retry group this task belongs to. */
  group?: number;
}

export interface RetryGroup {
  /** First attempt's sequence number: identifies the group. */
  id: number;
  kind: 'activity' | 'suborchestration';
  name: string;
  input: string;
  policy: RetryPolicy;
  /** Attempts started so far. */
  attempts: number;
  firstAttemptAt: number;
  childInstanceId?: string;
  /** When the retry timeout has passed: attempts after it fail at once with this failure. */
  expiredFailure?: { reason: string; details: string };
}

export interface ExecutionSnapshot {
  nextSeq: number;
  leaves: LeafRecord[];
  tasks: TaskRecord[];
  groups: RetryGroup[];
}

export interface OutboxItem {
  to: string;
  /** The inbox message id: deterministic, so sending it again after a crash stores it once. */
  id: string;
  message: InboxMessage;
}

export interface BatchDocument {
  _id: string;
  instanceId: string;
  executionId: string;
  /** Position within the execution. */
  n: number;
  /** Position across executions of this instance; the highest is the latest state. */
  ordinal: number;
  at: Date;
  events: HistoryEvent[];
  consumed: string[];
  outbox: OutboxItem[];
  snapshot: ExecutionSnapshot;
  status: RuntimeStatus;
  customStatus: string | null;
  output: string | null;
  /** Set on a continue-as-new episode: the execution that follows. */
  continuedAs?: { executionId: string; input: string | null };
}

export type InboxMessage =
  | { kind: 'activityResult'; executionId: string; seq: number; ok: true; result: string }
  | {
      kind: 'activityResult';
      executionId: string;
      seq: number;
      ok: false;
      reason: string;
      details: string;
      failureDetails?: unknown;
    }
  | { kind: 'subOrchestrationResult'; executionId: string; seq: number; ok: true; result: string }
  | { kind: 'subOrchestrationResult'; executionId: string; seq: number; ok: false; reason: string; details: string }
  | { kind: 'timerFired'; executionId: string; seq: number; fireAt: string }
  | { kind: 'event'; name: string; input: string | null }
  | { kind: 'terminate'; reason: string }
  | { kind: 'suspend'; reason: string }
  | { kind: 'resume'; reason: string }
  | { kind: 'create'; name: string; input: string | null; parent: ParentLink };

export interface InboxDocument {
  _id: string;
  instanceId: string;
  /** Arrival order. */
  stamp: number;
  message: InboxMessage;
}

export interface TaskHubCollections {
  instances: Collection<InstanceDocument>;
  history: Collection<BatchDocument>;
  inbox: Collection<InboxDocument>;
  /** The hub's one writer: every write above takes its turn there, and the hot path uses it directly. */
  writer: HubWriter;
  /** The same collections without the retrying view, for the writer's own combined writes. */
  raw: { history: Collection<BatchDocument>; inbox: Collection<InboxDocument> };
}

export function taskHubCollections(db: Db, hubName: string, log: DurableEngineOptions['log']): TaskHubCollections {
  const instances = db.collection<InstanceDocument>(`${hubName}_instances`);
  const history = db.collection<BatchDocument>(`${hubName}_history`);
  const inbox = db.collection<InboxDocument>(`${hubName}_inbox`);
  const writer = new HubWriter(instances as unknown as Collection<{ _id: string }>, log);
  return {
    instances: retryingCollection(instances, writer),
    history: retryingCollection(history, writer),
    inbox: retryingCollection(inbox, writer),
    writer,
    raw: { history, inbox },
  };
}

/** One createIndex call per index (the store's rule). */
export async function ensureIndexes(collections: TaskHubCollections): Promise<void> {
  await collections.history.createIndex({ instanceId: 1, ordinal: 1 });
  await collections.inbox.createIndex({ instanceId: 1 });
  await collections.instances.createIndex({ status: 1 });
  await collections.instances.createIndex({ createdTime: 1 });
}

export function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

export function emptySnapshot(): ExecutionSnapshot {
  return { nextSeq: 0, leaves: [], tasks: [], groups: [] };
}
