import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

import type { HistoryEvent } from '../src/durable/contract';
import { fixturesDir, useTempDir } from './support/devhost';
import { useStore } from './support/store';

const launcher = path.resolve(__dirname, '..', 'bin', 'devhost.js');
const masterKey = 'crash-test-master-key-0123456789';
// The CLI keeps the task hub in the database `devhost_<app folder>`; a hub name of its own keeps runs
// against a shared MONGODB_URI apart.
const hubName = `CliCrash${Date.now().toString(36)}`;
const children: ChildProcess[] = [];
// Declared before useStore: jest runs afterAll hooks in declaration order; no CLI outlives the file.
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
const store = useStore('durable_devhost_crash');
const tmp = useTempDir();

/** Starts `devhost` (the CLI) on the crash app and resolves with its URL once it is Running. */
function startCli(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      launcher,
      '--app',
      path.join(fixturesDir, 'durable-crash-app'),
      '--port',
      '0',
      '--key',
      masterKey,
      '--mongo-uri',
      store.store().uri,
      '--hub',
      hubName,
    ],
    {
      env: {
        ...process.env,
        PATIENT_RECORDS_LOCAL_DIR: tmp(),
        CRASH_MONGO_URI: store.store().uri,
        CRASH_DB_NAME: store.db().databaseName,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the CLI did not start:\n${output.join('\n')}`)), 30_000);
    const onLine = (line: string): void => {
      output.push(line);
      const url = /Functions app running at (http:\/\/\S+)/.exec(line)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ child, url });
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
  });
}

function api(url: string, pathAndQuery: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/runtime/webhooks/durabletask/${pathAndQuery}`, {
    ...init,
    headers: {
      'x-functions-key': masterKey,
      'content-type': 'application/json',
      ...(init.headers as Record<string, string> | undefined),
    },
  });
}

async function finished(url: string, id: string): Promise<{ runtimeStatus: string; output: unknown }> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    const body = (await (await api(url, `instances/${id}`)).json()) as { runtimeStatus: string; output: unknown };
    if (!['Pending', 'Running'].includes(body.runtimeStatus)) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${id} did not finish`);
}

test('kill -9 the devhost mid-orchestration and start it again: everything resumes, recorded steps run once', async () => {
  const executions = store.db().collection<{ instanceId: string; step: number }>('stepExecutions');
  const first = await startCli();
  const chains = ['cli-chain-0', 'cli-chain-1', 'cli-chain-2'];
  for (const id of chains)
    expect((await api(first.url, `orchestrators/Chain/${id}`, { method: 'POST', body: '5' })).status).toBe(202);
  expect((await api(first.url, 'orchestrators/AwaitSignal/cli-signal', { method: 'POST' })).status).toBe(202);

  const deadline = Date.now() + 30_000;
  while ((await executions.countDocuments()) < 6) {
    if (Date.now() > deadline) throw new Error('no progress before the kill');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const batches = await store
    .client()
    .db('devhost_durable-crash-app')
    .collection<{ instanceId: string; events: HistoryEvent[] }>(`${hubName}_history`)
    .find({ instanceId: { $in: chains } })
    .toArray();
  // In a Chain, step n is the activity with sequence number n.
  const recorded = new Set(
    batches.flatMap((b) =>
      b.events.filter((e) => e.EventType === 5).map((e) => `${b.instanceId}:${String(e.TaskScheduledId)}`),
    ),
  );
  expect(recorded.size).toBeGreaterThan(0);
  expect(recorded.size).toBeLessThan(chains.length * 5);

  const second = await startCli();
  expect(
    (await api(second.url, 'instances/cli-signal/raiseEvent/Signal', { method: 'POST', body: '"again"' })).status,
  ).toBe(202);
  for (const id of chains)
    expect(await finished(second.url, id)).toMatchObject({ runtimeStatus: 'Completed', output: 100 });
  expect(await finished(second.url, 'cli-signal')).toMatchObject({ runtimeStatus: 'Completed', output: 'got again' });

  const runs = new Map<string, number>();
  for (const run of await executions.find({}).toArray())
    runs.set(`${run.instanceId}:${run.step}`, (runs.get(`${run.instanceId}:${run.step}`) ?? 0) + 1);
  for (const key of recorded) expect({ key, runs: runs.get(key) }).toEqual({ key, runs: 1 });
  for (const id of chains)
    for (let step = 0; step < 5; step += 1) expect(runs.get(`${id}:${step}`)).toBeGreaterThanOrEqual(1);
  const exited = new Promise((resolve) => second.child.once('exit', resolve));
  second.child.kill('SIGTERM');
  await exited;
  const hubDb = store.client().db('devhost_durable-crash-app');
  for (const suffix of ['instances', 'history', 'inbox'])
    await hubDb
      .collection(`${hubName}_${suffix}`)
      .drop()
      .catch(() => undefined);
}, 120_000);
