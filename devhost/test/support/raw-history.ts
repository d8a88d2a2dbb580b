import type { Db } from 'mongodb';

import type { HistoryEvent } from '../../src/durable/contract';

/** The raw DTFx history of an instance's current execution, read straight from the task hub's store. */
export async function rawHistory(db: Db, hubName: string, instanceId: string): Promise<HistoryEvent[]> {
  const instance = await db
    .collection<{ _id: string; executionId: string }>(`${hubName}_instances`)
    .findOne({ _id: instanceId });
  if (!instance) throw new Error(`No instance ${instanceId}`);
  const batches = await db
    .collection<{ _id: string; events: HistoryEvent[]; ordinal: number }>(`${hubName}_history`)
    .find({ instanceId, executionId: instance.executionId })
    .sort({ ordinal: 1 })
    .toArray();
  return batches.flatMap((batch) => batch.events);
}

const names = [
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
];

/** `TaskScheduled(0)`, `TaskFailed(0)`, `TimerFired(1)`…: the events with the ids they carry or refer to. */
export function describeEvents(events: readonly HistoryEvent[]): string[] {
  return events.map((event) => {
    const name = names[event.EventType] ?? String(event.EventType);
    const ref =
      event.EventId >= 0
        ? event.EventId
        : ((event.TaskScheduledId as number | undefined) ?? (event.TimerId as number | undefined));
    return ref === undefined ? name : `${name}(${ref})`;
  });
}
