/**
 * A timeline of one orchestration, built from its history: every activity attempt with its start,
 * end, duration and result or failure reason, the retry timers between attempts, compensation
 * steps, sub-orchestrations, other timers and external events. Pure: no clock, no I/O.
 *
 * Attempts of one call are grouped into a *step*: the Durable host retries a failed attempt by
 * creating a timer and scheduling the same function again when it fires (durable-protocol.md §3.7),
 * so a failure of F followed by a timer and another F is the next attempt of the same step.
 */
import type { RecordedEvent } from './history';

export type TimelineEntryKind = 'activity' | 'subOrchestration' | 'retryTimer' | 'timer' | 'event';

export interface TimelineEntry {
  kind: TimelineEntryKind;
  /** Function name, timer description or event name. */
  name: string;
  /** The step (logical call) this entry belongs to; timers and events have their own step. */
  step: number;
  /** 1-based attempt number within the step (activities and sub-orchestrations). */
  attempt?: number;
  /** `running` for a task scheduled but not finished, or a timer not fired yet. */
  status: 'completed' | 'failed' | 'running' | 'fired' | 'raised';
  /** ISO-8601. */
  start: string;
  end?: string;
  durationMs?: number;
  /** What the step did, in a few words (from `TimelineOptions.describe`), e.g. `audit: attempted`. */
  label?: string;
  /** Set for steps that undo or record the undoing of an earlier step. */
  compensation?: boolean;
  result?: unknown;
  failure?: { reason: string; type?: string; details?: string };
  /** Retry timers: when it was due. */
  fireAt?: string;
  /** Sub-orchestrations: the child instance, when the history names it. */
  instanceId?: string;
  /** Index of the history event this entry was read from (its completion, or TimerCreated). */
  eventIndex: number;
}

export interface TimelineStep {
  step: number;
  kind: TimelineEntryKind;
  name: string;
  label?: string;
  compensation?: boolean;
  attempts: number;
  status: 'completed' | 'failed' | 'running' | 'fired' | 'raised';
  start: string;
  end?: string;
  durationMs?: number;
  /** The last attempt's failure, when the step failed for good. */
  failure?: { reason: string; type?: string };
}

export interface Timeline {
  /** From ExecutionStarted. */
  orchestrator?: string;
  start?: string;
  /** When the orchestration ended (completed, failed or terminated). */
  end?: string;
  durationMs?: number;
  /** `Completed`, `Failed`, `Terminated`, or undefined while it runs. */
  endStatus?: string;
  /** Failure or termination reason, when it ended that way. */
  endReason?: string;
  entries: TimelineEntry[];
  steps: TimelineStep[];
  summary: {
    attempts: number;
    failedAttempts: number;
    /** Attempts beyond the first, over all steps. */
    retries: number;
    compensationSteps: number;
  };
}

export interface TimelineOptions {
  /** A short label for a call, from its name, input and result, e.g. `audit: compensated`. */
  describe?: (call: { name: string; input: unknown; result: unknown }) => string | undefined;
  /** Whether a call undoes (or records the undoing of) an earlier step. */
  isCompensation?: (call: { name: string; input: unknown; result: unknown }) => boolean;
  /** Applied to every result and failure text kept in the timeline (personal data redaction). */
  redact?: (value: unknown) => unknown;
}

function durationBetween(start: string | undefined, end: string | undefined): number | undefined {
  if (start === undefined || end === undefined) return undefined;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

/** The first line of a failure text, without the stack the Durable host appends. */
function firstLine(value: string): string {
  const line = value.split(/\r?\n/, 1)[0] ?? '';
  return line.trim();
}

interface OpenStep {
  step: number;
  attempts: number;
  /** `failed`: last attempt failed; `waiting`: its retry timer was created; `due`: the timer fired. */
  state: 'failed' | 'waiting' | 'due';
  /** The failed attempt's input (JSON), when the history shows inputs: a retry repeats it exactly. */
  input?: string;
}

function sameInput(chain: OpenStep, input: unknown): boolean {
  if (chain.input === undefined || input === undefined) return true;
  return chain.input === JSON.stringify(input);
}

export function buildTimeline(history: readonly RecordedEvent[], options: TimelineOptions = {}): Timeline {
  const redact = options.redact ?? ((value: unknown) => value);
  const timeline: Timeline = {
    entries: [],
    steps: [],
    summary: { attempts: 0, failedAttempts: 0, retries: 0, compensationSteps: 0 },
  };
  let nextStep = 1;
  /** Retry chains by function name: the step a failed call belongs to, until it succeeds or gives up. */
  const open = new Map<string, OpenStep>();
  /** Timers created and not fired yet, oldest first. */
  const pendingTimers: TimelineEntry[] = [];
  const timerById = new Map<number, TimelineEntry>();
  const retryTimerOwner = new Map<TimelineEntry, string>();
  let previousTimestamp: string | undefined;

  let eventIndex = -1;
  const addTask = (
    event: RecordedEvent,
    kind: 'activity' | 'subOrchestration',
    status: TimelineEntry['status'],
  ): void => {
    const name = event.name ?? '(unnamed)';
    // Writes run their steps one after another: a call of another function means a chain that was
    // waiting for its next attempt (or gave up without a retry timer) has ended.
    for (const [other, pending] of open) if (other !== name && pending.state !== 'waiting') open.delete(other);
    const chain = open.get(name);
    let step: number;
    let attempt: number;
    if (chain !== undefined && chain.state === 'due' && sameInput(chain, event.input)) {
      step = chain.step;
      attempt = chain.attempts + 1;
      timeline.summary.retries += 1;
    } else {
      step = nextStep++;
      attempt = 1;
    }
    const start = event.scheduledTime ?? previousTimestamp ?? event.timestamp;
    const entry: TimelineEntry = { kind, name, step, attempt, status, start, eventIndex };
    if (status !== 'running') {
      entry.end = event.timestamp;
      const duration = durationBetween(start, event.timestamp);
      if (duration !== undefined) entry.durationMs = duration;
    }
    const call = { name, input: event.input, result: event.result };
    const label = options.describe?.(call);
    if (label !== undefined) entry.label = label;
    if (options.isCompensation?.(call) === true) entry.compensation = true;
    if (event.instanceId !== undefined) entry.instanceId = event.instanceId;
    if (status === 'completed' && event.result !== undefined) entry.result = redact(event.result);
    if (status === 'failed') {
      const failure: NonNullable<TimelineEntry['failure']> = {
        reason: String(redact(firstLine(event.reason ?? 'failed without a reason'))),
      };
      if (event.failureType !== undefined) failure.type = event.failureType;
      if (event.details !== undefined) failure.details = String(redact(firstLine(event.details)));
      entry.failure = failure;
      timeline.summary.failedAttempts += 1;
      const failedChain: OpenStep = { step, attempts: attempt, state: 'failed' };
      if (event.input !== undefined) failedChain.input = JSON.stringify(event.input);
      open.set(name, failedChain);
    } else {
      open.delete(name);
    }
    if (status !== 'running') timeline.summary.attempts += 1;
    timeline.entries.push(entry);
  };

  for (const event of history) {
    eventIndex += 1;
    switch (event.type) {
      case 'ExecutionStarted':
        if (event.name !== undefined) timeline.orchestrator = event.name;
        timeline.start = event.timestamp;
        break;
      case 'TaskCompleted':
        addTask(event, 'activity', 'completed');
        break;
      case 'TaskFailed':
        addTask(event, 'activity', 'failed');
        break;
      case 'TaskScheduled':
        addTask(event, 'activity', 'running');
        break;
      case 'SubOrchestrationInstanceCompleted':
        addTask(event, 'subOrchestration', 'completed');
        break;
      case 'SubOrchestrationInstanceFailed':
        addTask(event, 'subOrchestration', 'failed');
        break;
      case 'SubOrchestrationInstanceCreated':
        addTask(event, 'subOrchestration', 'running');
        break;
      case 'TimerCreated': {
        // A timer right after a failed attempt is that call's retry delay.
        const owner = [...open.entries()].find(([, chain]) => chain.state === 'failed');
        const entry: TimelineEntry = owner
          ? {
              kind: 'retryTimer',
              name: `retry delay for ${owner[0]}`,
              step: owner[1].step,
              status: 'running',
              start: event.timestamp,
              eventIndex,
            }
          : { kind: 'timer', name: 'timer', step: nextStep++, status: 'running', start: event.timestamp, eventIndex };
        if (event.fireAt !== undefined) entry.fireAt = event.fireAt;
        if (owner) {
          owner[1].state = 'waiting';
          retryTimerOwner.set(entry, owner[0]);
        }
        pendingTimers.push(entry);
        if (event.sequenceId !== undefined) timerById.set(event.sequenceId, entry);
        timeline.entries.push(entry);
        break;
      }
      case 'TimerFired': {
        let timer = event.sequenceId === undefined ? undefined : timerById.get(event.sequenceId);
        timer ??=
          pendingTimers.find((candidate) => candidate.fireAt !== undefined && candidate.fireAt === event.fireAt) ??
          pendingTimers[0];
        if (timer === undefined) break;
        pendingTimers.splice(pendingTimers.indexOf(timer), 1);
        timer.status = 'fired';
        timer.end = event.timestamp;
        const duration = durationBetween(timer.start, event.timestamp);
        if (duration !== undefined) timer.durationMs = duration;
        const owner = retryTimerOwner.get(timer);
        const chain = owner === undefined ? undefined : open.get(owner);
        if (chain !== undefined) chain.state = 'due';
        break;
      }
      case 'EventRaised':
        timeline.entries.push({
          kind: 'event',
          name: event.name ?? 'event',
          step: nextStep++,
          status: 'raised',
          start: event.timestamp,
          end: event.timestamp,
          durationMs: 0,
          eventIndex,
        });
        break;
      case 'ExecutionCompleted':
      case 'ExecutionFailed':
        timeline.end = event.timestamp;
        timeline.endStatus = event.orchestrationStatus ?? (event.type === 'ExecutionFailed' ? 'Failed' : 'Completed');
        if (timeline.endStatus === 'Failed') {
          const reason = event.reason ?? (typeof event.result === 'string' ? event.result : undefined);
          if (reason !== undefined) timeline.endReason = String(redact(firstLine(reason)));
        }
        break;
      case 'ExecutionTerminated':
        timeline.end = event.timestamp;
        timeline.endStatus = 'Terminated';
        if (event.reason !== undefined) timeline.endReason = String(redact(event.reason));
        break;
      default:
        break;
    }
    if (event.timestamp !== '') previousTimestamp = event.timestamp;
  }

  const duration = durationBetween(timeline.start, timeline.end);
  if (duration !== undefined) timeline.durationMs = duration;
  timeline.steps = stepsOf(timeline.entries);
  timeline.summary.compensationSteps = timeline.steps.filter((step) => step.compensation === true).length;
  return timeline;
}

/** One row per step: its attempts, overall span and how it ended. */
function stepsOf(entries: readonly TimelineEntry[]): TimelineStep[] {
  const byStep = new Map<number, TimelineEntry[]>();
  for (const entry of entries) {
    const list = byStep.get(entry.step) ?? [];
    list.push(entry);
    byStep.set(entry.step, list);
  }
  const steps: TimelineStep[] = [];
  for (const [step, list] of [...byStep.entries()].sort(([a], [b]) => a - b)) {
    const calls = list.filter((entry) => entry.kind !== 'retryTimer');
    const last = calls[calls.length - 1] ?? list[list.length - 1];
    const first = list[0];
    if (last === undefined || first === undefined) continue;
    const end = list.every((entry) => entry.end !== undefined) ? list[list.length - 1]?.end : undefined;
    const row: TimelineStep = {
      step,
      kind: last.kind,
      name: last.name,
      attempts: calls.filter((entry) => entry.attempt !== undefined).length,
      status: last.status,
      start: first.start,
    };
    // A failed attempt whose retry timer is still pending is not the end of the step.
    const lastEntry = list[list.length - 1];
    if (lastEntry?.kind === 'retryTimer' && lastEntry.status === 'running') row.status = 'running';
    if (end !== undefined) {
      row.end = end;
      const duration = durationBetween(first.start, end);
      if (duration !== undefined) row.durationMs = duration;
    }
    const label = calls.find((entry) => entry.label !== undefined)?.label;
    if (label !== undefined) row.label = label;
    if (calls.some((entry) => entry.compensation === true)) row.compensation = true;
    if (row.status === 'failed' && last.failure !== undefined) {
      row.failure = { reason: last.failure.reason };
      if (last.failure.type !== undefined) row.failure.type = last.failure.type;
    }
    steps.push(row);
  }
  return steps;
}
