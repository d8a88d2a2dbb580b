import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { BenchResults, PathResult, StoreName } from '../src/bench';

const cli = path.join(__dirname, '..', 'dist', 'bench-cli.js');
const outDir = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
let child: ChildProcess | undefined;

/**
 * `npm run bench` as built, with tiny settings: two levels of four writes per path. Asserts that
 * every reported number is there and plausible, not how fast anything is.
 */
async function runBench(): Promise<{ code: number | null; output: string }> {
  const env = {
    ...process.env,
    BENCH_CONCURRENCY: '1,2',
    BENCH_REQUESTS: '4',
    BENCH_WARMUP: '1',
    BENCH_OUT_DIR: outDir,
  };
  child = spawn(process.execPath, [cli], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child?.once('exit', resolve));
  return { code, output };
}

afterAll(async () => {
  // A run cut short by the test timeout: let it stop its store and hosts, then make sure.
  if (child !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    child.kill('SIGKILL');
  }
  rmSync(outDir, { recursive: true, force: true });
});

function expectTimed(result: PathResult): void {
  expect(result.writes).toBe(4);
  expect(result.writesPerSecond).toBeGreaterThan(0);
  expect(result.p50).toBeGreaterThan(0);
  expect(result.p95).toBeGreaterThanOrEqual(result.p50);
  expect(result.p99).toBeGreaterThanOrEqual(result.p95);
}

const perWrite = (result: PathResult, store: StoreName): number => result.operations[store].perWrite;

it('runs both write paths and reports speed, store commands per write and orchestration latency, as JSON and a chart', async () => {
  const { code, output } = await runBench();
  expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
  expect(output).toContain('| in flight | path | store | commands per write |');

  const results = JSON.parse(readFileSync(path.join(outDir, 'bench.json'), 'utf8')) as BenchResults;
  expect(results.settings).toEqual({ levels: [1, 2], requests: 4, warmUp: 1 });
  expect(results.machine.cpus).toBeGreaterThan(0);
  expect(results.commit).toMatch(/^[0-9a-f]{7,}(\+changes)?$/);
  expect(results.levels.map((level) => level.concurrency)).toEqual([1, 2]);
  for (const level of results.levels) {
    expectTimed(level.orchestrated);
    expectTimed(level.direct);
    expect(level.throughputRatio).toBeGreaterThan(0);
    expect(level.p50Ratio).toBeGreaterThan(0);

    // The orchestrated write goes through all three stores; the direct one never touches the hub.
    expect(perWrite(level.orchestrated, 'patientStore')).toBeGreaterThan(0);
    expect(perWrite(level.orchestrated, 'auditStore')).toBeGreaterThan(0);
    expect(perWrite(level.orchestrated, 'taskHub')).toBeGreaterThan(0);
    expect(level.direct.operations.patientStore.byCommand).toEqual({ insert: 1 });
    expect(perWrite(level.direct, 'auditStore')).toBeGreaterThan(0);
    expect(level.direct.operations.taskHub).toEqual({
      total: 0,
      perWrite: 0,
      byCommand: {},
      connectionCommands: expect.any(Number),
    });
    // Two audit records (attempted, succeeded) per orchestrated write, one per direct write.
    expect(level.orchestrated.operations.auditStore.byCommand.insert).toBe(2);
    expect(level.direct.operations.auditStore.byCommand.insert).toBe(1);

    const orchestration = level.orchestrated.orchestration;
    expect(orchestration.instances).toBe(4);
    expect(orchestration.p50).toBeGreaterThan(0);
    expect(orchestration.p95).toBeGreaterThanOrEqual(orchestration.p50);
    expect(Object.keys(orchestration.phases)).toEqual([
      'start',
      'audit: attempted',
      'persist',
      'audit: succeeded',
      'outcome event',
    ]);
  }

  const png = readFileSync(path.join(outDir, 'bench.png'));
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.toString('ascii', 12, 16)).toBe('IHDR');
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1000, 470]);
});
