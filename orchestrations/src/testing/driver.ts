/**
 * Runs orchestrators in-process with the REAL durable-functions replay engine, without a host:
 * it plays the extension's part (history, sequence numbers, host-side retries with timers) the
 * way ../shared/research/durable-protocol.md §3 records it, and runs activities in-process through
 * the same wrapper `df.app.activity` uses. Time is virtual: a retry timer of a minute fires at once,
 * with the orchestration clock moved on by a minute.
 *
 * Use it to test orchestrator decisions and compensation paths, and to replay a recorded history
 * against today's code (`episode`). It is not a host: no persistence, no concurrency, one instance
 * at a time.
 */
import { InvocationContext } from '@azure/functions';
import type { ActivityHandler, OrchestrationHandler } from 'durable-functions';
import { wrapActivityHandler } from 'durable-functions/lib/src/app';
import { createOrchestrator } from 'durable-functions/lib/src/util/testingUtils';

import type { DurableRegistrar } from '../register';

/** One Durable Task history event as the extension sends it (PascalCase, `EventType` as a number). */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  Timestamp: string;
  IsPlayed?: boolean;
  [field: string]: unknown;
}

/** `HistoryEventType` values the driver writes. */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
} as const;

/** The orchestrator's reply for one episode (durable-protocol.md §3.3). */
export interface OrchestratorState {
  isDone: boolean;
  actions: unknown[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion: number;
}

/** One activity attempt the driver ran. */
export interface ActivityCall {
  name: string;
  /** Sequence number of the attempt in history. */
  taskScheduledId: number;
  /** 1-based attempt number within its retry group (1 without retries). */
  attempt: number;
  input: unknown;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface RunResult {
  instanceId: string;
  name: string;
  status: 'Completed' | 'Failed';
  output?: unknown;
  error?: string;
  /** The last custom status the orchestrator set. */
  customStatus?: unknown;
  /** Every custom status seen, one per episode, in order. */
  customStatuses: unknown[];
  history: HistoryEvent[];
  activityCalls: ActivityCall[];
  /** Orchestrator invocations (episodes). */
  episodes: number;
}

export interface DriverOptions {
  /** Start of virtual time (default 2026-01-01T00:00:00Z). */
  startTime?: Date;
  /**
   * Called before every activity attempt, after its input is decoded. Throwing fails that attempt
   * exactly as if the activity had thrown (a transient failure: it is retried by policy).
   */
  beforeActivity?: (call: { name: string; attempt: number; input: unknown }) => void | Promise<void>;
  /**
   * Runs the activity a second time before its completion is recorded, as after a crash between an
   * activity finishing and the host recording it; the second answer is the one recorded.
   */
  redeliver?: (call: { name: string; attempt: number }) => boolean;
  /** Upper bound on episodes per run (default 500), so a runaway orchestrator cannot loop forever. */
  maxEpisodes?: number;
}

type OrchestratorFunction = (binding: unknown, context: InvocationContext) => Promise<unknown>;
type ActivityFunction = (input: unknown, context: InvocationContext) => Promise<unknown>;

interface RetrySettings {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

interface RetryGroup {
  name: string;
  input: unknown;
  options: RetrySettings;
  attempt: number;
}

type Work =
  | { type: 'activity'; id: number; name: string; input: unknown; group?: RetryGroup }
  | { type: 'timer'; id: number; fireAt: number; group?: RetryGroup };

interface Leaf {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetrySettings;
  fireAt?: string;
}

const OUT_OF_PROC_LABEL = '$OutOfProcData$:';

/** Registers functions into the driver instead of the Functions runtime (pass it to `register`). */
export class OrchestrationDriver implements DurableRegistrar {
  private readonly orchestrators = new Map<string, OrchestratorFunction>();
  private readonly activities = new Map<string, ActivityFunction>();
  private instanceCounter = 0;

  constructor(private readonly options: DriverOptions = {}) {}

  orchestration(name: string, handler: OrchestrationHandler): void {
    // Exactly what df.app.orchestration registers as the function's handler.
    this.orchestrators.set(name, createOrchestrator(handler));
  }

  activity(name: string, options: { handler: ActivityHandler }): void {
    // Exactly what df.app.activity registers as the function's handler.
    this.activities.set(name, wrapActivityHandler(options.handler));
  }

  /** Names registered so far. */
  registered(): { orchestrators: string[]; activities: string[] } {
    return { orchestrators: [...this.orchestrators.keys()], activities: [...this.activities.keys()] };
  }

  /**
   * Invokes orchestrator `name` once over `history` (a replay of a recorded or synthetic history),
   * and answers its state. A failing orchestrator answers its state with `error` set.
   */
  async episode(
    name: string,
    run: { history: HistoryEvent[]; input: unknown; instanceId?: string },
  ): Promise<OrchestratorState> {
    const orchestrator = this.orchestrators.get(name);
    if (orchestrator === undefined) throw new Error(`No orchestrator registered as ${name}`);
    const binding = {
      history: run.history,
      input: run.input,
      instanceId: run.instanceId ?? 'replay',
      isReplaying: false,
      parentInstanceId: null,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 3,
      longRunningTimerIntervalDuration: '3.00:00:00',
      // No long-timer splitting (durable-protocol.md §3.9).
      maximumShortTimerDuration: '36500.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    };
    const context = new InvocationContext({
      functionName: name,
      invocationId: `${binding.instanceId}:episode`,
      logHandler: () => undefined,
    });
    try {
      // The extension sends the binding as JSON text, which the worker parses: round-trip it the same way.
      const state = await orchestrator(JSON.parse(JSON.stringify(binding)), context);
      return JSON.parse(JSON.stringify(state)) as OrchestratorState;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const at = message.indexOf(OUT_OF_PROC_LABEL);
      if (at < 0) return { isDone: false, actions: [], error: message, schemaVersion: 0 };
      return JSON.parse(message.slice(at + OUT_OF_PROC_LABEL.length)) as OrchestratorState;
    }
  }

  /** Runs orchestration `name` from start to end, executing its activities and timers. */
  async run(name: string, input: unknown, instanceId = `instance-${++this.instanceCounter}`): Promise<RunResult> {
    const history: HistoryEvent[] = [];
    const activityCalls: ActivityCall[] = [];
    const customStatuses: unknown[] = [];
    const queue: Work[] = [];
    let clock = (this.options.startTime ?? new Date('2026-01-01T00:00:00Z')).getTime();
    let nextId = 0;
    let mappedLeaves = 0;
    const tick = (): string => new Date((clock += 1)).toISOString();
    const append = (event: { EventType: number; EventId?: number; [field: string]: unknown }): void => {
      history.push({ EventId: -1, ...event, Timestamp: tick(), IsPlayed: false });
    };
    const startEpisode = (): void => {
      for (const event of history) event.IsPlayed = true;
      append({ EventType: EventType.OrchestratorStarted });
    };
    const schedule = (work: Work): void => {
      if (work.type === 'activity')
        append({ EventType: EventType.TaskScheduled, EventId: work.id, Name: work.name, Input: wire(work.input) });
      else append({ EventType: EventType.TimerCreated, EventId: work.id, FireAt: new Date(work.fireAt).toISOString() });
      queue.push(work);
    };

    startEpisode();
    append({ EventType: EventType.ExecutionStarted, Name: name, Input: JSON.stringify(input ?? null) });
    let retryAllocation: (() => void) | undefined;
    const maxEpisodes = this.options.maxEpisodes ?? 500;

    for (let episodes = 1; episodes <= maxEpisodes; episodes += 1) {
      const state = await this.episode(name, { history, input, instanceId });
      if (state.customStatus !== undefined) customStatuses.push(state.customStatus);
      const done = (status: 'Completed' | 'Failed', extra: Partial<RunResult>): RunResult => ({
        instanceId,
        name,
        status,
        history,
        activityCalls,
        customStatuses,
        episodes,
        ...(state.customStatus === undefined ? {} : { customStatus: state.customStatus }),
        ...extra,
      });

      if (state.error !== undefined) {
        append({ EventType: EventType.OrchestratorCompleted });
        append({ EventType: EventType.ExecutionFailed, Reason: state.error });
        return done('Failed', { error: state.error });
      }

      // Retry numbers first: the library reserved them while processing the delivered event (§3.6 rule 2).
      retryAllocation?.();
      retryAllocation = undefined;

      const leaves = flatten(state.actions);
      for (const leaf of leaves.slice(mappedLeaves)) {
        switch (leaf.actionType) {
          case 0:
            schedule({
              type: 'activity',
              id: nextId++,
              name: required(leaf.functionName),
              input: decodeActivityInput(leaf.input),
            });
            break;
          case 1: {
            const group: RetryGroup = {
              name: required(leaf.functionName),
              input: decodeActivityInput(leaf.input),
              options: required(leaf.retryOptions),
              attempt: 1,
            };
            schedule({ type: 'activity', id: nextId++, name: group.name, input: group.input, group });
            break;
          }
          case 5:
            schedule({ type: 'timer', id: nextId++, fireAt: Date.parse(required(leaf.fireAt)) });
            break;
          default:
            throw new Error(
              `The driver does not run action type ${leaf.actionType} (activities, retries and timers only)`,
            );
        }
      }
      mappedLeaves = leaves.length;
      append({ EventType: EventType.OrchestratorCompleted });

      if (state.isDone) {
        append({
          EventType: EventType.ExecutionCompleted,
          OrchestrationStatus: 1,
          Result: JSON.stringify(state.output ?? null),
        });
        return done('Completed', state.output === undefined ? {} : { output: state.output });
      }

      const work = takeNext(queue);
      if (work === undefined)
        throw new Error(`${name} ${instanceId} is waiting, but nothing it waits for is scheduled`);

      if (work.type === 'timer') {
        clock = Math.max(clock, work.fireAt);
        startEpisode();
        append({ EventType: EventType.TimerFired, TimerId: work.id, FireAt: new Date(work.fireAt).toISOString() });
        const group = work.group;
        if (group !== undefined && group.attempt < group.options.maxNumberOfAttempts) {
          retryAllocation = () => {
            group.attempt += 1;
            schedule({ type: 'activity', id: nextId++, name: group.name, input: group.input, group });
          };
        }
        continue;
      }

      const attempt = work.group?.attempt ?? 1;
      const outcome = await this.invokeActivity(work.name, work.input, attempt, instanceId, work.id);
      activityCalls.push({ name: work.name, taskScheduledId: work.id, attempt, input: work.input, ...outcome });
      startEpisode();
      if (outcome.ok) {
        append({
          EventType: EventType.TaskCompleted,
          TaskScheduledId: work.id,
          Result: JSON.stringify(outcome.result ?? null),
        });
      } else {
        append({
          EventType: EventType.TaskFailed,
          TaskScheduledId: work.id,
          Reason: `Activity function '${work.name}' failed: ${outcome.error}`,
          Details: outcome.details,
        });
        const group = work.group;
        if (group !== undefined) {
          // The library expects a timer after every failed attempt, the last one included (§3.7).
          const delay = retryDelay(group.options, group.attempt);
          retryAllocation = () => {
            schedule({ type: 'timer', id: nextId++, fireAt: clock + delay, group });
          };
        }
      }
    }
    throw new Error(`${name} ${instanceId} did not finish within ${maxEpisodes} episodes`);
  }

  private async invokeActivity(
    name: string,
    input: unknown,
    attempt: number,
    instanceId: string,
    taskScheduledId: number,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: string; details: string }> {
    const activity = this.activities.get(name);
    if (activity === undefined) return { ok: false, error: `No activity registered as ${name}`, details: '' };
    const once = async (): Promise<{ ok: true; result: unknown } | { ok: false; error: string; details: string }> => {
      // A fresh copy per call, decoded from the wire as the worker does.
      const value = input === undefined ? undefined : (JSON.parse(JSON.stringify(input)) as unknown);
      const context = new InvocationContext({
        functionName: name,
        invocationId: `${instanceId}:${taskScheduledId}`,
        logHandler: () => undefined,
        triggerMetadata: { instanceId },
      });
      try {
        await this.options.beforeActivity?.({ name, attempt, input: value });
        const result = await activity(value, context);
        return { ok: true, result: result === undefined ? null : (JSON.parse(JSON.stringify(result)) as unknown) };
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        return { ok: false, error: err.message, details: err.stack ?? err.message };
      }
    };
    const first = await once();
    return this.options.redeliver?.({ name, attempt }) === true ? once() : first;
  }
}

/** Creates a driver and registers into it with the given registration function (e.g. the package's `register`). */
export function createDriver(
  registerInto: (registrar: DurableRegistrar) => void,
  options?: DriverOptions,
): OrchestrationDriver {
  const driver = new OrchestrationDriver(options);
  registerInto(driver);
  return driver;
}

function flatten(actions: unknown[][]): Leaf[] {
  const leaves: Leaf[] = [];
  const walk = (action: unknown): void => {
    const leaf = action as Leaf & { compoundActions?: unknown[] };
    if (leaf.actionType === 11 || leaf.actionType === 12) for (const child of leaf.compoundActions ?? []) walk(child);
    else leaves.push(leaf);
  };
  for (const group of actions) for (const action of group) walk(action);
  return leaves;
}

/** Timers wait until nothing else is runnable; the earliest fires first. Activities run in scheduling order. */
function takeNext(queue: Work[]): Work | undefined {
  const activity = queue.findIndex((work) => work.type === 'activity');
  let index = activity;
  if (index < 0) {
    index = 0;
    queue.forEach((work, at) => {
      const best = queue[index];
      if (work.type === 'timer' && best?.type === 'timer' && work.fireAt < best.fireAt) index = at;
    });
  }
  return queue.splice(index, 1)[0];
}

/** The wait after failed attempt `attempt` (1-based), as the Durable Task retry interceptor computes it. */
function retryDelay(options: RetrySettings, attempt: number): number {
  const delay = options.firstRetryIntervalInMilliseconds * (options.backoffCoefficient ?? 1) ** (attempt - 1);
  return Math.min(delay, options.maxRetryIntervalInMilliseconds ?? Number.MAX_SAFE_INTEGER);
}

/** Activity inputs arrive JSON-encoded once more when they are strings (§3.8). */
function decodeActivityInput(input: unknown): unknown {
  return typeof input === 'string' ? (JSON.parse(input) as unknown) : input;
}

function wire(input: unknown): string {
  return JSON.stringify(input ?? null);
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('The orchestrator returned an action without a required field');
  return value;
}
