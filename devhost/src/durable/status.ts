/**
 * The status payload of the management API (`StatusResponsePayload`, durable-protocol.md §4.3) and
 * the history view the extension's DurableClient builds from raw history (`historyEvents`).
 */
import { EventType, eventTypeNames, type HistoryEvent, orchestrationStatusNames, parseJsonText } from './history';
import type { InstanceDocument } from './state';

/** `yyyy-MM-ddTHH:mm:ssZ`, as the extension formats instance times. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface StatusOptions {
  showInput: boolean;
  history?: { events: HistoryEvent[]; showHistoryOutput: boolean } | undefined;
}

export function statusPayload(doc: InstanceDocument, options: StatusOptions): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    name: doc.name,
    instanceId: doc._id,
    runtimeStatus: doc.status,
    input: options.showInput ? parseJsonText(doc.input) : null,
    customStatus: parseJsonText(doc.customStatus),
    output: parseJsonText(doc.output),
    createdTime: formatTime(doc.createdTime),
    lastUpdatedTime: formatTime(doc.lastUpdatedTime),
  };
  if (options.history) {
    const events = convertHistory(options.history.events, options.history.showHistoryOutput);
    // The extension sends `historyEvents`; the JS DurableOrchestrationStatus reads `history` (durable-js #620).
    payload.historyEvents = events;
    payload.history = events;
  }
  return payload;
}

/**
 * Mirrors DurableClient's history conversion: event types as names, scheduling events merged into
 * their completions (FunctionName, ScheduledTime), orchestrator episode markers and ids dropped,
 * results only with showHistoryOutput (parsed from JSON).
 */
export function convertHistory(
  history: readonly HistoryEvent[],
  showHistoryOutput: boolean,
): Record<string, unknown>[] {
  const scheduled = new Map<string, { index: number; name: unknown; time: unknown }>();
  const removed = new Set<number>();
  const items: Record<string, unknown>[] = history.map((event) => ({ ...event }));
  items.forEach((item, index) => {
    const type = item.EventType as number;
    item.EventType = eventTypeNames[type] ?? String(type);
    switch (type) {
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
        scheduled.set(`${type}_${String(item.EventId)}`, { index, name: item.Name, time: item.Timestamp });
        delete item.Version;
        delete item.Input;
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.SubOrchestrationInstanceFailed: {
        const scheduledType =
          type === EventType.TaskCompleted || type === EventType.TaskFailed
            ? EventType.TaskScheduled
            : EventType.SubOrchestrationInstanceCreated;
        const match = scheduled.get(`${scheduledType}_${String(item.TaskScheduledId)}`);
        if (match) {
          item.ScheduledTime = match.time;
          item.FunctionName = match.name;
          removed.add(match.index);
        }
        delete item.TaskScheduledId;
        const completed = type === EventType.TaskCompleted || type === EventType.SubOrchestrationInstanceCompleted;
        if (completed) {
          if (showHistoryOutput) item.Result = parseJsonText(item.Result as string | null);
          else delete item.Result;
        }
        break;
      }
      case EventType.ExecutionStarted:
        item.FunctionName = item.Name;
        delete item.Name;
        delete item.OrchestrationInstance;
        delete item.ParentInstance;
        delete item.Version;
        delete item.Tags;
        delete item.Input;
        break;
      case EventType.ExecutionCompleted:
        item.OrchestrationStatus =
          orchestrationStatusNames[item.OrchestrationStatus as number] ?? item.OrchestrationStatus;
        if (showHistoryOutput) item.Result = parseJsonText(item.Result as string | null);
        else delete item.Result;
        break;
      case EventType.ExecutionTerminated:
      case EventType.EventRaised:
        delete item.Input;
        break;
      case EventType.TimerFired:
        delete item.TimerId;
        break;
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        removed.add(index);
        break;
      default:
        break;
    }
    delete item.EventId;
    delete item.IsPlayed;
  });
  return items.filter((_, index) => !removed.has(index));
}
