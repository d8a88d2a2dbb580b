import type { HistoryEvent, OrchestrationTriggerBinding } from './contract';

/**
 * The orchestrator trigger binding (durable-protocol.md §3.2). Schema V3 actions; a very long
 * maximum short-timer duration, so every timer is one task with one sequence number (§3.9).
 */
export function orchestratorBinding(fields: {
  history: HistoryEvent[];
  input: unknown;
  instanceId: string;
  parentInstanceId: string | null;
}): OrchestrationTriggerBinding {
  return {
    history: fields.history,
    input: fields.input,
    instanceId: fields.instanceId,
    isReplaying: false,
    parentInstanceId: fields.parentInstanceId,
    upperSchemaVersion: 1,
    upperSchemaVersionNew: 2,
    longRunningTimerIntervalDuration: '3.00:00:00',
    maximumShortTimerDuration: '36500.00:00:00',
    defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
  };
}
