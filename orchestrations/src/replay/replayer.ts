/**
 * Replays a recorded orchestration against today's orchestrator code with the real
 * durable-functions engine, and stops at the first divergence.
 *
 * The replayer plays the Durable host's part from the recording (durable-protocol.md §3.6–§3.7):
 * it starts the orchestrator with the recorded input, and delivers the recorded completions one per
 * episode, numbering tasks and timers the way the host does (retry timers after every failed
 * attempt, the next attempt when the timer fires and attempts remain). After every episode it
 * compares the actions today's code asks for with the steps the recording shows:
 *
 * - another activity, order, action type, or a step missing or extra: a divergence (what DTFx
 *   reports as non-determinism), the recorded step beside today's action;
 * - the same steps with other inputs: a warning (inputs carry orchestration time, which the
 *   management API's history does not record exactly), fatal with `strictInputs`;
 * - another final output or failure: a divergence.
 *
 * Nothing runs but the orchestrator: no activities, no store, no host.
 */
import type { RecordedEvent } from '../support/history';
import type { TimelineOptions, TimelineStep } from '../support/timeline';
import { buildTimeline } from '../support/timeline';
import { WRITE_TIMELINE_OPTIONS } from '../support/write-timeline';
import type { Recording } from './recording';

/** The orchestrator's reply to one episode (durable-protocol.md §3.3), after a JSON round trip. */
export interface EpisodeState {
  isDone: boolean;
  actions: unknown[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

/** The raw binding an orchestrator function receives (durable-protocol.md §3.2). */
export interface EpisodeBinding {
  history: RawEvent[];
  input: unknown;
  instanceId: string;
  isReplaying: boolean;
  parentInstanceId: string | null;
  upperSchemaVersion: number;
  upperSchemaVersionNew: number;
  longRunningTimerIntervalDuration: string;
  maximumShortTimerDuration: string;
  defaultHttpAsyncRequestSleepTimeMillseconds: number;
}

/** Invokes orchestrator `name` once over `binding`; answers its state (with `error` when it failed). */
export type EpisodeInvoker = (name: string, binding: EpisodeBinding) => Promise<EpisodeState>;

interface RawEvent {
  EventType: number;
  EventId: number;
  Timestamp: string;
  IsPlayed: boolean;
  [field: string]: unknown;
}

/** One line of the path today's code took through the recording. */
export interface ReplayPathLine {
  step: number;
  /** e.g. `activity auditWriteActivity`, `timer`, `retry auditWriteActivity (attempt 2)`, `event Approve`. */
  what: string;
  outcome: string;
}

export interface ReplayDivergence {
  /** The recorded step (or end) where the paths part. */
  step: number;
  message: string;
  /** The recorded event or step, in one line. */
  recorded: string;
  /** Today's action or result, in one line. */
  today: string;
}

export interface ReplayResult {
  orchestrator: string;
  instanceId: string;
  ok: boolean;
  path: ReplayPathLine[];
  warnings: string[];
  divergence?: ReplayDivergence;
  /** `completed`, `failed`, or `running` when the recording ends before the orchestration does. */
  end: 'completed' | 'failed' | 'running' | 'terminated' | 'diverged';
  episodes: number;
}

export interface ReplayOptions {
  /** Treat input differences as divergences. */
  strictInputs?: boolean;
  /** Bound on episodes (default 10,000) so a malformed recording cannot loop. */
  maxEpisodes?: number;
  /** Labels for recorded steps (default: the write orchestrations' labels). */
  timeline?: TimelineOptions;
}

const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  WhenAny: 11,
  WhenAll: 12,
} as const;

const ACTION_NAMES: Record<number, string> = {
  0: 'CallActivity',
  1: 'CallActivityWithRetry',
  2: 'CallSubOrchestrator',
  3: 'CallSubOrchestratorWithRetry',
  4: 'ContinueAsNew',
  5: 'CreateTimer',
  6: 'WaitForExternalEvent',
  7: 'CallEntity',
  8: 'CallHttp',
  9: 'SignalEntity',
  13: 'LockEntities',
  14: 'ReleaseEntities',
};

interface Leaf {
  actionType: number;
  functionName?: string;
  input?: unknown;
  instanceId?: string;
  retryOptions?: { maxNumberOfAttempts?: number; firstRetryIntervalInMilliseconds?: number };
  fireAt?: string;
  externalEventName?: string;
}

function leavesOf(actions: unknown): Leaf[] {
  const out: Leaf[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const action = node as Leaf & { compoundActions?: unknown[] };
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      walk(action.compoundActions ?? []);
      return;
    }
    out.push(action);
  };
  walk(actions);
  return out;
}

/** Activity and continue-as-new inputs are JSON-encoded again when they are strings (§3.8). */
function decodedInput(leaf: Leaf): unknown {
  if (leaf.actionType === ActionType.CallActivity || leaf.actionType === ActionType.CallActivityWithRetry) {
    if (typeof leaf.input === 'string') {
      try {
        return JSON.parse(leaf.input) as unknown;
      } catch {
        return leaf.input;
      }
    }
  }
  return leaf.input;
}

function describeLeaf(leaf: Leaf): string {
  const type = ACTION_NAMES[leaf.actionType] ?? `action ${leaf.actionType}`;
  if (leaf.functionName !== undefined) return `${type} ${leaf.functionName}`;
  if (leaf.externalEventName !== undefined) return `${type} ${leaf.externalEventName}`;
  if (leaf.fireAt !== undefined) return `${type} (fires ${leaf.fireAt})`;
  return type;
}

function describeStep(step: TimelineStep): string {
  const kind =
    step.kind === 'activity' ? 'activity' : step.kind === 'subOrchestration' ? 'sub-orchestration' : step.kind;
  const label = step.label !== undefined && step.label !== step.name ? ` (${step.label})` : '';
  const attempts = step.attempts > 1 ? `, ${step.attempts} attempts` : '';
  return `${kind} ${step.name}${label}: ${step.status}${attempts}`;
}

function describeEvent(event: RecordedEvent): string {
  const name = event.name === undefined ? '' : ` ${event.name}`;
  return `${event.type}${name} at ${event.timestamp}`;
}

function stable(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}

function firstLine(text: string): string {
  return (text.split(/\r?\n/, 1)[0] ?? '').trim();
}

/** A step the recording shows the orchestrator asked for: an activity, sub-orchestration or timer. */
interface RecordedCall {
  step: TimelineStep;
  kind: 'task' | 'timer';
  input?: unknown;
  claimed: boolean;
}

interface PendingTask {
  id: number;
  name: string;
  input: unknown;
  subOrchestration: boolean;
  retry?: { max: number; attempt: number };
  call: RecordedCall | undefined;
}

interface PendingTimer {
  id: number;
  fireAt: string;
  /** Set for a host retry timer: the task to schedule again when it fires. */
  retryOf?: PendingTask;
  /** Whether the recording's TimerCreated was seen for it. */
  created: boolean;
}

class Divergence extends Error {
  constructor(readonly detail: ReplayDivergence) {
    super(detail.message);
  }
}

export async function replay(
  recording: Recording,
  invoke: EpisodeInvoker,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const maxEpisodes = options.maxEpisodes ?? 10_000;
  const result: ReplayResult = {
    orchestrator: recording.orchestrator,
    instanceId: recording.instanceId,
    ok: false,
    path: [],
    warnings: [],
    end: 'running',
    episodes: 0,
  };

  // The orchestrator's own steps as recorded: first attempts of tasks, and timers that are not retry delays.
  const timeline = buildTimeline(recording.events, options.timeline ?? WRITE_TIMELINE_OPTIONS);
  const calls: RecordedCall[] = timeline.steps
    .filter((step) => step.kind === 'activity' || step.kind === 'subOrchestration' || step.kind === 'timer')
    .map((step) => ({ step, kind: step.kind === 'timer' ? 'timer' : 'task', claimed: false }));
  // Inputs of first attempts, in recorded order (the timeline keeps no inputs; the events do).
  {
    const seen = new Set<string>();
    let callIndex = 0;
    const taskCalls = calls.filter((call) => call.kind === 'task');
    for (const event of recording.events) {
      if (
        ![
          'TaskCompleted',
          'TaskFailed',
          'TaskScheduled',
          'SubOrchestrationInstanceCompleted',
          'SubOrchestrationInstanceFailed',
          'SubOrchestrationInstanceCreated',
        ].includes(event.type)
      )
        continue;
      const key = `${event.name ?? ''}|${stable(event.input)}`;
      const call = taskCalls[callIndex];
      if (call === undefined) break;
      if (event.name === call.step.name && !seen.has(key)) {
        if (event.input !== undefined) call.input = event.input;
        seen.add(key);
        callIndex += 1;
      }
    }
  }

  const history: RawEvent[] = [];
  let nextId = 0;
  let mappedLeaves = 0;
  const tasks: PendingTask[] = [];
  const timers: PendingTimer[] = [];
  let state: EpisodeState = { isDone: false, actions: [] };
  let lastTime = recording.events[0]?.timestamp ?? new Date(0).toISOString();

  const append = (event: { EventType: number; EventId?: number; [field: string]: unknown }): void => {
    history.push({ EventId: -1, IsPlayed: false, Timestamp: lastTime, ...event });
  };

  const runEpisode = async (): Promise<void> => {
    result.episodes += 1;
    if (result.episodes > maxEpisodes) throw new Error(`replay stopped after ${maxEpisodes} episodes`);
    const binding: EpisodeBinding = {
      history: JSON.parse(JSON.stringify(history)) as RawEvent[],
      input: recording.input,
      instanceId: recording.instanceId,
      isReplaying: false,
      parentInstanceId: null,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 3,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '36500.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    state = await invoke(recording.orchestrator, binding);
    for (const event of history) event.IsPlayed = true;
    scheduleNewActions();
    append({ EventType: 13 });
  };

  const nextUnclaimed = (): RecordedCall | undefined => calls.find((call) => !call.claimed);

  const scheduleNewActions = (): void => {
    const leaves = leavesOf(state.actions);
    const fresh = leaves.slice(mappedLeaves);
    mappedLeaves = leaves.length;
    for (const leaf of fresh) {
      if (leaf.actionType === ActionType.WaitForExternalEvent || leaf.actionType === ActionType.ContinueAsNew) continue;
      const id = nextId++;
      const isTask = [
        ActionType.CallActivity,
        ActionType.CallActivityWithRetry,
        ActionType.CallSubOrchestrator,
        ActionType.CallSubOrchestratorWithRetry,
      ].includes(leaf.actionType as 0 | 1 | 2 | 3);
      const expected = nextUnclaimed();
      if (!isTask && leaf.actionType !== ActionType.CreateTimer) {
        throw new Divergence({
          step: expected?.step.step ?? 0,
          message: `today's code asks for an action the replayer does not support`,
          recorded: expected ? describeStep(expected.step) : 'nothing',
          today: describeLeaf(leaf),
        });
      }
      if (expected === undefined) {
        if (recordingEnded) {
          throw new Divergence({
            step: calls.length + 1,
            message: "today's code has an extra step the recording does not have",
            recorded: `the orchestration ${endDescription}`,
            today: describeLeaf(leaf),
          });
        }
        // The recording stops while the orchestration was still running: today's next step is beyond it.
        result.path.push({ step: calls.length + 1, what: describeLeaf(leaf), outcome: 'next (beyond the recording)' });
        continue;
      }
      const sameKind = isTask
        ? expected.kind === 'task' && (expected.step.kind === 'subOrchestration') === leaf.actionType >= 2
        : expected.kind === 'timer';
      if (!sameKind || (isTask && expected.step.name !== leaf.functionName)) {
        throw new Divergence({
          step: expected.step.step,
          message: `today's code takes another path at step ${expected.step.step}`,
          recorded: describeStep(expected.step),
          today: describeLeaf(leaf),
        });
      }
      expected.claimed = true;
      if (isTask) {
        const input = decodedInput(leaf);
        if (expected.input !== undefined && stable(expected.input) !== stable(input)) {
          const message = `step ${expected.step.step} (${leaf.functionName ?? ''}): today's input differs from the recorded one`;
          if (options.strictInputs === true)
            throw new Divergence({
              step: expected.step.step,
              message,
              recorded: stable(expected.input),
              today: stable(input),
            });
          result.warnings.push(message);
        }
        const task: PendingTask = {
          id,
          name: leaf.functionName ?? '',
          input,
          subOrchestration: leaf.actionType >= 2,
          call: expected,
        };
        if (leaf.retryOptions !== undefined)
          task.retry = { max: leaf.retryOptions.maxNumberOfAttempts ?? 1, attempt: 1 };
        tasks.push(task);
        append({
          EventType: task.subOrchestration ? 7 : 4,
          EventId: id,
          Name: task.name,
          Input: JSON.stringify(input ?? null),
          ...(leaf.instanceId === undefined ? {} : { InstanceId: leaf.instanceId }),
        });
        result.path.push({
          step: expected.step.step,
          what: `${task.subOrchestration ? 'sub-orchestration' : 'activity'} ${task.name}${expected.step.label !== undefined ? ` (${expected.step.label})` : ''}`,
          outcome:
            expected.step.status + (expected.step.attempts > 1 ? ` after ${expected.step.attempts} attempts` : ''),
        });
      } else {
        timers.push({ id, fireAt: leaf.fireAt ?? lastTime, created: false });
        append({ EventType: 10, EventId: id, FireAt: leaf.fireAt });
        result.path.push({ step: expected.step.step, what: 'timer', outcome: expected.step.status });
      }
    }
  };

  let recordingEnded = false;
  let endDescription = 'ended';
  const endEvent = [...recording.events]
    .reverse()
    .find((event) => ['ExecutionCompleted', 'ExecutionFailed', 'ExecutionTerminated'].includes(event.type));
  if (endEvent !== undefined) {
    recordingEnded = endEvent.type !== 'ExecutionTerminated';
    endDescription =
      endEvent.type === 'ExecutionTerminated'
        ? 'was terminated'
        : `ended (${endEvent.orchestrationStatus ?? endEvent.type})`;
  }

  /** After a failed attempt of a retried task, the host creates a timer before anything else. */
  let awaitingRetryTimer: PendingTimer | undefined;

  try {
    const started = recording.events.find((event) => event.type === 'ExecutionStarted');
    lastTime = started?.episodeTime ?? started?.timestamp ?? lastTime;
    append({ EventType: 12 });
    append({
      EventType: 0,
      Name: recording.orchestrator,
      Input: JSON.stringify(recording.input ?? null),
      ...(typeof started?.raw.Version === 'string' ? { Version: started.raw.Version } : {}),
    });
    await runEpisode();
    checkFailure(undefined);

    for (const event of recording.events) {
      // The episode that received the event ran at the recorded OrchestratorStarted time when the
      // history has it (raw shape); the management API's shape only has the event's own time.
      if (event.timestamp !== '') lastTime = event.episodeTime ?? event.timestamp;
      switch (event.type) {
        case 'TaskCompleted':
        case 'TaskFailed':
        case 'SubOrchestrationInstanceCompleted':
        case 'SubOrchestrationInstanceFailed': {
          const sub = event.type.startsWith('Sub');
          const candidates = tasks.filter((task) => task.name === event.name && task.subOrchestration === sub);
          const task =
            (event.sequenceId !== undefined
              ? candidates.find((candidate) => candidate.id === event.sequenceId)
              : undefined) ??
            (event.input !== undefined
              ? candidates.find((candidate) => stable(candidate.input) === stable(event.input))
              : undefined) ??
            candidates[0];
          if (task === undefined) {
            const waiting = tasks.map((pending) => pending.name);
            const index = recording.events.indexOf(event);
            const step = timeline.entries.find((entry) => entry.eventIndex === index)?.step;
            const afterRetries = state.error === undefined && !state.isDone && waiting.length === 0;
            throw new Divergence({
              step: step ?? 0,
              message:
                waiting.length > 0
                  ? `the recording completes ${event.name ?? '?'} but today's code is waiting for ${waiting.join(', ')}`
                  : afterRetries
                    ? `the recording has another attempt or call of ${event.name ?? '?'} that today's code (and its retry policy) does not make`
                    : `the recording has ${event.name ?? '?'} but today's code has finished`,
              recorded: describeEvent(event),
              today: todayDescription(),
            });
          }
          tasks.splice(tasks.indexOf(task), 1);
          append({ EventType: 12 });
          const completion: { EventType: number; [field: string]: unknown } = {
            EventType: (
              {
                TaskCompleted: 5,
                TaskFailed: 6,
                SubOrchestrationInstanceCompleted: 8,
                SubOrchestrationInstanceFailed: 9,
              } as const
            )[event.type],
            TaskScheduledId: task.id,
          };
          if (event.type.endsWith('Completed')) completion.Result = JSON.stringify(event.result ?? null);
          else {
            completion.Reason = event.reason ?? 'failed';
            completion.Details = event.details ?? '';
          }
          append(completion);
          const failed = event.type.endsWith('Failed');
          if (failed && task.retry !== undefined) {
            // The library reserves the next number for a retry timer after every failed attempt (§3.7).
            await runEpisode();
            checkFailure(event);
            const timer: PendingTimer = { id: nextId++, fireAt: lastTime, retryOf: task, created: false };
            timers.push(timer);
            append({ EventType: 10, EventId: timer.id, FireAt: timer.fireAt });
            awaitingRetryTimer = timer;
            result.path.push({
              step: task.call?.step.step ?? 0,
              what: `retry delay for ${task.name}`,
              outcome: `after attempt ${task.retry.attempt} failed: ${firstLine(event.reason ?? '')}`,
            });
          } else {
            await runEpisode();
            checkFailure(event);
          }
          break;
        }
        case 'TimerCreated': {
          if (awaitingRetryTimer !== undefined) {
            awaitingRetryTimer.created = true;
            if (event.fireAt !== undefined) awaitingRetryTimer.fireAt = event.fireAt;
            awaitingRetryTimer = undefined;
            break;
          }
          const timer = timers.find((candidate) => !candidate.created && candidate.retryOf === undefined);
          if (timer === undefined) {
            throw new Divergence({
              step: 0,
              message: "the recording creates a timer today's code does not ask for",
              recorded: describeEvent(event),
              today: todayDescription(),
            });
          }
          timer.created = true;
          break;
        }
        case 'TimerFired': {
          const timer =
            (event.sequenceId !== undefined
              ? timers.find((candidate) => candidate.id === event.sequenceId)
              : undefined) ??
            timers.find((candidate) => candidate.fireAt === event.fireAt) ??
            timers[0];
          if (timer === undefined) {
            throw new Divergence({
              step: 0,
              message: "the recording fires a timer today's code never created",
              recorded: describeEvent(event),
              today: todayDescription(),
            });
          }
          timers.splice(timers.indexOf(timer), 1);
          append({ EventType: 12 });
          append({ EventType: 11, TimerId: timer.id, FireAt: timer.fireAt });
          const retried = timer.retryOf;
          if (retried?.retry !== undefined && retried.retry.attempt < retried.retry.max) {
            // Attempts remain: the host schedules the next attempt under the next number (§3.6 rule 2).
            await runEpisode();
            checkFailure(event);
            const attempt: PendingTask = {
              ...retried,
              id: nextId++,
              retry: { max: retried.retry.max, attempt: retried.retry.attempt + 1 },
            };
            tasks.push(attempt);
            append({
              EventType: attempt.subOrchestration ? 7 : 4,
              EventId: attempt.id,
              Name: attempt.name,
              Input: JSON.stringify(attempt.input ?? null),
            });
          } else {
            const recordedAttempts = retried?.call?.step.attempts ?? 0;
            if (retried?.retry !== undefined && recordedAttempts > retried.retry.attempt) {
              // Today's policy gives up here; whatever today's code does next, the recording went on retrying.
              throw new Divergence({
                step: retried.call?.step.step ?? 0,
                message: `the recording has another attempt or call of ${retried.name} that today's code (and its retry policy) does not make`,
                recorded: `${retried.name}: ${recordedAttempts} attempts`,
                today: `gives up after ${retried.retry.attempt} attempt${retried.retry.attempt === 1 ? '' : 's'}`,
              });
            }
            await runEpisode();
            checkFailure(event);
          }
          break;
        }
        case 'EventRaised': {
          append({ EventType: 12 });
          append({
            EventType: 15,
            Name: event.name,
            Input: event.input === undefined ? undefined : JSON.stringify(event.input),
          });
          result.path.push({ step: 0, what: `event ${event.name ?? ''}`, outcome: 'raised' });
          await runEpisode();
          checkFailure(event);
          break;
        }
        case 'ExecutionCompleted':
        case 'ExecutionFailed':
          compareEnd(event);
          break;
        case 'ExecutionTerminated':
          result.end = 'terminated';
          result.path.push({ step: 0, what: 'terminated', outcome: event.reason ?? '' });
          break;
        case 'ContinueAsNew':
          result.warnings.push('the recording continues as new; replay stops at the first execution');
          break;
        default:
          break;
      }
      if (result.end === 'terminated' || result.end === 'completed' || result.end === 'failed') break;
    }
    if (result.end === 'running' && (state.isDone || state.error !== undefined)) {
      // The recording stops before its end event (exported while running), but today's code already ends here.
      result.warnings.push(
        `the recording stops before the orchestration ended; today's code ${state.error !== undefined ? 'fails' : 'completes'} at this point`,
      );
    }
    result.ok = true;
  } catch (error) {
    if (!(error instanceof Divergence)) throw error;
    result.divergence = error.detail;
    result.end = 'diverged';
  }
  return result;

  function todayDescription(): string {
    if (state.error !== undefined) return `fails: ${firstLine(state.error)}`;
    if (state.isDone) return `completes with ${stable(state.output)}`;
    const waiting = [...tasks.map((task) => task.name), ...timers.map(() => 'timer')];
    return waiting.length > 0 ? `waits for ${waiting.join(', ')}` : 'waits';
  }

  /** The recorded step an event belongs to. */
  function stepOf(event: RecordedEvent): number | undefined {
    const index = recording.events.indexOf(event);
    return timeline.entries.find((entry) => entry.eventIndex === index)?.step;
  }

  /** Today's code failing where the recording goes on is a divergence. */
  function checkFailure(after: RecordedEvent | undefined): void {
    if (state.error === undefined && !state.isDone) return;
    const from = after ?? recording.events.find((event) => event.type === 'ExecutionStarted');
    const index = from === undefined ? -1 : recording.events.indexOf(from);
    const next = recording.events
      .slice(index + 1)
      .find((event) => event.type !== 'TimerCreated' && event.type !== 'ExecutionTerminated');
    if (next === undefined || next.type === 'ExecutionCompleted' || next.type === 'ExecutionFailed') return;
    throw new Divergence({
      step: stepOf(next) ?? calls.find((call) => !call.claimed)?.step.step ?? calls.length,
      message:
        state.error !== undefined
          ? "today's code fails where the recording goes on"
          : "today's code completes where the recording goes on",
      recorded: describeEvent(next),
      today: todayDescription(),
    });
  }

  function compareEnd(event: RecordedEvent): void {
    const recordedFailed =
      (event.orchestrationStatus ?? (event.type === 'ExecutionFailed' ? 'Failed' : 'Completed')) === 'Failed';
    const missing = nextUnclaimed();
    if (missing !== undefined) {
      throw new Divergence({
        step: missing.step.step,
        message: "today's code skips a step the recording has",
        recorded: describeStep(missing.step),
        today: todayDescription(),
      });
    }
    if (recordedFailed) {
      if (state.error === undefined) {
        throw new Divergence({
          step: calls.length,
          message: "the recording failed here; today's code does not",
          recorded: `failed: ${firstLine(event.reason ?? stable(event.result))}`,
          today: todayDescription(),
        });
      }
      result.end = 'failed';
      result.path.push({ step: calls.length, what: 'end', outcome: `failed: ${firstLine(state.error)}` });
      return;
    }
    if (!state.isDone) {
      throw new Divergence({
        step: calls.length,
        message: "the recording completed here; today's code does not",
        recorded: `completed with ${stable(event.result)}`,
        today: todayDescription(),
      });
    }
    if ('result' in event && event.result !== undefined && stable(event.result) !== stable(state.output ?? null)) {
      throw new Divergence({
        step: calls.length,
        message: "today's code completes with another result",
        recorded: stable(event.result),
        today: stable(state.output ?? null),
      });
    }
    result.end = 'completed';
    result.path.push({ step: calls.length, what: 'end', outcome: 'completed with the recorded result' });
  }
}
