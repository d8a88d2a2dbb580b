import { ACTIVITY_NAMES, ORCHESTRATION_NAMES } from '@patient-records/orchestrations';

import { orchestrationTiming, summarizeTimings } from '../src/orchestration-latency';

const created = new Date('2026-12-02T20:00:00.000Z');
const at = (ms: number): string => new Date(created.getTime() + ms).toISOString();

/** The raw history of a write as the engine stores it: one episode per event it takes up. */
function writeHistory(episodeStarts: number[], finished = true): unknown[] {
  const [first = 0, second = 0, third = 0, fourth = 0] = episodeStarts;
  const episode = (time: number, events: Record<string, unknown>[]): Record<string, unknown>[] => [
    { EventType: 12, EventId: -1, Timestamp: at(time) },
    ...events.map((event) => ({ EventId: -1, Timestamp: at(time), ...event })),
    { EventType: 13, EventId: -1, Timestamp: at(time) },
  ];
  const audit = (outcome: string): string => JSON.stringify({ outcome });
  const events = [
    ...episode(first, [
      { EventType: 0, Name: ORCHESTRATION_NAMES.createPatient, Input: '{}' },
      { EventType: 4, EventId: 0, Name: ACTIVITY_NAMES.audit, Input: audit('attempted') },
    ]),
    ...episode(second, [
      { EventType: 5, TaskScheduledId: 0, Result: '{"ok":true}' },
      { EventType: 4, EventId: 1, Name: ACTIVITY_NAMES.persist, Input: '{}' },
    ]),
    ...episode(third, [
      { EventType: 5, TaskScheduledId: 1, Result: '{"ok":true}' },
      { EventType: 4, EventId: 2, Name: ACTIVITY_NAMES.audit, Input: audit('succeeded') },
    ]),
  ];
  if (finished) {
    events.push(
      ...episode(fourth, [
        { EventType: 5, TaskScheduledId: 2, Result: '{"ok":true}' },
        { EventType: 1, OrchestrationStatus: 1, Result: '{}' },
      ]),
    );
  }
  return events;
}

describe('orchestration latency from the task hub records', () => {
  it('runs from the instance creation to its completion, phase by phase', () => {
    expect(orchestrationTiming(created, writeHistory([5, 35, 60, 100]))).toEqual({
      totalMs: 100,
      phases: { start: 5, 'audit: attempted': 30, persist: 25, 'audit: succeeded': 40 },
    });
  });

  it('has no timing for an instance still running', () => {
    expect(orchestrationTiming(created, writeHistory([5, 35, 60], false))).toBeUndefined();
  });

  it('summarises the totals and each phase', () => {
    const timings = [
      orchestrationTiming(created, writeHistory([1, 11, 21, 31])),
      orchestrationTiming(created, writeHistory([2, 22, 42, 62])),
      orchestrationTiming(created, writeHistory([3, 33, 63, 93])),
    ].flatMap((timing) => (timing === undefined ? [] : [timing]));
    const summary = summarizeTimings(timings);
    expect(summary.instances).toBe(3);
    expect(summary.p50).toBe(62);
    expect(summary.p95).toBe(93);
    expect(Object.keys(summary.phases)).toEqual(['start', 'audit: attempted', 'persist', 'audit: succeeded']);
    expect(summary.phases.persist).toEqual({ p50: 20, p95: 30 });
  });
});
