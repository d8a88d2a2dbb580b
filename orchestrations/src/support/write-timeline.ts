/** The timeline of a write orchestration: labels for its audit steps and which steps compensate. */
import { ACTIVITY_NAMES } from '../names';
import type { AuditEntry } from '../ports';
import type { RecordedEvent } from './history';
import { redactPersonalData } from './redact';
import type { Timeline, TimelineOptions } from './timeline';
import { buildTimeline } from './timeline';

function auditOutcomeOf(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const outcome = (input as Partial<AuditEntry>).outcome;
  return typeof outcome === 'string' ? outcome : undefined;
}

export const WRITE_TIMELINE_OPTIONS: TimelineOptions = {
  describe: ({ name, input }) => {
    if (name === ACTIVITY_NAMES.audit) {
      const outcome = auditOutcomeOf(input);
      return outcome === undefined ? 'audit' : `audit: ${outcome}`;
    }
    if (name === ACTIVITY_NAMES.persist) return 'persist';
    if (name === ACTIVITY_NAMES.undo) return 'undo (compensation)';
    if (name === ACTIVITY_NAMES.report) return 'outcome event';
    return undefined;
  },
  isCompensation: ({ name, input }) =>
    name === ACTIVITY_NAMES.undo || (name === ACTIVITY_NAMES.audit && auditOutcomeOf(input) === 'compensated'),
  redact: (value) => redactPersonalData(value),
};

/** `buildTimeline` with the write orchestrations' labels, compensation and redaction. */
export function buildWriteTimeline(history: readonly RecordedEvent[]): Timeline {
  return buildTimeline(history, WRITE_TIMELINE_OPTIONS);
}
