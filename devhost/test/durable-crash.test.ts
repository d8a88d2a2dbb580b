import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

import type { HistoryEvent } from '../src/durable/contract';
import { createDurableClient, waitForFinish } from './support/management-server';
import { useStore } from './support/store';

const children: ChildProcess[] = [];
// Declared before useStore: jest runs afterAll hooks in declaration order; no child outlives the file.
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
const store = useStore('durable_crash');

/** Starts the engine in its own Node process and resolves with its management API origin. */
function startEngineProcess(): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawn(
    process.execPath,
    ['-r', path.join(__dirname, 'support', 'ts-register.js'), path.join(__dirname, 'support', 'engine-child.ts')],
    {
      env: { ...process.env, CRASH_MONGO_URI: store.store().uri, CRASH_DB_NAME: store.db().databaseName },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`The engine process did not start: ${stderr}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /READY (\S+)/.exec(stdout);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, origin: match[1] });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The engine process exited with ${code}: ${stderr}`));
    });
  });
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('SIGKILL mid-orchestration, then a new engine resumes everything; no recorded activity runs again', async () => {
  const executions = store.db().collection<{ instanceId: string; step: number }>('stepExecutions');
  const first = await startEngineProcess();
  const client = createDurableClient(first.origin);
  const chains = ['chain-0', 'chain-1', 'chain-2', 'chain-3'];
  for (const id of chains) await client.startNew('Chain', { instanceId: id, input: 6 });
  await client.startNew('NapThenStep', { instanceId: 'nap', input: 1500 });
  await client.startNew('AwaitSignal', { instanceId: 'signal' });

  await until(async () => (await executions.countDocuments()) >= 8, 'some steps to run');
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  // What the store says had completed when the process died.
  const batches = await store
    .db()
    .collection<{ instanceId: string; events: HistoryEvent[] }>('CrashHub_history')
    .find({})
    .toArray();
  const recorded = new Set(
    // In a Chain, step n is the activity with sequence number n.
    batches
      .filter((batch) => chains.includes(batch.instanceId))
      .flatMap((batch) =>
        batch.events.filter((e) => e.EventType === 5).map((e) => `${batch.instanceId}:${String(e.TaskScheduledId)}`),
      ),
  );
  expect(recorded.size).toBeGreaterThan(0);
  expect(recorded.size).toBeLessThan(chains.length * 6);

  const second = await startEngineProcess();
  const resumed = createDurableClient(second.origin);
  await resumed.raiseEvent('signal', 'Signal', 'after restart');
  for (const id of chains) {
    const status = await waitForFinish(resumed, id);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 150 });
  }
  expect(await waitForFinish(resumed, 'nap')).toMatchObject({ runtimeStatus: 'Completed', output: 0 });
  expect(await waitForFinish(resumed, 'signal')).toMatchObject({
    runtimeStatus: 'Completed',
    output: 'got after restart',
  });

  const runs = new Map<string, number>();
  for (const run of await executions.find({}).toArray()) {
    const key = `${run.instanceId}:${run.step}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
  }
  for (const id of chains)
    for (let step = 0; step < 6; step += 1) expect(runs.get(`${id}:${step}`)).toBeGreaterThanOrEqual(1);
  // Exactly once for every step whose completion was recorded before the kill; in-flight ones may run twice.
  for (const key of recorded) expect({ key, runs: runs.get(key) }).toEqual({ key, runs: 1 });
  for (const [key, count] of runs) expect({ key, count: Math.min(count, 2) }).toEqual({ key, count });
  second.child.kill('SIGTERM');
}, 120_000);
