/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies from the wire */
import path from 'node:path';

import { MongoClient } from 'mongodb';

import type { HistoryEvent } from '../src/durable/contract';
import { fixturesDir, useDevhost, useTempDir } from './support/devhost';
import { describeEvents } from './support/raw-history';
import { uniqueDatabaseName, useStore } from './support/store';

const store = useStore('durable_devhost');
const tmp = useTempDir();
const databaseName = uniqueDatabaseName('durable_devhost_hub');
const { host } = useDevhost(() => ({
  appDir: path.join(fixturesDir, 'durable-engine-app'),
  keysFile: path.join(tmp(), 'keys.json'),
  mongoUri: store.store().uri,
  databaseName,
  hubName: 'EngineThroughHost',
}));

test('through startDevhost: host-side retries, sub-orchestrations with timers, and the extension’s history', async () => {
  const base = `${host().url}/runtime/webhooks/durabletask`;
  const headers = { 'x-functions-key': host().masterKey, 'content-type': 'application/json' };
  const started = await fetch(`${base}/orchestrators/RetryThenFanOut/through-host?timeout=60`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ failures: 2, numbers: [1, 2, 3] }),
  });
  expect(started.status).toBe(200);
  expect(await started.json()).toEqual({ flaky: 'ok after 3', doubled: [2, 4, 6] });

  const status = (await (
    await fetch(`${base}/instances/through-host?showHistory=true&showHistoryOutput=true`, { headers })
  ).json()) as any;
  expect(status).toMatchObject({
    name: 'RetryThenFanOut',
    runtimeStatus: 'Completed',
    input: { failures: 2, numbers: [1, 2, 3] },
  });
  const children = (status.historyEvents as { EventType: string; Result: unknown }[]).filter(
    (e) => e.EventType === 'SubOrchestrationInstanceCompleted',
  );
  expect(children.map((e) => e.Result)).toEqual([2, 4, 6]);

  const client = await MongoClient.connect(store.store().uri);
  try {
    const db = client.db(databaseName);
    const batches = await db
      .collection<{ events: HistoryEvent[]; ordinal: number }>('EngineThroughHost_history')
      .find({ instanceId: 'through-host' })
      .sort({ ordinal: 1 })
      .toArray();
    const events = describeEvents(batches.flatMap((b) => b.events)).filter((e) => !e.startsWith('Orchestrator'));
    expect(events.slice(0, 10)).toEqual([
      'ExecutionStarted', 'TaskScheduled(0)', 'TaskFailed(0)', 'TimerCreated(1)', 'TimerFired(1)',
      'TaskScheduled(2)', 'TaskFailed(2)', 'TimerCreated(3)', 'TimerFired(3)', 'TaskScheduled(4)',
    ]); // prettier-ignore
    expect(events).toContain('TaskCompleted(4)');
    expect(events.filter((e) => e.startsWith('SubOrchestrationInstanceCreated'))).toEqual([
      'SubOrchestrationInstanceCreated(5)', 'SubOrchestrationInstanceCreated(6)', 'SubOrchestrationInstanceCreated(7)',
    ]); // prettier-ignore
  } finally {
    await client.close();
  }
});
