/**
 * `npm run bench`: runs the benchmark (./bench.ts) and writes bench.json and bench.png to
 * loadtest/results/ (or BENCH_OUT_DIR), printing the Markdown tables of docs/performance.md.
 * Settings: BENCH_CONCURRENCY (1,8,32), BENCH_REQUESTS (64), BENCH_WARMUP (16).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { repositoryRoot } from '@patient-records/devhost';

import { type BenchSettings, runBench, startBenchStack } from './bench';
import { benchChartSvg, renderPng } from './chart';
import { markdownReport } from './report';

function positiveIntegers(name: string, fallback: string): number[] {
  const raw = process.env[name] ?? fallback;
  const values = raw.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < 1)) {
    throw new Error(`${name} must be positive whole numbers (comma-separated where several), not "${raw}"`);
  }
  return values;
}

async function main(): Promise<void> {
  const settings: BenchSettings = {
    levels: positiveIntegers('BENCH_CONCURRENCY', '1,8,32'),
    requests: positiveIntegers('BENCH_REQUESTS', '64')[0] ?? 64,
    warmUp: positiveIntegers('BENCH_WARMUP', '16')[0] ?? 16,
  };
  const outDir = path.resolve(process.env.BENCH_OUT_DIR ?? path.join(repositoryRoot(), 'loadtest', 'results'));
  const stack = await startBenchStack();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stack.stop().then(() => process.exit(130)));
  }
  try {
    const results = await runBench(stack, settings, (level) => {
      console.log(
        JSON.stringify({
          concurrency: level.concurrency,
          orchestrated: level.orchestrated.writesPerSecond,
          direct: level.direct.writesPerSecond,
        }),
      );
    });
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'bench.json'), `${JSON.stringify(results, null, 2)}\n`);
    const m = results.machine;
    const subtitle = `${results.date.slice(0, 10)}, ${m.cpus} × ${m.cpuModel}, Node ${m.node}, ${results.store}, ${settings.requests} writes per point`;
    writeFileSync(path.join(outDir, 'bench.png'), renderPng(benchChartSvg(results.levels, subtitle)));
    console.log(`\n${markdownReport(results)}\n${path.join(outDir, 'bench.json')} and bench.png written`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
