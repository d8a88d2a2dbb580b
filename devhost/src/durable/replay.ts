/**
 * Replays a recorded orchestration history against today's orchestrator code and reports success
 * or the first divergence (nondeterminism): the same checks the engine makes while running, done
 * offline, episode by episode. Pure: no store, no clock, no host; `invoke` runs the orchestrator.
 * The support and replay tooling use it on exported histories (`npm run replay`).
 */
import {
  type Action,
  ActionType,
  describeLeaf,
  describeRecorded,
  findDivergence,
  leafActions,
  leafName,
  type LeafRecord,
} from './actions';
import { orchestratorBinding } from './binding';
import type { HistoryEvent, OrchestratorOutcome } from './contract';
import { EventType, eventTypeNames, jsonText, OrchestrationStatus } from './history';

export type { HistoryEvent };

export interface ReplayOptions {
  /** Runs the orchestrator once on a trigger binding, as the host would (e.g. `invoker.invokeOrchestrator(name, binding)`). */
  invoke: (binding: ReturnType<typeof orchestratorBinding>) => Promise<OrchestratorOutcome> | OrchestratorOutcome;
  /** The instance id to replay as, when the history's ExecutionStarted does not carry one. */
  instanceId?: string;
}

export type ReplayResult =
  | {
      ok: true;
      /** Orchestrator episodes replayed. */
      episodes: number;
      /** Where the recorded history ends. */
      status: 'Running' | 'Completed' | 'Failed' | 'ContinuedAsNew' | 'Terminated';
    }
  | {
      ok: false;
      /** 1-based orchestrator episode (OrchestratorStarted) where the replay diverged. */
      episode: number;
      /** The sequence number involved, when the divergence concerns a scheduled task. */
      sequenceNumber?: number;
      /** What the history recorded, and what the orchestrator does now. */
      recorded: string;
      now: string;
      message: string;
    };

const schedulingTypes: readonly number[] = [
  EventType.TaskScheduled,
  EventType.TimerCreated,
  EventType.SubOrchestrationInstanceCreated,
  EventType.EventSent,
];
const markerTypes: readonly number[] = [EventType.OrchestratorStarted, EventType.OrchestratorCompleted];
const terminalTypes: readonly number[] = [
  EventType.ExecutionCompleted,
  EventType.ExecutionFailed,
  EventType.ExecutionTerminated,
  EventType.ContinueAsNew,
];

interface RetryGroupState {
  attempts: number;
  max: number;
}

/** Accepts raw DTFx events, also with EventType as a name (as exported status histories carry it). */
function normalise(history: readonly HistoryEvent[]): HistoryEvent[] {
  return history.map((event) => {
    const type: unknown = event.EventType;
    if (typeof type === 'string') return { ...event, EventType: eventTypeNames.indexOf(type) };
    return event;
  });
}

function splitEpisodes(history: readonly HistoryEvent[]): { start: number; end: number }[] {
  const episodes: { start: number; end: number }[] = [];
  history.forEach((event, index) => {
    if (event.EventType === EventType.OrchestratorStarted) {
      const previous = episodes[episodes.length - 1];
      if (previous) previous.end = index;
      episodes.push({ start: index, end: history.length });
    }
  });
  return episodes;
}

function describeScheduled(event: HistoryEvent): string {
  if (event.EventType === EventType.TaskScheduled) return `TaskScheduled '${String(event.Name)}'`;
  if (event.EventType === EventType.SubOrchestrationInstanceCreated)
    return `SubOrchestrationInstanceCreated '${String(event.Name)}'`;
  if (event.EventType === EventType.TimerCreated) return 'TimerCreated';
  return eventTypeNames[event.EventType] ?? String(event.EventType);
}

function matches(action: Action, event: HistoryEvent): boolean {
  switch (action.actionType) {
    case ActionType.CallActivity:
    case ActionType.CallActivityWithRetry:
      return event.EventType === EventType.TaskScheduled && event.Name === action.functionName;
    case ActionType.CallSubOrchestrator:
    case ActionType.CallSubOrchestratorWithRetry:
      return event.EventType === EventType.SubOrchestrationInstanceCreated && event.Name === action.functionName;
    case ActionType.CreateTimer:
      return event.EventType === EventType.TimerCreated;
    default:
      return false;
  }
}

const isRetry = (action: Action): boolean =>
  action.actionType === ActionType.CallActivityWithRetry ||
  action.actionType === ActionType.CallSubOrchestratorWithRetry;

export async function replayHistory(
  recordedHistory: readonly HistoryEvent[],
  options: ReplayOptions,
): Promise<ReplayResult> {
  const history = normalise(recordedHistory);
  const started = history.find((e) => e.EventType === EventType.ExecutionStarted);
  if (!started) {
    return {
      ok: false,
      episode: 0,
      recorded: 'no ExecutionStarted event',
      now: '-',
      message: 'The history has no ExecutionStarted event; it cannot be replayed.',
    };
  }
  const instance = started.OrchestrationInstance as { InstanceId?: string } | undefined;
  const parent = started.ParentInstance as { OrchestrationInstance?: { InstanceId?: string } } | undefined;
  const instanceId = instance?.InstanceId ?? options.instanceId ?? 'replay';
  const inputText = started.Input as string | null | undefined;
  const input = inputText === undefined || inputText === null ? undefined : (JSON.parse(inputText) as unknown);

  const leaves: LeafRecord[] = [];
  const groups = new Map<number, RetryGroupState>();
  const seqToGroup = new Map<number, number>();
  const episodes = splitEpisodes(history);
  let status: Extract<ReplayResult, { ok: true }>['status'] = 'Running';

  for (const [index, { start, end }] of episodes.entries()) {
    const number = index + 1;
    const events = history.slice(start, end);
    const delivered = events.filter(
      (e) =>
        !schedulingTypes.includes(e.EventType) &&
        !markerTypes.includes(e.EventType) &&
        !terminalTypes.includes(e.EventType),
    );
    const scheduled = events.filter((e) => schedulingTypes.includes(e.EventType));
    const terminal = events.find((e) => terminalTypes.includes(e.EventType));
    const diverged = (
      recorded: string,
      now: string,
      sequenceNumber?: number,
    ): Extract<ReplayResult, { ok: false }> => ({
      ok: false,
      episode: number,
      ...(sequenceNumber === undefined ? {} : { sequenceNumber }),
      recorded,
      now,
      message: `Non-deterministic orchestrator: in episode ${number}${sequenceNumber === undefined ? '' : ` at sequence number ${sequenceNumber}`} the history recorded ${recorded}, but the orchestrator now ${now}.`,
    });

    // Episodes the host handles alone (a retry's timer, a retry's next attempt) do not run the orchestrator.
    const only = delivered.length === 1 ? delivered[0] : undefined;
    if (
      only &&
      (only.EventType === EventType.TaskFailed || only.EventType === EventType.SubOrchestrationInstanceFailed)
    ) {
      const groupId = seqToGroup.get(only.TaskScheduledId as number);
      const timer = scheduled.find((e) => e.EventType === EventType.TimerCreated);
      if (groupId !== undefined && timer) {
        seqToGroup.set(timer.EventId, groupId);
        continue;
      }
    }
    if (only?.EventType === EventType.TimerFired) {
      const groupId = seqToGroup.get(only.TimerId as number);
      const group = groupId === undefined ? undefined : groups.get(groupId);
      const attempt = scheduled.find(
        (e) => e.EventType === EventType.TaskScheduled || e.EventType === EventType.SubOrchestrationInstanceCreated,
      );
      if (groupId !== undefined && group && group.attempts < group.max && attempt) {
        group.attempts += 1;
        seqToGroup.set(attempt.EventId, groupId);
        continue;
      }
    }
    const runs = delivered.some(
      (e) =>
        e.EventType !== EventType.ExecutionSuspended &&
        e.EventType !== EventType.ExecutionResumed &&
        e.EventType !== EventType.ExecutionTerminated,
    );
    if (terminal?.EventType === EventType.ExecutionTerminated) status = 'Terminated';
    if (!runs) continue;

    const prefix = [
      ...history.slice(0, start),
      ...events.filter(
        (e) =>
          !schedulingTypes.includes(e.EventType) &&
          !terminalTypes.includes(e.EventType) &&
          e.EventType !== EventType.OrchestratorCompleted,
      ),
    ];
    const outcome = await options.invoke(
      orchestratorBinding({
        history: prefix,
        input,
        instanceId,
        parentInstanceId: parent?.OrchestrationInstance?.InstanceId ?? null,
      }),
    );
    const state = outcome.state;
    const actions = leafActions(state?.actions);
    const divergence = findDivergence(leaves, actions);
    if (divergence) {
      const at =
        actions.length < leaves.length
          ? leaves[actions.length]
          : leaves.find((leaf, i) => {
              const action = actions[i];
              return !action || action.actionType !== leaf.actionType || leafName(action) !== leaf.name;
            });
      const action = at ? actions[leaves.indexOf(at)] : undefined;
      return {
        ...diverged(
          at ? describeRecorded(at) : 'a different action',
          action
            ? `schedules ${describeLeaf({ actionType: action.actionType, name: leafName(action) })}`
            : 'no longer schedules it',
          at?.seq,
        ),
        message: divergence,
      };
    }

    const recordedStatus =
      terminal?.EventType === EventType.ContinueAsNew
        ? 'ContinuedAsNew'
        : terminal?.EventType === EventType.ExecutionCompleted
          ? terminal.OrchestrationStatus === OrchestrationStatus.Failed
            ? 'Failed'
            : 'Completed'
          : terminal?.EventType === EventType.ExecutionFailed
            ? 'Failed'
            : 'Running';
    const nowStatus = !outcome.ok
      ? 'Failed'
      : state?.isDone
        ? actions.some((a) => a.actionType === ActionType.ContinueAsNew)
          ? 'ContinuedAsNew'
          : 'Completed'
        : 'Running';
    if (recordedStatus !== nowStatus) {
      const describe = (s: string): string =>
        s === 'Running'
          ? 'continued running'
          : s === 'Failed'
            ? 'failed'
            : s === 'Completed'
              ? 'completed'
              : 'continued as new';
      const reason = !outcome.ok ? `: ${(state?.error ?? outcome.error).split('\n')[0] ?? ''}` : '';
      return diverged(`that the orchestration ${describe(recordedStatus)}`, `${describe(nowStatus)}${reason}`);
    }
    if (recordedStatus === 'Completed' && terminal && jsonText(state?.output) !== (terminal.Result ?? 'null')) {
      return diverged(`the output ${String(terminal.Result)}`, `returns ${jsonText(state?.output)}`);
    }
    if (recordedStatus !== 'Running') {
      status = recordedStatus;
      continue;
    }

    // New actions must match what the episode scheduled, in order.
    const fresh = actions.slice(leaves.length);
    const queue = scheduled.filter((e) => e.EventType !== EventType.EventSent);
    for (const action of fresh) {
      if (action.actionType === ActionType.WaitForExternalEvent) {
        leaves.push({ actionType: action.actionType, name: leafName(action) });
        continue;
      }
      const event = queue.shift();
      const now = `schedules ${describeLeaf({ actionType: action.actionType, name: leafName(action) })}`;
      if (!event) return diverged('nothing more in this episode', now);
      if (!matches(action, event)) return diverged(describeScheduled(event), now, event.EventId);
      leaves.push({ actionType: action.actionType, name: leafName(action), seq: event.EventId });
      if (isRetry(action)) {
        groups.set(event.EventId, { attempts: 1, max: action.retryOptions?.maxNumberOfAttempts ?? 1 });
        seqToGroup.set(event.EventId, event.EventId);
      }
    }
    const extra = queue[0];
    if (extra) return diverged(describeScheduled(extra), 'does not schedule it', extra.EventId);
  }
  return { ok: true, episodes: episodes.length, status };
}
