/**
 * Measures start-to-finish latency of a two-activity orchestration on the embedded store: the
 * engine in-process (no worker), then through startDevhost (worker process, HTTP, keys). Not a
 * test: run it by hand and copy the numbers into docs/devhost.md.
 *
 *   node -r ./devhost/test/support/ts-register.js devhost/test/support/measure-durable-latency.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

import { MongoClient } from 'mongodb';

import { createDurableEngine } from '../../src/durable/engine';
import { startDevhost } from '../../src/host';
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
    console.log(
      JSON.stringify({
        sequential: {
          runs: samples.length,
          p50: percentile(samples, 50),
          p95: percentile(samples, 95),
          max: samples[samples.length - 1],
        },
      }),
    );
    const burstStarted = performance.now();
    await Promise.all(Array.from({ length: 200 }, () => startAndWait()));
    const burst = performance.now() - burstStarted;
    const host = await startDevhost({
      appDir: path.join(__dirname, '..', 'fixtures', 'durable-client-app'),
      port: 0,
      mongoUri: store.uri,
      keysFile: path.join(dataDir, 'keys.json'),
      log: () => undefined,
    });
    const throughHost = async (): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${host.url}/runtime/webhooks/durabletask/orchestrators/Greet?timeout=120`, {
        method: 'POST',
        headers: { 'x-functions-key': host.masterKey, 'content-type': 'application/json' },
        body: '"latency"',
      });
      if (response.status !== 200) throw new Error(`unexpected ${response.status}`);
      return performance.now() - started;
    };
    const hostSamples: number[] = [];
    try {
      for (let i = 0; i < 5; i += 1) await throughHost();
      for (let i = 0; i < 50; i += 1) hostSamples.push(await throughHost());
    } finally {
      await host.stop();
    }
    hostSamples.sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        throughDevhost: {
          runs: hostSamples.length,
          p50: percentile(hostSamples, 50),
          p95: percentile(hostSamples, 95),
        },
        sequential: {
          runs: samples.length,
          p50: percentile(samples, 50),
          p95: percentile(samples, 95),
          max: samples[samples.length - 1],
        },
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
