/**
 * Orchestration history in the two shapes it reaches support tools, read into one.
 *
 * - The management API's status-with-history (`GET instances/{id}?showHistory=true&showHistoryOutput=true`,
 *   Azure and the devhost alike): `EventType` is a string, scheduling events (TaskScheduled,
 *   SubOrchestrationInstanceCreated, OrchestratorStarted/Completed) are removed and merged into their
 *   completion as `FunctionName` + `ScheduledTime`, `EventId`/`TimerId` are dropped, `Result` is parsed JSON.
 * - The raw Durable Task history the orchestrator binding carries: `EventType` is a number, every
 *   event is present with its `EventId`, and `Result` is JSON text.
 *
 * `readHistory` turns either into `RecordedEvent`s in the first shape, keeping sequence ids when the
 * source has them, so the timeline and the replayer work from one model.
 */

/** Durable Task `HistoryEventType`, indexed by its numeric value. */
export const HISTORY_EVENT_TYPES = [
  'ExecutionStarted',
  'ExecutionCompleted',
  'ExecutionFailed',
  'ExecutionTerminated',
  'TaskScheduled',
  'TaskCompleted',
  'TaskFailed',
  'SubOrchestrationInstanceCreated',
  'SubOrchestrationInstanceCompleted',
  'SubOrchestrationInstanceFailed',
  'TimerCreated',
  'TimerFired',
  'OrchestratorStarted',
  'OrchestratorCompleted',
  'EventSent',
  'EventRaised',
  'ContinueAsNew',
  'GenericEvent',
  'HistoryState',
  'ExecutionSuspended',
  'ExecutionResumed',
] as const;

export type HistoryEventTypeName = (typeof HISTORY_EVENT_TYPES)[number];

/** One history event, in the management API's (merged) shape. */
export interface RecordedEvent {
  type: HistoryEventTypeName;
  /** ISO-8601. For completions: when the completion was recorded. */
  timestamp: string;
  /** Function name (activity, sub-orchestration, orchestrator for ExecutionStarted) or event name. */
  name?: string;
  /** For completions: when the task was scheduled. */
  scheduledTime?: string;
  input?: unknown;
  result?: unknown;
  /** Failure text (`Reason`, or `FailureDetails.ErrorMessage`). */
  reason?: string;
  details?: string;
  failureType?: string;
  /** Timers. */
  fireAt?: string;
  /** ExecutionCompleted: `Completed`, `Failed`, … */
  orchestrationStatus?: string;
  /** Sub-orchestration instance id, when the source has it. */
  instanceId?: string;
  /** The sequence number the task or timer had (raw histories only). */
  sequenceId?: number;
  /**
   * Raw histories only: the time of the orchestrator episode that received this event (the
   * OrchestratorStarted before it), which is what `currentUtcDateTime` read. Replay uses it.
   */
  episodeTime?: string;
  /** The event exactly as read. */
  raw: Record<string, unknown>;
}

export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  return undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** Raw histories carry results and inputs as JSON text; parse them when they are. */
function parseJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

function eventTypeOf(raw: Record<string, unknown>, index: number): HistoryEventTypeName {
  const type = raw.EventType ?? raw.eventType;
  if (typeof type === 'number') {
    const name = HISTORY_EVENT_TYPES[type];
    if (name !== undefined) return name;
  }
  if (typeof type === 'string' && (HISTORY_EVENT_TYPES as readonly string[]).includes(type))
    return type as HistoryEventTypeName;
  throw new HistoryFormatError(`history event ${index} has an unknown EventType: ${JSON.stringify(type)}`);
}

function failureOf(raw: Record<string, unknown>): Pick<RecordedEvent, 'reason' | 'details' | 'failureType'> {
  const details = raw.FailureDetails ?? raw.failureDetails;
  const out: Pick<RecordedEvent, 'reason' | 'details' | 'failureType'> = {};
  const reason = text(raw.Reason);
  const detail = text(raw.Details);
  if (isRecord(details)) {
    const message = text(details.ErrorMessage ?? details.errorMessage);
    const type = text(details.ErrorType ?? details.errorType);
    if (message !== undefined) out.reason = message;
    if (type !== undefined) out.failureType = type;
    const stack = text(details.StackTrace ?? details.stackTrace);
    if (stack !== undefined) out.details = stack;
  }
  if (reason !== undefined) out.reason = reason;
  if (detail !== undefined) out.details = detail;
  return out;
}

/**
 * Reads a history array in either shape. Throws `HistoryFormatError` when it is not one.
 * Scheduling events of the raw shape are merged into their completions; a task or sub-orchestration
 * scheduled but not finished is kept as its `TaskScheduled`/`SubOrchestrationInstanceCreated` event.
 */
export function readHistory(events: unknown): RecordedEvent[] {
  if (!Array.isArray(events)) throw new HistoryFormatError('history is not an array of events');
  const rows = events.map((event, index) => {
    if (!isRecord(event)) throw new HistoryFormatError(`history event ${index} is not an object`);
    return { raw: event, type: eventTypeOf(event, index) };
  });
  const isRawShape = rows.some(({ raw }) => typeof (raw.EventType ?? raw.eventType) === 'number');

  const scheduled = new Map<number, RecordedEvent>();
  const completedIds = new Set<number>();
  if (isRawShape) {
    for (const { raw, type } of rows) {
      if (
        type === 'TaskCompleted' ||
        type === 'TaskFailed' ||
        type === 'SubOrchestrationInstanceCompleted' ||
        type === 'SubOrchestrationInstanceFailed'
      ) {
        const id = num(raw.TaskScheduledId);
        if (id !== undefined) completedIds.add(id);
      }
    }
  }

  const out: RecordedEvent[] = [];
  let episodeTime: string | undefined;
  for (const { raw, type } of rows) {
    const timestamp = text(raw.Timestamp ?? raw.timestamp) ?? '';
    if (type === 'OrchestratorStarted') episodeTime = timestamp;
    const base: RecordedEvent = { type, timestamp, raw };
    if (episodeTime !== undefined) base.episodeTime = episodeTime;
    const name = text(raw.FunctionName ?? raw.Name ?? raw.name);
    if (name !== undefined) base.name = name;
    switch (type) {
      case 'OrchestratorStarted':
      case 'OrchestratorCompleted':
      case 'GenericEvent':
      case 'HistoryState':
        continue;
      case 'TaskScheduled':
      case 'SubOrchestrationInstanceCreated': {
        const id = num(raw.EventId);
        const event: RecordedEvent = {
          ...base,
          input: isRawShape ? parseJsonText(raw.Input) : raw.Input,
          scheduledTime: timestamp,
        };
        const instanceId = text(raw.InstanceId);
        if (instanceId !== undefined) event.instanceId = instanceId;
        if (id !== undefined) {
          event.sequenceId = id;
          scheduled.set(id, event);
          if (completedIds.has(id)) continue;
        }
        out.push(event);
        continue;
      }
      case 'TaskCompleted':
      case 'TaskFailed':
      case 'SubOrchestrationInstanceCompleted':
      case 'SubOrchestrationInstanceFailed': {
        const id = num(raw.TaskScheduledId);
        const origin = id === undefined ? undefined : scheduled.get(id);
        const event: RecordedEvent = { ...base, ...failureOf(raw) };
        if (id !== undefined) event.sequenceId = id;
        if (origin !== undefined) {
          if (origin.name !== undefined) event.name = origin.name;
          event.scheduledTime = origin.timestamp;
          if (origin.input !== undefined) event.input = origin.input;
          if (origin.instanceId !== undefined) event.instanceId = origin.instanceId;
        }
        const scheduledTime = text(raw.ScheduledTime);
        if (scheduledTime !== undefined) event.scheduledTime = scheduledTime;
        if ('Input' in raw) event.input = isRawShape ? parseJsonText(raw.Input) : raw.Input;
        if ('Result' in raw) event.result = isRawShape ? parseJsonText(raw.Result) : raw.Result;
        out.push(event);
        continue;
      }
      case 'TimerCreated':
      case 'TimerFired': {
        const event: RecordedEvent = { ...base };
        const fireAt = text(raw.FireAt);
        if (fireAt !== undefined) event.fireAt = fireAt;
        const id = type === 'TimerCreated' ? num(raw.EventId) : num(raw.TimerId);
        if (id !== undefined) event.sequenceId = id;
        out.push(event);
        continue;
      }
      case 'ExecutionStarted':
      case 'EventRaised':
      case 'EventSent':
      case 'ContinueAsNew': {
        const event: RecordedEvent = { ...base };
        if ('Input' in raw) event.input = isRawShape ? parseJsonText(raw.Input) : raw.Input;
        out.push(event);
        continue;
      }
      case 'ExecutionCompleted':
      case 'ExecutionFailed': {
        const event: RecordedEvent = { ...base, ...failureOf(raw) };
        const status =
          text(raw.OrchestrationStatus) ??
          (typeof raw.OrchestrationStatus === 'number' ? ORCHESTRATION_STATUS[raw.OrchestrationStatus] : undefined);
        if (status !== undefined) event.orchestrationStatus = status;
        if ('Result' in raw) event.result = isRawShape ? parseJsonText(raw.Result) : raw.Result;
        out.push(event);
        continue;
      }
      case 'ExecutionTerminated': {
        const event: RecordedEvent = { ...base };
        const reason = text(raw.Input) ?? text(raw.Reason);
        if (reason !== undefined) event.reason = reason;
        out.push(event);
        continue;
      }
      default:
        out.push(base);
    }
  }
  return out;
}

/** DTFx `OrchestrationStatus` by number, as raw ExecutionCompleted events carry it. */
const ORCHESTRATION_STATUS: Record<number, string> = {
  0: 'Running',
  1: 'Completed',
  2: 'ContinuedAsNew',
  3: 'Failed',
  4: 'Canceled',
  5: 'Terminated',
  6: 'Pending',
  7: 'Suspended',
};

/**
 * An instance's status as the management API answers it (`DurableOrchestrationStatus` fields), with
 * the history under `historyEvents` (Azure) or `history` (the JS client, durable-js #620).
 */
export interface InstanceStatusLike {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  createdTime?: string | Date;
  lastUpdatedTime?: string | Date;
  input?: unknown;
  output?: unknown;
  customStatus?: unknown;
  history?: unknown;
  historyEvents?: unknown;
}

/** The history array of a status body, whichever key carries it; `undefined` when it has none. */
export function historyOf(status: InstanceStatusLike): unknown[] | undefined {
  if (Array.isArray(status.historyEvents)) return status.historyEvents as unknown[];
  if (Array.isArray(status.history)) return status.history as unknown[];
  return undefined;
}
