import type { Db } from 'mongodb';

import { eventTypeNames, type HistoryEvent } from '../../src/durable/history';

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

/** `TaskScheduled(0)`, `TaskFailed(0)`, `TimerFired(1)`…: the events with the ids they carry or refer to. */
export function describeEvents(events: readonly HistoryEvent[]): string[] {
  return events.map((event) => {
    const name = eventTypeNames[event.EventType] ?? String(event.EventType);
    const ref =
      event.EventId >= 0
        ? event.EventId
        : ((event.TaskScheduledId as number | undefined) ?? (event.TimerId as number | undefined));
    return ref === undefined ? name : `${name}(${ref})`;
  });
}
