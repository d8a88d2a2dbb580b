/**
 * Durable Task history events, built the way the Azure extension writes them (PascalCase fields,
 * `EventType` as a number; durable-protocol.md §3.4). The JS library replays from these, so field
 * names and value encodings (JSON text in `Input`/`Result`) are a wire contract.
 */
import type { HistoryEvent } from './contract';

export type { HistoryEvent };

/** DurableTask.Core `EventType`. */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
  GenericEvent: 17,
  HistoryState: 18,
  ExecutionSuspended: 19,
  ExecutionResumed: 20,
} as const;

export const eventTypeNames: readonly string[] = Object.keys(EventType);

/** DurableTask.Core `OrchestrationStatus`, as ExecutionCompleted records it. */
export const OrchestrationStatus = {
  Running: 0,
  Completed: 1,
  ContinuedAsNew: 2,
  Failed: 3,
  Canceled: 4,
  Terminated: 5,
  Pending: 6,
  Suspended: 7,
} as const;

export const orchestrationStatusNames: readonly string[] = Object.keys(OrchestrationStatus);

export type RuntimeStatus =
  'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Canceled' | 'Terminated' | 'Suspended';

export const terminalStatuses: readonly RuntimeStatus[] = ['Completed', 'Failed', 'Terminated', 'Canceled'];

export function isTerminal(status: RuntimeStatus): boolean {
  return terminalStatuses.includes(status);
}

export function historyEvent(
  type: number,
  timestamp: Date,
  fields: Record<string, unknown> = {},
  eventId = -1,
): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: timestamp.toISOString(), ...fields };
}

/** JSON text for a value, `null` for undefined: a missing `Result` breaks the library's replay (§3.8). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** Parses JSON text the way the extension shows it: invalid JSON stays the raw string. */
export function parseJsonText(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  const trimmed = text.trim();
  if (trimmed.length === 0) return '';
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return text;
  }
}
