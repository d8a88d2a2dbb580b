import { latencySummary, percentile } from '../src/stats';

describe('percentiles', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([4, 9], 50)).toBe(4);
    expect(percentile([4, 9], 51)).toBe(9);
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([], 50)).toBeUndefined();
  });

  it('summarises unsorted durations to a tenth of a millisecond', () => {
    expect(latencySummary([30.04, 10.26, 20.55, 40, 50])).toEqual({ p50: 30, p95: 50, p99: 50 });
    expect(latencySummary([])).toEqual({ p50: 0, p95: 0, p99: 0 });
  });
});
