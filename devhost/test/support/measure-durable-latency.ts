/**
 * Measures the Durable engine's start-to-finish latency for a two-activity orchestration on the
 * embedded store, in-process (no worker IPC). Not a test: run it by hand and copy the numbers into
 * docs/devhost.md.
 *
 *   node -r ./devhost/test/support/ts-register.js devhost/test/support/measure-durable-latency.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { MongoClient } from 'mongodb';

import { createDurableEngine } from '../../src/durable/engine';
import { startStore } from '../../src/store';
import { installFunctionsCore } from './functions-core';
import { createInProcessInvoker } from './in-process-invoker';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function main(): Promise<void> {
  installFunctionsCore();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../fixtures/durable-app');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'durable-latency-'));
  const store = await startStore({ dataDir, log: () => undefined, mongoUri: undefined });
  const client = await MongoClient.connect(store.uri);
  const engine = createDurableEngine({
    db: client.db('latency'),
    hubName: 'Latency',
    invoker: createInProcessInvoker(),
    maxConcurrentOrchestratorFunctions: 10,
    maxConcurrentActivityFunctions: 10,
    log: () => undefined,
  });
  await engine.start();
  const startAndWait = async (): Promise<number> => {
    const started = performance.now();
    const response = await engine.handle({
      method: 'POST',
      path: 'orchestrators/TwoSteps',
      query: new URLSearchParams({ timeout: '120' }),
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('"latency"'),
      links: { baseUrl: 'http://127.0.0.1/runtime/webhooks/durabletask', requiredQuery: '' },
    });
    if (response.status !== 200) throw new Error(`unexpected ${response.status}`);
    return performance.now() - started;
  };
  try {
    for (let i = 0; i < 5; i += 1) await startAndWait();
    const samples: number[] = [];
    for (let i = 0; i < 50; i += 1) samples.push(await startAndWait());
    samples.sort((a, b) => a - b);
    console.log(JSON.stringify({ sequential: { runs: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples[samples.length - 1] } }));
    const burstStarted = performance.now();
    await Promise.all(Array.from({ length: 200 }, () => startAndWait()));
    const burst = performance.now() - burstStarted;
    console.log(
      JSON.stringify({
        sequential: { runs: samples.length, p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples[samples.length - 1] },
        concurrent200: { totalMs: burst, perSecond: 200 / (burst / 1000) },
      }),
    );
  } finally {
    await engine.stop();
    await client.close();
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
