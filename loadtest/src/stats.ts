/** The nearest-rank percentile of ascending `sorted` values (undefined when there are none). */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** One decimal, as the tables show it. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Two decimals, for ratios and per-write counts. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
}

/** p50/p95/p99 of some durations in milliseconds, rounded to 0.1 ms; zeros when there are none. */
export function latencySummary(durations: readonly number[]): LatencySummary {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (p: number): number => round1(percentile(sorted, p) ?? 0);
  return { p50: at(50), p95: at(95), p99: at(99) };
}
