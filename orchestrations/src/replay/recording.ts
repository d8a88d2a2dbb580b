/**
 * A recorded orchestration, read from the files people replay:
 *
 * - a `support export` file (`{ format: 'patient-records/orchestration-export', instance, history }`);
 * - the Durable HTTP management API's answer to `GET instances/{id}?showHistory=true&showHistoryOutput=true`
 *   (Azure or the devhost): a status body with `historyEvents` (or `history`);
 * - a bare history array (raw Durable Task events or the converted shape), with `--orchestrator`.
 */
import { EXPORT_FORMAT, type OrchestrationExport } from '../support/export';
import type { InstanceStatusLike, RecordedEvent } from '../support/history';
import { HistoryFormatError, historyOf, readHistory } from '../support/history';

export { EXPORT_FORMAT, type OrchestrationExport };

export interface Recording {
  orchestrator: string;
  instanceId: string;
  input: unknown;
  /** The recorded runtime status, when the file says. */
  runtimeStatus?: string;
  events: RecordedEvent[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads any of the accepted shapes; throws `HistoryFormatError` saying what is wrong. */
export function readRecording(document: unknown, options: { orchestrator?: string } = {}): Recording {
  let status: Partial<InstanceStatusLike> = {};
  let history: unknown[] | undefined;
  if (Array.isArray(document)) {
    history = document;
  } else if (isRecord(document) && document.format === EXPORT_FORMAT) {
    const exported = document as unknown as OrchestrationExport;
    if (!isRecord(exported.instance) || !Array.isArray(exported.history))
      throw new HistoryFormatError('export file without instance or history');
    status = exported.instance;
    history = exported.history;
  } else if (isRecord(document)) {
    status = document;
    history = historyOf(document as unknown as InstanceStatusLike);
    if (history === undefined) {
      throw new HistoryFormatError(
        'the status has no history: fetch it with ?showHistory=true&showHistoryOutput=true (and showInput=true)',
      );
    }
  } else {
    throw new HistoryFormatError(
      'not a history: expected a support export, a status with historyEvents, or an array of events',
    );
  }
  const events = readHistory(history);
  const started = events.find((event) => event.type === 'ExecutionStarted');
  const orchestrator =
    options.orchestrator ?? (typeof status.name === 'string' && status.name !== '' ? status.name : started?.name);
  if (orchestrator === undefined)
    throw new HistoryFormatError('cannot tell which orchestrator ran: pass --orchestrator <name>');
  const input = 'input' in status && status.input !== undefined ? status.input : started?.input;
  const recording: Recording = {
    orchestrator,
    instanceId: typeof status.instanceId === 'string' ? status.instanceId : 'replay',
    input: input ?? null,
    events,
  };
  if (typeof status.runtimeStatus === 'string') recording.runtimeStatus = status.runtimeStatus;
  return recording;
}
