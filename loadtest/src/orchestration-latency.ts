import { buildWriteTimeline, readHistory } from '@patient-records/orchestrations';
import type { Db } from 'mongodb';

import { percentile, round1 } from './stats';

/**
 * How long one write orchestration took inside the devhost, from the engine's own records: the
 * instance document's `createdTime` (when the starter's request reached the engine) to the
 * `ExecutionCompleted` event. Phases: `start` (created → its first episode ran), then each step of
 * the write timeline (`audit: attempted`, `persist`, `audit: succeeded`, `outcome event`), which
 * runs from the episode that scheduled the activity to the episode that took up its result: the
 * activity itself plus storing its result and the engine's turn-around. History timestamps are
 * episode start times, so the last episode's own work (committing the completion) is in neither.
 */
export interface OrchestrationTiming {
  totalMs: number;
  phases: Record<string, number>;
}

/** The timing of one finished instance from its episodes' events, in order; undefined while it runs. */
export function orchestrationTiming(createdTime: Date, events: readonly unknown[]): OrchestrationTiming | undefined {
  const timeline = buildWriteTimeline(readHistory(events));
  if (timeline.start === undefined || timeline.end === undefined) return undefined;
  const phases: Record<string, number> = { start: Date.parse(timeline.start) - createdTime.getTime() };
  for (const step of timeline.steps) {
    const name = step.label ?? step.name;
    phases[name] = (phases[name] ?? 0) + (step.durationMs ?? 0);
  }
  return { totalMs: Date.parse(timeline.end) - createdTime.getTime(), phases };
}

export interface OrchestrationLatency {
  /** Finished instances found in the window. */
  instances: number;
  p50: number;
  p95: number;
  /** p50 and p95 of each phase, in the order the write runs them. */
  phases: Record<string, { p50: number; p95: number }>;
}

export function summarizeTimings(timings: readonly OrchestrationTiming[]): OrchestrationLatency {
  const at = (values: number[], p: number): number =>
    round1(
      percentile(
        values.sort((a, b) => a - b),
        p,
      ) ?? 0,
    );
  const totals = timings.map((timing) => timing.totalMs);
  const phases: OrchestrationLatency['phases'] = {};
  for (const name of new Set(timings.flatMap((timing) => Object.keys(timing.phases)))) {
    const values = timings.flatMap((timing) => (name in timing.phases ? [timing.phases[name] ?? 0] : []));
    phases[name] = { p50: at([...values], 50), p95: at([...values], 95) };
  }
  return { instances: timings.length, p50: at([...totals], 50), p95: at([...totals], 95), phases };
}

/**
 * Reads the timings of the instances of `orchestrator` created within `[from, to]` from a task hub
 * (its `<hub>_instances` and `<hub>_history` collections, docs/devhost.md "How state is stored").
 */
export async function readOrchestrationTimings(
  db: Db,
  hubName: string,
  orchestrator: string,
  window: { from: Date; to: Date },
): Promise<OrchestrationTiming[]> {
  const instances = await db
    .collection<{ _id: string; name: string; executionId: string; createdTime: Date }>(`${hubName}_instances`)
    .find({ name: orchestrator, createdTime: { $gte: window.from, $lte: window.to } })
    .toArray();
  const timings: OrchestrationTiming[] = [];
  for (const instance of instances) {
    const episodes = await db
      .collection<{ instanceId: string; executionId: string; ordinal: number; events: unknown[] }>(`${hubName}_history`)
      .find({ instanceId: instance._id, executionId: instance.executionId })
      .sort({ ordinal: 1 })
      .toArray();
    const timing = orchestrationTiming(
      instance.createdTime,
      episodes.flatMap((episode) => episode.events),
    );
    if (timing !== undefined) timings.push(timing);
  }
  return timings;
}
